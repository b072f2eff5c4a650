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

	is_int(migrate(&t, t.conninfo, &out), 0, "migrating an up-to-date database succeeds");
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
	r = PQexec(c, "UPDATE schema_migrations SET checksum = repeat('0', 64)"
	              " WHERE version = '0001_accounts.sql'");
	PQclear(r);
	r = PQexec(c, "DELETE FROM schema_migrations WHERE version <> '0001_accounts.sql'"
	              " AND version = (SELECT max(version) FROM schema_migrations)");
	PQclear(r);
	is_int(migrate(&t, fresh, &out), 1, "a changed migration makes migrate fail");
	ok(out != NULL && strstr(out, "0001_accounts.sql was changed after it was applied") != NULL,
	   "  with a message naming the file");
	free(out);
	PQfinish(c);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s_2 WITH (FORCE)", t.dbname);
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
