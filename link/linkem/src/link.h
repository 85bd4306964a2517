/*
 * One direction of the emulated link, with sch_netem's per-packet pipeline:
 *
 *   read_packet:    loss (seeded, at enqueue) -> limit check counting every packet held, including
 *                   those still in the delay line (packets and bytes, drop-tail) -> release time
 *                   = max(now + delay +- jitter, last release) + (len + overhead) * 8 / rate
 *   write_packets:  write every packet whose release time has come, in release order
 *   wait_time:      release time of the next packet
 *   pending_output: packets held
 *
 * Release times never decrease, so jitter never reorders (netem with `rate` behaves the same).
 */
#ifndef LINKEM_LINK_H
#define LINKEM_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "hist.h"
#include "loss.h"
#include "pktlog.h"
#include "pool.h"
#include "rng.h"

struct link_params {
	uint64_t delay_ns;
	uint64_t jitter_ns;
	double rate_bps; /* 0 = unlimited */
	int32_t overhead; /* bytes added to each packet's IP length for the rate only */
	uint32_t limit_packets;
	uint64_t limit_bytes; /* 0 = none */
	struct loss_model loss; /* kind and p[] set; state and stream set by link_init */
};

struct link_stats {
	uint64_t packets_in, bytes_in;
	uint64_t delivered, bytes_delivered;
	uint64_t drop_loss, drop_queue_packets, drop_queue_bytes, drop_oversize, drop_write_error;
	uint64_t max_queue_packets, max_queue_bytes;
	struct hist lateness; /* write time - scheduled release, ns */
};

struct link_entry {
	uint64_t release_ns;
	uint32_t slot;
	uint32_t seq;
	uint32_t flow;
	uint16_t len;
	uint8_t proto;
};

struct link {
	uint8_t dir;
	struct link_params prm;
	struct rng jitter_rng;
	struct link_entry *ring;
	uint32_t cap, head, count;
	uint64_t bytes;
	uint64_t last_release;
	uint32_t next_seq;
	uint32_t mtu;
	struct pool *pool;
	struct pktlog *log;
	uint64_t log_base;
	struct link_stats st;
};

void link_init(struct link *l, uint8_t dir, const struct link_params *prm, uint64_t seed, uint32_t mtu,
	       struct pool *pool, struct pktlog *log, uint64_t log_base);

/* Offer a packet read at `now` into pool slot `slot`; the link keeps the slot or returns it. */
void link_read_packet(struct link *l, uint32_t slot, uint32_t len, uint64_t now);

/* Write every due packet to `fd`. Returns the number written. */
uint32_t link_write_packets(struct link *l, int fd);

/* Scheduled release of the next packet, UINT64_MAX when empty. */
static inline uint64_t link_wait_time(const struct link *l)
{
	return l->count == 0 ? UINT64_MAX : l->ring[l->head].release_ns;
}

static inline uint32_t link_pending_output(const struct link *l)
{
	return l->count;
}

#endif
