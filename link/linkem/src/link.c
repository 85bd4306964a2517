#include "link.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "flow.h"

void link_init(struct link *l, uint8_t dir, const struct link_params *prm, uint64_t seed, uint32_t mtu,
	       struct pool *pool, struct pktlog *log, uint64_t log_base)
{
	l->dir = dir;
	l->prm = *prm;
	loss_init(&l->prm.loss, seed, (uint64_t)dir * RNG_STREAMS_PER_DIR + RNG_LOSS);
	rng_seed(&l->jitter_rng, seed, (uint64_t)dir * RNG_STREAMS_PER_DIR + RNG_JITTER);
	l->cap = prm->limit_packets;
	l->ring = calloc(l->cap, sizeof *l->ring);
	if (l->ring == NULL)
		die_sys("calloc", "link ring");
	l->mtu = mtu;
	l->pool = pool;
	l->log = log;
	l->log_base = log_base;
}

static void log_event(struct link *l, uint64_t t, uint64_t release, uint32_t seq, const struct pkt_info *pi,
		      enum pkt_event ev)
{
	if (l->log == NULL)
		return;
	const struct pkt_record r = {
		.t_ns = t - l->log_base,
		.aux_ns = release == 0 ? 0 : release - l->log_base,
		.seq = seq,
		.flow = pi->flow,
		.ip_len = (uint16_t)pi->ip_len,
		.dir = l->dir,
		.event = (uint8_t)ev,
		.proto = pi->proto,
	};
	pktlog_add(l->log, &r);
}

/* Delay of this packet: uniform in [delay - jitter, delay + jitter], never below 0. */
static uint64_t sample_delay(struct link *l)
{
	if (l->prm.jitter_ns == 0)
		return l->prm.delay_ns;
	const double u = rng_uniform(&l->jitter_rng) * 2.0 - 1.0;
	const double d = (double)l->prm.delay_ns + u * (double)l->prm.jitter_ns;
	return d <= 0 ? 0 : (uint64_t)llround(d);
}

/* Serialization time of `len` IP bytes at the link rate. */
static uint64_t serialization_ns(const struct link *l, uint32_t len)
{
	if (l->prm.rate_bps <= 0)
		return 0;
	const int64_t bytes = (int64_t)len + l->prm.overhead;
	if (bytes <= 0)
		return 0;
	return (uint64_t)llround((double)bytes * 8e9 / l->prm.rate_bps);
}

/* netem: time_to_send = max(now + delay, last time_to_send) + packet time. */
static uint64_t schedule_release(struct link *l, uint32_t len, uint64_t now)
{
	uint64_t t = now + sample_delay(l);
	if (t < l->last_release)
		t = l->last_release;
	t += serialization_ns(l, len);
	l->last_release = t;
	return t;
}

/* The drop-tail decision, or EV_ENQUEUE when the packet fits. */
static enum pkt_event admit(struct link *l, uint32_t len)
{
	if (len > l->mtu)
		return EV_DROP_OVERSIZE;
	if (loss_drop(&l->prm.loss))
		return EV_DROP_LOSS;
	if (l->count + 1 > l->prm.limit_packets)
		return EV_DROP_QUEUE_PACKETS;
	if (l->prm.limit_bytes != 0 && l->bytes + len > l->prm.limit_bytes)
		return EV_DROP_QUEUE_BYTES;
	return EV_ENQUEUE;
}

static void count_drop(struct link_stats *st, enum pkt_event ev)
{
	switch (ev) {
	case EV_DROP_LOSS:
		st->drop_loss++;
		break;
	case EV_DROP_QUEUE_PACKETS:
		st->drop_queue_packets++;
		break;
	case EV_DROP_QUEUE_BYTES:
		st->drop_queue_bytes++;
		break;
	case EV_DROP_OVERSIZE:
		st->drop_oversize++;
		break;
	default:
		st->drop_write_error++;
		break;
	}
}

void link_read_packet(struct link *l, uint32_t slot, uint32_t len, uint64_t now)
{
	struct pkt_info pi;
	pkt_parse(pool_data(l->pool, slot), len, &pi);
	const uint32_t seq = l->next_seq++;
	l->st.packets_in++;
	l->st.bytes_in += len;
	const enum pkt_event ev = admit(l, len);
	if (ev != EV_ENQUEUE) {
		count_drop(&l->st, ev);
		log_event(l, now, 0, seq, &pi, ev);
		pool_put(l->pool, slot);
		return;
	}
	const uint64_t release = schedule_release(l, len, now);
	struct link_entry *e = &l->ring[(l->head + l->count) % l->cap];
	*e = (struct link_entry){release, slot, seq, pi.flow, (uint16_t)len, pi.proto};
	l->count++;
	l->bytes += len;
	if (l->count > l->st.max_queue_packets)
		l->st.max_queue_packets = l->count;
	if (l->bytes > l->st.max_queue_bytes)
		l->st.max_queue_bytes = l->bytes;
	log_event(l, now, release, seq, &pi, EV_ENQUEUE);
}

/* Remove the head entry and give its slot back. */
static void pop_head(struct link *l)
{
	const struct link_entry *e = &l->ring[l->head];
	l->bytes -= e->len;
	pool_put(l->pool, e->slot);
	l->head = (l->head + 1) % l->cap;
	l->count--;
}

uint32_t link_write_packets(struct link *l, int fd)
{
	uint32_t written = 0;
	for (;;) {
		if (l->count == 0)
			return written;
		const struct link_entry *e = &l->ring[l->head];
		const uint64_t t = now_ns();
		if (e->release_ns > t)
			return written;
		const struct pkt_info pi = {e->len, e->flow, e->proto};
		ssize_t w;
		do
			w = write(fd, pool_data(l->pool, e->slot), e->len);
		while (w < 0 && errno == EINTR);
		if (w == (ssize_t)e->len) {
			hist_add(&l->st.lateness, t - e->release_ns);
			l->st.delivered++;
			l->st.bytes_delivered += e->len;
			log_event(l, t, e->release_ns, e->seq, &pi, EV_DELIVER);
			written++;
		} else {
			l->st.drop_write_error++;
			log_event(l, t, 0, e->seq, &pi, EV_DROP_WRITE_ERROR);
		}
		pop_head(l);
	}
}
