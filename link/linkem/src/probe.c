/*
 * linkem-probe: the measuring end of linkem's tests and benchmark, run inside the namespaces.
 *
 *   echo  --bind IP:PORT                       UDP echo; stamps its own dwell time into probes
 *   rtt   --to IP:PORT --count N --interval-us U [--size S] [--wait-ms W]
 *   blast --to IP:PORT --pps R --count N [--size S]      paced UDP with sequence numbers
 *   sink  --bind IP:PORT [--idle-ms I] [--expect N]      counts, sequence gaps, loss bursts
 *
 * Servers print "LISTENING" once bound; every mode prints one JSON line of results at the end.
 * Receive times are kernel timestamps (SO_TIMESTAMPNS, CLOCK_REALTIME), so the probe's own wake-up
 * latency is not counted, and the echo side's dwell time is subtracted from each RTT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROBE_MAGIC 0x4c4b4d50u /* "LKMP" */
#define MAX_PAYLOAD 65507
#define BATCH 64

/* Payload head of every probe datagram (host byte order: both ends are this machine). */
struct probe_head {
	uint32_t magic;
	uint32_t seq;
	uint64_t tx_ns;    /* sender CLOCK_REALTIME at send */
	uint64_t dwell_ns; /* echo: time from its kernel receive to its send */
};

struct args {
	const char *mode;
	struct sockaddr_in addr;
	bool have_addr;
	uint64_t count, interval_us, size, wait_ms, pps, idle_ms, expect;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

_Noreturn static void fail(const char *what)
{
	fprintf(stderr, "linkem-probe: %s: %s\n", what, strerror(errno));
	exit(1);
}

_Noreturn static void usage(const char *msg, const char *arg)
{
	fprintf(stderr, "linkem-probe: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	fprintf(stderr, "usage: linkem-probe echo|rtt|blast|sink [--bind|--to IP:PORT] [--count N] "
			"[--interval-us U] [--size S] [--wait-ms W] [--pps R] [--idle-ms I] [--expect N]\n");
	exit(2);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t parse_u64(const char *flag, const char *v)
{
	char *end;
	errno = 0;
	const unsigned long long x = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || *v == '\0' || *v == '-')
		usage("expected a non-negative integer for", flag);
	return x;
}

static void parse_addr(const char *v, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(v, ':');
	if (colon == NULL || (size_t)(colon - v) >= sizeof host)
		usage("expected IP:PORT, got", v);
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = '\0';
	memset(out, 0, sizeof *out);
	out->sin_family = AF_INET;
	const uint64_t port = parse_u64("port", colon + 1);
	if (port > 65535 || inet_pton(AF_INET, host, &out->sin_addr) != 1)
		usage("expected IP:PORT, got", v);
	out->sin_port = htons((uint16_t)port);
}

static void parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof *a);
	a->count = 1000;
	a->interval_us = 10000;
	a->size = 64;
	a->wait_ms = 1000;
	a->idle_ms = 1000;
	if (argc < 2)
		usage("missing mode", NULL);
	a->mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *f = argv[i];
		if (i + 1 >= argc)
			usage("missing value for", f);
		const char *v = argv[++i];
		if (strcmp(f, "--bind") == 0 || strcmp(f, "--to") == 0) {
			parse_addr(v, &a->addr);
			a->have_addr = true;
		} else if (strcmp(f, "--count") == 0)
			a->count = parse_u64(f, v);
		else if (strcmp(f, "--interval-us") == 0)
			a->interval_us = parse_u64(f, v);
		else if (strcmp(f, "--size") == 0)
			a->size = parse_u64(f, v);
		else if (strcmp(f, "--wait-ms") == 0)
			a->wait_ms = parse_u64(f, v);
		else if (strcmp(f, "--pps") == 0)
			a->pps = parse_u64(f, v);
		else if (strcmp(f, "--idle-ms") == 0)
			a->idle_ms = parse_u64(f, v);
		else if (strcmp(f, "--expect") == 0)
			a->expect = parse_u64(f, v);
		else
			usage("unknown flag", f);
	}
	if (!a->have_addr)
		usage("missing --bind or --to", NULL);
	if (a->size < sizeof(struct probe_head) || a->size > MAX_PAYLOAD)
		usage("--size must be in [24, 65507]", NULL);
}

static int udp_socket(void)
{
	const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("socket");
	const int on = 1, big = 32 << 20;
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	return fd;
}

static int bound_socket(const struct sockaddr_in *addr)
{
	const int fd = udp_socket();
	if (bind(fd, (const struct sockaddr *)addr, sizeof *addr) != 0)
		fail("bind");
	printf("LISTENING\n");
	fflush(stdout);
	return fd;
}

/* Kernel receive time and socket-drop counter of one received message. */
static void read_cmsgs(struct msghdr *m, uint64_t *rx_ns, uint32_t *drops)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SO_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof ts);
			*rx_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		} else if (c->cmsg_type == SO_RXQ_OVFL && drops != NULL) {
			memcpy(drops, CMSG_DATA(c), sizeof *drops);
		}
	}
}

struct rxmsg {
	uint8_t *buf;
	size_t cap;
	char ctl[128];
	struct sockaddr_in from;
	struct iovec iov;
	struct msghdr hdr;
};

static void rxmsg_prepare(struct rxmsg *r)
{
	r->iov = (struct iovec){r->buf, r->cap};
	r->hdr = (struct msghdr){.msg_name = &r->from, .msg_namelen = sizeof r->from, .msg_iov = &r->iov,
				 .msg_iovlen = 1, .msg_control = r->ctl, .msg_controllen = sizeof r->ctl};
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: blocking calls return EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static int mode_echo(const struct args *a)
{
	const int fd = bound_socket(&a->addr);
	static uint8_t buf[MAX_PAYLOAD];
	struct rxmsg r = {.buf = buf, .cap = sizeof buf};
	uint64_t echoed = 0;
	while (!stop_flag) {
		rxmsg_prepare(&r);
		const ssize_t n = recvmsg(fd, &r.hdr, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail("recvmsg");
		}
		uint64_t rx = 0;
		read_cmsgs(&r.hdr, &rx, NULL);
		if ((size_t)n >= sizeof(struct probe_head)) {
			struct probe_head h;
			memcpy(&h, buf, sizeof h);
			if (h.magic == PROBE_MAGIC && rx != 0) {
				h.dwell_ns = clock_ns(CLOCK_REALTIME) - rx;
				memcpy(buf, &h, sizeof h);
			}
		}
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&r.from, r.hdr.msg_namelen) >= 0)
			echoed++;
	}
	printf("{\"echoed\":%llu}\n", (unsigned long long)echoed);
	return 0;
}

/* rtt: results kept per received probe. */
struct rtt_sample {
	uint32_t seq;
	double raw_us, dwell_us;
};

static void rtt_receive(int fd, struct rtt_sample *samples, uint64_t *received, uint64_t count)
{
	static uint8_t buf[MAX_PAYLOAD];
	struct rxmsg r = {.buf = buf, .cap = sizeof buf};
	for (;;) {
		rxmsg_prepare(&r);
		const ssize_t n = recvmsg(fd, &r.hdr, MSG_DONTWAIT);
		if (n < 0)
			return;
		uint64_t rx = 0;
		read_cmsgs(&r.hdr, &rx, NULL);
		if (rx == 0)
			rx = clock_ns(CLOCK_REALTIME);
		struct probe_head h;
		if ((size_t)n < sizeof h)
			continue;
		memcpy(&h, buf, sizeof h);
		if (h.magic != PROBE_MAGIC || h.seq >= count || *received >= count)
			continue;
		samples[*received] = (struct rtt_sample){h.seq, (double)(rx - h.tx_ns) / 1000.0,
							 (double)h.dwell_ns / 1000.0};
		(*received)++;
	}
}

static void wait_readable(int fd, uint64_t until_mono)
{
	const uint64_t now = clock_ns(CLOCK_MONOTONIC);
	if (until_mono <= now)
		return;
	const uint64_t d = until_mono - now;
	struct timespec ts = {(time_t)(d / 1000000000ull), (long)(d % 1000000000ull)};
	struct pollfd p = {fd, POLLIN, 0};
	ppoll(&p, 1, &ts, NULL);
}

static int mode_rtt(const struct args *a)
{
	const int fd = udp_socket();
	if (connect(fd, (const struct sockaddr *)&a->addr, sizeof a->addr) != 0)
		fail("connect");
	uint8_t *payload = calloc(1, a->size);
	struct rtt_sample *samples = calloc(a->count ? a->count : 1, sizeof *samples);
	if (payload == NULL || samples == NULL)
		fail("calloc");
	uint64_t sent = 0, received = 0;
	const uint64_t start = clock_ns(CLOCK_MONOTONIC);
	while (sent < a->count && !stop_flag) {
		const uint64_t due = start + sent * a->interval_us * 1000ull;
		if (clock_ns(CLOCK_MONOTONIC) < due) {
			wait_readable(fd, due);
			rtt_receive(fd, samples, &received, a->count);
			continue;
		}
		struct probe_head h = {PROBE_MAGIC, (uint32_t)sent, clock_ns(CLOCK_REALTIME), 0};
		memcpy(payload, &h, sizeof h);
		if (send(fd, payload, a->size, 0) >= 0)
			sent++;
		else if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED)
			fail("send");
	}
	const uint64_t end = clock_ns(CLOCK_MONOTONIC) + a->wait_ms * 1000000ull;
	while (received < sent && clock_ns(CLOCK_MONOTONIC) < end && !stop_flag) {
		wait_readable(fd, end);
		rtt_receive(fd, samples, &received, a->count);
	}
	printf("{\"sent\":%llu,\"received\":%llu,\"samples\":[", (unsigned long long)sent,
	       (unsigned long long)received);
	for (uint64_t i = 0; i < received; i++)
		printf("%s[%u,%.3f,%.3f]", i ? "," : "", samples[i].seq, samples[i].raw_us, samples[i].dwell_us);
	printf("]}\n");
	return 0;
}

static void sleep_until(uint64_t mono_ns)
{
	struct timespec ts = {(time_t)(mono_ns / 1000000000ull), (long)(mono_ns % 1000000000ull)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop_flag)
		;
}

static int mode_blast(const struct args *a)
{
	if (a->pps == 0)
		usage("blast needs --pps", NULL);
	const int fd = udp_socket();
	if (connect(fd, (const struct sockaddr *)&a->addr, sizeof a->addr) != 0)
		fail("connect");
	static uint8_t bufs[BATCH][MAX_PAYLOAD < 9000 ? MAX_PAYLOAD : 9000];
	if (a->size > sizeof bufs[0])
		usage("blast --size must be at most 9000", NULL);
	struct mmsghdr msgs[BATCH];
	struct iovec iovs[BATCH];
	/* Batches of about 200 microseconds of traffic: fewer, cheaper sleeps. */
	uint64_t batch = a->pps / 5000;
	batch = batch < 1 ? 1 : batch > BATCH ? BATCH : batch;
	uint64_t sent = 0, errors = 0;
	const uint64_t start = clock_ns(CLOCK_MONOTONIC);
	while (sent < a->count && !stop_flag) {
		sleep_until(start + sent * 1000000000ull / a->pps);
		const uint64_t n = a->count - sent < batch ? a->count - sent : batch;
		for (uint64_t i = 0; i < n; i++) {
			struct probe_head h = {PROBE_MAGIC, (uint32_t)(sent + i), clock_ns(CLOCK_REALTIME), 0};
			memcpy(bufs[i], &h, sizeof h);
			iovs[i] = (struct iovec){bufs[i], a->size};
			msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iovs[i], .msg_iovlen = 1}};
		}
		const int r = sendmmsg(fd, msgs, (unsigned)n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* The datagram is gone either way: count it and move on. */
			errors++;
			sent++;
			continue;
		}
		sent += (uint64_t)r;
	}
	const double secs = (double)(clock_ns(CLOCK_MONOTONIC) - start) / 1e9;
	printf("{\"sent\":%llu,\"send_errors\":%llu,\"elapsed_s\":%.6f,\"pps\":%.1f}\n", (unsigned long long)sent,
	       (unsigned long long)errors, secs, secs > 0 ? (double)sent / secs : 0.0);
	return 0;
}

struct sink_state {
	uint64_t received, bytes, reordered, lost, bursts;
	int64_t next_seq; /* -1 before the first packet */
	uint32_t max_seq, rcvbuf_drops;
	uint64_t first_ns, last_ns;
};

static void sink_account(struct sink_state *s, const uint8_t *buf, size_t n, uint64_t rx)
{
	s->received++;
	s->bytes += n;
	if (s->first_ns == 0)
		s->first_ns = rx;
	s->last_ns = rx;
	struct probe_head h;
	if (n < sizeof h)
		return;
	memcpy(&h, buf, sizeof h);
	if (h.magic != PROBE_MAGIC)
		return;
	if (s->next_seq < 0)
		s->next_seq = 0;
	if ((int64_t)h.seq < s->next_seq) {
		s->reordered++;
		return;
	}
	if ((int64_t)h.seq > s->next_seq) {
		s->bursts++;
		s->lost += (uint64_t)((int64_t)h.seq - s->next_seq);
	}
	s->next_seq = (int64_t)h.seq + 1;
	if (h.seq > s->max_seq)
		s->max_seq = h.seq;
}

static int mode_sink(const struct args *a)
{
	const int fd = bound_socket(&a->addr);
	static uint8_t bufs[BATCH][2048];
	static char ctls[BATCH][128];
	struct mmsghdr msgs[BATCH];
	struct iovec iovs[BATCH];
	struct sink_state s = {.next_seq = -1};
	uint64_t last_activity = clock_ns(CLOCK_MONOTONIC);
	while (!stop_flag) {
		for (int i = 0; i < BATCH; i++) {
			iovs[i] = (struct iovec){bufs[i], sizeof bufs[i]};
			msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iovs[i], .msg_iovlen = 1,
							       .msg_control = ctls[i], .msg_controllen = sizeof ctls[i]}};
		}
		const int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			const uint64_t now = clock_ns(CLOCK_MONOTONIC);
			/* Before the first packet, wait up to 10 idle periods for traffic to start. */
			const uint64_t idle = a->idle_ms * 1000000ull * (s.received ? 1 : 10);
			if (now - last_activity > idle)
				break;
			wait_readable(fd, now + 10000000ull);
			continue;
		}
		last_activity = clock_ns(CLOCK_MONOTONIC);
		for (int i = 0; i < n; i++) {
			uint64_t rx = 0;
			read_cmsgs(&msgs[i].msg_hdr, &rx, &s.rcvbuf_drops);
			sink_account(&s, bufs[i], msgs[i].msg_len, rx ? rx : clock_ns(CLOCK_REALTIME));
		}
	}
	if (a->expect > 0 && s.next_seq >= 0 && (uint64_t)s.next_seq < a->expect) {
		s.bursts++;
		s.lost += a->expect - (uint64_t)s.next_seq;
	} else if (a->expect > 0 && s.next_seq < 0) {
		s.lost = a->expect;
		s.bursts = 1;
	}
	const double secs = (double)(s.last_ns - s.first_ns) / 1e9;
	printf("{\"received\":%llu,\"bytes\":%llu,\"max_seq\":%u,\"lost\":%llu,\"bursts\":%llu,"
	       "\"reordered\":%llu,\"rcvbuf_drops\":%u,\"duration_s\":%.6f,\"pps\":%.1f,\"mbit_s\":%.3f}\n",
	       (unsigned long long)s.received, (unsigned long long)s.bytes, s.max_seq, (unsigned long long)s.lost,
	       (unsigned long long)s.bursts, (unsigned long long)s.reordered, s.rcvbuf_drops, secs,
	       secs > 0 ? (double)s.received / secs : 0.0, secs > 0 ? (double)s.bytes * 8 / secs / 1e6 : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	struct args a;
	parse_args(argc, argv, &a);
	/* End with the process that started us (an echo server would otherwise outlive a killed run). */
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	install_signals();
	if (strcmp(a.mode, "echo") == 0)
		return mode_echo(&a);
	if (strcmp(a.mode, "rtt") == 0)
		return mode_rtt(&a);
	if (strcmp(a.mode, "blast") == 0)
		return mode_blast(&a);
	if (strcmp(a.mode, "sink") == 0)
		return mode_sink(&a);
	usage("unknown mode", a.mode);
}
