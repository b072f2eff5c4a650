/* testlib.c — databases, daemons and HTTP for the API tests. */
#include "testlib.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Error answers checked for PostgreSQL's wording, and those that had it (check_pg_text). */
static long pg_text_checked, pg_text_found;

extern char **environ;

int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

void
msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
line_has_all(const char *line, const char *const *needles)
{
	for (size_t i = 0; needles[i] != NULL; i++)
		if (strstr(line, needles[i]) == NULL)
			return false;
	return true;
}

char *
daemon_log_lines(const struct daemon *d, const char *const *needles, int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;

	for (;;) {
		char line[4096];
		char *found = NULL;
		size_t len = 0;
		FILE *f = fopen(d->log, "r");

		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			/* A line still being written has no newline yet: not whole. */
			if (strchr(line, '\n') == NULL || !line_has_all(line, needles))
				continue;
			size_t n = strlen(line);
			found = realloc(found, len + n + 1);
			memcpy(found + len, line, n + 1);
			len += n;
		}
		if (f != NULL)
			fclose(f);
		if (found != NULL) {
			found[len - 1] = '\0'; /* the last newline */
			return found;
		}
		if (mono_ms() >= deadline)
			return NULL;
		msleep(20);
	}
}

static char **
make_env(const char *const *extra)
{
	size_t n = 0, k = 0;

	while (environ[n] != NULL)
		n++;
	while (extra != NULL && extra[k] != NULL)
		k++;
	char **env = calloc(n + k + 1, sizeof(*env));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		bool overridden = false;

		for (size_t j = 0; j < k; j++) {
			size_t l = strcspn(extra[j], "=");
			if (strncmp(environ[i], extra[j], l + 1) == 0)
				overridden = true;
		}
		if (!overridden)
			env[m++] = environ[i];
	}
	for (size_t j = 0; j < k; j++)
		env[m++] = (char *)extra[j];
	env[m] = NULL;
	return env;
}

int
run_cmd(const char *const *argv, const char *const *env, const char *input, char **out)
{
	int in[2], outp[2];

	if (pipe(in) != 0 || pipe(outp) != 0)
		return -1;
	char **envp = make_env(env);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		dup2(outp[1], 2);
		close(in[1]);
		close(outp[0]);
		execve(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	free(envp);
	close(in[0]);
	close(outp[1]);
	if (input != NULL && write(in[1], input, strlen(input)) < 0)
		perror("write");
	close(in[1]);
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	while ((n = read(outp[0], buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 1024)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	close(outp[0]);
	int status;
	waitpid(pid, &status, 0);
	if (out != NULL)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static bool
super_exec(const char *conninfo, const char *sql)
{
	PGconn *c = PQconnectdb(conninfo);
	bool ok = PQstatus(c) == CONNECTION_OK;

	if (ok) {
		PGresult *r = PQexec(c, sql);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
		if (!ok)
			tap_diag("sql failed: %s: %s", sql, PQresultErrorMessage(r));
		PQclear(r);
	} else {
		tap_diag("cannot connect: %s", PQerrorMessage(c));
	}
	PQfinish(c);
	return ok;
}

char *
sql_value(struct tenv *t, const char *sql, bool *ok)
{
	PGconn *c = PQconnectdb(t->super_conninfo);
	char *val = NULL;

	*ok = false;
	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, sql);
		ExecStatusType st = PQresultStatus(r);

		*ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
		if (!*ok)
			tap_diag("sql: %s", PQresultErrorMessage(r));
		if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
			val = strdup(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	PQfinish(c);
	return val;
}

long
sql_int(struct tenv *t, const char *sql)
{
	bool ok;
	char *v = sql_value(t, sql, &ok);
	long n = (ok && v != NULL) ? strtol(v, NULL, 10) : -1;

	free(v);
	return n;
}

long
sql_intf(struct tenv *t, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(sql)) {
		tap_diag("sql_intf: the query is longer than %zu bytes", sizeof(sql));
		return -1;
	}
	return sql_int(t, sql);
}

void
sql_exec(struct tenv *t, const char *sql)
{
	bool ok;

	free(sql_value(t, sql, &ok));
	if (!ok) {
		printf("Bail out! SQL failed: %s\n", sql);
		exit(1);
	}
}

bool
daemon_wait_healthy(struct daemon *d, int timeout_ms)
{
	for (long long deadline = mono_ms() + timeout_ms; mono_ms() < deadline;) {
		struct resp r;

		if (http(d->url, "GET", "/healthz", NULL, NULL, NULL, 0, &r) == 0 &&
		    r.status == 200) {
			resp_free(&r);
			return true;
		}
		resp_free(&r);
		int status;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return false;
		}
		msleep(50);
	}
	return false;
}

static void
show_log(const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		tap_diag("daemon: %s", line);
	}
	fclose(f);
}

int
daemon_start(struct tenv *t, struct daemon *d, const char *const *extra_args)
{
	const char *argv[32];
	char listen[64], dburl[600];
	int n = 0;

	d->port = d->want_port > 0 ? d->want_port : free_port();
	snprintf(d->url, sizeof(d->url), "%s://127.0.0.1:%d", d->https ? "https" : "http", d->port);
	snprintf(listen, sizeof(listen), "--listen=127.0.0.1:%d", d->port);
	/* Beside meson's own logs (tests run in the build directory), not left in /tmp. */
	const char *logdir = getenv("MESON_BUILD_ROOT")        ? getenv("MESON_BUILD_ROOT")
	                     : access("meson-logs", W_OK) == 0 ? "meson-logs"
	                                                       : "/tmp";
	snprintf(d->log, sizeof(d->log), "%s/biobankd-%s-%d.log", logdir, t->dbname, d->port);
	/* BIOBANK_TEST_VALGRIND=1: the daemon runs under valgrind, its report in
	 * <log>.valgrind; an error or a definite leak makes it exit 99, which
	 * teardown's exit-status check reports. */
	bool vg = getenv("BIOBANK_TEST_VALGRIND") != NULL;
	char vglog[300];
	snprintf(vglog, sizeof(vglog), "--log-file=%s.valgrind", d->log);
	if (vg) {
		argv[n++] = "/usr/bin/valgrind";
		argv[n++] = "--error-exitcode=99";
		argv[n++] = "--leak-check=full";
		argv[n++] = "--errors-for-leak-kinds=definite";
		argv[n++] = "--show-leak-kinds=definite";
		argv[n++] = vglog;
	}
	argv[n++] = t->biobankd;
	argv[n++] = "serve";
	argv[n++] = listen;
	argv[n++] = "--threads=4";
	/* BIOBANK_TEST_REPORTS_SAME=1: the reading routes (READS_STANDBY) go through the
	 * reports database's read-only pool, here on the same database, so that any suite
	 * shows whether one of them writes (it would fail: read-only transaction). */
	char reports[640];
	if (getenv("BIOBANK_TEST_REPORTS_SAME") != NULL) {
		snprintf(reports, sizeof(reports), "--reports-database=%s", t->conninfo);
		argv[n++] = reports;
	}
	for (int i = 0; extra_args != NULL && extra_args[i] != NULL && n < 30; i++)
		argv[n++] = extra_args[i];
	argv[n] = NULL;
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t->conninfo);
	const char *env[] = { dburl, NULL };
	char **envp = make_env(env);

	d->pid = fork();
	if (d->pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execve(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	free(envp);
	/* Start-up under the sanitizers on a busy machine: far from instant. */
	if (!daemon_wait_healthy(d, vg ? 120000 : 60000)) {
		tap_diag("biobankd did not become healthy on %s", d->url);
		show_log(d->log);
		daemon_stop(d);
		return -1;
	}
	return 0;
}

int
daemon_stop(struct daemon *d)
{
	int status = -1;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	/* Under valgrind the exit (leak check included) takes far longer; under
	 * the sanitizers, LeakSanitizer's pass at exit takes seconds on a busy machine. */
	int limit_s = getenv("BIOBANK_TEST_VALGRIND") ? 120 : 60;
	for (long long deadline = mono_ms() + limit_s * 1000LL; mono_ms() < deadline;) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		msleep(25);
	}
	tap_diag("biobankd %d ignored SIGTERM for %d s; killing it", d->pid, limit_s);
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &status, 0);
	d->pid = 0;
	return 137;
}

void
tenv_setup(struct tenv *t, const char *name, int argc, char **argv)
{
	const char *pg = getenv("BIOBANK_TEST_PG");
	char sql[256], admin_db[600], *out = NULL;

	memset(t, 0, sizeof(*t));
	if (pg == NULL || *pg == '\0')
		tap_skip_all("BIOBANK_TEST_PG is not set (run through scripts/test)");
	if (argc < 2) {
		fprintf(stderr, "usage: %s BIOBANKD\n", argv[0]);
		exit(2);
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_ALL);
	t->biobankd = argv[1];
	snprintf(t->dbname, sizeof(t->dbname), "t_%s_%d", name, (int)getpid());
	snprintf(admin_db, sizeof(admin_db), "%s dbname=postgres", pg);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", t->dbname);
	super_exec(admin_db, sql);
	/* BIOBANK_TEST_TEMPLATE: a database scripts/test migrated once; a copy of
	 * it instead of every program applying every migration again (migrate
	 * below then checks it is up to date; test_migrate still migrates fresh
	 * databases of its own). */
	const char *tmpl = getenv("BIOBANK_TEST_TEMPLATE");
	if (tmpl != NULL && *tmpl != '\0')
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER biobank TEMPLATE %s",
		         t->dbname, tmpl);
	else
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER biobank", t->dbname);
	if (!super_exec(admin_db, sql)) {
		printf("Bail out! cannot create database %s\n", t->dbname);
		exit(1);
	}
	snprintf(t->super_conninfo, sizeof(t->super_conninfo), "%s dbname=%s", pg, t->dbname);
	snprintf(t->owner_conninfo, sizeof(t->owner_conninfo), "%s dbname=%s user=biobank", pg,
	         t->dbname);
	/* The daemon runs as it should in production, with biobank_app's rights
	 * only (scripts/lib/common.sh makes the role): every suite then proves
	 * that the grants of migrations/0016_roles.sql suffice. */
	snprintf(t->conninfo, sizeof(t->conninfo), "%s dbname=%s user=biobank_daemon", pg,
	         t->dbname);

	char dburl[600];
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t->owner_conninfo);
	const char *env[] = { dburl, NULL };
	const char *mig[] = { t->biobankd, "migrate", NULL };
	if (run_cmd(mig, env, NULL, &out) != 0) {
		printf("Bail out! biobankd migrate failed: %s\n", out);
		exit(1);
	}
	free(out);
	const char *add[] = { t->biobankd, "user", "add", "--role", "admin", "admin", NULL };
	if (run_cmd(add, env, "admin-password\n", &out) != 0) {
		printf("Bail out! biobankd user add failed: %s\n", out);
		exit(1);
	}
	free(out);
	/* A program that cannot have the document fails its check at teardown. */
	openapi_load(t->biobankd);
	if (daemon_start(t, &t->d, NULL) != 0) {
		printf("Bail out! biobankd did not start\n");
		exit(1);
	}
	if (login(t, "admin", "admin-password", t->admin_token) != 0) {
		printf("Bail out! cannot log in as admin\n");
		daemon_stop(&t->d);
		exit(1);
	}
}

void
tenv_teardown(struct tenv *t)
{
	char sql[128], admin_db[600];
	const char *pg = getenv("BIOBANK_TEST_PG");

	long found = __atomic_load_n(&pg_text_found, __ATOMIC_RELAXED);
	tap_ok(found == 0, "no error answer carried PostgreSQL's own text (%ld checked, %ld did)",
	       __atomic_load_n(&pg_text_checked, __ATOMIC_RELAXED), found);
	tap_ok(openapi_loaded() && openapi_violations() == 0,
	       "every answer matches the OpenAPI document (%ld checked, %ld did not)",
	       openapi_checked(), openapi_violations());
	int rc = daemon_stop(&t->d);
	/* Under the sanitizers a leak or an error at exit shows up here. */
	if (!tap_ok(rc == 0, "biobankd stops on SIGTERM with exit status 0")) {
		char vglog[300];

		show_log(t->d.log);
		snprintf(vglog, sizeof(vglog), "%s.valgrind", t->d.log);
		show_log(vglog);
	}
	if (pg != NULL && getenv("BIOBANK_TEST_KEEP") == NULL) {
		snprintf(admin_db, sizeof(admin_db), "%s dbname=postgres", pg);
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->dbname);
		super_exec(admin_db, sql);
	}
	curl_global_cleanup();
}

struct sink {
	char *data;
	size_t len;
	size_t cap;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t add = size * n;

	/* Doubled, not grown by each piece: under AddressSanitizer every realloc
	 * copies, and a 16 MB body comes in a thousand pieces. */
	if (s->len + add + 1 > s->cap) {
		while (s->len + add + 1 > s->cap)
			s->cap = s->cap ? 2 * s->cap : 4096;
		s->data = realloc(s->data, s->cap);
	}
	memcpy(s->data + s->len, p, add);
	s->len += add;
	s->data[s->len] = '\0';
	return add;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n;
	struct {
		const char *name;
		char *dst;
		size_t cap;
	} want[] = {
		{ "content-type:", r->content_type, sizeof(r->content_type) },
		{ "retry-after:", r->retry_after, sizeof(r->retry_after) },
		{ "allow:", r->allow, sizeof(r->allow) },
		{ "idempotent-replayed:", r->replayed, sizeof(r->replayed) },
		{ "x-request-id:", r->request_id, sizeof(r->request_id) },
		{ "content-location:", r->content_location, sizeof(r->content_location) },
		{ "x-progress:", r->progress, sizeof(r->progress) },
		{ "content-disposition:", r->content_disposition, sizeof(r->content_disposition) },
		{ "content-length:", r->content_length, sizeof(r->content_length) },
		{ "cache-control:", r->cache_control, sizeof(r->cache_control) },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		size_t k = strlen(want[i].name);

		if (len > k && strncasecmp(p, want[i].name, k) == 0) {
			const char *v = p + k;
			size_t vl = len - k;

			while (vl > 0 && *v == ' ')
				v++, vl--;
			while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
				vl--;
			snprintf(want[i].dst, want[i].cap, "%.*s", (int)vl, v);
		}
	}
	return len;
}

/*
 * No answer may carry PostgreSQL's own message text (its wording changes
 * with versions and locales, and it names our tables). Every 4xx and 5xx
 * body any API test receives is checked for PostgreSQL's phrases;
 * tenv_teardown() reports the count as one check of each program.
 */

static void
check_pg_text(const char *method, const char *path, const struct resp *r)
{
	static const char *const phrases[] = {
		"violates",
		"duplicate key",
		"invalid input syntax",
		"syntax error at",
		"SQLSTATE",
		"PL/pgSQL",
		"CONTEXT:",
		"field overflow",
		"value too long for type",
		"out of range for type",
		"invalid byte sequence",
		"null value in column",
		"relation \"",
		"column \"",
		"function bb_",
		"ERROR:",
		"current transaction is aborted",
		"could not serialize",
		"deadlock detected",
		"canceling statement",
		NULL,
	};

	if (r->status < 400 || r->body == NULL)
		return;
	__atomic_add_fetch(&pg_text_checked, 1, __ATOMIC_RELAXED);
	for (const char *const *p = phrases; *p != NULL; p++)
		if (strstr(r->body, *p) != NULL) {
			__atomic_add_fetch(&pg_text_found, 1, __ATOMIC_RELAXED);
			tap_diag("%s %s answered %ld with PostgreSQL's text (\"%s\"): %.300s",
			         method, path, r->status, *p, r->body);
			return;
		}
}

int
http_h(const char *base, const char *method, const char *path, const char *token, const char *ctype,
       const char *body, size_t len, const char *const *headers, struct resp *out)
{
	return http_from(NULL, base, method, path, token, ctype, body, len, headers, out);
}

int
http_from(const char *source, const char *base, const char *method, const char *path,
          const char *token, const char *ctype, const char *body, size_t len,
          const char *const *headers, struct resp *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct sink s = { 0 };
	char url[32768], line[600];

	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	char iface[80];
	if (source != NULL) {
		snprintf(iface, sizeof(iface), "host!%s", source);
		curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
	}
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	/* No budget for the whole answer (a 10^5-row export under the sanitizers
	 * on a busy machine took longer than 30 s): only a stalled one fails, one
	 * that sends nothing at all for two minutes. Speed is scripts/bench's. */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (token != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, line);
	}
	if (body != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s",
		         ctype ? ctype : "application/json");
		h = curl_slist_append(h, line);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	h = curl_slist_append(h, "Expect:");
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		h = curl_slist_append(h, headers[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	else
		snprintf(out->error, sizeof(out->error), "%s",
		         *errbuf ? errbuf : curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	out->body = s.data ? s.data : strdup("");
	out->len = s.len;
	out->json = cJSON_Parse(out->body);
	check_pg_text(method, path, out);
	openapi_check(method, path, out);
	return rc == CURLE_OK ? 0 : -1;
}

int
http(const char *base, const char *method, const char *path, const char *token, const char *ctype,
     const char *body, size_t len, struct resp *out)
{
	return http_h(base, method, path, token, ctype, body, len, NULL, out);
}

void
resp_free(struct resp *r)
{
	free(r->body);
	cJSON_Delete(r->json);
	memset(r, 0, sizeof(*r));
}

int
api(struct tenv *t, const char *method, const char *path, const char *token, const char *json,
    struct resp *out)
{
	return http(t->d.url, method, path, token, NULL, json, json ? strlen(json) : 0, out);
}

int
login(struct tenv *t, const char *user, const char *password, char token[128])
{
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", user, password);
	if (api(t, "POST", "/api/v1/sessions", NULL, body, &r) != 0 || r.status != 201) {
		int status = (int)r.status;
		resp_free(&r);
		return status ? status : -1;
	}
	snprintf(token, 128, "%s", jstr(&r, "token"));
	resp_free(&r);
	return 0;
}

int
make_user(struct tenv *t, const char *name, const char *role, const char *studies, char token[128])
{
	struct resp r;
	char body[512], pw[80];

	snprintf(body, sizeof(body),
	         "{\"username\":\"%s\",\"password\":\"password-%s\",\"role\":\"%s\"%s%s}", name,
	         name, role, studies ? ",\"studies\":" : "", studies ? studies : "");
	api(t, "POST", "/api/v1/users", t->admin_token, body, &r);
	if (r.status != 201)
		tap_diag("creating %s: %ld %s", name, r.status, r.body);
	resp_free(&r);
	snprintf(pw, sizeof(pw), "password-%s", name);
	if (login(t, name, pw, token) != 0) {
		tap_diag("login %s failed", name);
		return -1;
	}
	return 0;
}

static const cJSON *
jget(const struct resp *r, const char *path)
{
	const cJSON *j = r->json;
	char key[128];

	while (j != NULL && *path) {
		size_t n = strcspn(path, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		if (cJSON_IsArray(j))
			j = cJSON_GetArrayItem(j, atoi(key));
		else
			j = cJSON_GetObjectItemCaseSensitive(j, key);
		path += n;
		if (*path == '.')
			path++;
	}
	return j;
}

const char *
jstr(const struct resp *r, const char *path)
{
	const cJSON *j = jget(r, path);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

double
jnum(const struct resp *r, const char *path, double def)
{
	const cJSON *j = jget(r, path);

	return cJSON_IsNumber(j) ? j->valuedouble : def;
}

bool
is_problem(const struct resp *r, long status)
{
	/* A FHIR route's problem, as the OperationOutcome it is sent as (api/fhir.h). */
	if (strncmp(r->content_type, "application/fhir+json", 21) == 0 && r->status == status) {
		const char *sys = jstr(r, "issue.0.details.coding.0.system");
		const char *code = jstr(r, "issue.0.details.coding.0.code");
		const char *rt = jstr(r, "resourceType");
		if (rt != NULL && strcmp(rt, "OperationOutcome") == 0 && sys != NULL &&
		    strcmp(sys, "urn:biobank:problem") == 0 && code != NULL && *code != '\0')
			return true;
	}
	bool ok = r->status == status &&
	          strncmp(r->content_type, "application/problem+json", 24) == 0 &&
	          jnum(r, "status", 0) == (double)status && jstr(r, "type") != NULL &&
	          jstr(r, "title") != NULL && jstr(r, "detail") != NULL &&
	          jstr(r, "code") != NULL && *jstr(r, "code") != '\0';

	if (!ok)
		tap_diag("  want problem %ld, got %ld %s: %s", status, r->status, r->content_type,
		         r->body ? r->body : "");
	return ok;
}

bool
problem_names_field(const struct resp *r, const char *field)
{
	const cJSON *errs = r->json ? cJSON_GetObjectItemCaseSensitive(r->json, "errors") : NULL;
	const cJSON *e;

	cJSON_ArrayForEach(e, errs)
	{
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "field");

		if (cJSON_IsString(f) && strcmp(f->valuestring, field) == 0)
			return true;
	}
	/* An OperationOutcome names the field first in an issue's diagnostics. */
	const cJSON *issues = r->json ? cJSON_GetObjectItemCaseSensitive(r->json, "issue") : NULL;
	size_t n = strlen(field);
	cJSON_ArrayForEach(e, issues)
	{
		const char *d = cJSON_GetStringValue(cJSON_GetObjectItem(e, "diagnostics"));

		if (d != NULL && strncmp(d, field, n) == 0 && d[n] == ' ')
			return true;
	}
	tap_diag("  no error names field %s in %s", field, r->body ? r->body : "");
	return false;
}

bool
log_sequenced(struct tenv *t, int timeout_ms)
{
	for (long long end = mono_ms() + timeout_ms; mono_ms() < end; msleep(20))
		if (sql_int(t, "SELECT ((SELECT count(*) FROM events) = size AND NOT EXISTS"
		               " (SELECT 1 FROM log_pending))::int FROM log_state") == 1)
			return true;
	return false;
}

long
proc_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0)
			kb = strtol(line + strlen(field), NULL, 10);
	fclose(f);
	return kb;
}
