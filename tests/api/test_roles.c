/*
 * test_roles.c — the daemon's database role (migrations/0016_roles.sql):
 * connected as the daemon is, a direct write to the specimens or the ledger,
 * or switching a guard trigger off, is refused by PostgreSQL itself; what
 * the daemon needs (reads, its functions) is allowed. The rest of the suite
 * runs the daemon as this role and so proves the grants suffice.
 */
#include "world.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

/* Run sql as the daemon's role; its SQLSTATE ("" when it succeeded). */
static void
as_daemon(struct tenv *t, const char *sql, char state[6])
{
	PGconn *c = PQconnectdb(t->conninfo);

	snprintf(state, 6, "%s", "08006");
	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, sql);
		ExecStatusType st = PQresultStatus(r);
		const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);

		snprintf(state, 6, "%s",
		         st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? ""
		         : s                                             ? s
		                                                         : "?????");
		PQclear(r);
	} else {
		tap_diag("cannot connect as the daemon: %s", PQerrorMessage(c));
	}
	PQfinish(c);
}

static void
refused(struct tenv *t, const char *sql, const char *what)
{
	char state[6];

	as_daemon(t, sql, state);
	is_str(state, "42501", "as the daemon's role, %s is refused: permission denied", what);
}

static void
allowed(struct tenv *t, const char *sql, const char *what)
{
	char state[6];

	as_daemon(t, sql, state);
	is_str(state, "", "as the daemon's role, %s is allowed", what);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	char id[16], sql[512];

	tenv_setup(&t, "roles", argc, argv);
	world_make(&t);
	if (!world_register(&t, "MASC", "P001", "serum", id))
		return tap_done();
	struct resp r;
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/store", id);
	api(&t, "POST", path, t.admin_token, "{\"box\":\"BOX-A\",\"position\":\"A1\"}", &r);
	is_int(r.status, 200, "the daemon stores a tube (through its SECURITY DEFINER function)");
	resp_free(&r);

	snprintf(sql, sizeof(sql), "UPDATE specimens SET pos_col = 2 WHERE id = '%s'", id);
	refused(&t, sql, "moving a tube with UPDATE specimens");
	snprintf(sql, sizeof(sql),
	         "UPDATE specimens SET status = 'destroyed', box_id = NULL,"
	         " pos_row = NULL, pos_col = NULL WHERE id = '%s'",
	         id);
	refused(&t, sql, "changing a status with UPDATE specimens");
	snprintf(sql, sizeof(sql),
	         "INSERT INTO events (specimen_id, type, actor, prev_hash, hash)"
	         " VALUES ('%s', 'moved', 'x', decode(repeat('00', 32), 'hex'),"
	         " decode(repeat('00', 32), 'hex'))",
	         id);
	refused(&t, sql, "an INSERT into events");
	refused(&t, "DELETE FROM specimens", "DELETE FROM specimens");
	refused(&t, "ALTER TABLE events DISABLE TRIGGER events_append_only",
	        "disabling the ledger's guard trigger");
	refused(&t, "CREATE TABLE x (a int)", "creating a table");
	refused(&t, "UPDATE users SET role = 'admin'", "changing an account's role");

	snprintf(sql, sizeof(sql), "SELECT status FROM specimens WHERE id = '%s'", id);
	allowed(&t, sql, "reading a specimen");
	allowed(&t, "SELECT bb_position_name(1, 1)", "running an API function");
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM specimens WHERE id = '%s' AND status = 'in_storage'"
	         " AND pos_row = 1 AND pos_col = 1",
	         id);
	is_int(sql_int(&t, sql), 1, "the tube is still where it was stored");

	/*
	 * Every function that writes must run with the owner's rights, or the
	 * daemon could not call it: a new one without SECURITY DEFINER (or
	 * without its search_path) is caught here rather than in production.
	 * Trigger functions run with the rights of the statement that fired them.
	 */
	bool ok_sql;
	char *unsafe = sql_value(
	    &t,
	    "SELECT COALESCE(string_agg(p.proname, ', ' ORDER BY p.proname), '')"
	    "  FROM pg_proc p"
	    " WHERE p.pronamespace = 'public'::regnamespace"
	    "   AND p.prorettype <> 'trigger'::regtype"
	    "   AND p.prosrc ~* '(insert\\s+into|delete\\s+from|update\\s+\\w+(\\s+\\w+)?\\s+set|"
	    "for\\s+(no\\s+key\\s+)?update)'"
	    "   AND NOT (p.prosecdef AND 'search_path=public, pg_temp' = ANY (p.proconfig))",
	    &ok_sql);
	ok(ok_sql && unsafe != NULL && *unsafe == '\0',
	   "every function that writes is SECURITY DEFINER with search_path = public, pg_temp%s%s",
	   unsafe && *unsafe ? ": not " : "", unsafe ? unsafe : "");
	free(unsafe);
	is_int(sql_int(&t, "SELECT count(*) FROM pg_proc p"
	                   " WHERE p.pronamespace = 'public'::regnamespace"
	                   "   AND has_function_privilege('public', p.oid, 'EXECUTE')"),
	       0, "no function of the schema may be run by PUBLIC, only by biobank_app");

	tenv_teardown(&t);
	return tap_done();
}
