/*
 * test_passwords.c — changing a password ends the account's other sessions
 * and tokens at once, in every daemon (issue 23, finding 7): a user changes
 * their own (with the current one), an admin resets another's or ends all
 * of its sessions, `biobankd user passwd` does it from the shell. Tokens
 * cached by a second daemon on the same database are refused there right
 * after the change made through the first; its token cache would trust them
 * for an hour (token_cache_ttl 3600), so only the revocation can explain it.
 */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

static struct tenv t;
static struct daemon d2;

static long
status_of(const char *base, const char *token)
{
	struct resp r;

	http(base, "GET", "/api/v1/sessions/current", token, NULL, NULL, 0, &r);
	long s = r.status;
	resp_free(&r);
	return s;
}

/* How long (ms) until base refuses token, polling; -1 if it still takes it after 2 s. */
static long
refused_after(const char *base, const char *token)
{
	long long start = mono_ms();

	for (;;) {
		if (status_of(base, token) == 401)
			return (long)(mono_ms() - start);
		if (mono_ms() - start > 2000)
			return -1;
		msleep(5);
	}
}

static long
put(const char *path, const char *token, const char *json, struct resp *r)
{
	http(t.d.url, "PUT", path, token, NULL, json, strlen(json), r);
	return r->status;
}

static void
own_password(void)
{
	char s1[128], s2[128], svc[128] = "", s3[128];
	struct resp r;

	if (make_user(&t, "frank", "technician", NULL, s1) != 0)
		return;
	login(&t, "frank", "password-frank", s2);
	api(&t, "POST", "/api/v1/tokens", t.admin_token,
	    "{\"username\":\"frank\",\"label\":\"frank's script\"}", &r);
	if (jstr(&r, "token"))
		snprintf(svc, sizeof(svc), "%s", jstr(&r, "token"));
	resp_free(&r);
	ok(status_of(d2.url, s1) == 200 && status_of(d2.url, s2) == 200 &&
	       status_of(d2.url, svc) == 200,
	   "frank's two sessions and service token work on daemon 2 (and are in its cache)");

	long st = put("/api/v1/sessions/current/password", s1,
	              "{\"current_password\":\"password-frank\","
	              "\"new_password\":\"franks-new-password\"}",
	              &r);
	is_int(st, 200, "frank changes his own password through daemon 1");
	is_int((long)jnum(&r, "ended", -1), 2, "  ending his 2 other sessions and tokens");
	resp_free(&r);
	long ms2 = refused_after(d2.url, s2), mssvc = refused_after(d2.url, svc);
	ok(ms2 >= 0 && mssvc >= 0,
	   "daemon 2 refuses the other session and the service token right after (%ld, %ld ms)",
	   ms2, mssvc);
	is_int(status_of(t.d.url, s2), 401, "  so does daemon 1");
	is_int(status_of(t.d.url, s1), 200, "the session that changed it goes on, on daemon 1");
	is_int(status_of(d2.url, s1), 200, "  and on daemon 2");
	is_int(login(&t, "frank", "password-frank", s3), 401, "the old password is refused");
	is_int(login(&t, "frank", "franks-new-password", s3), 0, "the new one logs in");

	st =
	    put("/api/v1/sessions/current/password", s1,
	        "{\"current_password\":\"not-his-password\",\"new_password\":\"whatever-pw\"}", &r);
	ok(is_problem(&r, 403) && jstr(&r, "code") &&
	       strcmp(jstr(&r, "code"), "wrong-password") == 0,
	   "a wrong current password: 403 wrong-password");
	resp_free(&r);
	is_int(status_of(t.d.url, s3), 200, "  which ends nothing");
	put("/api/v1/sessions/current/password", s1,
	    "{\"current_password\":\"franks-new-password\",\"new_password\":\"short\"}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "new_password"),
	   "a new password under 8 characters: 400 naming new_password");
	resp_free(&r);

	/* The current password is throttled like a login. */
	char g[128];
	if (make_user(&t, "gina", "auditor", NULL, g) == 0) {
		long last = 0;
		int wrong = 0;
		for (int i = 0; i < 6; i++) {
			last = put("/api/v1/sessions/current/password", g,
			           "{\"current_password\":\"guess-password\","
			           "\"new_password\":\"ginas-new-password\"}",
			           &r);
			wrong += last == 403;
			resp_free(&r);
		}
		ok(wrong == 5 && last == 429,
		   "guessing the current password: 5 wrong, then 429 (%d, %ld)", wrong, last);
	}

	bool ok_sql;
	char *v = sql_value(&t,
	                    "SELECT count(*) FROM audit_log WHERE entity = 'user'"
	                    " AND entity_id = 'frank' AND action = 'update'"
	                    " AND after::text NOT LIKE '%argon2%'",
	                    &ok_sql);
	ok(v != NULL && atoi(v) >= 1, "the change is in the audit log, without the hash");
	free(v);
}

static void
admin_reset(void)
{
	char s1[128], s2[128], tech[128];
	struct resp r;

	login(&t, "frank", "franks-new-password", s1);
	is_int(status_of(d2.url, s1), 200, "frank's session is cached by daemon 2");
	long st = put("/api/v1/users/frank/password", t.admin_token,
	              "{\"password\":\"reset-by-admin\"}", &r);
	is_int(st, 200, "the admin resets frank's password");
	ok(jnum(&r, "ended", 0) >= 1, "  ending every session of his (%.0f)", jnum(&r, "ended", 0));
	resp_free(&r);
	long ms = refused_after(d2.url, s1);
	ok(ms >= 0, "daemon 2 refuses frank's session right after (%ld ms)", ms);
	is_int(login(&t, "frank", "reset-by-admin", s2), 0, "frank logs in with the new password");

	st = put("/api/v1/users/nosuch/password", t.admin_token, "{\"password\":\"whatever-pw\"}",
	         &r);
	ok(is_problem(&r, 404) && jstr(&r, "code") &&
	       strcmp(jstr(&r, "code"), "user-not-found") == 0,
	   "no such user: 404 user-not-found");
	resp_free(&r);
	if (make_user(&t, "hank", "technician", NULL, tech) == 0) {
		st = put("/api/v1/users/frank/password", tech, "{\"password\":\"by-a-technician\"}",
		         &r);
		ok(is_problem(&r, 403), "a technician may not reset a password: 403");
		resp_free(&r);
	}

	/* Every session and token of an account, ended by an admin. */
	is_int(status_of(d2.url, s2), 200, "frank's new session is cached by daemon 2");
	http(t.d.url, "DELETE", "/api/v1/users/frank/tokens", t.admin_token, NULL, NULL, 0, &r);
	is_int(r.status, 200, "the admin ends all of frank's sessions and tokens");
	is_int((long)jnum(&r, "ended", -1), 1, "  (one)");
	resp_free(&r);
	ms = refused_after(d2.url, s2);
	ok(ms >= 0, "daemon 2 refuses it right after (%ld ms)", ms);
	http(t.d.url, "DELETE", "/api/v1/users/nosuch/tokens", t.admin_token, NULL, NULL, 0, &r);
	ok(is_problem(&r, 404), "ending the sessions of no such user: 404");
	resp_free(&r);
	is_int(login(&t, "frank", "reset-by-admin", s2), 0, "frank may log in again");
}

static void
cli_passwd(void)
{
	char s[128], dburl[600], *out = NULL;

	if (login(&t, "frank", "reset-by-admin", s) != 0)
		return;
	is_int(status_of(d2.url, s), 200, "frank's session is cached by daemon 2");
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t.owner_conninfo);
	const char *env[] = { dburl, NULL };
	const char *cmd[] = { t.biobankd, "user", "passwd", "frank", NULL };
	is_int(run_cmd(cmd, env, "set-from-the-shell\n", &out), 0, "biobankd user passwd frank: %s",
	       out ? out : "");
	free(out);
	long ms = refused_after(d2.url, s);
	ok(ms >= 0, "daemon 2 refuses frank's session right after (%ld ms)", ms);
	is_int(login(&t, "frank", "set-from-the-shell", s), 0, "the new password logs in");
	is_int(run_cmd(cmd, env, "short\n", &out), 2, "a password under 8 characters: exit 2");
	free(out);
	const char *none[] = { t.biobankd, "user", "passwd", "nosuchuser", NULL };
	is_int(run_cmd(none, env, "long-enough-pw\n", &out), 1, "no such user: exit 1");
	ok(out != NULL && strstr(out, "no user") != NULL, "  saying so: %s", out ? out : "");
	free(out);
}

/*
 * An admin limited to one study tries to reach past it through the
 * accounts: an account of every study, a token or a new password for the
 * unlimited admin. Each is 403 every-study-only, and no account, token or
 * password changes.
 */
static void
limited_admin(void)
{
	char ssc_admin[128];
	struct resp r;

	sql_exec(&t,
	         "INSERT INTO studies (code, name) VALUES ('SSC', 'Systemic sclerosis cohort')");
	if (make_user(&t, "ssc-admin", "admin", "[\"SSC\"]", ssc_admin) != 0) {
		ok(false, "an admin limited to SSC");
		return;
	}
	long users = sql_int(&t, "SELECT count(*) FROM users");
	long tokens = sql_int(&t, "SELECT count(*) FROM tokens WHERE revoked_at IS NULL");
	char *hash_before = sql_value(
	    &t, "SELECT password_hash FROM users WHERE username = 'admin'", &(bool){ false });

	api(&t, "POST", "/api/v1/users", ssc_admin,
	    "{\"username\":\"everywhere\",\"password\":\"password-everywhere\","
	    "\"role\":\"admin\"}",
	    &r);
	ok(is_problem(&r, 403), "an SSC admin making an admin of every study: 403");
	is_str(jstr(&r, "code"), "every-study-only", "  code every-study-only");
	resp_free(&r);
	api(&t, "POST", "/api/v1/tokens", ssc_admin, "{\"username\":\"admin\",\"label\":\"mine\"}",
	    &r);
	ok(is_problem(&r, 403), "  a token for the admin of every study: 403");
	resp_free(&r);
	is_int(
	    put("/api/v1/users/admin/password", ssc_admin, "{\"password\":\"taken-over-pw\"}", &r),
	    403, "  a new password for that admin: 403");
	resp_free(&r);
	http(t.d.url, "DELETE", "/api/v1/users/admin/tokens", ssc_admin, NULL, NULL, 0, &r);
	is_int(r.status, 403, "  ending that admin's sessions: 403");
	resp_free(&r);
	api(&t, "GET", "/api/v1/users", ssc_admin, NULL, &r);
	is_int(r.status, 403, "  the list of every account: 403");
	resp_free(&r);

	is_int(sql_int(&t, "SELECT count(*) FROM users"), users, "  no account was made");
	is_int(sql_int(&t, "SELECT count(*) FROM tokens WHERE revoked_at IS NULL"), tokens,
	       "  no token was issued or ended");
	char *hash_after = sql_value(&t, "SELECT password_hash FROM users WHERE username = 'admin'",
	                             &(bool){ false });
	ok(hash_before != NULL && hash_after != NULL && strcmp(hash_before, hash_after) == 0,
	   "  the admin's password is unchanged");
	free(hash_before);
	free(hash_after);
}

int
main(int argc, char **argv)
{
	tenv_setup(&t, "passwords", argc, argv);
	const char *cache[] = { "--token-cache-ttl=3600", NULL };
	if (daemon_start(&t, &d2, cache) != 0) {
		printf("Bail out! the second daemon did not start\n");
		tenv_teardown(&t);
		return 1;
	}
	own_password();
	admin_reset();
	cli_passwd();
	limited_admin();
	is_int(daemon_stop(&d2), 0, "the second daemon stops cleanly");
	tenv_teardown(&t);
	return tap_done();
}
