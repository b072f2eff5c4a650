/*
 * config.h — biobankd's settings, from one sorted table (config.c) that
 * feeds flag parsing, environment parsing and `biobankd config`.
 * Each setting NAME is the flag --NAME (underscores as dashes) and the
 * environment variable BIOBANK_NAME (upper case). Flags win over the
 * environment, which wins over the default.
 */
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "http/log.h"

struct srv_config {
	char *database_url;           /* NULL: libpq's PG* variables */
	unsigned database_idle_check; /* ms a pooled connection rests before a check (db.h) */
	/* A hot standby for the reading routes (http/readpool.h); NULL: none. */
	char *reports_database;
	unsigned reports_max_lag; /* seconds it may be behind before reports read the primary */
	char *listen;             /* host:port as given */
	char *listen_host;        /* parsed from listen */
	unsigned listen_port;
	unsigned threads;
	char *tls_cert, *tls_key;
	bool allow_plain_http; /* plain HTTP on a non-loopback address */
	unsigned body_limit;
	unsigned import_limit;
	unsigned session_ttl; /* seconds */
	char *static_dir;
	enum log_level log_level;
	enum log_format log_format;
	/* the login throttle (db/accounts.h, struct login_limits) */
	unsigned login_max_failures, login_max_failures_addr, login_max_failures_user;
	unsigned login_backoff, login_window, login_known_days;
	unsigned idempotency_ttl; /* seconds an Idempotency-Key's answer is kept */
	unsigned purge_interval;  /* seconds between purges of what expired (db/purge.c) */
	unsigned token_cache_size, token_cache_ttl;
	unsigned connection_timeout, shutdown_timeout;
	unsigned per_ip_connections, max_connections;
	unsigned header_timeout;           /* seconds to deliver a request head (http/conns.h) */
	unsigned long_workers, long_queue; /* the long-work pool (http/workpool.h) */
	char *printers;                    /* NAME=URI,... for POST /api/v1/print */
	char *label_templates;             /* folder of the site's label templates */
	unsigned print_timeout; /* seconds a printer gets to connect, to take a write, to confirm */
	unsigned problem_errors_max; /* errors listed in one problem (json_spec.h) */
	unsigned small_cell_min;     /* counts below it shown as "<N" (api/requests.c) */
	char *timezone;              /* the site's IANA zone: dates on labels and pages */

	/* The ledger's transparency log (docs/ledger.md). */
	char *ledger_key;             /* the log's signing key file; NULL: no checkpoints */
	unsigned checkpoint_interval; /* seconds between checkpoints; 0: only biobankd checkpoint */
	char *checkpoint_dir;         /* where each new checkpoint is written; NULL: nowhere */
	char *witness_logs;           /* verifier key files of the logs this server witnesses */
	char *witnesses;              /* file of the witnesses this log is sent to (witnesses.h) */
	bool sequencer;               /* run the log's sequencer (under its advisory lock) */

	/* Single sign-on (docs/sso.md): an OpenID provider, an LDAP directory, the group map. */
	char *group_map; /* GROUP ROLE STUDIES a line (http/groupmap.h) */
	char *oidc_issuer, *oidc_client_id, *oidc_client_secret_file, *oidc_audience;
	char *oidc_redirect_uri, *oidc_scopes, *oidc_groups_claim, *oidc_username_claim;
	char *oidc_ca_file;
	unsigned oidc_clock_skew;        /* seconds forgiven on exp, nbf and iat */
	unsigned oidc_jwks_min_interval; /* seconds between two fetches of the provider's keys */
	char *ldap_url, *ldap_user_dn, *ldap_group_base, *ldap_group_filter, *ldap_ca_file;
	bool ldap_starttls;
	unsigned ldap_timeout;
};

/*
 * Fill cfg from defaults, the environment, then argv (argv[0] is the first
 * option, not the program). Every problem is printed to err as one line;
 * returns the number of problems (0: cfg is valid). *rest is set to the
 * index of the first non-option argument.
 */
int config_load(struct srv_config *cfg, int argc, char **argv, int *rest, FILE *err);

/* Print every setting with its source name and current value (secrets hidden). */
void config_print(const struct srv_config *cfg, FILE *out);

/*
 * How many of argv[0..argc) make the option at argv[0]: 2 for a setting
 * given as "--name value", 1 for "--name=value" or a switch, 0 when
 * argv[0] is no setting's flag (a command, or another command's flag).
 */
int config_flag_words(int argc, char *const *argv);

/* Print the table as documentation: flag, variable, default, meaning. */
void config_usage(FILE *out);

void config_free(struct srv_config *cfg);

/* The login throttle's settings as the database functions take them (db/accounts.h). */
struct login_limits;
void config_login_limits(const struct srv_config *cfg, struct login_limits *out);

#endif
