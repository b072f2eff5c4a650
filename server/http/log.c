/*
 * log.c — one line per message on stderr: time, level, [request id,] text;
 * or, with log_format json, one JSON object per line with the same members.
 *
 * Everything a line says passes through put_text(), the one place that
 * escapes: a log line holds text from clients (a path, a login name, a
 * header libmicrohttpd complains about), and a newline in it would start a
 * line of the client's making. Only the line's own structure is written
 * as is.
 */
#include "http/log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Written once by log_init() before threads start, read-only afterwards. */
static enum log_level verbosity = LOG_LEVEL_INFO;
static enum log_format format = LOG_FORMAT_TEXT;

/* The request this thread serves (log.h says why per thread): "" when none.
 * 16 hex digits today; the rest of the buffer is room to change that. */
static _Thread_local char current_req[40];

static const char *const level_names[LOG_LEVEL__MAX] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

static const char *const format_names[LOG_FORMAT__MAX] = {
	[LOG_FORMAT_TEXT] = "text",
	[LOG_FORMAT_JSON] = "json",
};

void
log_init(enum log_level level, enum log_format fmt)
{
	verbosity = level;
	format = fmt;
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

int
log_format_parse(const char *name, enum log_format *out)
{
	for (int i = 0; i < LOG_FORMAT__MAX; i++) {
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum log_format)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_format_name(enum log_format f)
{
	return f < LOG_FORMAT__MAX ? format_names[f] : "?";
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

/*
 * A line being made. Text goes in whole escape sequences or not at all, up
 * to LINE_CAP - LINE_RESERVE; past that it is dropped and the line says
 * "..." where it was cut. The reserve is for the line's own structure
 * (closing quotes, member names, the newline), so a cut line is still one
 * whole line, and in the JSON format still one valid object.
 */
enum { LINE_CAP = 8192, LINE_RESERVE = 256 };

struct line {
	char buf[LINE_CAP];
	size_t len;
	bool json, cut;
};

static void
put_raw(struct line *o, const char *s, size_t n)
{
	if (o->len + n >= LINE_CAP)
		return; /* the reserve is sized so that this does not happen */
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void
put_str(struct line *o, const char *s)
{
	put_raw(o, s, strlen(s));
}

/* One unit of text (a character or an escape), quoted for JSON in that format. */
static void
put_unit(struct line *o, const char *u, size_t n)
{
	char q[16];
	size_t k = 0;

	if (o->cut)
		return;
	for (size_t i = 0; i < n; i++) {
		if (o->json && (u[i] == '\\' || u[i] == '"'))
			q[k++] = '\\';
		q[k++] = u[i];
	}
	if (o->len + k > LINE_CAP - LINE_RESERVE) {
		o->cut = true;
		return;
	}
	memcpy(o->buf + o->len, q, k);
	o->len += k;
}

/* The length of the well-formed UTF-8 sequence at s and its code point; 0 if there is none. */
static size_t
utf8_seq(const unsigned char *s, uint32_t *cp)
{
	uint32_t v, min;
	size_t n;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2, v = s[0] & 0x1Fu, min = 0x80;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3, v = s[0] & 0x0Fu, min = 0x800;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4, v = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	/* The terminating NUL is no continuation byte: a cut sequence stops here. */
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3Fu);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

/*
 * Characters that end a line or make it read otherwise than it is: C0 and
 * C1 controls and DEL, the Unicode line and paragraph separators, and the
 * bidirectional controls (which can make a terminal show a line's parts in
 * another order).
 */
static bool
escaped_char(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C || cp == 0x200E ||
	       cp == 0x200F || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * s as text that holds no control character and only well-formed UTF-8:
 * \n \r \t, \\ for a backslash (so that every escape reads one way),
 * \xNN for another control byte or a byte that is not UTF-8, \uNNNN for the
 * other characters of escaped_char(). In the JSON format the result is then
 * quoted as a JSON string's content, so that a collector decoding it gets
 * the same escaped text, never a raw newline.
 */
static void
put_text(struct line *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char u[16];

	while (*p != '\0') {
		uint32_t cp;
		size_t n = utf8_seq(p, &cp);

		if (n == 0) {
			snprintf(u, sizeof(u), "\\x%02X", *p);
			put_unit(o, u, 4);
			p++;
			continue;
		}
		if (cp == '\\')
			put_unit(o, "\\\\", 2);
		else if (cp == '\n')
			put_unit(o, "\\n", 2);
		else if (cp == '\r')
			put_unit(o, "\\r", 2);
		else if (cp == '\t')
			put_unit(o, "\\t", 2);
		else if (cp < 0x20 || cp == 0x7F)
			put_unit(o, u, (size_t)snprintf(u, sizeof(u), "\\x%02X", (unsigned)cp));
		else if (escaped_char(cp))
			put_unit(o, u, (size_t)snprintf(u, sizeof(u), "\\u%04X", (unsigned)cp));
		else
			put_unit(o, (const char *)p, n);
		p += n;
	}
}

/* Text that may have been cut ends with "...", inside its quotes. */
static void
end_text(struct line *o)
{
	if (o->cut)
		put_str(o, "...");
	o->cut = false;
}

/* A JSON member with a string value: ,"name":"value" */
static void
put_member(struct line *o, const char *name, const char *value)
{
	put_str(o, ",\"");
	put_str(o, name);
	put_str(o, "\":\"");
	put_text(o, value);
	end_text(o);
	put_str(o, "\"");
}

static void
line_start(struct line *o, enum log_level level, const char *req)
{
	char stamp[48], frac[24];
	struct timespec ts;
	struct tm tm;

	o->len = 0;
	o->cut = false;
	o->json = format == LOG_FORMAT_JSON;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(frac, sizeof(frac), ".%03ldZ", ts.tv_nsec / 1000000);
	if (o->json) {
		put_str(o, "{\"time\":\"");
		put_str(o, stamp);
		put_str(o, frac);
		put_str(o, "\",\"level\":\"");
		put_str(o, level_names[level]);
		put_str(o, "\"");
		if (req != NULL && *req != '\0')
			put_member(o, "req", req);
	} else {
		put_str(o, stamp);
		put_str(o, frac);
		put_str(o, " ");
		put_str(o, level_names[level]);
		put_str(o, " ");
		if (req != NULL && *req != '\0') {
			put_str(o, "req=");
			put_text(o, req);
			end_text(o);
			put_str(o, " ");
		}
	}
}

/* The message, errstr after it: the last thing of a text line, the "msg" member in JSON. */
static void
line_message(struct line *o, const char *msg, const char *errstr)
{
	if (o->json)
		put_str(o, ",\"msg\":\"");
	put_text(o, msg);
	if (errstr != NULL) {
		put_unit(o, ": ", 2);
		put_text(o, errstr);
	}
	end_text(o);
	if (o->json)
		put_str(o, "\"");
}

/* One write per line keeps lines from different threads whole. */
static void
line_write(struct line *o)
{
	put_str(o, o->json ? "}\n" : "\n");
	/*
	 * A line of at most PIPE_BUF bytes is one write(2), which a pipe (the
	 * journal's, a collector's) and an O_APPEND file take whole: no other
	 * thread's line can come in between, so it needs no lock. fwrite on
	 * stderr held the stream's lock across that system call, and the other
	 * request threads waited on it: a futex wait and wake for most requests
	 * under load (docs/performance.md). A longer line (a cut path, a long
	 * message) still goes through the stream's lock, which keeps it whole.
	 * Nothing is buffered: a line is out before the request's memory is freed.
	 */
	if (o->len <= PIPE_BUF) {
		size_t done = 0;

		while (done < o->len) {
			ssize_t n = write(STDERR_FILENO, o->buf + done, o->len - done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return; /* nowhere to log to */
			done += (size_t)n;
		}
		return;
	}
	fwrite(o->buf, 1, o->len, stderr);
}

static void vlog(enum log_level level, const char *errstr, const char *fmt, va_list ap)
    LOG_PRINTF(3, 0);

static void
vlog(enum log_level level, const char *errstr, const char *fmt, va_list ap)
{
	char msg[2048];
	struct line o;

	if (level > verbosity)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	line_start(&o, level, current_req);
	line_message(&o, msg, errstr);
	line_write(&o);
}

/*
 * The first max bytes of s, ending on a whole UTF-8 character, with "..."
 * after them in buf when s is longer: a 16 KB path is not worth logging
 * whole, twice.
 */
static const char *
clip(const char *s, size_t max, char *buf)
{
	size_t n = strlen(s);

	if (n <= max)
		return s;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	memcpy(buf, s, n);
	memcpy(buf + n, "...", 4);
	return buf;
}

void
log_request_line(const struct log_request *q)
{
	enum { PATH_LOGGED = 1024 };
	char msg[2048], pathbuf[PATH_LOGGED + 4];
	const char *path = clip(q->path, PATH_LOGGED, pathbuf);
	struct line o;

	if (LOG_LEVEL_INFO > verbosity)
		return;
	snprintf(msg, sizeof(msg), "%s %s %u %.1fms user=%s addr=%s%s", q->method, path, q->status,
	         q->ms, q->user ? q->user : "-", q->addr,
	         q->closed_early ? " (connection closed early)" : "");
	line_start(&o, LOG_LEVEL_INFO, q->req);
	if (o.json) {
		char num[64];

		put_member(&o, "method", q->method);
		put_member(&o, "path", path);
		snprintf(num, sizeof(num), ",\"status\":%u,\"ms\":%.1f", q->status, q->ms);
		put_str(&o, num);
		if (q->user != NULL)
			put_member(&o, "user", q->user);
		put_member(&o, "addr", q->addr);
		if (q->closed_early)
			put_str(&o, ",\"closed_early\":true");
	}
	line_message(&o, msg, NULL);
	line_write(&o);
}

size_t
log_escape(const char *s, char *out, size_t outlen)
{
	struct line o = { .len = 0 };

	put_text(&o, s);
	end_text(&o);
	size_t n = o.len < outlen ? o.len : outlen - 1;
	memcpy(out, o.buf, n);
	out[n] = '\0';
	return n;
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
