/*
 * biobank.h — the vocabulary every part of the project shares: error codes,
 * limits, the out-of-memory policy and a per-request arena.
 */
#ifndef BIOBANK_H
#define BIOBANK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BB_VERSION "0.1.0"

/* Limits that clients can rely on (documented in docs/api.md). */
enum {
	BB_BODY_LIMIT_DEFAULT = 1024 * 1024, /* bytes of request body */
	BB_URL_LIMIT = 16384,                /* bytes of path plus query */
	BB_IDEMPOTENCY_KEY_MAX = 200,
	BB_LIST_LIMIT_DEFAULT = 50,
	BB_LIST_LIMIT_MAX = 1000,
};

/* What went wrong, for every function that can fail. */
enum bb_err {
	BB_OK = 0,
	BB_EINVAL,    /* the caller's input is wrong */
	BB_ENOTFOUND, /* no such object */
	BB_ECONFLICT, /* the object's state forbids it */
	BB_EDBDOWN,   /* the database cannot be reached */
	BB_ERETRY,    /* serialization failure or deadlock: run it again */
	BB_EIO,       /* a file, socket or peer failed */
	BB_EINTERNAL, /* a bug or an unexpected answer */
	BB_ERR__MAX
};

const char *bb_strerror(enum bb_err err);

/*
 * Out of memory is not recoverable for a daemon that must not half-apply a
 * request: these abort with the size instead of returning NULL, so callers
 * never check.
 */
void *bb_malloc(size_t size);
void *bb_calloc(size_t n, size_t size);
void *bb_realloc(void *p, size_t size);
char *bb_strdup(const char *s);
char *bb_strndup(const char *s, size_t n);
char *bb_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2), nonnull(1)));

/*
 * A growable byte buffer, always NUL-terminated. The owner frees it with
 * bb_buf_free(); bb_buf_steal() hands the bytes over and resets the buffer.
 */
struct bb_buf {
	char *data;
	size_t len;
	size_t cap;
};

void bb_buf_append(struct bb_buf *b, const void *p, size_t n);
void bb_buf_puts(struct bb_buf *b, const char *s);
void bb_buf_printf(struct bb_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), nonnull(2)));
void bb_buf_vprintf(struct bb_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0), nonnull(2)));
char *bb_buf_steal(struct bb_buf *b);
void bb_buf_free(struct bb_buf *b);

/*
 * The whole file at path, NUL-terminated, in *out (the caller frees it) and
 * its length in *len (may be NULL). BB_ENOTFOUND when it cannot be opened,
 * BB_EINTERNAL when a read fails; *out is NULL then.
 */
enum bb_err bb_read_file(const char *path, char **out, size_t *len);

/*
 * An arena: many small allocations with one owner and one free. Each request
 * owns one, so handlers never free what they allocate from it.
 */
struct bb_arena_chunk;
struct bb_arena {
	struct bb_arena_chunk *head;
};

void *bb_arena_alloc(struct bb_arena *a, size_t size);
char *bb_arena_strdup(struct bb_arena *a, const char *s);
char *bb_arena_strndup(struct bb_arena *a, const char *s, size_t n);
char *bb_arena_printf(struct bb_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), nonnull(2)));
void bb_arena_free(struct bb_arena *a);

/* Text helpers. */
bool bb_utf8_valid(const char *s, size_t len);

/* Milliseconds of CLOCK_MONOTONIC: durations and deadlines that a clock change cannot move. */
long long bb_monotonic_ms(void);
/* The CLOCK_REALTIME instant ms milliseconds from now, as pthread_cond_timedwait wants it. */
struct timespec bb_deadline_after_ms(long long ms);
void bb_hex_encode(char *out, const unsigned char *in, size_t n); /* out: 2n+1 bytes */
/* The value of one hexadecimal digit (either case), or -1. */
int bb_hex_value(char c);
int bb_hex_decode(unsigned char *out, size_t outlen, const char *hex);
/*
 * The one reader of whole numbers from outside (paths, queries, headers,
 * configuration, files): s must be decimal digits and nothing else — no
 * sign, no blanks, no "0x" — and lie within min..max; overflow is refused.
 * Writes *out only on success.
 */
bool bb_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
