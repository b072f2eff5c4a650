/* users.c — accounts, their passwords and sessions, and service tokens (admin only). */
#include "api/api.h"

#include "http/auth.h"
#include "db/accounts.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const role_choices[] = { "admin",   "manager",    "technician", "auditor",
	                                    "printer", "researcher", NULL };

enum { USER_USERNAME, USER_PASSWORD, USER_ROLE, USER_STUDIES, USER__MAX };

/* PATCH /api/v1/users/NAME: what an admin may change; at least one of them. */
enum { UPDATE_ROLE, UPDATE_STUDIES, UPDATE_DISABLED, UPDATE__MAX };

static const struct bb_js_field user_fields[USER__MAX] = {
	[USER_USERNAME] = { "username", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[USER_PASSWORD] = { "password", BB_JS_STRING,
	                    BB_JS_REQUIRED | BB_JS_VERBATIM | BB_JS_SECRET, 8, 1024 },
	[USER_ROLE] = { "role", BB_JS_STRING, BB_JS_REQUIRED, 0, 0, role_choices },
	[USER_STUDIES] = { "studies", BB_JS_ARRAY, BB_JS_NULLABLE, 0, 64, NULL, NULL,
	                   BB_JS_STRING },
};
const struct bb_js_spec h_users_create_spec = BB_JS_SPEC(user_fields);

static const struct bb_js_field update_fields[UPDATE__MAX] = {
	[UPDATE_ROLE] = { "role", BB_JS_STRING, 0, 0, 0, role_choices },
	/* [] lifts every limit; null would say nothing clearly, so it is refused. */
	[UPDATE_STUDIES] = { "studies", BB_JS_ARRAY, 0, 0, 64, NULL, NULL, BB_JS_STRING },
	[UPDATE_DISABLED] = { "disabled", BB_JS_BOOL },
};
const struct bb_js_spec h_users_update_spec = BB_JS_SPEC(update_fields);

enum { TOKEN_USERNAME, TOKEN_LABEL, TOKEN_EXPIRES_IN_DAYS, TOKEN__MAX };

static const struct bb_js_field token_fields[TOKEN__MAX] = {
	[TOKEN_USERNAME] = { "username", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[TOKEN_LABEL] = { "label", BB_JS_STRING, BB_JS_REQUIRED, 1, 200 },
	[TOKEN_EXPIRES_IN_DAYS] = { "expires_in_days", BB_JS_INT, 0, 1, 3650 },
};
const struct bb_js_spec h_tokens_create_spec = BB_JS_SPEC(token_fields);

enum { RESET_PASSWORD, RESET_CHANGE_AT_LOGIN, RESET__MAX };

static const struct bb_js_field reset_fields[RESET__MAX] = {
	[RESET_PASSWORD] = { "password", BB_JS_STRING,
	                     BB_JS_REQUIRED | BB_JS_VERBATIM | BB_JS_SECRET, 8, 1024 },
	[RESET_CHANGE_AT_LOGIN] = { "change_at_login", BB_JS_BOOL },
};
const struct bb_js_spec h_users_password_spec = BB_JS_SPEC(reset_fields);

/* User names are compared in lower case; say so rather than silently fold. */
static bool
username_valid(const char *s)
{
	if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s)))
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '.' ||
		      *s == '-' || *s == '_'))
			return false;
	return true;
}

struct user_create {
	struct srv_req *r;
	const char *hash;
	const char *studies; /* array literal or NULL */
	int64_t id;
	bool studies_found;
};

static enum bb_err
user_create_txn(struct db_conn *c, void *arg)
{
	struct user_create *u = arg;
	struct srv_req *r = u->r;
	enum bb_err err =
	    db_users_insert(c, r->in[USER_USERNAME].s, u->hash, r->in[USER_ROLE].s, &u->id);

	if (err != BB_OK || u->studies == NULL)
		return err;
	if ((err = db_users_limit(c, u->id, u->studies, &u->studies_found)) != BB_OK)
		return err;
	/* Roll back the account rather than leave it with fewer studies than asked. */
	return u->studies_found ? BB_OK : BB_EINVAL;
}

void
h_users_create(struct srv_req *r)
{
	const char *username = r->in[USER_USERNAME].s;
	const struct bb_js_value *studies = &r->in[USER_STUDIES];
	struct user_create u = { .r = r, .studies_found = true };
	char hash[128];
	struct db_conn *db;

	if (!username_valid(username)) {
		reply_invalid_field(r, "username",
		                    "must start with a lower-case letter or digit and hold only "
		                    "a-z, 0-9, '.', '-' and '_'");
		return;
	}
	if (studies->present && studies->n > 0) {
		const char **codes = bb_arena_alloc(&r->arena, studies->n * sizeof(*codes));

		for (size_t i = 0; i < studies->n; i++)
			codes[i] = studies->items[i].s;
		u.studies = db_array_literal(&r->arena, codes, studies->n);
	}
	if (auth_password_hash(r->in[USER_PASSWORD].s, hash) != 0) {
		reply_problem(r, 500, NULL, "could not hash the password (out of memory)");
		return;
	}
	u.hash = hash;
	if ((db = req_db(r)) == NULL)
		return;
	enum bb_err err = db_txn(db, user_create_txn, &u);
	if (err == BB_ECONFLICT) {
		reply_problem_code(r, "already-exists", NULL, "a user named \"%s\" already exists",
		                   username);
		return;
	}
	if (err == BB_EINVAL && !u.studies_found) {
		reply_invalid_field(r, "studies", "names a study that does not exist");
		return;
	}
	if (err != BB_OK) {
		reply_db_error(r, err);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)u.id);
	cJSON_AddStringToObject(o, "username", username);
	cJSON_AddStringToObject(o, "role", r->in[USER_ROLE].s);
	cJSON *list = cJSON_AddArrayToObject(o, "studies");
	for (size_t i = 0; studies->present && i < studies->n; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(studies->items[i].s));
	reply_json(r, 201, o);
}

void
h_users_list(struct srv_req *r)
{
	struct page pg; /* answered whole: page parameters are only checked */
	struct db_conn *db;
	PGresult *res;
	enum bb_err err;

	if (!req_page(r, PAGE_NONE, &pg) || (db = req_db(r)) == NULL)
		return;
	if ((err = db_users_list(db, &res)) != BB_OK) {
		reply_db_error(r, err);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	/* Each account as GET /api/v1/users/NAME shows it (bb_user_json). */
	for (int i = 0; i < PQntuples(res); i++)
		cJSON_AddItemToArray(items, cJSON_Parse(PQgetvalue(res, i, 0)));
	PQclear(res);
	cJSON_AddNullToObject(o, "next_cursor");
	reply_json(r, 200, o);
}

void
h_tokens_create(struct srv_req *r)
{
	const char *username = r->in[TOKEN_USERNAME].s;
	unsigned ttl = r->in[TOKEN_EXPIRES_IN_DAYS].present
	                   ? (unsigned)r->in[TOKEN_EXPIRES_IN_DAYS].i * 86400u
	                   : 0;
	char token[AUTH_TOKEN_LEN + 1], expires[40];
	unsigned char hash[AUTH_HASH_LEN];
	int64_t user_id, token_id;
	struct db_conn *db = req_db(r);
	enum bb_err err;

	if (db == NULL)
		return;
	err = db_users_find(db, username, &user_id);
	if (err == BB_ENOTFOUND) {
		reply_invalid_field(r, "username", "no user is named \"%s\"", username);
		return;
	}
	auth_token_issue(r, token, hash);
	if (err == BB_OK)
		err = db_tokens_insert(db, user_id, hash, "service", r->in[TOKEN_LABEL].s, ttl,
		                       &token_id, expires);
	if (err != BB_OK) {
		reply_db_error(r, err);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", token);
	cJSON_AddNumberToObject(o, "id", (double)token_id);
	cJSON_AddStringToObject(o, "username", username);
	cJSON_AddStringToObject(o, "label", r->in[TOKEN_LABEL].s);
	if (*expires)
		cJSON_AddStringToObject(o, "expires_at", expires);
	else
		cJSON_AddNullToObject(o, "expires_at");
	reply_json(r, 201, o);
}

/* The account named in the path, as user names are compared: in lower case. */
static const char *
path_username(struct srv_req *r)
{
	char *name = bb_arena_strdup(&r->arena, r->params[0]);

	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return name;
}

/*
 * Answer with what bb_user_set_password or bb_user_end_sessions did
 * ({"id","username","ended"}), after emptying this daemon's cache of the
 * account: the NOTIFY of the revocations reaches it too, but maybe after
 * the client's next request.
 */
static void
reply_ended(struct srv_req *r, PGresult *res)
{
	const char *json = PQgetvalue(res, 0, 0);
	cJSON *o = cJSON_Parse(json);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");

	if (cJSON_IsNumber(id))
		auth_cache_forget_user(r->srv->auth, (int64_t)id->valuedouble);
	else
		auth_cache_clear(r->srv->auth); /* cannot happen; trust nothing then */
	cJSON_Delete(o);
	reply_json_text(r, 200, json);
	PQclear(res);
}

/*
 * PUT /api/v1/users/NAME/password: an administrator sets another account's
 * password. Every session and token of the account ends at once, in every
 * daemon (the admin's own too, when NAME is the admin: use
 * PUT /api/v1/sessions/current/password to keep the session in use). Unless
 * change_at_login is false, the sessions it opens may do nothing but change
 * it: a password two people know is not the account holder's own.
 */
void
h_users_password(struct srv_req *r)
{
	char hash[128];
	PGresult *res;

	if (auth_password_hash(r->in[RESET_PASSWORD].s, hash) != 0) {
		reply_problem(r, 500, NULL, "could not hash the password (out of memory)");
		return;
	}
	const struct bb_js_value *change = &r->in[RESET_CHANGE_AT_LOGIN];
	const char *params[] = { path_username(r),
		                 hash,
		                 NULL,
		                 change->present && !change->b ? "false" : "true",
		                 req_actor(r),
		                 req_actor_id(r) };
	if ((res = function_answer(r, "db_user_set_password", 6, params)) != NULL)
		reply_ended(r, res);
}

/* DELETE /api/v1/users/NAME/tokens: every session and service token of the account ends. */
void
h_users_end_sessions(struct srv_req *r)
{
	PGresult *res;
	const char *params[] = { path_username(r), req_actor(r), req_actor_id(r) };

	if ((res = function_answer(r, "db_user_end_sessions", 3, params)) != NULL)
		reply_ended(r, res);
}

/*
 * PATCH /api/v1/users/NAME {"role"?, "studies"?, "disabled"?}: the checks
 * that need the database (the last admin, one's own account, unknown
 * studies) are bb_user_update's, under one lock. This daemon's cache forgets
 * the account at once; the others at COMMIT, by the triggers' NOTIFY.
 */
void
h_users_update(struct srv_req *r)
{
	const struct bb_js_value *role = &r->in[UPDATE_ROLE], *studies = &r->in[UPDATE_STUDIES],
	                         *disabled = &r->in[UPDATE_DISABLED];
	const char *codes = NULL;
	PGresult *res;

	if (!role->present && !studies->present && !disabled->present) {
		reply_problem_code(r, "value-required", NULL,
		                   "nothing to change: give role, studies or disabled");
		return;
	}
	if (studies->present) {
		const char **list = bb_arena_alloc(&r->arena, (studies->n + 1) * sizeof(*list));

		for (size_t i = 0; i < studies->n; i++)
			list[i] = studies->items[i].s;
		codes = db_array_literal(&r->arena, list, studies->n);
	}
	const char *params[] = { path_username(r),
		                 role->present ? role->s : NULL,
		                 codes,
		                 disabled->present ? (disabled->b ? "true" : "false") : NULL,
		                 req_actor(r),
		                 req_actor_id(r) };
	if ((res = function_answer(r, "db_user_update", 6, params)) == NULL)
		return;
	cJSON *o = cJSON_Parse(PQgetvalue(res, 0, 0));
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
	if (cJSON_IsNumber(id))
		auth_cache_forget_user(r->srv->auth, (int64_t)id->valuedouble);
	else
		auth_cache_clear(r->srv->auth); /* cannot happen; trust nothing then */
	cJSON_Delete(o);
	reply_json_text(r, 200, PQgetvalue(res, 0, 0));
	PQclear(res);
}

/* GET /api/v1/tokens?username=: the service tokens that have not been revoked, no secret. */
void
h_tokens_list(struct srv_req *r)
{
	struct page pg; /* answered whole: page parameters are only checked */
	PGresult *res;

	if (!req_page(r, PAGE_NONE, &pg))
		return;
	const char *params[] = { req_query(r, "username") };
	if ((res = function_answer(r, "db_tokens_list", 1, params)) == NULL)
		return;
	reply_json_text(r, 200, PQgetvalue(res, 0, 0));
	PQclear(res);
}

/*
 * DELETE /api/v1/tokens/ID: one service token ends, here at once and in the
 * other daemons at COMMIT. Ids are this server's own: any id it did not
 * issue as a service token (another site's, a session's) is 404.
 */
void
h_tokens_revoke(struct srv_req *r)
{
	int64_t id;
	PGresult *res;

	if (r->params[0][0] == '0' || !bb_parse_int64(r->params[0], 1, 9007199254740991LL, &id)) {
		reply_problem_code(r, "token-not-found", NULL,
		                   "this server has no service token %s", r->params[0]);
		return;
	}
	const char *params[] = { bb_arena_printf(&r->arena, "%lld", (long long)id), req_actor(r),
		                 req_actor_id(r) };
	if ((res = function_answer(r, "db_token_revoke", 3, params)) == NULL)
		return;
	cJSON *o = cJSON_Parse(PQgetvalue(res, 0, 0));
	const cJSON *uid = cJSON_GetObjectItemCaseSensitive(o, "user_id");
	if (cJSON_IsNumber(uid))
		auth_cache_forget_user(r->srv->auth, (int64_t)uid->valuedouble);
	else
		auth_cache_clear(r->srv->auth);
	cJSON_Delete(o);
	reply_json_text(r, 200, PQgetvalue(res, 0, 0));
	PQclear(res);
}
