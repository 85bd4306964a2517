/*
 * Preallocated packet buffers: one mmap'd arena of fixed-size slots and a LIFO free list, so the
 * slots reused are the ones recently touched and resident memory follows the peak occupancy, not
 * the configured limits. No allocation per packet.
 */
#ifndef LINKEM_POOL_H
#define LINKEM_POOL_H

#include <stddef.h>
#include <stdint.h>

#define POOL_NONE UINT32_MAX

struct pool {
	uint8_t *mem;
	size_t slot_size;
	uint32_t count;
	uint32_t nfree;
	uint32_t *free;
};

/* Reserve `count` slots of at least `slot_bytes` each. Exits on failure. */
void pool_init(struct pool *p, uint32_t count, size_t slot_bytes);

static inline uint32_t pool_get(struct pool *p)
{
	return p->nfree == 0 ? POOL_NONE : p->free[--p->nfree];
}

static inline void pool_put(struct pool *p, uint32_t slot)
{
	p->free[p->nfree++] = slot;
}

static inline uint8_t *pool_data(const struct pool *p, uint32_t slot)
{
	return p->mem + (size_t)slot * p->slot_size;
}

#endif
