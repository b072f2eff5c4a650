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

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2); /* appends strerror(errno) */
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
__attribute__((noreturn)) void fatal(const char *fmt, ...) LOG_PRINTF(1, 2);
__attribute__((noreturn)) void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2);

#endif
