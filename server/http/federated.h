/*
 * federated.h — a person vouched for by the OpenID provider or the LDAP
 * directory becomes the caller: their groups chosen through the group map,
 * their account made or brought up to date (bb_federated_login), and the
 * login written to the audit log whatever its outcome.
 */
#ifndef SRV_FEDERATED_H
#define SRV_FEDERATED_H

#include "http/server.h"

struct cJSON;

struct fed_login {
	const char *source;      /* "oidc" or "ldap": who keeps the identity */
	const char *method;      /* for the audit log: "oidc", "ldap" or "bearer" */
	const char *external_id; /* ISSUER|SUBJECT, or the DN */
	const char *username;    /* as the provider says it; checked here */
	const char *const *groups;
	size_t ngroups;
	const struct cJSON *detail; /* what the provider said, for the audit log; may be NULL */
};

/*
 * BB_OK with *u filled (token_id 0, no expiry set). Otherwise r has its
 * answer: 403 no-mapped-group or username-invalid, 401 account-disabled,
 * 409 username-taken or unknown-study, 503.
 */
enum bb_err federated_login(struct srv_req *r, const struct fed_login *f, struct auth_user *u);

/* A user name the users table takes: lower case letters, digits, . _ -, 64 at most. */
bool username_valid(const char *s);

/* Record a local login attempt of an existing account (outcome: ok, wrong-password,
 * account-disabled); failures to write are logged, never answered. */
void login_record(struct srv_req *r, const char *username, const char *method, const char *outcome,
                  const struct cJSON *detail);

#endif
