/* sessions.c — log in (a session token), who am I, log out. */
#include "cmd/config.h"
#include "api/api.h"

#include "http/auth.h"
#include "db/accounts.h"
#include "http/log.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

enum { LOGIN_USERNAME, LOGIN_PASSWORD, LOGIN__MAX };

static const struct bb_js_field login_fields[LOGIN__MAX] = {
	[LOGIN_USERNAME] = { "username", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[LOGIN_PASSWORD] = { "password", BB_JS_STRING, BB_JS_REQUIRED | BB_JS_VERBATIM, 1, 1024 },
};
const struct bb_js_spec h_sessions_create_spec = BB_JS_SPEC(login_fields);

static cJSON *
user_json(struct srv_req *r, int64_t user_id, const char *username, const char *role)
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
	return u;
}

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

void
h_sessions_create(struct srv_req *r)
{
	const struct srv_config *cfg = r->srv->cfg;
	char *username = bb_arena_strdup(&r->arena, r->in[LOGIN_USERNAME].s);
	const char *password = r->in[LOGIN_PASSWORD].s;
	struct login_row row;
	struct db_conn *db;
	enum bb_err err;

	lower(username);
	if ((db = req_db(r)) == NULL)
		return;
	err = db_login_fetch(db, username, r->client_addr, cfg->login_window,
	                     cfg->login_max_failures, cfg->login_max_failures_addr, &row);
	if (err != BB_OK) {
		reply_db_error(r, err);
		return;
	}
	if (row.wait_seconds > 0) {
		char secs[16];

		snprintf(secs, sizeof(secs), "%d", row.wait_seconds);
		reply_header(r, "Retry-After", secs);
		reply_problem(r, 429, NULL,
		              "too many failed logins for this user or address; try again in %d s",
		              row.wait_seconds);
		return;
	}
	/* An unknown user costs a hash too, so timing does not reveal which accounts exist. */
	bool ok =
	    auth_password_verify(row.found ? row.password_hash : r->srv->dummy_hash, password);
	if (!ok || !row.found) {
		if ((err = db_login_failed(db, username, r->client_addr, cfg->login_window)) !=
		    BB_OK) {
			reply_db_error(r, err);
			return;
		}
		log_info("login failed for \"%s\" from %s", username, r->client_addr);
		reply_header(r, "WWW-Authenticate", "Bearer");
		reply_problem(r, 401, NULL, "wrong user name or password");
		return;
	}

	char token[AUTH_TOKEN_LEN + 1], expires[40];
	unsigned char hash[AUTH_HASH_LEN];
	int64_t token_id;
	auth_token_new(token, hash);
	err = db_login_succeeded(db, username);
	if (err == BB_OK)
		err = db_tokens_insert(db, row.user_id, hash, "session", NULL, cfg->session_ttl,
		                       &token_id, expires);
	if (err != BB_OK) {
		reply_db_error(r, err);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", token);
	cJSON_AddStringToObject(o, "expires_at", expires);
	cJSON_AddItemToObject(o, "user", user_json(r, row.user_id, username, row.role));
	reply_json(r, 201, o);
}

void
h_sessions_current(struct srv_req *r)
{
	if (req_db(r) == NULL)
		return;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "user",
	                      user_json(r, r->user.id, r->user.username, role_name(r->user.role)));
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
