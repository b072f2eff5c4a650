/*
 * test_ledger.c — tamper evidence: a superuser who disables the guard and
 * changes, deletes or reorders events is caught by verify-ledger, which
 * names the specimen and the event.
 */
#include "world.h"

#include <stdlib.h>
#include <string.h>

static char ids[5][16];

static void
history(struct tenv *t, const char *id)
{
	static const char *const actions[] = { "store", "checkout", "return", "move" };
	static int slot;
	char pos[8], body[160], path[128];

	for (size_t i = 0; i < 4; i++) {
		struct resp r;

		snprintf(pos, sizeof(pos), "%c%d", 'A' + slot / 9, slot % 9 + 1);
		slot++;
		if (i == 1)
			snprintf(body, sizeof(body), "{\"reason\":\"assay\"}");
		else
			snprintf(body, sizeof(body), "{\"box\":\"%s\",\"position\":\"%s\"%s}",
			         i == 3 ? "BOX-B" : "BOX-A", pos, i == 2 ? ",\"thawed\":true" : "");
		snprintf(path, sizeof(path), "/api/v1/specimens/%s/%s", id, actions[i]);
		api(t, "POST", path, t->admin_token, body, &r);
		if (r.status != 200)
			tap_diag("%s %s: %ld %s", id, actions[i], r.status, r.body);
		resp_free(&r);
	}
}

/* verify-ledger's exit status and output, connected with conninfo; the caller frees out. */
static int
verify_as(struct tenv *t, const char *conninfo, char **out)
{
	char dburl[760];
	const char *argv[] = { t->biobankd, "verify-ledger", NULL };

	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", conninfo);
	const char *env[] = { dburl, NULL };
	return run_cmd(argv, env, NULL, out);
}

/* verify-ledger's exit status and output, as the daemon's role. */
static int
verify(struct tenv *t, char **out)
{
	char dburl[600];
	const char *argv[] = { t->biobankd, "verify-ledger", NULL };

	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t->conninfo);
	const char *env[] = { dburl, NULL };
	return run_cmd(argv, env, NULL, out);
}

/* Run SQL as superuser with the guard off, then put the guard back. */
static bool
tamper(struct tenv *t, const char *sql)
{
	char buf[1024];
	bool ok_sql;

	snprintf(buf, sizeof(buf),
	         "BEGIN; ALTER TABLE events DISABLE TRIGGER events_append_only; %s;"
	         " ALTER TABLE events ENABLE TRIGGER events_append_only; COMMIT",
	         sql);
	free(sql_value(t, buf, &ok_sql));
	return ok_sql;
}

static void
expect_caught(struct tenv *t, const char *what, const char *id, int seq, const char *reason)
{
	char *out = NULL, want[64];
	struct resp r;

	is_int(verify(t, &out), 1, "%s: verify-ledger exits 1", what);
	snprintf(want, sizeof(want), "specimen %s event %d", id, seq);
	const char *line = out ? strstr(out, want) : NULL;
	ok(line != NULL, "  naming %s", want);
	if (line == NULL)
		tap_diag("%s", out ? out : "");
	ok(line != NULL && strstr(line, reason) != NULL &&
	       strchr(line, '\n') > strstr(line, reason),
	   "  as %s", *reason ? reason : "broken");
	free(out);

	api(t, "GET", "/api/v1/ledger/verify", t->admin_token, NULL, &r);
	ok(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "ok")), "  the API says ok: false");
	ok(jstr(&r, "first_bad.specimen") != NULL && jnum(&r, "first_bad.seq", 0) > 0,
	   "  with first_bad naming a specimen and an event");
	bool listed = false;
	const cJSON *b;
	cJSON_ArrayForEach(b, cJSON_GetObjectItem(r.json, "broken"))
	{
		listed =
		    listed || (strcmp(cJSON_GetObjectItem(b, "specimen")->valuestring, id) == 0 &&
		               cJSON_GetObjectItem(b, "seq")->valueint == seq);
	}
	ok(listed, "  and listing %s event %d among the broken chains", id, seq);
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	char sql[512], *out = NULL;
	bool ok_sql;

	tenv_setup(&t, "ledger", argc, argv);
	world_make(&t);
	for (int i = 0; i < 4; i++) {
		if (!world_register(&t, "MASC", "P001", "serum", ids[i]))
			return tap_done();
		history(&t, ids[i]);
	}
	is_int(verify(&t, &out), 0, "an untouched ledger verifies");
	ok(out && strstr(out, "4 specimens, 20 events") != NULL,
	   "  all 4 specimens and 20 events (%s)", out ? strtok(out, "\n") : "");
	free(out);

	/*
	 * Text beyond ASCII whatever encoding a client asks for (issue 15): the
	 * daemon and verify-ledger force UTF8 on their connections, so
	 * PGCLIENTENCODING=LATIN1 in their environment neither garbles what is
	 * stored nor makes an untouched event verify as changed.
	 */
	static const char reason[] = "f\xc3\xbcr die Probe \xe2\x80\xa6 \xe2\x9c\x93";
	struct daemon latin = { 0 };
	setenv("PGCLIENTENCODING", "LATIN1", 1);
	int started = daemon_start(&t, &latin, NULL);
	unsetenv("PGCLIENTENCODING");
	ok(started == 0, "a daemon started with PGCLIENTENCODING=LATIN1");
	if (!world_register(&t, "MASC", "P001", "serum", ids[4]))
		return tap_done();
	char body[160], path[96];
	struct resp cr;
	snprintf(body, sizeof(body), "{\"box\":\"BOX-B\",\"position\":\"I9\",\"reason\":\"%s\"}",
	         reason);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/store", ids[4]);
	http(latin.url, "POST", path, t.admin_token, NULL, body, strlen(body), &cr);
	is_int(cr.status, 200, "  stores a tube with a reason in German and a check mark");
	resp_free(&cr);
	snprintf(sql, sizeof(sql), "SELECT reason FROM events WHERE specimen_id = '%s' AND seq = 2",
	         ids[4]);
	char *stored = sql_value(&t, sql, &ok_sql);
	is_str(stored, reason, "  the reason is stored as it was sent");
	free(stored);
	daemon_stop(&latin);
	char dburl[600];
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t.conninfo);
	const char *latin_env[] = { dburl, "PGCLIENTENCODING=LATIN1", NULL };
	const char *verify_argv[] = { t.biobankd, "verify-ledger", NULL };
	is_int(run_cmd(verify_argv, latin_env, NULL, &out), 0,
	       "verify-ledger with PGCLIENTENCODING=LATIN1 finds the ledger untouched");
	if (out && strstr(out, "ledger OK") == NULL)
		tap_diag("%s", out);
	free(out);

	/*
	 * The scan reads the whole ledger in one statement: the per-statement
	 * timeout must not cut it. A row-security policy on specimens (the
	 * daemon's role is not the owner, so it applies) makes every scan of the
	 * table wait 0.8 s once; with a timeout of 300 ms on the connection,
	 * verify-ledger still finishes.
	 */
	ok(sql_int(&t, "CREATE FUNCTION test_gate() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN"
	               " IF current_setting('test.slept', true) IS DISTINCT FROM 'y' THEN"
	               "  PERFORM set_config('test.slept', 'y', true); PERFORM pg_sleep(0.8);"
	               " END IF; RETURN true; END $$;"
	               " CREATE POLICY test_gate ON specimens USING (test_gate());"
	               " ALTER TABLE specimens ENABLE ROW LEVEL SECURITY; SELECT 0") == 0,
	   "reading specimens is made to take 0.8 s");
	char short_timeout[700];
	snprintf(short_timeout, sizeof(short_timeout), "%s options='-c statement_timeout=300'",
	         t.conninfo);
	is_int(verify_as(&t, short_timeout, &out), 0,
	       "verify-ledger outlasts a statement timeout of 300 ms: it lifts it for its scan");
	if (out && strstr(out, "ledger OK") == NULL)
		tap_diag("%s", out);
	free(out);

	/* A failed scan is reported with PostgreSQL's reason, not a bare "internal error:". */
	ok(sql_int(&t, "CREATE OR REPLACE FUNCTION test_gate() RETURNS boolean LANGUAGE plpgsql"
	               " AS $$ BEGIN RAISE EXCEPTION 'specimens refused for the test'; END $$;"
	               " SELECT 0") == 0,
	   "reading specimens is made to fail");
	is_int(verify(&t, &out), 2, "verify-ledger cannot check the ledger: exit status 2");
	ok(out && strstr(out, "specimens refused for the test") != NULL, "  and says why (%s)",
	   out ? strtok(out, "\n") : "");
	free(out);
	struct resp vr;
	api(&t, "GET", "/api/v1/ledger/verify", t.admin_token, NULL, &vr);
	ok(vr.status == 500 && strstr(vr.body, "refused for the test") == NULL,
	   "  the API answers 500 without PostgreSQL's text");
	resp_free(&vr);
	free(sql_value(&t,
	               "ALTER TABLE specimens DISABLE ROW LEVEL SECURITY;"
	               " DROP POLICY test_gate ON specimens; DROP FUNCTION test_gate()",
	               &ok_sql));
	ok(ok_sql, "reading specimens restored");

	/*
	 * A tube moved by a direct UPDATE (the owner may; the guards are on the
	 * events) leaves every hash intact: the replay of its events says where
	 * it should be, and the row says otherwise.
	 */
	snprintf(sql, sizeof(sql), "UPDATE specimens SET pos_col = 9 WHERE id = '%s'", ids[1]);
	free(sql_value(&t, sql, &ok_sql));
	ok(ok_sql, "a superuser moves a tube with UPDATE specimens, writing no event");
	expect_caught(&t, "a tube moved without an event", ids[1], 5, "diverged");
	snprintf(sql, sizeof(sql),
	         "UPDATE specimens SET status = 'destroyed', box_id = NULL,"
	         " pos_row = NULL, pos_col = NULL WHERE id = '%s'",
	         ids[1]);
	free(sql_value(&t, sql, &ok_sql));
	expect_caught(&t, "a tube destroyed without an event", ids[1], 5, "diverged");
	snprintf(sql, sizeof(sql),
	         "UPDATE specimens SET status = 'in_storage', box_id = b.id, pos_row = 1,"
	         " pos_col = 8 FROM boxes b WHERE b.barcode = 'BOX-B' AND specimens.id = '%s'",
	         ids[1]);
	free(sql_value(&t, sql, &ok_sql));
	is_int(verify(&t, &out), 0, "put back where its events say, it verifies again");
	free(out);

	/* (a) a changed detail */
	snprintf(sql, sizeof(sql),
	         "UPDATE events SET reason = 'routine' WHERE specimen_id = '%s' AND seq = 3",
	         ids[1]);
	ok(tamper(&t, sql), "a superuser rewrites the reason of an event");
	expect_caught(&t, "a changed event", ids[1], 3, "changed");
	snprintf(sql, sizeof(sql),
	         "UPDATE events SET reason = 'assay' WHERE specimen_id = '%s' AND seq = 3", ids[1]);
	tamper(&t, sql);
	is_int(verify(&t, &out), 0, "restoring the text makes it verify again");
	free(out);

	/*
	 * NULL is not the empty string (issue 15): version 1 of the canonical
	 * bytes wrote both as "0:;", so this change verified. Events written
	 * now are version 2, which tells them apart.
	 */
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM events WHERE specimen_id = '%s' AND seq = 1"
	         " AND reason IS NULL AND format = 2",
	         ids[4]);
	is_int(sql_int(&t, sql), 1, "a new event is of format 2, and this one has no reason");
	snprintf(sql, sizeof(sql),
	         "UPDATE events SET reason = '' WHERE specimen_id = '%s' AND seq = 1", ids[4]);
	ok(tamper(&t, sql), "a superuser gives it an empty reason instead of none");
	expect_caught(&t, "NULL changed to ''", ids[4], 1, "changed");
	snprintf(sql, sizeof(sql),
	         "UPDATE events SET reason = NULL WHERE specimen_id = '%s' AND seq = 1", ids[4]);
	tamper(&t, sql);
	is_int(verify(&t, &out), 0, "back to none, it verifies again");
	free(out);

	/* (b) an event deleted from the middle of a chain */
	snprintf(sql, sizeof(sql), "DELETE FROM events WHERE specimen_id = '%s' AND seq = 2",
	         ids[2]);
	ok(tamper(&t, sql), "a superuser deletes the second event of a chain");
	expect_caught(&t, "a deleted event", ids[2], 2, "missing");
	snprintf(sql, sizeof(sql),
	         "UPDATE events SET seq = seq - 1 WHERE specimen_id = '%s' AND seq > 2", ids[2]);
	tamper(&t, sql);
	expect_caught(&t, "a deletion closed up by renumbering", ids[2], 2, "");

	/* (c) two events swapped */
	snprintf(sql, sizeof(sql),
	         "UPDATE events SET seq = 100 WHERE specimen_id = '%s' AND seq = 3;"
	         " UPDATE events SET seq = 3 WHERE specimen_id = '%s' AND seq = 4;"
	         " UPDATE events SET seq = 4 WHERE specimen_id = '%s' AND seq = 100",
	         ids[0], ids[0], ids[0]);
	ok(tamper(&t, sql), "a superuser swaps events 3 and 4 of a chain");
	expect_caught(&t, "swapped events", ids[0], 3, "reordered");

	/* (d) the last event removed: the chain alone looks whole, its head does not. */
	snprintf(sql, sizeof(sql), "DELETE FROM events WHERE specimen_id = '%s' AND seq = 5",
	         ids[3]);
	ok(tamper(&t, sql), "a superuser deletes the last event of a chain");
	expect_caught(&t, "a truncated chain", ids[3], 5, "missing");

	tenv_teardown(&t);
	return tap_done();
}
