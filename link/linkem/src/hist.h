/*
 * Log-linear histogram of nanosecond values (release lateness): exact below 2*HIST_SUB, then
 * HIST_SUB buckets per power of two (about 3% relative resolution), up to 2^HIST_MAX_BITS ns.
 */
#ifndef LINKEM_HIST_H
#define LINKEM_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 5
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_BITS 40
#define HIST_BUCKETS (HIST_SUB * (HIST_MAX_BITS - HIST_SUB_BITS + 2))

struct hist {
	uint64_t count;
	uint64_t max;
	uint64_t sum;
	uint64_t buckets[HIST_BUCKETS];
};

void hist_add(struct hist *h, uint64_t value);
/* Value at quantile q in [0, 1]: the upper edge of the bucket holding it, capped at max. */
uint64_t hist_quantile(const struct hist *h, double q);

#endif
