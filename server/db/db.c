/* db.c — connection pool, statement preparation, error mapping, transactions. */
#include "db/db.h"

#include "http/log.h"

#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	TXN_ATTEMPTS = 12,
	RECONNECT_HOLDOFF_MS = 200, /* after a failed connect, fail fast this long */
	ACQUIRE_WAIT_MS = 5000,
	IDLE_CHECK_MS = 1000, /* database_idle_check's default (db_pool_idle_check) */
};

struct db_conn {
	PGconn *pg;
	bool in_txn;
	bool retry_hit; /* 40001/40P01 since the last BEGIN: only a re-run can succeed */
	char state[6];
	char message[512];
	struct db_diag diag;               /* the last error's other fields, for the reply */
	const struct db_stmt *const *sets; /* prepared on every (re)connect; NULL: none */
	bool read_only; /* a reader pool's: every transaction read-only (db_pool_open_reader) */
	struct db_pool *pool; /* NULL: a connection of its own (db_connect) */
	long long idle_ms;    /* when it was last given back (db_release), bb_monotonic_ms() */
	bool resent;          /* a statement was sent again since db_acquire (exec_as) */
};

struct db_pool {
	char *conninfo;
	unsigned size;
	unsigned in_use;
	struct db_conn *conns;
	bool *taken;
	long long last_failure_ms; /* bb_monotonic_ms(); 0: none */
	unsigned idle_check_ms;    /* idle longer than this: checked before use (conn_ready) */
	/* A (re)connect is under way while the database is out (last_failure set): the
	 * other requests answer 503 at once rather than each wait on a connect too. */
	bool probing;
	pthread_mutex_t lock;
	pthread_cond_t freed;
};

/*
 * How far behind a standby is, in seconds; NULL on a primary. A standby
 * that has replayed all it received from a streaming primary is not
 * behind, however long ago the last write was (clock minus the last
 * replayed commit alone grows on a quiet biobank); otherwise the age of
 * its last replayed commit, NULL when it has replayed none since it started
 * (unknown: counted as too far behind). pg_stat_wal_receiver shows its pid
 * to any role.
 */
#define REPLAY_LAG                                                                                 \
	"CASE WHEN pg_is_in_recovery() THEN CASE WHEN pg_last_wal_receive_lsn() = "                \
	"pg_last_wal_replay_lsn() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0 ELSE "    \
	"extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) END END"

static const struct db_stmt txn_statements[] = {
	{ "db_begin", "BEGIN" },
	{ "db_commit", "COMMIT" },
	{ "db_rollback", "ROLLBACK" },
	{ "db_ping", "SELECT 1" },
	{ "db_long_statements", "SELECT set_config('statement_timeout', $1, true)" },
	/* Where this connection landed (db_node): a standby's replay lag, a primary's standbys
	 * (their lag columns need pg_monitor, else null). */
	{ "db_node",
	  "SELECT pg_is_in_recovery(), " REPLAY_LAG ", COALESCE((SELECT "
	  "json_agg(json_build_object('name', application_name, 'state', state, 'sync_state', "
	  "sync_state, 'replay_lag_s', extract(epoch FROM replay_lag)) ORDER BY application_name) "
	  "FROM pg_stat_replication), '[]')" },
	{ "db_replay_lag", "SELECT pg_is_in_recovery(), " REPLAY_LAG },
	{ NULL, NULL },
};

static void
diag_clear(struct db_diag *d)
{
	free(d->detail);
	memset(d, 0, sizeof(*d));
}

static void
set_error(struct db_conn *c, const char *state, const char *msg)
{
	diag_clear(&c->diag);
	snprintf(c->state, sizeof(c->state), "%s", state ? state : "");
	snprintf(c->message, sizeof(c->message), "%s", msg ? msg : "");
	/* libpq messages end in a newline; replies and logs want one line. */
	size_t n = strlen(c->message);
	while (n > 0 && (c->message[n - 1] == '\n' || c->message[n - 1] == ' '))
		c->message[--n] = '\0';
}

static enum bb_err
prepare_one(struct db_conn *c, const struct db_stmt *s)
{
	PGresult *r = PQprepare(c->pg, s->name, s->sql, 0, NULL);
	enum bb_err err = BB_OK;

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		set_error(c, PQresultErrorField(r, PG_DIAG_SQLSTATE), PQresultErrorMessage(r));
		log_warnx("%s: statement %s: %s", __func__, s->name, c->message);
		err = PQstatus(c->pg) == CONNECTION_OK ? BB_EINTERNAL : BB_EDBDOWN;
	}
	PQclear(r);
	return err;
}

static enum bb_err
prepare_all(struct db_conn *c)
{
	enum bb_err err;

	for (const struct db_stmt *s = txn_statements; s->name != NULL; s++)
		if ((err = prepare_one(c, s)) != BB_OK)
			return err;
	for (size_t i = 0; c->sets[i] != NULL; i++)
		for (const struct db_stmt *s = c->sets[i]; s->name != NULL; s++)
			if ((err = prepare_one(c, s)) != BB_OK)
				return err;
	return BB_OK;
}

/*
 * Our defaults come before dbname (the caller's conninfo, expanded) so that
 * it overrides them; client_encoding comes after it so that nothing does:
 * every byte the daemon and its commands send or read is UTF-8 (the ledger
 * hashes UTF-8, and JSON is UTF-8), whatever PGCLIENTENCODING or the
 * conninfo say.
 */
static PGconn *
connect_pg(const char *conninfo, bool read_only)
{
	const char *keys[] = { "connect_timeout", "application_name", "options", "keepalives_idle",
		               "dbname",          "client_encoding",  NULL };
	/* A reader's connection refuses every write, on a primary too (reports_database may
	 * land on one): what it runs must only read. */
	const char *vals[] = { "3",
		               read_only ? "biobankd-reports" : "biobankd",
		               read_only ? "-c statement_timeout=60000 -c "
		                           "default_transaction_read_only=on"
		                         : "-c statement_timeout=60000",
		               "30",
		               conninfo ? conninfo : "",
		               "UTF8",
		               NULL };

	return PQconnectdbParams(keys, vals, 1);
}

static enum bb_err
conn_open(struct db_conn *c, const char *conninfo)
{
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->in_txn = false;
	c->pg = connect_pg(conninfo, c->read_only);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		set_error(c, "08006", PQerrorMessage(c->pg));
		PQfinish(c->pg);
		c->pg = NULL;
		return BB_EDBDOWN;
	}
	if (c->sets != NULL) {
		enum bb_err err = prepare_all(c);

		if (err != BB_OK) {
			PQfinish(c->pg);
			c->pg = NULL;
			/* An unprepared statement means the schema is not what this binary needs.
			 */
			return BB_EDBDOWN;
		}
	}
	return BB_OK;
}

/*
 * Whether c can be used as it is. An idle connection should have nothing to
 * read; if it has, the server closed it (a restart, a terminated backend,
 * idle_session_timeout, a failover). Asking costs a system call (a poll),
 * several microseconds on a virtual machine and a tenth of the daemon's
 * CPU for a GET by ID under load, so only a connection idle for longer than
 * idle_check_ms is asked: that is where closed connections come from. One
 * in steady use is found closed on use instead (exec_as: a statement that
 * changes nothing is sent again on a new connection, any other is answered
 * 503 for the client to retry).
 */
static bool
conn_ready(struct db_conn *c, unsigned idle_check_ms)
{
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK)
		return false;
	if (idle_check_ms > 0 && bb_monotonic_ms() - c->idle_ms < (long long)idle_check_ms)
		return true;
	struct pollfd p = { .fd = PQsocket(c->pg), .events = POLLIN };
	return poll(&p, 1, 0) == 0;
}

static struct db_pool *
pool_open(const char *conninfo, unsigned size, const struct db_stmt *const *sets, bool read_only)
{
	struct db_pool *p = bb_calloc(1, sizeof(*p));

	p->conninfo = conninfo ? bb_strdup(conninfo) : NULL;
	p->size = size;
	p->idle_check_ms = IDLE_CHECK_MS;
	p->conns = bb_calloc(size, sizeof(*p->conns));
	for (unsigned i = 0; i < size; i++) {
		p->conns[i].sets = sets;
		p->conns[i].read_only = read_only;
		p->conns[i].pool = p;
	}
	p->taken = bb_calloc(size, sizeof(*p->taken));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	return p;
}

struct db_pool *
db_pool_open(const char *conninfo, unsigned size, const struct db_stmt *const *sets)
{
	return pool_open(conninfo, size, sets, false);
}

struct db_pool *
db_pool_open_reader(const char *conninfo, unsigned size, const struct db_stmt *const *sets)
{
	return pool_open(conninfo, size, sets, true);
}

void
db_pool_close(struct db_pool *p)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; i < p->size; i++) {
		if (p->conns[i].pg != NULL)
			PQfinish(p->conns[i].pg);
		diag_clear(&p->conns[i].diag);
	}
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->freed);
	free(p->conns);
	free(p->taken);
	free(p->conninfo);
	free(p);
}

void
db_pool_idle_check(struct db_pool *p, unsigned ms)
{
	pthread_mutex_lock(&p->lock);
	p->idle_check_ms = ms;
	pthread_mutex_unlock(&p->lock);
}

void
db_pool_usage(struct db_pool *p, unsigned *in_use, unsigned *size)
{
	pthread_mutex_lock(&p->lock);
	*in_use = p->in_use;
	*size = p->size;
	pthread_mutex_unlock(&p->lock);
}

/*
 * (Re)connect c, a connection of p that is taken. While the database is out,
 * one request at a time tries to reach it (and none in the hold-off after a
 * failure); the others answer 503 at once. A connect to a lost node takes up
 * to connect_timeout per host, and a worker thread waiting on one serves none
 * of its other connections: with every worker connecting, a failover on a
 * loaded machine left clients unanswered until they gave up (scripts/ha-test).
 */
static enum bb_err
pool_reconnect(struct db_pool *p, struct db_conn *c)
{
	enum bb_err err = BB_EDBDOWN;

	pthread_mutex_lock(&p->lock);
	bool outage = p->last_failure_ms != 0;
	bool tries = !outage || (!p->probing &&
	                         bb_monotonic_ms() - p->last_failure_ms >= RECONNECT_HOLDOFF_MS);
	if (tries && outage)
		p->probing = true;
	pthread_mutex_unlock(&p->lock);
	if (tries)
		err = conn_open(c, p->conninfo);
	else
		set_error(c, "08006", "the database is out; another request is reconnecting");
	pthread_mutex_lock(&p->lock);
	if (err != BB_OK && tries) {
		p->last_failure_ms = bb_monotonic_ms();
		log_warnx("database unavailable: %s", c->message);
	} else if (err == BB_OK) {
		p->last_failure_ms = 0;
	}
	if (tries && outage)
		p->probing = false;
	pthread_mutex_unlock(&p->lock);
	return err;
}

enum bb_err
db_acquire(struct db_pool *p, struct db_conn **out)
{
	struct timespec deadline;
	struct db_conn *c = NULL;
	unsigned idx = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ACQUIRE_WAIT_MS / 1000;
	pthread_mutex_lock(&p->lock);
	while (c == NULL) {
		/* Prefer a connected one: a cold connection costs a connect and a prepare. */
		for (unsigned i = 0; i < p->size; i++) {
			if (!p->taken[i] &&
			    (c == NULL || (p->conns[i].pg != NULL && c->pg == NULL))) {
				c = &p->conns[i];
				idx = i;
			}
		}
		if (c == NULL && pthread_cond_timedwait(&p->freed, &p->lock, &deadline) != 0) {
			pthread_mutex_unlock(&p->lock);
			log_warnx("%s: no connection free after %d ms", __func__, ACQUIRE_WAIT_MS);
			return BB_EDBDOWN;
		}
	}
	p->taken[idx] = true;
	p->in_use++;
	unsigned idle_check_ms = p->idle_check_ms;
	pthread_mutex_unlock(&p->lock);

	if (!conn_ready(c, idle_check_ms) && pool_reconnect(p, c) != BB_OK) {
		db_release(p, c);
		return BB_EDBDOWN;
	}
	c->state[0] = c->message[0] = '\0';
	c->retry_hit = false;
	c->resent = false;
	diag_clear(&c->diag);
	*out = c;
	return BB_OK;
}

void
db_release(struct db_pool *p, struct db_conn *c)
{
	/* A transaction left open by a failed path must not leak into the next request. */
	if (c->in_txn)
		db_rollback(c);
	c->idle_ms = bb_monotonic_ms();
	pthread_mutex_lock(&p->lock);
	p->taken[c - p->conns] = false;
	p->in_use--;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

static enum bb_err
map_state(const char *st)
{
	static const struct {
		const char *state;
		enum bb_err err;
	} exact[] = {
		{ "40001", BB_ERETRY },
		{ "40P01", BB_ERETRY },
		{ "23505", BB_ECONFLICT },
		{ "23P01", BB_ECONFLICT },
		{ "BB409", BB_ECONFLICT },
		{ "BB404", BB_ENOTFOUND },
		{ "BB400", BB_EINVAL },
		{ "23502", BB_EINVAL },
		{ "23503", BB_EINVAL },
		{ "23514", BB_EINVAL },
		{ "57P01", BB_EDBDOWN },
		{ "57P02", BB_EDBDOWN },
		{ "57P03", BB_EDBDOWN },
		/* A server that became a standby under us (a demoted primary after a
		 * switchover): the connection goes, and the next one finds the primary
		 * (target_session_attrs=read-write). */
		{ "25006", BB_EDBDOWN },
	};

	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(st, exact[i].state) == 0)
			return exact[i].err;
	if (strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0)
		return BB_EDBDOWN;
	if (strncmp(st, "22", 2) == 0)
		return BB_EINVAL;
	return BB_EINTERNAL;
}

/*
 * How a statement's answer is taken: whole (PQexecPrepared), or, with fn,
 * row by row in libpq's single-row mode, each row given to fn as it comes.
 */
struct take {
	int format;
	PGresult **res; /* whole: the answer for the caller, or NULL to drop it */
	db_row_fn fn;
	void *arg;
	unsigned long long rows; /* rows given to fn */
	enum bb_err stopped;     /* what fn returned to stop; BB_OK while it takes rows */
};

/* Read and drop what the server still sends for the statement: after it, the
 * connection is ready for the next one (libpq: PQgetResult until NULL). */
static void
drain(PGconn *pg)
{
	PGresult *r;

	while ((r = PQgetResult(pg)) != NULL)
		PQclear(r);
}

/*
 * Ask the server to stop the statement (a reader that stopped after the
 * first of a million rows need not read the rest). Drained afterwards all
 * the same, so a cancel that comes too late changes nothing; one the server
 * gets while idle it ignores.
 */
static void
cancel(PGconn *pg)
{
	PGcancel *k = PQgetCancel(pg);
	char why[256];

	if (k != NULL && !PQcancel(k, why, sizeof(why)))
		log_warnx("%s: %s", __func__, why);
	PQfreeCancel(k);
}

/*
 * The statement in single-row mode. Returns the result that ends it (the
 * zero-row PGRES_TUPLES_OK, already given to fn; or the error, perhaps
 * after some rows) with nothing left to read; NULL when fn stopped.
 */
static PGresult *
exec_rows(struct db_conn *c, const char *stmt, int nparams, const char *const *params,
          struct take *t)
{
	if (!PQsendQueryPrepared(c->pg, stmt, nparams, params, NULL, NULL, t->format))
		return PQmakeEmptyPGresult(c->pg, PGRES_FATAL_ERROR); /* the connection's reason */
	PQsetSingleRowMode(c->pg);
	for (;;) {
		PGresult *r = PQgetResult(c->pg);
		ExecStatusType st = PQresultStatus(r);

		if (r == NULL) /* no end and no error: the connection went */
			return PQmakeEmptyPGresult(c->pg, PGRES_FATAL_ERROR);
		if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) {
			drain(c->pg);
			return r;
		}
		t->stopped = t->fn(t->arg, r);
		if (st == PGRES_TUPLES_OK) {
			drain(c->pg);
			if (t->stopped == BB_OK)
				return r;
		} else {
			t->rows++;
			if (t->stopped != BB_OK) {
				cancel(c->pg);
				drain(c->pg);
			}
		}
		PQclear(r);
		if (t->stopped != BB_OK)
			return NULL;
	}
}

/*
 * resend: the statement changes nothing (a read, or BEGIN outside a
 * transaction), so when the server turns out to have closed the connection
 * it is sent once more on a new one. Nothing else is: a write that was sent
 * may have committed before the connection went (its answer lost), and
 * running it again could apply it twice; its caller answers 503 with
 * Retry-After and the client retries under its Idempotency-Key. Once per
 * db_acquire, through the same reconnect rule (pool_reconnect), so that an
 * outage costs a request one connect at most. Nor once a row has been given
 * to a reader (t->fn): it cannot be taken back.
 */
static enum bb_err
exec_as(struct db_conn *c, const char *stmt, int nparams, const char *const *params, struct take *t,
        bool resend)
{
	if (t->res != NULL)
		*t->res = NULL;
	for (;;) {
		if (c->pg == NULL) {
			set_error(c, "08003", "no connection");
			return BB_EDBDOWN;
		}
		bool in_txn = c->in_txn;
		PGresult *r = t->fn != NULL ? exec_rows(c, stmt, nparams, params, t)
		                            : PQexecPrepared(c->pg, stmt, nparams, params, NULL,
		                                             NULL, t->format);
		if (t->stopped != BB_OK) {
			set_error(c, NULL, "the reader stopped the rows");
			return t->stopped;
		}
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			if (t->res != NULL)
				*t->res = r;
			else
				PQclear(r);
			return BB_OK;
		}
		/* BB_EDBDOWN: the connection is gone (db_result_error closed it). */
		enum bb_err err = db_result_error(c, stmt, r);
		if (err != BB_EDBDOWN || !resend || in_txn || c->resent || c->pool == NULL ||
		    t->rows > 0)
			return err;
		c->resent = true;
		log_info("%s: the database closed the connection (%s): sent again on a new one",
		         stmt, c->message);
		if (pool_reconnect(c->pool, c) != BB_OK)
			return BB_EDBDOWN;
		set_error(c, NULL, NULL); /* the closed connection's error is not this answer's */
	}
}

enum bb_err
db_exec(struct db_conn *c, const char *stmt, int nparams, const char *const *params, PGresult **res)
{
	struct take t = { .res = res };

	return exec_as(c, stmt, nparams, params, &t, false);
}

enum bb_err
db_exec_read(struct db_conn *c, const char *stmt, int nparams, const char *const *params,
             PGresult **res)
{
	struct take t = { .res = res };

	return exec_as(c, stmt, nparams, params, &t, true);
}

enum bb_err
db_exec_binary(struct db_conn *c, const char *stmt, int nparams, const char *const *params,
               PGresult **res)
{
	struct take t = { .format = 1, .res = res };

	return exec_as(c, stmt, nparams, params, &t, false);
}

enum bb_err
db_exec_rows(struct db_conn *c, const char *stmt, int nparams, const char *const *params,
             db_row_fn fn, void *arg)
{
	struct take t = { .fn = fn, .arg = arg };

	return exec_as(c, stmt, nparams, params, &t, true);
}

enum bb_err
db_result_error(struct db_conn *c, const char *stmt, PGresult *r)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	set_error(c, state ? state : "08006", msg ? msg : PQerrorMessage(c->pg));
	/* What a function raised as data (COLUMN, DETAIL), and what PostgreSQL names itself. */
	const char *column = PQresultErrorField(r, PG_DIAG_COLUMN_NAME);
	const char *constraint = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
	const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
	snprintf(c->diag.column, sizeof(c->diag.column), "%s", column ? column : "");
	snprintf(c->diag.constraint, sizeof(c->diag.constraint), "%s",
	         constraint ? constraint : "");
	c->diag.detail = detail ? bb_strdup(detail) : NULL;
	PQclear(r);
	enum bb_err err = PQstatus(c->pg) != CONNECTION_OK ? BB_EDBDOWN : map_state(c->state);
	/* A write on a reader's connection is our bug (a route marked READS_STANDBY that
	 * writes), not a demoted primary: said as such, never answered again elsewhere. */
	if (c->read_only && strcmp(c->state, "25006") == 0)
		err = BB_EINTERNAL;
	if (err == BB_EDBDOWN) {
		/* Whatever was open died with the connection. */
		c->in_txn = false;
		PQfinish(c->pg);
		c->pg = NULL;
	} else if (err == BB_ERETRY) {
		c->retry_hit = true;
	} else if (err == BB_EINTERNAL) {
		log_warnx("%s: %s: SQLSTATE %s: %s", __func__, stmt, c->state, c->message);
	}
	return err;
}

enum bb_err
db_long_statements(struct db_conn *c, unsigned timeout_ms)
{
	char v[16];
	const char *params[] = { v };

	snprintf(v, sizeof(v), "%u", timeout_ms);
	return db_exec(c, "db_long_statements", 1, params, NULL);
}

enum bb_err
db_fail(struct db_conn *c, enum bb_err err, const char *fmt, ...)
{
	char msg[sizeof(c->message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_error(c, "", msg);
	return err;
}

const char *
db_error_state(const struct db_conn *c)
{
	return c->state;
}

const char *
db_error_message(const struct db_conn *c)
{
	return c->message;
}

const struct db_diag *
db_error_diag(const struct db_conn *c)
{
	return &c->diag;
}

enum bb_err
db_begin(struct db_conn *c)
{
	c->retry_hit = false;
	/* BEGIN outside a transaction changes nothing: sent again if the connection was closed. */
	struct take t = { 0 };
	enum bb_err err = exec_as(c, "db_begin", 0, NULL, &t, !c->in_txn);

	if (err == BB_OK)
		c->in_txn = true;
	return err;
}

enum bb_err
db_commit(struct db_conn *c)
{
	enum bb_err err = db_exec(c, "db_commit", 0, NULL, NULL);

	/* A failed COMMIT ends the transaction too (the server rolled it back). */
	c->in_txn = false;
	return err;
}

void
db_rollback(struct db_conn *c)
{
	char state[6], message[512];
	struct db_diag diag = c->diag;

	/* Keep the error that caused the rollback for the reply. */
	memcpy(state, c->state, sizeof(state));
	memcpy(message, c->message, sizeof(message));
	memset(&c->diag, 0, sizeof(c->diag));
	if (c->pg != NULL)
		db_exec(c, "db_rollback", 0, NULL, NULL);
	c->in_txn = false;
	diag_clear(&c->diag);
	memcpy(c->state, state, sizeof(state));
	memcpy(c->message, message, sizeof(message));
	c->diag = diag;
}

bool
db_in_txn(const struct db_conn *c)
{
	return c->in_txn;
}

bool
db_txn_retryable(const struct db_conn *c)
{
	return c->retry_hit;
}

static void
backoff(int attempt)
{
	/* 1, 2, 4 ... 64 ms, and as much again at random, so racing transactions do not collide
	 * again in step. libsodium's generator is thread-safe and seeded once by sodium_init() at
	 * start-up: no shared state of ours between workers. */
	uint32_t base = 1000u << (attempt < 6 ? attempt : 6);
	uint32_t us = base + randombytes_uniform(base);
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/*
 * The one retry loop. Every unit of database work runs through it: a
 * handler's own transaction, a single implicit statement, and a request
 * sent with an Idempotency-Key, whose unit (claim, handler, stored answer)
 * is one fn (idempotency.c). Inside an open transaction fn simply runs:
 * a deadlock has aborted the whole transaction, not just fn's part, so
 * only the outermost runner can usefully run it again.
 */
static enum bb_err
txn_run(struct db_conn *c, db_txn_fn fn, void *arg, bool explicit)
{
	enum bb_err err;

	if (c->in_txn)
		return fn(c, arg);
	for (int attempt = 0;; attempt++) {
		if (explicit && (err = db_begin(c)) != BB_OK)
			return err;
		err = fn(c, arg);
		if (explicit) {
			if (err == BB_OK)
				err = db_commit(c);
			else
				db_rollback(c);
		}
		if (err != BB_ERETRY || attempt + 1 == TXN_ATTEMPTS)
			return err;
		backoff(attempt);
	}
}

enum bb_err
db_txn(struct db_conn *c, db_txn_fn fn, void *arg)
{
	return txn_run(c, fn, arg, true);
}

enum bb_err
db_txn_implicit(struct db_conn *c, db_txn_fn fn, void *arg)
{
	return txn_run(c, fn, arg, false);
}

struct exec_call {
	const char *stmt;
	int nparams;
	const char *const *params;
	PGresult *res;
};

static enum bb_err
exec_run(struct db_conn *c, void *arg)
{
	struct exec_call *x = arg;

	PQclear(x->res); /* what an attempt that is retried left */
	x->res = NULL;
	return db_exec(c, x->stmt, x->nparams, x->params, &x->res);
}

enum bb_err
db_exec_retried(struct db_conn *c, const char *stmt, int nparams, const char *const *params,
                PGresult **res)
{
	struct exec_call x = { stmt, nparams, params, NULL };
	enum bb_err err = db_txn_implicit(c, exec_run, &x);

	if (err != BB_OK) {
		PQclear(x.res);
		x.res = NULL;
	}
	*res = x.res;
	return err;
}

enum bb_err
db_connect_quiet(const char *conninfo, const struct db_stmt *const *sets, struct db_conn **out,
                 char *why, size_t why_len)
{
	struct db_conn *c = bb_calloc(1, sizeof(*c));
	c->sets = sets;
	enum bb_err err = conn_open(c, conninfo);

	if (err != BB_OK) {
		snprintf(why, why_len, "%s", c->message);
		diag_clear(&c->diag);
		free(c);
		return err;
	}
	*out = c;
	return BB_OK;
}

enum bb_err
db_connect(const char *conninfo, const struct db_stmt *const *sets, struct db_conn **out)
{
	char why[512];
	enum bb_err err = db_connect_quiet(conninfo, sets, out, why, sizeof(why));

	if (err != BB_OK)
		fprintf(stderr, "biobankd: cannot connect to the database: %s\n", why);
	return err;
}

void
db_disconnect(struct db_conn *c)
{
	if (c == NULL)
		return;
	if (c->pg != NULL)
		PQfinish(c->pg);
	diag_clear(&c->diag);
	free(c);
}

enum bb_err
db_node(struct db_conn *c, struct db_node_info *out)
{
	PGresult *res;
	enum bb_err err = db_exec(c, "db_node", 0, NULL, &res);

	memset(out, 0, sizeof(*out));
	if (err != BB_OK)
		return err;
	snprintf(out->host, sizeof(out->host), "%s", PQhost(c->pg) ? PQhost(c->pg) : "");
	snprintf(out->port, sizeof(out->port), "%s", PQport(c->pg) ? PQport(c->pg) : "");
	out->in_recovery = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	out->has_lag = !PQgetisnull(res, 0, 1);
	out->replay_lag_s = out->has_lag ? strtod(PQgetvalue(res, 0, 1), NULL) : 0;
	out->standbys = bb_strdup(PQgetvalue(res, 0, 2));
	PQclear(res);
	return BB_OK;
}

enum bb_err
db_replay_lag(struct db_conn *c, bool *in_recovery, bool *known, double *lag_s)
{
	PGresult *res;
	enum bb_err err = db_exec_read(c, "db_replay_lag", 0, NULL, &res);

	*in_recovery = *known = false;
	*lag_s = 0;
	if (err != BB_OK)
		return err;
	*in_recovery = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	*known = !PQgetisnull(res, 0, 1);
	*lag_s = *known ? strtod(PQgetvalue(res, 0, 1), NULL) : 0;
	PQclear(res);
	return BB_OK;
}

bool
db_connected(const struct db_conn *c)
{
	return c->pg != NULL;
}

PGconn *
db_pgconn(struct db_conn *c)
{
	return c->pg;
}

char *
db_array_literal(struct bb_arena *a, const char *const *items, size_t n)
{
	struct bb_buf b = { 0 };

	bb_buf_puts(&b, "{");
	for (size_t i = 0; i < n; i++) {
		if (items[i] == NULL) {
			bb_buf_puts(&b, i ? ",NULL" : "NULL");
			continue;
		}
		bb_buf_puts(&b, i ? ",\"" : "\"");
		for (const char *p = items[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				bb_buf_append(&b, "\\", 1);
			bb_buf_append(&b, p, 1);
		}
		bb_buf_puts(&b, "\"");
	}
	bb_buf_puts(&b, "}");
	char *out = bb_arena_strndup(a, b.data, b.len);
	bb_buf_free(&b);
	return out;
}
