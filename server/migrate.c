/* migrate.c — apply the compiled-in migrations, once each, in order. */
#include "migrate.h"

#include "biobank.h"
#include "db.h"

#include <sodium.h>
#include <string.h>

/* Any constant shared by every biobankd: it names the migration lock. */
static const char *const LOCK_KEY = "4242010001";

static const char *const create_table =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version text PRIMARY KEY,"
    "  checksum text NOT NULL,"
    "  applied_at timestamptz NOT NULL DEFAULT now());"
    "COMMENT ON TABLE schema_migrations IS 'Migrations applied by biobankd migrate.';"
    "COMMENT ON COLUMN schema_migrations.version IS 'File name of the migration.';"
    "COMMENT ON COLUMN schema_migrations.checksum IS 'SHA-256 of the file as applied; a changed "
    "file is refused.';"
    "COMMENT ON COLUMN schema_migrations.applied_at IS 'When it was applied.';";

static void
checksum(const struct migration *m, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)m->sql, m->len);
	bb_hex_encode(out, h, sizeof(h));
}

/* Run SQL with parameters outside the prepared-statement set (the schema may not exist yet). */
static PGresult *
run(PGconn *pg, const char *sql, int n, const char *const *params, FILE *err)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(err, "biobankd: migrate: %s", PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	return res;
}

static bool
exec_ok(PGconn *pg, const char *sql, FILE *err)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(err, "biobankd: migrate: %s", PQresultErrorMessage(res));
		PQclear(res);
		return false;
	}
	PQclear(res);
	return true;
}

static int
apply(PGconn *pg, const struct migration *m, const char *sum, FILE *out, FILE *err)
{
	const char *params[] = { m->name, sum };
	PGresult *res;

	if (!exec_ok(pg, "BEGIN", err))
		return 1;
	/* A migration is a fixed script of many statements: the simple protocol runs it whole. */
	if (!exec_ok(pg, m->sql, err)) {
		fprintf(err, "biobankd: migrate: %s failed; nothing of it was applied\n", m->name);
		exec_ok(pg, "ROLLBACK", err);
		return 1;
	}
	res = run(pg, "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)", 2,
	          params, err);
	if (res == NULL) {
		exec_ok(pg, "ROLLBACK", err);
		return 1;
	}
	PQclear(res);
	if (!exec_ok(pg, "COMMIT", err))
		return 1;
	fprintf(out, "applied %s\n", m->name);
	return 0;
}

static int
migrate_locked(PGconn *pg, FILE *out, FILE *err)
{
	PGresult *res;
	int applied = 0;

	if (!exec_ok(pg, create_table, err))
		return 1;
	res = run(pg, "SELECT version, checksum FROM schema_migrations ORDER BY version", 0, NULL,
	          err);
	if (res == NULL)
		return 1;
	/* Check every recorded file first: a changed one stops everything. */
	int problems = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *version = PQgetvalue(res, i, 0);
		size_t k;

		for (k = 0; k < migration_count; k++)
			if (strcmp(migrations[k].name, version) == 0)
				break;
		if (k == migration_count) {
			fprintf(err,
			        "biobankd: migrate: the database has migration %s, which this "
			        "biobankd does not know: it is older than the schema\n",
			        version);
			problems++;
			continue;
		}
		char sum[65];
		checksum(&migrations[k], sum);
		if (strcmp(sum, PQgetvalue(res, i, 1)) != 0) {
			fprintf(err,
			        "biobankd: migrate: %s was changed after it was applied "
			        "(checksum %s, applied as %s); add a new migration instead\n",
			        version, sum, PQgetvalue(res, i, 1));
			problems++;
		}
	}
	if (problems > 0) {
		PQclear(res);
		return 1;
	}
	for (size_t k = 0; k < migration_count; k++) {
		bool done = false;
		char sum[65];

		for (int i = 0; i < PQntuples(res) && !done; i++)
			done = strcmp(PQgetvalue(res, i, 0), migrations[k].name) == 0;
		if (done)
			continue;
		checksum(&migrations[k], sum);
		if (apply(pg, &migrations[k], sum, out, err) != 0) {
			PQclear(res);
			return 1;
		}
		applied++;
	}
	PQclear(res);
	fprintf(out, "schema is up to date (%zu migrations, %d applied now)\n", migration_count,
	        applied);
	return 0;
}

int
migrate_run(const char *conninfo, FILE *out, FILE *err)
{
	struct db_conn *c;
	const char *params[] = { LOCK_KEY };
	PGresult *res;

	if (db_connect(conninfo, false, &c) != BB_OK)
		return 1;
	PGconn *pg = db_pgconn(c);
	/* Quiet the NOTICEs of IF NOT EXISTS on every run. */
	if (!exec_ok(pg, "SET client_min_messages = warning", err)) {
		db_disconnect(c);
		return 1;
	}
	if ((res = run(pg, "SELECT pg_advisory_lock($1::bigint)", 1, params, err)) == NULL) {
		db_disconnect(c);
		return 1;
	}
	PQclear(res);
	int rc = migrate_locked(pg, out, err);
	if ((res = run(pg, "SELECT pg_advisory_unlock($1::bigint)", 1, params, err)) != NULL)
		PQclear(res);
	db_disconnect(c);
	return rc;
}
