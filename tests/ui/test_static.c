/*
 * test_static.c — how biobankd serves the bench page: the compiled-in
 * files at / and /ui/<path> without a token, their types, ETags and 304s,
 * the security headers, no way out of the folder, and static_dir read
 * from disk at each request.
 *
 * usage: test_static BIOBANKD STATIC_SOURCE_DIR
 */
#include "biobank.h"
#include "../api/testlib.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct got {
	long status;
	char *body;
	size_t len;
	char type[128], etag[100], csp[512], nosniff[32], cache[128];
};

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
	struct got *g = ud;

	g->body = realloc(g->body, g->len + size * n + 1);
	memcpy(g->body + g->len, p, size * n);
	g->len += size * n;
	g->body[g->len] = '\0';
	return size * n;
}

static void
header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);

	if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return;
	const char *v = line + n + 1;
	size_t vlen = len - n - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
		vlen--;
	size_t used = strlen(out);
	/* Repeated headers are joined as a list, as a client reads them. */
	snprintf(out + used, outlen - used, "%s%.*s", used ? ", " : "", (int)vlen, v);
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
	struct got *g = ud;

	header_value(p, size * n, "Content-Type", g->type, sizeof(g->type));
	header_value(p, size * n, "ETag", g->etag, sizeof(g->etag));
	header_value(p, size * n, "Content-Security-Policy", g->csp, sizeof(g->csp));
	header_value(p, size * n, "X-Content-Type-Options", g->nosniff, sizeof(g->nosniff));
	header_value(p, size * n, "Cache-Control", g->cache, sizeof(g->cache));
	return size * n;
}

/* One request, the path sent exactly as written (no ".." folding by curl). */
static void
fetch(const char *base, const char *method, const char *path, const char *if_none_match,
      struct got *g)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[1024], inm[200];

	memset(g, 0, sizeof(*g));
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (if_none_match != NULL) {
		snprintf(inm, sizeof(inm), "If-None-Match: %s", if_none_match);
		h = curl_slist_append(h, inm);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, g);
	/* No budget for the answer (speed is scripts/bench's): only a stalled one fails. */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void
embedded(struct tenv *t, const char *srcdir)
{
	const char *base = t->d.url;
	struct got g;

	fetch(base, "GET", "/", NULL, &g);
	is_int(g.status, 200, "GET / without a token serves the bench page");
	ok(strncmp(g.type, "text/html", 9) == 0, "  as text/html (%s)", g.type);
	ok(g.body != NULL && strstr(g.body, "src=\"/ui/js/app.js\"") != NULL,
	   "  loading /ui/js/app.js");
	ok(g.body != NULL && strstr(g.body, "<script>") == NULL, "  with no inline script");
	ok(strstr(g.csp, "default-src 'self'") != NULL &&
	       strstr(g.csp, "script-src 'self'") != NULL &&
	       strstr(g.csp, "unsafe-inline") == NULL && strstr(g.csp, "unsafe-eval") == NULL,
	   "  under a strict Content-Security-Policy (%s)", g.csp);
	ok(strstr(g.csp, "frame-ancestors 'none'") != NULL, "  that may not be framed");
	is_str(g.nosniff, "nosniff", "  X-Content-Type-Options: nosniff");
	ok(strstr(g.cache, "no-cache") != NULL, "  revalidated before reuse (Cache-Control: %s)",
	   g.cache);
	ok(strlen(g.etag) == 66 && g.etag[0] == '"' && g.etag[65] == '"',
	   "  with a strong ETag of the SHA-256 (%s)", g.etag);
	char etag[100];
	snprintf(etag, sizeof(etag), "%s", g.etag);
	free(g.body);

	fetch(base, "GET", "/", etag, &g);
	is_int(g.status, 304, "If-None-Match with that ETag: 304");
	is_int(g.len, 0, "  with no body");
	is_str(g.etag, etag, "  and the same ETag");
	free(g.body);
	char weak[120];
	snprintf(weak, sizeof(weak), "\"other\", W/%s", etag);
	fetch(base, "GET", "/", weak, &g);
	is_int(g.status, 304, "  also when listed among others, weak");
	free(g.body);
	fetch(base, "GET", "/", "*", &g);
	is_int(g.status, 304, "  and for *");
	free(g.body);
	fetch(base, "GET", "/", "\"0000\"", &g);
	is_int(g.status, 200, "another ETag: the file again");
	free(g.body);

	fetch(base, "HEAD", "/", NULL, &g);
	is_int(g.status, 200, "HEAD / answers");
	is_int(g.len, 0, "  without a body");
	free(g.body);

	/* Every file of the page, byte for byte, with its type. */
	static const struct {
		const char *path, *type;
	} files[] = {
		{ "index.html", "text/html; charset=utf-8" },
		{ "style.css", "text/css; charset=utf-8" },
		{ "js/app.js", "text/javascript; charset=utf-8" },
		{ "js/api.js", "text/javascript; charset=utf-8" },
		{ "js/audit.js", "text/javascript; charset=utf-8" },
		{ "js/box.js", "text/javascript; charset=utf-8" },
		{ "js/dom.js", "text/javascript; charset=utf-8" },
		{ "js/feedback.js", "text/javascript; charset=utf-8" },
		{ "js/freezer.js", "text/javascript; charset=utf-8" },
		{ "js/ids.js", "text/javascript; charset=utf-8" },
		{ "js/login.js", "text/javascript; charset=utf-8" },
		{ "js/pick.js", "text/javascript; charset=utf-8" },
		{ "js/register.js", "text/javascript; charset=utf-8" },
		{ "js/specimen.js", "text/javascript; charset=utf-8" },
	};
	int same = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[256], src[1024];
		size_t len;

		snprintf(path, sizeof(path), "/ui/%s", files[i].path);
		snprintf(src, sizeof(src), "%s/%s", srcdir, files[i].path);
		char *want;
		len = 0;
		bb_read_file(src, &want, &len);
		fetch(base, "GET", path, NULL, &g);
		if (g.status == 200 && strcmp(g.type, files[i].type) == 0 && want != NULL &&
		    g.len == len && memcmp(g.body, want, len) == 0)
			same++;
		else
			tap_diag("%s: %ld %s (%zu bytes, want %zu)", path, g.status, g.type, g.len,
			         len);
		free(want);
		free(g.body);
	}
	is_int(same, (int)(sizeof(files) / sizeof(files[0])),
	       "every file under /ui/ is the compiled-in copy of server/static, with its type");

	/* No way out of the folder, nor to hidden files. */
	static const char *const bad[] = {
		"/ui/../server/api/static.c",
		"/ui/js/../../../../../etc/passwd",
		"/ui/%2e%2e/%2e%2e/etc/passwd",
		"/ui/%2E%2E%2Fmigrations%2F0012_baseline.sql",
		"/ui/..%2f..%2fetc%2fpasswd",
		"/ui/.hidden",
		"/ui/js/.app.js",
		"/ui//etc/passwd",
		"/ui/js/",
		"/ui/js",
		"/ui/..\\..\\etc\\passwd",
		"/ui/nothing.js",
		"/ui/index.html/x",
	};
	int refused = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fetch(base, "GET", bad[i], NULL, &g);
		if ((g.status == 404 || g.status == 400) &&
		    strstr(g.type, "problem+json") != NULL &&
		    (g.body == NULL || strstr(g.body, "root:") == NULL))
			refused++;
		else
			tap_diag("%s: %ld %s", bad[i], g.status, g.type);
		free(g.body);
	}
	is_int(refused, (int)(sizeof(bad) / sizeof(bad[0])),
	       "paths out of the folder, hidden files and folders: 404 problems, nothing read");

	/* A NUL would end the decoded path early: it is refused before any file is looked up. */
	fetch(base, "GET", "/ui/js/app.js%00.png", NULL, &g);
	ok(g.status == 400 && strncmp(g.type, "application/problem+json", 24) == 0,
	   "a NUL in the path: 400, no file served (%ld %s)", g.status, g.type);
	free(g.body);

	fetch(base, "POST", "/ui/js/app.js", NULL, &g);
	is_int(g.status, 405, "POST on a page file: 405");
	free(g.body);
	fetch(base, "GET", "/api/v1/studies", NULL, &g);
	is_int(g.status, 401, "the API beside it still wants a token");
	free(g.body);
}

static void
from_disk(struct tenv *t)
{
	char dir[] = "/tmp/biobank-static-XXXXXX", path[256], opt[300];
	struct daemon d = { 0 };
	struct got g;

	if (mkdtemp(dir) == NULL) {
		ok(false, "a temporary folder for static_dir");
		return;
	}
	snprintf(path, sizeof(path), "%s/index.html", dir);
	write_file(path, "<!doctype html><title>dev copy</title>");
	snprintf(path, sizeof(path), "%s/js", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/js/app.js", dir);
	write_file(path, "export const v = 1;\n");
	snprintf(path, sizeof(path), "%s/js/secret.js", dir);
	if (symlink("/etc/passwd", path) != 0)
		tap_diag("symlink failed");
	snprintf(opt, sizeof(opt), "--static-dir=%s", dir);
	const char *extra[] = { opt, NULL };
	if (daemon_start(t, &d, extra) != 0) {
		ok(false, "a daemon with static_dir starts");
		return;
	}
	fetch(d.url, "GET", "/", NULL, &g);
	ok(g.status == 200 && g.body != NULL && strstr(g.body, "dev copy") != NULL,
	   "static_dir: GET / reads index.html from the folder");
	char etag1[100];
	snprintf(etag1, sizeof(etag1), "%s", g.etag);
	ok(strlen(etag1) == 66, "  with an ETag (%s)", etag1);
	free(g.body);
	fetch(d.url, "GET", "/", etag1, &g);
	is_int(g.status, 304, "  and 304 for it");
	free(g.body);

	snprintf(path, sizeof(path), "%s/index.html", dir);
	write_file(path, "<!doctype html><title>edited</title>");
	fetch(d.url, "GET", "/", etag1, &g);
	ok(g.status == 200 && g.body != NULL && strstr(g.body, "edited") != NULL,
	   "  an edit shows at the next request, without a restart");
	ok(strcmp(g.etag, etag1) != 0, "  under a new ETag");
	free(g.body);

	fetch(d.url, "GET", "/ui/js/app.js", NULL, &g);
	ok(g.status == 200 && strncmp(g.type, "text/javascript", 15) == 0 && g.body != NULL &&
	       strcmp(g.body, "export const v = 1;\n") == 0,
	   "  /ui/js/app.js from the folder, as JavaScript");
	free(g.body);
	fetch(d.url, "GET", "/ui/js/secret.js", NULL, &g);
	ok(g.status == 404 && (g.body == NULL || strstr(g.body, "root:") == NULL),
	   "  a symbolic link out of the folder: 404 (%ld)", g.status);
	free(g.body);
	fetch(d.url, "GET", "/ui/../../etc/passwd", NULL, &g);
	is_int(g.status, 404, "  .. out of the folder: 404");
	free(g.body);
	fetch(d.url, "GET", "/ui/style.css", NULL, &g);
	is_int(g.status, 404,
	       "  a file the folder lacks: 404 (no fallback to the compiled-in copy)");
	free(g.body);
	daemon_stop(&d);

	snprintf(path, sizeof(path), "%s/js/secret.js", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/js/app.js", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/js", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/index.html", dir);
	unlink(path);
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	if (argc < 3) {
		fprintf(stderr, "usage: %s BIOBANKD STATIC_SOURCE_DIR\n", argv[0]);
		return 2;
	}
	static const char count_sql[] =
	    "SELECT (SELECT count(*) FROM audit_log) || ' ' || (SELECT count(*) FROM events)";
	bool ok_sql;

	tenv_setup(&t, "static", argc, argv);
	char *before = sql_value(&t, count_sql, &ok_sql);
	embedded(&t, argv[2]);
	from_disk(&t);
	/* Serving the page writes nothing in the database. */
	char *after = sql_value(&t, count_sql, &ok_sql);
	is_str(after, before, "the page's requests left nothing in the database (%s)",
	       before ? before : "?");
	free(before);
	free(after);
	tenv_teardown(&t);
	return tap_done();
}
