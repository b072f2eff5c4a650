/* ldap_auth.c — simple bind and the group search, with libldap. */
#include "http/ldap_auth.h"

#include "biobank.h"
#include "cmd/config.h"

#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { GROUPS_MAX = 256 };

void
ldap_person_clear(struct ldap_person *p)
{
	for (size_t i = 0; i < p->ngroups; i++)
		free(p->groups[i]);
	free(p->groups);
	p->groups = NULL;
	p->ngroups = 0;
}

/* tmpl (checked at start-up to hold one %s and no other %) with value in place of %s. */
static char *
fill(const char *tmpl, const char *value)
{
	const char *at = strstr(tmpl, "%s");

	return bb_asprintf("%.*s%s%s", (int)(at - tmpl), tmpl, value, at + 2);
}

/* RFC 4515: a value inside a filter, with its special characters escaped. */
static char *
filter_escape(const char *v)
{
	struct bb_buf b = { 0 };

	for (const char *c = v; *c; c++) {
		if (*c == '*' || *c == '(' || *c == ')' || *c == '\\')
			bb_buf_printf(&b, "\\%02x", (unsigned char)*c);
		else
			bb_buf_append(&b, c, 1);
	}
	if (b.data == NULL)
		bb_buf_puts(&b, "");
	return bb_buf_steal(&b);
}

static int
set_options(LDAP *ld, const struct srv_config *cfg)
{
	int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
	struct timeval tv = { .tv_sec = (time_t)cfg->ldap_timeout };

	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS)
		return -1;
	if (cfg->ldap_ca_file != NULL &&
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ldap_ca_file) != LDAP_OPT_SUCCESS)
		return -1;
	/* The TLS options above apply to this handle only once it has a context of its own. */
	return ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) == LDAP_OPT_SUCCESS ? 0 : -1;
}

/* The cn of every group the filter finds for dn. */
static int
read_groups(LDAP *ld, const struct srv_config *cfg, struct ldap_person *p, char *why, size_t whylen)
{
	char *dn = filter_escape(p->dn);
	char *filter = fill(cfg->ldap_group_filter, dn);
	char *attrs[] = { "cn", NULL };
	struct timeval tv = { .tv_sec = (time_t)cfg->ldap_timeout };
	LDAPMessage *res = NULL;

	free(dn);
	int rc = ldap_search_ext_s(ld, cfg->ldap_group_base, LDAP_SCOPE_SUBTREE, filter, attrs, 0,
	                           NULL, NULL, &tv, GROUPS_MAX, &res);
	free(filter);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		snprintf(why, whylen, "the group search failed: %s", ldap_err2string(rc));
		ldap_msgfree(res);
		return -1;
	}
	p->groups = bb_calloc(GROUPS_MAX, sizeof(*p->groups));
	for (LDAPMessage *e = ldap_first_entry(ld, res); e != NULL && p->ngroups < GROUPS_MAX;
	     e = ldap_next_entry(ld, e)) {
		struct berval **v = ldap_get_values_len(ld, e, "cn");

		for (int i = 0; v != NULL && v[i] != NULL && p->ngroups < GROUPS_MAX; i++)
			p->groups[p->ngroups++] = bb_strndup(v[i]->bv_val, v[i]->bv_len);
		ldap_value_free_len(v);
	}
	ldap_msgfree(res);
	return 0;
}

enum ldap_outcome
ldap_login(const struct srv_config *cfg, const char *username, const char *password,
           struct ldap_person *p, char *why, size_t whylen)
{
	LDAP *ld = NULL;
	enum ldap_outcome out = LDAP_FAILED;

	memset(p, 0, sizeof(*p));
	/* An empty password is an unauthenticated bind, which succeeds (RFC 4513, 5.1.2). */
	if (password[0] == '\0')
		return LDAP_REFUSED;
	char *dn = fill(cfg->ldap_user_dn, username);
	snprintf(p->dn, sizeof(p->dn), "%s", dn);
	free(dn);
	int rc = ldap_initialize(&ld, cfg->ldap_url);
	if (rc != LDAP_SUCCESS) {
		snprintf(why, whylen, "ldap_url: %s", ldap_err2string(rc));
		return LDAP_FAILED;
	}
	if (set_options(ld, cfg) != 0) {
		snprintf(why, whylen, "cannot set the LDAP connection's options");
		goto out;
	}
	if (cfg->ldap_starttls && strncmp(cfg->ldap_url, "ldaps://", 8) != 0 &&
	    (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
		snprintf(why, whylen, "StartTLS failed: %s", ldap_err2string(rc));
		goto out;
	}
	struct berval cred = { .bv_len = strlen(password), .bv_val = (char *)password };
	rc = ldap_sasl_bind_s(ld, p->dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INAPPROPRIATE_AUTH ||
	    rc == LDAP_UNWILLING_TO_PERFORM) {
		out = LDAP_REFUSED;
		goto out;
	}
	if (rc != LDAP_SUCCESS) {
		snprintf(why, whylen, "the bind failed: %s", ldap_err2string(rc));
		goto out;
	}
	if (read_groups(ld, cfg, p, why, whylen) == 0)
		out = LDAP_BOUND;
out:
	if (out != LDAP_BOUND)
		ldap_person_clear(p);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return out;
}
