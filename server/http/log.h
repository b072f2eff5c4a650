/*
 * log.h — leveled logging to standard error, after OpenBSD's log.c.
 * Client mistakes are info, our bugs warn (with the function name), fatal
 * only at start-up or on a broken invariant.
 */
#ifndef SRV_LOG_H
#define SRV_LOG_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG, LOG_LEVEL__MAX };

/* Set once at start-up, before any thread starts. */
void log_init(enum log_level level);
int log_level_parse(const char *name, enum log_level *out);

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

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2); /* appends strerror(errno) */
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
__attribute__((noreturn)) void fatal(const char *fmt, ...) LOG_PRINTF(1, 2);
__attribute__((noreturn)) void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2);

#endif
