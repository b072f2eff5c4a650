/* accounts.c — accounts, tokens and login throttling in PostgreSQL. */
#include "db/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct db_stmt db_accounts_statements[] = {
	{ "db_login_fetch",
	  "SELECT bb_login_wait($1, $2, make_interval(secs => $3::int), $4::int, $5::int),"
	  "       u.id, u.password_hash, u.role"
	  "  FROM (SELECT 1) AS one"
	  "  LEFT JOIN users u ON u.username = $1 AND u.disabled_at IS NULL" },
	{ "db_login_failed", "SELECT bb_login_failed($1, $2, make_interval(secs => $3::int))" },
	{ "db_login_succeeded", "DELETE FROM login_throttle WHERE key = 'user:' || $1" },
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
	  "                   FROM user_studies us WHERE us.user_id = u.id), '')"
	  "  FROM tokens t JOIN users u ON u.id = t.user_id"
	  " WHERE t.hash = $1::bytea AND t.revoked_at IS NULL"
	  "   AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.disabled_at IS NULL" },
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
	{ "db_users_list",
	  "SELECT u.id, u.username, u.role, bb_rfc3339(u.created_at), u.disabled_at IS NOT NULL,"
	  "       COALESCE((SELECT json_agg(s.code ORDER BY s.code) FROM user_studies us"
	  "                   JOIN studies s ON s.id = us.study_id WHERE us.user_id = u.id)::text, "
	  "'[]')"
	  "  FROM users u ORDER BY u.username" },
	{ NULL, NULL },
};

enum bb_err
db_login_fetch(struct db_conn *c, const char *username, const char *addr, unsigned window,
               unsigned max_user, unsigned max_addr, struct login_row *out)
{
	char w[16], mu[16], ma[16];
	PGresult *res;

	snprintf(w, sizeof(w), "%u", window);
	snprintf(mu, sizeof(mu), "%u", max_user);
	snprintf(ma, sizeof(ma), "%u", max_addr);
	const char *params[] = { username, addr, w, mu, ma };
	enum bb_err err = db_exec(c, "db_login_fetch", 5, params, &res);
	if (err != BB_OK)
		return err;
	memset(out, 0, sizeof(*out));
	out->wait_seconds = atoi(PQgetvalue(res, 0, 0));
	out->found = !PQgetisnull(res, 0, 1);
	if (out->found) {
		out->user_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		snprintf(out->password_hash, sizeof(out->password_hash), "%s",
		         PQgetvalue(res, 0, 2));
		snprintf(out->role, sizeof(out->role), "%s", PQgetvalue(res, 0, 3));
	}
	PQclear(res);
	return BB_OK;
}

enum bb_err
db_login_failed(struct db_conn *c, const char *username, const char *addr, unsigned window)
{
	char w[16];

	snprintf(w, sizeof(w), "%u", window);
	const char *params[] = { username, addr, w };
	return db_exec(c, "db_login_failed", 3, params, NULL);
}

enum bb_err
db_login_succeeded(struct db_conn *c, const char *username)
{
	const char *params[] = { username };

	return db_exec(c, "db_login_succeeded", 1, params, NULL);
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
