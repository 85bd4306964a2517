#include "flow.h"

#include <string.h>

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static uint32_t fnv1a(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

static int has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 136 || proto == 132 || proto == 33;
}

/* Hash addresses (alen bytes each, at a and b) with ports pa and pb, lower endpoint first. */
static uint32_t hash_tuple(const uint8_t *a, const uint8_t *b, size_t alen, const uint8_t pa[2],
			   const uint8_t pb[2], uint8_t proto)
{
	int cmp = memcmp(a, b, alen);
	if (cmp == 0)
		cmp = memcmp(pa, pb, 2);
	if (cmp > 0) {
		const uint8_t *t = a;
		a = b;
		b = t;
		const uint8_t *tp = pa;
		pa = pb;
		pb = tp;
	}
	uint32_t h = FNV_OFFSET;
	h = fnv1a(h, a, alen);
	h = fnv1a(h, pa, 2);
	h = fnv1a(h, b, alen);
	h = fnv1a(h, pb, 2);
	return fnv1a(h, &proto, 1);
}

static void parse_v4(const uint8_t *pkt, size_t len, struct pkt_info *out)
{
	static const uint8_t zero[2] = {0, 0};
	const size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
	out->proto = pkt[9];
	const int first_fragment = ((pkt[6] & 0x1f) | pkt[7]) == 0;
	const uint8_t *pa = zero, *pb = zero;
	if (has_ports(out->proto) && first_fragment && ihl >= 20 && len >= ihl + 4) {
		pa = pkt + ihl;
		pb = pkt + ihl + 2;
	}
	out->flow = hash_tuple(pkt + 12, pkt + 16, 4, pa, pb, out->proto);
}

static void parse_v6(const uint8_t *pkt, size_t len, struct pkt_info *out)
{
	static const uint8_t zero[2] = {0, 0};
	out->proto = pkt[6];
	const uint8_t *pa = zero, *pb = zero;
	if (has_ports(out->proto) && len >= 44) {
		pa = pkt + 40;
		pb = pkt + 42;
	}
	out->flow = hash_tuple(pkt + 8, pkt + 24, 16, pa, pb, out->proto);
}

void pkt_parse(const uint8_t *pkt, size_t len, struct pkt_info *out)
{
	out->ip_len = (uint32_t)len;
	out->proto = 0;
	out->flow = 0;
	if (len >= 20 && (pkt[0] >> 4) == 4)
		parse_v4(pkt, len, out);
	else if (len >= 40 && (pkt[0] >> 4) == 6)
		parse_v6(pkt, len, out);
}
