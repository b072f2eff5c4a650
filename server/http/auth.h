/*
 * auth.h — bearer tokens: issuing, hashing, a bounded in-process cache of
 * verified tokens, and the listener that empties it when PostgreSQL
 * announces a revocation (LISTEN bb_auth), so that logout takes effect at
 * once in every daemon without a database round trip per request.
 */
#ifndef SRV_AUTH_H
#define SRV_AUTH_H

#include "http/server.h"

enum { AUTH_HASH_LEN = 32, AUTH_TOKEN_LEN = 46 };

/* A new random token (text, NUL-terminated) and its SHA-256. */
void auth_token_new(char token[AUTH_TOKEN_LEN + 1], unsigned char hash[AUTH_HASH_LEN]);
void auth_token_hash(const char *token, unsigned char hash[AUTH_HASH_LEN]);
/*
 * The same for a handler that answers with the token: r's answer is marked
 * secret (r->secret_answer), so that an Idempotency-Key never keeps it for
 * replay (idempotency.c). Every token a request hands out comes from here.
 */
void auth_token_issue(struct srv_req *r, char token[AUTH_TOKEN_LEN + 1],
                      unsigned char hash[AUTH_HASH_LEN]);
/* PostgreSQL's hex bytea text for hash: "\\x..." (67 bytes with NUL). */
void auth_hash_param(const unsigned char hash[AUTH_HASH_LEN], char out[2 * AUTH_HASH_LEN + 3]);

struct auth_cache *auth_cache_new(unsigned capacity, unsigned ttl_seconds);
void auth_cache_free(struct auth_cache *c);
bool auth_cache_get(struct auth_cache *c, const unsigned char hash[AUTH_HASH_LEN],
                    struct auth_user *out);
/* Read the generation before reading the database; put only caches when no
 * revocation arrived in between. */
uint64_t auth_cache_generation(struct auth_cache *c);
void auth_cache_put(struct auth_cache *c, const unsigned char hash[AUTH_HASH_LEN],
                    const struct auth_user *u, uint64_t generation);
void auth_cache_forget_token(struct auth_cache *c, const unsigned char hash[AUTH_HASH_LEN]);
void auth_cache_forget_user(struct auth_cache *c, int64_t user_id);
void auth_cache_clear(struct auth_cache *c);
/* False while the listener is not connected: the cache must not be trusted then. */
bool auth_cache_trusted(struct auth_cache *c);

/* The LISTEN thread; started after the pool, stopped before it closes. */
int auth_listener_start(struct srv *s);
void auth_listener_stop(struct srv *s);

/*
 * Authenticate r from its Authorization header: BB_OK with r->user set,
 * BB_EINVAL for a missing or unknown token (reply 401), BB_ECONFLICT for a
 * token of a disabled account (reply 401 account-disabled), BB_EDBDOWN.
 */
enum bb_err auth_request(struct srv_req *r);

/*
 * The person an ID or access token of the OpenID provider names (verified
 * claims: sub, the username and groups claims of the settings) as the
 * caller, through the group map (federated.h); method for the audit log.
 * BB_OK with *u; otherwise r has its answer.
 */
struct cJSON;
enum bb_err auth_federated_claims(struct srv_req *r, const struct cJSON *claims, const char *method,
                                  struct auth_user *u);

/* Argon2id as libsodium's crypto_pwhash_str, with the project's costs. */
int auth_password_hash(const char *password, char out[128]);
bool auth_password_verify(const char *hash, const char *password);

#endif
