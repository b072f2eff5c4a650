/*
 * uri.c — the raw request target. libmicrohttpd percent-decodes the path and
 * the query before a handler sees them and ends a value at a decoded NUL:
 * "/api/v1/specimens/QJ3FJKHF%00zz" was read as QJ3FJKHF, and "?study=%00"
 * as no study filter at all. So the target as sent is checked first, and
 * its size and number of parameters before libmicrohttpd stores them.
 */
#include "http/uri.h"

#include <string.h>

/*
 * Decode n bytes of s (with '+' as a space in a query) into out, which has
 * room for n + 1 bytes; NULL when sound, else what is wrong.
 */
static const char *
decode(const char *s, size_t n, bool query, char *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi = i + 1 < n ? bb_hex_value(s[i + 1]) : -1;
			int lo = i + 2 < n ? bb_hex_value(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return "holds a % that is not followed by two hexadecimal digits";
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && query) {
			c = ' ';
		}
		if (c < 0x20 || c == 0x7F)
			return c == 0 ? "holds a NUL character (%00)" : "holds a control character";
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return bb_utf8_valid(out, k) ? NULL : "is not valid UTF-8 once decoded";
}

bool
uri_check(const char *raw, struct bb_arena *a, struct bb_js_errors *errs)
{
	size_t plen = strcspn(raw, "?#");
	char *buf = bb_arena_alloc(a, strlen(raw) + 1);
	const char *why = decode(raw, plen, false, buf);
	size_t before = errs->n;

	if (why != NULL)
		bb_js_error_add(errs, a, "path", "the path %s", why);
	if (raw[plen] != '?')
		return errs->n == before;
	for (const char *p = raw + plen + 1; *p != '\0' && *p != '#';) {
		size_t len = strcspn(p, "&#"), nlen = strcspn(p, "=&#");
		const char *field = "query";

		if (nlen > len)
			nlen = len;
		if ((why = decode(p, nlen, true, buf)) != NULL) {
			bb_js_error_add(errs, a, field, "a parameter name %s", why);
		} else {
			field = bb_arena_strdup(a, buf);
			if (nlen < len &&
			    (why = decode(p + nlen + 1, len - nlen - 1, true, buf)) != NULL)
				bb_js_error_add(errs, a, field, "the value %s", why);
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return errs->n == before;
}

unsigned
uri_over_limits(const char *raw, size_t *len, size_t *params)
{
	const char *q = strchr(raw, '?');

	*len = strlen(raw);
	*params = 0;
	/* As libmicrohttpd splits them: at every '&' after the first '?'. */
	if (q != NULL && q[1] != '\0') {
		*params = 1;
		for (const char *p = q + 1; (p = strchr(p, '&')) != NULL; p++)
			(*params)++;
	}
	if (*len > BB_URL_LIMIT)
		return 414;
	return *params > URI_PARAMS_MAX ? 400 : 0;
}
