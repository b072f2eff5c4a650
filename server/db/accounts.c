/* accounts.c — accounts, tokens and login throttling in PostgreSQL. */
#include "db/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct db_stmt db_accounts_statements[] = {
	{ "db_login_fetch",
	  "SELECT b.wait, b.wide, u.id, u.password_hash, u.role, u.disabled_at IS NOT NULL,"
	  "       u.password_change_required, u.source"
	  "  FROM bb_login_begin($1, $2, $3::int, $4::int, $5::int, $6::int, $7::int, $8::int) b"
	  "  LEFT JOIN users u ON u.username = $1" },
	{ "db_login_succeeded", "SELECT bb_login_succeeded($1, $2, $3::bigint, $4::boolean,"
	                        " $5::int, $6::int)" },
	{ "db_login_unlock", "SELECT bb_login_unlock($1)" },
	{ "db_purge_expired", "SELECT bb_purge_expired($1::int, $2::int, $3::int, $4::int)" },
	{ "db_user_set_password",
	  "SELECT bb_user_set_password($1, $2, $3::bigint, $4::boolean, $5, $6::bigint)::text" },
	{ "db_user_update",
	  "SELECT bb_user_update($1, $2, $3::text[], $4::boolean, $5, $6::bigint)::text" },
	{ "db_token_revoke", "SELECT bb_token_revoke($1::bigint, $2, $3::bigint)::text" },
	{ "db_tokens_list", "SELECT bb_tokens_list($1)::text" },
	{ "db_user_end_sessions", "SELECT bb_user_end_sessions($1, $2, $3::bigint)::text" },
	{ "db_tokens_insert",
	  "INSERT INTO tokens (user_id, hash, kind, label, expires_at)"
	  " VALUES ($1, $2::bytea, $3, $4,"
	  "         CASE WHEN $5::int > 0"
	  "              THEN date_trunc('second', now() + make_interval(secs => $5::int)) END)"
	  " RETURNING id, COALESCE(bb_rfc3339(expires_at), '')" },
	{ "db_tokens_revoke",
	  "UPDATE tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL" },
	{ "db_tokens_lookup",
	  "SELECT t.id, u.id, u.username, u.role, extract(epoch FROM t.expires_at)::bigint,"
	  "       COALESCE((SELECT '{' || string_agg(us.study_id::text, ',') || '}'"
	  "                   FROM user_studies us WHERE us.user_id = u.id), ''),"
	  "       u.disabled_at IS NOT NULL, u.password_change_required AND t.kind = 'session'"
	  "  FROM tokens t JOIN users u ON u.id = t.user_id"
	  " WHERE t.hash = $1::bytea AND (t.expires_at IS NULL OR t.expires_at > now())"
	  /* A disabled account's tokens are found even when disabling revoked them,
	   * so that the answer can say why (401 account-disabled). */
	  "   AND (t.revoked_at IS NULL OR u.disabled_at IS NOT NULL)" },
	{ "db_user_study_codes",
	  "SELECT s.code FROM user_studies us JOIN studies s ON s.id = us.study_id"
	  " WHERE us.user_id = $1 ORDER BY s.code" },
	{ "db_users_insert", "INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3)"
	                     " ON CONFLICT (username) DO NOTHING RETURNING id" },
	{ "db_users_limit",
	  "WITH wanted AS (SELECT DISTINCT unnest($2::text[]) AS code),"
	  " ins AS (INSERT INTO user_studies (user_id, study_id)"
	  "         SELECT $1, s.id FROM studies s JOIN wanted w ON w.code = s.code"
	  "         RETURNING 1)"
	  " SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM wanted)" },
	{ "db_users_find", "SELECT id FROM users WHERE username = $1" },
	{ "db_users_list", "SELECT bb_user_json(u.id)::text FROM users u ORDER BY u.username" },
	/* single sign-on (migration 0037; http/federated.c, api/sso.c) */
	{ "db_login_record", "SELECT bb_login_record($1, $2, $3, $4, $5::jsonb)" },
	{ "db_federated_login", "SELECT bb_federated_login($1, $2, $3, $4, $5::text[])::text" },
	{ "db_oidc_login_begin",
	  "SELECT 1 FROM bb_oidc_login_begin($1::bytea, $2::bytea, $3, $4, $5)" },
	{ "db_oidc_login_take", "SELECT COALESCE(same_browser, false), nonce, verifier, return_to"
	                        "  FROM bb_oidc_login_take($1::bytea, $2::bytea)" },
	{ NULL, NULL },
};

/* The settings as the SQL functions take them, as text. */
struct limits_text {
	char max_pair[16], max_user[16], max_addr[16], backoff[16], window[16], known_days[16];
};

static void
limits_text(const struct login_limits *lim, struct limits_text *t)
{
	snprintf(t->max_pair, sizeof(t->max_pair), "%u", lim->max_pair);
	snprintf(t->max_user, sizeof(t->max_user), "%u", lim->max_user);
	snprintf(t->max_addr, sizeof(t->max_addr), "%u", lim->max_addr);
	snprintf(t->backoff, sizeof(t->backoff), "%u", lim->backoff);
	snprintf(t->window, sizeof(t->window), "%u", lim->window);
	snprintf(t->known_days, sizeof(t->known_days), "%u", lim->known_days);
}

enum bb_err
db_login_fetch(struct db_conn *c, const char *username, const char *addr,
               const struct login_limits *lim, struct login_row *out)
{
	struct limits_text t;
	PGresult *res;

	limits_text(lim, &t);
	const char *params[] = { username,   addr,      t.max_pair, t.max_user,
		                 t.max_addr, t.backoff, t.window,   t.known_days };
	enum bb_err err = db_exec(c, "db_login_fetch", 8, params, &res);
	if (err != BB_OK)
		return err;
	memset(out, 0, sizeof(*out));
	out->wait_seconds = atoi(PQgetvalue(res, 0, 0));
	out->wide = PQgetvalue(res, 0, 1)[0] == 't';
	out->found = !PQgetisnull(res, 0, 2);
	if (out->found) {
		out->user_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		snprintf(out->password_hash, sizeof(out->password_hash), "%s",
		         PQgetvalue(res, 0, 3));
		snprintf(out->role, sizeof(out->role), "%s", PQgetvalue(res, 0, 4));
		out->disabled = PQgetvalue(res, 0, 5)[0] == 't';
		out->change_required = PQgetvalue(res, 0, 6)[0] == 't';
		snprintf(out->source, sizeof(out->source), "%s", PQgetvalue(res, 0, 7));
	}
	PQclear(res);
	return BB_OK;
}

enum bb_err
db_login_succeeded(struct db_conn *c, const char *username, const char *addr,
                   const struct login_row *row, const struct login_limits *lim)
{
	struct limits_text t;
	char uid[24];

	limits_text(lim, &t);
	snprintf(uid, sizeof(uid), "%lld", (long long)row->user_id);
	const char *params[] = { username,   addr,      uid, row->wide ? "true" : "false",
		                 t.max_user, t.max_addr };
	return db_exec(c, "db_login_succeeded", 6, params, NULL);
}

enum bb_err
db_login_unlock(struct db_conn *c, const char *username, long *cleared)
{
	const char *params[] = { username };
	PGresult *res;
	enum bb_err err = db_exec(c, "db_login_unlock", 1, params, &res);

	if (err != BB_OK)
		return err;
	*cleared = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return BB_OK;
}

enum bb_err
db_purge_expired(struct db_conn *c, unsigned idempotency_ttl, const struct login_limits *lim,
                 unsigned batch, long *removed)
{
	struct limits_text t;
	char ttl[16], b[16];
	PGresult *res;

	limits_text(lim, &t);
	snprintf(ttl, sizeof(ttl), "%u", idempotency_ttl);
	snprintf(b, sizeof(b), "%u", batch);
	const char *params[] = { ttl, t.window, t.known_days, b };
	enum bb_err err = db_exec(c, "db_purge_expired", 4, params, &res);
	if (err != BB_OK)
		return err;
	*removed = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return BB_OK;
}

enum bb_err
db_user_set_password(struct db_conn *c, const char *username, const char *password_hash,
                     int64_t keep_token, PGresult **res)
{
	char keep[24];

	snprintf(keep, sizeof(keep), "%lld", (long long)keep_token);
	const char *params[] = { username, password_hash, keep_token > 0 ? keep : NULL,
		                 NULL,     NULL,          NULL };
	return db_exec(c, "db_user_set_password", 6, params, res);
}

enum bb_err
db_tokens_insert(struct db_conn *c, int64_t user_id, const unsigned char *hash, const char *kind,
                 const char *label, unsigned ttl, int64_t *token_id, char expires_at[40])
{
	char uid[24], hp[2 * AUTH_HASH_LEN + 3], t[16];
	PGresult *res;

	snprintf(uid, sizeof(uid), "%lld", (long long)user_id);
	auth_hash_param(hash, hp);
	snprintf(t, sizeof(t), "%u", ttl);
	const char *params[] = { uid, hp, kind, label, t };
	enum bb_err err = db_exec(c, "db_tokens_insert", 5, params, &res);
	if (err != BB_OK)
		return err;
	*token_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(expires_at, 40, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	return BB_OK;
}

enum bb_err
db_tokens_revoke(struct db_conn *c, int64_t token_id)
{
	char id[24];

	snprintf(id, sizeof(id), "%lld", (long long)token_id);
	const char *params[] = { id };
	return db_exec(c, "db_tokens_revoke", 1, params, NULL);
}

enum bb_err
db_user_study_codes(struct db_conn *c, int64_t user_id, PGresult **res)
{
	char id[24];

	snprintf(id, sizeof(id), "%lld", (long long)user_id);
	const char *params[] = { id };
	return db_exec(c, "db_user_study_codes", 1, params, res);
}

enum bb_err
db_users_insert(struct db_conn *c, const char *username, const char *password_hash,
                const char *role, int64_t *id)
{
	const char *params[] = { username, password_hash, role };
	PGresult *res;
	enum bb_err err = db_exec(c, "db_users_insert", 3, params, &res);

	if (err != BB_OK)
		return err;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return BB_ECONFLICT;
	}
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return BB_OK;
}

enum bb_err
db_users_limit(struct db_conn *c, int64_t user_id, const char *codes_array, bool *all_found)
{
	char id[24];
	PGresult *res;

	snprintf(id, sizeof(id), "%lld", (long long)user_id);
	const char *params[] = { id, codes_array };
	enum bb_err err = db_exec(c, "db_users_limit", 2, params, &res);
	if (err != BB_OK)
		return err;
	*all_found = strcmp(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)) == 0;
	PQclear(res);
	return BB_OK;
}

enum bb_err
db_users_find(struct db_conn *c, const char *username, int64_t *id)
{
	const char *params[] = { username };
	PGresult *res;
	enum bb_err err = db_exec(c, "db_users_find", 1, params, &res);

	if (err != BB_OK)
		return err;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return BB_ENOTFOUND;
	}
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return BB_OK;
}

enum bb_err
db_users_list(struct db_conn *c, PGresult **res)
{
	return db_exec(c, "db_users_list", 0, NULL, res);
}
