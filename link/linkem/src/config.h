/* Command-line configuration of linkem. Every flag is documented in ../README.md and by --help. */
#ifndef LINKEM_CONFIG_H
#define LINKEM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "loss.h"

#define LINKEM_VERSION "1.0.0"
#define EXIT_USAGE 2

struct dir_config {
	uint64_t delay_us;
	uint64_t jitter_us;
	double rate_kbit; /* 0 = unlimited; 1 kbit = 1000 bit */
	int64_t overhead; /* bytes per packet added for the rate */
	uint64_t queue_packets;
	uint64_t queue_bytes; /* 0 = no byte limit */
	enum loss_kind loss_kind;
	double loss_pct[5]; /* percent, meaning as struct loss_model p[] */
	char loss_spec[128];
};

struct config {
	const char *a_netns, *a_dev, *b_netns, *b_dev;
	uint64_t mtu;
	uint64_t seed;
	struct dir_config up, down;
	const char *log_path; /* NULL = no log */
	uint64_t busy_poll_us;
	uint64_t rx_poll_us; /* keep polling input this long after the last packet */
	uint64_t busy_poll_max_pct; /* share of each 10 ms window spent spinning at most */
	bool fifo;
	uint64_t fifo_priority;
	bool mlock;
	int argc;
	char **argv;
};

/* Parse argv; on a bad or missing flag print "linkem: --flag: reason" and exit 2. */
void config_parse(struct config *c, int argc, char **argv);

/* The configuration as one JSON object (no trailing newline). */
void config_write_json(FILE *f, const struct config *c);

/* A JSON string literal of s. */
void json_string(FILE *f, const char *s);

#endif
