#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void die_sys(const char *what, const char *arg)
{
	fprintf(stderr, "linkem: %s(%s): %s\n", what, arg, strerror(errno));
	exit(1);
}

_Noreturn void die_msg(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("linkem: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(code);
}
