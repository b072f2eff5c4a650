/*
 * oidc.h — the OpenID provider as the daemon sees it (docs/sso.md): its
 * discovery document and its signing keys (JWKS), fetched with libcurl
 * when first needed and kept; the keys are fetched again when a token
 * names a key we do not have (the provider rotated its keys), at most once
 * every oidc_jwks_min_interval seconds, so that tokens with made-up key
 * ids cannot make us hammer the provider. The provider being down never
 * stops the daemon: local accounts still log in.
 */
#ifndef SRV_OIDC_H
#define SRV_OIDC_H

#include "biobank.h"
#include "http/jwt.h"

#include <stdio.h>

struct srv_config;
struct cJSON;

struct oidc;

/* NULL in *out when no issuer is set. Reads the client secret file (refused
 * when others may read it); problems printed to err. 0 or -1. */
int oidc_new(const struct srv_config *cfg, struct oidc **out, FILE *err);
void oidc_free(struct oidc *o);

/*
 * Verify a token the provider signed: its signature with the provider's
 * keys (fetched again once on an unknown kid, within the rate limit), its
 * issuer, audience (aud), expiry and nbf. nonce: the login's, for an ID
 * token; NULL for an access token. *claims on JWT_OK. *unreachable is set
 * when the provider's keys could not be had at all (a 503, not a 401).
 */
enum jwt_result oidc_verify(struct oidc *o, const char *token, const char *audience,
                            const char *nonce, struct cJSON **claims, bool *unreachable);

/* The bearer tokens' audience (oidc_audience), NULL when scripts may not use them. */
const char *oidc_audience(const struct oidc *o);
const char *oidc_client_id(const struct oidc *o);
/* The claims naming the user and the groups (settings). */
const char *oidc_username_claim(const struct oidc *o);
const char *oidc_groups_claim(const struct oidc *o);
const char *oidc_issuer(const struct oidc *o);

/*
 * The URL the browser is sent to for a login: the provider's authorization
 * endpoint with the code flow's parameters (PKCE S256 challenge of
 * verifier), its discovery document read again for each login. *url
 * malloc'd. BB_EIO when the provider cannot be reached.
 */
enum bb_err oidc_authorize_url(struct oidc *o, const char *state, const char *nonce,
                               const char *verifier, char **url);

/*
 * Exchange a code at the token endpoint (with the PKCE verifier and the
 * client's credentials): the ID token, malloc'd, in *id_token. With why
 * filled: BB_EIO when the provider cannot be reached, BB_EINVAL when it
 * answers without an ID token (the code refused).
 */
enum bb_err oidc_exchange(struct oidc *o, const char *code, const char *verifier, char **id_token,
                          char *why, size_t whylen);

#endif
