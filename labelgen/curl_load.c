/*
 * curl_load.c — libcurl loaded on first use (curl_load.h says why). The
 * library is the one the build linked against, by its soname (meson.build
 * reads it from the library): a process that links libcurl itself, as
 * biobankd does, gets that very copy back from dlopen.
 */
#include "curl_load.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

/* Written once, under loaded_once, then only read. */
static struct lbl_curl loaded;
static const struct lbl_curl *table;
static char load_error[LBL_WHY_MAX];
static pthread_once_t loaded_once = PTHREAD_ONCE_INIT;

#define RESOLVE(field, name)                                                                       \
	do {                                                                                       \
		if ((*(void **)&loaded.field = dlsym(h, name)) == NULL) {                          \
			snprintf(load_error, sizeof(load_error), "%s has no %s", LBL_CURL_SONAME,  \
			         name);                                                            \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static void
load(void)
{
	void *h = dlopen(LBL_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		snprintf(load_error, sizeof(load_error), "cannot load libcurl: %s", dlerror());
		return;
	}
	RESOLVE(global_init, "curl_global_init");
	RESOLVE(easy_init, "curl_easy_init");
	RESOLVE(easy_setopt, "curl_easy_setopt");
	RESOLVE(easy_perform, "curl_easy_perform");
	RESOLVE(easy_getinfo, "curl_easy_getinfo");
	RESOLVE(easy_cleanup, "curl_easy_cleanup");
	RESOLVE(easy_strerror, "curl_easy_strerror");
	RESOLVE(slist_append, "curl_slist_append");
	RESOLVE(slist_free_all, "curl_slist_free_all");
	RESOLVE(url, "curl_url");
	RESOLVE(url_set, "curl_url_set");
	RESOLVE(url_get, "curl_url_get");
	RESOLVE(url_cleanup, "curl_url_cleanup");
	RESOLVE(free, "curl_free");
	/* Counted by libcurl: a process that called it itself is not disturbed. */
	if (loaded.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(load_error, sizeof(load_error), "libcurl failed to start");
		return;
	}
	table = &loaded;
}

const struct lbl_curl *
lbl_curl(char why[LBL_WHY_MAX])
{
	pthread_once(&loaded_once, load);
	if (table == NULL)
		snprintf(why, LBL_WHY_MAX, "%s", load_error);
	return table;
}
