#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MAX_DELAY_US 60000000ull
#define MAX_QUEUE_PACKETS 1000000ull

enum opt_kind { OPT_U64, OPT_RATE, OPT_I64, OPT_NETNS, OPT_DEV, OPT_PATH, OPT_FLAG, OPT_LOSS };

struct opt {
	const char *name;
	enum opt_kind kind;
	void *target;
	int64_t min, max; /* integer range */
	bool required;
	bool seen;
};

static const char *const USAGE =
	"usage: linkem --a-netns NS --a-dev DEV --b-netns NS --b-dev DEV [options]\n"
	"\n"
	"Userspace link emulator between two TUN devices, one in each network namespace.\n"
	"up = a -> b (client -> server), down = b -> a.\n"
	"\n"
	"  --a-netns NAME, --b-netns NAME  namespaces (/run/netns/NAME) of side a and side b\n"
	"  --a-dev NAME, --b-dev NAME      TUN device names to create (at most 15 characters)\n"
	"  --mtu BYTES                     largest IP packet (68..65535, default 1500)\n"
	"  --seed N                        seed of every random stream (default 1)\n"
	"  --{up,down}-delay-us N          one-way delay, microseconds (default 0)\n"
	"  --{up,down}-jitter-us N         delay uniform in [delay-jitter, delay+jitter] (default 0)\n"
	"  --{up,down}-rate-kbit X         bottleneck rate, 1 kbit = 1000 bit/s; 0 = unlimited\n"
	"  --{up,down}-overhead BYTES      bytes added to each IP length for the rate (default 0)\n"
	"  --{up,down}-loss SPEC           none | random:PCT | ge:P,R[,LOSSBAD[,LOSSGOOD]]\n"
	"                                  | 4state:P13[,P31[,P32[,P23[,P14]]]]   (percent)\n"
	"  --{up,down}-queue-packets N     packets held, delay line included (default 1000)\n"
	"  --{up,down}-queue-bytes N       IP bytes held, delay line included (default 0 = none)\n"
	"  --log FILE                      binary per-packet log (format in README.md)\n"
	"  --busy-poll-us N                spin the last N microseconds before a release\n"
	"  --rx-poll-us N                  poll input for N microseconds after each packet\n"
	"  --busy-poll-max-pct N           spin (both kinds) at most N% of each 10 ms window (default 50)\n"
	"  --fifo                          try SCHED_FIFO (falls back to SCHED_OTHER)\n"
	"  --fifo-priority N               SCHED_FIFO priority 1..99 (default 50)\n"
	"  --mlock                         mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)\n"
	"  --help, --version\n"
	"\n"
	"Prints READY {json} once both TUNs exist; on SIGTERM/SIGINT prints STATS {json}, exits 0.\n"
	"Exit codes: 0 ok, 1 system error, 2 bad flags.\n";

__attribute__((format(printf, 2, 3))) _Noreturn static void usage_error(const char *flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "linkem: %s: ", flag);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'linkem --help'.\n");
	va_end(ap);
	exit(EXIT_USAGE);
}

static bool parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	if (*s == '\0' || strlen(s) > 20)
		return false;
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	errno = 0;
	char *end;
	const long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_decimal(const char *s, double min, double max, double *out)
{
	if (*s == '\0' || strchr("0123456789.", *s) == NULL)
		return false;
	errno = 0;
	char *end;
	const double v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool valid_name(const char *s, size_t max_len)
{
	const size_t n = strlen(s);
	if (n == 0 || n > max_len || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		const char ch = s[i];
		const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
				ch == '-' || ch == '_' || ch == '.';
		if (!ok)
			return false;
	}
	return true;
}

/* Parse "a,b,c" percentages into pct[0..]; returns how many, or -1 on a bad value. */
static int parse_pcts(const char *s, double *pct, int max)
{
	char buf[128];
	if (strlen(s) >= sizeof buf)
		return -1;
	strcpy(buf, s);
	int n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (n == max || !parse_decimal(tok, 0, 100, &pct[n]))
			return -1;
		n++;
	}
	return n;
}

static void parse_loss(const char *flag, const char *v, struct dir_config *d)
{
	static const char *const forms = "expected none, random:PCT, ge:P,R[,LOSSBAD[,LOSSGOOD]] or "
					 "4state:P13[,P31[,P32[,P23[,P14]]]] with percentages in [0, 100]";
	double *p = d->loss_pct;
	memset(p, 0, sizeof d->loss_pct);
	if (strlen(v) >= sizeof d->loss_spec)
		usage_error(flag, "%s, got a %zu-character value", forms, strlen(v));
	snprintf(d->loss_spec, sizeof d->loss_spec, "%s", v);
	int n;
	if (strcmp(v, "none") == 0) {
		d->loss_kind = LOSS_NONE;
	} else if (strncmp(v, "random:", 7) == 0) {
		d->loss_kind = LOSS_RANDOM;
		if (parse_pcts(v + 7, p, 1) != 1)
			usage_error(flag, "%s, got \"%s\"", forms, v);
	} else if (strncmp(v, "ge:", 3) == 0) {
		d->loss_kind = LOSS_GE;
		n = parse_pcts(v + 3, p, 4);
		if (n < 2)
			usage_error(flag, "%s, got \"%s\"", forms, v);
		if (n < 3)
			p[2] = 100;
	} else if (strncmp(v, "4state:", 7) == 0) {
		d->loss_kind = LOSS_4STATE;
		n = parse_pcts(v + 7, p, 5);
		if (n < 1)
			usage_error(flag, "%s, got \"%s\"", forms, v);
		if (n < 2)
			p[1] = 100 - p[0];
		if (n < 4)
			p[3] = 100;
		if (p[0] + p[4] > 100 || p[1] + p[2] > 100)
			usage_error(flag, "4state needs P13+P14 <= 100 and P31+P32 <= 100, got \"%s\"", v);
	} else {
		usage_error(flag, "%s, got \"%s\"", forms, v);
	}
}

static void set_value(struct opt *o, const char *v)
{
	int64_t iv;
	switch (o->kind) {
	case OPT_U64:
	case OPT_I64:
		if (!parse_int(v, o->min, o->max, &iv))
			usage_error(o->name, "expected an integer in [%lld, %lld], got \"%s\"", (long long)o->min,
				    (long long)o->max, v);
		if (o->kind == OPT_U64)
			*(uint64_t *)o->target = (uint64_t)iv;
		else
			*(int64_t *)o->target = iv;
		break;
	case OPT_RATE:
		if (!parse_decimal(v, 0, 1e9, (double *)o->target))
			usage_error(o->name, "expected a rate in kbit/s in [0, 1e9] (0 = unlimited), got \"%s\"", v);
		break;
	case OPT_NETNS:
		if (!valid_name(v, 64))
			usage_error(o->name, "expected a namespace name of 1..64 characters [A-Za-z0-9._-], got \"%s\"", v);
		*(const char **)o->target = v;
		break;
	case OPT_DEV:
		if (!valid_name(v, 15))
			usage_error(o->name, "expected a device name of 1..15 characters [A-Za-z0-9._-], got \"%s\"", v);
		*(const char **)o->target = v;
		break;
	case OPT_PATH:
		if (*v == '\0')
			usage_error(o->name, "expected a file path, got an empty string");
		*(const char **)o->target = v;
		break;
	case OPT_LOSS:
		parse_loss(o->name, v, o->target);
		break;
	case OPT_FLAG:
		break;
	}
}

#define DIR_OPTS(prefix, d)                                                                                  \
	{"--" prefix "-delay-us", OPT_U64, &(d).delay_us, 0, (int64_t)MAX_DELAY_US, false, false},          \
	{"--" prefix "-jitter-us", OPT_U64, &(d).jitter_us, 0, (int64_t)MAX_DELAY_US, false, false},    \
	{"--" prefix "-rate-kbit", OPT_RATE, &(d).rate_kbit, 0, 0, false, false},                       \
	{"--" prefix "-overhead", OPT_I64, &(d).overhead, -1000, 1000, false, false},                  \
	{"--" prefix "-loss", OPT_LOSS, &(d), 0, 0, false, false},                                      \
	{"--" prefix "-queue-packets", OPT_U64, &(d).queue_packets, 1, (int64_t)MAX_QUEUE_PACKETS, false, \
	 false},                                                                                         \
	{"--" prefix "-queue-bytes", OPT_U64, &(d).queue_bytes, 0, INT64_C(1) << 40, false, false}

static void set_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	c->mtu = 1500;
	c->seed = 1;
	c->fifo_priority = 50;
	c->busy_poll_max_pct = 50;
	struct dir_config *dirs[2] = {&c->up, &c->down};
	for (int i = 0; i < 2; i++) {
		dirs[i]->queue_packets = 1000;
		dirs[i]->loss_kind = LOSS_NONE;
		snprintf(dirs[i]->loss_spec, sizeof dirs[i]->loss_spec, "none");
	}
}

static void check_consistency(const struct config *c)
{
	if (strcmp(c->a_netns, c->b_netns) == 0 && strcmp(c->a_dev, c->b_dev) == 0)
		usage_error("--b-dev", "must differ from --a-dev when both sides share namespace \"%s\"", c->a_netns);
	if (c->fifo_priority < 1 || c->fifo_priority > 99)
		usage_error("--fifo-priority", "expected an integer in [1, 99], got %llu",
			    (unsigned long long)c->fifo_priority);
}

void config_parse(struct config *c, int argc, char **argv)
{
	set_defaults(c);
	c->argc = argc;
	c->argv = argv;
	struct opt opts[] = {
		{"--a-netns", OPT_NETNS, &c->a_netns, 0, 0, true, false},
		{"--a-dev", OPT_DEV, &c->a_dev, 0, 0, true, false},
		{"--b-netns", OPT_NETNS, &c->b_netns, 0, 0, true, false},
		{"--b-dev", OPT_DEV, &c->b_dev, 0, 0, true, false},
		{"--mtu", OPT_U64, &c->mtu, 68, 65535, false, false},
		{"--seed", OPT_U64, &c->seed, 0, INT64_MAX, false, false},
		DIR_OPTS("up", c->up),
		DIR_OPTS("down", c->down),
		{"--log", OPT_PATH, &c->log_path, 0, 0, false, false},
		{"--busy-poll-us", OPT_U64, &c->busy_poll_us, 0, 100000, false, false},
		{"--rx-poll-us", OPT_U64, &c->rx_poll_us, 0, 100000, false, false},
		{"--busy-poll-max-pct", OPT_U64, &c->busy_poll_max_pct, 1, 100, false, false},
		{"--fifo", OPT_FLAG, &c->fifo, 0, 0, false, false},
		{"--fifo-priority", OPT_U64, &c->fifo_priority, 1, 99, false, false},
		{"--mlock", OPT_FLAG, &c->mlock, 0, 0, false, false},
	};
	const size_t nopts = sizeof opts / sizeof opts[0];
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			fputs(USAGE, stdout);
			exit(0);
		}
		if (strcmp(arg, "--version") == 0) {
			printf("linkem %s\n", LINKEM_VERSION);
			exit(0);
		}
		const char *eq = strchr(arg, '=');
		const size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
		struct opt *o = NULL;
		for (size_t k = 0; k < nopts; k++)
			if (strlen(opts[k].name) == name_len && strncmp(opts[k].name, arg, name_len) == 0)
				o = &opts[k];
		if (o == NULL)
			usage_error(arg, "unknown flag");
		if (o->seen)
			usage_error(o->name, "given twice");
		o->seen = true;
		if (o->kind == OPT_FLAG) {
			if (eq != NULL)
				usage_error(o->name, "takes no value");
			*(bool *)o->target = true;
			continue;
		}
		const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (v == NULL)
			usage_error(o->name, "missing value");
		set_value(o, v);
	}
	for (size_t k = 0; k < nopts; k++)
		if (opts[k].required && !opts[k].seen)
			usage_error(opts[k].name, "required");
	check_consistency(c);
}

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void dir_json(FILE *f, const struct dir_config *d)
{
	fprintf(f,
		"{\"delay_us\":%llu,\"jitter_us\":%llu,\"rate_kbit\":%.12g,\"overhead\":%lld,"
		"\"queue_packets\":%llu,\"queue_bytes\":%llu,\"loss\":",
		(unsigned long long)d->delay_us, (unsigned long long)d->jitter_us, d->rate_kbit,
		(long long)d->overhead, (unsigned long long)d->queue_packets, (unsigned long long)d->queue_bytes);
	json_string(f, d->loss_spec);
	fputc('}', f);
}

void config_write_json(FILE *f, const struct config *c)
{
	fprintf(f, "{\"version\":\"%s\",\"a\":{\"netns\":", LINKEM_VERSION);
	json_string(f, c->a_netns);
	fputs(",\"dev\":", f);
	json_string(f, c->a_dev);
	fputs("},\"b\":{\"netns\":", f);
	json_string(f, c->b_netns);
	fputs(",\"dev\":", f);
	json_string(f, c->b_dev);
	fprintf(f, "},\"mtu\":%llu,\"seed\":%llu,\"up\":", (unsigned long long)c->mtu, (unsigned long long)c->seed);
	dir_json(f, &c->up);
	fputs(",\"down\":", f);
	dir_json(f, &c->down);
	fputs(",\"log\":", f);
	if (c->log_path)
		json_string(f, c->log_path);
	else
		fputs("null", f);
	fprintf(f, ",\"busy_poll_us\":%llu,\"rx_poll_us\":%llu,\"busy_poll_max_pct\":%llu,\"fifo\":%s,\"fifo_priority\":%llu,"
		   "\"mlock\":%s,\"argv\":[",
		(unsigned long long)c->busy_poll_us, (unsigned long long)c->rx_poll_us,
		(unsigned long long)c->busy_poll_max_pct, c->fifo ? "true" : "false",
		(unsigned long long)c->fifo_priority, c->mlock ? "true" : "false");
	for (int i = 0; i < c->argc; i++) {
		if (i > 0)
			fputc(',', f);
		json_string(f, c->argv[i]);
	}
	fputs("]}", f);
}
