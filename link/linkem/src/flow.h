/*
 * What linkem reads from a packet's IP header: its length, protocol and a flow hash of the
 * 5-tuple. The hash is symmetric (both directions of a connection hash alike): FNV-1a 32 over
 * [lower endpoint][higher endpoint][protocol], an endpoint being address bytes then port
 * (big-endian), "lower" comparing address bytes then port. Ports are 0 for protocols other than
 * TCP, UDP, UDP-Lite, SCTP and DCCP, and for non-first fragments.
 */
#ifndef LINKEM_FLOW_H
#define LINKEM_FLOW_H

#include <stddef.h>
#include <stdint.h>

struct pkt_info {
	uint32_t ip_len; /* bytes read from the TUN: the whole IP packet (no PI header) */
	uint32_t flow;   /* symmetric 5-tuple hash */
	uint8_t proto;   /* IP protocol / IPv6 next header, 0 if not IP */
};

void pkt_parse(const uint8_t *pkt, size_t len, struct pkt_info *out);

#endif
