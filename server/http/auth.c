/* auth.c — tokens, password hashing and the verified-token cache. */
#include "cmd/config.h"
#include "http/auth.h"

#include "http/federated.h"
#include "http/log.h"
#include "http/oidc.h"
#include "http/reply.h"

#include <cjson/cJSON.h>

#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { WAYS = 4 }; /* set-associative: an eviction looks at four entries, not all */

struct cache_entry {
	bool used;
	unsigned char hash[AUTH_HASH_LEN];
	struct auth_user user;
	time_t cached_at;
};

struct auth_cache {
	pthread_mutex_t lock;
	struct cache_entry *entries;
	size_t sets;
	unsigned ttl;
	atomic_bool trusted;
	uint64_t generation; /* bumped by every forget, under lock */
	pthread_t listener;
	bool listener_started;
	atomic_bool stop;
};

/*
 * Argon2id with OWASP's minimum (19 MiB, 2 passes): a login costs tens of
 * milliseconds and the daemon's memory stays bounded under a burst.
 */
enum { PW_OPSLIMIT = 2 };
#define PW_MEMLIMIT (19u * 1024u * 1024u)

void
auth_token_hash(const char *token, unsigned char hash[AUTH_HASH_LEN])
{
	crypto_hash_sha256(hash, (const unsigned char *)token, strlen(token));
}

void
auth_token_new(char token[AUTH_TOKEN_LEN + 1], unsigned char hash[AUTH_HASH_LEN])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	memcpy(token, "bb_", 3);
	sodium_bin2base64(token + 3, AUTH_TOKEN_LEN + 1 - 3, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	auth_token_hash(token, hash);
}

void
auth_token_issue(struct srv_req *r, char token[AUTH_TOKEN_LEN + 1],
                 unsigned char hash[AUTH_HASH_LEN])
{
	r->secret_answer = true;
	auth_token_new(token, hash);
}

void
auth_hash_param(const unsigned char hash[AUTH_HASH_LEN], char out[2 * AUTH_HASH_LEN + 3])
{
	out[0] = '\\';
	out[1] = 'x';
	bb_hex_encode(out + 2, hash, AUTH_HASH_LEN);
}

int
auth_password_hash(const char *password, char out[128])
{
	if (crypto_pwhash_STRBYTES > 128)
		return -1;
	return crypto_pwhash_str(out, password, strlen(password), PW_OPSLIMIT, PW_MEMLIMIT);
}

bool
auth_password_verify(const char *hash, const char *password)
{
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

struct auth_cache *
auth_cache_new(unsigned capacity, unsigned ttl)
{
	struct auth_cache *c = bb_calloc(1, sizeof(*c));

	c->sets = (capacity + WAYS - 1) / WAYS;
	c->entries = bb_calloc(c->sets * WAYS, sizeof(*c->entries));
	c->ttl = ttl;
	pthread_mutex_init(&c->lock, NULL);
	atomic_init(&c->trusted, false);
	atomic_init(&c->stop, false);
	return c;
}

void
auth_cache_free(struct auth_cache *c)
{
	if (c == NULL)
		return;
	sodium_memzero(c->entries, c->sets * WAYS * sizeof(*c->entries));
	free(c->entries);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct cache_entry *
set_of(struct auth_cache *c, const unsigned char hash[AUTH_HASH_LEN])
{
	uint64_t h;

	/* The hash is already uniform: its first bytes are a fine index. */
	memcpy(&h, hash, sizeof(h));
	return &c->entries[(h % c->sets) * WAYS];
}

bool
auth_cache_get(struct auth_cache *c, const unsigned char hash[AUTH_HASH_LEN], struct auth_user *out)
{
	time_t now = time(NULL);
	bool found = false;

	if (!atomic_load(&c->trusted))
		return false;
	pthread_mutex_lock(&c->lock);
	struct cache_entry *set = set_of(c, hash);
	for (int i = 0; i < WAYS; i++) {
		struct cache_entry *e = &set[i];

		if (!e->used || memcmp(e->hash, hash, AUTH_HASH_LEN) != 0)
			continue;
		if (now - e->cached_at >= (time_t)c->ttl ||
		    (e->user.expires_at != 0 && now >= e->user.expires_at)) {
			e->used = false;
			break;
		}
		*out = e->user;
		found = true;
		break;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

uint64_t
auth_cache_generation(struct auth_cache *c)
{
	pthread_mutex_lock(&c->lock);
	uint64_t g = c->generation;
	pthread_mutex_unlock(&c->lock);
	return g;
}

void
auth_cache_put(struct auth_cache *c, const unsigned char hash[AUTH_HASH_LEN],
               const struct auth_user *u, uint64_t generation)
{
	if (!atomic_load(&c->trusted))
		return;
	pthread_mutex_lock(&c->lock);
	/* A revocation arrived since the caller read the database: its row may be stale. */
	if (generation != c->generation) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	struct cache_entry *set = set_of(c, hash), *victim = &set[0];
	for (int i = 0; i < WAYS; i++) {
		if (!set[i].used || memcmp(set[i].hash, hash, AUTH_HASH_LEN) == 0) {
			victim = &set[i];
			break;
		}
		if (set[i].cached_at < victim->cached_at)
			victim = &set[i];
	}
	victim->used = true;
	memcpy(victim->hash, hash, AUTH_HASH_LEN);
	victim->user = *u;
	victim->cached_at = time(NULL);
	pthread_mutex_unlock(&c->lock);
}

void
auth_cache_forget_token(struct auth_cache *c, const unsigned char hash[AUTH_HASH_LEN])
{
	pthread_mutex_lock(&c->lock);
	c->generation++;
	struct cache_entry *set = set_of(c, hash);
	for (int i = 0; i < WAYS; i++)
		if (set[i].used && memcmp(set[i].hash, hash, AUTH_HASH_LEN) == 0)
			set[i].used = false;
	pthread_mutex_unlock(&c->lock);
}

void
auth_cache_forget_user(struct auth_cache *c, int64_t user_id)
{
	pthread_mutex_lock(&c->lock);
	c->generation++;
	for (size_t i = 0; i < c->sets * WAYS; i++)
		if (c->entries[i].used && c->entries[i].user.id == user_id)
			c->entries[i].used = false;
	pthread_mutex_unlock(&c->lock);
}

void
auth_cache_clear(struct auth_cache *c)
{
	pthread_mutex_lock(&c->lock);
	c->generation++;
	for (size_t i = 0; i < c->sets * WAYS; i++)
		c->entries[i].used = false;
	pthread_mutex_unlock(&c->lock);
}

bool
auth_cache_trusted(struct auth_cache *c)
{
	return atomic_load(&c->trusted);
}

static void
handle_notice(struct auth_cache *c, const char *payload)
{
	unsigned char hash[AUTH_HASH_LEN];
	int64_t id;

	if (strncmp(payload, "token:", 6) == 0 &&
	    bb_hex_decode(hash, sizeof(hash), payload + 6) == 0)
		auth_cache_forget_token(c, hash);
	else if (strncmp(payload, "user:", 5) == 0 &&
	         bb_parse_int64(payload + 5, 1, INT64_MAX, &id))
		auth_cache_forget_user(c, id);
	else
		auth_cache_clear(c); /* something we do not understand: trust nothing */
}

static void *
listener_main(void *arg)
{
	struct srv *s = arg;
	struct auth_cache *c = s->auth;
	struct db_conn *conn = NULL;

	while (!atomic_load(&c->stop)) {
		if (conn == NULL) {
			if (db_connect(s->cfg->database_url, NULL, &conn) != BB_OK) {
				conn = NULL;
				for (int i = 0; i < 10 && !atomic_load(&c->stop); i++)
					poll(NULL, 0, 100);
				continue;
			}
			/* LISTEN is a utility statement: it cannot be prepared, and takes no input.
			 */
			PGresult *res = PQexec(db_pgconn(conn), "LISTEN bb_auth");
			bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
			PQclear(res);
			if (!ok) {
				/* A server that refuses LISTEN (a hot standby) would refuse it
				 * again at once: wait as after a failed connect. */
				db_disconnect(conn);
				conn = NULL;
				for (int i = 0; i < 10 && !atomic_load(&c->stop); i++)
					poll(NULL, 0, 100);
				continue;
			}
			/* Revocations may have been missed while we were away. */
			auth_cache_clear(c);
			atomic_store(&c->trusted, true);
			log_debug("token cache: listening for revocations");
		}
		PGconn *pg = db_pgconn(conn);
		struct pollfd p = { .fd = PQsocket(pg), .events = POLLIN };
		if (poll(&p, 1, 250) <= 0)
			continue;
		if (!PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK) {
			atomic_store(&c->trusted, false);
			auth_cache_clear(c);
			log_warnx(
			    "token cache: lost the database; tokens are read from it until back");
			db_disconnect(conn);
			conn = NULL;
			continue;
		}
		PGnotify *n;
		while ((n = PQnotifies(pg)) != NULL) {
			handle_notice(c, n->extra);
			PQfreemem(n);
		}
	}
	atomic_store(&c->trusted, false);
	db_disconnect(conn);
	return NULL;
}

int
auth_listener_start(struct srv *s)
{
	if (pthread_create(&s->auth->listener, NULL, listener_main, s) != 0)
		return -1;
	s->auth->listener_started = true;
	return 0;
}

void
auth_listener_stop(struct srv *s)
{
	if (!s->auth->listener_started)
		return;
	atomic_store(&s->auth->stop, true);
	pthread_join(s->auth->listener, NULL);
	s->auth->listener_started = false;
}

static int
user_from_row(PGresult *res, struct auth_user *u)
{
	enum role role;

	if (role_parse(PQgetvalue(res, 0, 3), &role) != 0)
		return -1;
	memset(u, 0, sizeof(*u));
	u->token_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	u->id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	snprintf(u->username, sizeof(u->username), "%s", PQgetvalue(res, 0, 2));
	u->role = role;
	u->expires_at =
	    PQgetisnull(res, 0, 4) ? 0 : (time_t)strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	snprintf(u->studies, sizeof(u->studies), "%s", PQgetvalue(res, 0, 5));
	u->password_change_required = PQgetvalue(res, 0, 7)[0] == 't';
	return 0;
}

/* A claim's groups: an array of strings, or one string; at most 256 kept. */
static size_t
claim_groups(const cJSON *v, const char **out, size_t max)
{
	const cJSON *g;
	size_t n = 0;

	if (cJSON_IsString(v)) {
		out[n++] = v->valuestring;
		return n;
	}
	if (!cJSON_IsArray(v))
		return 0;
	cJSON_ArrayForEach(g, v)
	{
		if (cJSON_IsString(g) && n < max)
			out[n++] = g->valuestring;
	}
	return n;
}

enum { GROUPS_MAX = 256 };

enum bb_err
auth_federated_claims(struct srv_req *r, const cJSON *claims, const char *method,
                      struct auth_user *u)
{
	struct oidc *o = r->srv->oidc;
	const char *sub = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claims, "sub"));
	const char *name =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claims, oidc_username_claim(o)));
	const cJSON *gclaim = cJSON_GetObjectItemCaseSensitive(claims, oidc_groups_claim(o));
	const char *groups[GROUPS_MAX];
	size_t n = claim_groups(gclaim, groups, GROUPS_MAX);

	if (sub == NULL || sub[0] == '\0') {
		reply_header(r, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		reply_problem_code(r, "token-rejected", NULL, "the token names no subject (sub)");
		return BB_EINVAL;
	}
	char *external = bb_asprintf("%s|%s", oidc_issuer(o), sub);
	cJSON *detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "issuer", oidc_issuer(o));
	cJSON_AddStringToObject(detail, "subject", sub);
	cJSON_AddItemToObject(detail, "groups",
	                      gclaim != NULL ? cJSON_Duplicate(gclaim, true) : cJSON_CreateArray());
	const struct fed_login f = { .source = "oidc",
		                     .method = method,
		                     .external_id = external,
		                     .username = name,
		                     .groups = groups,
		                     .ngroups = n,
		                     .detail = detail };
	enum bb_err err = federated_login(r, &f, u);
	cJSON_Delete(detail);
	free(external);
	return err;
}

/*
 * A bearer token from the OpenID provider (a JWT access token for scripts):
 * verified against the provider's keys, then its person mapped through the
 * group map. Kept in the token cache until it expires, so that the
 * signature and the account are checked once per daemon and token; a
 * change of the account here (disabled, NOTIFY) empties it as for local
 * tokens. Refusals are answered here, naming why (401 token-rejected).
 */
static enum bb_err
auth_provider_token(struct srv_req *r, const char *token)
{
	struct oidc *o = r->srv->oidc;
	unsigned char hash[AUTH_HASH_LEN];
	cJSON *claims = NULL;
	bool unreachable;

	auth_token_hash(token, hash);
	if (auth_cache_get(r->srv->auth, hash, &r->user)) {
		r->authenticated = true;
		return BB_OK;
	}
	uint64_t generation = auth_cache_generation(r->srv->auth);
	if (oidc_audience(o) == NULL) {
		reply_header(r, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		reply_problem_code(r, "token-rejected", NULL,
		                   "this service takes no tokens of the identity provider "
		                   "(oidc_audience is unset): log in for a session token");
		return BB_EINVAL;
	}
	enum jwt_result jr = oidc_verify(o, token, oidc_audience(o), NULL, &claims, &unreachable);
	if (jr != JWT_OK) {
		log_info("provider token refused from %s: %s", r->client_addr, jwt_result_text(jr));
		if (unreachable) {
			reply_header(r, "Retry-After", "10");
			reply_problem_code(r, "provider-unavailable", NULL,
			                   "the identity provider's keys cannot be had now; local "
			                   "accounts still log in");
			return BB_EIO;
		}
		char hdr[160];
		snprintf(hdr, sizeof(hdr),
		         "Bearer error=\"invalid_token\", error_description=\"%s\"",
		         jwt_result_text(jr));
		reply_header(r, "WWW-Authenticate", bb_arena_strdup(&r->arena, hdr));
		reply_problem_code(r, "token-rejected", NULL, "%s", jwt_result_text(jr));
		return BB_EINVAL;
	}
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
	enum bb_err err = auth_federated_claims(r, claims, "bearer", &r->user);
	if (err == BB_OK) {
		r->user.expires_at = (time_t)exp->valuedouble;
		auth_cache_put(r->srv->auth, hash, &r->user, generation);
		r->authenticated = true;
	}
	cJSON_Delete(claims);
	return err;
}

enum bb_err
auth_request(struct srv_req *r)
{
	const char *h = req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	unsigned char hash[AUTH_HASH_LEN];
	char param[2 * AUTH_HASH_LEN + 3];

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return BB_EINVAL;
	h += 7;
	while (*h == ' ')
		h++;
	/* Our own tokens begin bb_; a provider's JWT never does. */
	if (strncmp(h, "bb_", 3) != 0 && r->srv->oidc != NULL && strchr(h, '.') != NULL)
		return auth_provider_token(r, h);
	if (strlen(h) != AUTH_TOKEN_LEN || strncmp(h, "bb_", 3) != 0)
		return BB_EINVAL;
	auth_token_hash(h, hash);
	if (auth_cache_get(r->srv->auth, hash, &r->user)) {
		r->authenticated = true;
		return BB_OK;
	}
	uint64_t generation = auth_cache_generation(r->srv->auth);
	struct db_conn *db = req_db(r);
	if (db == NULL)
		return BB_EDBDOWN;
	auth_hash_param(hash, param);
	const char *params[] = { param };
	PGresult *res;
	enum bb_err err = db_exec_read(db, "db_tokens_lookup", 1, params, &res);
	if (err != BB_OK)
		return err;
	if (PQntuples(res) != 1 || user_from_row(res, &r->user) != 0) {
		PQclear(res);
		return BB_EINVAL;
	}
	/* Never cached: the account stays refused until an admin enables it again. */
	bool disabled = PQgetvalue(res, 0, 6)[0] == 't';
	PQclear(res);
	if (disabled) {
		memset(&r->user, 0, sizeof(r->user));
		return BB_ECONFLICT;
	}
	auth_cache_put(r->srv->auth, hash, &r->user, generation);
	r->authenticated = true;
	return BB_OK;
}
