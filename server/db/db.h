/*
 * db.h — PostgreSQL access: a pool with one connection per worker thread,
 * named statements prepared on every (re)connect, and a transaction runner
 * that retries serialization failures and deadlocks.
 */
#ifndef SRV_DB_H
#define SRV_DB_H

#include "biobank.h"

#include <libpq-fe.h>

struct db_pool;
struct db_conn;

/* A named statement; the name is the C function's that runs it. */
struct db_stmt {
	const char *name;
	const char *sql;
};

/*
 * Open a pool of size connections for conninfo (NULL: libpq's PG*
 * variables). Connections are made lazily, so the daemon starts while the
 * database is down. sets is a NULL-terminated list of statement lists (each
 * ended by a NULL name), every module's that the program runs; they are
 * prepared on every (re)connect and must outlive the pool. The pool is freed
 * with db_pool_close().
 */
struct db_pool *db_pool_open(const char *conninfo, unsigned size,
                             const struct db_stmt *const *sets);
/*
 * The same for a pool that only reads (reports_database, http/readpool.h):
 * every transaction on its connections is read-only
 * (default_transaction_read_only), so that a write sent there by mistake
 * fails rather than lands on a primary it reached.
 */
struct db_pool *db_pool_open_reader(const char *conninfo, unsigned size,
                                    const struct db_stmt *const *sets);
void db_pool_close(struct db_pool *pool);

/*
 * A pooled connection given back longer than ms ago is checked before its
 * next use (one poll: did the server close it?); one in steady use is not,
 * and is found closed on use instead (db_exec_read). 0: check every time.
 * The default is 1000 (database_idle_check).
 */
void db_pool_idle_check(struct db_pool *pool, unsigned ms);

/* Connections handed out now, and the pool's size (for /metrics). */
void db_pool_usage(struct db_pool *pool, unsigned *in_use, unsigned *size);

/*
 * Take a connection, (re)connecting and preparing as needed. Returns
 * BB_EDBDOWN quickly when the database cannot be reached. The caller gives
 * it back with db_release() on every path.
 */
enum bb_err db_acquire(struct db_pool *pool, struct db_conn **out);
void db_release(struct db_pool *pool, struct db_conn *c);

/*
 * Run a prepared statement with text parameters (NULL for SQL NULL).
 * On BB_OK *res holds the result (caller PQclear()s; may pass NULL to
 * discard). Errors: BB_EDBDOWN (connection lost), BB_ERETRY (40001,
 * 40P01), BB_ECONFLICT (23505 unique, 23P01 exclusion, BB409 raised by a
 * function), BB_ENOTFOUND (BB404), BB_EINVAL (BB400, class 22, 23502/23503/
 * 23514), BB_EINTERNAL (anything else, logged). The message of the last
 * error is kept on the connection for the reply.
 */
enum bb_err db_exec(struct db_conn *c, const char *stmt, int nparams, const char *const *params,
                    PGresult **res);

/*
 * The same for a statement that only reads, sent outside a transaction (or
 * the first of one that only reads): if the server had closed the
 * connection (a restart, a terminated backend, a failover), the statement
 * is sent once more on a new connection rather than failed. db_exec never
 * does that: a write whose connection was lost may have committed. BEGIN
 * (db_begin, db_txn) is sent again the same way.
 */
enum bb_err db_exec_read(struct db_conn *c, const char *stmt, int nparams,
                         const char *const *params, PGresult **res);

/* The same with every column of the result in binary (PostgreSQL's send format: integers
 * big-endian, bytea as its bytes, timestamptz as microseconds since 2000-01-01 UTC,
 * text as its bytes followed, as every value libpq returns, by a zero byte): for a
 * reader of millions of rows, which then neither hex-decodes nor parses numbers. */
enum bb_err db_exec_binary(struct db_conn *c, const char *stmt, int nparams,
                           const char *const *params, PGresult **res);

/*
 * A statement that only reads, its rows taken one at a time (libpq's
 * single-row mode) so that an answer of any size is never whole in memory:
 * fn(arg, res) is called with each row, as a result holding that row
 * alone, then once with the result of no row that ends them (its columns
 * are the rows', so an empty answer still has its column names). fn
 * returns BB_OK to go on; any other value stops: the statement is
 * cancelled, what the server still sends is dropped, and that value is
 * returned. Errors as db_exec_read's, and sent again the same way, but only
 * while fn has seen no row. A failure after some rows (the statement's, or
 * the connection lost) is returned as any failure: what fn was given is
 * not the answer. On every return the connection is ready for its next
 * statement, or closed (BB_EDBDOWN).
 */
typedef enum bb_err (*db_row_fn)(void *arg, const PGresult *res);
enum bb_err db_exec_rows(struct db_conn *c, const char *stmt, int nparams,
                         const char *const *params, db_row_fn fn, void *arg);

/* Record r's error as the connection's last (state, message, diagnostics),
 * log it when it is our bug, and map it; frees r. For results read other
 * than through db_exec (a streamed query). */
enum bb_err db_result_error(struct db_conn *c, const char *stmt, PGresult *r);

/*
 * Lift the per-statement timeout (statement_timeout on every connection,
 * connect_pg) for the rest of the caller's transaction: 0 means none. For the
 * statements whose work grows with the whole database (verify-ledger,
 * exports, reports), which a busy day's per-request limit would kill.
 */
enum bb_err db_long_statements(struct db_conn *c, unsigned timeout_ms);

/* Record a failure found by the caller in what the database sent (no SQLSTATE) as the
 * connection's last error, for db_error_message; returns err. */
enum bb_err db_fail(struct db_conn *c, enum bb_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The last error's SQLSTATE and primary message ("" when none). */
const char *db_error_state(const struct db_conn *c);
const char *db_error_message(const struct db_conn *c);

/*
 * The last error's other diagnostic fields ("" or NULL when the error had
 * none): what our functions raise as data (bb_fail in
 * migrations/functions/common.sql: the field at fault as COLUMN, {"code",
 * facts} as JSON in DETAIL) and the constraint PostgreSQL names. Owned by
 * the connection, valid until its next statement.
 */
struct db_diag {
	char column[256];
	char constraint[128];
	char *detail;
};
const struct db_diag *db_error_diag(const struct db_conn *c);

/*
 * Run fn in one transaction (BEGIN ... COMMIT), retrying the whole of it
 * a bounded number of times, with random back-off, when fn or COMMIT
 * returns BB_ERETRY; fn must therefore be safe to run again (start from
 * its inputs, not from what an earlier run left). Inside an open
 * transaction fn simply runs: the outermost runner owns the retries.
 * With implicit, no BEGIN/COMMIT is sent: fn must send exactly one
 * statement (PostgreSQL runs it atomically), which saves two round trips.
 */
typedef enum bb_err (*db_txn_fn)(struct db_conn *c, void *arg);
enum bb_err db_txn(struct db_conn *c, db_txn_fn fn, void *arg);
enum bb_err db_txn_implicit(struct db_conn *c, db_txn_fn fn, void *arg);
/* One prepared statement as the whole unit of work (db_txn_implicit, retried
 * like any): its answer in *res for the caller to clear, NULL on failure. */
enum bb_err db_exec_retried(struct db_conn *c, const char *stmt, int nparams,
                            const char *const *params, PGresult **res);

/*
 * True when a statement since the last BEGIN failed with 40001 or 40P01:
 * the transaction is lost and only running it again can succeed. An outer
 * fn reads it after inner code that answered the failure itself.
 */
bool db_txn_retryable(const struct db_conn *c);

/* Begin and end an explicit transaction that spans several db_txn calls. */
enum bb_err db_begin(struct db_conn *c);
enum bb_err db_commit(struct db_conn *c);
void db_rollback(struct db_conn *c);
bool db_in_txn(const struct db_conn *c);

/* A PostgreSQL array literal of n strings, quoted (a NULL item is SQL NULL), allocated from a. */
char *db_array_literal(struct bb_arena *a, const char *const *items, size_t n);

/* A new connection outside any pool (migrate, CLI tools), with sets prepared as
 * db_pool_open's; NULL: nothing prepared, not even the transaction runner's. */
enum bb_err db_connect(const char *conninfo, const struct db_stmt *const *sets,
                       struct db_conn **out);
/* The same without a word on standard error, for a thread that retries: why it failed is
 * copied into why. */
enum bb_err db_connect_quiet(const char *conninfo, const struct db_stmt *const *sets,
                             struct db_conn **out, char *why, size_t why_len);
void db_disconnect(struct db_conn *c);
PGconn *db_pgconn(struct db_conn *c);

/*
 * The server a connection is on: the host and port libpq chose (of a
 * multi-host URL), whether it is a standby and, if so, how far behind its
 * last replayed transaction is; a primary's standbys as a JSON array
 * (standbys, the caller frees).
 */
struct db_node_info {
	char host[256];
	char port[16];
	bool in_recovery;
	bool has_lag;
	double replay_lag_s;
	char *standbys;
};
enum bb_err db_node(struct db_conn *c, struct db_node_info *out);

/*
 * Whether the connection's server is a standby and, if so, how many seconds
 * behind its primary (0 when it has replayed all it received while
 * streaming); *known false when that cannot be told (nothing replayed since
 * it started while behind).
 */
enum bb_err db_replay_lag(struct db_conn *c, bool *in_recovery, bool *known, double *lag_s);

/* False once the connection was lost (the server went away under a statement). */
bool db_connected(const struct db_conn *c);

#endif
