/*
 * sso.c — the page's login through the OpenID provider (docs/sso.md): the
 * authorization-code flow with PKCE (RFC 7636), state and nonce, ending in
 * a session token like a password login's. GET /api/v1/oidc/login sends
 * the browser to the provider with a cookie binding the login to it; the
 * provider sends it back to GET /api/v1/oidc/callback, which exchanges the
 * code, verifies the ID token and sends the browser to the page with the
 * session token in the URL fragment (never sent to a server, and removed
 * from the address bar by the page at once).
 */
#include "cmd/config.h"
#include "api/api.h"

#include "db/accounts.h"
#include "http/auth.h"
#include "http/log.h"
#include "http/oidc.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each login has a cookie of its own, named after its state: two tabs may
 * each have a login under way, and finishing one never spoils the other. */
#define COOKIE "bb_oidc_"

enum {
	RANDOM_BYTES = 32,
	RANDOM_LEN = 43, /* base64url of 32 bytes */
	COOKIE_TAG = 16, /* hex digits of the state's hash in the cookie's name */
	COOKIE_NAME = sizeof(COOKIE) - 1 + COOKIE_TAG,
};

static void
random_text(char out[RANDOM_LEN + 1])
{
	unsigned char raw[RANDOM_BYTES];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, RANDOM_LEN + 1, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

static void
hash_param(const char *text, char out[2 * AUTH_HASH_LEN + 3])
{
	unsigned char h[AUTH_HASH_LEN];

	auth_token_hash(text, h);
	auth_hash_param(h, out);
}

/* The name of the cookie of the login whose state hashes to state_h ("\\x" and hex). */
static void
cookie_name(const char *state_h, char out[COOKIE_NAME + 1])
{
	snprintf(out, COOKIE_NAME + 1, COOKIE "%.*s", COOKIE_TAG, state_h + 2);
}

/* The login's cookie from the Cookie header, if the browser has it. */
static bool
cookie_value(struct srv_req *r, const char *name, char out[RANDOM_LEN + 1])
{
	const char *h = req_header(r, "Cookie");
	size_t nlen = strlen(name);

	while (h != NULL && *h != '\0') {
		h += strspn(h, " ;");
		size_t len = strcspn(h, ";");
		if (len == nlen + 1 + RANDOM_LEN && strncmp(h, name, nlen) == 0 && h[nlen] == '=') {
			snprintf(out, RANDOM_LEN + 1, "%.*s", RANDOM_LEN, h + nlen + 1);
			return true;
		}
		h += len;
	}
	return false;
}

/* The browser itself opened the URL (a link, a redirect, the address bar), not a script. */
static bool
navigation(struct srv_req *r)
{
	const char *mode = req_header(r, "Sec-Fetch-Mode"), *accept = req_header(r, "Accept");

	return (mode != NULL && strcmp(mode, "navigate") == 0) ||
	       (accept != NULL && strstr(accept, "text/html") != NULL);
}

/*
 * A refusal a person would otherwise see as a bare JSON document in the
 * browser's window: the browser is sent back to the page, which says it in
 * the person's language (302 to back#sso-error=CODE, docs/sso.md). Scripts
 * keep the problem+json answer.
 */
static void
refusal_to_page(struct srv_req *r, const char *back, const char *clear_cookie)
{
	if (r->status < 400 || r->resp_body == NULL || !navigation(r))
		return;
	const char *code = "sso-refused";
	cJSON *p = cJSON_ParseWithLength(r->resp_body, r->resp_len);
	const char *c = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "code"));
	if (c != NULL && c[0] != '\0' && strlen(c) <= 48 &&
	    strspn(c, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(c))
		code = bb_arena_strdup(&r->arena, c);
	cJSON_Delete(p);
	reply_reset(r);
	char *location = bb_asprintf("%s#sso-error=%s", back, code);
	reply_header(r, "Location", bb_arena_strdup(&r->arena, location));
	free(location);
	if (clear_cookie != NULL)
		reply_header(r, "Set-Cookie", clear_cookie);
	reply_header(r, "Cache-Control", "no-store");
	reply_header(r, "Referrer-Policy", "no-referrer");
	reply_empty(r, 302);
}

static bool
oidc_ready(struct srv_req *r)
{
	if (r->srv->oidc == NULL || r->srv->cfg->oidc_client_id == NULL) {
		reply_problem_code(
		    r, "sso-not-configured", NULL,
		    "this service has no OpenID Connect login (oidc_client_id unset)");
		return false;
	}
	return true;
}

static void
begin(struct srv_req *r)
{
	const char *back = req_query(r, "return_to");
	char state[RANDOM_LEN + 1], nonce[RANDOM_LEN + 1], verifier[RANDOM_LEN + 1],
	    browser[RANDOM_LEN + 1];
	char state_h[2 * AUTH_HASH_LEN + 3], browser_h[2 * AUTH_HASH_LEN + 3];
	char name[COOKIE_NAME + 1];
	char *url = NULL;

	if (!oidc_ready(r))
		return;
	/* Only a path of this site: anything else would make us an open redirector. */
	if (back == NULL || back[0] == '\0')
		back = "/";
	if (back[0] != '/' || back[1] == '/' || back[1] == '\\' || strlen(back) > 512 ||
	    strpbrk(back, "#\r\n") != NULL) {
		reply_invalid_field(r, "return_to", "must be a path of this site, such as /");
		return;
	}
	random_text(state);
	random_text(nonce);
	random_text(verifier);
	random_text(browser);
	hash_param(state, state_h);
	hash_param(browser, browser_h);
	/* The provider first: a login it cannot take leaves nothing behind here. */
	if (oidc_authorize_url(r->srv->oidc, state, nonce, verifier, &url) != BB_OK) {
		sodium_memzero(verifier, sizeof(verifier));
		reply_header(r, "Retry-After", "10");
		reply_problem_code(r, "provider-unavailable", NULL,
		                   "the identity provider cannot be reached; local accounts still "
		                   "log in");
		return;
	}
	const char *params[] = { state_h, browser_h, nonce, verifier, back };
	PGresult *res = function_answer(r, "db_oidc_login_begin", 5, params);
	if (res == NULL) {
		free(url);
		sodium_memzero(verifier, sizeof(verifier));
		return;
	}
	PQclear(res);
	reply_header(r, "Location", bb_arena_strdup(&r->arena, url));
	free(url);
	/* Lax: the provider's redirect back is a top-level GET, which carries it. */
	cookie_name(state_h, name);
	char *cookie = bb_asprintf("%s=%s; Path=/api/v1/oidc; Max-Age=600; HttpOnly; "
	                           "SameSite=Lax%s",
	                           name, browser, r->srv->cfg->tls_cert != NULL ? "; Secure" : "");
	reply_header(r, "Set-Cookie", bb_arena_strdup(&r->arena, cookie));
	free(cookie);
	reply_header(r, "Cache-Control", "no-store");
	reply_empty(r, 302);
	sodium_memzero(verifier, sizeof(verifier));
}

void
h_oidc_login(struct srv_req *r)
{
	begin(r);
	refusal_to_page(r, "/", NULL);
}

/* The provider's answer, after its state: an error it sends back, or the code's exchange. */
static void
finish(struct srv_req *r, const char *nonce, const char *verifier, const char *back)
{
	const struct srv_config *cfg = r->srv->cfg;
	const char *code = req_query(r, "code"), *error = req_query(r, "error");
	const char *iss = req_query(r, "iss");
	char why[256] = "", *id_token = NULL;
	cJSON *claims = NULL;
	bool unreachable;

	/* RFC 9207: an answer naming another issuer is a mix-up attack's. */
	if (iss != NULL && strcmp(iss, cfg->oidc_issuer) != 0) {
		reply_problem_code(r, "sso-refused", NULL, "the answer comes from another issuer");
		return;
	}
	if (error != NULL || code == NULL) {
		log_info("oidc login refused by the provider from %s: %.64s", r->client_addr,
		         error != NULL ? error : "no code");
		reply_problem_code(r, "sso-refused", NULL, "the identity provider refused: %.64s",
		                   error != NULL ? error : "no code");
		return;
	}
	enum bb_err xerr = oidc_exchange(r->srv->oidc, code, verifier, &id_token, why, sizeof(why));
	if (xerr != BB_OK) {
		log_warnx("oidc login from %s: %s", r->client_addr, why);
		if (xerr == BB_EIO) {
			reply_header(r, "Retry-After", "10");
			reply_problem_code(r, "provider-unavailable", NULL,
			                   "the identity provider cannot be reached: %s; local "
			                   "accounts still log in",
			                   why);
		} else {
			reply_problem_code(r, "sso-refused", NULL, "the code was not accepted: %s",
			                   why);
		}
		return;
	}
	enum jwt_result jr =
	    oidc_verify(r->srv->oidc, id_token, cfg->oidc_client_id, nonce, &claims, &unreachable);
	sodium_memzero(id_token, strlen(id_token));
	free(id_token);
	if (jr != JWT_OK) {
		log_warnx("oidc login from %s: ID token refused: %s", r->client_addr,
		          jwt_result_text(jr));
		reply_problem_code(r, "sso-refused", NULL, "the ID token was refused: %s",
		                   jwt_result_text(jr));
		return;
	}
	struct auth_user u;
	enum bb_err err = auth_federated_claims(r, claims, "oidc", &u);
	cJSON_Delete(claims);
	if (err != BB_OK)
		return;

	char token[AUTH_TOKEN_LEN + 1], expires[40];
	unsigned char hash[AUTH_HASH_LEN];
	int64_t token_id;
	auth_token_issue(r, token, hash);
	if ((err = db_tokens_insert(r->db, u.id, hash, "session", NULL, cfg->session_ttl, &token_id,
	                            expires)) != BB_OK) {
		reply_db_error(r, err);
		return;
	}
	char *location = bb_asprintf("%s#session=%s", back, token);
	sodium_memzero(token, sizeof(token));
	reply_header(r, "Location", bb_arena_strdup(&r->arena, location));
	sodium_memzero(location, strlen(location));
	free(location);
	reply_header(r, "Cache-Control", "no-store");
	reply_header(r, "Referrer-Policy", "no-referrer");
	reply_empty(r, 302);
}

/* The callback's work; back: where the browser returns, once the login is known. */
static void
callback(struct srv_req *r, const char *state, const char *state_h, char **back)
{
	char browser[RANDOM_LEN + 1], browser_h[2 * AUTH_HASH_LEN + 3], name[COOKIE_NAME + 1];

	if (!oidc_ready(r))
		return;
	if (state == NULL || strlen(state) != RANDOM_LEN) {
		reply_problem_code(r, "sso-login-expired", NULL,
		                   "no login of this service is under way with this state: start "
		                   "again from the page");
		return;
	}
	cookie_name(state_h, name);
	bool have_cookie = cookie_value(r, name, browser);
	hash_param(have_cookie ? browser : "", browser_h);
	const char *params[] = { state_h, browser_h };
	PGresult *res = function_answer(r, "db_oidc_login_take", 2, params);
	if (res == NULL)
		return;
	if (PQgetisnull(res, 0, 1) || PQgetvalue(res, 0, 0)[0] != 't') {
		bool unknown = PQgetisnull(res, 0, 1);
		PQclear(res);
		log_info("oidc callback from %s refused: %s", r->client_addr,
		         unknown ? "unknown, used or old state" : "another browser's login");
		reply_problem_code(r, "sso-login-expired", NULL, "%s",
		                   unknown
		                       ? "this login is unknown, was used already or began more "
		                         "than 10 minutes ago: start again from the page"
		                       : "this login was begun in another browser: start again "
		                         "from the page");
		return;
	}
	char *nonce = bb_strdup(PQgetvalue(res, 0, 1)),
	     *verifier = bb_strdup(PQgetvalue(res, 0, 2));
	*back = bb_strdup(PQgetvalue(res, 0, 3));
	PQclear(res);
	finish(r, nonce, verifier, *back);
	sodium_memzero(verifier, strlen(verifier));
	free(nonce);
	free(verifier);
}

void
h_oidc_callback(struct srv_req *r)
{
	const char *state = req_query(r, "state");
	char state_h[2 * AUTH_HASH_LEN + 3], name[COOKIE_NAME + 1];
	char *back = NULL;

	hash_param(state != NULL ? state : "", state_h);
	callback(r, state, state_h, &back);
	/* The login is used up whatever the outcome: so is its cookie. */
	cookie_name(state_h, name);
	char *clear =
	    bb_asprintf("%s=; Path=/api/v1/oidc; Max-Age=0; HttpOnly; SameSite=Lax", name);
	reply_header(r, "Set-Cookie", clear);
	refusal_to_page(r, back != NULL ? back : "/", clear);
	free(clear);
	free(back);
}
