/*
 * linkem-selftest: checks of the loss models, histogram, flow hash and link scheduling that need
 * neither root nor devices. Prints one line per check ("ok NAME" or "FAIL NAME: why") and
 * "FLOW <hash>" for the TypeScript flow-hash test; exits 1 if any check failed.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "flow.h"
#include "hist.h"
#include "link.h"
#include "loss.h"
#include "pool.h"

static int failures;

static void check(int ok, const char *name, const char *fmt, double a, double b)
{
	if (ok) {
		printf("ok %s\n", name);
		return;
	}
	failures++;
	printf("FAIL %s: ", name);
	printf(fmt, a, b);
	printf("\n");
}

static void loss_model(struct loss_model *m, enum loss_kind kind, const double *p, int n)
{
	memset(m, 0, sizeof *m);
	m->kind = kind;
	for (int i = 0; i < n; i++)
		m->p[i] = p[i];
	loss_init(m, 7, 0);
}

/* Simulate n packets; returns the loss fraction and the mean loss burst length. */
static void simulate(struct loss_model *m, long n, double *loss, double *burst)
{
	long lost = 0, bursts = 0;
	int prev = 0;
	for (long i = 0; i < n; i++) {
		const int l = loss_drop(m);
		lost += l;
		bursts += l && !prev;
		prev = l;
	}
	*loss = (double)lost / (double)n;
	*burst = bursts ? (double)lost / (double)bursts : 0;
}

static void test_bernoulli(void)
{
	struct loss_model m;
	const double p[] = {0.01};
	loss_model(&m, LOSS_RANDOM, p, 1);
	double loss, burst;
	const long n = 1000000;
	simulate(&m, n, &loss, &burst);
	const double sd = sqrt(0.01 * 0.99 / (double)n);
	check(fabs(loss - 0.01) < 4 * sd, "bernoulli 1% loss", "got %g, want %g", loss, 0.01);
}

static void test_simple_gilbert(void)
{
	struct loss_model m;
	const double p[] = {0.00337, 0.333, 1.0, 0.0};
	loss_model(&m, LOSS_GE, p, 4);
	double loss, burst;
	simulate(&m, 4000000, &loss, &burst);
	const double want = 0.00337 / (0.00337 + 0.333);
	check(fabs(loss - want) / want < 0.05, "gilbert loss = p/(p+r)", "got %g, want %g", loss, want);
	check(fabs(burst - 1 / 0.333) / (1 / 0.333) < 0.05, "gilbert mean burst = 1/r", "got %g, want %g", burst,
	      1 / 0.333);
}

static void test_gilbert_elliott(void)
{
	struct loss_model m;
	const double p[] = {0.01, 0.1, 0.5, 0.001};
	loss_model(&m, LOSS_GE, p, 4);
	double loss, burst;
	simulate(&m, 4000000, &loss, &burst);
	const double pib = 0.01 / 0.11;
	const double want = (1 - pib) * 0.001 + pib * 0.5;
	check(fabs(loss - want) / want < 0.05, "gilbert-elliott loss = piG(1-k) + piB(1-h)", "got %g, want %g",
	      loss, want);
}

/* Kernel order: the transition is drawn first, the loss uses the state at arrival. */
static void test_gilbert_order(void)
{
	struct loss_model m;
	const double p[] = {1.0, 0.0, 1.0, 0.0};
	loss_model(&m, LOSS_GE, p, 4);
	const int first = loss_drop(&m), second = loss_drop(&m), third = loss_drop(&m);
	check(!first && second && third, "gilbert-elliott decides loss in the arrival state", "got %g then %g",
	      first, second);
}

/* Stationary loss of the 4-state chain as implemented (power iteration). */
static double four_state_loss(const double *p)
{
	const double p13 = p[0], p31 = p[1], p32 = p[2], p23 = p[3], p14 = p[4];
	double pi[5] = {0, 1, 0, 0, 0};
	for (int it = 0; it < 200000; it++) {
		double nx[5] = {0};
		nx[1] += pi[1] * (1 - p13 - p14) + pi[3] * p31 + pi[4];
		nx[4] += pi[1] * p14;
		nx[3] += pi[1] * p13 + pi[2] * p23 + pi[3] * (1 - p31 - p32);
		nx[2] += pi[2] * (1 - p23) + pi[3] * p32;
		memcpy(pi, nx, sizeof pi);
	}
	return pi[3] + pi[4];
}

static void test_four_state(void)
{
	struct loss_model m;
	const double p[] = {0.005, 0.3, 0.1, 0.4, 0.002};
	loss_model(&m, LOSS_4STATE, p, 5);
	double loss, burst;
	simulate(&m, 4000000, &loss, &burst);
	const double want = four_state_loss(p);
	check(fabs(loss - want) / want < 0.05, "4-state loss = pi3 + pi4", "got %g, want %g", loss, want);
}

static void test_hist(void)
{
	static struct hist h;
	for (uint64_t v = 1; v <= 1000000; v++)
		hist_add(&h, v * 1000);
	const double p50 = (double)hist_quantile(&h, 0.5), p99 = (double)hist_quantile(&h, 0.99);
	check(fabs(p50 - 5e8) / 5e8 < 0.04, "hist p50 within 4%", "got %g, want %g", p50, 5e8);
	check(fabs(p99 - 9.9e8) / 9.9e8 < 0.04, "hist p99 within 4%", "got %g, want %g", p99, 9.9e8);
	check(h.max == 1000000000ull, "hist max exact", "got %g, want %g", (double)h.max, 1e9);
	static struct hist small;
	hist_add(&small, 7);
	check(hist_quantile(&small, 0.5) == 7, "hist small values exact", "got %g, want %g",
	      (double)hist_quantile(&small, 0.5), 7);
}

static void udp_packet(uint8_t *pkt, size_t len, const uint8_t src[4], const uint8_t dst[4], uint16_t sport,
		       uint16_t dport)
{
	memset(pkt, 0, len);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	pkt[9] = 17;
	memcpy(pkt + 12, src, 4);
	memcpy(pkt + 16, dst, 4);
	pkt[20] = (uint8_t)(sport >> 8);
	pkt[21] = (uint8_t)sport;
	pkt[22] = (uint8_t)(dport >> 8);
	pkt[23] = (uint8_t)dport;
}

static void test_flow(void)
{
	const uint8_t a[4] = {198, 18, 0, 1}, b[4] = {198, 18, 0, 2};
	uint8_t pkt[64];
	struct pkt_info x, y;
	udp_packet(pkt, sizeof pkt, a, b, 40000, 443);
	pkt_parse(pkt, sizeof pkt, &x);
	udp_packet(pkt, sizeof pkt, b, a, 443, 40000);
	pkt_parse(pkt, sizeof pkt, &y);
	check(x.flow == y.flow && x.proto == 17 && x.ip_len == 64, "flow hash is symmetric", "got %g vs %g",
	      (double)x.flow, (double)y.flow);
	printf("FLOW %u\n", x.flow);
}

static struct pool pool;

static void make_link(struct link *l, uint64_t delay_us, uint64_t jitter_us, double rate_kbit, uint32_t limit_packets,
		      uint64_t limit_bytes)
{
	struct link_params p;
	memset(&p, 0, sizeof p);
	memset(l, 0, sizeof *l);
	p.delay_ns = delay_us * NS_PER_US;
	p.jitter_ns = jitter_us * NS_PER_US;
	p.rate_bps = rate_kbit * 1000;
	p.limit_packets = limit_packets;
	p.limit_bytes = limit_bytes;
	p.loss.kind = LOSS_NONE;
	link_init(l, 0, &p, 1, 1500, &pool, NULL, 0);
}

static void offer(struct link *l, uint32_t len, uint64_t t)
{
	const uint32_t slot = pool_get(&pool);
	uint8_t *d = pool_data(&pool, slot);
	const uint8_t a[4] = {198, 18, 0, 1}, b[4] = {198, 18, 0, 2};
	udp_packet(d, len, a, b, 1, 2);
	link_read_packet(l, slot, len, t);
}

static uint64_t release_at(const struct link *l, uint32_t i)
{
	return l->ring[(l->head + i) % l->cap].release_ns;
}

static void test_rate_serialization(void)
{
	struct link l;
	/* 8000 kbit/s = 1 byte per microsecond. */
	make_link(&l, 10000, 0, 8000, 100, 0);
	const uint64_t ms = 1000000;
	for (int i = 0; i < 5; i++)
		offer(&l, 1000, 0);
	int ok = 1;
	for (uint32_t i = 0; i < 5; i++)
		ok &= release_at(&l, i) == 10 * ms + (i + 1) * ms;
	offer(&l, 1000, 100 * ms);
	ok &= release_at(&l, 5) == 111 * ms;
	check(ok, "rate: release = max(now + delay, last) + len/rate", "first %g, sixth %g", (double)release_at(&l, 0),
	      (double)release_at(&l, 5));
	const int devnull = open("/dev/null", O_WRONLY);
	const uint32_t before = pool.nfree;
	const uint32_t written = link_write_packets(&l, devnull);
	close(devnull);
	check(written == 6 && l.st.delivered == 6 && pool.nfree == before + 6 && link_pending_output(&l) == 0,
	      "write_packets delivers due packets and frees their slots", "written %g, free %g", written,
	      (double)pool.nfree);
}

static void test_jitter_never_reorders(void)
{
	struct link l;
	make_link(&l, 10000, 5000, 0, 100000, 0);
	int monotonic = 1, bounded = 1;
	double sum = 0;
	const uint32_t n = 20000;
	for (uint32_t i = 0; i < n; i++) {
		const uint64_t t = (uint64_t)i * 100000;
		offer(&l, 100, t);
		const uint64_t r = release_at(&l, i);
		if (i > 0 && r < release_at(&l, i - 1))
			monotonic = 0;
		if (r < t + 5000000 || r > t + 15000000)
			bounded = 0;
		sum += (double)(r - t);
	}
	check(monotonic, "jitter never reorders", "%g %g", 0, 0);
	check(bounded, "jitter stays in [delay - jitter, delay + jitter]", "%g %g", 0, 0);
	(void)sum;
	/* Sparse arrivals (20 ms apart > 2 x jitter) are never held back: the delay is uniform. */
	struct link s;
	make_link(&s, 10000, 5000, 0, 100000, 0);
	double sparse = 0, lo = 1e18, hi = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint64_t t = (uint64_t)i * 20000000;
		offer(&s, 100, t);
		const double d = (double)(release_at(&s, i) - t);
		sparse += d;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	const double mean_ms = sparse / n / 1e6;
	check(fabs(mean_ms - 10) < 0.05 && lo < 5.05e6 && hi > 14.95e6, "jitter is uniform in [5, 15] ms",
	      "mean %g ms, min-max span %g ns", mean_ms, hi - lo);
	const int fd = open("/dev/null", O_WRONLY);
	link_write_packets(&s, fd);
	close(fd);
	const int devnull = open("/dev/null", O_WRONLY);
	link_write_packets(&l, devnull);
	close(devnull);
}

static void test_limits(void)
{
	struct link l;
	make_link(&l, 10000, 0, 0, 3, 0);
	for (int i = 0; i < 5; i++)
		offer(&l, 1000, 0);
	check(link_pending_output(&l) == 3 && l.st.drop_queue_packets == 2, "packet limit counts the delay line",
	      "held %g, dropped %g", link_pending_output(&l), (double)l.st.drop_queue_packets);
	struct link m;
	make_link(&m, 10000, 0, 0, 100, 2500);
	for (int i = 0; i < 3; i++)
		offer(&m, 1000, 0);
	offer(&m, 400, 0);
	check(link_pending_output(&m) == 3 && m.st.drop_queue_bytes == 1 && m.bytes == 2400,
	      "byte limit is drop-tail on IP bytes", "held %g, dropped %g", link_pending_output(&m),
	      (double)m.st.drop_queue_bytes);
	const int devnull = open("/dev/null", O_WRONLY);
	link_write_packets(&l, devnull);
	link_write_packets(&m, devnull);
	close(devnull);
}

int main(void)
{
	pool_init(&pool, 200000, 1600);
	test_bernoulli();
	test_simple_gilbert();
	test_gilbert_elliott();
	test_gilbert_order();
	test_four_state();
	test_hist();
	test_flow();
	test_rate_serialization();
	test_jitter_never_reorders();
	test_limits();
	printf("%s\n", failures ? "FAILED" : "PASSED");
	return failures ? 1 : 0;
}
