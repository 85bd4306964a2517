/*
 * Per-packet log: a header then fixed 32-byte little-endian records, filled in large buffers that a
 * writer thread hands to write(2), so the forwarding loop never does one write per packet. Format in
 * ../README.md ("Packet log").
 */
#ifndef LINKEM_PKTLOG_H
#define LINKEM_PKTLOG_H

#include <stdint.h>

#define PKTLOG_MAGIC "LINKEMLG"
#define PKTLOG_VERSION 1u
#define PKTLOG_RECORD_BYTES 32u

enum pkt_event {
	EV_ENQUEUE = 0,
	EV_DELIVER = 1,
	EV_DROP_LOSS = 2,
	EV_DROP_QUEUE_PACKETS = 3,
	EV_DROP_QUEUE_BYTES = 4,
	EV_DROP_OVERSIZE = 5,
	EV_DROP_WRITE_ERROR = 6,
};

struct pkt_record {
	uint64_t t_ns;   /* event time, ns since the header's base_mono_ns */
	uint64_t aux_ns; /* ENQUEUE and DELIVER: scheduled release, ns since base; drops: 0 */
	uint32_t seq;    /* arrival index within the direction, from 0, drops included */
	uint32_t flow;   /* symmetric 5-tuple hash (flow.h) */
	uint16_t ip_len;
	uint8_t dir; /* 0 = up (a -> b), 1 = down (b -> a) */
	uint8_t event;
	uint8_t proto;
};

struct pktlog;

/*
 * Create FILE and write the header: magic, version, header length, record length, base times,
 * then `json` (the configuration and command line). Starts the writer thread. Exits on failure.
 */
struct pktlog *pktlog_open(const char *path, uint64_t base_mono_ns, const char *json);
void pktlog_add(struct pktlog *log, const struct pkt_record *rec);
/* Flush everything, stop the thread, close the file. */
void pktlog_close(struct pktlog *log);

struct pktlog_stats {
	uint64_t records;
	uint64_t stalls;       /* times the loop waited for a free buffer */
	uint64_t write_errors; /* failed write(2) calls (records lost) */
};
void pktlog_stats(struct pktlog *log, struct pktlog_stats *out);

#endif
