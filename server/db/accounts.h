/* accounts.h — users, tokens and login throttling in the database. */
#ifndef SRV_DB_ACCOUNTS_H
#define SRV_DB_ACCOUNTS_H

#include "http/auth.h"
#include "db/db.h"

extern const struct db_stmt db_accounts_statements[];

struct login_row {
	int wait_seconds; /* > 0: throttled */
	bool found;       /* an enabled user of that name exists */
	int64_t user_id;
	char password_hash[128];
	char role[16];
};

enum bb_err db_login_fetch(struct db_conn *c, const char *username, const char *addr,
                           unsigned window, unsigned max_user, unsigned max_addr,
                           struct login_row *out);
enum bb_err db_login_failed(struct db_conn *c, const char *username, const char *addr,
                            unsigned window);

/* Insert a token; ttl 0 = no expiry. Sets *expires_at to RFC 3339 text or "" (caller's buffer). */
enum bb_err db_tokens_insert(struct db_conn *c, int64_t user_id, const unsigned char *hash,
                             const char *kind, const char *label, unsigned ttl, int64_t *token_id,
                             char expires_at[40]);
/* Also clears the user's login throttle: a successful login forgives earlier typos. */
enum bb_err db_login_succeeded(struct db_conn *c, const char *username);
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
