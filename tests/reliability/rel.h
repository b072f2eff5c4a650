/*
 * rel.h — what the reliability tests share on top of the API test library:
 * clocks, counting rows, checking the database's invariants after a storm
 * (one place per tube, one event per success, every chain verifies).
 */
#ifndef BB_TEST_REL_H
#define BB_TEST_REL_H

#include "../api/world.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

__attribute__((unused)) static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((unused)) static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The first value of a query as an integer, -1 when it failed. */
__attribute__((unused)) static long
count_sql(struct tenv *t, const char *sql)
{
	bool ok_sql;
	char *v = sql_value(t, sql, &ok_sql);
	long n = ok_sql && v != NULL ? atol(v) : -1;

	free(v);
	return n;
}

/* biobankd verify-ledger on the test database: its exit status. */
__attribute__((unused)) static int
verify_ledger(struct tenv *t)
{
	char dburl[600], *out = NULL;
	const char *env[2] = { dburl, NULL };
	const char *argv[] = { t->biobankd, "verify-ledger", NULL };

	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t->conninfo);
	int rc = run_cmd(argv, env, NULL, &out);
	if (rc != 0)
		tap_diag("verify-ledger: %s", out ? out : "");
	free(out);
	return rc;
}

/*
 * The invariants that must hold whatever happened to the requests: no
 * position holds two tubes, a stored tube has a place and any other tube
 * none, and each specimen's chain head counts its events.
 */
__attribute__((unused)) static void
check_invariants(struct tenv *t, const char *when)
{
	is_int(count_sql(t, "SELECT count(*) FROM (SELECT 1 FROM specimens WHERE box_id IS NOT NULL"
	                    " GROUP BY box_id, pos_row, pos_col HAVING count(*) > 1) x"),
	       0, "%s: no position holds two specimens", when);
	is_int(count_sql(t,
	                 "SELECT count(*) FROM specimens WHERE (status = 'in_storage') <>"
	                 " (box_id IS NOT NULL AND pos_row IS NOT NULL AND pos_col IS NOT NULL)"),
	       0, "%s: every stored tube has one place and no other tube has one", when);
	is_int(count_sql(t, "SELECT count(*) FROM specimens s WHERE s.ledger_seq <>"
	                    " (SELECT count(*) FROM events e WHERE e.specimen_id = s.id)"),
	       0, "%s: every chain's head matches its events", when);
	is_int(count_sql(t, "SELECT count(*) FROM specimens s WHERE s.status::text <> (SELECT CASE"
	                    " e.type WHEN 'stored' THEN 'in_storage' WHEN 'moved' THEN 'in_storage'"
	                    " WHEN 'returned' THEN 'in_storage' WHEN 'found' THEN 'in_storage'"
	                    " WHEN 'registered' THEN 'registered' ELSE e.type END FROM events e"
	                    " WHERE e.specimen_id = s.id ORDER BY e.seq DESC LIMIT 1)"),
	       0, "%s: every tube's status is what its last event says", when);
	is_int(verify_ledger(t), 0, "%s: biobankd verify-ledger: every chain verifies", when);
}

#endif
