/*
 * testlib.h — what the API tests share: a fresh database per test program,
 * the real biobankd started on a loopback port, and an HTTP client (libcurl).
 *
 * The cluster comes from scripts/test through the environment:
 *   BIOBANK_TEST_PG       libpq conninfo of the cluster as superuser (no dbname)
 *   BIOBANK_TEST_PGCTL    command prefix that runs pg_ctl on the cluster
 *   BIOBANK_TEST_TEMPLATE a migrated database each test's database is copied from
 *                         (optional; without it each is migrated from scratch)
 * Without them the programs skip (exit 77).
 */
#ifndef BB_TESTLIB_H
#define BB_TESTLIB_H

#include "../harness.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <sys/types.h>

struct daemon {
	bool https;    /* set before daemon_start to speak TLS to it */
	int want_port; /* set before daemon_start to listen there (a restart at one address) */
	pid_t pid;
	int port;
	char url[64];
	char log[256];
};

struct tenv {
	const char *biobankd; /* path of the binary, from argv[1] */
	char dbname[64];
	char super_conninfo[512]; /* the test database, as superuser */
	char owner_conninfo[512]; /* the test database, as its owner (biobankd migrate) */
	char conninfo[512];       /* the test database, as the daemon's role (biobank_app) */
	struct daemon d;
	char admin_token[128];
};

/* Create the database, migrate, add user "admin" (password "admin-password"),
 * start a daemon and log in. Skips the program when there is no cluster. */
void tenv_setup(struct tenv *t, const char *name, int argc, char **argv);
void tenv_teardown(struct tenv *t);

/* Start another daemon on the same database (extra "--opt=value" arguments allowed). */
int daemon_start(struct tenv *t, struct daemon *d, const char *const *extra_args);
int daemon_stop(struct daemon *d); /* SIGTERM, wait; returns the exit status */
bool daemon_wait_healthy(struct daemon *d, int timeout_ms);

struct resp {
	long status;
	char *body;
	size_t len;
	cJSON *json;
	char content_type[128];
	char retry_after[32];
	char allow[64];
	char replayed[16];          /* Idempotent-Replayed */
	char request_id[64];        /* X-Request-Id */
	char content_location[256]; /* Content-Location (a FHIR bulk export's status URL) */
	char progress[128];         /* X-Progress (a FHIR bulk export's) */
	char content_disposition[256];
	char content_length[32];
	char cache_control[64];
	char error[256]; /* libcurl's message when the request failed (status 0) */
};

/* One request. body may be NULL; ctype NULL means application/json when body is given. */
int http(const char *base, const char *method, const char *path, const char *token,
         const char *ctype, const char *body, size_t len, struct resp *out);
/* The same with the daemon's URL and extra raw headers ("Name: value", NULL-terminated). */
int http_h(const char *base, const char *method, const char *path, const char *token,
           const char *ctype, const char *body, size_t len, const char *const *headers,
           struct resp *out);
/* The same from the local address source (NULL: any), e.g. "127.0.0.2": every 127/8
 * address reaches a daemon on loopback, so one test plays clients at several addresses. */
int http_from(const char *source, const char *base, const char *method, const char *path,
              const char *token, const char *ctype, const char *body, size_t len,
              const char *const *headers, struct resp *out);
void resp_free(struct resp *r);

/* Shorthands for JSON against the env's daemon. */
int api(struct tenv *t, const char *method, const char *path, const char *token, const char *json,
        struct resp *out);

/* An account made by the admin (password "password-NAME"; studies a JSON array or NULL),
 * logged in: 0 and its token, or -1 after a diagnostic. */
int make_user(struct tenv *t, const char *name, const char *role, const char *studies,
              char token[128]);

/* POST /api/v1/sessions; returns 0 and the token, or the HTTP status. */
int login(struct tenv *t, const char *user, const char *password, char token[128]);

/* The string at a JSON path like "user.role" or "errors.0.field", or NULL. */
const char *jstr(const struct resp *r, const char *path);
double jnum(const struct resp *r, const char *path, double def);
/* A problem+json answer of status with type, title, detail and a non-empty code; on
 * a FHIR route, the OperationOutcome it is sent as (the code in issue[0].details.coding). */
bool is_problem(const struct resp *r, long status);
/* True when the problem's errors list names field (an OperationOutcome: an issue's
 * diagnostics starts with it). */
bool problem_names_field(const struct resp *r, const char *field);

/* Run a command with optional standard input; returns its exit status; output
 * (stdout and stderr) into out if not NULL (caller frees). env: NULL-terminated
 * "NAME=value" additions. */
int run_cmd(const char *const *argv, const char *const *env, const char *input, char **out);

/* One SQL statement on the test database as superuser; returns the first value
 * of the first row (caller frees) or NULL; *ok tells success. */
char *sql_value(struct tenv *t, const char *sql, bool *ok);
/* The same for a query answering one number; -1 when it fails. */
long sql_int(struct tenv *t, const char *sql);
/* sql_int of a query made like printf's. */
long sql_intf(struct tenv *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A statement that must succeed: the test bails out when it does not. */
void sql_exec(struct tenv *t, const char *sql);

int free_port(void);

/* Waiting for a state, not for a time: poll with these until a deadline.
 * Deadlines are generous (a busy 2-core machine under the sanitizers);
 * a test bounds a duration only where the bound is what it checks. */
long long mono_ms(void); /* CLOCK_MONOTONIC in milliseconds */
void msleep(int ms);

/* Every event is in the transparency log and none waits in its queue, within
 * timeout_ms: the sequencer has caught up. */
bool log_sequenced(struct tenv *t, int timeout_ms);

/* Whole lines of the daemon's log (d->log) holding every one of the
 * NULL-terminated needles, waiting up to timeout_ms for the first; the
 * lines joined by '\n' (caller frees) or NULL when none came. */
char *daemon_log_lines(const struct daemon *d, const char *const *needles, int timeout_ms);

/*
 * The OpenAPI document (openapi_check.c): tenv_setup() loads it from
 * `biobankd openapi`; from then on every answer http_from() receives is
 * checked against it, and tenv_teardown() reports the violations as one
 * check. openapi_load returns false when the document cannot be had.
 */
bool openapi_load(const char *biobankd);
bool openapi_loaded(void);
void openapi_check(const char *method, const char *path, const struct resp *r);
long openapi_checked(void);
long openapi_violations(void);

/* A process's figure for field of /proc/PID/status ("VmRSS:", "VmHWM:") in kB; -1 when unreadable.
 */
long proc_status_kb(pid_t pid, const char *field);

#endif
