/* accounts.h — users, tokens and login throttling in the database. */
#ifndef SRV_DB_ACCOUNTS_H
#define SRV_DB_ACCOUNTS_H

#include "http/auth.h"
#include "db/db.h"

extern const struct db_stmt db_accounts_statements[];

/* The login throttle's settings (cmd/config.h; docs/api.md, "Failed logins"). */
struct login_limits {
	unsigned max_pair;   /* failures of one user name from one address before it waits */
	unsigned max_user;   /* of one user name from addresses it does not know */
	unsigned max_addr;   /* from one address for user names that do not know it */
	unsigned backoff;    /* the first wait, seconds; doubled after each further failure */
	unsigned window;     /* the longest wait; a count is forgotten this long after it */
	unsigned known_days; /* an address stays known this long after a login from it */
};

struct login_row {
	int wait_seconds;     /* > 0: throttled, nothing counted */
	bool wide;            /* counted for the address and user name too (an unknown address) */
	bool found;           /* a user of that name exists */
	bool disabled;        /* found, and disabled: a right password still does not log in */
	bool change_required; /* the password was set by an admin (migration 0026) */
	int64_t user_id;
	char password_hash[128];
	char role[16];
	char source[8]; /* local, oidc or ldap (migration 0037) */
};

/*
 * One login attempt: counted as a failure before its password is checked
 * (so that parallel attempts cannot pass the limit), or refused with
 * wait_seconds; and the account's hash and role.
 */
enum bb_err db_login_fetch(struct db_conn *c, const char *username, const char *addr,
                           const struct login_limits *lim, struct login_row *out);
/* The password was right: the pair's failures are forgotten, the attempt taken back
 * from the wide counts, and the address becomes known for the account. */
enum bb_err db_login_succeeded(struct db_conn *c, const char *username, const char *addr,
                               const struct login_row *row, const struct login_limits *lim);
/* biobankd user unlock: every count of the user name; *cleared how many. */
enum bb_err db_login_unlock(struct db_conn *c, const char *username, long *cleared);
/* Up to batch each of expired Idempotency-Key answers, forgotten login counts and
 * addresses no longer known deleted (db/purge.c); *removed how many rows in all. */
enum bb_err db_purge_expired(struct db_conn *c, unsigned idempotency_ttl,
                             const struct login_limits *lim, unsigned batch, long *removed);
/* A new password hash (not to be changed at the next login); every session and token of
 * the account but keep_token (0: none) ended, in one statement. *res holds
 * {"id","username","ended"} (the caller PQclear()s); no such account is a refusal of the function
 * (user-not-found). */
enum bb_err db_user_set_password(struct db_conn *c, const char *username, const char *password_hash,
                                 int64_t keep_token, PGresult **res);

/* Insert a token; ttl 0 = no expiry. Sets *expires_at to RFC 3339 text or "" (caller's buffer). */
enum bb_err db_tokens_insert(struct db_conn *c, int64_t user_id, const unsigned char *hash,
                             const char *kind, const char *label, unsigned ttl, int64_t *token_id,
                             char expires_at[40]);
enum bb_err db_tokens_revoke(struct db_conn *c, int64_t token_id);

/* Codes of the studies a user is limited to, as a JSON-ready list via the caller's callback. */
enum bb_err db_user_study_codes(struct db_conn *c, int64_t user_id, PGresult **res);

enum bb_err db_users_insert(struct db_conn *c, const char *username, const char *password_hash,
                            const char *role, int64_t *id);
/* Limit a user to studies (codes as a PostgreSQL array literal); *all_found is false
 * when a code names no study (the caller rolls back). */
enum bb_err db_users_limit(struct db_conn *c, int64_t user_id, const char *codes_array,
                           bool *all_found);
enum bb_err db_users_find(struct db_conn *c, const char *username, int64_t *id);
enum bb_err db_users_list(struct db_conn *c, PGresult **res);

#endif
