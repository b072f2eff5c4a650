/*
 * ldap_auth.h — a password checked by binding to the LDAP directory as the
 * person (settings ldap_url, ldap_user_dn), and the person's groups read
 * there with their own bind (ldap_group_base, ldap_group_filter), for
 * accounts that are not kept here (docs/sso.md). TLS (ldaps:// or
 * StartTLS) is required outside loopback, checked at start-up.
 */
#ifndef SRV_LDAP_AUTH_H
#define SRV_LDAP_AUTH_H

#include <stddef.h>

struct srv_config;

enum ldap_outcome { LDAP_BOUND, LDAP_REFUSED, LDAP_FAILED };

struct ldap_person {
	char dn[512];
	char **groups; /* their cn values */
	size_t ngroups;
};

/*
 * Bind as username (already checked to be a valid user name) with
 * password. LDAP_BOUND fills *p (ldap_person_clear it); LDAP_REFUSED: a
 * wrong name or password; LDAP_FAILED: the directory could not be asked
 * (why says what).
 */
enum ldap_outcome ldap_login(const struct srv_config *cfg, const char *username,
                             const char *password, struct ldap_person *p, char *why, size_t whylen);
void ldap_person_clear(struct ldap_person *p);

#endif
