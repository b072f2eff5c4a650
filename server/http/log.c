/* log.c — one line per message on stderr: time, level, [request id,] text. */
#include "http/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Written once by log_init() before threads start, read-only afterwards. */
static enum log_level verbosity = LOG_LEVEL_INFO;

/* The request this thread serves (log.h says why per thread): "" when none.
 * 16 hex digits today; the rest of the buffer is room to change that. */
static _Thread_local char current_req[40];

static const char *const level_names[LOG_LEVEL__MAX] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void
log_init(enum log_level level)
{
	verbosity = level;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	for (int i = 0; i < LOG_LEVEL__MAX; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_request_begin(const char *id)
{
	if (id == NULL) {
		current_req[0] = '\0';
		return;
	}
	snprintf(current_req, sizeof(current_req), "%s", id);
}

void
log_request_end(void)
{
	current_req[0] = '\0';
}

static void vlog(enum log_level level, const char *errstr, const char *fmt, va_list ap)
    LOG_PRINTF(3, 0);

static void
vlog(enum log_level level, const char *errstr, const char *fmt, va_list ap)
{
	char msg[2048], stamp[32], req[sizeof(current_req) + 5] = "";
	struct timespec ts;
	struct tm tm;

	if (level > verbosity)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (current_req[0] != '\0')
		snprintf(req, sizeof(req), "req=%s ", current_req);
	/* One fprintf per line keeps lines from different threads whole. */
	if (errstr != NULL)
		fprintf(stderr, "%s.%03ldZ %s %s%s: %s\n", stamp, ts.tv_nsec / 1000000,
		        level_names[level], req, msg, errstr);
	else
		fprintf(stderr, "%s.%03ldZ %s %s%s\n", stamp, ts.tv_nsec / 1000000,
		        level_names[level], req, msg);
}

void
log_warn(const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int saved = errno;

	strerror_r(saved, buf, sizeof(buf));
	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARN, buf, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARN, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	char buf[128];
	va_list ap;

	strerror_r(errno, buf, sizeof(buf));
	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, buf, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
