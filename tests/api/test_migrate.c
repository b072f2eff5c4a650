/* test_migrate.c — migrations: idempotent, safe when run twice at once, changed files refused. */
#include "testlib.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int
migrate(struct tenv *t, const char *conninfo, char **out)
{
	char dburl[600];
	const char *argv[] = { t->biobankd, "migrate", NULL };

	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", conninfo);
	const char *env[] = { dburl, NULL };
	return run_cmd(argv, env, NULL, out);
}

struct racer {
	struct tenv *t;
	const char *conninfo;
	int rc;
	char *out;
};

static void *
race(void *arg)
{
	struct racer *r = arg;

	r->rc = migrate(r->t, r->conninfo, &r->out);
	return NULL;
}

static bool
super_sql(const char *conninfo, const char *sql)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r = PQexec(c, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	PQclear(r);
	PQfinish(c);
	return ok;
}

int
main(int argc, char **argv)
{
	struct tenv t;
	char *out = NULL, *v;
	bool ok_sql;

	tenv_setup(&t, "migrate", argc, argv);

	is_int(migrate(&t, t.owner_conninfo, &out), 0, "migrating an up-to-date database succeeds");
	ok(out != NULL && strstr(out, "0 applied now") != NULL, "  and applies nothing (%s)",
	   out ? strtok(out, "\n") : "");
	free(out);

	v = sql_value(&t, "SELECT count(*) FROM schema_migrations", &ok_sql);
	ok(v != NULL && atoi(v) >= 1, "schema_migrations records every migration");
	free(v);

	v = sql_value(
	    &t,
	    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	    " WHERE n.nspname = 'public' AND c.relkind = 'r'"
	    "   AND obj_description(c.oid, 'pg_class') IS NULL",
	    &ok_sql);
	is_str(v, "0", "every table has a COMMENT");
	free(v);
	v = sql_value(&t,
	              "SELECT string_agg(c.relname || '.' || a.attname, ', ')"
	              "  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
	              "  JOIN pg_namespace n ON n.oid = c.relnamespace"
	              " WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0"
	              "   AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL",
	              &ok_sql);
	ok(ok_sql && v == NULL, "every column has a COMMENT%s%s", v ? ": missing on " : "",
	   v ? v : "");
	free(v);

	/* Two migrators at once on an empty database: the advisory lock serializes them. */
	const char *pg = getenv("BIOBANK_TEST_PG");
	char admin[600], fresh[600], sql[200];
	snprintf(admin, sizeof(admin), "%s dbname=postgres", pg);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s_2 OWNER biobank", t.dbname);
	ok(super_sql(admin, sql), "a second, empty database");
	snprintf(fresh, sizeof(fresh), "%s dbname=%s_2 user=biobank", pg, t.dbname);
	struct racer a = { &t, fresh, -1, NULL }, b = { &t, fresh, -1, NULL };
	pthread_t ta, tb;
	pthread_create(&ta, NULL, race, &a);
	pthread_create(&tb, NULL, race, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ok(a.rc == 0 && b.rc == 0, "two concurrent migrations both succeed");
	if (a.rc != 0 || b.rc != 0)
		tap_diag("%s\n%s", a.out, b.out);
	ok((strstr(a.out, "applied now") != NULL) && (strstr(b.out, "applied now") != NULL) &&
	       ((strstr(a.out, " 0 applied now") != NULL) !=
	        (strstr(b.out, " 0 applied now") != NULL)),
	   "  one applied everything, the other found nothing to do");
	free(a.out);
	free(b.out);
	char fresh_super[600];
	snprintf(fresh_super, sizeof(fresh_super), "%s dbname=%s_2", pg, t.dbname);
	PGconn *c = PQconnectdb(fresh_super);
	PGresult *r = PQexec(c, "SELECT count(*), count(DISTINCT version) FROM schema_migrations");
	ok(PQresultStatus(r) == PGRES_TUPLES_OK &&
	       strcmp(PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1)) == 0,
	   "  each migration is recorded once");
	PQclear(r);

	/* A landed migration whose file changed is refused, and nothing is applied. */
	r = PQexec(c, "SELECT checksum FROM schema_migrations WHERE version = '0012_baseline.sql'");
	char baseline_sum[65] = "";
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		snprintf(baseline_sum, sizeof(baseline_sum), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	r = PQexec(c, "UPDATE schema_migrations SET checksum = repeat('0', 64)"
	              " WHERE version = '0012_baseline.sql'");
	PQclear(r);
	is_int(migrate(&t, fresh, &out), 1, "a changed migration makes migrate fail");
	ok(out != NULL && strstr(out, "0012_baseline.sql was changed after it was applied") != NULL,
	   "  with a message naming the file");
	free(out);
	const char *restore[] = { baseline_sum };
	r = PQexecParams(c,
	                 "UPDATE schema_migrations SET checksum = $1"
	                 " WHERE version = '0012_baseline.sql'",
	                 1, NULL, restore, NULL, NULL, 0);
	PQclear(r);

	/*
	 * A release that changes a function file: the maintainer edited
	 * functions/common.sql and functions/reports.sql (shown here by their
	 * recorded checksums no longer matching), and the database still runs the
	 * old bodies (shown by a broken bb_rfc3339). Migrate applies exactly the
	 * changed files, in one transaction.
	 */
	ok(super_sql(fresh_super,
	             "UPDATE schema_functions SET checksum = repeat('0', 64)"
	             " WHERE file IN ('functions/common.sql', 'functions/reports.sql');"
	             "CREATE OR REPLACE FUNCTION bb_rfc3339(t timestamptz) RETURNS text"
	             " LANGUAGE sql STABLE AS $$ SELECT 'old body' $$;"
	             /* A function of the same name with another return type: the
	              * new file cannot replace it, so its transaction fails. */
	             "DROP FUNCTION bb_fhir_status(text, boolean) CASCADE;"
	             "CREATE FUNCTION bb_fhir_status(status text, consent_withdrawn boolean)"
	             " RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;"),
	   "two function files changed; one of them cannot be applied");
	is_int(migrate(&t, fresh, &out), 1, "migrate fails");
	ok(out != NULL && strstr(out, "functions/reports.sql failed") != NULL,
	   "  naming the file that failed");
	free(out);
	r = PQexec(c, "SELECT bb_rfc3339('2026-03-01 09:30:00+00'),"
	              " (SELECT count(*) FROM schema_functions WHERE checksum = repeat('0', 64))");
	ok(PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "old body") == 0 &&
	       strcmp(PQgetvalue(r, 0, 1), "2") == 0,
	   "  and applied neither file: the other one's bodies and checksum are the old ones");
	PQclear(r);
	ok(super_sql(fresh_super, "DROP FUNCTION bb_fhir_status(text, boolean) CASCADE"),
	   "the obstacle removed");
	is_int(migrate(&t, fresh, &out), 0, "migrate succeeds");
	ok(out != NULL && strstr(out, "applied functions/common.sql") != NULL &&
	       strstr(out, "applied functions/reports.sql") != NULL &&
	       strstr(out, "applied functions/specimens.sql") == NULL &&
	       strstr(out, " 2 applied now"),
	   "  applying the two changed files and no other");
	free(out);
	r = PQexec(
	    c, "SELECT bb_rfc3339('2026-03-01 09:30:00+00'), bb_fhir_status('in_storage', false)");
	ok(PQresultStatus(r) == PGRES_TUPLES_OK &&
	       strcmp(PQgetvalue(r, 0, 0), "2026-03-01T09:30:00Z") == 0 &&
	       strcmp(PQgetvalue(r, 0, 1), "available") == 0,
	   "  and their current bodies are in force");
	PQclear(r);

	/* A database that stops part way through 0001-0011 cannot be adopted. */
	ok(super_sql(
	       fresh_super,
	       "DELETE FROM schema_migrations;"
	       "INSERT INTO schema_migrations (version, checksum) VALUES ('0001_accounts.sql',"
	       " 'c2aceaaf9d704edf1b3d69c8b194f29c4561de0c83d2e0aa08deb4e7cce48611')"),
	   "a database that records only 0001_accounts.sql");
	is_int(migrate(&t, fresh, &out), 1, "migrate refuses it");
	ok(out != NULL && strstr(out, "lacks migration 0002_domain.sql") != NULL,
	   "  saying which landed migration it lacks");
	free(out);

	PQfinish(c);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s_2 WITH (FORCE)", t.dbname);
	super_sql(admin, sql);

	/*
	 * A LATIN1 database (issue 15): PostgreSQL counted a field's length in
	 * LATIN1 bytes and hashed its UTF-8 bytes, so an untouched event with
	 * "für" in its reason verified as changed. Migrate refuses such a
	 * database before it creates anything in it, and says what to do.
	 */
	snprintf(sql, sizeof(sql),
	         "CREATE DATABASE %s_latin1 OWNER biobank ENCODING 'LATIN1' LC_COLLATE 'C'"
	         " LC_CTYPE 'C' TEMPLATE template0",
	         t.dbname);
	ok(super_sql(admin, sql), "a database in LATIN1");
	char latin1[600], latin1_super[600];
	snprintf(latin1, sizeof(latin1), "%s dbname=%s_latin1 user=biobank", pg, t.dbname);
	snprintf(latin1_super, sizeof(latin1_super), "%s dbname=%s_latin1", pg, t.dbname);
	is_int(migrate(&t, latin1, &out), 1, "migrate refuses a database that is not UTF8");
	ok(out != NULL && strstr(out, "LATIN1") != NULL && strstr(out, "UTF8") != NULL,
	   "  naming its encoding and the one it needs (%s)", out ? strtok(out, "\n") : "");
	free(out);
	c = PQconnectdb(latin1_super);
	r = PQexec(c, "SELECT count(*) FROM pg_class c JOIN pg_namespace n"
	              " ON n.oid = c.relnamespace WHERE n.nspname = 'public'");
	ok(PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "0") == 0,
	   "  and creates nothing in it");
	PQclear(r);
	PQfinish(c);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s_latin1 WITH (FORCE)", t.dbname);
	super_sql(admin, sql);

	/* A database that cannot be reached: a clear error, exit 1. */
	is_int(migrate(&t, "host=/nonexistent port=1 dbname=x connect_timeout=2", &out), 1,
	       "migrate without a database exits 1");
	ok(out != NULL && strstr(out, "cannot connect to the database") != NULL,
	   "  saying it cannot connect");
	free(out);

	tenv_teardown(&t);
	return tap_done();
}
