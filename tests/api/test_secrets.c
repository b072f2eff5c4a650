/*
 * test_secrets.c — no secret rests in the database (issue 23, finding 3).
 * Tokens are issued with and without an Idempotency-Key, sessions are
 * opened, accounts made and passwords changed; then every column of every
 * table is searched for each token and password as text. A repeated key
 * whose answer held a token gets a problem, never the token again. Kept
 * answers expire and any number of daemons purge them.
 */
#include "world.h"

#include <stdlib.h>
#include <string.h>

static struct tenv t;

static void
post_key(const char *base, const char *path, const char *key, const char *json, struct resp *r)
{
	char h[300];
	const char *headers[] = { h, NULL };

	snprintf(h, sizeof(h), "Idempotency-Key: %s", key);
	http_h(base, "POST", path, t.admin_token, NULL, json, strlen(json), headers, r);
}

/* Each secret handed out or sent, to be searched for. */
static char secrets[16][128];
static int nsecrets;

static void
keep(const char *secret)
{
	if (secret != NULL && nsecrets < 16)
		snprintf(secrets[nsecrets++], sizeof(secrets[0]), "%s", secret);
}

/*
 * Every column of every table (information_schema, all schemas but the
 * catalogs), its value as text searched for needle and for needle's bytes
 * in hex (a bytea column's text). Returns the columns that hold it, joined
 * by ", " (caller frees), and the number of columns searched.
 */
static char *
columns_holding(const char *needle, long *searched)
{
	char sql[2048];
	bool ok_sql;

	*searched =
	    sql_int(&t, "SELECT count(*) FROM information_schema.columns c"
	                "  JOIN information_schema.tables USING (table_schema, table_name)"
	                " WHERE table_type = 'BASE TABLE'"
	                "   AND c.table_schema NOT IN ('pg_catalog', 'information_schema')");
	snprintf(
	    sql, sizeof(sql),
	    "SELECT COALESCE(string_agg(c.table_name || '.' || c.column_name, ', '), '')"
	    "  FROM information_schema.columns c"
	    "  JOIN information_schema.tables USING (table_schema, table_name)"
	    " WHERE table_type = 'BASE TABLE'"
	    "   AND c.table_schema NOT IN ('pg_catalog', 'information_schema')"
	    "   AND (xpath('/row/n/text()', query_to_xml(format("
	    "         'SELECT count(*) AS n FROM %%I.%%I WHERE strpos(%%I::text, %%L) > 0"
	    "             OR strpos(%%I::text, %%L) > 0',"
	    "         c.table_schema, c.table_name, c.column_name, '%s', c.column_name,"
	    "         encode(convert_to('%s', 'UTF8'), 'hex')), false, true, '')))[1]::text::int"
	    "       > 0",
	    needle, needle);
	char *found = sql_value(&t, sql, &ok_sql);
	if (!ok_sql) {
		free(found);
		return strdup("(the search failed)");
	}
	return found != NULL ? found : strdup("");
}

static void
tokens_and_keys(void)
{
	struct resp r;
	long before;

	api(&t, "POST", "/api/v1/users", t.admin_token,
	    "{\"username\":\"zebra2\",\"password\":\"printer-password-2\",\"role\":\"printer\"}",
	    &r);
	resp_free(&r);
	keep("printer-password-2");

	const char *body = "{\"username\":\"zebra2\",\"label\":\"secret-scan label\"}";
	post_key(t.d.url, "/api/v1/tokens", "token-key-1", body, &r);
	is_int(r.status, 201, "a service token issued with an Idempotency-Key");
	keep(jstr(&r, "token"));
	char first[128] = "";
	snprintf(first, sizeof(first), "%s", jstr(&r, "token") ? jstr(&r, "token") : "");
	resp_free(&r);

	before = sql_int(&t, "SELECT count(*) FROM tokens");
	post_key(t.d.url, "/api/v1/tokens", "token-key-1", body, &r);
	ok(is_problem(&r, 409) && jstr(&r, "code") != NULL &&
	       strcmp(jstr(&r, "code"), "secret-not-replayed") == 0,
	   "the same key again: 409 secret-not-replayed (got %ld %s)", r.status,
	   jstr(&r, "code") ? jstr(&r, "code") : "");
	ok(strstr(r.body, first) == NULL || *first == '\0', "  which does not hold the token");
	is_str(r.replayed, "true", "  marked Idempotent-Replayed");
	resp_free(&r);
	is_int(sql_int(&t, "SELECT count(*) FROM tokens"), before, "  and issues no other token");
	is_int(sql_int(&t, "SELECT count(*) FROM idempotency_keys WHERE key = 'token-key-1'"
	                   " AND withheld AND status = 201 AND body IS NULL"),
	       1, "  the key keeps the status only");

	api(&t, "POST", "/api/v1/tokens", t.admin_token,
	    "{\"username\":\"zebra2\",\"label\":\"no key\"}", &r);
	is_int(r.status, 201, "a service token issued without a key");
	keep(jstr(&r, "token"));
	resp_free(&r);

	char token[128];
	is_int(login(&t, "zebra2", "printer-password-2", token), 0, "a session opened");
	keep(token);
	struct resp lr;
	const char *hk[] = { "Idempotency-Key: login-key", NULL };
	const char *lb = "{\"username\":\"admin\",\"password\":\"admin-password\"}";
	http_h(t.d.url, "POST", "/api/v1/sessions", NULL, NULL, lb, strlen(lb), hk, &lr);
	is_int(lr.status, 201, "a session opened with an Idempotency-Key");
	keep(jstr(&lr, "token"));
	resp_free(&lr);
	keep("admin-password");
}

/* A password is not part of a request's fingerprint: its SHA-256 would be a fast hash of it. */
static void
passwords_and_keys(void)
{
	struct resp r;

	const char *a =
	    "{\"username\":\"erin\",\"password\":\"erins-first-pw\",\"role\":\"auditor\"}";
	const char *b =
	    "{\"username\":\"erin\",\"password\":\"erins-other-pw\",\"role\":\"auditor\"}";
	keep("erins-first-pw");
	keep("erins-other-pw");
	post_key(t.d.url, "/api/v1/users", "user-key-1", a, &r);
	is_int(r.status, 201, "an account made with an Idempotency-Key");
	resp_free(&r);
	post_key(t.d.url, "/api/v1/users", "user-key-1", b, &r);
	ok(r.status == 201 && strcmp(r.replayed, "true") == 0,
	   "  the same key with only another password replays the answer (%ld %s)", r.status,
	   r.replayed);
	resp_free(&r);
	char token[128];
	is_int(login(&t, "erin", "erins-first-pw", token), 0, "  the first password stands");
	keep(token);
	const char *c =
	    "{\"username\":\"erin2\",\"password\":\"erins-first-pw\",\"role\":\"auditor\"}";
	post_key(t.d.url, "/api/v1/users", "user-key-1", c, &r);
	ok(is_problem(&r, 422), "  the same key with another user name is still 422");
	resp_free(&r);

	const char *pw =
	    "{\"current_password\":\"erins-first-pw\",\"new_password\":\"erins-new-pw\"}";
	keep("erins-new-pw");
	http(t.d.url, "PUT", "/api/v1/sessions/current/password", token, NULL, pw, strlen(pw), &r);
	is_int(r.status, 200, "erin changes her password");
	resp_free(&r);
	const char *reset = "{\"password\":\"erins-reset-pw\"}";
	keep("erins-reset-pw");
	http(t.d.url, "PUT", "/api/v1/users/erin/password", t.admin_token, NULL, reset,
	     strlen(reset), &r);
	is_int(r.status, 200, "the admin resets it");
	resp_free(&r);
}

static void
scan(void)
{
	long searched = 0;
	char *found = columns_holding("secret-scan label", &searched);

	ok(found != NULL && strstr(found, "tokens.label") != NULL,
	   "the search finds what is there: a token's label in %s", found ? found : "");
	free(found);
	ok(searched >= 100, "  it searches every column of every table (%ld)", searched);
	ok(nsecrets >= 10, "%d secrets to look for", nsecrets);
	for (int i = 0; i < nsecrets; i++) {
		found = columns_holding(secrets[i], &searched);
		ok(found != NULL && *found == '\0', "secret %d (%.6s...) is in no column%s%s", i,
		   secrets[i], found && *found ? ": found in " : "", found ? found : "");
		free(found);
	}
}

/* Kept answers expire: the key is free again; and every daemon purges them. */
static void
expiry(void)
{
	struct resp r;
	const char *body = "{\"destination\":\"Proteomics lab\",\"conditions\":\"dry_ice\"}";
	char first[32] = "";

	post_key(t.d.url, "/api/v1/shipments", "expiring-key", body, &r);
	is_int(r.status, 201, "a shipment made with a key");
	snprintf(first, sizeof(first), "%.0f", jnum(&r, "id", 0));
	resp_free(&r);
	post_key(t.d.url, "/api/v1/shipments", "expiring-key", body, &r);
	ok(r.status == 201 && strcmp(r.replayed, "true") == 0, "  replayed within the day");
	resp_free(&r);
	bool ok_sql;
	free(sql_value(&t,
	               "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"
	               " WHERE key = 'expiring-key'",
	               &ok_sql));
	post_key(t.d.url, "/api/v1/shipments", "expiring-key", body, &r);
	char again[32];
	snprintf(again, sizeof(again), "%.0f", jnum(&r, "id", 0));
	ok(r.status == 201 && strcmp(r.replayed, "true") != 0 && strcmp(again, first) != 0,
	   "  after 24 h (idempotency_ttl) the key is free: a new shipment (%s, first %s)", again,
	   first);
	resp_free(&r);

	/* Two daemons purging at once, every second. */
	free(sql_value(&t,
	               "INSERT INTO idempotency_keys (user_id, key, request_hash, status,"
	               " content_type, body, created_at)"
	               " SELECT u.id, 'old-' || g, '\\x00', 201, 'application/json', '{}',"
	               "        now() - interval '2 days'"
	               "   FROM users u, generate_series(1, 2500) g WHERE u.username = 'admin'",
	               &ok_sql));
	free(sql_value(&t,
	               "INSERT INTO login_throttle (scope, username, addr, failures, last_failure)"
	               " SELECT 'pair', 'gone' || g, '192.0.2.1', 3, now() - interval '2 days'"
	               "   FROM generate_series(1, 1500) g",
	               &ok_sql));
	free(sql_value(&t,
	               "INSERT INTO login_known (user_id, addr, last_login)"
	               " SELECT id, '192.0.2.9', now() - interval '100 days' FROM users",
	               &ok_sql));
	struct daemon d2 = { 0 }, d3 = { 0 };
	const char *fast[] = { "--purge-interval=1", NULL };
	if (!ok(daemon_start(&t, &d2, fast) == 0 && daemon_start(&t, &d3, fast) == 0,
	        "two daemons purging every second"))
		return;
	long left = -1;
	for (long long deadline = mono_ms() + 60000; mono_ms() < deadline; msleep(200)) {
		left = sql_int(
		    &t, "SELECT (SELECT count(*) FROM idempotency_keys"
		        "         WHERE created_at < now() - interval '1 day')"
		        "     + (SELECT count(*) FROM login_throttle WHERE username LIKE 'gone%')"
		        "     + (SELECT count(*) FROM login_known WHERE addr = '192.0.2.9')");
		if (left == 0)
			break;
	}
	is_int(left, 0, "  expired answers, forgotten login counts and stale addresses go");
	is_int(sql_int(&t, "SELECT count(*) FROM idempotency_keys WHERE key = 'expiring-key'"), 1,
	       "  a live key stays");
	const char *warn[] = { "purge", "warn", NULL };
	char *lines = daemon_log_lines(&d2, warn, 0);
	char *lines3 = daemon_log_lines(&d3, warn, 0);
	ok(lines == NULL && lines3 == NULL, "  neither daemon warned: %s%s", lines ? lines : "",
	   lines3 ? lines3 : "");
	free(lines);
	free(lines3);
	is_int(daemon_stop(&d2), 0, "  the daemons stop cleanly");
	is_int(daemon_stop(&d3), 0, "  (both)");
}

int
main(int argc, char **argv)
{
	tenv_setup(&t, "secrets", argc, argv);
	world_make(&t);
	tokens_and_keys();
	passwords_and_keys();
	scan();
	expiry();
	tenv_teardown(&t);
	return tap_done();
}
