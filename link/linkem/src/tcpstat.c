/*
 * tcpstat: sample the kernel's tcp_info of the TCP connections of one port in this network
 * namespace, every INTERVAL ms, through NETLINK_SOCK_DIAG (sock_diag(7)), and print one line per
 * connection per sample in which something changed.
 *
 *   tcpstat --port P --side server|client [--interval-ms N] [--discover-ms auto|N] [--family 4|6|all]
 *
 * server: sockets whose local port is P (the accepted connections of a listener on P);
 * client: sockets whose remote port is P. Only connected states are dumped (ESTABLISHED, FIN_WAIT1,
 * FIN_WAIT2, CLOSE_WAIT, LAST_ACK, CLOSING): a listener, SYN_RECV request sockets and TIME_WAIT
 * sockets carry no tcp_info.
 *
 * Finding new connections takes a dump, and a dump walks the kernel's whole established hash table
 * (the host's, 2^18 buckets and more, unless the namespace owns one: net.ipv4.tcp_child_ehash_entries
 * in ip-sysctl.rst), about a millisecond of CPU each. So the sockets already known are sampled every
 * INTERVAL by exact lookup (one hash lookup each), and dumps run every --discover-ms: "auto" (the
 * default) paces them so that they take at most 2% of a core, never less often than every 250 ms
 * and never more often than every INTERVAL. A new connection is thus seen up to one discovery
 * period late; the END line says how many dumps ran and what they cost.
 *
 * Output (stdout, one line each, space-separated):
 *   TCPSTAT 1 kernel=RELEASE side=S port=P interval_ms=N discover_ms=auto|N family=4|6|all
 *     fields=NAME,NAME,…
 *   S T_MS COOKIE LOCAL PEER STATE CA_STATE CC CWND MSS SSTHRESH RTT_US MIN_RTT_US DELIVERY_RATE
 *     UNACKED SACKED LOST RETRANS TOTAL_RETRANS SEGS_OUT DATA_SEGS_OUT BYTES_SENT BYTES_RETRANS
 *     BACKOFF RETRANSMITS TOTAL_RTO
 *   END rounds=N late=N lines=N sockets_max=N dumps=N lookups=N dump_cpu_ms=X
 * T_MS is CLOCK_MONOTONIC in ms with 3 decimals (the time the dump was requested), COOKIE the
 * kernel's socket cookie in hex (unique per socket, so a reused 4-tuple is a new connection),
 * LOCAL/PEER "a.b.c.d:port" or "[v6]:port" (IPv4-mapped IPv6 printed as IPv4), CC the congestion
 * control (INET_DIAG_CONG) or "-". TOTAL_RTO is tcpi_total_rto (Linux >= 6.7) or "-" when the
 * kernel's tcp_info is too short to hold it. Numbers are the tcp_info fields of linux/tcp.h as is
 * (SSTHRESH 2147483647 = TCP_INFINITE_SSTHRESH, not set yet; MIN_RTT_US 4294967295 = no sample).
 *
 * Ends, printing END and flushing, on SIGTERM, SIGINT or SIGHUP, when stdin (if it is a pipe,
 * socket or terminal) reaches EOF, or when its parent dies. A bad argument: message and usage on
 * stderr, exit 2. A netlink or output failure: message on stderr, exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#define USAGE                                                                                    \
	"usage: tcpstat --port P --side server|client [--interval-ms N] [--discover-ms auto|N]\n" \
	"               [--family 4|6|all]\n"

/*
 * struct tcp_info as in the UAPI header linux/tcp.h of Linux 6.7+, whose layout only ever grows
 * at the end. Declared here so that the fields newer than the build host's headers (tcpi_rcv_wnd,
 * tcpi_rehash, tcpi_total_rto…) can be read when the running kernel has them: the kernel sends its
 * whole struct in INET_DIAG_INFO, and the attribute's length says which fields are present.
 */
struct ts_tcp_info {
	uint8_t tcpi_state;
	uint8_t tcpi_ca_state;
	uint8_t tcpi_retransmits;
	uint8_t tcpi_probes;
	uint8_t tcpi_backoff;
	uint8_t tcpi_options;
	uint8_t tcpi_wscale; /* snd_wscale:4, rcv_wscale:4 */
	uint8_t tcpi_flags;  /* delivery_rate_app_limited:1, fastopen_client_fail:2 */
	uint32_t tcpi_rto;
	uint32_t tcpi_ato;
	uint32_t tcpi_snd_mss;
	uint32_t tcpi_rcv_mss;
	uint32_t tcpi_unacked;
	uint32_t tcpi_sacked;
	uint32_t tcpi_lost;
	uint32_t tcpi_retrans;
	uint32_t tcpi_fackets;
	uint32_t tcpi_last_data_sent;
	uint32_t tcpi_last_ack_sent;
	uint32_t tcpi_last_data_recv;
	uint32_t tcpi_last_ack_recv;
	uint32_t tcpi_pmtu;
	uint32_t tcpi_rcv_ssthresh;
	uint32_t tcpi_rtt;
	uint32_t tcpi_rttvar;
	uint32_t tcpi_snd_ssthresh;
	uint32_t tcpi_snd_cwnd;
	uint32_t tcpi_advmss;
	uint32_t tcpi_reordering;
	uint32_t tcpi_rcv_rtt;
	uint32_t tcpi_rcv_space;
	uint32_t tcpi_total_retrans;
	uint64_t tcpi_pacing_rate;
	uint64_t tcpi_max_pacing_rate;
	uint64_t tcpi_bytes_acked;
	uint64_t tcpi_bytes_received;
	uint32_t tcpi_segs_out;
	uint32_t tcpi_segs_in;
	uint32_t tcpi_notsent_bytes;
	uint32_t tcpi_min_rtt;
	uint32_t tcpi_data_segs_in;
	uint32_t tcpi_data_segs_out;
	uint64_t tcpi_delivery_rate;
	uint64_t tcpi_busy_time;
	uint64_t tcpi_rwnd_limited;
	uint64_t tcpi_sndbuf_limited;
	uint32_t tcpi_delivered;
	uint32_t tcpi_delivered_ce;
	uint64_t tcpi_bytes_sent;
	uint64_t tcpi_bytes_retrans;
	uint32_t tcpi_dsack_dups;
	uint32_t tcpi_reord_seen;
	uint32_t tcpi_rcv_ooopack;
	uint32_t tcpi_snd_wnd;
	uint32_t tcpi_rcv_wnd;
	uint32_t tcpi_rehash;
	uint16_t tcpi_total_rto;
	uint16_t tcpi_total_rto_recoveries;
	uint32_t tcpi_total_rto_time;
};

/* The common prefix must match the build host's header wherever both have a field. */
_Static_assert(offsetof(struct ts_tcp_info, tcpi_snd_cwnd) == offsetof(struct tcp_info, tcpi_snd_cwnd),
	       "tcp_info layout");
_Static_assert(offsetof(struct ts_tcp_info, tcpi_min_rtt) == offsetof(struct tcp_info, tcpi_min_rtt),
	       "tcp_info layout");
_Static_assert(offsetof(struct ts_tcp_info, tcpi_delivery_rate) ==
		       offsetof(struct tcp_info, tcpi_delivery_rate),
	       "tcp_info layout");
_Static_assert(offsetof(struct ts_tcp_info, tcpi_bytes_retrans) ==
		       offsetof(struct tcp_info, tcpi_bytes_retrans),
	       "tcp_info layout");
_Static_assert(offsetof(struct ts_tcp_info, tcpi_rcv_ooopack) == offsetof(struct tcp_info, tcpi_rcv_ooopack),
	       "tcp_info layout");

/* Bytes of tcp_info a kernel must send for the fields printed (tcpi_bytes_retrans, Linux 4.19). */
#define MIN_INFO_LEN (offsetof(struct ts_tcp_info, tcpi_bytes_retrans) + sizeof(uint64_t))
/* …and for tcpi_total_rto (Linux 6.7). */
#define RTO_INFO_LEN (offsetof(struct ts_tcp_info, tcpi_total_rto) + sizeof(uint16_t))

/* TCP states (include/net/tcp_states.h; the values idiag_state carries). */
enum {
	ST_ESTABLISHED = 1,
	ST_FIN_WAIT1 = 4,
	ST_FIN_WAIT2 = 5,
	ST_CLOSE_WAIT = 8,
	ST_LAST_ACK = 9,
	ST_CLOSING = 11,
};
#define STATES                                                                                       \
	((1u << ST_ESTABLISHED) | (1u << ST_FIN_WAIT1) | (1u << ST_FIN_WAIT2) | (1u << ST_CLOSE_WAIT) | \
	 (1u << ST_LAST_ACK) | (1u << ST_CLOSING))

#define CC_LEN 16 /* TCP_CA_NAME_MAX */

/* What is compared between samples and printed: zeroed before filling, so memcmp is exact. */
struct vals {
	uint8_t state, ca_state, backoff, retransmits;
	uint32_t cwnd, mss, ssthresh, rtt, min_rtt;
	uint32_t unacked, sacked, lost, retrans, total_retrans, segs_out, data_segs_out;
	int32_t total_rto; /* -1: not exposed by this kernel */
	uint64_t delivery_rate, bytes_sent, bytes_retrans;
	char cc[CC_LEN];
};

struct entry {
	uint64_t cookie; /* 0: empty slot (the kernel never hands out cookie 0) */
	uint8_t family;
	struct inet_diag_sockid id; /* as the kernel reported it: the key of an exact lookup */
	struct vals v;
};

/* An open-addressing table of the previous round's samples, and the one being filled. */
struct table {
	struct entry *slots;
	size_t cap; /* power of two */
	size_t count;
};

static struct table prev_tab, cur_tab;

static struct {
	int port;
	int side_server;
	int interval_ms;
	int family; /* 0: both, else AF_INET or AF_INET6 */
	int discover_ms; /* 0: auto */
} opt = { .port = 0, .side_server = -1, .interval_ms = 10, .family = 0, .discover_ms = 0 };

/* In auto mode, discovery dumps may use this share of one core (their CPU time is measured). */
#define DISCOVER_BUDGET 0.02
/* …but run at least this often. */
#define DISCOVER_MAX_MS 250.0

static volatile sig_atomic_t stop_signal;
static unsigned long long rounds, late, lines, sockets_max, dumps, lookups;
static double dump_cpu_ms;
static uint32_t seq;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void die(const char *what)
{
	fprintf(stderr, "tcpstat: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage_error(const char *fmt, const char *arg)
{
	fputs("tcpstat: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n" USAGE, stderr);
	exit(2);
}

/* A decimal integer in [lo, hi], digits only (no sign, blanks or leading zeros beyond "0"). */
static int int_arg(const char *flag, const char *s, long lo, long hi)
{
	if (s == NULL)
		usage_error("%s needs a value", flag);
	size_t n = strlen(s);
	if (n == 0 || n > 9 || strspn(s, "0123456789") != n || (s[0] == '0' && n > 1))
		usage_error("bad number \"%s\"", s);
	long v = strtol(s, NULL, 10);
	if (v < lo || v > hi)
		usage_error("value \"%s\" out of range", s);
	return (int)v;
}

static void parse_args(int argc, char **argv)
{
	int have_port = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--port") == 0) {
			opt.port = int_arg(a, v, 1, 65535);
			have_port = 1;
		} else if (strcmp(a, "--interval-ms") == 0) {
			opt.interval_ms = int_arg(a, v, 1, 60000);
		} else if (strcmp(a, "--side") == 0) {
			if (v != NULL && strcmp(v, "server") == 0)
				opt.side_server = 1;
			else if (v != NULL && strcmp(v, "client") == 0)
				opt.side_server = 0;
			else
				usage_error("--side must be server or client, got \"%s\"", v ? v : "");
		} else if (strcmp(a, "--discover-ms") == 0) {
			if (v != NULL && strcmp(v, "auto") == 0)
				opt.discover_ms = 0;
			else
				opt.discover_ms = int_arg(a, v, 1, 60000);
		} else if (strcmp(a, "--family") == 0) {
			if (v != NULL && strcmp(v, "4") == 0)
				opt.family = AF_INET;
			else if (v != NULL && strcmp(v, "6") == 0)
				opt.family = AF_INET6;
			else if (v != NULL && strcmp(v, "all") == 0)
				opt.family = 0;
			else
				usage_error("--family must be 4, 6 or all, got \"%s\"", v ? v : "");
		} else {
			usage_error("unknown argument \"%s\"", a);
		}
		i++; /* every flag takes one value */
	}
	if (!have_port)
		usage_error("%s is required", "--port");
	if (opt.side_server < 0)
		usage_error("%s is required", "--side");
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t hash64(uint64_t x)
{
	/* splitmix64's finalizer */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static struct entry *table_slot(struct table *t, uint64_t cookie)
{
	size_t mask = t->cap - 1;
	for (size_t i = hash64(cookie) & mask;; i = (i + 1) & mask)
		if (t->slots[i].cookie == cookie || t->slots[i].cookie == 0)
			return &t->slots[i];
}

static void table_init(struct table *t, size_t cap)
{
	t->slots = calloc(cap, sizeof *t->slots);
	if (t->slots == NULL)
		die("calloc");
	t->cap = cap;
	t->count = 0;
}

static void table_put(struct table *t, uint64_t cookie, const struct inet_diag_msg *m, const struct vals *v)
{
	if ((t->count + 1) * 2 > t->cap) {
		struct table bigger;
		table_init(&bigger, t->cap * 2);
		for (size_t i = 0; i < t->cap; i++)
			if (t->slots[i].cookie != 0)
				*table_slot(&bigger, t->slots[i].cookie) = t->slots[i];
		bigger.count = t->count;
		free(t->slots);
		*t = bigger;
	}
	struct entry *e = table_slot(t, cookie);
	if (e->cookie == 0)
		t->count++;
	e->cookie = cookie;
	e->family = m->idiag_family;
	e->id = m->id;
	e->v = *v;
}

/* "a.b.c.d:port" or "[v6]:port"; an IPv4-mapped IPv6 address is printed as IPv4. */
static void format_addr(char *out, size_t n, int family, const uint32_t addr[4], uint16_t port_be)
{
	char a[INET6_ADDRSTRLEN];
	const unsigned char *b = (const unsigned char *)addr;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (family == AF_INET || (family == AF_INET6 && memcmp(b, mapped, 12) == 0)) {
		inet_ntop(AF_INET, family == AF_INET ? b : b + 12, a, sizeof a);
		snprintf(out, n, "%s:%u", a, ntohs(port_be));
	} else {
		inet_ntop(AF_INET6, b, a, sizeof a);
		snprintf(out, n, "[%s]:%u", a, ntohs(port_be));
	}
}

static void print_sample(double t, const struct inet_diag_msg *m, const struct vals *v)
{
	char local[INET6_ADDRSTRLEN + 10], peer[INET6_ADDRSTRLEN + 10], rto[16];
	format_addr(local, sizeof local, m->idiag_family, m->id.idiag_src, m->id.idiag_sport);
	format_addr(peer, sizeof peer, m->idiag_family, m->id.idiag_dst, m->id.idiag_dport);
	if (v->total_rto < 0)
		snprintf(rto, sizeof rto, "-");
	else
		snprintf(rto, sizeof rto, "%d", (int)v->total_rto);
	uint64_t cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
	printf("S %.3f %llx %s %s %u %u %s %u %u %u %u %u %llu %u %u %u %u %u %u %u %llu %llu %u %u %s\n", t,
	       (unsigned long long)cookie, local, peer, v->state, v->ca_state, v->cc, v->cwnd, v->mss,
	       v->ssthresh, v->rtt, v->min_rtt, (unsigned long long)v->delivery_rate, v->unacked, v->sacked,
	       v->lost, v->retrans, v->total_retrans, v->segs_out, v->data_segs_out,
	       (unsigned long long)v->bytes_sent, (unsigned long long)v->bytes_retrans, v->backoff,
	       v->retransmits, rto);
	lines++;
}

/* One socket of a dump: sample it, print it if it changed, remember it for the next round. */
static int handle_socket(double t, const struct nlmsghdr *h)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof *m))
		return 0;
	/* The kernel filtered by port already; check again, it costs nothing. */
	uint16_t want = htons((uint16_t)opt.port);
	if ((opt.side_server ? m->id.idiag_sport : m->id.idiag_dport) != want)
		return 0;
	/* An exact lookup ignores idiag_states: keep to the connected states here too. */
	if (m->idiag_state >= 32 || !(STATES & (1u << m->idiag_state)))
		return 0;

	struct ts_tcp_info ti;
	size_t ti_len = 0;
	char cc[CC_LEN] = "-";
	memset(&ti, 0, sizeof ti);
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
	for (const struct rtattr *a = (const struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		size_t plen = RTA_PAYLOAD(a);
		if (a->rta_type == INET_DIAG_INFO) {
			ti_len = plen < sizeof ti ? plen : sizeof ti;
			memcpy(&ti, RTA_DATA(a), ti_len);
		} else if (a->rta_type == INET_DIAG_CONG && plen > 0) {
			const char *s = RTA_DATA(a);
			size_t n = 0;
			while (n < plen && n < CC_LEN - 1 && s[n] != '\0') {
				char c = s[n];
				int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
					 c == '_' || c == '-';
				cc[n++] = ok ? c : '_';
			}
			cc[n] = '\0';
			if (n == 0)
				strcpy(cc, "-");
		}
	}
	if (ti_len < MIN_INFO_LEN)
		return 0; /* no tcp_info (or a kernel older than 4.19): nothing to print */

	struct vals v;
	memset(&v, 0, sizeof v);
	v.state = m->idiag_state;
	v.ca_state = ti.tcpi_ca_state;
	v.backoff = ti.tcpi_backoff;
	v.retransmits = ti.tcpi_retransmits;
	v.cwnd = ti.tcpi_snd_cwnd;
	v.mss = ti.tcpi_snd_mss;
	v.ssthresh = ti.tcpi_snd_ssthresh;
	v.rtt = ti.tcpi_rtt;
	v.min_rtt = ti.tcpi_min_rtt;
	v.delivery_rate = ti.tcpi_delivery_rate;
	v.unacked = ti.tcpi_unacked;
	v.sacked = ti.tcpi_sacked;
	v.lost = ti.tcpi_lost;
	v.retrans = ti.tcpi_retrans;
	v.total_retrans = ti.tcpi_total_retrans;
	v.segs_out = ti.tcpi_segs_out;
	v.data_segs_out = ti.tcpi_data_segs_out;
	v.bytes_sent = ti.tcpi_bytes_sent;
	v.bytes_retrans = ti.tcpi_bytes_retrans;
	v.total_rto = ti_len >= RTO_INFO_LEN ? (int32_t)ti.tcpi_total_rto : -1;
	memcpy(v.cc, cc, sizeof v.cc);

	uint64_t cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
	if (cookie == 0)
		return 0;
	struct entry *old = table_slot(&prev_tab, cookie);
	if (old->cookie == 0 || memcmp(&old->v, &v, sizeof v) != 0)
		print_sample(t, m, &v);
	table_put(&cur_tab, cookie, m, &v);
	return 1;
}

/* Ask for one dump of `family` and handle every socket in it. */
static void dump_family(int fd, int family, double t)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
		struct rtattr bc_attr;
		struct inet_diag_bc_op ops[2];
	} msg;
	_Static_assert(sizeof msg == NLMSG_LENGTH(sizeof(struct inet_diag_req_v2)) + RTA_LENGTH(8),
		       "request layout");
	memset(&msg, 0, sizeof msg);
	msg.nlh.nlmsg_len = sizeof msg;
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.nlh.nlmsg_seq = ++seq;
	msg.req.sdiag_family = (uint8_t)family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = STATES;
	msg.req.idiag_ext = (1 << (INET_DIAG_INFO - 1)) | (1 << (INET_DIAG_CONG - 1));
	/*
	 * The filter (linux/inet_diag.h, INET_DIAG_REQ_BYTECODE): one port comparison whose operand,
	 * in host order, sits in the `no` field of the op after it. A match jumps to the end (accept);
	 * a mismatch jumps 4 bytes past it (reject).
	 */
	msg.bc_attr.rta_type = INET_DIAG_REQ_BYTECODE;
	msg.bc_attr.rta_len = RTA_LENGTH(sizeof msg.ops);
	msg.ops[0].code = opt.side_server ? INET_DIAG_BC_S_EQ : INET_DIAG_BC_D_EQ;
	msg.ops[0].yes = sizeof msg.ops;
	msg.ops[0].no = sizeof msg.ops + 4;
	msg.ops[1].no = (unsigned short)opt.port;

	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	if (sendto(fd, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
		die("sendto(NETLINK_SOCK_DIAG)");

	static _Alignas(struct nlmsghdr) char buf[64 * 1024];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recv(NETLINK_SOCK_DIAG)");
		}
		if (n == 0) {
			errno = EPROTO;
			die("recv(NETLINK_SOCK_DIAG): end of stream");
		}
		int left = (int)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				goto done;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				errno = h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) ? -e->error : EPROTO;
				die("SOCK_DIAG_BY_FAMILY");
			}
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY)
				handle_socket(t, h);
		}
	}
done:;
}

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * Sample the sockets of the previous round by exact lookup (a request without NLM_F_DUMP carrying
 * the socket's id and cookie: one hash lookup in the kernel, no table walk), in batches of
 * LOOKUP_BATCH requests per sendto. Each request is answered by exactly one message: the socket,
 * or an NLMSG_ERROR when it is gone (ENOENT) or its 4-tuple now belongs to another socket (ESTALE).
 */
#define LOOKUP_BATCH 64
static void lookup_known(int fd, double t)
{
	struct req {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	};
	static struct req batch[LOOKUP_BATCH];
	static _Alignas(struct nlmsghdr) char buf[64 * 1024];
	size_t i = 0;
	while (i < prev_tab.cap) {
		int n = 0;
		for (; i < prev_tab.cap && n < LOOKUP_BATCH; i++) {
			const struct entry *e = &prev_tab.slots[i];
			if (e->cookie == 0)
				continue;
			struct req *r = &batch[n++];
			memset(r, 0, sizeof *r);
			r->nlh.nlmsg_len = sizeof *r;
			r->nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
			r->nlh.nlmsg_flags = NLM_F_REQUEST;
			r->nlh.nlmsg_seq = ++seq;
			r->req.sdiag_family = e->family;
			r->req.sdiag_protocol = IPPROTO_TCP;
			r->req.idiag_states = STATES;
			r->req.idiag_ext = (1 << (INET_DIAG_INFO - 1)) | (1 << (INET_DIAG_CONG - 1));
			r->req.id = e->id;
		}
		if (n == 0)
			break;
		struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
		if (sendto(fd, batch, (size_t)n * sizeof batch[0], 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
			die("sendto(NETLINK_SOCK_DIAG)");
		lookups += (unsigned long long)n;
		int answered = 0;
		while (answered < n) {
			ssize_t got = recv(fd, buf, sizeof buf, 0);
			if (got < 0) {
				if (errno == EINTR)
					continue;
				die("recv(NETLINK_SOCK_DIAG)");
			}
			int left = (int)got;
			for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
				if (h->nlmsg_type == NLMSG_ERROR) {
					const struct nlmsgerr *e = NLMSG_DATA(h);
					int err = h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) ? -e->error : EPROTO;
					if (err != ENOENT && err != ESTALE && err != 0) {
						errno = err;
						die("SOCK_DIAG_BY_FAMILY (exact lookup)");
					}
					answered++;
				} else if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
					handle_socket(t, h);
					answered++;
				}
			}
		}
	}
}

static void sample_round(int fd)
{
	static double next_discover;
	double t = now_ms();
	if (t >= next_discover) {
		/* A full dump finds new connections (and samples the known ones). */
		double c0 = cpu_ms();
		if (opt.family == 0 || opt.family == AF_INET)
			dump_family(fd, AF_INET, t);
		if (opt.family == 0 || opt.family == AF_INET6)
			dump_family(fd, AF_INET6, t);
		double used = cpu_ms() - c0;
		dump_cpu_ms += used;
		dumps++;
		double period = opt.discover_ms;
		if (opt.discover_ms == 0) {
			/* The kernel walks its whole established hash table per dump (the host's, unless this
			 * namespace owns one: net.ipv4.tcp_child_ehash_entries): pace dumps to the budget. */
			period = used / DISCOVER_BUDGET;
			if (period > DISCOVER_MAX_MS)
				period = DISCOVER_MAX_MS;
		}
		next_discover = t + (period > opt.interval_ms ? period : opt.interval_ms) - 0.5;
	} else {
		lookup_known(fd, t);
	}
	if (cur_tab.count > sockets_max)
		sockets_max = cur_tab.count;
	/* The sockets not seen this round are gone: forget them. */
	struct table tmp = prev_tab;
	prev_tab = cur_tab;
	cur_tab = tmp;
	if (cur_tab.cap < prev_tab.cap) {
		free(cur_tab.slots);
		table_init(&cur_tab, prev_tab.cap);
	} else {
		memset(cur_tab.slots, 0, cur_tab.cap * sizeof *cur_tab.slots);
		cur_tab.count = 0;
	}
	rounds++;
	if (fflush(stdout) != 0)
		die("write(stdout)");
}

/* Whether stdin is something whose EOF means "the parent is gone": a pipe, socket or terminal. */
static int watch_stdin(void)
{
	struct stat st;
	if (fstat(STDIN_FILENO, &st) != 0)
		return 0;
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(STDIN_FILENO);
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigset_t block, waitmask;
	sigemptyset(&block);
	int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	/* Signals are delivered only inside ppoll, so none is lost between the check and the wait. */
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGHUP);
	prctl(PR_SET_PDEATHSIG, SIGTERM);

	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		die("socket(NETLINK_SOCK_DIAG)");
	table_init(&prev_tab, 64);
	table_init(&cur_tab, 64);

	char discover[16] = "auto";
	if (opt.discover_ms > 0)
		snprintf(discover, sizeof discover, "%d", opt.discover_ms);
	struct utsname u;
	char release[sizeof u.release] = "unknown";
	if (uname(&u) == 0) {
		size_t i = 0;
		for (; u.release[i] != '\0' && i < sizeof release - 1; i++)
			release[i] = (u.release[i] > ' ' && u.release[i] < 127) ? u.release[i] : '_';
		release[i] = '\0';
	}
	printf("TCPSTAT 1 kernel=%s side=%s port=%d interval_ms=%d discover_ms=%s family=%s "
	       "fields=t_ms,cookie,local,peer,state,ca_state,cc,snd_cwnd,snd_mss,snd_ssthresh,rtt_us,"
	       "min_rtt_us,delivery_rate,unacked,sacked,lost,retrans,total_retrans,segs_out,data_segs_out,"
	       "bytes_sent,bytes_retrans,backoff,retransmits,total_rto\n",
	       release, opt.side_server ? "server" : "client", opt.port, opt.interval_ms, discover,
	       opt.family == AF_INET ? "4" : opt.family == AF_INET6 ? "6" : "all");
	if (fflush(stdout) != 0)
		die("write(stdout)");

	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	int nfds = watch_stdin() ? 1 : 0;
	double next = now_ms();
	while (!stop_signal) {
		sample_round(fd);
		next += opt.interval_ms;
		double now = now_ms();
		if (now >= next) {
			/* The round overran the period: skip the ticks it missed rather than burst. */
			while (next <= now) {
				next += opt.interval_ms;
				late++;
			}
		}
		for (;;) {
			double wait = next - now_ms();
			if (wait <= 0 || stop_signal)
				break;
			long long ns = (long long)(wait * 1e6);
			struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000LL),
					       .tv_nsec = (long)(ns % 1000000000LL) };
			int r = ppoll(&pfd, (nfds_t)nfds, &ts, &waitmask);
			if (r < 0 && errno != EINTR)
				die("ppoll");
			if (r > 0) {
				char drain[512];
				ssize_t got = read(STDIN_FILENO, drain, sizeof drain);
				if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
					stop_signal = -1; /* EOF: the parent is gone or done */
					break;
				}
			}
		}
	}
	printf("END rounds=%llu late=%llu lines=%llu sockets_max=%llu dumps=%llu lookups=%llu "
	       "dump_cpu_ms=%.3f\n",
	       rounds, late, lines, sockets_max, dumps, lookups, dump_cpu_ms);
	if (fflush(stdout) != 0)
		die("write(stdout)");
	close(fd);
	return 0;
}
