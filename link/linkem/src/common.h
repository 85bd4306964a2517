/* Shared helpers of linkem: the monotonic clock and fatal-error reporting. */
#ifndef LINKEM_COMMON_H
#define LINKEM_COMMON_H

#include <stdint.h>
#include <time.h>

#define NS_PER_US 1000ull
#define NS_PER_SEC 1000000000ull

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Print "linkem: WHAT(ARG): strerror(errno)" to stderr and exit 1 (a failed system call). */
_Noreturn void die_sys(const char *what, const char *arg);

/* Print "linkem: MESSAGE" to stderr and exit with CODE. */
_Noreturn void die_msg(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
