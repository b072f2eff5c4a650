/*
 * curl_load.h — libcurl, loaded the first time labelgen talks HTTP (to
 * biobankd or to an HTTP printer). Linked, libcurl and what it needs (TLS,
 * Kerberos, LDAP, SSH, IDN: 27 of labelgen's 67 libraries) were loaded,
 * relocated and initialised by every run, which cost more than drawing
 * the labels of a folder made from a file (docs/performance.md).
 */
#ifndef LBL_CURL_LOAD_H
#define LBL_CURL_LOAD_H

#include <curl/curl.h>

#include "label.h"

/* The libcurl functions labelgen and the printer code call. */
struct lbl_curl {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	__typeof__(curl_url) *url;
	__typeof__(curl_url_set) *url_set;
	__typeof__(curl_url_get) *url_get;
	__typeof__(curl_url_cleanup) *url_cleanup;
	__typeof__(curl_free) *free;
};

/*
 * libcurl's functions, the library loaded and curl_global_init called on
 * the first call (from any thread; once a process); NULL, why saying so,
 * when it cannot be loaded. The library stays loaded until exit.
 */
const struct lbl_curl *lbl_curl(char why[LBL_WHY_MAX]);

#endif
