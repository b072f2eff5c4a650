/*
 * test_accounts.c — account administration (issue 16, "Accounts"), from what
 * people do: an admin disables a technician in the middle of a shift and
 * the bench session stops at its next request, on both daemons of the site;
 * the technician is enabled again and logs in; an admin changes roles and
 * study limits; the last admin of every study tries to demote or limit
 * themselves; two admins demote each other at once; a printer's service
 * token is listed and revoked; a reset password must be changed before
 * anything else; a wrong old password counts toward the login throttle; and
 * every other role, a study-limited admin and no token at all try every
 * new route. Each refusal is checked to have left the database as it was.
 *
 * The second daemon caches tokens for an hour (token_cache_ttl 3600): only
 * the revocation's NOTIFY can make it refuse a token it has seen.
 */
#include "testlib.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static struct tenv t;
static struct daemon d2;

/* A boolean at a JSON path: 1, 0, or -1 when it is not a boolean. */
static int
jbool(const struct resp *r, const char *path)
{
	const cJSON *j = r->json;
	char key[128];

	while (j != NULL && *path) {
		size_t n = strcspn(path, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		j = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, atoi(key))
		                     : cJSON_GetObjectItemCaseSensitive(j, key);
		path += n + (path[n] == '.');
	}
	return cJSON_IsBool(j) ? cJSON_IsTrue(j) : -1;
}

static bool
has_code(const struct resp *r, long status, const char *code)
{
	bool good = is_problem(r, status) && jstr(r, "code") && strcmp(jstr(r, "code"), code) == 0;

	if (!good)
		tap_diag("  want %ld %s, got %ld %s", status, code, r->status,
		         r->body ? r->body : "");
	return good;
}

/* One request to base; the answer's status (r kept for the caller to read and free). */
static long
req(const char *base, const char *method, const char *path, const char *token, const char *json,
    struct resp *r)
{
	http(base, method, path, token, NULL, json, json ? strlen(json) : 0, r);
	return r->status;
}

/* The status a token gets for a request that any role may make. */
static long
whoami(const char *base, const char *token)
{
	struct resp r;
	long s = req(base, "GET", "/api/v1/sessions/current", token, NULL, &r);

	resp_free(&r);
	return s;
}

/* How long (ms) until base refuses token with 401, polling; -1 after 2 s. */
static long
refused_after(const char *base, const char *token)
{
	long long start = mono_ms();

	for (;;) {
		if (whoami(base, token) == 401)
			return (long)(mono_ms() - start);
		if (mono_ms() - start > 2000)
			return -1;
		msleep(5);
	}
}

/*
 * How long (ms) until base answers GET path for token with a 200 whose body
 * holds text, polling; -1 after 2 s. Another daemon learns of a change by
 * the NOTIFY sent at COMMIT, milliseconds after the answer to the change.
 */
static long
seen_after(const char *base, const char *token, const char *path, const char *text)
{
	long long start = mono_ms();

	for (;;) {
		struct resp r;
		bool seen = req(base, "GET", path, token, NULL, &r) == 200 && r.body != NULL &&
		            strstr(r.body, text) != NULL;

		resp_free(&r);
		if (seen)
			return (long)(mono_ms() - start);
		if (mono_ms() - start > 2000)
			return -1;
		msleep(5);
	}
}

static long
audit_rows(void)
{
	return sql_int(&t, "SELECT count(*) FROM audit_log");
}

/* What a refused account change must leave as it was: users, their studies, tokens, log. */
static char *
accounts_state(void)
{
	bool ok_sql;

	return sql_value(
	    &t,
	    "SELECT concat_ws(' ',"
	    " (SELECT md5(string_agg(concat_ws(',', id, username, role, disabled_at,"
	    "   password_hash, password_change_required), ';' ORDER BY id)) FROM users),"
	    " (SELECT md5(COALESCE(string_agg(user_id || '.' || study_id, ';'"
	    "   ORDER BY user_id, study_id), '')) FROM user_studies),"
	    " (SELECT count(*) FROM tokens WHERE revoked_at IS NULL),"
	    " (SELECT count(*) FROM audit_log))",
	    &ok_sql);
}

static bool
unchanged(const char *before)
{
	char *after = accounts_state();
	bool same = before != NULL && after != NULL && strcmp(before, after) == 0;

	if (!same)
		tap_diag("  accounts before %s, after %s", before ? before : "?",
		         after ? after : "?");
	free(after);
	return same;
}

/*
 * Tina, a technician, works at the bench (her session is in both daemons'
 * caches). An admin disables her account: her very next request is 401
 * account-disabled, on both daemons. She cannot log in; enabled again, she
 * logs in, and her old session stays ended.
 */
static void
disable_mid_shift(void)
{
	char tina[128], again[128];
	struct resp r;

	if (make_user(&t, "tina", "technician", NULL, tina) != 0)
		return;
	ok(whoami(t.d.url, tina) == 200 && whoami(d2.url, tina) == 200,
	   "tina's bench session works on both daemons (and daemon 2 caches it)");
	long logged = audit_rows();

	req(t.d.url, "PATCH", "/api/v1/users/tina", t.admin_token, "{\"disabled\":true}", &r);
	is_int(r.status, 200, "the admin disables tina mid-shift");
	is_int(jbool(&r, "disabled"), 1, "  the answer says disabled");
	ok(jstr(&r, "disabled_at") != NULL, "  and since when");
	is_int((long)jnum(&r, "ended", -1), 1, "  her one session ended");
	resp_free(&r);

	req(t.d.url, "GET", "/api/v1/specimens", tina, NULL, &r);
	ok(has_code(&r, 401, "account-disabled"),
	   "her next request on daemon 1 is 401 account-disabled at once");
	resp_free(&r);
	long ms = refused_after(d2.url, tina);
	ok(ms >= 0, "daemon 2 refuses her cached session right after (%ld ms)", ms);
	req(d2.url, "GET", "/api/v1/specimens", tina, NULL, &r);
	ok(has_code(&r, 401, "account-disabled"), "  with the same code");
	resp_free(&r);

	api(&t, "POST", "/api/v1/sessions", NULL,
	    "{\"username\":\"tina\",\"password\":\"password-tina\"}", &r);
	ok(has_code(&r, 401, "account-disabled"),
	   "she cannot log in: the right password gets 401 account-disabled");
	resp_free(&r);
	api(&t, "POST", "/api/v1/sessions", NULL,
	    "{\"username\":\"tina\",\"password\":\"a-guess\"}", &r);
	ok(has_code(&r, 401, "unauthorized"),
	   "  a wrong one gets plain 401 unauthorized (nothing told to a guesser)");
	resp_free(&r);

	is_int(sql_int(&t,
	               "SELECT count(*) FROM audit_log WHERE entity = 'user'"
	               " AND entity_id = 'tina' AND action = 'update' AND actor = 'admin'"
	               " AND before->>'disabled_at' IS NULL AND after->>'disabled_at' IS NOT NULL"
	               " AND after::text NOT LIKE '%argon2%'"),
	       1, "the audit log has who disabled her, before and after, without the hash");
	ok(sql_int(&t, "SELECT count(*) FROM audit_log WHERE entity = 'token' AND actor = 'admin'"
	               " AND after->>'revoked_at' IS NOT NULL AND NOT (after ? 'hash')") >= 1,
	   "  and her session's end, without its hash");
	ok(audit_rows() > logged, "  (the log grew)");

	req(t.d.url, "PATCH", "/api/v1/users/tina", t.admin_token, "{\"disabled\":true}", &r);
	ok(r.status == 200 && jnum(&r, "ended", -1) == 0,
	   "disabling her again changes nothing (200, ended 0)");
	resp_free(&r);

	req(t.d.url, "PATCH", "/api/v1/users/tina", t.admin_token, "{\"disabled\":false}", &r);
	ok(r.status == 200 && jbool(&r, "disabled") == 0 && jstr(&r, "disabled_at") == NULL,
	   "the admin enables tina again");
	resp_free(&r);
	req(t.d.url, "GET", "/api/v1/specimens", tina, NULL, &r);
	ok(has_code(&r, 401, "unauthorized"), "  her old session stays ended (401 unauthorized)");
	resp_free(&r);
	is_int(login(&t, "tina", "password-tina", again), 0, "  she logs in again");
	ok(whoami(t.d.url, again) == 200 && whoami(d2.url, again) == 200,
	   "  and works on both daemons");
}

/* Role and study limits; each change reaches her session at once, on both daemons. */
static void
roles_and_studies(void)
{
	char tina[128];
	struct resp r;

	if (login(&t, "tina", "password-tina", tina) != 0)
		return;
	sql_exec(&t, "INSERT INTO studies (code, name) VALUES ('MASC', 'Myositis cohort'),"
	             " ('SSC', 'Systemic sclerosis cohort')");
	whoami(d2.url, tina); /* cached */

	req(t.d.url, "PATCH", "/api/v1/users/tina", t.admin_token, "{\"role\":\"manager\"}", &r);
	ok(r.status == 200 && jstr(&r, "role") && strcmp(jstr(&r, "role"), "manager") == 0,
	   "the admin makes tina a manager");
	resp_free(&r);
	req(t.d.url, "POST", "/api/v1/specimen-types", tina,
	    "{\"code\":\"saliva\",\"name\":\"Saliva\"}", &r);
	is_int(r.status, 201, "  her session may do a manager's work at once on daemon 1");
	resp_free(&r);
	long ms = seen_after(d2.url, tina, "/api/v1/sessions/current", "\"manager\"");
	ok(ms >= 0, "  daemon 2, which cached her session, knows right after (%ld ms)", ms);
	is_int(sql_int(&t, "SELECT count(*) FROM audit_log WHERE entity = 'user'"
	                   " AND entity_id = 'tina' AND before->>'role' = 'technician'"
	                   " AND after->>'role' = 'manager'"),
	       1, "  the audit log has the role before and after");

	req(t.d.url, "PATCH", "/api/v1/users/tina", t.admin_token,
	    "{\"role\":\"technician\",\"studies\":[\"MASC\"]}", &r);
	ok(r.status == 200 && jstr(&r, "studies.0") && strcmp(jstr(&r, "studies.0"), "MASC") == 0 &&
	       jstr(&r, "studies.1") == NULL,
	   "the admin makes her a technician of MASC only");
	resp_free(&r);
	req(t.d.url, "GET", "/api/v1/studies", tina, NULL, &r);
	ok(r.status == 200 && strstr(r.body, "\"MASC\"") && !strstr(r.body, "\"SSC\""),
	   "  daemon 1 shows her MASC alone at once");
	resp_free(&r);
	ms = seen_after(d2.url, tina, "/api/v1/sessions/current", "\"studies\":[\"MASC\"]");
	ok(ms >= 0, "  daemon 2 right after (%ld ms)", ms);
	/* /sessions/current reads the account itself; a list goes by the cached token,
	 * which the NOTIFY reaches a few milliseconds later. */
	bool alone = false;
	long long since = mono_ms();
	while (!alone && mono_ms() - since < 2000) {
		req(d2.url, "GET", "/api/v1/studies", tina, NULL, &r);
		alone = r.status == 200 && strstr(r.body, "\"MASC\"") && !strstr(r.body, "\"SSC\"");
		resp_free(&r);
		if (!alone)
			msleep(5);
	}
	ok(alone, "  and lists MASC alone (%lld ms)", mono_ms() - since);
	req(d2.url, "POST", "/api/v1/specimen-types", tina,
	    "{\"code\":\"urine\",\"name\":\"Urine\"}", &r);
	is_int(r.status, 403, "  and no longer lets her do a manager's work");
	resp_free(&r);
	ok(sql_int(&t, "SELECT count(*) FROM audit_log WHERE entity = 'user_study'"
	               " AND action = 'create'") >= 1,
	   "  the new limit is in the audit log");

	req(t.d.url, "PATCH", "/api/v1/users/tina", t.admin_token, "{\"studies\":[]}", &r);
	ok(r.status == 200 && jstr(&r, "studies.0") == NULL, "an empty list: every study again");
	resp_free(&r);

	/* Mistakes an admin makes: each names what is wrong and changes nothing. */
	char *before = accounts_state();
	req(t.d.url, "PATCH", "/api/v1/users/tina", t.admin_token, "{\"role\":\"techncian\"}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "role"), "a role typo: 400 naming role");
	resp_free(&r);
	req(t.d.url, "PATCH", "/api/v1/users/tina", t.admin_token,
	    "{\"role\":\"manager\",\"studies\":[\"MASC\",\"MSAC\"]}", &r);
	ok(has_code(&r, 400, "unknown-study") && problem_names_field(&r, "studies") &&
	       jstr(&r, "study") && strcmp(jstr(&r, "study"), "MSAC") == 0,
	   "a study typo: 400 unknown-study naming studies and MSAC");
	resp_free(&r);
	req(t.d.url, "PATCH", "/api/v1/users/tina", t.admin_token, "{\"disabled\":\"yes\"}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "disabled"),
	   "disabled as a string: 400 naming disabled");
	resp_free(&r);
	req(t.d.url, "PATCH", "/api/v1/users/tina", t.admin_token, "{\"studies\":null}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "studies"),
	   "studies null (every study or no change?): 400 naming studies");
	resp_free(&r);
	req(t.d.url, "PATCH", "/api/v1/users/tina", t.admin_token, "{\"password\":\"sneaky-pw\"}",
	    &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "password"),
	   "a password through PATCH: 400 naming the unknown field");
	resp_free(&r);
	req(t.d.url, "PATCH", "/api/v1/users/tina", t.admin_token, "{}", &r);
	ok(has_code(&r, 400, "value-required"), "nothing to change: 400 value-required");
	resp_free(&r);
	req(t.d.url, "PATCH", "/api/v1/users/tinna", t.admin_token, "{\"role\":\"auditor\"}", &r);
	ok(has_code(&r, 404, "user-not-found") && jstr(&r, "username") &&
	       strcmp(jstr(&r, "username"), "tinna") == 0,
	   "an unknown user name: 404 user-not-found naming it");
	resp_free(&r);
	ok(unchanged(before), "  none of these changed an account, a token or the log");
	free(before);

	req(t.d.url, "GET", "/api/v1/users/TINA", t.admin_token, NULL, &r);
	ok(r.status == 200 && jstr(&r, "username") && strcmp(jstr(&r, "username"), "tina") == 0 &&
	       jbool(&r, "disabled") == 0 && jbool(&r, "password_change_required") == 0 &&
	       strstr(r.body, "argon2") == NULL && strstr(r.body, "password_hash") == NULL,
	   "GET /users/TINA shows tina (names compare in lower case), no hash");
	resp_free(&r);
	req(t.d.url, "GET", "/api/v1/users/nosuch", t.admin_token, NULL, &r);
	ok(has_code(&r, 404, "user-not-found"), "GET /users/nosuch: 404 user-not-found");
	resp_free(&r);
}

/* The last admin of every study cannot demote, limit or disable themselves. */
static void
last_admin(void)
{
	char ada[128], lim[128], off[128];
	struct resp r;
	char *before = accounts_state();

	req(t.d.url, "PATCH", "/api/v1/users/admin", t.admin_token, "{\"role\":\"manager\"}", &r);
	ok(has_code(&r, 409, "last-admin") && problem_names_field(&r, "role"),
	   "the last admin demoting himself: 409 last-admin naming role");
	ok(r.body && strstr(r.body, "another") != NULL, "  saying to make another admin first");
	resp_free(&r);
	req(t.d.url, "PATCH", "/api/v1/users/admin", t.admin_token, "{\"studies\":[\"SSC\"]}", &r);
	ok(has_code(&r, 409, "last-admin") && problem_names_field(&r, "studies"),
	   "  limiting himself to a study: 409 last-admin naming studies");
	resp_free(&r);
	req(t.d.url, "PATCH", "/api/v1/users/admin", t.admin_token, "{\"disabled\":true}", &r);
	ok(has_code(&r, 409, "own-account") && problem_names_field(&r, "disabled"),
	   "  disabling himself: 409 own-account");
	resp_free(&r);
	ok(unchanged(before), "  nothing changed");
	free(before);
	is_int(whoami(t.d.url, t.admin_token), 200, "  and his session goes on");

	/* Admins who cannot manage accounts do not count: limited, disabled. */
	if (make_user(&t, "lim", "admin", "[\"SSC\"]", lim) != 0 ||
	    make_user(&t, "off", "admin", NULL, off) != 0)
		return;
	req(t.d.url, "PATCH", "/api/v1/users/off", t.admin_token, "{\"disabled\":true}", &r);
	is_int(r.status, 200, "with an SSC admin and a disabled admin beside him");
	resp_free(&r);
	req(t.d.url, "PATCH", "/api/v1/users/admin", t.admin_token, "{\"role\":\"manager\"}", &r);
	ok(has_code(&r, 409, "last-admin"), "  he is still the last one: 409 last-admin");
	resp_free(&r);
	req(t.d.url, "PATCH", "/api/v1/users/off", lim, "{\"disabled\":false}", &r);
	ok(has_code(&r, 403, "every-study-only"),
	   "  the SSC admin may not enable the other: 403 every-study-only");
	resp_free(&r);

	/* With a second admin of every study, stepping down is allowed. */
	if (make_user(&t, "ada", "admin", NULL, ada) != 0)
		return;
	req(t.d.url, "PATCH", "/api/v1/users/ada", ada, "{\"role\":\"manager\"}", &r);
	ok(r.status == 200, "ada, a second admin, steps down to manager");
	resp_free(&r);
	req(t.d.url, "PATCH", "/api/v1/users/ada", ada, "{\"role\":\"admin\"}", &r);
	ok(has_code(&r, 403, "forbidden"), "  and at once cannot make herself admin again: 403");
	resp_free(&r);
	req(t.d.url, "PATCH", "/api/v1/users/ada", t.admin_token, "{\"role\":\"admin\"}", &r);
	is_int(r.status, 200, "  the admin makes her admin again");
	resp_free(&r);
}

struct demotion {
	const char *path, *token;
	long status;
	char code[64];
};

static void *
demote(void *arg)
{
	struct demotion *d = arg;
	struct resp r;

	req(t.d.url, "PATCH", d->path, d->token, "{\"role\":\"manager\"}", &r);
	d->status = r.status;
	snprintf(d->code, sizeof(d->code), "%s", jstr(&r, "code") ? jstr(&r, "code") : "");
	resp_free(&r);
	return NULL;
}

/*
 * Two admins of every study, alone, demote each other at the same moment,
 * five times over: each time exactly one wins, never both (which would
 * leave nobody to manage accounts). The other gets 409 last-admin when its
 * request was past the role check before the winner committed (usual:
 * both wait on the same lock), else 403, being a manager by then.
 */
static void
demote_each_other(void)
{
	char bob[128], carl[128];
	struct resp r;
	int races = 0, exactly_one = 0, refused_409 = 0;

	if (make_user(&t, "bob", "admin", NULL, bob) != 0 ||
	    make_user(&t, "carl", "admin", NULL, carl) != 0)
		return;
	req(t.d.url, "PATCH", "/api/v1/users/ada", t.admin_token, "{\"role\":\"manager\"}", &r);
	resp_free(&r);
	req(t.d.url, "PATCH", "/api/v1/users/admin", bob, "{\"disabled\":true}", &r);
	is_int(r.status, 200, "bob disables the first admin: bob and carl are the last two");
	resp_free(&r);
	for (int i = 0; i < 5; i++) {
		struct demotion a = { "/api/v1/users/carl", bob, 0, "" },
		                b = { "/api/v1/users/bob", carl, 0, "" };
		pthread_t ta, tb;

		pthread_create(&ta, NULL, demote, &a);
		pthread_create(&tb, NULL, demote, &b);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		races++;
		long admins = sql_int(&t, "SELECT count(*) FROM users u WHERE role = 'admin'"
		                          " AND disabled_at IS NULL AND NOT EXISTS"
		                          " (SELECT 1 FROM user_studies s WHERE s.user_id = u.id)");
		const struct demotion *won = a.status == 200 ? &a : &b, *lost = won == &a ? &b : &a;
		bool one = won->status == 200 && admins == 1 &&
		           ((lost->status == 409 && strcmp(lost->code, "last-admin") == 0) ||
		            (lost->status == 403 && strcmp(lost->code, "forbidden") == 0));
		refused_409 += one && lost->status == 409;
		exactly_one += one;
		if (!one)
			tap_diag("  race %d: bob->carl %ld %s, carl->bob %ld %s, %ld admins left",
			         i, a.status, a.code, b.status, b.code, admins);
		/* The winner makes the loser admin again. */
		const char *winner = a.status == 200 ? bob : carl;
		const char *loser = a.status == 200 ? "/api/v1/users/carl" : "/api/v1/users/bob";
		req(t.d.url, "PATCH", loser, winner, "{\"role\":\"admin\"}", &r);
		resp_free(&r);
	}
	is_int(exactly_one, races,
	       "two admins demoting each other at once: one wins, one admin is left, every time "
	       "(%d races, %d refused by the last-admin check itself)",
	       races, refused_409);
	req(t.d.url, "PATCH", "/api/v1/users/admin", bob, "{\"disabled\":false}", &r);
	is_int(r.status, 200, "bob enables the first admin again");
	resp_free(&r);
	is_int(login(&t, "admin", "admin-password", t.admin_token), 0, "  who logs in again");
}

/*
 * A printer's service token: listed without its secret, revoked by id, and
 * refused at once on both daemons. Ids that are not this server's service
 * tokens are 404.
 */
static void
printer_token(void)
{
	char zebra[128], token[128] = "", path[64], session_id[32] = "";
	struct resp r;

	if (make_user(&t, "zebra", "printer", NULL, zebra) != 0)
		return;
	api(&t, "POST", "/api/v1/tokens", t.admin_token,
	    "{\"username\":\"zebra\",\"label\":\"bench printer 2\"}", &r);
	if (jstr(&r, "token"))
		snprintf(token, sizeof(token), "%s", jstr(&r, "token"));
	long id = (long)jnum(&r, "id", 0);
	resp_free(&r);
	ok(whoami(t.d.url, token) == 200 && whoami(d2.url, token) == 200,
	   "the printer's token works on both daemons (daemon 2 caches it)");

	req(t.d.url, "GET", "/api/v1/tokens", t.admin_token, NULL, &r);
	bool listed = false;
	for (int i = 0; jnum(&r, "items.0.id", 0) > 0 && i < 1000; i++) {
		char p[32];

		snprintf(p, sizeof(p), "items.%d.id", i);
		if (jnum(&r, p, 0) == 0)
			break;
		if ((long)jnum(&r, p, 0) == id) {
			snprintf(p, sizeof(p), "items.%d.label", i);
			listed = jstr(&r, p) && strcmp(jstr(&r, p), "bench printer 2") == 0;
		}
	}
	ok(r.status == 200 && listed, "GET /tokens lists it with its label");
	ok(strstr(r.body, token) == NULL && strstr(r.body, "bb_") == NULL &&
	       strstr(r.body, "hash") == NULL && strstr(r.body, "\"token\"") == NULL,
	   "  and shows no token, no hash");
	ok(strstr(r.body, "\"kind\":\"session\"") == NULL && jstr(&r, "items.0.username") != NULL,
	   "  (service tokens only, each with its account)");
	resp_free(&r);
	req(t.d.url, "GET", "/api/v1/tokens?username=zebra", t.admin_token, NULL, &r);
	ok(r.status == 200 && (long)jnum(&r, "items.0.id", 0) == id &&
	       jnum(&r, "items.1.id", 0) == 0,
	   "GET /tokens?username=zebra: only zebra's");
	resp_free(&r);
	req(t.d.url, "GET", "/api/v1/tokens?username=zebar", t.admin_token, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "username"),
	   "  ?username=zebar (no such user): 400 naming username, not an empty list");
	resp_free(&r);
	req(t.d.url, "GET", "/api/v1/tokens?user=zebra", t.admin_token, NULL, &r);
	is_int(r.status, 400, "  ?user= (a mistyped filter): 400");
	resp_free(&r);

	/* Ids that are not this server's service tokens. */
	char *before = accounts_state();
	req(t.d.url, "DELETE", "/api/v1/tokens/999999", t.admin_token, NULL, &r);
	ok(has_code(&r, 404, "token-not-found"),
	   "revoking an id this server never issued (another site's): 404 token-not-found");
	resp_free(&r);
	req(t.d.url, "DELETE", "/api/v1/tokens/abc", t.admin_token, NULL, &r);
	ok(has_code(&r, 404, "token-not-found"), "  /tokens/abc: 404 token-not-found");
	resp_free(&r);
	req(t.d.url, "DELETE", "/api/v1/tokens/007", t.admin_token, NULL, &r);
	ok(has_code(&r, 404, "token-not-found"), "  /tokens/007: 404 (one spelling per id)");
	resp_free(&r);
	char *sid = sql_value(&t,
	                      "SELECT t.id FROM tokens t JOIN users u ON u.id = t.user_id"
	                      " WHERE u.username = 'zebra' AND t.kind = 'session'"
	                      " AND t.revoked_at IS NULL",
	                      &(bool){ false });
	if (sid)
		snprintf(session_id, sizeof(session_id), "%s", sid);
	free(sid);
	snprintf(path, sizeof(path), "/api/v1/tokens/%s", session_id);
	req(t.d.url, "DELETE", path, t.admin_token, NULL, &r);
	ok(has_code(&r, 404, "token-not-found"), "  a session's id: 404 (not a service token)");
	resp_free(&r);
	ok(unchanged(before), "  none of them ended anything");
	free(before);
	is_int(whoami(t.d.url, zebra), 200, "  the session works on");

	long logged = audit_rows();
	snprintf(path, sizeof(path), "/api/v1/tokens/%ld", id);
	req(t.d.url, "DELETE", path, t.admin_token, NULL, &r);
	ok(r.status == 200 && jstr(&r, "revoked_at") && jstr(&r, "username") &&
	       strcmp(jstr(&r, "username"), "zebra") == 0,
	   "the admin revokes the printer's token: 200 naming zebra");
	char revoked_at[64];
	snprintf(revoked_at, sizeof(revoked_at), "%s",
	         jstr(&r, "revoked_at") ? jstr(&r, "revoked_at") : "");
	resp_free(&r);
	req(t.d.url, "GET", "/api/v1/sessions/current", token, NULL, &r);
	ok(has_code(&r, 401, "unauthorized"),
	   "  the printer's next request on daemon 1: 401 at once");
	resp_free(&r);
	long ms = refused_after(d2.url, token);
	ok(ms >= 0, "  daemon 2 refuses it right after (%ld ms)", ms);
	is_int(whoami(t.d.url, zebra), 200, "  zebra's session is not touched");
	is_int(audit_rows(), logged + 1, "  one audit-log entry");
	is_int(
	    sql_intf(&t,
	             "SELECT count(*) FROM audit_log WHERE entity = 'token' AND entity_id = '%ld'"
	             " AND actor = 'admin' AND before->>'revoked_at' IS NULL"
	             " AND after->>'revoked_at' IS NOT NULL AND NOT (after ? 'hash')"
	             " AND position('%s' in after::text) = 0",
	             id, token),
	    1, "  with who, before and after, no hash, no token");

	req(t.d.url, "DELETE", path, t.admin_token, NULL, &r);
	ok(r.status == 200 && jstr(&r, "revoked_at") &&
	       strcmp(jstr(&r, "revoked_at"), revoked_at) == 0,
	   "revoking it again: 200, the same revoked_at");
	resp_free(&r);
	is_int(audit_rows(), logged + 1, "  and no second entry");
	req(t.d.url, "GET", "/api/v1/tokens?username=zebra", t.admin_token, NULL, &r);
	ok(r.status == 200 && jnum(&r, "items.0.id", 0) == 0, "  the list no longer shows it");
	resp_free(&r);
}

/*
 * A reset password must be changed before anything else: the session it
 * opens may see who it is, log out and change the password. Service tokens
 * issued by an admin are not held back.
 */
static void
reset_then_change(void)
{
	char s[128], svc[128] = "", old[128];
	struct resp r;

	if (login(&t, "tina", "password-tina", old) != 0)
		return;
	whoami(d2.url, old);
	req(t.d.url, "PUT", "/api/v1/users/tina/password", t.admin_token,
	    "{\"password\":\"temporary-pw-1\"}", &r);
	ok(r.status == 200 && jbool(&r, "password_change_required") == 1,
	   "the admin resets tina's password: to be changed at the next login");
	resp_free(&r);
	ok(refused_after(d2.url, old) >= 0, "  her sessions end, on daemon 2 too");
	req(t.d.url, "GET", "/api/v1/users", t.admin_token, NULL, &r);
	ok(r.status == 200 && strstr(r.body, "\"username\":\"tina\"") != NULL &&
	       strstr(r.body, "\"password_change_required\":true") != NULL &&
	       strstr(r.body, "argon2") == NULL,
	   "  the list of accounts shows it, and no hash");
	resp_free(&r);
	is_int(sql_int(&t, "SELECT count(*) FROM audit_log WHERE entity = 'user' AND entity_id ="
	                   " 'tina' AND after->>'password_change_required' = 'true'"
	                   " AND after::text NOT LIKE '%argon2%' AND after::text NOT LIKE"
	                   " '%temporary-pw%'"),
	       1, "  in the audit log, without the password or its hash");

	api(&t, "POST", "/api/v1/sessions", NULL,
	    "{\"username\":\"tina\",\"password\":\"temporary-pw-1\"}", &r);
	ok(r.status == 201 && jbool(&r, "user.password_change_required") == 1,
	   "she logs in with it: the answer says to change it");
	snprintf(s, sizeof(s), "%s", jstr(&r, "token") ? jstr(&r, "token") : "");
	resp_free(&r);
	req(t.d.url, "GET", "/api/v1/specimens", s, NULL, &r);
	ok(has_code(&r, 403, "password-change-required"),
	   "  anything else first: 403 password-change-required");
	resp_free(&r);
	req(d2.url, "POST", "/api/v1/participants", s,
	    "{\"study\":\"MASC\",\"code\":\"P9\",\"sex\":\"female\",\"birth_year\":1970,"
	    "\"diagnosis\":\"DM\"}",
	    &r);
	ok(has_code(&r, 403, "password-change-required"), "  on daemon 2 too, writes as well");
	resp_free(&r);
	is_int(sql_int(&t, "SELECT count(*) FROM participants"), 0, "  (nothing written)");
	req(t.d.url, "GET", "/api/v1/sessions/current", s, NULL, &r);
	ok(r.status == 200 && jbool(&r, "user.password_change_required") == 1,
	   "  who she is: 200, saying so");
	resp_free(&r);
	req(t.d.url, "PUT", "/api/v1/sessions/current/password", s,
	    "{\"current_password\":\"temporary-pw-1\",\"new_password\":\"short\"}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "new_password"),
	   "  a new password under 8 characters: 400 naming new_password");
	resp_free(&r);
	req(t.d.url, "PUT", "/api/v1/sessions/current/password", s,
	    "{\"current_password\":\"temporary-pw-1\",\"new_password\":\"tinas-own-pw\"}", &r);
	is_int(r.status, 200, "  she changes it");
	ok(jbool(&r, "password_change_required") == 0, "  no longer required");
	resp_free(&r);
	req(t.d.url, "GET", "/api/v1/specimens", s, NULL, &r);
	is_int(r.status, 200, "  and the same session works at once");
	resp_free(&r);
	long ms = seen_after(d2.url, s, "/api/v1/specimens", "\"items\"");
	ok(ms >= 0, "  on daemon 2 right after (%ld ms)", ms);

	/* Reset without it; and a printer's new service token is never held back. */
	req(t.d.url, "PUT", "/api/v1/users/tina/password", t.admin_token,
	    "{\"password\":\"temporary-pw-2\",\"change_at_login\":false}", &r);
	ok(r.status == 200 && jbool(&r, "password_change_required") == 0,
	   "a reset with change_at_login false");
	resp_free(&r);
	api(&t, "POST", "/api/v1/sessions", NULL,
	    "{\"username\":\"tina\",\"password\":\"temporary-pw-2\"}", &r);
	ok(r.status == 201 && jbool(&r, "user.password_change_required") == 0,
	   "  logs in to a session that may work");
	resp_free(&r);
	req(t.d.url, "PUT", "/api/v1/users/zebra/password", t.admin_token,
	    "{\"password\":\"printer-reset-pw\"}", &r);
	resp_free(&r);
	api(&t, "POST", "/api/v1/tokens", t.admin_token,
	    "{\"username\":\"zebra\",\"label\":\"bench printer 2, anew\"}", &r);
	if (jstr(&r, "token"))
		snprintf(svc, sizeof(svc), "%s", jstr(&r, "token"));
	resp_free(&r);
	req(t.d.url, "GET", "/api/v1/specimen-types", svc, NULL, &r);
	is_int(r.status, 200,
	       "the printer's account was reset, but its new service token works (not a session)");
	resp_free(&r);
}

/* A wrong old password counts like a failed login: after 5, the login itself waits. */
static void
wrong_old_password(void)
{
	char w[128];
	struct resp r;
	int wrong = 0;

	if (make_user(&t, "wanda", "auditor", NULL, w) != 0)
		return;
	for (int i = 0; i < 5; i++) {
		req(t.d.url, "PUT", "/api/v1/sessions/current/password", w,
		    "{\"current_password\":\"not-her-pw\",\"new_password\":\"wandas-new-pw\"}", &r);
		wrong += has_code(&r, 403, "wrong-password");
		resp_free(&r);
	}
	is_int(wrong, 5, "5 wrong old passwords on a self-change: 403 wrong-password each");
	api(&t, "POST", "/api/v1/sessions", NULL,
	    "{\"username\":\"wanda\",\"password\":\"password-wanda\"}", &r);
	ok(has_code(&r, 429, "too-many-attempts") && r.retry_after[0] != '\0',
	   "  then even a login with the right password waits: 429 with Retry-After");
	resp_free(&r);
	req(t.d.url, "PUT", "/api/v1/sessions/current/password", w,
	    "{\"current_password\":\"password-wanda\",\"new_password\":\"wandas-new-pw\"}", &r);
	ok(has_code(&r, 429, "too-many-attempts"), "  and so does the self-change");
	resp_free(&r);
}

/*
 * Every new route, tried by every role but admin, by an admin limited to a
 * study, by an admin whose password must be changed, and without a token:
 * 403 (or 401), and nothing changes. A technician sends the hostile
 * bodies: himself made admin, the admin disabled, the printer's token revoked.
 */
static void
hostile(void)
{
	static const char *const roles[] = { "manager", "technician", "auditor", "printer" };
	static const struct {
		const char *method, *path, *body;
	} routes[] = {
		{ "GET", "/api/v1/users/admin", NULL },
		{ "PATCH", "/api/v1/users/h-technician", "{\"role\":\"admin\"}" },
		{ "PATCH", "/api/v1/users/admin", "{\"disabled\":true}" },
		{ "PATCH", "/api/v1/users/h-technician", "{\"studies\":[]}" },
		{ "GET", "/api/v1/tokens", NULL },
		{ "DELETE", "/api/v1/tokens/{svc}", NULL },
		{ "GET", "/api/v1/users", NULL },
		{ "PUT", "/api/v1/users/admin/password", "{\"password\":\"taken-over\"}" },
		{ "DELETE", "/api/v1/users/admin/tokens", NULL },
		{ "POST", "/api/v1/tokens", "{\"username\":\"admin\",\"label\":\"mine\"}" },
	};
	enum { NROUTES = sizeof(routes) / sizeof(routes[0]) };
	char tokens[6][128], name[32], svc_id[24], path[96];
	const char *who[6];
	struct resp r;
	int n = 0, right = 0, total = 0;

	for (size_t i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "h-%s", roles[i]);
		if (make_user(&t, name, roles[i], NULL, tokens[n]) != 0)
			return;
		who[n++] = roles[i];
	}
	if (make_user(&t, "h-ssc-admin", "admin", "[\"SSC\"]", tokens[n]) != 0)
		return;
	who[n++] = "an SSC admin";
	if (make_user(&t, "h-new-admin", "admin", NULL, tokens[n]) != 0)
		return;
	req(t.d.url, "PUT", "/api/v1/users/h-new-admin/password", t.admin_token,
	    "{\"password\":\"temporary-pw-3\"}", &r);
	resp_free(&r);
	if (login(&t, "h-new-admin", "temporary-pw-3", tokens[n]) != 0)
		return;
	who[n++] = "an admin yet to change the password";

	api(&t, "POST", "/api/v1/tokens", t.admin_token,
	    "{\"username\":\"zebra\",\"label\":\"the hostile's target\"}", &r);
	snprintf(svc_id, sizeof(svc_id), "%.0f", jnum(&r, "id", 0));
	resp_free(&r);

	char *before = accounts_state();
	for (int k = 0; k < NROUTES; k++) {
		const char *p = routes[k].path, *brace = strstr(p, "{svc}");

		if (brace)
			snprintf(path, sizeof(path), "%.*s%s", (int)(brace - p), p, svc_id);
		else
			snprintf(path, sizeof(path), "%s", p);
		for (int i = 0; i <= n; i++) {
			const char *tok = i < n ? tokens[i] : NULL;
			const char *want = i < 4    ? "forbidden"
			                   : i == 4 ? "every-study-only"
			                   : i == 5 ? "password-change-required"
			                            : "unauthorized";
			long status = i < n ? 403 : 401;

			req(t.d.url, routes[k].method, path, tok, routes[k].body, &r);
			total++;
			if (r.status == status && jstr(&r, "code") &&
			    strcmp(jstr(&r, "code"), want) == 0)
				right++;
			else
				tap_diag("  %s %s as %s: want %ld %s, got %ld %s", routes[k].method,
				         path, i < n ? who[i] : "no token", status, want, r.status,
				         r.body ? r.body : "");
			resp_free(&r);
		}
	}
	is_int(right, total,
	       "every account route, by each other role, an SSC admin, an admin yet to change "
	       "the password and no token: 403 or 401 with its code (%d requests)",
	       total);
	ok(unchanged(before), "  no account, token or audit-log entry changed");
	free(before);
}

int
main(int argc, char **argv)
{
	tenv_setup(&t, "accounts", argc, argv);
	const char *cache[] = { "--token-cache-ttl=3600", NULL };
	if (daemon_start(&t, &d2, cache) != 0) {
		printf("Bail out! the second daemon did not start\n");
		tenv_teardown(&t);
		return 1;
	}
	disable_mid_shift();
	roles_and_studies();
	last_admin();
	printer_token();
	reset_then_change();
	wrong_old_password();
	demote_each_other();
	hostile();
	is_int(daemon_stop(&d2), 0, "the second daemon stops cleanly");
	tenv_teardown(&t);
	return tap_done();
}
