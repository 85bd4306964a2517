#include "pool.h"

#include <stdlib.h>
#include <sys/mman.h>

#include "common.h"

void pool_init(struct pool *p, uint32_t count, size_t slot_bytes)
{
	p->slot_size = (slot_bytes + 63) & ~(size_t)63;
	p->count = count;
	p->mem = mmap(NULL, p->slot_size * count, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->mem == MAP_FAILED)
		die_sys("mmap", "packet pool");
	p->free = calloc(count, sizeof *p->free);
	if (p->free == NULL)
		die_sys("calloc", "packet pool free list");
	/* Lowest slot on top: the first packets use the first pages. */
	for (uint32_t i = 0; i < count; i++)
		p->free[i] = count - 1 - i;
	p->nfree = count;
}
