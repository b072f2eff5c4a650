/*
 * log.h — leveled logging to standard error, after OpenBSD's log.c.
 * Client mistakes are info, our bugs warn (with the function name), fatal
 * only at start-up or on a broken invariant.
 */
#ifndef SRV_LOG_H
#define SRV_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG, LOG_LEVEL__MAX };

/*
 * text: "TIME LEVEL [req=ID ]MESSAGE" per line. json: one object per line,
 * {"time","level","req"?,"msg"} and, on a request's line, its fields as
 * members; for sites that ship logs to a collector.
 */
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON, LOG_FORMAT__MAX };

/* Set once at start-up, before any thread starts. */
void log_init(enum log_level level, enum log_format format);
int log_level_parse(const char *name, enum log_level *out);
int log_format_parse(const char *name, enum log_format *out);
const char *log_format_name(enum log_format format);

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/*
 * The request this thread is serving: while set, every line the thread logs
 * carries "req=ID" (the X-Request-Id of the answer), whichever layer logs it.
 *
 * Why a per-thread current request and not a request argument to every log
 * call: most warnings come from layers that never see the request and must
 * not (db.c sees a pooled connection, auth.c's token cache, the label
 * library), and threading a struct srv_req through them would couple the
 * database layer to HTTP for the sake of one log field. A request is served
 * start to finish on one libmicrohttpd thread per callback, so the server
 * marks the thread at the start of each callback that runs request code and
 * unmarks it before returning: the mark never outlives the callback, and no
 * other thread can see it. The id is copied, so a stale pointer cannot
 * creep in. log_request_begin(NULL) is the same as log_request_end().
 */
void log_request_begin(const char *id);
void log_request_end(void);

/*
 * Every value a line holds is escaped, whatever the format: control
 * characters (\n, \r, \t, \xNN), bytes that are not UTF-8 (\xNN), the
 * Unicode line separators and bidirectional controls (\uNNNN), and the
 * backslash itself (\\). A client's path or login name therefore cannot
 * end a line or start one of its own making. Lines longer than 8 KB are cut,
 * and say so with "...".
 */
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2); /* appends strerror(errno) */
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
__attribute__((noreturn)) void fatal(const char *fmt, ...) LOG_PRINTF(1, 2);
__attribute__((noreturn)) void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2);

/* The line of a finished request, at info: its fields are members in the JSON format. */
struct log_request {
	const char *req, *method, *path;
	unsigned status;
	double ms;
	const char *user; /* NULL: not authenticated */
	const char *addr;
	bool closed_early;
};
void log_request_line(const struct log_request *q);

/* s escaped as a line holds it, into out (outlen > 0 bytes, NUL-terminated); returns its length. */
size_t log_escape(const char *s, char *out, size_t outlen);

#endif
