/* migrate.c — apply the compiled-in migrations, once each, in order. */
#include "cmd/migrate.h"

#include "biobank.h"
#include "db/db.h"

#include <sodium.h>
#include <string.h>

/* Any constant shared by every biobankd: it names the migration lock. */
static const char *const LOCK_KEY = "4242010001";

static const char *const create_tables =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version text PRIMARY KEY,"
    "  checksum text NOT NULL,"
    "  applied_at timestamptz NOT NULL DEFAULT now());"
    "COMMENT ON TABLE schema_migrations IS 'Migrations applied by biobankd migrate.';"
    "COMMENT ON COLUMN schema_migrations.version IS 'File name of the migration.';"
    "COMMENT ON COLUMN schema_migrations.checksum IS 'SHA-256 of the file as applied; a changed "
    "file is refused.';"
    "COMMENT ON COLUMN schema_migrations.applied_at IS 'When it was applied.';"
    "CREATE TABLE IF NOT EXISTS schema_functions ("
    "  file text PRIMARY KEY,"
    "  checksum text NOT NULL,"
    "  applied_at timestamptz NOT NULL DEFAULT now());"
    "COMMENT ON TABLE schema_functions IS 'Repeatable function files (migrations/functions/) "
    "as last applied by biobankd migrate.';"
    "COMMENT ON COLUMN schema_functions.file IS 'functions/AREA.sql.';"
    "COMMENT ON COLUMN schema_functions.checksum IS 'SHA-256 of the file as last applied; a "
    "different one makes migrate apply the file again.';"
    "COMMENT ON COLUMN schema_functions.applied_at IS 'When it was last applied.';";

/*
 * The landed migrations that 0012_baseline.sql folded, with the checksums
 * every database built from them has recorded. Such a database already holds
 * the baseline's tables; its functions are brought up to date by the
 * repeatable files like any other's.
 */
static const char *const BASELINE = "0012_baseline.sql";
static const struct {
	const char *name, *checksum;
} folded[] = {
	{ "0001_accounts.sql", "c2aceaaf9d704edf1b3d69c8b194f29c4561de0c83d2e0aa08deb4e7cce48611" },
	{ "0002_domain.sql", "2a376ab858ebfa82288e28ecb1f6e79c2b7ba9010f3349fcaf498aa2e6309c23" },
	{ "0003_participants.sql",
	  "beccd685d725c6d021a0bf7393c9d9532a109b3f6a0c39bcbfe787e5abf71bd2" },
	{ "0004_storage.sql", "238e675b00f6255c4019d41231457bf29bbe2137b12ea0315e461aa2ba28e344" },
	{ "0005_labels.sql", "ead7bc03f4cb29b6fa3a7208032ddcb41bb068f3f7ad2a821f2e6aa5e7f3066c" },
	{ "0006_audits.sql", "eb3ab8c906b7110fc318a5e12b304c837f3ff0e18774ad0a88fee688f0322183" },
	{ "0007_shipments.sql",
	  "252b3408b03d08a1657d1c7e051a481ce511e7dfb5a8677eb9c3ddfdc9e58572" },
	{ "0008_reports.sql", "1ac4fe39aca25f1d2e95d32b33abe6fad749597c99e164a5ddd24f965233dbcf" },
	{ "0009_perf.sql", "f05822e4e387b8a8753466f968f08c406dc5dbeac3ec12b3024be82e733a8885" },
	{ "0010_perf.sql", "fad5dfa20f0b51b3ee2d405a8c6507f3ea07ab30f35c87b234dd103f7e6fc5e7" },
	{ "0011_location_path.sql",
	  "de8b6a7c0316a9c74300ef47b189abba8c47b3b47f0223e50f8756ed59211881" },
};
enum { FOLDED_COUNT = sizeof(folded) / sizeof(folded[0]) };

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

/* Record a numbered migration as applied, inside the caller's transaction. */
static bool
record(PGconn *pg, const char *name, const char *sum, FILE *err)
{
	const char *params[] = { name, sum };
	PGresult *res = run(pg, "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
	                    2, params, err);

	PQclear(res);
	return res != NULL;
}

static int
apply(PGconn *pg, const struct migration *m, const char *sum, FILE *out, FILE *err)
{
	if (!exec_ok(pg, "BEGIN", err))
		return 1;
	/* A migration is a fixed script of many statements: the simple protocol runs it whole. */
	if (!exec_ok(pg, m->sql, err)) {
		fprintf(err, "biobankd: migrate: %s failed; nothing of it was applied\n", m->name);
		exec_ok(pg, "ROLLBACK", err);
		return 1;
	}
	if (!record(pg, m->name, sum, err)) {
		exec_ok(pg, "ROLLBACK", err);
		return 1;
	}
	if (!exec_ok(pg, "COMMIT", err))
		return 1;
	fprintf(out, "applied %s\n", m->name);
	return 0;
}

static const struct migration *
find_numbered(const char *name)
{
	for (size_t k = 0; k < migration_count; k++)
		if (strcmp(migrations[k].name, name) == 0)
			return &migrations[k];
	return NULL;
}

static int
find_folded(const char *name)
{
	for (int k = 0; k < FOLDED_COUNT; k++)
		if (strcmp(folded[k].name, name) == 0)
			return k;
	return -1;
}

/* Check every recorded migration against the compiled-in files; count the folded ones. */
static int
check_recorded(PGresult *res, int *folded_seen, bool *baseline_seen, FILE *err)
{
	int problems = 0;

	*folded_seen = 0;
	*baseline_seen = false;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *version = PQgetvalue(res, i, 0), *recorded = PQgetvalue(res, i, 1);
		const struct migration *m = find_numbered(version);
		int f = find_folded(version);
		char sum[65];

		if (m != NULL) {
			checksum(m, sum);
			*baseline_seen |= strcmp(version, BASELINE) == 0;
		} else if (f >= 0) {
			snprintf(sum, sizeof(sum), "%s", folded[f].checksum);
			(*folded_seen)++;
		} else {
			fprintf(err,
			        "biobankd: migrate: the database has migration %s, which this "
			        "biobankd does not know: it is older than the schema\n",
			        version);
			problems++;
			continue;
		}
		if (strcmp(sum, recorded) != 0) {
			fprintf(err,
			        "biobankd: migrate: %s was changed after it was applied "
			        "(checksum %s, applied as %s); add a new migration instead\n",
			        version, sum, recorded);
			problems++;
		}
	}
	return problems;
}

/*
 * A database built from 0001-0011 holds the baseline already: record it
 * without running it. One that stops part way was made by a release older
 * than the last one before the fold, which must bring it to 0011 first.
 */
static int
adopt_folded(PGconn *pg, PGresult *res, FILE *out, FILE *err)
{
	for (int k = 0; k < FOLDED_COUNT; k++) {
		bool seen = false;

		for (int i = 0; i < PQntuples(res) && !seen; i++)
			seen = strcmp(PQgetvalue(res, i, 0), folded[k].name) == 0;
		if (!seen) {
			fprintf(
			    err,
			    "biobankd: migrate: the database lacks migration %s: migrate it to "
			    "0011_location_path.sql with the release before the baseline first\n",
			    folded[k].name);
			return 1;
		}
	}
	const struct migration *m = find_numbered(BASELINE);
	char sum[65];
	checksum(m, sum);
	if (!exec_ok(pg, "BEGIN", err))
		return 1;
	if (!record(pg, BASELINE, sum, err)) {
		exec_ok(pg, "ROLLBACK", err);
		return 1;
	}
	if (!exec_ok(pg, "COMMIT", err))
		return 1;
	fprintf(out, "recognised a database built from 0001-0011: recorded %s without running it\n",
	        BASELINE);
	return 0;
}

/*
 * Every repeatable file whose text changed, in one transaction: either all
 * the new bodies are in force or none. Bodies are not checked against each
 * other while they are created (as pg_dump's output is not), so the files
 * need no order among themselves beyond triggers after their functions.
 */
static int
apply_repeatables(PGconn *pg, FILE *out, FILE *err, int *applied)
{
	PGresult *res = run(pg, "SELECT file, checksum FROM schema_functions", 0, NULL, err);
	bool begun = false;

	if (res == NULL)
		return 1;
	for (size_t k = 0; k < repeatable_count; k++) {
		const struct migration *m = &repeatables[k];
		char sum[65];
		bool same = false;

		checksum(m, sum);
		for (int i = 0; i < PQntuples(res) && !same; i++)
			same = strcmp(PQgetvalue(res, i, 0), m->name) == 0 &&
			       strcmp(PQgetvalue(res, i, 1), sum) == 0;
		if (same)
			continue;
		if (!begun) {
			if (!exec_ok(pg, "BEGIN", err))
				goto fail;
			begun = true;
			if (!exec_ok(pg, "SET LOCAL check_function_bodies = off", err))
				goto fail;
		}
		const char *params[] = { m->name, sum };
		PGresult *rec;
		if (!exec_ok(pg, m->sql, err)) {
			fprintf(err, "biobankd: migrate: %s failed; no function file was applied\n",
			        m->name);
			goto fail;
		}
		rec = run(pg,
		          "INSERT INTO schema_functions (file, checksum) VALUES ($1, $2)"
		          " ON CONFLICT (file) DO UPDATE SET checksum = EXCLUDED.checksum,"
		          " applied_at = now()",
		          2, params, err);
		if (rec == NULL)
			goto fail;
		PQclear(rec);
		fprintf(out, "applied %s\n", m->name);
		(*applied)++;
	}
	PQclear(res);
	return begun && !exec_ok(pg, "COMMIT", err) ? 1 : 0;
fail:
	PQclear(res);
	if (begun)
		exec_ok(pg, "ROLLBACK", err);
	return 1;
}

static int
migrate_locked(PGconn *pg, FILE *out, FILE *err)
{
	PGresult *res;
	int applied = 0, folded_seen;
	bool baseline_seen;

	if (!exec_ok(pg, create_tables, err))
		return 1;
	res = run(pg, "SELECT version, checksum FROM schema_migrations ORDER BY version", 0, NULL,
	          err);
	if (res == NULL)
		return 1;
	/* Check every recorded file first: a changed one stops everything. */
	if (check_recorded(res, &folded_seen, &baseline_seen, err) > 0 ||
	    (folded_seen > 0 && !baseline_seen && adopt_folded(pg, res, out, err) != 0)) {
		PQclear(res);
		return 1;
	}
	for (size_t k = 0; k < migration_count; k++) {
		bool done = folded_seen > 0 && strcmp(migrations[k].name, BASELINE) == 0;
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
	if (apply_repeatables(pg, out, err, &applied) != 0)
		return 1;
	fprintf(out, "schema is up to date (%zu migrations, %zu function files, %d applied now)\n",
	        migration_count, repeatable_count, applied);
	return 0;
}

int
migrate_run(const char *conninfo, FILE *out, FILE *err)
{
	struct db_conn *c;
	const char *params[] = { LOCK_KEY };
	PGresult *res;

	if (db_connect(conninfo, NULL, &c) != BB_OK)
		return 1;
	PGconn *pg = db_pgconn(c);
	/*
	 * The ledger's canonical bytes are UTF-8 and every client speaks UTF-8
	 * (db.c forces client_encoding). A database in another encoding cannot
	 * store what the bench types (a check mark in LATIN1), and version 1 of
	 * the bytes counted its lengths in that encoding: refuse it before
	 * anything is created in it.
	 */
	const char *enc = PQparameterStatus(pg, "server_encoding");
	if (enc == NULL || strcmp(enc, "UTF8") != 0) {
		fprintf(err,
		        "biobankd: migrate: the database %s is encoded in %s; biobankd needs UTF8."
		        " Create it with ENCODING 'UTF8' (createdb -E UTF8 -T template0) and move"
		        " any data into it with pg_dump and pg_restore (docs/operations.md)\n",
		        PQdb(pg), enc ? enc : "an unknown encoding");
		db_disconnect(c);
		return 1;
	}
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
