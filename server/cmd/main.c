/* main.c — biobankd's subcommands: serve, migrate, user add|passwd|unlock, verify-ledger, config.
 */
#include "api/api.h"
#include "api/fhir.h"
#include "api/printers.h"
#include "api/label_templates.h"
#include "cmd/config.h"
#include "cmd/courier.h"
#include "cmd/ledger_keys.h"
#include "cmd/migrate.h"
#include "cmd/sequencer.h"
#include "cmd/verify_bundle.h"
#include "cmd/witnesses.h"
#include "db/accounts.h"
#include "db/checkpoint.h"
#include "db/import.h"
#include "db/ledger_verify.h"
#include "db/purge.h"
#include "db/tlog.h"
#include "http/auth.h"
#include "http/bind.h"
#include "http/groupmap.h"
#include "http/idempotency.h"
#include "http/log.h"
#include "http/oidc.h"
#include "http/metrics.h"
#include "http/openapi.h"
#include "http/readpool.h"
#include "http/server.h"
#include "json_spec.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the commands that reach the database outside the pool prepare. */
static const struct db_stmt *const accounts_sets[] = { db_accounts_statements, NULL };
static const struct db_stmt *const ledger_sets[] = { db_ledger_statements, NULL };
static const struct db_stmt *const checkpoint_sets[] = { db_tlog_statements,
	                                                 db_checkpoint_statements, NULL };

static void
usage(FILE *out)
{
	fprintf(out,
	        "usage: biobankd serve [--listen HOST:PORT] [--threads N] [option ...]\n"
	        "       biobankd migrate [option ...]\n"
	        "       biobankd user add --role ROLE [--study CODE]... NAME\n"
	        "       biobankd user passwd NAME\n"
	        "       biobankd user unlock NAME\n"
	        "       biobankd verify-ledger [--checkpoints DIR] [--key PUBKEY] [--jobs N]\n"
	        "                              [--chunk-specimens N] [--chunk-entries N]\n"
	        "                              [--incremental] [--no-record] [--detailed] [option "
	        "...]\n"
	        "       biobankd keygen --out DIR [--origin NAME]\n"
	        "       biobankd checkpoint [option ...]\n"
	        "       biobankd verify-bundle FILE --key PUBKEY [--witness PUBKEY ...]\n"
	        "       biobankd import FILE [--commit] [--encoding ENC] [--separator SEP]\n"
	        "                [--date-format FMT] [--decimal point|comma] [--locale LOCALE]\n"
	        "                [--timezone TZ] [option ...]\n"
	        "       biobankd config [option ...]\n"
	        "       biobankd openapi\n"
	        "       biobankd --help | --version\n"
	        "\n"
	        "The database comes from BIOBANK_DATABASE_URL (a libpq connection string or URI),\n"
	        "else from libpq's PG* variables. Options (each also BIOBANK_NAME in the "
	        "environment):\n");
	config_usage(out);
}

static int
load_config(struct srv_config *cfg, int argc, char **argv, int *rest)
{
	int problems = config_load(cfg, argc, argv, rest, stderr);
	struct srv_printers *printers = NULL;

	problems += srv_printers_parse(cfg->printers, &printers, stderr);
	srv_printers_free(printers);
	struct srv_templates *templates = NULL;
	problems += srv_templates_load(cfg->label_templates, &templates, stderr);
	srv_templates_free(templates);
	struct note_key key, *witnessed = NULL;
	struct witness *witnesses = NULL;
	size_t nwitnessed, nwitnesses;
	bool have_key =
	    cfg->ledger_key != NULL && ledger_key_load(cfg->ledger_key, &key, stderr) == 0;
	problems += cfg->ledger_key != NULL && !have_key;
	problems += ledger_witnessed_load(cfg->witness_logs, &witnessed, &nwitnessed, stderr);
	free(witnessed);
	problems +=
	    witnesses_load(cfg->witnesses, have_key ? &key : NULL, &witnesses, &nwitnesses, stderr);
	witnesses_free(witnesses, nwitnesses);
	if (cfg->witnesses != NULL && cfg->ledger_key == NULL) {
		fprintf(stderr,
		        "biobankd: witnesses: the log signs no checkpoint to send them: set "
		        "ledger_key\n");
		problems++;
	}
	sodium_memzero(&key, sizeof(key));
	struct group_map *groups = NULL;
	problems += cfg->group_map != NULL && group_map_load(cfg->group_map, &groups, stderr) != 0;
	group_map_free(groups);
	struct oidc *oidc = NULL;
	problems += oidc_new(cfg, &oidc, stderr) != 0;
	oidc_free(oidc);

	if (problems > 0) {
		fprintf(stderr, "biobankd: %d configuration problem%s; see biobankd --help\n",
		        problems, problems == 1 ? "" : "s");
		config_free(cfg);
		return 2;
	}
	log_init(cfg->log_level, cfg->log_format);
	bb_js_set_errors_max(cfg->problem_errors_max);
	requests_set_small_cell_min(cfg->small_cell_min);
	return 0;
}

static int
cmd_serve(int argc, char **argv)
{
	struct srv_config cfg;
	struct srv s = { 0 };
	int rest, rc;

	if ((rc = load_config(&cfg, argc, argv, &rest)) != 0)
		return rc;
	if (rest != argc) {
		fprintf(stderr, "biobankd: serve: unexpected argument \"%s\"\n", argv[rest]);
		config_free(&cfg);
		return 2;
	}
	/* A route bound to a parameter it cannot have is our bug: never serve it. */
	if (bind_check(stderr) != 0) {
		config_free(&cfg);
		return 1;
	}
	s.cfg = &cfg;
	struct srv_printers *printers = NULL;
	srv_printers_parse(cfg.printers, &printers, stderr); /* checked by load_config() */
	s.printers = printers;
	struct srv_templates *templates = NULL;
	if (srv_templates_load(cfg.label_templates, &templates, stderr) != 0)
		fatalx("cannot read label_templates"); /* read by load_config a moment ago */
	s.tpls = templates;
	struct note_key ledger_key;
	if (cfg.ledger_key != NULL && ledger_key_load(cfg.ledger_key, &ledger_key, stderr) != 0)
		fatalx("cannot read the ledger's key"); /* read by load_config a moment ago */
	s.ledger_key = cfg.ledger_key != NULL ? &ledger_key : NULL;
	struct note_key *witnessed = NULL;
	size_t nwitnessed = 0;
	if (ledger_witnessed_load(cfg.witness_logs, &witnessed, &nwitnessed, stderr) != 0)
		fatalx("cannot read witness_logs"); /* read by load_config a moment ago */
	s.witnessed = witnessed;
	s.nwitnessed = nwitnessed;
	struct witness *witnesses = NULL;
	size_t nwitnesses = 0;
	if (witnesses_load(cfg.witnesses, s.ledger_key, &witnesses, &nwitnesses, stderr) != 0)
		fatalx("cannot read witnesses"); /* read by load_config a moment ago */
	struct group_map *groups = NULL;
	if (cfg.group_map != NULL && group_map_load(cfg.group_map, &groups, stderr) != 0)
		fatalx("cannot read group_map"); /* read by load_config a moment ago */
	s.groups = groups;
	if (oidc_new(&cfg, &s.oidc, stderr) != 0)
		fatalx("cannot read the OpenID settings"); /* read by load_config a moment ago */
	sigset_t sigs;
	srv_block_signals(&sigs);
	if (auth_password_hash("no such user", s.dummy_hash) != 0)
		fatalx("cannot hash a password: out of memory");
	struct bb_arena startup = { 0 }; /* what the daemon's life needs, made once */
	const struct db_stmt *const sets[] = {
		db_accounts_statements,    db_ledger_statements,    db_tlog_statements,
		db_checkpoint_statements,  ledger_statements,       witness_statements,
		db_idempotency_statements, audits_statements,       fhir_statements,
		labels_statements,         participants_statements, reports_statements,
		shipments_statements,      specimens_statements,    specimens_csv_statements,
		storage_statements,        courier_statements,      bind_statements(&startup),
		db_import_statements,      requests_statements,     protocols_statements,
		storage_care_statements,   temperatures_statements, fhir_export_statements,
		NULL,
	};
	/* One connection per request worker and one per long-work thread (http/workpool.h). */
	s.pool = db_pool_open(cfg.database_url, cfg.threads + cfg.long_workers, sets);
	db_pool_idle_check(s.pool, cfg.database_idle_check);
	/* The reading routes' own pool, as large: FHIR searches run on request workers. */
	const struct readpool_opts reports = { .conninfo = cfg.reports_database,
		                               .size = cfg.threads + cfg.long_workers,
		                               .max_lag_s = cfg.reports_max_lag,
		                               .sets = sets };
	readpool_new(&reports, &s.reports);
	if (s.reports != NULL)
		db_pool_idle_check(readpool_pool(s.reports), cfg.database_idle_check);
	s.auth = auth_cache_new(cfg.token_cache_size, cfg.token_cache_ttl);
	s.metrics = metrics_new(route_count);
	atomic_init(&s.stopping, false);
	atomic_init(&s.active, 0);
	atomic_init(&s.request_count, 0);
	randombytes_buf(s.request_key, sizeof(s.request_key));
	if (auth_listener_start(&s) != 0)
		fatal("cannot start the token listener");
	struct purge_settings ps = { .pool = s.pool,
		                     .interval = cfg.purge_interval,
		                     .idempotency_ttl = cfg.idempotency_ttl };
	config_login_limits(&cfg, &ps.login);
	struct purge *purge = purge_start(&ps);
	if (purge == NULL)
		fatal("cannot start the purge thread");
	const struct sequencer_opts seq_opts = { .conninfo = cfg.database_url,
		                                 .key = s.ledger_key,
		                                 .interval = cfg.checkpoint_interval,
		                                 .export_dir = cfg.checkpoint_dir };
	/* Off, the events still queue (their trigger): another daemon logs them. */
	struct sequencer *seq = cfg.sequencer ? sequencer_start(&seq_opts) : NULL;
	if (cfg.sequencer && seq == NULL)
		fatal("cannot start the ledger sequencer");
	const struct courier_opts courier_opts = {
		.pool = s.pool, .witnesses = witnesses, .n = nwitnesses, .seq = seq
	};
	/* The courier follows this daemon's sequencer: none here, another daemon sends. */
	bool sends = nwitnesses > 0 && seq != NULL;
	struct courier *courier = sends ? courier_start(&courier_opts) : NULL;
	if (sends && courier == NULL)
		fatal("cannot start the witnesses' courier");
	rc = srv_run(&s);
	courier_stop(courier);
	if (seq != NULL)
		sequencer_stop(seq);
	purge_stop(purge);
	auth_listener_stop(&s);
	metrics_free(s.metrics);
	auth_cache_free(s.auth);
	readpool_free(s.reports);
	db_pool_close(s.pool);
	bb_arena_free(&startup);
	srv_printers_free(printers);
	srv_templates_free(templates);
	sodium_memzero(&ledger_key, sizeof(ledger_key));
	free(witnessed);
	witnesses_free(witnesses, nwitnesses);
	oidc_free(s.oidc);
	group_map_free(groups);
	config_free(&cfg);
	return rc;
}

static int
cmd_migrate(int argc, char **argv)
{
	struct srv_config cfg;
	int rest, rc;

	if ((rc = load_config(&cfg, argc, argv, &rest)) != 0)
		return rc;
	rc = rest == argc ? migrate_run(cfg.database_url, stdout, stderr) : 2;
	if (rest != argc)
		fprintf(stderr, "biobankd: migrate: unexpected argument \"%s\"\n", argv[rest]);
	config_free(&cfg);
	return rc;
}

struct user_add {
	const char *name, *role, *hash, *studies;
	int64_t id;
	bool studies_found;
};

static enum bb_err
user_add_txn(struct db_conn *c, void *arg)
{
	struct user_add *u = arg;
	enum bb_err err = db_users_insert(c, u->name, u->hash, u->role, &u->id);

	if (err != BB_OK || u->studies == NULL)
		return err;
	if ((err = db_users_limit(c, u->id, u->studies, &u->studies_found)) != BB_OK)
		return err;
	return u->studies_found ? BB_OK : BB_EINVAL;
}

/* The first line of standard input, at least 8 characters, hashed; 0 or after a message 2. */
static int
read_password_hash(const char *cmd, char hash[128])
{
	char password[1100];
	int rc = 0;

	if (fgets(password, (int)sizeof(password), stdin) == NULL)
		password[0] = '\0';
	password[strcspn(password, "\r\n")] = '\0';
	if (strlen(password) < 8) {
		fprintf(stderr,
		        "biobankd: user %s: give a password of at least 8 characters "
		        "on standard input\n",
		        cmd);
		rc = 2;
	} else if (auth_password_hash(password, hash) != 0) {
		fprintf(stderr, "biobankd: user %s: cannot hash the password\n", cmd);
		rc = 1;
	}
	sodium_memzero(password, sizeof(password));
	return rc;
}

/* What `user CMD` was given: its own flags and NAME; the rest are configuration options. */
struct user_args {
	const char *name, *role;
	const char *studies[64];
	size_t nstudies;
	char **cfg_argv; /* owned: the caller frees it */
	int cfg_argc;
};

static int
user_args_parse(const char *cmd, int argc, char **argv, struct user_args *a)
{
	bool add = strcmp(cmd, "add") == 0;

	memset(a, 0, sizeof(*a));
	a->cfg_argv = bb_calloc((size_t)argc + 1, sizeof(*a->cfg_argv));
	for (int i = 1; i < argc; i++) {
		if (add && strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
			a->role = argv[++i];
		} else if (add && strcmp(argv[i], "--study") == 0 && i + 1 < argc) {
			if (a->nstudies == sizeof(a->studies) / sizeof(a->studies[0])) {
				fprintf(stderr, "biobankd: user add: at most 64 studies\n");
				return 2;
			}
			a->studies[a->nstudies++] = argv[++i];
		} else if (strncmp(argv[i], "--", 2) == 0) {
			a->cfg_argv[a->cfg_argc++] = argv[i];
			if (strchr(argv[i], '=') == NULL && i + 1 < argc &&
			    strcmp(argv[i], "--allow-plain-http") != 0)
				a->cfg_argv[a->cfg_argc++] = argv[++i];
		} else if (a->name == NULL) {
			a->name = argv[i];
		} else {
			fprintf(stderr, "biobankd: user %s: unexpected argument \"%s\"\n", cmd,
			        argv[i]);
			return 2;
		}
	}
	return 0;
}

static int
user_add(struct user_args *a, struct srv_config *cfg)
{
	struct user_add u = { .name = a->name, .role = a->role, .studies_found = true };
	char hash[128];
	int rc;

	if ((rc = read_password_hash("add", hash)) != 0)
		return rc;
	u.hash = hash;
	struct bb_arena arena = { 0 };
	if (a->nstudies > 0)
		u.studies = db_array_literal(&arena, a->studies, a->nstudies);

	struct db_conn *c;
	rc = 1;
	if (db_connect(cfg->database_url, accounts_sets, &c) == BB_OK) {
		enum bb_err err = db_txn(c, user_add_txn, &u);

		if (err == BB_OK) {
			printf("created user %s (%s)\n", u.name, u.role);
			rc = 0;
		} else if (err == BB_ECONFLICT) {
			fprintf(stderr, "biobankd: user add: a user named %s already exists\n",
			        u.name);
		} else if (!u.studies_found) {
			fprintf(stderr, "biobankd: user add: a --study names no study\n");
		} else {
			fprintf(stderr, "biobankd: user add: %s\n", db_error_message(c));
		}
		db_disconnect(c);
	}
	bb_arena_free(&arena);
	return rc;
}

/*
 * A new password, read like user add's; every session and token of the
 * account ends at once, in every daemon (the revocations' NOTIFY).
 */
static int
user_passwd(struct user_args *a, struct srv_config *cfg)
{
	char hash[128];
	struct db_conn *c;
	int64_t id;
	int rc;

	if ((rc = read_password_hash("passwd", hash)) != 0)
		return rc;
	if (db_connect(cfg->database_url, accounts_sets, &c) != BB_OK)
		return 1;
	rc = 1;
	enum bb_err err = db_users_find(c, a->name, &id);
	PGresult *res = NULL;
	if (err == BB_OK)
		err = db_user_set_password(c, a->name, hash, 0, &res);
	if (err == BB_OK) {
		cJSON *o = cJSON_Parse(PQgetvalue(res, 0, 0));
		const cJSON *ended = cJSON_GetObjectItemCaseSensitive(o, "ended");

		printf("changed the password of %s; %d sessions and tokens ended\n", a->name,
		       cJSON_IsNumber(ended) ? ended->valueint : 0);
		cJSON_Delete(o);
		rc = 0;
	} else if (err == BB_ENOTFOUND) {
		fprintf(stderr, "biobankd: user passwd: no user is named %s\n", a->name);
	} else {
		fprintf(stderr, "biobankd: user passwd: %s\n", db_error_message(c));
	}
	PQclear(res);
	db_disconnect(c);
	return rc;
}

/* Break-glass: forget every failed-login count of the user name, from every address. */
static int
user_unlock(struct user_args *a, struct srv_config *cfg)
{
	struct db_conn *c;
	int64_t id;
	long cleared = 0;
	int rc = 1;

	if (db_connect(cfg->database_url, accounts_sets, &c) != BB_OK)
		return 1;
	enum bb_err err = db_users_find(c, a->name, &id);
	if (err == BB_OK)
		err = db_login_unlock(c, a->name, &cleared);
	if (err == BB_OK) {
		printf("unlocked %s: %ld failed-login counts cleared\n", a->name, cleared);
		rc = 0;
	} else if (err == BB_ENOTFOUND) {
		fprintf(stderr, "biobankd: user unlock: no user is named %s\n", a->name);
	} else {
		fprintf(stderr, "biobankd: user unlock: %s\n", db_error_message(c));
	}
	db_disconnect(c);
	return rc;
}

static int
cmd_user(int argc, char **argv)
{
	static const char *const usage_user =
	    "usage: biobankd user add --role admin|manager|technician|auditor|printer|researcher "
	    "[--study CODE]... NAME\n"
	    "       biobankd user passwd NAME\n"
	    "       biobankd user unlock NAME\n";
	struct srv_config cfg;
	struct user_args a;
	enum role role;
	int rest, rc;

	const char *cmd = argc >= 1 ? argv[0] : "";
	if (strcmp(cmd, "add") != 0 && strcmp(cmd, "passwd") != 0 && strcmp(cmd, "unlock") != 0) {
		fputs(usage_user, stderr);
		return 2;
	}
	rc = user_args_parse(cmd, argc, argv, &a);
	if (rc == 0 && (a.name == NULL || (strcmp(cmd, "add") == 0 &&
	                                   (a.role == NULL || role_parse(a.role, &role) != 0)))) {
		fputs(usage_user, stderr);
		rc = 2;
	}
	if (rc == 0)
		rc = load_config(&cfg, a.cfg_argc, a.cfg_argv, &rest);
	free(a.cfg_argv);
	if (rc != 0)
		return rc;
	if (strcmp(cmd, "add") == 0)
		rc = user_add(&a, &cfg);
	else if (strcmp(cmd, "passwd") == 0)
		rc = user_passwd(&a, &cfg);
	else
		rc = user_unlock(&a, &cfg);
	config_free(&cfg);
	return rc;
}

/*
 * The signed checkpoints of dir (the export folder, or a copy of it), each
 * opened with key; one that does not open is printed and counted in *bad.
 * The caller frees *out.
 */
static int
checkpoints_load(const char *dir, const struct note_key *key, struct ledger_checkpoint **out,
                 size_t *n, int *bad)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (d == NULL) {
		fprintf(stderr, "biobankd: verify-ledger: cannot read %s: %s\n", dir,
		        strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX], buf[4096];
		const char *why;
		struct checkpoint cp;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		size_t len = 0;
		if ((f = fopen(path, "r")) != NULL) {
			len = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		buf[len] = '\0';
		if (f == NULL || checkpoint_open(buf, len, key, &cp, &why) != 0) {
			printf("checkpoint %s: %s\n", path, f == NULL ? strerror(errno) : why);
			(*bad)++;
			continue;
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			*out = bb_realloc(*out, cap * sizeof(**out));
		}
		struct ledger_checkpoint *lc = &(*out)[(*n)++];
		lc->size = cp.size;
		memcpy(lc->root, cp.root, sizeof(lc->root));
		snprintf(lc->source, sizeof(lc->source), "%.150s", e->d_name);
	}
	closedir(d);
	return 0;
}

static void
print_break(const struct ledger_break *b)
{
	char where[64] = "";

	if (b->index >= 0)
		snprintf(where, sizeof(where), " (log index %lld)", b->index);
	if (b->specimen[0] != '\0')
		printf("specimen %s event %d%s: %s (%s)\n", b->specimen, b->seq, where, b->reason,
		       b->detail);
	else
		printf("log%s: %s (%s)\n", where, b->reason, b->detail);
}

/* A verify-ledger count: 1 to max; 0 is returned when it is one, 1 (printed) when not. */
static int
verify_count(const char *flag, const char *text, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);

	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < 1 || v > max) {
		fprintf(stderr, "biobankd: verify-ledger: %s: a number from 1 to %u, not \"%s\"\n",
		        flag, max, text);
		return 1;
	}
	*out = (unsigned)v;
	return 0;
}

static int
cmd_verify(int argc, char **argv)
{
	struct srv_config cfg;
	struct ledger_report rep;
	struct note_key key;
	struct ledger_checkpoint *cps = NULL;
	size_t ncps = 0;
	struct db_conn *c;
	const char *dir = NULL, *key_arg = NULL;
	int rest, rc, bad_files = 0;
	unsigned jobs = 0, chunk_specimens = 0, chunk_entries = 0;
	bool incremental = false, record = true, detailed = false;

	/* Each chunk's rows are megabytes, allocated and freed a thousand times over: keep
	 * the heap rather than hand it back to the kernel and fault it in again each time
	 * (a fifth of the verify's own time, measured). */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_MMAP_THRESHOLD, 64 << 20);

	/* Our own flags first; the rest are configuration options. */
	char **cfg_argv = bb_calloc((size_t)argc + 1, sizeof(*cfg_argv));
	int cfg_argc = 0, bad_flag = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--checkpoints") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			key_arg = argv[++i];
		else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc) {
			bad_flag += verify_count("--jobs", argv[i + 1], LEDGER_JOBS_MAX, &jobs);
			i++;
		} else if (strcmp(argv[i], "--chunk-specimens") == 0 && i + 1 < argc) {
			bad_flag += verify_count("--chunk-specimens", argv[i + 1], 100000000,
			                         &chunk_specimens);
			i++;
		} else if (strcmp(argv[i], "--chunk-entries") == 0 && i + 1 < argc) {
			bad_flag +=
			    verify_count("--chunk-entries", argv[i + 1], 1u << 30, &chunk_entries);
			i++;
		} else if (strcmp(argv[i], "--incremental") == 0)
			incremental = true;
		else if (strcmp(argv[i], "--no-record") == 0)
			record = false;
		else if (strcmp(argv[i], "--detailed") == 0)
			detailed = true;
		else
			cfg_argv[cfg_argc++] = argv[i];
	}
	if (chunk_entries & (chunk_entries - 1)) {
		fprintf(stderr, "biobankd: verify-ledger: --chunk-entries: a power of two\n");
		bad_flag++;
	}
	if (bad_flag > 0) {
		free(cfg_argv);
		return 2;
	}
	if (jobs == 0) { /* as many connections as cores: each reads and hashes its chunk */
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = cores < 1 ? 1 : cores > LEDGER_JOBS_MAX ? LEDGER_JOBS_MAX : (unsigned)cores;
	}
	rc = load_config(&cfg, cfg_argc, cfg_argv, &rest);
	free(cfg_argv);
	if (rc != 0)
		return rc;
	/* The key that signed the checkpoints: --key, else ledger_key's public half. */
	bool have_key = key_arg != NULL ? ledger_pub_load(key_arg, &key, stderr) == 0
	                : cfg.ledger_key != NULL
	                    ? ledger_key_load(cfg.ledger_key, &key, stderr) == 0
	                    : false;
	if ((key_arg != NULL && !have_key) || (dir != NULL && key_arg == NULL && !have_key)) {
		if (dir != NULL && key_arg == NULL && cfg.ledger_key == NULL)
			fprintf(stderr, "biobankd: verify-ledger: --checkpoints needs --key PUBKEY "
			                "(the log's ledger.pub) or ledger_key\n");
		config_free(&cfg);
		return 2;
	}
	if (dir != NULL && checkpoints_load(dir, &key, &cps, &ncps, &bad_files) != 0) {
		config_free(&cfg);
		return 2;
	}
	const struct ledger_verify_opts opts = { .key = have_key ? &key : NULL,
		                                 .checkpoints = cps,
		                                 .ncheckpoints = ncps,
		                                 .conninfo = cfg.database_url,
		                                 .jobs = jobs,
		                                 .chunk_specimens = chunk_specimens,
		                                 .chunk_entries = chunk_entries,
		                                 .record = record,
		                                 .detailed = detailed };
	rc = 2;
	if (db_connect(cfg.database_url, ledger_sets, &c) == BB_OK) {
		enum bb_err err = incremental ? ledger_verify_since(c, &opts, &rep)
		                              : ledger_verify(c, &opts, &rep);

		if (err == BB_ENOTFOUND) {
			fprintf(stderr,
			        "biobankd: verify-ledger: --incremental: no verify has found "
			        "the ledger good yet; run a full verify-ledger first\n");
		} else if (err != BB_OK) {
			fprintf(stderr, "biobankd: verify-ledger: %s: %s\n", bb_strerror(err),
			        rep.error[0] ? rep.error : db_error_message(c));
		} else if (rep.ok && bad_files == 0 && incremental) {
			printf("ledger OK since log size %llu (verified %s; last full verify %s): "
			       "%lld specimens with new events, %lld events, every chain verifies; "
			       "%lld new log entries hold, against %lld checkpoints\n",
			       rep.since_size, rep.since_at,
			       rep.last_full_at[0] ? rep.last_full_at : "never", rep.specimens,
			       rep.events, rep.entries, rep.checkpoints);
			rc = 0;
		} else if (rep.ok && bad_files == 0) {
			printf("ledger OK: %lld specimens, %lld events, every chain verifies; %lld "
			       "log "
			       "entries hold, against %lld checkpoints\n",
			       rep.specimens, rep.events, rep.entries, rep.checkpoints);
			rc = 0;
		} else {
			printf("ledger BROKEN: %lld findings over %lld specimens and %lld log "
			       "entries%s%s\n",
			       rep.broken + bad_files, rep.specimens, rep.entries,
			       incremental ? " checked since the last good verify" : "",
			       bad_files ? " (checkpoint files above)" : "");
			if (rep.rechecked)
				printf("(the check by sums found the ledger changed; the "
				       "event-by-event "
				       "check names where)\n");
			for (size_t i = 0; i < rep.nbreaks; i++)
				print_break(&rep.breaks[i]);
			if (rep.broken > (long long)rep.nbreaks)
				printf("... and %lld more\n", rep.broken - (long long)rep.nbreaks);
			rc = 1;
		}
		if (err == BB_OK && rc == 0)
			printf("checked %s\n", rep.detailed
			                           ? "event by event"
			                           : "by sums: each event and log entry read once");
		if (err == BB_OK && rc == 0 && rep.recorded > 0)
			printf("recorded as good: verification %lld (the next --incremental starts "
			       "there)\n",
			       rep.recorded);
		else if (err == BB_OK && rc == 0 && record && rep.error[0] != '\0')
			fprintf(stderr, "biobankd: verify-ledger: the result is not recorded: %s\n",
			        rep.error);
		db_disconnect(c);
	}
	free(cps);
	sodium_memzero(&key, sizeof(key));
	config_free(&cfg);
	return rc;
}

/*
 * biobankd import FILE: the inventory import of POST /api/v1/imports from a
 * shell (docs/import.md), as the database role of database_url. Prints the
 * report as JSON; 0 when it is clean (committed, or nothing to do), 1 when
 * the file has problems or cannot be read, 2 on a usage or database error.
 */
static int
cmd_import(int argc, char **argv)
{
	static const char *const usage_import =
	    "usage: biobankd import FILE [--commit] [--encoding ENC] [--separator SEP]\n"
	    "                [--date-format FMT] [--decimal point|comma] [--locale LOCALE]\n"
	    "                [--timezone TZ] [option ...]\n";
	static const struct db_stmt *const import_sets[] = { db_import_statements, NULL };
	struct import_request rq = { .timezone = "UTC" };
	const char *date_format = NULL, *decimal = NULL, *locale = NULL, *enc = NULL, *sep = NULL;
	const char *path = NULL, *bad = NULL;
	struct srv_config cfg;
	int rest, rc;

	char **cfg_argv = bb_calloc((size_t)argc + 1, sizeof(*cfg_argv));
	int cfg_argc = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;
		if (strcmp(a, "--commit") == 0)
			rq.commit = true;
		else if (strcmp(a, "--encoding") == 0 && has)
			enc = argv[++i];
		else if (strcmp(a, "--separator") == 0 && has)
			sep = argv[++i];
		else if (strcmp(a, "--date-format") == 0 && has)
			date_format = argv[++i];
		else if (strcmp(a, "--decimal") == 0 && has)
			decimal = argv[++i];
		else if (strcmp(a, "--locale") == 0 && has)
			locale = argv[++i];
		else if (strcmp(a, "--timezone") == 0 && has)
			rq.timezone = argv[++i];
		else if (a[0] != '-' && path == NULL)
			path = a;
		else
			cfg_argv[cfg_argc++] = argv[i];
	}
	rc = load_config(&cfg, cfg_argc, cfg_argv, &rest);
	free(cfg_argv);
	if (rc != 0)
		return rc;
	if (path == NULL) {
		fputs(usage_import, stderr);
		config_free(&cfg);
		return 2;
	}
	if (!bb_imp_opts_read(&rq.opts, date_format, decimal, locale, &bad) ||
	    (enc != NULL && !bb_imp_encoding(enc, &rq.encoding)) ||
	    (sep != NULL && strcmp(sep, ",") != 0 && strcmp(sep, ";") != 0 &&
	     strcmp(sep, "tab") != 0)) {
		fprintf(stderr, "biobankd: import: %s has a value it does not take\n%s",
		        bad                                  ? bad
		        : enc != NULL && rq.encoding == NULL ? "--encoding"
		                                             : "--separator",
		        usage_import);
		config_free(&cfg);
		return 2;
	}
	rq.separator = sep == NULL ? 0 : strcmp(sep, "tab") == 0 ? '\t' : sep[0];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	rq.opts.this_year = tm.tm_year + 1900;
	rq.file = fopen(path, "rb");
	if (rq.file == NULL) {
		fprintf(stderr, "biobankd: import: cannot open %s: %s\n", path, strerror(errno));
		config_free(&cfg);
		return 2;
	}
	const char *slash = strrchr(path, '/');
	rq.filename = slash ? slash + 1 : path;
	struct db_conn *c;
	struct import_result res;
	rc = 2;
	if (db_connect(cfg.database_url, import_sets, &c) == BB_OK) {
		enum bb_err err = import_run(c, &rq, &res);
		if (err != BB_OK) {
			fprintf(stderr, "biobankd: import: %s (SQLSTATE %s%s%s)\n",
			        bb_strerror(err), db_error_state(c),
			        db_error_diag(c)->constraint[0] ? ", " : "",
			        db_error_diag(c)->constraint);
		} else if (res.outcome == IMPORT_FILE_BAD) {
			fprintf(stderr, "biobankd: import: %s: %s (%s)\n", path, res.message,
			        res.code);
			rc = 1;
		} else {
			cJSON *report = cJSON_Parse(res.json);
			char *text = cJSON_Print(report);
			printf("%s\n", text);
			free(text);
			cJSON_Delete(report);
			rc = res.outcome == IMPORT_REPORT
			         ? (strstr(res.json, "\"problem_count\":0") != NULL ? 0 : 1)
			     : res.outcome == IMPORT_REFUSED ? 1
			                                     : 0;
		}
		free(res.json);
		db_disconnect(c);
	}
	fclose(rq.file);
	config_free(&cfg);
	return rc;
}

static int
cmd_keygen(int argc, char **argv)
{
	const char *dir = NULL, *origin = NULL;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strcmp(argv[i], "--origin") == 0 && i + 1 < argc) {
			origin = argv[++i];
		} else {
			dir = NULL;
			break;
		}
	}
	if (dir == NULL) {
		fprintf(stderr, "usage: biobankd keygen --out DIR [--origin NAME]\n");
		return 2;
	}
	return ledger_keygen(dir, origin, stdout, stderr);
}

static int
cmd_checkpoint(int argc, char **argv)
{
	struct srv_config cfg;
	struct note_key key;
	struct checkpoint_made m;
	struct db_conn *c;
	int rest, rc;

	if ((rc = load_config(&cfg, argc, argv, &rest)) != 0)
		return rc;
	if (rest != argc || cfg.ledger_key == NULL) {
		fprintf(stderr,
		        rest != argc ? "biobankd: checkpoint: unexpected argument \"%s\"\n"
		                     : "biobankd: checkpoint: give ledger_key, the file "
		                       "of the ledger's signing key%s\n",
		        rest != argc ? argv[rest] : "");
		config_free(&cfg);
		return 2;
	}
	rc = 1;
	if (ledger_key_load(cfg.ledger_key, &key, stderr) == 0 &&
	    db_connect(cfg.database_url, checkpoint_sets, &c) == BB_OK) {
		enum bb_err err = checkpoint_make(c, &key, cfg.checkpoint_dir, &m);
		char root[64];
		struct bb_buf b64 = { 0 };

		note_base64(m.root, sizeof(m.root), &b64);
		snprintf(root, sizeof(root), "%s", b64.data ? b64.data : "");
		bb_buf_free(&b64);
		if (err == BB_ECONFLICT) {
			fprintf(stderr, "biobankd: checkpoint: refused: %s\n", m.why);
		} else if (err != BB_OK) {
			fprintf(stderr, "biobankd: checkpoint: %s: %s\n", bb_strerror(err),
			        db_error_message(c));
			rc = 2;
		} else if (!m.fresh && m.size == 0) {
			printf("the log is empty: nothing to sign\n");
			rc = 0;
		} else if (!m.fresh) {
			printf("unchanged: the last checkpoint covers the log (%llu entries, root "
			       "%s)\n",
			       (unsigned long long)m.size, root);
			rc = 0;
		} else {
			printf("checkpoint %lld signed: %llu entries, root %s\n", m.id,
			       (unsigned long long)m.size, root);
			if (m.exported)
				printf("written to %s\n", m.file);
			else if (cfg.checkpoint_dir != NULL)
				fprintf(stderr, "biobankd: checkpoint: not exported: %s\n", m.why);
			rc = m.exported || cfg.checkpoint_dir == NULL ? 0 : 1;
		}
		db_disconnect(c);
	}
	sodium_memzero(&key, sizeof(key));
	config_free(&cfg);
	return rc;
}

static int
cmd_verify_bundle(int argc, char **argv)
{
	const char *file = NULL, *key = NULL;
	const char **witnesses = bb_calloc((size_t)argc + 1, sizeof(*witnesses));
	size_t nwitnesses = 0;
	bool usage_ok = true;

	for (int i = 0; i < argc && usage_ok; i++) {
		if (strcmp(argv[i], "--key") == 0 && i + 1 < argc && key == NULL)
			key = argv[++i];
		else if (strcmp(argv[i], "--witness") == 0 && i + 1 < argc)
			witnesses[nwitnesses++] = argv[++i];
		else if (file == NULL && strncmp(argv[i], "--", 2) != 0)
			file = argv[i];
		else
			usage_ok = false;
	}
	int rc = 2;
	if (!usage_ok || file == NULL || key == NULL)
		fprintf(stderr,
		        "usage: biobankd verify-bundle FILE --key PUBKEY [--witness PUBKEY ...]\n");
	else
		rc = verify_bundle(file, key, witnesses, nwitnesses, stdout, stderr);
	free(witnesses);
	return rc;
}

static int
cmd_config(int argc, char **argv)
{
	struct srv_config cfg;
	int rest, rc;

	if ((rc = load_config(&cfg, argc, argv, &rest)) != 0)
		return rc;
	config_print(&cfg, stdout);
	config_free(&cfg);
	return 0;
}

/* The OpenAPI document, as GET /api/v1/openapi.json answers it: no database needed. */
static int
cmd_openapi(int argc, char **argv)
{
	(void)argv;
	if (argc != 0) {
		fprintf(stderr, "usage: biobankd openapi\n");
		return 2;
	}
	cJSON *doc = openapi_document();
	char *text = cJSON_Print(doc);

	cJSON_Delete(doc);
	if (text == NULL)
		return 1;
	puts(text);
	free(text);
	return fflush(stdout) == 0 ? 0 : 1;
}

/*
 * Settings may come before the command too (biobankd --listen X serve):
 * move the command to argv[1], the settings before it just after it, where
 * every command reads its options. -1 when there is no command.
 */
static int
command_first(int argc, char **argv)
{
	int c = 1;

	for (int words; c < argc && (words = config_flag_words(argc - c, argv + c)) > 0;)
		c += words;
	if (c >= argc)
		return -1;
	char *cmd = argv[c];
	memmove(argv + 2, argv + 1, (size_t)(c - 1) * sizeof(*argv));
	argv[1] = cmd;
	return 0;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "biobankd: libsodium cannot start\n");
		return 1;
	}
	/* The label library's HTTP printers use libcurl: set it up before any thread starts. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "biobankd: libcurl cannot start\n");
		return 1;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("biobankd %s\n", BB_VERSION);
		return 0;
	}
	if (command_first(argc, argv) != 0) {
		fprintf(stderr, "biobankd: no command after the options\n");
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate(argc - 2, argv + 2);
	if (strcmp(cmd, "user") == 0)
		return cmd_user(argc - 2, argv + 2);
	if (strcmp(cmd, "verify-ledger") == 0)
		return cmd_verify(argc - 2, argv + 2);
	if (strcmp(cmd, "config") == 0)
		return cmd_config(argc - 2, argv + 2);
	if (strcmp(cmd, "keygen") == 0)
		return cmd_keygen(argc - 2, argv + 2);
	if (strcmp(cmd, "checkpoint") == 0)
		return cmd_checkpoint(argc - 2, argv + 2);
	if (strcmp(cmd, "import") == 0)
		return cmd_import(argc - 2, argv + 2);
	if (strcmp(cmd, "verify-bundle") == 0)
		return cmd_verify_bundle(argc - 2, argv + 2);
	if (strcmp(cmd, "openapi") == 0)
		return cmd_openapi(argc - 2, argv + 2);
	fprintf(stderr, "biobankd: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return 2;
}
