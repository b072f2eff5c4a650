/* sessions.c — log in (a session token), who am I, change my password, log out. */
#include "cmd/config.h"
#include "api/api.h"

#include "http/auth.h"
#include "db/accounts.h"
#include "http/federated.h"
#include "http/ldap_auth.h"
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

enum password_check {
	PASSWORD_RIGHT,
	PASSWORD_WRONG,
	PASSWORD_DISABLED,
	PASSWORD_ANSWERED,
	PASSWORD_FEDERATED /* the account's password is not kept here */
};

/*
 * The password of an account the directory keeps (or of a name no account
 * here has, when ldap_url is set): a bind as the person, their groups
 * through the group map (federated.c, which writes the login to the audit
 * log), row filled as for a local account.
 */
static enum password_check
directory_check(struct srv_req *r, const char *username, const char *password,
                struct login_row *row)
{
	struct ldap_person p;
	char why[256] = "";

	if (!username_valid(username))
		return PASSWORD_WRONG;
	switch (ldap_login(r->srv->cfg, username, password, &p, why, sizeof(why))) {
	case LDAP_REFUSED:
		log_info("LDAP login failed for \"%s\" from %s", username, r->client_addr);
		if (row->found)
			login_record(r, username, "ldap", "wrong-password", NULL);
		return PASSWORD_WRONG;
	case LDAP_FAILED:
		log_warnx("LDAP login of \"%s\": %s", username, why);
		reply_header(r, "Retry-After", "10");
		reply_problem_code(r, "directory-unavailable", NULL,
		                   "the directory cannot check passwords now; local accounts still "
		                   "log in");
		return PASSWORD_ANSWERED;
	case LDAP_BOUND:
		break;
	}
	cJSON *detail = cJSON_CreateObject(), *groups = cJSON_AddArrayToObject(detail, "groups");
	cJSON_AddStringToObject(detail, "dn", p.dn);
	for (size_t i = 0; i < p.ngroups; i++)
		cJSON_AddItemToArray(groups, cJSON_CreateString(p.groups[i]));
	const struct fed_login f = { .source = "ldap",
		                     .method = "ldap",
		                     .external_id = p.dn,
		                     .username = username,
		                     .groups = (const char *const *)p.groups,
		                     .ngroups = p.ngroups,
		                     .detail = detail };
	struct auth_user u;
	enum bb_err err = federated_login(r, &f, &u);
	cJSON_Delete(detail);
	ldap_person_clear(&p);
	if (err != BB_OK)
		return PASSWORD_ANSWERED;
	row->found = true;
	row->user_id = u.id;
	row->change_required = false;
	snprintf(row->role, sizeof(row->role), "%s", role_name(u.role));
	snprintf(row->source, sizeof(row->source), "ldap");
	return PASSWORD_RIGHT;
}

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
               bool directory, struct login_row *row)
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
	bool local = row->found && strcmp(row->source, "local") == 0;
	if (row->found && !local && !directory)
		return PASSWORD_FEDERATED;
	if (!local && directory && r->srv->cfg->ldap_url != NULL &&
	    (!row->found || strcmp(row->source, "ldap") == 0)) {
		enum password_check c = directory_check(r, username, password, row);
		if (c == PASSWORD_RIGHT &&
		    (err = db_login_succeeded(db, username, r->client_addr, row, &lim)) != BB_OK) {
			reply_db_error(r, err);
			return PASSWORD_ANSWERED;
		}
		return c;
	}
	/* An unknown user costs a hash too, so timing does not reveal which accounts exist.
	 * A federated account has no hash here: its name is refused like a wrong password. */
	local = local && row->password_hash[0] != '\0';
	bool ok = auth_password_verify(local ? row->password_hash : r->srv->dummy_hash, password);
	if (!ok || !local) {
		log_info("login failed for \"%s\" from %s", username, r->client_addr);
		if (row->found)
			login_record(r, username, "local", "wrong-password", NULL);
		return PASSWORD_WRONG;
	}
	if (row->disabled) {
		log_info("login of disabled account \"%s\" from %s", username, r->client_addr);
		login_record(r, username, "local", "account-disabled", NULL);
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
	switch (password_check(r, db, username, r->in[LOGIN_PASSWORD].s, true, &row)) {
	case PASSWORD_ANSWERED:
		return;
	case PASSWORD_FEDERATED: /* only when not asked of the directory */
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
	/* Directory logins were recorded with their groups (federated.c). */
	if (strcmp(row.source, "local") == 0)
		login_record(r, username, "local", "ok", NULL);
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
	switch (password_check(r, db, r->user.username, r->in[PASSWORD_CURRENT].s, false, &row)) {
	case PASSWORD_ANSWERED:
		return;
	case PASSWORD_FEDERATED:
		reply_problem_code(r, "federated-account", NULL,
		                   "the password of %s is kept by the identity provider or the "
		                   "directory: change it there",
		                   r->user.username);
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
