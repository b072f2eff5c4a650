/*
 * test_logging.c — what the daemon logs while it serves a request carries
 * that request's id, the one its answer gives in X-Request-Id, whichever
 * layer wrote the line: here a warning from the database layer, provoked by
 * a trigger that fails the way a bug would (SQLSTATE XX000).
 *
 * And what a client sends cannot write a line of its own (log injection): a
 * newline in a path (%0a) or in a login name stays inside the one line that
 * tells of the request, in the text format and in the JSON format
 * (log_format = json), whose every line is one JSON object.
 */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

enum { LOG_WAIT_MS = 30000 };

/* POST a new user; the trigger makes the INSERT fail. */
static void
failing_request(struct tenv *t, const char *name, struct resp *r)
{
	char body[256];

	snprintf(body, sizeof(body),
	         "{\"username\":\"%s\",\"password\":\"password-%s\",\"role\":\"technician\"}", name,
	         name);
	api(t, "POST", "/api/v1/users", t->admin_token, body, r);
}

/* The whole lines of path holding needle, joined by '\n' (caller frees), and their number. */
static char *
lines_with(const char *path, const char *needle, int *count)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *all = NULL;
	size_t cap = 0, len = 0;
	ssize_t n;

	*count = 0;
	while (f != NULL && (n = getline(&line, &cap, f)) > 0) {
		if (strstr(line, needle) == NULL)
			continue;
		(*count)++;
		all = realloc(all, len + (size_t)n + 1);
		memcpy(all + len, line, (size_t)n + 1);
		len += (size_t)n;
	}
	free(line);
	if (f != NULL)
		fclose(f);
	return all;
}

/* Every line of path is a JSON object with string members time, level and msg. */
static bool
every_line_json(const char *path, int *lines)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	bool all = f != NULL;

	*lines = 0;
	while (f != NULL && getline(&line, &cap, f) > 0) {
		cJSON *j = cJSON_Parse(line);

		(*lines)++;
		if (!cJSON_IsObject(j) ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "time")) ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "level")) ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "msg"))) {
			if (all)
				tap_diag("not a JSON log line: %s", line);
			all = false;
		}
		cJSON_Delete(j);
	}
	free(line);
	if (f != NULL)
		fclose(f);
	return all && *lines > 0;
}

/*
 * The two injections of the security review against daemon d: a path with
 * %0a and a forged line after it, a login name with CR LF and a forged line.
 * Each must give exactly one line holding its marker. The path's line is the
 * request's access line; *path_rid and *login_rid get the answers' ids.
 */
static void
inject(struct tenv *t, const struct daemon *d, const char *fmt, const char *forged_path,
       const char *forged_login, char path_rid[64], char login_rid[64])
{
	char path[512], body[512];
	struct resp r;
	int n;

	snprintf(path, sizeof(path), "/api/v1/specimens/X%%0a%s", forged_path);
	http(d->url, "GET", path, t->admin_token, NULL, NULL, 0, &r);
	ok(r.status == 400 || r.status == 404, "%s: a path with %%0a is refused (%ld)", fmt,
	   r.status);
	snprintf(path_rid, 64, "%s", r.request_id);
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"username\":\"eve\\r\\n%s\",\"password\":\"guess\"}",
	         forged_login);
	http(d->url, "POST", "/api/v1/sessions", NULL, NULL, body, strlen(body), &r);
	is_int(r.status, 401, "%s: a login name with CR LF fails as any wrong login", fmt);
	snprintf(login_rid, 64, "%s", r.request_id);
	resp_free(&r);

	/* The access line of the login is written after its answer: wait for it. */
	char needle[96];
	snprintf(needle, sizeof(needle), "%s", login_rid);
	const char *last[] = { needle, "/api/v1/sessions", NULL };
	free(daemon_log_lines(d, last, LOG_WAIT_MS));

	char *lines = lines_with(d->log, "FORGED-PATH", &n);
	if (!ok(n == 1, "%s: the path's marker is on exactly one line (%d)", fmt, n))
		tap_diag("%s", lines ? lines : "(none)");
	ok(lines != NULL && strstr(lines, path_rid) != NULL, "  the line of that request (%s)",
	   path_rid);
	free(lines);
	lines = lines_with(d->log, "forged-login", &n);
	if (!ok(n == 1, "%s: the login name's marker is on exactly one line (%d)", fmt, n))
		tap_diag("%s", lines ? lines : "(none)");
	ok(lines != NULL && strstr(lines, login_rid) != NULL, "  the line of that login (%s)",
	   login_rid);
	free(lines);
}

static void
injection_text(struct tenv *t)
{
	char path_rid[64], login_rid[64];
	int n;

	inject(t, &t->d, "text", "2026-01-01T00:00:00.000Z%20warn%20FORGED-PATH",
	       "2026-01-01T00:00:00.000Z warn forged-login", path_rid, login_rid);
	char *lines = lines_with(t->d.log, "FORGED-PATH", &n);
	ok(lines != NULL && strstr(lines, "\\n2026-01-01T00:00:00.000Z warn FORGED-PATH") != NULL,
	   "  the newline is written as \\n");
	free(lines);
	lines = lines_with(t->d.log, "forged-login", &n);
	ok(lines != NULL && strstr(lines, "eve\\r\\n2026-01-01") != NULL,
	   "  CR LF in the name as \\r\\n");
	free(lines);
}

static void
injection_json(struct tenv *t)
{
	const char *args[] = { "--log-format=json", NULL };
	char path_rid[64], login_rid[64];
	struct daemon d = { 0 };
	int n = 0;

	if (!ok(daemon_start(t, &d, args) == 0, "a daemon with --log-format=json starts"))
		return;
	inject(t, &d, "json", "%7B%22level%22:%22warn%22,%22msg%22:%22FORGED-PATH%22%7D",
	       "{\\\"level\\\":\\\"warn\\\",\\\"msg\\\":\\\"forged-login\\\"}", path_rid,
	       login_rid);
	ok(every_line_json(d.log, &n), "every line of its log is a JSON object (%d lines)", n);

	char *lines = lines_with(d.log, "FORGED-PATH", &n);
	cJSON *j = lines ? cJSON_Parse(lines) : NULL;
	const char *req = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "req"));
	const char *method = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "method"));
	const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "path"));
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(j, "status");
	ok(req != NULL && strcmp(req, path_rid) == 0, "  the access line has the request's id");
	ok(method != NULL && strcmp(method, "GET") == 0 && cJSON_IsNumber(status) &&
	       (status->valueint == 400 || status->valueint == 404),
	   "  method and status as members");
	ok(path != NULL && strncmp(path, "/api/v1/specimens/X\\n{", 22) == 0,
	   "  the path as a member, its newline escaped (%s)", path ? path : "(none)");
	cJSON_Delete(j);
	free(lines);

	lines = lines_with(d.log, "forged-login", &n);
	j = lines ? cJSON_Parse(lines) : NULL;
	req = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "req"));
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "msg"));
	ok(req != NULL && strcmp(req, login_rid) == 0, "  the failed login's line has its id");
	ok(msg != NULL && strstr(msg, "eve\\r\\n{") != NULL && strchr(msg, '\n') == NULL,
	   "  and its message no control character, even once decoded");
	cJSON_Delete(j);
	free(lines);
	is_int(daemon_stop(&d), 0, "the JSON-logging daemon stops cleanly");
}

int
main(int argc, char **argv)
{
	struct tenv t;
	struct resp r1, r2;
	bool ok_sql;

	tenv_setup(&t, "logging", argc, argv);
	free(sql_value(&t,
	               "CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$"
	               " BEGIN RAISE EXCEPTION 'test_logging: deliberate failure'"
	               " USING ERRCODE = 'XX000'; END $$",
	               &ok_sql));
	ok(ok_sql, "setup: a trigger function that fails as a bug would");
	free(sql_value(&t,
	               "CREATE TRIGGER test_fail BEFORE INSERT ON users"
	               " FOR EACH ROW EXECUTE FUNCTION test_fail()",
	               &ok_sql));
	ok(ok_sql, "setup: on every insert into users");

	failing_request(&t, "ursula", &r1);
	is_int(r1.status, 500, "a request the database fails is a 500");
	ok(strlen(r1.request_id) == 16, "  with an X-Request-Id (%s)", r1.request_id);
	ok(strstr(r1.body, "deliberate failure") == NULL,
	   "  and without PostgreSQL's message in the answer");

	char req1[80];
	snprintf(req1, sizeof(req1), " req=%s ", r1.request_id);
	const char *warn1[] = { " warn ", req1, "XX000", NULL };
	char *lines = daemon_log_lines(&t.d, warn1, LOG_WAIT_MS);
	if (!ok(lines != NULL, "the daemon's warning about it carries the request's id"))
		tap_diag("no warn line with \"%s\" and XX000 in %s", req1, t.d.log);
	else
		tap_diag("%s", lines);
	free(lines);
	const char *access1[] = { " info ", req1, " POST /api/v1/users 500 ", NULL };
	lines = daemon_log_lines(&t.d, access1, LOG_WAIT_MS);
	ok(lines != NULL, "  as does the request's access line");
	free(lines);

	/* A second request gets its own id: the first one's did not stay behind on the thread. */
	failing_request(&t, "vera", &r2);
	is_int(r2.status, 500, "a second failing request");
	ok(r2.request_id[0] != '\0' && strcmp(r1.request_id, r2.request_id) != 0,
	   "  has an id of its own (%s)", r2.request_id);
	char req2[80];
	snprintf(req2, sizeof(req2), " req=%s ", r2.request_id);
	const char *warn2[] = { " warn ", req2, "XX000", NULL };
	lines = daemon_log_lines(&t.d, warn2, LOG_WAIT_MS);
	ok(lines != NULL, "  and its warning carries that id");
	free(lines);
	const char *warn_any[] = { " warn ", "XX000", NULL };
	lines = daemon_log_lines(&t.d, warn_any, LOG_WAIT_MS);
	char *second = lines ? strchr(lines, '\n') : NULL;
	if (second != NULL)
		*second++ = '\0';
	ok(second != NULL && strchr(second, '\n') == NULL, "  one warning per failed request");
	ok(lines != NULL && strstr(lines, req1) != NULL && strstr(lines, req2) == NULL &&
	       second != NULL && strstr(second, req2) != NULL && strstr(second, req1) == NULL,
	   "  each with its own request's id only");
	free(lines);

	/* Lines written outside any request carry no id. */
	const char *startup[] = { " info ", "listening on", NULL };
	lines = daemon_log_lines(&t.d, startup, LOG_WAIT_MS);
	ok(lines != NULL && strstr(lines, "req=") == NULL,
	   "the start-up line, outside any request, has no req=");
	free(lines);

	injection_text(&t);
	injection_json(&t);

	resp_free(&r1);
	resp_free(&r2);
	tenv_teardown(&t);
	return tap_done();
}
