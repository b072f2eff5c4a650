/* test_sessions.c — login, logout, users, service tokens, roles and login throttling. */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
login_logout(struct tenv *t)
{
	struct resp r;
	char token[128];

	api(t, "POST", "/api/v1/sessions", NULL,
	    "{\"username\":\"admin\",\"password\":\"admin-password\"}", &r);
	is_int(r.status, 201, "login answers 201");
	ok(jstr(&r, "token") != NULL && strlen(jstr(&r, "token")) == 46, "with a token");
	ok(jstr(&r, "expires_at") != NULL && strlen(jstr(&r, "expires_at")) == 20,
	   "and an RFC 3339 expiry");
	is_str(jstr(&r, "user.username"), "admin", "and the user's name");
	is_str(jstr(&r, "user.role"), "admin", "and role");
	snprintf(token, sizeof(token), "%s", jstr(&r, "token") ? jstr(&r, "token") : "");
	resp_free(&r);

	bool ok_sql;
	char *n = sql_value(t, "SELECT count(*) FROM tokens WHERE length(hash) = 32", &ok_sql);
	char *plain = sql_value(
	    t, "SELECT count(*) FROM tokens WHERE encode(hash, 'escape') LIKE 'bb_%'", &ok_sql);
	ok(n != NULL && atoi(n) >= 2 && plain != NULL && atoi(plain) == 0,
	   "tokens are stored only as 32-byte hashes");
	free(n);
	free(plain);

	api(t, "GET", "/api/v1/sessions/current", token, NULL, &r);
	is_int(r.status, 200, "the new token works");
	is_str(jstr(&r, "user.username"), "admin", "and names its user");
	resp_free(&r);

	api(t, "DELETE", "/api/v1/sessions/current", token, NULL, &r);
	is_int(r.status, 204, "logout answers 204");
	resp_free(&r);

	api(t, "GET", "/api/v1/sessions/current", token, NULL, &r);
	ok(is_problem(&r, 401), "the token stops working at once");
	resp_free(&r);

	api(t, "POST", "/api/v1/sessions", NULL,
	    "{\"username\":\"admin\",\"password\":\"wrong-password\"}", &r);
	ok(is_problem(&r, 401), "a wrong password is a 401 problem");
	resp_free(&r);

	api(t, "POST", "/api/v1/sessions", NULL,
	    "{\"username\":\"nobody\",\"password\":\"admin-password\"}", &r);
	ok(is_problem(&r, 401), "an unknown user is a 401 problem too");
	resp_free(&r);

	api(t, "POST", "/api/v1/sessions", NULL,
	    "{\"username\":\"ADMIN\",\"password\":\"admin-password\"}", &r);
	is_int(r.status, 201, "user names are not case-sensitive");
	resp_free(&r);
}

/* A second daemon on the same database must see a logout made through the first. */
static void
logout_everywhere(struct tenv *t)
{
	struct daemon d2 = { 0 };
	struct resp r;
	char token[128];

	if (!ok(daemon_start(t, &d2, NULL) == 0, "a second daemon starts on the same database"))
		return;
	login(t, "admin", "admin-password", token);
	http(d2.url, "GET", "/api/v1/sessions/current", token, NULL, NULL, 0, &r);
	is_int(r.status, 200, "a token from daemon 1 works on daemon 2 (and is now in its cache)");
	resp_free(&r);
	api(t, "DELETE", "/api/v1/sessions/current", token, NULL, &r);
	resp_free(&r);
	/* LISTEN/NOTIFY is asynchronous: wait for the refusal, well before the
	 * cache's TTL would explain it. */
	long status = 0;
	for (long long deadline = mono_ms() + 30000; mono_ms() < deadline; msleep(25)) {
		http(d2.url, "GET", "/api/v1/sessions/current", token, NULL, NULL, 0, &r);
		status = r.status;
		resp_free(&r);
		if (status == 401)
			break;
	}
	is_int(status, 401, "after logout on daemon 1, daemon 2 refuses the token too");
	is_int(daemon_stop(&d2), 0, "the second daemon stops cleanly");
}

static void
users_and_roles(struct tenv *t)
{
	struct resp r;
	char tech[128], aud[128];

	bool ok_sql;
	free(sql_value(t,
	               "INSERT INTO studies (code, name) VALUES ('MASC', 'Myositis cohort'), "
	               "('SSC', 'Systemic sclerosis cohort')",
	               &ok_sql));

	api(t, "POST", "/api/v1/users", t->admin_token,
	    "{\"username\":\"tina\",\"password\":\"bench-password\",\"role\":\"technician\","
	    "\"studies\":[\"MASC\"]}",
	    &r);
	is_int(r.status, 201, "admin creates a technician limited to MASC");
	is_str(jstr(&r, "role"), "technician", "  with that role");
	is_str(jstr(&r, "studies.0"), "MASC", "  and study");
	resp_free(&r);

	api(t, "POST", "/api/v1/users", t->admin_token,
	    "{\"username\":\"tina\",\"password\":\"other-password\",\"role\":\"manager\"}", &r);
	ok(is_problem(&r, 409), "the same user name again is a 409 problem");
	resp_free(&r);

	api(t, "POST", "/api/v1/users", t->admin_token,
	    "{\"username\":\"ghost\",\"password\":\"bench-password\",\"role\":\"auditor\","
	    "\"studies\":[\"NOPE\"]}",
	    &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "studies"),
	   "an unknown study is a 400 naming studies");
	resp_free(&r);
	char *n = sql_value(t, "SELECT count(*) FROM users WHERE username = 'ghost'", &ok_sql);
	is_str(n, "0", "  and leaves no half-made user");
	free(n);

	api(t, "POST", "/api/v1/users", t->admin_token,
	    "{\"username\":\"Bad Name\",\"password\":\"bench-password\",\"role\":\"auditor\"}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "username"),
	   "a user name with spaces is a 400");
	resp_free(&r);

	api(t, "POST", "/api/v1/users", t->admin_token,
	    "{\"username\":\"audrey\",\"password\":\"audit-password\",\"role\":\"auditor\"}", &r);
	is_int(r.status, 201, "admin creates an auditor for all studies");
	resp_free(&r);

	is_int(login(t, "tina", "bench-password", tech), 0, "the technician logs in");
	is_int(login(t, "audrey", "audit-password", aud), 0, "the auditor logs in");

	api(t, "POST", "/api/v1/users", tech,
	    "{\"username\":\"eve\",\"password\":\"bench-password\",\"role\":\"admin\"}", &r);
	ok(is_problem(&r, 403), "a technician may not create users: 403");
	resp_free(&r);
	n = sql_value(t, "SELECT count(*) FROM users WHERE username = 'eve'", &ok_sql);
	is_str(n, "0", "  and nothing was created");
	free(n);

	api(t, "GET", "/api/v1/users", aud, NULL, &r);
	ok(is_problem(&r, 403), "an auditor may not list users: 403");
	resp_free(&r);

	api(t, "GET", "/api/v1/users", t->admin_token, NULL, &r);
	is_int(r.status, 200, "admin lists users");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 3, "  all three");
	/* "password_change_required" is a flag, not a secret: look for the hash itself. */
	ok(strstr(r.body, "argon2") == NULL && strstr(r.body, "password_hash") == NULL,
	   "  without password hashes");
	resp_free(&r);

	api(t, "GET", "/api/v1/sessions/current", tech, NULL, &r);
	is_str(jstr(&r, "user.studies.0"), "MASC", "the technician's session lists its study");
	resp_free(&r);
}

static void
service_tokens(struct tenv *t)
{
	struct resp r;
	char token[128] = "";

	api(t, "POST", "/api/v1/users", t->admin_token,
	    "{\"username\":\"zebra1\",\"password\":\"printer-password\",\"role\":\"printer\"}", &r);
	resp_free(&r);
	api(t, "POST", "/api/v1/tokens", t->admin_token,
	    "{\"username\":\"zebra1\",\"label\":\"bench 2 printer\"}", &r);
	is_int(r.status, 201, "admin issues a service token");
	ok(jstr(&r, "token") != NULL, "  and gets it once");
	ok(cJSON_IsNull(cJSON_GetObjectItem(r.json, "expires_at")), "  without expiry");
	if (jstr(&r, "token"))
		snprintf(token, sizeof(token), "%s", jstr(&r, "token"));
	resp_free(&r);

	api(t, "GET", "/api/v1/sessions/current", token, NULL, &r);
	is_str(jstr(&r, "user.role"), "printer", "the service token acts as the printer account");
	resp_free(&r);

	api(t, "POST", "/api/v1/tokens", t->admin_token,
	    "{\"username\":\"nobody\",\"label\":\"x\"}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "username"),
	   "a token for an unknown user is a 400");
	resp_free(&r);

	bool ok_sql;
	free(sql_value(t, "UPDATE users SET disabled_at = now() WHERE username = 'zebra1'",
	               &ok_sql));
	long status = 0;
	for (long long deadline = mono_ms() + 30000; mono_ms() < deadline && status != 401;) {
		api(t, "GET", "/api/v1/sessions/current", token, NULL, &r);
		status = r.status;
		resp_free(&r);
		if (status != 401)
			msleep(25);
	}
	is_int(status, 401, "disabling the account in the database stops its cached token");
}

static void
throttling(struct tenv *t)
{
	struct resp r;
	int statuses[7];

	for (int i = 0; i < 7; i++) {
		api(t, "POST", "/api/v1/sessions", NULL,
		    "{\"username\":\"audrey\",\"password\":\"not-her-password\"}", &r);
		statuses[i] = (int)r.status;
		if (i == 6) {
			ok(is_problem(&r, 429), "the seventh failed login is a 429 problem");
			ok(atoi(r.retry_after) > 0 && atoi(r.retry_after) <= 900,
			   "  with Retry-After in seconds (%s)", r.retry_after);
		}
		resp_free(&r);
	}
	ok(statuses[0] == 401 && statuses[4] == 401 && statuses[5] == 429,
	   "five failures answer 401, the sixth attempt 429");

	api(t, "POST", "/api/v1/sessions", NULL,
	    "{\"username\":\"audrey\",\"password\":\"audit-password\"}", &r);
	ok(is_problem(&r, 429), "while throttled even the right password is refused from there");
	resp_free(&r);

	bool ok_sql;
	char *n = sql_value(t,
	                    "SELECT failures FROM login_throttle"
	                    " WHERE scope = 'pair' AND username = 'audrey' AND addr = '127.0.0.1'",
	                    &ok_sql);
	ok(n != NULL && atoi(n) == 5, "the count is kept in PostgreSQL, shared by every daemon");
	free(n);

	/* Another user from the same address is not locked out by audrey's typos. */
	char token[128];
	is_int(login(t, "admin", "admin-password", token), 0, "another user still logs in");
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "sessions", argc, argv);
	login_logout(&t);
	logout_everywhere(&t);
	users_and_roles(&t);
	service_tokens(&t);
	throttling(&t);
	tenv_teardown(&t);
	return tap_done();
}
