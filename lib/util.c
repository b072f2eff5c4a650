/* util.c — allocation policy, buffers and small text helpers. */
#include "biobank.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const err_names[BB_ERR__MAX] = {
	[BB_OK] = "success",
	[BB_EINVAL] = "invalid input",
	[BB_ENOTFOUND] = "not found",
	[BB_ECONFLICT] = "state conflict",
	[BB_EDBDOWN] = "database unavailable",
	[BB_ERETRY] = "transaction must be retried",
	[BB_EIO] = "input/output error",
	[BB_EINTERNAL] = "internal error",
};

const char *
bb_strerror(enum bb_err err)
{
	if ((unsigned)err >= BB_ERR__MAX)
		return "unknown error";
	return err_names[err];
}

static void
oom(size_t size)
{
	fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", size);
	abort();
}

void *
bb_malloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		oom(size);
	return p;
}

void *
bb_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom(n * size);
	return p;
}

void *
bb_realloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (q == NULL)
		oom(size);
	return q;
}

char *
bb_strdup(const char *s)
{
	return bb_strndup(s, strlen(s));
}

char *
bb_strndup(const char *s, size_t n)
{
	char *p = bb_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
bb_asprintf(const char *fmt, ...)
{
	struct bb_buf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	bb_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return bb_buf_steal(&b);
}

static void
buf_reserve(struct bb_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = bb_realloc(b->data, cap);
	b->cap = cap;
}

void
bb_buf_append(struct bb_buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
bb_buf_puts(struct bb_buf *b, const char *s)
{
	bb_buf_append(b, s, strlen(s));
}

void
bb_buf_vprintf(struct bb_buf *b, const char *fmt, va_list ap)
{
	va_list copy;

	va_copy(copy, ap);
	char probe[1];
	int n = vsnprintf(probe, sizeof(probe), fmt, copy);
	va_end(copy);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
bb_buf_printf(struct bb_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bb_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *
bb_buf_steal(struct bb_buf *b)
{
	char *p = b->data ? b->data : bb_strdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
bb_buf_free(struct bb_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

enum bb_err
bb_read_file(const char *path, char **out, size_t *len)
{
	struct bb_buf b = { 0 };
	char chunk[8192];
	FILE *f = fopen(path, "rb");
	size_t n;

	*out = NULL;
	if (f == NULL)
		return BB_ENOTFOUND;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		bb_buf_append(&b, chunk, n);
	bool failed = ferror(f) != 0;
	fclose(f);
	if (failed) {
		bb_buf_free(&b);
		return BB_EINTERNAL;
	}
	bb_buf_puts(&b, ""); /* an empty file is "" too */
	if (len != NULL)
		*len = b.len;
	*out = bb_buf_steal(&b);
	return BB_OK;
}

long long
bb_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec
bb_deadline_after_ms(long long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += (time_t)(ms / 1000);
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing past U+10FFFF. */
bool
bb_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned long cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

void
bb_hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xF];
	}
	out[2 * n] = '\0';
}

int
bb_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Each byte's value as a hex digit, 16 where it is none: the verifier decodes three hashes
 * for each of 10^7 events. */
static const unsigned char hex_digit[256] = {
	['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
	['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12,
	['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
}; /* stored plus one, so that the zero of every other entry means "not a digit" */

int
bb_hex_decode(unsigned char *out, size_t outlen, const char *hex)
{
	for (size_t i = 0; i < outlen; i++) {
		unsigned hi = hex_digit[(unsigned char)hex[2 * i]];
		if (hi == 0)
			return -1; /* not a digit, or the end of a string too short */
		unsigned lo = hex_digit[(unsigned char)hex[2 * i + 1]];
		if (lo == 0)
			return -1;
		out[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
	}
	return hex[2 * outlen] == '\0' ? 0 : -1;
}

bool
bb_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	int64_t v = 0;

	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		int d = *s - '0';
		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}
