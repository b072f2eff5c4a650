/*
 * test_limits.c — a request head too big in any shape is refused at once,
 * never left hanging. A 4 KB query of 600 parameters once used up
 * libmicrohttpd's memory for the connection ("Not enough memory in pool")
 * and the connection hung for the 30 s connection timeout. Each shape
 * below is sent on a fresh connection and must be answered within a few
 * seconds: refused (a 4xx; problem+json where the daemon answers itself)
 * or, within the limits, served.
 */
#include "rawhttp.h"

#include "biobank.h"

#include <signal.h>

enum {
	ANSWER_WITHIN_MS = 3000, /* the connection timeout is 30 s: a hang cannot pass */
	PARAMS_MAX = 64,         /* URI_PARAMS_MAX */
	URL_LIMIT = 16384,       /* BB_URL_LIMIT */
};

static char token[128];
static int port;

struct shape {
	const char *what;
	char *req;
	size_t len;
};

static void
shape_free(struct shape *s)
{
	free(s->req);
}

/* "GET target HTTP/1.1" with Host, the admin's token, Connection: close and extra header lines. */
static struct shape
request(const char *what, const char *target, const char *extra)
{
	struct bb_buf b = { 0 };
	struct shape s = { what, NULL, 0 };

	bb_buf_printf(&b, "GET %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n",
	              target, token);
	if (extra != NULL)
		bb_buf_append(&b, extra, strlen(extra));
	bb_buf_printf(&b, "Connection: close\r\n\r\n");
	s.len = b.len;
	s.req = bb_buf_steal(&b);
	return s;
}

/* path followed by n parameters "p0=1&p1=1...", each value padded to vlen bytes. */
static char *
with_params(const char *path, int n, size_t vlen)
{
	struct bb_buf b = { 0 };

	bb_buf_printf(&b, "%s?", path);
	for (int i = 0; i < n; i++) {
		bb_buf_printf(&b, "%sp%d=", i ? "&" : "", i);
		for (size_t k = 0; k < vlen; k++)
			bb_buf_append(&b, "v", 1);
	}
	return bb_buf_steal(&b);
}

/* n header lines "X-Hi: v" */
static char *
many_headers(int n)
{
	struct bb_buf b = { 0 };

	for (int i = 0; i < n; i++)
		bb_buf_printf(&b, "X-H%d: v\r\n", i);
	return bb_buf_steal(&b);
}

/* One header line name: value, the value len bytes long. */
static char *
long_header(const char *name, size_t len, const char *unit)
{
	struct bb_buf b = { 0 };

	bb_buf_printf(&b, "%s: ", name);
	for (size_t n = 0; n < len; n += strlen(unit))
		bb_buf_append(&b, unit, strlen(unit));
	bb_buf_printf(&b, "\r\n");
	return bb_buf_steal(&b);
}

/* Send s; its status (0: none within the time), answer into out. */
static int
send_shape(struct shape *s, char *out, size_t outsz, double *secs)
{
	double t0 = now_s();
	int status = raw_request(port, "127.0.0.1", s->req, s->len, ANSWER_WITHIN_MS, out, outsz);

	*secs = now_s() - t0;
	return status;
}

/* The shape must be refused with want (0: any 4xx), answered in time; problem: as problem+json. */
static void
refused(struct shape s, int want, bool problem, const char *says)
{
	char out[8192];
	double secs;
	int status = send_shape(&s, out, sizeof(out), &secs);

	if (want != 0)
		ok(status == want, "%s (%zu bytes): %d in %.2f s", s.what, s.len, status, secs);
	else
		ok(status >= 400 && status < 500, "%s (%zu bytes): refused, %d in %.2f s", s.what,
		   s.len, status, secs);
	if (problem)
		ok(strstr(out, "application/problem+json") != NULL &&
		       (says == NULL || strstr(out, says) != NULL),
		   "  a problem document saying \"%s\"", says ? says : "");
	if (status == 0 || (problem && strstr(out, "problem+json") == NULL))
		tap_diag("  answer: %.300s", out);
	shape_free(&s);
}

/* The shape is within the limits: served with want. */
static void
served(struct shape s, int want)
{
	char out[8192];
	double secs;
	int status = send_shape(&s, out, sizeof(out), &secs);

	if (!ok(status == want, "%s (%zu bytes): %d in %.2f s", s.what, s.len, status, secs))
		tap_diag("  answer: %.300s", out);
	shape_free(&s);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	char *target, *extra;

	signal(SIGPIPE, SIG_IGN);
	tenv_setup(&t, "limits", argc, argv);
	snprintf(token, sizeof(token), "%s", t.admin_token);
	port = t.d.port;

	/* Many parameters: the daemon answers itself, whatever the route. */
	target = with_params("/api/v1/specimens", 600, 1);
	refused(request("600 parameters in a 4 KB query", target, NULL), 400, true,
	        "600 parameters");
	free(target);
	target = with_params("/", 2000, 0);
	refused(request("2,000 empty parameters on a public page", target, NULL), 400, true,
	        "the limit is 64");
	free(target);
	target = with_params("/", PARAMS_MAX + 1, 1);
	refused(request("65 parameters", target, NULL), 400, true, "65 parameters");
	free(target);
	target = with_params("/", PARAMS_MAX, 1);
	served(request("64 parameters on a page that takes any", target, NULL), 200);
	free(target);
	target = with_params("/api/v1/specimens", 2, 1);
	refused(request("2 parameters a route does not read", target, NULL), 400, true,
	        "is not a parameter");
	free(target);

	/* Long values. */
	target = with_params("/", 1, URL_LIMIT - 200);
	served(request("a 16 KB target with one long value", target, NULL), 200);
	free(target);
	target = with_params("/", 1, URL_LIMIT + 100);
	refused(request("a target over 16 KiB", target, NULL), 414, true, "the limit is 16384");
	free(target);
	target = with_params("/", 4 * URL_LIMIT, 0);
	refused(request("65,536 empty parameters, a 500 KB target", target, NULL), 0, false, NULL);
	free(target);
	target = with_params("/", 1, 20 * URL_LIMIT);
	refused(request("a target of 320 KB", target, NULL), 0, false, NULL);
	free(target);

	/* Long header lines, many headers, many cookies. */
	extra = long_header("X-Long", 20000, "a");
	served(request("a 20 KB header line", "/healthz", extra), 200);
	free(extra);
	extra = long_header("X-Long", 200000, "a");
	refused(request("a 200 KB header line", "/healthz", extra), 0, false, NULL);
	free(extra);
	extra = many_headers(100);
	served(request("100 headers", "/healthz", extra), 200);
	free(extra);
	extra = many_headers(5000);
	refused(request("5,000 headers", "/healthz", extra), 0, false, NULL);
	free(extra);
	extra = long_header("Cookie", 30000, "c=1; ");
	refused(request("a 30 KB Cookie header of 6,000 cookies", "/healthz", extra), 0, false,
	        NULL);
	free(extra);

	/* And the daemon is none the worse. */
	struct resp r;
	api(&t, "GET", "/readyz", NULL, NULL, &r);
	is_int(r.status, 200, "the daemon is ready afterwards");
	resp_free(&r);
	tenv_teardown(&t);
	return tap_done();
}
