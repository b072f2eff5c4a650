/*
 * test_tamper.c — the tamper matrix of issue 15: a superuser with the guard
 * triggers disabled changes history in every way the issue lists, each on a
 * tube of its own, after a checkpoint covering the original was signed and
 * exported. `biobankd verify-ledger --checkpoints DIR --key ledger.pub`
 * must name every case: what was done, which specimen and event, which log
 * index. The cases the hash chains alone miss (the last events deleted with
 * the head fixed, an event forged with a correct chain hash, a chain rewritten
 * consistently, a specimen deleted with its events, a rewrite of the log
 * itself) are caught by the transparency log and the signed checkpoint.
 */
#include "forge.h"
#include "world.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct tenv t;

enum { TUBES = 20 };
static char tubes[TUBES][16];

/* A tube's life: registered, stored, checked out (a reason), returned thawed, moved. */
static void
history(int i)
{
	char body[160];

	snprintf(body, sizeof(body), "{\"box\":\"BOX-A\",\"position\":\"%c%d\"}", 'A' + i / 9,
	         i % 9 + 1);
	world_act_quietly(&t, tubes[i], "store", body);
	world_act_quietly(&t, tubes[i], "checkout", "{\"reason\":\"assay\"}");
	snprintf(body, sizeof(body), "{\"box\":\"BOX-A\",\"position\":\"%c%d\",\"thawed\":true}",
	         'A' + i / 9, i % 9 + 1);
	world_act_quietly(&t, tubes[i], "return", body);
	snprintf(body, sizeof(body), "{\"box\":\"BOX-B\",\"position\":\"%c%d\"}", 'A' + i / 9,
	         i % 9 + 1);
	world_act_quietly(&t, tubes[i], "move", body);
}

/* SQL as the superuser with every trigger of the ledger's tables off, in one transaction. */
static bool tamper(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool
tamper(const char *fmt, ...)
{
	char sql[4096], body[3500];
	va_list ap;
	bool ok_sql;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	snprintf(sql, sizeof(sql),
	         "BEGIN; ALTER TABLE events DISABLE TRIGGER USER;"
	         " ALTER TABLE log_nodes DISABLE TRIGGER USER; %s;"
	         " ALTER TABLE events ENABLE TRIGGER USER;"
	         " ALTER TABLE log_nodes ENABLE TRIGGER USER; COMMIT",
	         body);
	free(sql_value(&t, sql, &ok_sql));
	return ok_sql;
}

static long
index_of(const char *id, int seq)
{
	char sql[160];

	snprintf(sql, sizeof(sql),
	         "SELECT idx FROM log_entries WHERE specimen_id = '%.15s' AND seq = %d", id, seq);
	return sql_int(&t, sql);
}

struct expect {
	const char *what;
	int tube, seq;
	const char *reason;
	long index; /* the log index the finding names; -1: none asked */
};

/* Does verify-ledger's output name this case: its specimen and event, reason and index? */
static bool
named(const char *out, const struct expect *e)
{
	char head[64], idx[48];

	snprintf(head, sizeof(head), "specimen %s event %d", tubes[e->tube], e->seq);
	snprintf(idx, sizeof(idx), "(log index %ld)", e->index);
	for (const char *p = out; (p = strstr(p, head)) != NULL; p++) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char line[600];

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		char reason[40];
		snprintf(reason, sizeof(reason), ": %s (", e->reason);
		if (strstr(line, reason) != NULL && (e->index < 0 || strstr(line, idx) != NULL))
			return true;
	}
	return false;
}

static int
verify(const char *export_dir, const char *pub, char **out)
{
	char dburl[700];
	const char *argv[] = { t.biobankd, "verify-ledger", "--checkpoints",
		               export_dir, "--key",         pub,
		               NULL };

	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t.conninfo);
	const char *env[] = { dburl, NULL };
	return run_cmd(argv, env, NULL, out);
}

int
main(int argc, char **argv)
{
	char dir[64], key_flag[128], dir_flag[128], export_dir[96], pub[96], *out = NULL;

	tenv_setup(&t, "tamper", argc, argv);
	world_make(&t);
	snprintf(dir, sizeof(dir), "/tmp/bb-tamper-XXXXXX");
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	snprintf(export_dir, sizeof(export_dir), "%s/export", dir);
	mkdir(export_dir, 0755);
	snprintf(pub, sizeof(pub), "%s/ledger.pub", dir);
	const char *keygen[] = { t.biobankd, "keygen",        "--out", dir,
		                 "--origin", "tamper/ledger", NULL };
	if (run_cmd(keygen, NULL, NULL, NULL) != 0)
		tap_bail("keygen");
	snprintf(key_flag, sizeof(key_flag), "--ledger-key=%s/ledger.key", dir);
	snprintf(dir_flag, sizeof(dir_flag), "--checkpoint-dir=%s", export_dir);
	const char *opts[] = { key_flag, dir_flag, "--checkpoint-interval=0", NULL };
	daemon_stop(&t.d);
	if (daemon_start(&t, &t.d, opts) != 0)
		tap_bail("daemon");

	for (int i = 0; i < TUBES; i++) {
		if (!world_register(&t, "MASC", i % 2 ? "P001" : "P002", "serum", tubes[i]))
			tap_bail("register");
		history(i);
	}
	ok(log_sequenced(&t, 15000), "%d tubes, 5 events each, all in the log", TUBES);
	char dburl[700];
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t.conninfo);
	const char *env[] = { dburl, NULL };
	const char *checkpoint[] = { t.biobankd, "checkpoint", key_flag, dir_flag, NULL };
	is_int(run_cmd(checkpoint, env, NULL, &out), 0,
	       "a checkpoint covering the original is signed and exported");
	free(out);
	is_int(verify(export_dir, pub, &out), 0, "the untouched ledger verifies against it");
	if (out && strstr(out, "ledger OK") == NULL)
		tap_diag("%s", out);
	/* The checkpoint twice: as kept in the database and as exported. */
	ok(out && strstr(out, "100 log entries hold, against 2 checkpoints") != NULL,
	   "  every log entry, against the checkpoint kept and the one exported (%s)",
	   out ? strtok(out, "\n") : "");
	free(out);

	/* The indexes of the events the cases touch, as they were. */
	long idx[TUBES][6];
	for (int i = 0; i < TUBES; i++)
		for (int s = 1; s <= 5; s++)
			idx[i][s] = index_of(tubes[i], s);

	/*
	 * The log rewritten along with a chain first, alone: the chain is
	 * consistent again, the stored leaves and nodes are recomputed from the
	 * rewritten events, so only the signed checkpoint shows it.
	 */
	ok(tamper(FORGE_CHAIN_AND_LOG, tubes[0], tubes[0], tubes[0]),
	   "case 0: a chain rewritten consistently, and the log's leaves and nodes with it");
	is_int(verify(export_dir, pub, &out), 1, "  verify-ledger fails");
	char want[120];
	snprintf(want, sizeof(want),
	         "log (log index 0): rewritten (the events of log entries 0 to 99");
	ok(out != NULL && strstr(out, want) != NULL && strstr(out, "specimen ") == NULL,
	   "  only the checkpoint tells: entries 0 to 99 no longer give its root");
	if (out == NULL || strstr(out, want) == NULL)
		tap_diag("%s", out ? out : "");
	free(out);

	/* Then every other case, each on a tube of its own. */
	const char *fields[][2] = {
		{ "type", "'consumed'" },  { "actor", "'mallory'" },
		{ "from_box", "'BOX-X'" }, { "from_pos", "'Z9'" },
		{ "to_box", "'BOX-X'" },   { "to_pos", "'Z9'" },
		{ "reason", "'routine'" }, { "details", "'{\"thawed\": false}'" },
	};
	struct expect cases[40];
	int n = 0;
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		int tube = 1 + (int)f;
		/* The field set on the event that has one: the move has both boxes, the
		 * checkout a reason, the return its details. */
		int seq = strcmp(fields[f][0], "reason") == 0    ? 3
		          : strcmp(fields[f][0], "details") == 0 ? 4
		                                                 : 5;
		ok(tamper("UPDATE events SET %s = %s WHERE specimen_id = '%s' AND seq = %d",
		          fields[f][0], fields[f][1], tubes[tube], seq),
		   "case %d: %s of an event changed", tube, fields[f][0]);
		cases[n++] = (struct expect){ fields[f][0], tube, seq, "changed", -1 };
		cases[n++] = (struct expect){ fields[f][0], tube, seq, "changed", idx[tube][seq] };
	}
	ok(tamper("UPDATE events SET reason = '' WHERE specimen_id = '%s' AND seq = 2", tubes[9]),
	   "case 9: no reason made ''");
	cases[n++] = (struct expect){ "NULL -> ''", 9, 2, "changed", idx[9][2] };
	ok(tamper("UPDATE events SET reason = NULL WHERE specimen_id = '%s' AND seq = 3",
	          tubes[10]),
	   "case 10: a reason made NULL");
	cases[n++] = (struct expect){ "'' -> NULL", 10, 3, "changed", idx[10][3] };
	ok(tamper(
	       "UPDATE events SET at = at - interval '1 day' WHERE specimen_id = '%s' AND seq = 3",
	       tubes[11]),
	   "case 11: an event backdated a day");
	cases[n++] = (struct expect){ "backdated", 11, 3, "changed", idx[11][3] };
	ok(tamper("DELETE FROM events WHERE specimen_id = '%s' AND seq = 3", tubes[12]),
	   "case 12: a middle event deleted");
	cases[n++] = (struct expect){ "middle deleted", 12, 3, "missing", -1 };
	cases[n++] = (struct expect){ "middle deleted", 12, 3, "deleted", idx[12][3] };
	/* The last event deleted, the head and the tube put back where event 4 left it. */
	ok(tamper("DELETE FROM events WHERE specimen_id = '%s' AND seq = 5;"
	          " UPDATE specimens s SET ledger_seq = 4, ledger_head = e.hash,"
	          "  box_id = (SELECT id FROM boxes WHERE barcode = e.to_box)"
	          "  FROM events e WHERE s.id = '%s' AND e.specimen_id = s.id AND e.seq = 4",
	          tubes[13], tubes[13]),
	   "case 13: the last event deleted, the specimen's head and place fixed to match");
	cases[n++] = (struct expect){ "last deleted", 13, 5, "deleted", idx[13][5] };
	ok(tamper("UPDATE events SET seq = 100 WHERE specimen_id = '%s' AND seq = 3;"
	          " UPDATE events SET seq = 3 WHERE specimen_id = '%s' AND seq = 4;"
	          " UPDATE events SET seq = 4 WHERE specimen_id = '%s' AND seq = 100",
	          tubes[14], tubes[14], tubes[14]),
	   "case 14: events 3 and 4 swapped");
	cases[n++] = (struct expect){ "swapped", 14, 3, "reordered", -1 };
	cases[n++] = (struct expect){ "swapped", 14, 3, "changed", idx[14][3] };
	/* Forged: the chain trigger numbers and hashes it as for any event; only the
	 * log's queue is off. */
	ok(sql_int(&t, "SELECT 1") == 1 &&
	       tamper("ALTER TABLE events ENABLE TRIGGER events_chain;"
	              " INSERT INTO events (specimen_id, type, actor, reason) VALUES ('%s',"
	              " 'label_printed', 'admin', 'forged')",
	              tubes[15]),
	   "case 15: an event forged with a correctly computed chain hash and head");
	cases[n++] = (struct expect){ "forged", 15, 6, "unlogged", -1 };
	/* Rewritten consistently: a new reason and every hash after it, and the head. */
	ok(tamper(
	       "UPDATE events SET reason = 'routine' WHERE specimen_id = '%s' AND seq = 3;"
	       " DO $$ DECLARE e events; prev bytea;"
	       " BEGIN FOR e IN SELECT * FROM events WHERE specimen_id = '%s' ORDER BY seq LOOP"
	       "  IF e.seq > 1 THEN UPDATE events SET prev_hash = prev WHERE specimen_id ="
	       "   e.specimen_id AND seq = e.seq; e.prev_hash := prev; END IF;"
	       "  prev := bb_event_digest_v2(e.specimen_id, e.seq, e.type, e.at, e.actor,"
	       "   e.from_box, e.from_pos, e.to_box, e.to_pos, e.reason, e.details, e.prev_hash);"
	       "  UPDATE events SET hash = prev WHERE specimen_id = e.specimen_id AND seq = e.seq;"
	       " END LOOP; UPDATE specimens SET ledger_head = prev WHERE id = '%s'; END $$",
	       tubes[16], tubes[16], tubes[16]),
	   "case 16: a whole chain rewritten consistently (new reason, every hash, the head)");
	cases[n++] = (struct expect){ "rewritten chain", 16, 3, "changed", idx[16][3] };
	cases[n++] = (struct expect){ "rewritten chain", 16, 4, "changed", idx[16][4] };
	ok(tamper("DELETE FROM events WHERE specimen_id = '%s';"
	          " DELETE FROM specimens WHERE id = '%s'",
	          tubes[17], tubes[17]),
	   "case 17: a specimen deleted with all its events");
	for (int s = 1; s <= 5; s++)
		cases[n++] = (struct expect){ "specimen deleted", 17, s, "deleted", idx[17][s] };
	ok(tamper("UPDATE specimens SET pos_col = 9 WHERE id = '%s'", tubes[18]),
	   "case 18: a tube moved (its row) without an event");
	cases[n++] = (struct expect){ "moved without an event", 18, 5, "diverged", -1 };

	is_int(verify(export_dir, pub, &out), 1, "verify-ledger --checkpoints DIR fails");
	int caught = 0;
	for (int i = 0; i < n; i++) {
		bool found = out != NULL && named(out, &cases[i]);

		caught += found;
		if (!found)
			tap_diag("not named: %s: specimen %s event %d %s (index %ld)",
			         cases[i].what, tubes[cases[i].tube], cases[i].seq, cases[i].reason,
			         cases[i].index);
	}
	is_int(caught, n,
	       "every case is named: what, which specimen and event, which log index "
	       "(%d findings)",
	       n);
	ok(out != NULL && strstr(out, tubes[19]) == NULL, "  and the untouched tube is not named");
	if (caught != n)
		tap_diag("%s", out ? out : "");
	free(out);

	/* The API says the same. */
	struct resp r;
	api(&t, "GET", "/api/v1/ledger/verify", t.admin_token, NULL, &r);
	bool listed = false;
	const cJSON *b;
	cJSON_ArrayForEach(b, cJSON_GetObjectItem(r.json, "broken"))
	{
		const cJSON *s = cJSON_GetObjectItem(b, "specimen");
		listed = listed ||
		         (cJSON_IsString(s) && strcmp(s->valuestring, tubes[15]) == 0 &&
		          strcmp(cJSON_GetObjectItem(b, "reason")->valuestring, "unlogged") == 0);
	}
	ok(r.status == 200 && cJSON_IsFalse(cJSON_GetObjectItem(r.json, "ok")) && listed,
	   "GET /api/v1/ledger/verify names them too (the forged event as unlogged)");
	const cJSON *check = cJSON_GetObjectItem(r.json, "check");
	ok(cJSON_IsString(check) && strcmp(check->valuestring, "summed, then detailed") == 0,
	   "  found by the check by sums, named by the event-by-event one");
	resp_free(&r);

	tenv_teardown(&t);
	char rm[120];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm) != 0)
		tap_diag("cannot remove %s", dir);
	return tap_done();
}
