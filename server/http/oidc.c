/* oidc.c — discovery, the JWKS cache and the token endpoint, over libcurl. */
#include "http/oidc.h"

#include "cmd/config.h"
#include "http/log.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { ANSWER_MAX = 1 << 20, TIMEOUT_MS = 5000, SECRET_MAX = 512 };

struct oidc {
	const struct srv_config *cfg;
	char *secret; /* NULL: a public client (PKCE only) */

	pthread_mutex_t lock;                                     /* guards what follows */
	char *authorization_endpoint, *token_endpoint, *jwks_uri; /* NULL until discovered */
	struct jwk_set *keys;                                     /* NULL until fetched */
	unsigned long generation;                                 /* bumped by every new set */
	long long last_fetch_ms;                                  /* 0: never tried */

	pthread_mutex_t fetching; /* one fetch at a time */
};

const char *
oidc_audience(const struct oidc *o)
{
	return o->cfg->oidc_audience;
}

const char *
oidc_client_id(const struct oidc *o)
{
	return o->cfg->oidc_client_id;
}

const char *
oidc_username_claim(const struct oidc *o)
{
	return o->cfg->oidc_username_claim;
}

const char *
oidc_groups_claim(const struct oidc *o)
{
	return o->cfg->oidc_groups_claim;
}

const char *
oidc_issuer(const struct oidc *o)
{
	return o->cfg->oidc_issuer;
}

static int
read_secret(const char *path, char **out, FILE *err)
{
	struct stat st;
	char *text = NULL;
	size_t len;

	if (stat(path, &st) != 0 || bb_read_file(path, &text, &len) != BB_OK) {
		fprintf(err, "biobankd: oidc_client_secret_file: cannot read %s\n", path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		fprintf(
		    err,
		    "biobankd: oidc_client_secret_file: %s may be read by others: chmod 600 it\n",
		    path);
		sodium_memzero(text, len);
		free(text);
		return -1;
	}
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	if (len == 0 || len > SECRET_MAX) {
		fprintf(err,
		        "biobankd: oidc_client_secret_file: %s holds no secret of 1 to %d bytes\n",
		        path, SECRET_MAX);
		sodium_memzero(text, len);
		free(text);
		return -1;
	}
	*out = text;
	return 0;
}

int
oidc_new(const struct srv_config *cfg, struct oidc **out, FILE *err)
{
	*out = NULL;
	if (cfg->oidc_issuer == NULL)
		return 0;
	struct oidc *o = bb_calloc(1, sizeof(*o));
	o->cfg = cfg;
	if (cfg->oidc_client_secret_file != NULL &&
	    read_secret(cfg->oidc_client_secret_file, &o->secret, err) != 0) {
		free(o);
		return -1;
	}
	pthread_mutex_init(&o->lock, NULL);
	pthread_mutex_init(&o->fetching, NULL);
	*out = o;
	return 0;
}

void
oidc_free(struct oidc *o)
{
	if (o == NULL)
		return;
	if (o->secret != NULL) {
		sodium_memzero(o->secret, strlen(o->secret));
		free(o->secret);
	}
	free(o->authorization_endpoint);
	free(o->token_endpoint);
	free(o->jwks_uri);
	jwk_set_unref(o->keys);
	pthread_mutex_destroy(&o->lock);
	pthread_mutex_destroy(&o->fetching);
	free(o);
}

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	struct bb_buf *b = arg;

	if (b->len + size * n > ANSWER_MAX)
		return 0; /* no provider's document is this large: cut short */
	bb_buf_append(b, data, size * n);
	return size * n;
}

/* GET url, or POST form when not NULL; the answer's status and body, or why. */
static int
http_call(const struct oidc *o, const char *url, const char *form, const char *auth, long *status,
          struct bb_buf *body, char *why, size_t whylen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;

	if (h == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	hdr = curl_slist_append(hdr, "Accept: application/json");
	if (auth != NULL)
		hdr = curl_slist_append(hdr, auth);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (o->cfg->oidc_ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, o->cfg->oidc_ca_file);
	if (form != NULL)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	else
		snprintf(why, whylen, "%s: %s", url, *errbuf ? errbuf : curl_easy_strerror(rc));
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return rc == CURLE_OK ? 0 : -1;
}

/* GET a JSON document; *doc on 0. */
static int
get_json(const struct oidc *o, const char *url, cJSON **doc, char *why, size_t whylen)
{
	struct bb_buf body = { 0 };
	long status = 0;

	*doc = NULL;
	if (http_call(o, url, NULL, NULL, &status, &body, why, whylen) != 0) {
		bb_buf_free(&body);
		return -1;
	}
	if (status != 200)
		snprintf(why, whylen, "%s answered %ld", url, status);
	else if ((*doc = cJSON_ParseWithLength(body.data, body.len)) == NULL)
		snprintf(why, whylen, "%s answered with no JSON", url);
	bb_buf_free(&body);
	return *doc != NULL ? 0 : -1;
}

/* An endpoint the provider names: https, or http on loopback as the issuer may be. */
static char *
endpoint(const cJSON *doc, const char *name)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, name));

	if (v == NULL ||
	    !(strncmp(v, "https://", 8) == 0 || strncmp(v, "http://127.", 11) == 0 ||
	      strncmp(v, "http://[::1]", 12) == 0 || strncmp(v, "http://localhost", 16) == 0))
		return NULL;
	return bb_strdup(v);
}

/* The discovery document (OpenID Connect Discovery 1.0, 4), checked. Called under fetching. */
static int
discover(struct oidc *o, char *why, size_t whylen)
{
	const char *issuer = o->cfg->oidc_issuer;
	size_t ilen = strlen(issuer);
	char *url =
	    bb_asprintf("%.*s/.well-known/openid-configuration",
	                (int)(ilen > 0 && issuer[ilen - 1] == '/' ? ilen - 1 : ilen), issuer);
	cJSON *doc;
	int rc = get_json(o, url, &doc, why, whylen);

	free(url);
	if (rc != 0)
		return -1;
	const char *said = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "issuer"));
	char *az = endpoint(doc, "authorization_endpoint"), *tk = endpoint(doc, "token_endpoint"),
	     *jw = endpoint(doc, "jwks_uri");
	/* Another issuer's document would make us trust its keys (Discovery 1.0, 4.3). */
	if (said == NULL || strcmp(said, issuer) != 0) {
		snprintf(why, whylen, "the discovery document names issuer \"%.200s\", not %.200s",
		         said != NULL ? said : "", issuer);
		rc = -1;
	} else if (az == NULL || tk == NULL || jw == NULL) {
		snprintf(why, whylen,
		         "the discovery document lacks an https authorization_endpoint, "
		         "token_endpoint or jwks_uri");
		rc = -1;
	}
	cJSON_Delete(doc);
	if (rc != 0) {
		free(az);
		free(tk);
		free(jw);
		return -1;
	}
	pthread_mutex_lock(&o->lock);
	free(o->authorization_endpoint);
	free(o->token_endpoint);
	free(o->jwks_uri);
	o->authorization_endpoint = az;
	o->token_endpoint = tk;
	o->jwks_uri = jw;
	pthread_mutex_unlock(&o->lock);
	return 0;
}

/*
 * Fetch the discovery document (once) and the keys, unless another thread
 * did since the caller looked (seen_generation) or the last attempt was
 * less than oidc_jwks_min_interval ago. True when newer keys are there.
 */
static bool
refresh(struct oidc *o, unsigned long seen_generation)
{
	char why[512] = "";
	bool fresh = false;

	pthread_mutex_lock(&o->fetching);
	pthread_mutex_lock(&o->lock);
	long long now = bb_monotonic_ms();
	bool newer = o->generation != seen_generation;
	bool wait = o->last_fetch_ms != 0 &&
	            now - o->last_fetch_ms < (long long)o->cfg->oidc_jwks_min_interval * 1000;
	bool discovered = o->jwks_uri != NULL;
	if (!newer && !wait)
		o->last_fetch_ms = now;
	pthread_mutex_unlock(&o->lock);
	if (newer || wait) {
		pthread_mutex_unlock(&o->fetching);
		return newer;
	}
	if (!discovered && discover(o, why, sizeof(why)) != 0) {
		log_warnx("oidc: cannot read the provider's discovery document: %s", why);
		pthread_mutex_unlock(&o->fetching);
		return false;
	}
	pthread_mutex_lock(&o->lock);
	char *uri = bb_strdup(o->jwks_uri);
	pthread_mutex_unlock(&o->lock);
	cJSON *doc;
	struct jwk_set *set = NULL;
	if (get_json(o, uri, &doc, why, sizeof(why)) == 0) {
		char *text = cJSON_PrintUnformatted(doc);
		if (jwk_set_parse(text, &set, why, sizeof(why)) != 0)
			set = NULL;
		free(text);
		cJSON_Delete(doc);
	}
	if (set == NULL) {
		log_warnx("oidc: cannot read the provider's keys: %s", why);
	} else {
		log_info("oidc: %zu signing key%s from %s", jwk_set_count(set),
		         jwk_set_count(set) == 1 ? "" : "s", uri);
		pthread_mutex_lock(&o->lock);
		jwk_set_unref(o->keys);
		o->keys = set;
		o->generation++;
		pthread_mutex_unlock(&o->lock);
		fresh = true;
	}
	free(uri);
	pthread_mutex_unlock(&o->fetching);
	return fresh;
}

static struct jwk_set *
current_keys(struct oidc *o, unsigned long *generation)
{
	pthread_mutex_lock(&o->lock);
	struct jwk_set *k = jwk_set_ref(o->keys);
	*generation = o->generation;
	pthread_mutex_unlock(&o->lock);
	return k;
}

enum jwt_result
oidc_verify(struct oidc *o, const char *token, const char *audience, const char *nonce,
            cJSON **claims, bool *unreachable)
{
	struct jwt_expect e = { .issuer = o->cfg->oidc_issuer,
		                .audience = audience,
		                .nonce = nonce,
		                .skew = o->cfg->oidc_clock_skew,
		                .now = time(NULL) };
	unsigned long gen;
	char kid[8];

	*claims = NULL;
	*unreachable = false;
	/* A token we would refuse whatever the keys never makes us fetch them. */
	enum jwt_result r = jwt_peek(token, kid, sizeof(kid));
	if (r != JWT_OK)
		return r;
	struct jwk_set *keys = current_keys(o, &gen);
	r = keys != NULL ? jwt_verify(token, keys, &e, claims) : JWT_UNKNOWN_KID;
	if (r == JWT_UNKNOWN_KID && refresh(o, gen)) {
		jwk_set_unref(keys);
		keys = current_keys(o, &gen);
		r = jwt_verify(token, keys, &e, claims);
	}
	*unreachable = keys == NULL;
	jwk_set_unref(keys);
	return r;
}

/* The endpoints, discovered first if need be; NULL when the provider cannot be reached. */
static char *
endpoint_copy(struct oidc *o, bool token)
{
	unsigned long gen;

	pthread_mutex_lock(&o->lock);
	bool have = o->jwks_uri != NULL;
	gen = o->generation;
	pthread_mutex_unlock(&o->lock);
	if (!have)
		refresh(o, gen);
	pthread_mutex_lock(&o->lock);
	const char *v = token ? o->token_endpoint : o->authorization_endpoint;
	char *copy = v != NULL ? bb_strdup(v) : NULL;
	pthread_mutex_unlock(&o->lock);
	return copy;
}

static void
add_param(CURL *h, struct bb_buf *b, const char *name, const char *value)
{
	char *v = curl_easy_escape(h, value, 0);

	bb_buf_printf(b, "%s%s=%s", b->len > 0 ? "&" : "", name, v != NULL ? v : "");
	curl_free(v);
}

/*
 * The authorization endpoint from the discovery document read again now:
 * a login is rare, and a provider that is down is then said on our page
 * (503) instead of by the browser's error page at the provider's address;
 * an endpoint the provider moved is followed. NULL when it cannot be read.
 */
static char *
authorization_endpoint_now(struct oidc *o)
{
	char why[512] = "";

	pthread_mutex_lock(&o->fetching);
	int rc = discover(o, why, sizeof(why));
	pthread_mutex_unlock(&o->fetching);
	if (rc != 0) {
		log_warnx("oidc: cannot read the provider's discovery document: %s", why);
		return NULL;
	}
	pthread_mutex_lock(&o->lock);
	char *copy = bb_strdup(o->authorization_endpoint);
	pthread_mutex_unlock(&o->lock);
	return copy;
}

enum bb_err
oidc_authorize_url(struct oidc *o, const char *state, const char *nonce, const char *verifier,
                   char **url)
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	char challenge[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
	                                         sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	char *az = authorization_endpoint_now(o);
	CURL *h;

	*url = NULL;
	if (az == NULL || (h = curl_easy_init()) == NULL) {
		free(az);
		return BB_EIO;
	}
	/* PKCE (RFC 7636, 4.2): S256, the only method we send. */
	crypto_hash_sha256(digest, (const unsigned char *)verifier, strlen(verifier));
	sodium_bin2base64(challenge, sizeof(challenge), digest, sizeof(digest),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	struct bb_buf q = { 0 };
	add_param(h, &q, "response_type", "code");
	add_param(h, &q, "client_id", o->cfg->oidc_client_id);
	add_param(h, &q, "redirect_uri", o->cfg->oidc_redirect_uri);
	add_param(h, &q, "scope", o->cfg->oidc_scopes);
	add_param(h, &q, "state", state);
	add_param(h, &q, "nonce", nonce);
	add_param(h, &q, "code_challenge", challenge);
	add_param(h, &q, "code_challenge_method", "S256");
	curl_easy_cleanup(h);
	*url = bb_asprintf("%s%c%s", az, strchr(az, '?') != NULL ? '&' : '?', q.data);
	bb_buf_free(&q);
	free(az);
	return BB_OK;
}

enum bb_err
oidc_exchange(struct oidc *o, const char *code, const char *verifier, char **id_token, char *why,
              size_t whylen)
{
	char *tk = endpoint_copy(o, true), *auth = NULL;
	CURL *h;

	*id_token = NULL;
	if (tk == NULL || (h = curl_easy_init()) == NULL) {
		snprintf(why, whylen, "the provider cannot be reached");
		free(tk);
		return BB_EIO;
	}
	struct bb_buf form = { 0 };
	add_param(h, &form, "grant_type", "authorization_code");
	add_param(h, &form, "code", code);
	add_param(h, &form, "redirect_uri", o->cfg->oidc_redirect_uri);
	add_param(h, &form, "code_verifier", verifier);
	if (o->secret != NULL) {
		/* client_secret_basic (RFC 6749, 2.3.1): each part form-encoded, then Base64. */
		char *id = curl_easy_escape(h, o->cfg->oidc_client_id, 0);
		char *sec = curl_easy_escape(h, o->secret, 0);
		if (id == NULL || sec == NULL) {
			curl_free(id);
			curl_free(sec);
			curl_easy_cleanup(h);
			bb_buf_free(&form);
			free(tk);
			snprintf(why, whylen, "out of memory");
			return BB_EINTERNAL;
		}
		char *pair = bb_asprintf("%s:%s", id, sec);
		size_t b64len =
		    sodium_base64_ENCODED_LEN(strlen(pair), sodium_base64_VARIANT_ORIGINAL);
		static const char basic[] = "Authorization: Basic ";
		auth = bb_malloc(sizeof(basic) - 1 + b64len);
		memcpy(auth, basic, sizeof(basic) - 1);
		sodium_bin2base64(auth + sizeof(basic) - 1, b64len, (const unsigned char *)pair,
		                  strlen(pair), sodium_base64_VARIANT_ORIGINAL);
		sodium_memzero(pair, strlen(pair));
		sodium_memzero(sec, strlen(sec));
		free(pair);
		curl_free(id);
		curl_free(sec);
	} else {
		add_param(h, &form, "client_id", o->cfg->oidc_client_id);
	}
	curl_easy_cleanup(h);

	struct bb_buf body = { 0 };
	long status = 0;
	enum bb_err err = BB_EIO;
	if (http_call(o, tk, form.data, auth, &status, &body, why, whylen) == 0) {
		cJSON *doc = cJSON_ParseWithLength(body.data, body.len);
		const char *idt =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "id_token"));
		const char *e =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "error"));

		if (status == 200 && idt != NULL) {
			*id_token = bb_strdup(idt);
			err = BB_OK;
		} else {
			/* It answered: a refusal of the code, not an outage. */
			err = BB_EINVAL;
			snprintf(why, whylen, "the token endpoint answered %ld%s%.100s", status,
			         e != NULL ? ": " : "", e != NULL ? e : "");
		}
		cJSON_Delete(doc);
	}
	if (auth != NULL) {
		sodium_memzero(auth, strlen(auth));
		free(auth);
	}
	sodium_memzero(form.data, form.len);
	bb_buf_free(&form);
	sodium_memzero(body.data, body.len);
	bb_buf_free(&body);
	free(tk);
	return err;
}
