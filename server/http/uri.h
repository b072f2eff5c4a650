/*
 * uri.h — the request target as the client sent it, checked before
 * libmicrohttpd's decoding can hide what it held.
 */
#ifndef SRV_URI_H
#define SRV_URI_H

#include "biobank.h"
#include "json_spec.h"

/*
 * Check a raw request target ("/path?name=value&..."): every percent-escape
 * well formed, and once decoded no control character (a NUL would cut the
 * value short) and only UTF-8, in the path and in each query name and
 * value. Returns true when it is sound; otherwise adds one error per bad
 * part to errs (field "path", the parameter's name, or "query" when the
 * name itself is unreadable), with messages allocated from a.
 */
bool uri_check(const char *raw, struct bb_arena *a, struct bb_js_errors *errs);

/* Query parameters a request may carry: the widest route reads eight. */
enum { URI_PARAMS_MAX = 64 };

/*
 * The first look at a raw target, as soon as its request line is in and
 * before libmicrohttpd stores its query: 0 when it is within our limits,
 * 414 when longer than BB_URL_LIMIT, 400 with more than URI_PARAMS_MAX
 * query parameters. Its length and parameter count go to *len and *params.
 */
unsigned uri_over_limits(const char *raw, size_t *len, size_t *params);

#endif
