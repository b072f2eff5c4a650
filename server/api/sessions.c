/* sessions.c — log in (a session token), who am I, change my password, log out. */
#include "cmd/config.h"
#include "api/api.h"

#include "http/auth.h"
#include "db/accounts.h"
#include "http/log.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

enum { LOGIN_USERNAME, LOGIN_PASSWORD, LOGIN__MAX };

static const struct bb_js_field login_fields[LOGIN__MAX] = {
	[LOGIN_USERNAME] = { "username", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[LOGIN_PASSWORD] = { "password", BB_JS_STRING,
	                     BB_JS_REQUIRED | BB_JS_VERBATIM | BB_JS_SECRET, 1, 1024 },
};
const struct bb_js_spec h_sessions_create_spec = BB_JS_SPEC(login_fields);

enum { PASSWORD_CURRENT, PASSWORD_NEW, PASSWORD__MAX };

static const struct bb_js_field password_fields[PASSWORD__MAX] = {
	[PASSWORD_CURRENT] = { "current_password", BB_JS_STRING,
	                       BB_JS_REQUIRED | BB_JS_VERBATIM | BB_JS_SECRET, 1, 1024 },
	[PASSWORD_NEW] = { "new_password", BB_JS_STRING,
	                   BB_JS_REQUIRED | BB_JS_VERBATIM | BB_JS_SECRET, 8, 1024 },
};
const struct bb_js_spec h_sessions_password_spec = BB_JS_SPEC(password_fields);

static cJSON *
user_json(struct srv_req *r, int64_t user_id, const char *username, const char *role,
          bool change_required)
{
	cJSON *u = cJSON_CreateObject();
	cJSON *studies = cJSON_CreateArray();
	PGresult *res;

	cJSON_AddStringToObject(u, "username", username);
	cJSON_AddStringToObject(u, "role", role);
	if (r->db != NULL && db_user_study_codes(r->db, user_id, &res) == BB_OK) {
		for (int i = 0; i < PQntuples(res); i++)
			cJSON_AddItemToArray(studies, cJSON_CreateString(PQgetvalue(res, i, 0)));
		PQclear(res);
	}
	cJSON_AddItemToObject(u, "studies", studies);
	/* true: this session may only change the password (docs/api-accounts.md). */
	cJSON_AddBoolToObject(u, "password_change_required", change_required);
	return u;
}

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

enum password_check { PASSWORD_RIGHT, PASSWORD_WRONG, PASSWORD_DISABLED, PASSWORD_ANSWERED };

/*
 * Check a password of username from the caller's address under the login
 * throttle (docs/api.md, "Failed logins"): the attempt is counted before the
 * password is checked, in the statement that checks the counts, and taken
 * back when the password was right. PASSWORD_ANSWERED: refused (429) or the
 * database failed, and replied. PASSWORD_RIGHT fills row. PASSWORD_DISABLED:
 * right, but the account is disabled; the attempt stays counted, so that
 * only someone who knows the password learns that it is disabled, and no
 * faster than they could guess.
 */
static enum password_check
password_check(struct srv_req *r, struct db_conn *db, const char *username, const char *password,
               struct login_row *row)
{
	struct login_limits lim;
	enum bb_err err;

	config_login_limits(r->srv->cfg, &lim);
	if ((err = db_login_fetch(db, username, r->client_addr, &lim, row)) != BB_OK) {
		reply_db_error(r, err);
		return PASSWORD_ANSWERED;
	}
	if (row->wait_seconds > 0) {
		char secs[16];

		snprintf(secs, sizeof(secs), "%d", row->wait_seconds);
		reply_header(r, "Retry-After", secs);
		reply_problem(r, 429, NULL,
		              "too many failed logins for this user name from this address, or "
		              "from addresses it has not logged in from; try again in %d s",
		              row->wait_seconds);
		return PASSWORD_ANSWERED;
	}
	/* An unknown user costs a hash too, so timing does not reveal which accounts exist. */
	bool ok =
	    auth_password_verify(row->found ? row->password_hash : r->srv->dummy_hash, password);
	if (!ok || !row->found) {
		log_info("login failed for \"%s\" from %s", username, r->client_addr);
		return PASSWORD_WRONG;
	}
	if (row->disabled) {
		log_info("login of disabled account \"%s\" from %s", username, r->client_addr);
		return PASSWORD_DISABLED;
	}
	if ((err = db_login_succeeded(db, username, r->client_addr, row, &lim)) != BB_OK) {
		reply_db_error(r, err);
		return PASSWORD_ANSWERED;
	}
	return PASSWORD_RIGHT;
}

void
h_sessions_create(struct srv_req *r)
{
	const struct srv_config *cfg = r->srv->cfg;
	char *username = bb_arena_strdup(&r->arena, r->in[LOGIN_USERNAME].s);
	struct login_row row;
	struct db_conn *db;
	enum bb_err err;

	lower(username);
	if ((db = req_db(r)) == NULL)
		return;
	switch (password_check(r, db, username, r->in[LOGIN_PASSWORD].s, &row)) {
	case PASSWORD_ANSWERED:
		return;
	case PASSWORD_WRONG:
		reply_header(r, "WWW-Authenticate", "Bearer");
		reply_problem(r, 401, NULL, "wrong user name or password");
		return;
	case PASSWORD_DISABLED:
		reply_header(r, "WWW-Authenticate", "Bearer");
		reply_problem_code(r, "account-disabled", NULL,
		                   "this account is disabled: an administrator can enable it");
		return;
	case PASSWORD_RIGHT:
		break;
	}

	char token[AUTH_TOKEN_LEN + 1], expires[40];
	unsigned char hash[AUTH_HASH_LEN];
	int64_t token_id;
	auth_token_issue(r, token, hash);
	err = db_tokens_insert(db, row.user_id, hash, "session", NULL, cfg->session_ttl, &token_id,
	                       expires);
	if (err != BB_OK) {
		reply_db_error(r, err);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", token);
	cJSON_AddStringToObject(o, "expires_at", expires);
	cJSON_AddItemToObject(o, "user",
	                      user_json(r, row.user_id, username, row.role, row.change_required));
	sodium_memzero(token, sizeof(token));
	reply_json(r, 201, o);
}

/*
 * PUT /api/v1/sessions/current/password: the caller's own password, given
 * the current one (throttled like a login). Every other session and token of
 * the account ends in the same transaction, in every daemon at COMMIT (the
 * triggers' NOTIFY); the session in use stays.
 */
void
h_sessions_password(struct srv_req *r)
{
	struct login_row row;
	struct db_conn *db;
	char hash[128];

	if ((db = req_db(r)) == NULL)
		return;
	switch (password_check(r, db, r->user.username, r->in[PASSWORD_CURRENT].s, &row)) {
	case PASSWORD_ANSWERED:
		return;
	case PASSWORD_WRONG:
		reply_problem_code(r, "wrong-password", NULL,
		                   "current_password is not the password of %s", r->user.username);
		return;
	case PASSWORD_DISABLED: /* disabled since the token was checked */
		reply_problem_code(r, "account-disabled", NULL, "this account is disabled");
		return;
	case PASSWORD_RIGHT:
		break;
	}
	if (auth_password_hash(r->in[PASSWORD_NEW].s, hash) != 0) {
		reply_problem(r, 500, NULL, "could not hash the password (out of memory)");
		return;
	}
	char keep[24];
	snprintf(keep, sizeof(keep), "%lld", (long long)r->user.token_id);
	const char *params[] = { r->user.username, hash,         keep,
		                 "false",          req_actor(r), req_actor_id(r) };
	PGresult *res = function_answer(r, "db_user_set_password", 6, params);
	if (res == NULL)
		return;
	/* The NOTIFY reaches this daemon's cache too, but maybe after the client's next request. */
	auth_cache_forget_user(r->srv->auth, r->user.id);
	reply_json_text(r, 200, PQgetvalue(res, 0, 0));
	PQclear(res);
}

void
h_sessions_current(struct srv_req *r)
{
	if (req_db(r) == NULL)
		return;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "user",
	                      user_json(r, r->user.id, r->user.username, role_name(r->user.role),
	                                r->user.password_change_required));
	reply_json(r, 200, o);
}

void
h_sessions_delete(struct srv_req *r)
{
	struct db_conn *db = req_db(r);
	enum bb_err err;

	if (db == NULL)
		return;
	if ((err = db_tokens_revoke(db, r->user.token_id)) != BB_OK) {
		reply_db_error(r, err);
		return;
	}
	/* The NOTIFY reaches this daemon's cache too, but not before the client's next request. */
	const char *h = req_header(r, "Authorization") + 7;
	unsigned char hash[AUTH_HASH_LEN];
	while (*h == ' ')
		h++;
	auth_token_hash(h, hash);
	auth_cache_forget_token(r->srv->auth, hash);
	reply_empty(r, 204);
}
