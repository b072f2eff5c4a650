/*
 * jwt.h — JSON Web Tokens (RFC 7519) signed by an OpenID provider, checked
 * against its published keys (a JWK Set, RFC 7517) with OpenSSL's libcrypto.
 * Only asymmetric signatures are accepted (RS256/384/512, PS256, ES256,
 * ES384), each with a key of its own type: "none" and the HMAC algorithms
 * are refused whatever the key set holds, so that a public key can never
 * serve as an HMAC secret. No I/O here: the keys come from http/oidc.c.
 */
#ifndef SRV_JWT_H
#define SRV_JWT_H

#include <stdbool.h>
#include <time.h>

struct cJSON;
struct jwk_set;

enum jwt_result {
	JWT_OK,
	JWT_MALFORMED,   /* not three base64url parts of JSON */
	JWT_ALG,         /* an algorithm we never accept (none, HS256...) */
	JWT_UNKNOWN_KID, /* no key of the set fits the header */
	JWT_SIGNATURE,   /* the signature does not verify */
	JWT_ISSUER,      /* iss is not the provider's */
	JWT_AUDIENCE,    /* aud does not name us */
	JWT_EXPIRED,     /* exp has passed (beyond the allowed clock skew) */
	JWT_NOT_YET,     /* nbf or iat is still ahead (beyond the skew) */
	JWT_NONCE,       /* an ID token without the nonce of its login */
	JWT__MAX
};

/* A short phrase for logs and problem details: "the token has expired". */
const char *jwt_result_text(enum jwt_result r);

/* What the claims must say. nonce: NULL when none is expected (access tokens). */
struct jwt_expect {
	const char *issuer;
	const char *audience;
	const char *nonce;
	unsigned skew; /* seconds of clock difference forgiven on exp, nbf and iat */
	time_t now;
};

/*
 * Parse a JWK Set document; keys that are not for signatures, of a type we
 * do not use, or unreadable are skipped (a provider may publish encryption
 * keys beside them). 0 with *out (jwk_set_unref it), or -1 with
 * a reason in err.
 */
int jwk_set_parse(const char *json, struct jwk_set **out, char *err, size_t errlen);
struct jwk_set *jwk_set_ref(struct jwk_set *s);
void jwk_set_unref(struct jwk_set *s);
size_t jwk_set_count(const struct jwk_set *s);

/*
 * The header's kid (NUL-terminated, at most kidlen-1 bytes; "" when absent)
 * and whether the header is a JWS we could verify at all.
 */
enum jwt_result jwt_peek(const char *token, char *kid, size_t kidlen);

/* Check the signature with keys and the claims against e; *claims (cJSON_Delete it) on
 * JWT_OK only. */
enum jwt_result jwt_verify(const char *token, const struct jwk_set *keys,
                           const struct jwt_expect *e, struct cJSON **claims);

#endif
