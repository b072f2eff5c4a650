/* config.c — the settings table and its parsers. */
#include "cmd/config.h"

#include "biobank.h"
#include "db/accounts.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum cfg_type { CFG_STRING, CFG_UINT, CFG_BOOL, CFG_LEVEL, CFG_LOG_FORMAT, CFG_TYPE__MAX };

struct cfg_entry {
	const char *name;
	enum cfg_type type;
	size_t offset;
	const char *def; /* as text, parsed like user input; NULL: unset */
	unsigned min, max;
	bool secret;
	const char *help;
};

#define OFF(f) offsetof(struct srv_config, f)

/* Sorted by name: `biobankd config` and docs/biobankd.8 list them in this order. */
static const struct cfg_entry entries[] = {
	{ "allow_plain_http", CFG_BOOL, OFF(allow_plain_http), "false", 0, 0, false,
	  "Serve plain HTTP on a non-loopback address (behind a TLS proxy)." },
	{ "body_limit", CFG_UINT, OFF(body_limit), "1048576", 1024, 256u << 20, false,
	  "Largest request body in bytes; larger bodies get 413." },
	{ "checkpoint_dir", CFG_STRING, OFF(checkpoint_dir), NULL, 0, 0, false,
	  "Folder (a write-once mount) each new signed checkpoint of the ledger is written to." },
	{ "checkpoint_interval", CFG_UINT, OFF(checkpoint_interval), "300", 0, 86400, false,
	  "Seconds between the ledger's signed checkpoints (0: only biobankd checkpoint)." },
	{ "connection_timeout", CFG_UINT, OFF(connection_timeout), "30", 1, 3600, false,
	  "Seconds an idle or slow client connection may stay open." },
	{ "database_idle_check", CFG_UINT, OFF(database_idle_check), "1000", 0, 3600000, false,
	  "Milliseconds a pooled database connection may rest before it is checked on its next "
	  "use (0: every use); one in steady use is found closed on use, a read then sent again." },
	{ "database_url", CFG_STRING, OFF(database_url), NULL, 0, 0, true,
	  "libpq connection string or URI; unset: libpq's PG* variables." },
	{ "group_map", CFG_STRING, OFF(group_map), NULL, 0, 0, false,
	  "File mapping the groups of single sign-on to role and studies: GROUP ROLE STUDIES a "
	  "line (docs/sso.md)." },
	{ "header_timeout", CFG_UINT, OFF(header_timeout), "10", 1, 600, false,
	  "Seconds a client has to send a whole request head, from connecting or from its "
	  "previous answer." },
	{ "idempotency_ttl", CFG_UINT, OFF(idempotency_ttl), "86400", 600, 2592000, false,
	  "Seconds an Idempotency-Key's answer is kept; then the key is free and purged." },
	{ "import_limit", CFG_UINT, OFF(import_limit), "67108864", 1024, 1u << 30, false,
	  "Largest inventory file in bytes (POST /api/v1/imports, spooled to a temporary file); "
	  "larger files get 413." },
	{ "ledger_key", CFG_STRING, OFF(ledger_key), NULL, 0, 0, false,
	  "File of the ledger's signing key (biobankd keygen); unset: no checkpoints." },
	{ "ldap_ca_file", CFG_STRING, OFF(ldap_ca_file), NULL, 0, 0, false,
	  "PEM certificates trusted for the LDAP server's (LDAPS or StartTLS); unset: the "
	  "system's." },
	{ "ldap_group_base", CFG_STRING, OFF(ldap_group_base), NULL, 0, 0, false,
	  "Where the LDAP groups are searched (subtree), e.g. ou=groups,dc=example,dc=org." },
	{ "ldap_group_filter", CFG_STRING, OFF(ldap_group_filter), "(member=%s)", 0, 0, false,
	  "LDAP filter of a person's groups; %s is the person's DN (escaped). Their cn is the "
	  "group." },
	{ "ldap_starttls", CFG_BOOL, OFF(ldap_starttls), "false", 0, 0, false,
	  "Upgrade ldap:// connections with StartTLS (required unless ldaps:// or loopback)." },
	{ "ldap_timeout", CFG_UINT, OFF(ldap_timeout), "5", 1, 60, false,
	  "Seconds the LDAP server gets to connect and to answer each operation." },
	{ "ldap_url", CFG_STRING, OFF(ldap_url), NULL, 0, 0, false,
	  "LDAP server for password logins of accounts not kept here: ldaps://HOST or "
	  "ldap://HOST." },
	{ "ldap_user_dn", CFG_STRING, OFF(ldap_user_dn), NULL, 0, 0, false,
	  "A person's DN, %s standing for the user name (escaped), e.g. "
	  "uid=%s,ou=people,dc=example,dc=org." },
	{ "listen", CFG_STRING, OFF(listen), "127.0.0.1:8080", 0, 0, false,
	  "Address and port to listen on, HOST:PORT ([::1]:PORT for IPv6)." },
	{ "log_format", CFG_LOG_FORMAT, OFF(log_format), "text", 0, 0, false,
	  "text (one line per message) or json (one JSON object per line, for a collector)." },
	{ "log_level", CFG_LEVEL, OFF(log_level), "info", 0, 0, false,
	  "error, warn, info (one line per request) or debug." },
	{ "login_backoff", CFG_UINT, OFF(login_backoff), "60", 1, 86400, false,
	  "Seconds of the first wait at a login limit; doubled at each further failure." },
	{ "login_known_days", CFG_UINT, OFF(login_known_days), "90", 1, 3650, false,
	  "Days an address stays known for an account after a login from it." },
	{ "login_max_failures", CFG_UINT, OFF(login_max_failures), "5", 1, 1000, false,
	  "Failed logins of one user name from one address before its attempts wait." },
	{ "login_max_failures_addr", CFG_UINT, OFF(login_max_failures_addr), "20", 1, 100000, false,
	  "Failed logins from one address, for names that do not know it, before they wait." },
	{ "login_max_failures_user", CFG_UINT, OFF(login_max_failures_user), "20", 1, 100000, false,
	  "Failed logins of one user name from addresses it does not know before they wait." },
	{ "login_window", CFG_UINT, OFF(login_window), "900", 1, 86400, false,
	  "Longest wait in seconds; a login count is forgotten this long after its last wait." },
	{ "long_queue", CFG_UINT, OFF(long_queue), "16", 0, 10000, false,
	  "Long requests (verification, reports, exports, imports, prints) that may wait; "
	  "more get 503." },
	{ "long_workers", CFG_UINT, OFF(long_workers), "2", 1, 64, false,
	  "Threads for long requests, each with a database connection of its own." },
	{ "max_connections", CFG_UINT, OFF(max_connections), "1000", 16, 100000, false,
	  "Client connections held at once; a new one displaces the longest waiting for a head." },
	{ "oidc_audience", CFG_STRING, OFF(oidc_audience), NULL, 0, 0, false,
	  "The aud bearer access tokens from the OpenID provider must name; unset: scripts may "
	  "not use them." },
	{ "oidc_ca_file", CFG_STRING, OFF(oidc_ca_file), NULL, 0, 0, false,
	  "PEM certificates trusted for the OpenID provider's; unset: the system's." },
	{ "oidc_client_id", CFG_STRING, OFF(oidc_client_id), NULL, 0, 0, false,
	  "This service's client id at the OpenID provider (the page's login)." },
	{ "oidc_client_secret_file", CFG_STRING, OFF(oidc_client_secret_file), NULL, 0, 0, false,
	  "File holding the client secret (mode 600); unset: a public client (PKCE only)." },
	{ "oidc_clock_skew", CFG_UINT, OFF(oidc_clock_skew), "60", 0, 600, false,
	  "Seconds of clock difference with the provider forgiven on exp, nbf and iat." },
	{ "oidc_groups_claim", CFG_STRING, OFF(oidc_groups_claim), "groups", 0, 0, false,
	  "The token claim listing the person's groups (for group_map)." },
	{ "oidc_issuer", CFG_STRING, OFF(oidc_issuer), NULL, 0, 0, false,
	  "The OpenID provider's issuer URL (https; http on loopback); unset: no OpenID Connect." },
	{ "oidc_jwks_min_interval", CFG_UINT, OFF(oidc_jwks_min_interval), "60", 1, 86400, false,
	  "Fewest seconds between two fetches of the provider's keys (on an unknown key id)." },
	{ "oidc_redirect_uri", CFG_STRING, OFF(oidc_redirect_uri), NULL, 0, 0, false,
	  "This service's callback as the provider knows it: https://HOST/api/v1/oidc/callback." },
	{ "oidc_scopes", CFG_STRING, OFF(oidc_scopes), "openid profile", 0, 0, false,
	  "Scopes asked for at the page's login (openid first)." },
	{ "oidc_username_claim", CFG_STRING, OFF(oidc_username_claim), "preferred_username", 0, 0,
	  false, "The ID token claim whose value becomes the account's user name." },
	{ "per_ip_connections", CFG_UINT, OFF(per_ip_connections), "64", 1, 100000, false,
	  "Concurrent connections one client (an IPv4 address or an IPv6 /64) may hold." },
	{ "print_timeout", CFG_UINT, OFF(print_timeout), "10", 1, 120, false,
	  "Seconds a label printer gets to connect, to take each write and to confirm." },
	{ "label_templates", CFG_STRING, OFF(label_templates), NULL, 0, 0, false,
	  "Folder of the site's label templates (NAME.json each) beside the built-in ones." },
	{ "printers", CFG_STRING, OFF(printers), NULL, 0, 0, false,
	  "Label printers for POST /api/v1/print: NAME=URI[,NAME=URI...]." },
	{ "problem_errors_max", CFG_UINT, OFF(problem_errors_max), "100", 1, 100000, false,
	  "Errors one problem answer lists; it counts the rest in errors_omitted." },
	{ "purge_interval", CFG_UINT, OFF(purge_interval), "300", 1, 86400, false,
	  "Seconds between a daemon's purges of expired Idempotency-Keys and login counts." },
	{ "reports_database", CFG_STRING, OFF(reports_database), NULL, 0, 0, true,
	  "libpq connection string or URI of a hot standby for reports, exports and searches "
	  "(read-only); unset: they read from database_url." },
	{ "reports_max_lag", CFG_UINT, OFF(reports_max_lag), "30", 1, 86400, false,
	  "Seconds the reports database may be behind the primary; further behind, or down, "
	  "reports read from the primary." },
	{ "sequencer", CFG_BOOL, OFF(sequencer), "true", 0, 0, false,
	  "Take part in sequencing the ledger's transparency log (false: leave it to other "
	  "daemons)." },
	{ "session_ttl", CFG_UINT, OFF(session_ttl), "43200", 60, 2592000, false,
	  "Seconds a login session token stays valid." },
	{ "shutdown_timeout", CFG_UINT, OFF(shutdown_timeout), "30", 1, 3600, false,
	  "Seconds to let requests in flight finish on SIGTERM." },
	{ "small_cell_min", CFG_UINT, OFF(small_cell_min), "5", 2, 1000, false,
	  "Counts below this are shown as \"<N\" to researchers (catalogue, MIABIS report)." },
	{ "static_dir", CFG_STRING, OFF(static_dir), NULL, 0, 0, false,
	  "Folder of the bench web page; unset: the installed one." },
	{ "threads", CFG_UINT, OFF(threads), "8", 1, 256, false,
	  "Worker threads, each with its own database connection." },
	{ "timezone", CFG_STRING, OFF(timezone), "UTC", 0, 0, false,
	  "The site's time zone (an IANA name such as Europe/Paris): dates on labels and pages." },
	{ "tls_cert", CFG_STRING, OFF(tls_cert), NULL, 0, 0, false,
	  "PEM certificate chain; with tls_key, serve HTTPS." },
	{ "tls_key", CFG_STRING, OFF(tls_key), NULL, 0, 0, false, "PEM private key for tls_cert." },
	{ "token_cache_size", CFG_UINT, OFF(token_cache_size), "4096", 16, 1000000, false,
	  "Tokens each daemon keeps verified in memory." },
	{ "token_cache_ttl", CFG_UINT, OFF(token_cache_ttl), "60", 1, 3600, false,
	  "Seconds a cached token is trusted before it is read again." },
	{ "witness_logs", CFG_STRING, OFF(witness_logs), NULL, 0, 0, false,
	  "Verifier key files (ledger.pub) of other sites' logs this server witnesses: FILE,..." },
	{ "witnesses", CFG_STRING, OFF(witnesses), NULL, 0, 0, false,
	  "File of the witnesses this log's checkpoints are sent to: URL KEY_FILE TOKEN_FILE a "
	  "line." },
};

enum { ENTRY_COUNT = sizeof(entries) / sizeof(entries[0]) };

static const char *const level_names[LOG_LEVEL__MAX] = { "error", "warn", "info", "debug" };

static void
env_name(const struct cfg_entry *e, char *out, size_t n)
{
	size_t i = 0;

	snprintf(out, n, "BIOBANK_");
	i = strlen(out);
	for (const char *p = e->name; *p && i + 1 < n; p++)
		out[i++] = (char)toupper((unsigned char)*p);
	out[i] = '\0';
}

static void
flag_name(const struct cfg_entry *e, char *out, size_t n)
{
	size_t i = 2;

	snprintf(out, n, "--");
	for (const char *p = e->name; *p && i + 1 < n; p++)
		out[i++] = *p == '_' ? '-' : *p;
	out[i] = '\0';
}

/* Parse one value into cfg; on error print "source: message" and return -1. */
static int
set_value(struct srv_config *cfg, const struct cfg_entry *e, const char *val, const char *source,
          FILE *err)
{
	void *field = (char *)cfg + e->offset;

	switch (e->type) {
	case CFG_STRING: {
		char **s = field;

		free(*s);
		*s = *val ? bb_strdup(val) : NULL;
		return 0;
	}
	case CFG_UINT: {
		int64_t v;

		if (!bb_parse_int64(val, e->min, e->max, &v)) {
			fprintf(err, "biobankd: %s: \"%s\" is not a whole number from %u to %u\n",
			        source, val, e->min, e->max);
			return -1;
		}
		*(unsigned *)field = (unsigned)v;
		return 0;
	}
	case CFG_BOOL:
		if (strcmp(val, "true") == 0 || strcmp(val, "1") == 0 || strcmp(val, "yes") == 0) {
			*(bool *)field = true;
		} else if (strcmp(val, "false") == 0 || strcmp(val, "0") == 0 ||
		           strcmp(val, "no") == 0) {
			*(bool *)field = false;
		} else {
			fprintf(err, "biobankd: %s: \"%s\" is not true or false\n", source, val);
			return -1;
		}
		return 0;
	case CFG_LEVEL:
		if (log_level_parse(val, field) != 0) {
			fprintf(err,
			        "biobankd: %s: \"%s\" is not one of error, warn, info, debug\n",
			        source, val);
			return -1;
		}
		return 0;
	case CFG_LOG_FORMAT:
		if (log_format_parse(val, field) != 0) {
			fprintf(err, "biobankd: %s: \"%s\" is not text or json\n", source, val);
			return -1;
		}
		return 0;
	case CFG_TYPE__MAX:
		break;
	}
	return -1;
}

static const struct cfg_entry *
find_flag(const char *arg, size_t len)
{
	char flag[64];

	for (size_t i = 0; i < ENTRY_COUNT; i++) {
		flag_name(&entries[i], flag, sizeof(flag));
		if (strlen(flag) == len && strncmp(flag, arg, len) == 0)
			return &entries[i];
	}
	return NULL;
}

int
config_flag_words(int argc, char *const *argv)
{
	if (argc < 1 || strncmp(argv[0], "--", 2) != 0)
		return 0;
	const char *eq = strchr(argv[0], '=');
	const struct cfg_entry *e =
	    find_flag(argv[0], eq ? (size_t)(eq - argv[0]) : strlen(argv[0]));
	if (e == NULL)
		return 0;
	return eq != NULL || e->type == CFG_BOOL || argc < 2 ? 1 : 2;
}

/* HOST:PORT, [V6]:PORT; the host must be a numeric address or localhost. */
static int
parse_listen(struct srv_config *cfg, FILE *err)
{
	const char *s = cfg->listen, *colon;
	char host[128];
	int64_t port;

	if (s == NULL) {
		fprintf(err, "biobankd: listen: an address is required\n");
		return -1;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host)) {
			fprintf(err, "biobankd: listen: \"%s\" is not [ADDRESS]:PORT\n", s);
			return -1;
		}
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= sizeof(host)) {
			fprintf(err, "biobankd: listen: \"%s\" is not HOST:PORT\n", s);
			return -1;
		}
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	if (!bb_parse_int64(colon + 1, 1, 65535, &port)) {
		fprintf(err, "biobankd: listen: \"%s\" is not a port from 1 to 65535\n", colon + 1);
		return -1;
	}
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	unsigned char buf[16];
	if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1) {
		fprintf(err, "biobankd: listen: \"%s\" is not a numeric IPv4 or IPv6 address\n",
		        host);
		return -1;
	}
	free(cfg->listen_host);
	cfg->listen_host = bb_strdup(host);
	cfg->listen_port = (unsigned)port;
	return 0;
}

static bool
is_loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

/*
 * An IANA zone name the system's tz database holds. PostgreSQL (Debian's
 * build) reads the same files, so a name that passes here converts in SQL.
 */
static int
check_timezone(const char *tz, FILE *err)
{
	char path[256];
	char magic[4];
	FILE *f;
	size_t n;

	if (tz[0] == '\0' || tz[0] == '/' || strstr(tz, "..") != NULL ||
	    strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") !=
	        strlen(tz) ||
	    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz) >= (int)sizeof(path)) {
		fprintf(err,
		        "biobankd: timezone: \"%s\" is not a time zone name such as Europe/Paris\n",
		        tz);
		return 1;
	}
	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(err,
		        "biobankd: timezone: %s is not in the tz database (/usr/share/zoneinfo)\n",
		        tz);
		return 1;
	}
	n = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	if (n != sizeof(magic) || memcmp(magic, "TZif", 4) != 0) {
		fprintf(err, "biobankd: timezone: %s is not a time zone (/usr/share/zoneinfo)\n",
		        tz);
		return 1;
	}
	return 0;
}

static int
check_files(const struct srv_config *cfg, FILE *err)
{
	int problems = 0;

	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
		fprintf(err, "biobankd: tls_cert and tls_key must be given together\n");
		problems++;
	}
	const char *files[] = { cfg->tls_cert, cfg->tls_key };
	const char *names[] = { "tls_cert", "tls_key" };
	for (int i = 0; i < 2; i++) {
		FILE *f;

		if (files[i] == NULL)
			continue;
		if ((f = fopen(files[i], "r")) == NULL) {
			fprintf(err, "biobankd: %s: cannot read %s\n", names[i], files[i]);
			problems++;
		} else {
			fclose(f);
		}
	}
	return problems;
}

/* Whether url's host is a loopback address (127.x, [::1], localhost). */
static bool
url_on_loopback(const char *url)
{
	const char *h = strstr(url, "://");

	if (h == NULL)
		return false;
	h += 3;
	if (strncmp(h, "[::1]", 5) == 0)
		return h[5] == '\0' || h[5] == ':' || h[5] == '/';
	size_t len = strcspn(h, ":/");
	char host[256];
	snprintf(host, sizeof(host), "%.*s", (int)(len < sizeof(host) ? len : sizeof(host) - 1), h);
	return is_loopback(host) || strcmp(host, "localhost") == 0;
}

/* A template with exactly one %s and no other conversion. */
static bool
one_placeholder(const char *t)
{
	const char *p = strchr(t, '%');

	return p != NULL && p[1] == 's' && strchr(p + 2, '%') == NULL;
}

/* The single sign-on settings fit together (docs/sso.md). */
static int
check_sso(const struct srv_config *cfg, FILE *err)
{
	int problems = 0;
	const char *oidc_only[] = { cfg->oidc_client_id, cfg->oidc_client_secret_file,
		                    cfg->oidc_audience, cfg->oidc_redirect_uri };

	if (cfg->oidc_issuer == NULL) {
		for (size_t i = 0; i < sizeof(oidc_only) / sizeof(oidc_only[0]); i++)
			if (oidc_only[i] != NULL) {
				fprintf(err, "biobankd: the oidc_ settings need oidc_issuer\n");
				return 1;
			}
	} else {
		if (strncmp(cfg->oidc_issuer, "https://", 8) != 0 &&
		    !(strncmp(cfg->oidc_issuer, "http://", 7) == 0 &&
		      url_on_loopback(cfg->oidc_issuer))) {
			fprintf(err,
			        "biobankd: oidc_issuer: %s is not https (plain http only on "
			        "loopback)\n",
			        cfg->oidc_issuer);
			problems++;
		}
		if (cfg->oidc_client_id == NULL && cfg->oidc_audience == NULL) {
			fprintf(err,
			        "biobankd: oidc_issuer: give oidc_client_id (the page's login), "
			        "oidc_audience (scripts' tokens) or both\n");
			problems++;
		}
		if ((cfg->oidc_client_id == NULL) != (cfg->oidc_redirect_uri == NULL)) {
			fprintf(err,
			        "biobankd: oidc_client_id and oidc_redirect_uri go together\n");
			problems++;
		}
		if (strncmp(cfg->oidc_scopes, "openid", 6) != 0 ||
		    (cfg->oidc_scopes[6] != '\0' && cfg->oidc_scopes[6] != ' ')) {
			fprintf(err, "biobankd: oidc_scopes: must begin with openid\n");
			problems++;
		}
	}
	if (cfg->ldap_url == NULL) {
		if (cfg->ldap_user_dn != NULL || cfg->ldap_group_base != NULL) {
			fprintf(err, "biobankd: the ldap_ settings need ldap_url\n");
			problems++;
		}
	} else {
		bool ldaps = strncmp(cfg->ldap_url, "ldaps://", 8) == 0;
		if (!ldaps && strncmp(cfg->ldap_url, "ldap://", 7) != 0) {
			fprintf(err, "biobankd: ldap_url: %s is neither ldaps:// nor ldap://\n",
			        cfg->ldap_url);
			problems++;
		} else if (!ldaps && !cfg->ldap_starttls && !url_on_loopback(cfg->ldap_url)) {
			/* Passwords would cross the network in clear. */
			fprintf(err,
			        "biobankd: ldap_url: %s is not on loopback: use ldaps:// or set "
			        "ldap_starttls\n",
			        cfg->ldap_url);
			problems++;
		}
		if (cfg->ldap_user_dn == NULL || !one_placeholder(cfg->ldap_user_dn)) {
			fprintf(
			    err,
			    "biobankd: ldap_user_dn: give a DN with one %%s for the user name\n");
			problems++;
		}
		if (cfg->ldap_group_base == NULL) {
			fprintf(err, "biobankd: ldap_url: give ldap_group_base too\n");
			problems++;
		}
		if (!one_placeholder(cfg->ldap_group_filter)) {
			fprintf(
			    err,
			    "biobankd: ldap_group_filter: give a filter with one %%s for the DN\n");
			problems++;
		}
	}
	if ((cfg->oidc_issuer != NULL || cfg->ldap_url != NULL) && cfg->group_map == NULL) {
		fprintf(err,
		        "biobankd: single sign-on needs group_map (which groups get which role)\n");
		problems++;
	}
	return problems;
}

int
config_load(struct srv_config *cfg, int argc, char **argv, int *rest, FILE *err)
{
	int problems = 0;
	char name[80];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < ENTRY_COUNT; i++)
		if (entries[i].def != NULL)
			set_value(cfg, &entries[i], entries[i].def, "default", err);
	for (size_t i = 0; i < ENTRY_COUNT; i++) {
		const char *v;

		env_name(&entries[i], name, sizeof(name));
		if ((v = getenv(name)) != NULL && *v != '\0')
			problems += set_value(cfg, &entries[i], v, name, err) != 0;
	}
	int i;
	for (i = 0; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (strncmp(arg, "--", 2) != 0)
			break;
		const char *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct cfg_entry *e = find_flag(arg, len);
		if (e == NULL) {
			fprintf(err, "biobankd: %.*s: unknown option\n", (int)len, arg);
			problems++;
			continue;
		}
		const char *val = eq ? eq + 1 : NULL;
		if (val == NULL && e->type == CFG_BOOL) {
			val = "true";
		} else if (val == NULL) {
			if (i + 1 >= argc) {
				fprintf(err, "biobankd: %s: a value is required\n", arg);
				problems++;
				continue;
			}
			val = argv[++i];
		}
		flag_name(e, name, sizeof(name));
		problems += set_value(cfg, e, val, name, err) != 0;
	}
	*rest = i;
	problems += parse_listen(cfg, err) != 0;
	problems += check_files(cfg, err);
	problems += check_timezone(cfg->timezone, err);
	problems += check_sso(cfg, err);
	if (cfg->listen_host != NULL && !is_loopback(cfg->listen_host) && cfg->tls_cert == NULL &&
	    !cfg->allow_plain_http) {
		fprintf(
		    err,
		    "biobankd: listen: %s is not a loopback address; give tls_cert and tls_key, "
		    "or allow_plain_http behind a TLS proxy\n",
		    cfg->listen_host);
		problems++;
	}
	return problems;
}

static void
format_value(const struct srv_config *cfg, const struct cfg_entry *e, char *out, size_t n)
{
	const void *field = (const char *)cfg + e->offset;

	switch (e->type) {
	case CFG_STRING: {
		const char *s = *(char *const *)field;
		snprintf(out, n, "%s", s == NULL ? "(unset)" : e->secret ? "(set, hidden)" : s);
		break;
	}
	case CFG_UINT:
		snprintf(out, n, "%u", *(const unsigned *)field);
		break;
	case CFG_BOOL:
		snprintf(out, n, "%s", *(const bool *)field ? "true" : "false");
		break;
	case CFG_LEVEL:
		snprintf(out, n, "%s", level_names[*(const enum log_level *)field]);
		break;
	case CFG_LOG_FORMAT:
		snprintf(out, n, "%s", log_format_name(*(const enum log_format *)field));
		break;
	case CFG_TYPE__MAX:
		out[0] = '\0';
		break;
	}
}

void
config_print(const struct srv_config *cfg, FILE *out)
{
	char val[512];

	for (size_t i = 0; i < ENTRY_COUNT; i++) {
		format_value(cfg, &entries[i], val, sizeof(val));
		fprintf(out, "%s = %s\n", entries[i].name, val);
	}
}

void
config_usage(FILE *out)
{
	char flag[64], env[80];

	for (size_t i = 0; i < ENTRY_COUNT; i++) {
		flag_name(&entries[i], flag, sizeof(flag));
		env_name(&entries[i], env, sizeof(env));
		fprintf(out, "  %-26s %-32s default %s\n      %s\n", flag, env,
		        entries[i].def ? entries[i].def : "unset", entries[i].help);
	}
}

void
config_free(struct srv_config *cfg)
{
	for (size_t i = 0; i < ENTRY_COUNT; i++)
		if (entries[i].type == CFG_STRING)
			free(*(char **)((char *)cfg + entries[i].offset));
	free(cfg->listen_host);
	memset(cfg, 0, sizeof(*cfg));
}

void
config_login_limits(const struct srv_config *cfg, struct login_limits *out)
{
	*out = (struct login_limits){
		.max_pair = cfg->login_max_failures,
		.max_user = cfg->login_max_failures_user,
		.max_addr = cfg->login_max_failures_addr,
		.backoff = cfg->login_backoff,
		.window = cfg->login_window,
		.known_days = cfg->login_known_days,
	};
}
