#include "pktlog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define BUF_BYTES (1u << 20)
#define NBUFS 8
#define HEADER_FIXED 40u

struct pktlog {
	int fd;
	uint64_t base;
	uint8_t *bufs[NBUFS];
	size_t used[NBUFS];
	int cur; /* buffer being filled by the loop */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	int full[NBUFS]; /* FIFO of buffers waiting for the writer */
	int full_head, full_count;
	int free_list[NBUFS];
	int free_count;
	bool closing;
	pthread_t thread;

	uint64_t records, stalls, write_errors;
};

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void write_all(struct pktlog *log, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(log->fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			log->write_errors++;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void *writer_main(void *arg)
{
	struct pktlog *log = arg;
	pthread_mutex_lock(&log->mu);
	for (;;) {
		while (log->full_count == 0 && !log->closing)
			pthread_cond_wait(&log->cv, &log->mu);
		if (log->full_count == 0)
			break;
		const int b = log->full[log->full_head];
		log->full_head = (log->full_head + 1) % NBUFS;
		log->full_count--;
		pthread_mutex_unlock(&log->mu);
		write_all(log, log->bufs[b], log->used[b]);
		log->used[b] = 0;
		pthread_mutex_lock(&log->mu);
		log->free_list[log->free_count++] = b;
		pthread_cond_broadcast(&log->cv);
	}
	pthread_mutex_unlock(&log->mu);
	return NULL;
}

static void write_header(struct pktlog *log, const char *json)
{
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	const uint64_t real_ns = (uint64_t)rt.tv_sec * NS_PER_SEC + (uint64_t)rt.tv_nsec;
	const size_t json_len = strlen(json);
	/* Header padded with NULs to a multiple of the record length. */
	const size_t len = (HEADER_FIXED + json_len + 1 + PKTLOG_RECORD_BYTES - 1) / PKTLOG_RECORD_BYTES *
			   PKTLOG_RECORD_BYTES;
	uint8_t *h = calloc(1, len);
	if (h == NULL)
		die_sys("calloc", "log header");
	memcpy(h, PKTLOG_MAGIC, 8);
	put_le(h + 8, PKTLOG_VERSION, 4);
	put_le(h + 12, len, 4);
	put_le(h + 16, PKTLOG_RECORD_BYTES, 4);
	put_le(h + 20, json_len, 4);
	put_le(h + 24, log->base, 8);
	put_le(h + 32, real_ns - (now_ns() - log->base), 8);
	memcpy(h + HEADER_FIXED, json, json_len);
	write_all(log, h, len);
	free(h);
	if (log->write_errors != 0)
		die_sys("write", "log header");
}

struct pktlog *pktlog_open(const char *path, uint64_t base_mono_ns, const char *json)
{
	struct pktlog *log = calloc(1, sizeof *log);
	if (log == NULL)
		die_sys("calloc", "log");
	log->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log->fd < 0)
		die_sys("open", path);
	log->base = base_mono_ns;
	write_header(log, json);
	for (int i = 0; i < NBUFS; i++) {
		log->bufs[i] = malloc(BUF_BYTES);
		if (log->bufs[i] == NULL)
			die_sys("malloc", "log buffer");
		if (i > 0)
			log->free_list[log->free_count++] = i;
	}
	log->cur = 0;
	pthread_mutex_init(&log->mu, NULL);
	pthread_cond_init(&log->cv, NULL);
	int err = pthread_create(&log->thread, NULL, writer_main, log);
	if (err != 0) {
		errno = err;
		die_sys("pthread_create", "log writer");
	}
	return log;
}

/* Queue the current buffer for the writer and take a free one, waiting if there is none. */
static void rotate(struct pktlog *log)
{
	pthread_mutex_lock(&log->mu);
	log->full[(log->full_head + log->full_count) % NBUFS] = log->cur;
	log->full_count++;
	pthread_cond_broadcast(&log->cv);
	if (log->free_count == 0) {
		log->stalls++;
		while (log->free_count == 0)
			pthread_cond_wait(&log->cv, &log->mu);
	}
	log->cur = log->free_list[--log->free_count];
	pthread_mutex_unlock(&log->mu);
}

void pktlog_add(struct pktlog *log, const struct pkt_record *r)
{
	if (log == NULL)
		return;
	uint8_t *p = log->bufs[log->cur] + log->used[log->cur];
	put_le(p, r->t_ns, 8);
	put_le(p + 8, r->aux_ns, 8);
	put_le(p + 16, r->seq, 4);
	put_le(p + 20, r->flow, 4);
	put_le(p + 24, r->ip_len, 2);
	p[26] = r->dir;
	p[27] = r->event;
	p[28] = r->proto;
	p[29] = p[30] = p[31] = 0;
	log->records++;
	log->used[log->cur] += PKTLOG_RECORD_BYTES;
	if (log->used[log->cur] + PKTLOG_RECORD_BYTES > BUF_BYTES)
		rotate(log);
}

void pktlog_close(struct pktlog *log)
{
	if (log == NULL)
		return;
	pthread_mutex_lock(&log->mu);
	if (log->used[log->cur] > 0) {
		log->full[(log->full_head + log->full_count) % NBUFS] = log->cur;
		log->full_count++;
	}
	log->closing = true;
	pthread_cond_broadcast(&log->cv);
	pthread_mutex_unlock(&log->mu);
	pthread_join(log->thread, NULL);
	if (close(log->fd) != 0)
		log->write_errors++;
	log->fd = -1;
}

void pktlog_stats(struct pktlog *log, struct pktlog_stats *out)
{
	memset(out, 0, sizeof *out);
	if (log == NULL)
		return;
	out->records = log->records;
	out->stalls = log->stalls;
	out->write_errors = log->write_errors;
}
