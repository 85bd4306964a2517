/*
 * linkem: a userspace link emulator between two TUN devices in two network namespaces, modelled on
 * Mahimahi's packet shells but with sch_netem's semantics (see link.h). One thread forwards both
 * directions from one epoll loop; a second thread only writes the packet log.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sched.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "link.h"
#include "pktlog.h"
#include "pool.h"
#include "tun.h"

#define READ_BATCH 32
/* Busy-poll is limited to busy_poll_max_pct of each window, so a dense stream of releases cannot
 * turn the emulator into a 100% spinning SCHED_FIFO task (RT throttling, starved endpoints). */
#define SPIN_WINDOW_NS 10000000ull
#define UP 0
#define DOWN 1

/* One side of the link: its TUN, and the direction the packets read from it enter. */
struct side {
	int fd;             /* TUN this side reads from */
	struct link *link;  /* direction fed by this side */
	uint64_t read_errors;
};

struct emulator {
	struct config cfg;
	struct pool pool;
	struct link links[2];
	struct side sides[2]; /* [UP] = a, [DOWN] = b */
	struct pktlog *log;
	int epfd, timerfd, sigfd;
	uint64_t timer_armed_ns; /* 0 = not armed */
	uint64_t busy_ns;
	uint64_t rx_poll_ns;
	uint64_t last_rx_ns; /* when the last packet was read */
	uint64_t spin_window_start, spin_window_used, spin_total_ns;
	uint64_t start_ns;
	char sched[96];
	bool mlocked;
};

static void link_params_of(const struct dir_config *d, struct link_params *p)
{
	memset(p, 0, sizeof *p);
	p->delay_ns = d->delay_us * NS_PER_US;
	p->jitter_ns = d->jitter_us * NS_PER_US;
	p->rate_bps = d->rate_kbit * 1000.0;
	p->overhead = (int32_t)d->overhead;
	p->limit_packets = (uint32_t)d->queue_packets;
	p->limit_bytes = d->queue_bytes;
	p->loss.kind = d->loss_kind;
	for (int i = 0; i < 5; i++)
		p->loss.p[i] = d->loss_pct[i] / 100.0;
}

/* Timer slack, memory locking and SCHED_FIFO, each reported rather than fatal. */
static void tune_process(struct emulator *em)
{
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	if (em->cfg.mlock)
		em->mlocked = mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0;
	snprintf(em->sched, sizeof em->sched, "other");
	if (!em->cfg.fifo)
		return;
	struct sched_param sp = {.sched_priority = (int)em->cfg.fifo_priority};
	if (sched_setscheduler(0, SCHED_FIFO, &sp) == 0)
		snprintf(em->sched, sizeof em->sched, "fifo:%d", sp.sched_priority);
	else
		snprintf(em->sched, sizeof em->sched, "other (SCHED_FIFO: %s)", strerror(errno));
}

static void epoll_add(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
		die_sys("epoll_ctl", "add");
}

enum { TAG_SIDE_A = 0, TAG_SIDE_B = 1, TAG_TIMER = 2, TAG_SIGNAL = 3 };

static void setup_events(struct emulator *em)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	em->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (em->sigfd < 0)
		die_sys("signalfd", "SIGTERM,SIGINT");
	em->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (em->timerfd < 0)
		die_sys("timerfd_create", "CLOCK_MONOTONIC");
	em->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (em->epfd < 0)
		die_sys("epoll_create1", "");
	epoll_add(em->epfd, em->sides[UP].fd, TAG_SIDE_A);
	epoll_add(em->epfd, em->sides[DOWN].fd, TAG_SIDE_B);
	epoll_add(em->epfd, em->timerfd, TAG_TIMER);
	epoll_add(em->epfd, em->sigfd, TAG_SIGNAL);
}

static char *config_json_string(const struct config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		die_sys("open_memstream", "config");
	config_write_json(f, c);
	fclose(f);
	return buf;
}

static void setup(struct emulator *em, int argc, char **argv)
{
	config_parse(&em->cfg, argc, argv);
	const struct config *c = &em->cfg;
	/* Signals are handled through signalfd; block them before any thread exists. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	em->sides[UP].fd = tun_open_in_netns(c->a_netns, c->a_dev);
	em->sides[DOWN].fd = tun_open_in_netns(c->b_netns, c->b_dev);

	const uint64_t slots = c->up.queue_packets + c->down.queue_packets + 2;
	pool_init(&em->pool, (uint32_t)slots, (size_t)c->mtu + 64);
	em->start_ns = now_ns();
	if (c->log_path != NULL) {
		char *json = config_json_string(c);
		em->log = pktlog_open(c->log_path, em->start_ns, json);
		free(json);
	}
	const struct dir_config *dirs[2] = {&c->up, &c->down};
	for (int d = 0; d < 2; d++) {
		struct link_params p;
		link_params_of(dirs[d], &p);
		link_init(&em->links[d], (uint8_t)d, &p, c->seed, (uint32_t)c->mtu, &em->pool, em->log,
			  em->start_ns);
		em->sides[d].link = &em->links[d];
	}
	em->busy_ns = c->busy_poll_us * NS_PER_US;
	em->rx_poll_ns = c->rx_poll_us * NS_PER_US;
	setup_events(em);
	tune_process(em);
}

/* The fd packets of direction d are written to: up goes out on b, down on a. */
static int out_fd(const struct emulator *em, int d)
{
	return em->sides[d == UP ? DOWN : UP].fd;
}

static void release_due(struct emulator *em)
{
	for (int d = 0; d < 2; d++)
		if (link_wait_time(&em->links[d]) <= now_ns())
			link_write_packets(&em->links[d], out_fd(em, d));
}

/*
 * Read up to READ_BATCH packets from side s into its link (a TUN read returns one packet, so the
 * batch is a loop). Every read is followed by a release check so an input burst never delays a
 * release.
 */
static void pump_input(struct emulator *em, int s)
{
	struct side *side = &em->sides[s];
	for (int i = 0; i < READ_BATCH; i++) {
		const uint32_t slot = pool_get(&em->pool);
		if (slot == POOL_NONE)
			die_msg(1, "packet pool exhausted (bug)");
		const ssize_t n = read(side->fd, pool_data(&em->pool, slot), em->pool.slot_size);
		if (n <= 0) {
			pool_put(&em->pool, slot);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				side->read_errors++;
			return;
		}
		const uint64_t now = now_ns();
		em->last_rx_ns = now;
		link_read_packet(side->link, slot, (uint32_t)n, now);
		release_due(em);
	}
}

static uint64_t next_release(const struct emulator *em)
{
	const uint64_t a = link_wait_time(&em->links[UP]);
	const uint64_t b = link_wait_time(&em->links[DOWN]);
	return a < b ? a : b;
}

/* Arm the timer for an absolute time (0 disarms); skips the syscall when unchanged. */
static void arm_timer(struct emulator *em, uint64_t at)
{
	if (at == em->timer_armed_ns)
		return;
	struct itimerspec its = {0};
	its.it_value.tv_sec = (time_t)(at / NS_PER_SEC);
	its.it_value.tv_nsec = (long)(at % NS_PER_SEC);
	if (timerfd_settime(em->timerfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		die_sys("timerfd_settime", "");
	em->timer_armed_ns = at;
}

/* Whether busy-polling is still within its share of the current window. */
static bool spin_allowed(struct emulator *em, uint64_t now)
{
	if (now - em->spin_window_start >= SPIN_WINDOW_NS) {
		em->spin_window_start = now;
		em->spin_window_used = 0;
	}
	return em->spin_window_used * 100 < SPIN_WINDOW_NS * em->cfg.busy_poll_max_pct;
}

/*
 * epoll timeout: 0 (poll) while busy-polling before a release or while input is dense (a packet
 * arrived less than rx_poll_ns ago), else -1 with the timer armed for the next release.
 */
static int plan_wait(struct emulator *em)
{
	const uint64_t next = next_release(em);
	const uint64_t now = now_ns();
	const bool spin = (em->busy_ns > 0 || em->rx_poll_ns > 0) && spin_allowed(em, now);
	if (spin && em->rx_poll_ns > 0 && now - em->last_rx_ns < em->rx_poll_ns)
		return 0;
	if (next == UINT64_MAX) {
		arm_timer(em, 0);
		return -1;
	}
	if (spin && em->busy_ns > 0 && next <= now + em->busy_ns)
		return 0;
	uint64_t wake = spin && em->busy_ns > 0 ? next - em->busy_ns : next;
	if (wake == 0)
		wake = 1;
	arm_timer(em, wake);
	return -1;
}

/* Handle one batch of events; returns false on SIGTERM/SIGINT. */
static bool handle_events(struct emulator *em, const struct epoll_event *evs, int n)
{
	bool running = true;
	for (int i = 0; i < n; i++) {
		switch (evs[i].data.u32) {
		case TAG_SIDE_A:
		case TAG_SIDE_B:
			pump_input(em, (int)evs[i].data.u32);
			break;
		case TAG_TIMER: {
			uint64_t ticks;
			if (read(em->timerfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
				die_sys("read", "timerfd");
			em->timer_armed_ns = 0;
			break;
		}
		default: {
			struct signalfd_siginfo si;
			if (read(em->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
				running = false;
			break;
		}
		}
	}
	return running;
}

static void run(struct emulator *em)
{
	struct epoll_event evs[8];
	for (;;) {
		release_due(em);
		const int timeout = plan_wait(em);
		const uint64_t before = timeout == 0 ? now_ns() : 0;
		const int n = epoll_wait(em->epfd, evs, 8, timeout);
		if (timeout == 0 && n == 0) {
			const uint64_t spent = now_ns() - before;
			em->spin_window_used += spent;
			em->spin_total_ns += spent;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die_sys("epoll_wait", "");
		}
		if (!handle_events(em, evs, n))
			return;
	}
}

static void print_ready(const struct emulator *em)
{
	printf("READY {\"pid\":%d,\"sched\":", (int)getpid());
	json_string(stdout, em->sched);
	printf(",\"timer_slack_ns\":1,\"mlock\":%s,\"config\":", em->mlocked ? "true" : "false");
	config_write_json(stdout, &em->cfg);
	printf("}\n");
	fflush(stdout);
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void print_link_stats(const struct link *l, const struct side *in)
{
	const struct link_stats *s = &l->st;
	const struct hist *h = &s->lateness;
	printf("{\"packets_in\":%llu,\"bytes_in\":%llu,\"delivered\":%llu,\"bytes_delivered\":%llu,"
	       "\"dropped\":{\"loss\":%llu,\"queue_packets\":%llu,\"queue_bytes\":%llu,\"oversize\":%llu,"
	       "\"write_error\":%llu},\"pending_at_exit\":%u,\"max_queue_packets\":%llu,\"max_queue_bytes\":%llu,"
	       "\"read_errors\":%llu,\"lateness_us\":{\"count\":%llu,\"mean\":%.3f,\"p50\":%.3f,\"p99\":%.3f,"
	       "\"p999\":%.3f,\"max\":%.3f}}",
	       (unsigned long long)s->packets_in, (unsigned long long)s->bytes_in, (unsigned long long)s->delivered,
	       (unsigned long long)s->bytes_delivered, (unsigned long long)s->drop_loss,
	       (unsigned long long)s->drop_queue_packets, (unsigned long long)s->drop_queue_bytes,
	       (unsigned long long)s->drop_oversize, (unsigned long long)s->drop_write_error,
	       link_pending_output(l), (unsigned long long)s->max_queue_packets,
	       (unsigned long long)s->max_queue_bytes, (unsigned long long)in->read_errors,
	       (unsigned long long)h->count, h->count ? us(h->sum) / (double)h->count : 0.0,
	       us(hist_quantile(h, 0.5)), us(hist_quantile(h, 0.99)), us(hist_quantile(h, 0.999)), us(h->max));
}

static void print_stats(struct emulator *em)
{
	struct pktlog_stats ls;
	pktlog_stats(em->log, &ls);
	printf("STATS {\"up\":");
	print_link_stats(&em->links[UP], &em->sides[UP]);
	printf(",\"down\":");
	print_link_stats(&em->links[DOWN], &em->sides[DOWN]);
	printf(",\"sched\":");
	json_string(stdout, em->sched);
	printf(",\"mlock\":%s,\"busy_poll_us\":%llu,\"rx_poll_us\":%llu,\"busy_poll_spin_s\":%.6f,\"elapsed_s\":%.6f,"
	       "\"log\":{\"records\":%llu,\"stalls\":%llu,\"write_errors\":%llu}}\n",
	       em->mlocked ? "true" : "false", (unsigned long long)em->cfg.busy_poll_us,
	       (unsigned long long)em->cfg.rx_poll_us, (double)em->spin_total_ns / 1e9,
	       (double)(now_ns() - em->start_ns) / 1e9, (unsigned long long)ls.records,
	       (unsigned long long)ls.stalls, (unsigned long long)ls.write_errors);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	/* Nothing here reads the environment; as Mahimahi does for root, do not keep it around. */
	clearenv();
	/* Go away with the process that started us: the TUN devices vanish with our fds. */
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	static struct emulator em;
	setup(&em, argc, argv);
	print_ready(&em);
	run(&em);
	pktlog_close(em.log);
	print_stats(&em);
	return 0;
}
