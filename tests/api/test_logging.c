/*
 * test_logging.c — what the daemon logs while it serves a request carries
 * that request's id, the one its answer gives in X-Request-Id, whichever
 * layer wrote the line: here a warning from the database layer, provoked by
 * a trigger that fails the way a bug would (SQLSTATE XX000).
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

	resp_free(&r1);
	resp_free(&r2);
	tenv_teardown(&t);
	return tap_done();
}
