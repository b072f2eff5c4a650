/* jwt.c — JWS compact tokens verified with libcrypto against a JWK Set. */
#include "http/jwt.h"

#include "biobank.h"

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TOKEN_MAX = 16384, KID_MAX = 128, RSA_MIN_BITS = 2048 };

enum key_kind { KEY_RSA, KEY_EC256, KEY_EC384 };

struct jwk {
	char kid[KID_MAX];
	char alg[16]; /* "" when the key does not pin one */
	enum key_kind kind;
	EVP_PKEY *pkey;
};

struct jwk_set {
	atomic_int refs;
	size_t n;
	struct jwk *keys;
};

/* The algorithms we accept, each with its digest, key and signature form. */
struct alg {
	const char *name;
	const char *digest;
	enum key_kind kind;
	bool pss;
	size_t ec_half; /* ECDSA: bytes of r (and of s) in the raw signature */
};

static const struct alg algs[] = {
	{ "RS256", "SHA256", KEY_RSA, false, 0 },    { "RS384", "SHA384", KEY_RSA, false, 0 },
	{ "RS512", "SHA512", KEY_RSA, false, 0 },    { "PS256", "SHA256", KEY_RSA, true, 0 },
	{ "ES256", "SHA256", KEY_EC256, false, 32 }, { "ES384", "SHA384", KEY_EC384, false, 48 },
};

static const char *const result_text[JWT__MAX] = {
	[JWT_OK] = "valid",
	[JWT_MALFORMED] = "the token is not a signed JWT",
	[JWT_ALG] = ("the token's algorithm is not accepted (only RS256, RS384, RS512, PS256, "
	             "ES256, ES384)"),
	[JWT_UNKNOWN_KID] = "the token is signed with a key the provider does not publish",
	[JWT_SIGNATURE] = "the token's signature does not verify",
	[JWT_ISSUER] = "the token comes from another issuer",
	[JWT_AUDIENCE] = "the token is not meant for this service (aud)",
	[JWT_EXPIRED] = "the token has expired",
	[JWT_NOT_YET] = "the token is not valid yet (nbf or iat ahead)",
	[JWT_NONCE] = "the ID token does not carry the nonce of this login",
};

const char *
jwt_result_text(enum jwt_result r)
{
	return r < JWT__MAX ? result_text[r] : "?";
}

static const struct alg *
alg_find(const char *name)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(algs[i].name, name) == 0)
			return &algs[i];
	return NULL;
}

/* base64url without padding, strictly (sodium rejects other characters); *out malloc'd. */
static int
b64url_decode(const char *in, size_t inlen, unsigned char **out, size_t *outlen)
{
	size_t cap = inlen * 3 / 4 + 1;
	unsigned char *buf = bb_malloc(cap);
	const char *end;

	if (sodium_base642bin(buf, cap, in, inlen, NULL, outlen, &end,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != in + inlen) {
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

/* A member of a JWK as big-endian bytes (base64url); *out malloc'd. */
static int
jwk_bytes(const cJSON *k, const char *name, unsigned char **out, size_t *len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(k, name);

	if (!cJSON_IsString(v))
		return -1;
	return b64url_decode(v->valuestring, strlen(v->valuestring), out, len);
}

static EVP_PKEY *
pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *
rsa_key(const cJSON *k)
{
	unsigned char *n = NULL, *e = NULL;
	size_t nlen, elen;
	EVP_PKEY *pkey = NULL;

	if (jwk_bytes(k, "n", &n, &nlen) == 0 && jwk_bytes(k, "e", &e, &elen) == 0 &&
	    nlen * 8 >= RSA_MIN_BITS) {
		BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL), *bn_e = BN_bin2bn(e, (int)elen, NULL);
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();

		if (bn_n != NULL && bn_e != NULL && bld != NULL &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
			pkey = pkey_fromdata("RSA", bld);
		OSSL_PARAM_BLD_free(bld);
		BN_free(bn_n);
		BN_free(bn_e);
	}
	free(n);
	free(e);
	return pkey;
}

static EVP_PKEY *
ec_key(const cJSON *k, enum key_kind *kind)
{
	const cJSON *crv = cJSON_GetObjectItemCaseSensitive(k, "crv");
	unsigned char *x = NULL, *y = NULL;
	size_t xlen, ylen, half;
	const char *group;
	EVP_PKEY *pkey = NULL;

	if (!cJSON_IsString(crv))
		return NULL;
	if (strcmp(crv->valuestring, "P-256") == 0) {
		group = "prime256v1";
		half = 32;
		*kind = KEY_EC256;
	} else if (strcmp(crv->valuestring, "P-384") == 0) {
		group = "secp384r1";
		half = 48;
		*kind = KEY_EC384;
	} else {
		return NULL;
	}
	if (jwk_bytes(k, "x", &x, &xlen) == 0 && jwk_bytes(k, "y", &y, &ylen) == 0 &&
	    xlen == half && ylen == half) {
		/* The uncompressed point, 0x04 || x || y (SEC 1); libcrypto checks it is on the
		 * curve. */
		unsigned char point[1 + 2 * 48];
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();

		point[0] = 0x04;
		memcpy(point + 1, x, half);
		memcpy(point + 1 + half, y, half);
		if (bld != NULL &&
		    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
		    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
		                                     1 + 2 * half))
			pkey = pkey_fromdata("EC", bld);
		OSSL_PARAM_BLD_free(bld);
	}
	free(x);
	free(y);
	return pkey;
}

/* One JWK as a key we can verify with; -1 when it is not one (skipped, not an error). */
static int
jwk_read(const cJSON *k, struct jwk *out)
{
	const cJSON *kty = cJSON_GetObjectItemCaseSensitive(k, "kty");
	const cJSON *use = cJSON_GetObjectItemCaseSensitive(k, "use");
	const cJSON *kid = cJSON_GetObjectItemCaseSensitive(k, "kid");
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(k, "alg");

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsString(kty) ||
	    (use != NULL && !(cJSON_IsString(use) && strcmp(use->valuestring, "sig") == 0)))
		return -1;
	if (kid != NULL) {
		if (!cJSON_IsString(kid) || strlen(kid->valuestring) >= KID_MAX)
			return -1;
		snprintf(out->kid, sizeof(out->kid), "%s", kid->valuestring);
	}
	if (alg != NULL) {
		if (!cJSON_IsString(alg) || alg_find(alg->valuestring) == NULL)
			return -1;
		snprintf(out->alg, sizeof(out->alg), "%s", alg->valuestring);
	}
	if (strcmp(kty->valuestring, "RSA") == 0) {
		out->kind = KEY_RSA;
		out->pkey = rsa_key(k);
	} else if (strcmp(kty->valuestring, "EC") == 0) {
		out->pkey = ec_key(k, &out->kind);
	}
	return out->pkey != NULL ? 0 : -1;
}

int
jwk_set_parse(const char *json, struct jwk_set **out, char *err, size_t errlen)
{
	cJSON *doc = cJSON_Parse(json);
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
	const cJSON *k;

	*out = NULL;
	if (!cJSON_IsArray(keys)) {
		snprintf(err, errlen, "not a JWK Set (no \"keys\" array)");
		cJSON_Delete(doc);
		return -1;
	}
	struct jwk_set *s = bb_calloc(1, sizeof(*s));
	s->keys = bb_calloc((size_t)cJSON_GetArraySize(keys) + 1, sizeof(*s->keys));
	atomic_init(&s->refs, 1);
	cJSON_ArrayForEach(k, keys)
	{
		if (jwk_read(k, &s->keys[s->n]) == 0)
			s->n++;
	}
	cJSON_Delete(doc);
	*out = s;
	return 0;
}

struct jwk_set *
jwk_set_ref(struct jwk_set *s)
{
	if (s != NULL)
		atomic_fetch_add(&s->refs, 1);
	return s;
}

void
jwk_set_unref(struct jwk_set *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (size_t i = 0; i < s->n; i++)
		EVP_PKEY_free(s->keys[i].pkey);
	free(s->keys);
	free(s);
}

size_t
jwk_set_count(const struct jwk_set *s)
{
	return s != NULL ? s->n : 0;
}

/* The three parts of a compact JWS, and its header decoded. */
struct parts {
	const char *h, *p, *s;
	size_t hlen, plen, slen;
	cJSON *header;
	const struct alg *alg;
	char kid[KID_MAX];
};

static enum jwt_result
split(const char *token, struct parts *out)
{
	const char *d1, *d2;
	unsigned char *raw = NULL;
	size_t rawlen;

	memset(out, 0, sizeof(*out));
	if (strlen(token) > TOKEN_MAX || (d1 = strchr(token, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL)
		return JWT_MALFORMED;
	out->h = token;
	out->hlen = (size_t)(d1 - token);
	out->p = d1 + 1;
	out->plen = (size_t)(d2 - d1 - 1);
	out->s = d2 + 1;
	out->slen = strlen(d2 + 1);
	if (b64url_decode(out->h, out->hlen, &raw, &rawlen) != 0)
		return JWT_MALFORMED;
	out->header = cJSON_ParseWithLength((const char *)raw, rawlen);
	free(raw);
	if (!cJSON_IsObject(out->header))
		return JWT_MALFORMED;
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(out->header, "alg");
	const cJSON *kid = cJSON_GetObjectItemCaseSensitive(out->header, "kid");
	/* A header that asks for processing we do not do (RFC 7515, 4.1.11) is refused. */
	if (!cJSON_IsString(alg) || cJSON_GetObjectItemCaseSensitive(out->header, "crit") != NULL)
		return JWT_MALFORMED;
	if ((out->alg = alg_find(alg->valuestring)) == NULL)
		return JWT_ALG;
	if (kid != NULL) {
		if (!cJSON_IsString(kid) || strlen(kid->valuestring) >= KID_MAX)
			return JWT_MALFORMED;
		snprintf(out->kid, sizeof(out->kid), "%s", kid->valuestring);
	}
	return JWT_OK;
}

enum jwt_result
jwt_peek(const char *token, char *kid, size_t kidlen)
{
	struct parts p;
	enum jwt_result r = split(token, &p);

	snprintf(kid, kidlen, "%s", r == JWT_OK ? p.kid : "");
	cJSON_Delete(p.header);
	return r;
}

/* The key of the set for this header: by kid, or the only one of the right type without. */
static const struct jwk *
key_for(const struct jwk_set *keys, const struct parts *p)
{
	const struct jwk *found = NULL;

	for (size_t i = 0; keys != NULL && i < keys->n; i++) {
		const struct jwk *k = &keys->keys[i];

		if (k->kind != p->alg->kind ||
		    (k->alg[0] != '\0' && strcmp(k->alg, p->alg->name) != 0))
			continue;
		if (p->kid[0] != '\0') {
			if (strcmp(k->kid, p->kid) == 0)
				return k;
			continue;
		}
		if (found != NULL)
			return NULL; /* several could be meant: the token must name one */
		found = k;
	}
	return found;
}

/* JOSE's ECDSA signature is r || s; libcrypto takes DER. *der malloc'd. */
static int
ecdsa_der(const unsigned char *raw, size_t half, unsigned char **der, size_t *derlen)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)half, NULL), *s = BN_bin2bn(raw + half, (int)half, NULL);
	int len;

	if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return -1;
	}
	*der = NULL;
	len = i2d_ECDSA_SIG(sig, der);
	ECDSA_SIG_free(sig);
	if (len <= 0)
		return -1;
	*derlen = (size_t)len;
	return 0;
}

static bool
signature_ok(const struct parts *p, const struct jwk *k)
{
	unsigned char *sig = NULL, *der = NULL;
	size_t siglen, derlen;
	bool ok = false;

	if (b64url_decode(p->s, p->slen, &sig, &siglen) != 0)
		return false;
	const unsigned char *check = sig;
	size_t checklen = siglen;
	if (p->alg->ec_half != 0) {
		if (siglen != 2 * p->alg->ec_half ||
		    ecdsa_der(sig, p->alg->ec_half, &der, &derlen) != 0)
			goto out;
		check = der;
		checklen = derlen;
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	if (md != NULL &&
	    EVP_DigestVerifyInit_ex(md, &pctx, p->alg->digest, NULL, NULL, k->pkey, NULL) == 1 &&
	    (!p->alg->pss ||
	     (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1))) {
		/* What is signed is the text "header.payload", as sent. */
		ok = EVP_DigestVerify(md, check, checklen, (const unsigned char *)p->h,
		                      p->hlen + 1 + p->plen) == 1;
	}
	EVP_MD_CTX_free(md);
out:
	free(sig);
	free(der);
	return ok;
}

static bool
audience_ok(const cJSON *aud, const char *want)
{
	const cJSON *a;

	if (want == NULL)
		return false;
	if (cJSON_IsString(aud))
		return strcmp(aud->valuestring, want) == 0;
	if (!cJSON_IsArray(aud))
		return false;
	cJSON_ArrayForEach(a, aud)
	{
		if (cJSON_IsString(a) && strcmp(a->valuestring, want) == 0)
			return true;
	}
	return false;
}

/* A NumericDate claim: -1 absent, -2 not a number, else its value. */
static double
numeric_date(const cJSON *claims, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);

	if (v == NULL)
		return -1;
	return cJSON_IsNumber(v) && v->valuedouble >= 0 ? v->valuedouble : -2;
}

static enum jwt_result
claims_ok(const cJSON *c, const struct jwt_expect *e)
{
	const cJSON *iss = cJSON_GetObjectItemCaseSensitive(c, "iss");
	const cJSON *nonce = cJSON_GetObjectItemCaseSensitive(c, "nonce");
	double exp = numeric_date(c, "exp"), nbf = numeric_date(c, "nbf"),
	       iat = numeric_date(c, "iat");
	double now = (double)e->now, skew = (double)e->skew;

	if (!cJSON_IsString(iss) || strcmp(iss->valuestring, e->issuer) != 0)
		return JWT_ISSUER;
	if (!audience_ok(cJSON_GetObjectItemCaseSensitive(c, "aud"), e->audience))
		return JWT_AUDIENCE;
	/* A token without an expiry would be good forever: refused as expired. */
	if (exp < 0 || nbf == -2 || iat == -2)
		return exp < 0 ? JWT_EXPIRED : JWT_MALFORMED;
	if (now >= exp + skew)
		return JWT_EXPIRED;
	if ((nbf >= 0 && now + skew < nbf) || (iat >= 0 && now + skew < iat))
		return JWT_NOT_YET;
	if (e->nonce != NULL) {
		size_t n = strlen(e->nonce);

		if (!cJSON_IsString(nonce) || strlen(nonce->valuestring) != n ||
		    sodium_memcmp(nonce->valuestring, e->nonce, n) != 0)
			return JWT_NONCE;
	}
	return JWT_OK;
}

enum jwt_result
jwt_verify(const char *token, const struct jwk_set *keys, const struct jwt_expect *e,
           cJSON **claims)
{
	struct parts p;
	enum jwt_result r = split(token, &p);
	unsigned char *raw = NULL;
	size_t rawlen;
	cJSON *c = NULL;

	*claims = NULL;
	if (r != JWT_OK)
		goto out;
	const struct jwk *k = key_for(keys, &p);
	if (k == NULL) {
		r = JWT_UNKNOWN_KID;
		goto out;
	}
	if (!signature_ok(&p, k)) {
		r = JWT_SIGNATURE;
		goto out;
	}
	/* The claims are read only once the signature holds. */
	if (b64url_decode(p.p, p.plen, &raw, &rawlen) != 0 ||
	    !cJSON_IsObject(c = cJSON_ParseWithLength((const char *)raw, rawlen))) {
		r = JWT_MALFORMED;
		goto out;
	}
	if ((r = claims_ok(c, e)) == JWT_OK) {
		*claims = c;
		c = NULL;
	}
out:
	free(raw);
	cJSON_Delete(c);
	cJSON_Delete(p.header);
	return r;
}
