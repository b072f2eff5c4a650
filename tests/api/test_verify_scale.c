/*
 * test_verify_scale.c — verify-ledger at scale (issue 15, "Scale"): the
 * ledger read in chunks over several connections that share one snapshot,
 * and the incremental verify from the last verify recorded good.
 *
 * The chunks are made tiny here (two specimens, four log entries) so that
 * every boundary is crossed: a chunked verify must name exactly what the
 * single-connection, single-chunk one names, with tampering placed on both
 * sides of a specimen boundary and of a log boundary, entries deleted
 * across one, and a signed checkpoint ending on one. The incremental verify
 * must say nothing on a clean log, name a changed new event and an event
 * inserted behind the log's back, and — as documented — miss an old event
 * changed since the last full verify, which the full verify then names.
 */
#include "forge.h"
#include "world.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct tenv t;
static int slot; /* next free position in BOX-A / BOX-B */

/* A tube's life, five events: registered, stored, checked out, returned thawed, moved. */
static bool
tube(char id[16])
{
	char body[160];
	int s = slot++;

	if (!world_register(&t, "MASC", s % 2 ? "P001" : "P002", "serum", id))
		return false;
	snprintf(body, sizeof(body), "{\"box\":\"BOX-A\",\"position\":\"%c%d\"}", 'A' + s / 9,
	         s % 9 + 1);
	world_act_quietly(&t, id, "store", body);
	world_act_quietly(&t, id, "checkout", "{\"reason\":\"assay\"}");
	snprintf(body, sizeof(body), "{\"box\":\"BOX-A\",\"position\":\"%c%d\",\"thawed\":true}",
	         'A' + s / 9, s % 9 + 1);
	world_act_quietly(&t, id, "return", body);
	snprintf(body, sizeof(body), "{\"box\":\"BOX-B\",\"position\":\"%c%d\"}", 'A' + s / 9,
	         s % 9 + 1);
	world_act_quietly(&t, id, "move", body);
	return true;
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
	         " ALTER TABLE log_entries DISABLE TRIGGER USER;"
	         " ALTER TABLE log_nodes DISABLE TRIGGER USER; %s;"
	         " ALTER TABLE events ENABLE TRIGGER USER;"
	         " ALTER TABLE log_entries ENABLE TRIGGER USER;"
	         " ALTER TABLE log_nodes ENABLE TRIGGER USER; COMMIT",
	         body);
	free(sql_value(&t, sql, &ok_sql));
	return ok_sql;
}

/* verify-ledger with the flags given (NULL-terminated), as the daemon's role. */
static int
verify(char **out, ...)
{
	const char *argv[16] = { t.biobankd, "verify-ledger" };
	char dburl[600];
	va_list ap;
	int n = 2;

	va_start(ap, out);
	for (const char *a; n < 15 && (a = va_arg(ap, const char *)) != NULL;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t.conninfo);
	const char *env[] = { dburl, NULL };
	return run_cmd(argv, env, NULL, out);
}

/* Does out hold a line naming specimen id event seq as reason (and index, unless < 0)? */
static bool
named(const char *out, const char *id, int seq, const char *reason, long index)
{
	char head[64], why[48], idx[48];

	snprintf(head, sizeof(head), "specimen %s event %d", id, seq);
	snprintf(why, sizeof(why), ": %s (", reason);
	snprintf(idx, sizeof(idx), "(log index %ld)", index);
	for (const char *p = out; p != NULL && (p = strstr(p, head)) != NULL; p++) {
		const char *end = strchr(p, '\n');
		char line[600];

		snprintf(line, sizeof(line), "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
		if (strstr(line, why) != NULL && (index < 0 || strstr(line, idx) != NULL))
			return true;
	}
	return false;
}

static long
index_of(const char *id, int seq)
{
	return sql_intf(&t, "SELECT idx FROM log_entries WHERE specimen_id = '%s' AND seq = %d", id,
	                seq);
}

/* The specimen at position n (from 0) in ID order, as the chunks cut them. */
static void
nth_specimen(long n, char id[16])
{
	char sql[160];
	bool ok_sql;

	snprintf(sql, sizeof(sql), "SELECT id FROM specimens ORDER BY id OFFSET %ld LIMIT 1", n);
	char *v = sql_value(&t, sql, &ok_sql);
	snprintf(id, 16, "%s", v ? v : "");
	free(v);
}

/* The first line of out, for comparing two reports. */
static void
first_line(const char *out, char *line, size_t len)
{
	const char *p = out ? strstr(out, "ledger ") : NULL;
	const char *end = p ? strchr(p, '\n') : NULL;

	snprintf(line, len, "%.*s", p ? (int)(end ? end - p : (long)strlen(p)) : 0, p ? p : "");
}

/* The report without the line about recording (only the single run may record). */
static char *
findings(const char *out)
{
	char *copy = strdup(out ? out : "");
	char *rec = strstr(copy, "recorded as good");
	if (rec != NULL)
		*rec = '\0';
	return copy;
}

/*
 * A write while a chunked verify runs: every chunk reads the snapshot the
 * verify took, so the new event is not seen, and nothing is reported
 * broken. bb_position_name, which the chains' chunks call for each row, is
 * made to sleep meanwhile so that the verify takes seconds; the tube moved is
 * the one with the largest ID, in the last chunk, read after the write.
 */
static void
write_during_verify(void)
{
	char out_path[] = "/tmp/bb-vscale-XXXXXX", last[16], dburl[600];
	long events = sql_int(&t, "SELECT count(*) FROM events");
	long specimens = sql_int(&t, "SELECT count(*) FROM specimens");
	int fd = mkstemp(out_path);
	bool ok_sql;

	if (fd < 0)
		tap_bail("mkstemp");
	nth_specimen(specimens - 1, last);
	char *def = sql_value(
	    &t, "SELECT pg_get_functiondef('bb_position_name(integer, integer)'::regprocedure)",
	    &ok_sql);
	free(sql_value(&t,
	               "CREATE OR REPLACE FUNCTION bb_position_name(r integer, c integer)"
	               " RETURNS text LANGUAGE plpgsql VOLATILE AS $$ BEGIN"
	               " PERFORM pg_sleep(0.1); RETURN chr(64 + r) || c; END $$",
	               &ok_sql));
	ok(ok_sql && def != NULL, "(each chain row made to take 0.1 s)");
	snprintf(dburl, sizeof(dburl), "%s", t.conninfo);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		setenv("BIOBANK_DATABASE_URL", dburl, 1);
		execl(t.biobankd, t.biobankd, "verify-ledger", "--jobs", "3", "--chunk-specimens",
		      "2", "--chunk-entries", "4", "--no-record", (char *)NULL);
		_exit(127);
	}
	bool reading = false;
	for (long long end = mono_ms() + 15000; !reading && mono_ms() < end; msleep(10))
		reading = sql_int(&t, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
		                      " AND query LIKE '%bb_position_name(s.pos_row%'"
		                      " AND pid <> pg_backend_pid()") > 0;
	ok(reading, "a chunked verify over 3 connections reads the chains");
	world_act_quietly(&t, last, "checkout", "{\"reason\":\"assay\"}");
	int status = 0;
	ok(waitpid(pid, &status, WNOHANG) == 0,
	   "  meanwhile tube %s, in its last chunk, is checked out (a new event)", last);
	waitpid(pid, &status, 0);
	free(sql_value(&t, def ? def : "SELECT 1", &ok_sql));
	free(def);
	char buf[4096] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(out_path);
	char want[160];
	snprintf(want, sizeof(want), "ledger OK: %ld specimens, %ld events,", specimens, events);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(buf, want) != NULL,
	   "  it reports the state of its snapshot, whole: %s", want);
	if (strstr(buf, want) == NULL)
		tap_diag("%s", buf);
	ok(log_sequenced(&t, 15000), "  and the new event is logged");
}

int
main(int argc, char **argv)
{
	char ids[16][16], *out = NULL, *single = NULL, *chunked = NULL, line1[400], line2[400];
	char dir[64], key_flag[128], dir_flag[128], export_dir[96];

	tenv_setup(&t, "verify_scale", argc, argv);
	world_make(&t);
	snprintf(dir, sizeof(dir), "/tmp/bb-vscale-XXXXXX");
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	snprintf(export_dir, sizeof(export_dir), "%s/export", dir);
	mkdir(export_dir, 0755);
	const char *keygen[] = { t.biobankd, "keygen",       "--out", dir,
		                 "--origin", "scale/ledger", NULL };
	if (run_cmd(keygen, NULL, NULL, NULL) != 0)
		tap_bail("keygen");
	snprintf(key_flag, sizeof(key_flag), "--ledger-key=%s/ledger.key", dir);
	snprintf(dir_flag, sizeof(dir_flag), "--checkpoint-dir=%s", export_dir);
	const char *opts[] = { key_flag, dir_flag, "--checkpoint-interval=0", NULL };
	daemon_stop(&t.d);
	if (daemon_start(&t, &t.d, opts) != 0)
		tap_bail("daemon");

	/* The options a site mistypes. */
	is_int(verify(&out, "--jobs", "0", NULL), 2, "--jobs 0 is refused (exit 2)");
	ok(out && strstr(out, "--jobs: a number from 1 to 64, not \"0\""), "  saying why");
	free(out);
	is_int(verify(&out, "--jobs", "two", NULL), 2, "--jobs two is refused");
	free(out);
	is_int(verify(&out, "--chunk-entries", "6", NULL), 2, "--chunk-entries 6 is refused");
	ok(out && strstr(out, "a power of two"), "  it must be a power of two");
	free(out);
	is_int(verify(&out, "--incremental", NULL), 2,
	       "--incremental before any verify found the ledger good: exit 2");
	ok(out && strstr(out, "run a full verify-ledger first"), "  saying to run a full one");
	free(out);

	for (int i = 0; i < 8; i++)
		if (!tube(ids[i]))
			tap_bail("tube");
	ok(log_sequenced(&t, 15000), "8 tubes, 5 events each, all in the log");

	/* Clean: one chunk on one connection, and tiny chunks over three, agree. */
	is_int(verify(&single, "--jobs", "1", "--no-record", NULL), 0,
	       "the clean ledger verifies on one connection");
	is_int(
	    verify(&chunked, "--jobs", "3", "--chunk-specimens", "2", "--chunk-entries", "4", NULL),
	    0, "and in chunks of 2 specimens and 4 entries over 3 connections");
	first_line(single, line1, sizeof(line1));
	first_line(chunked, line2, sizeof(line2));
	is_str(line2, line1, "  with the same report");
	ok(single && strstr(single, "checked by sums: each event and log entry read once"),
	   "  checked by sums (each event and each log entry read once)");
	free(single);
	is_int(verify(&single, "--detailed", "--jobs", "2", "--no-record", NULL), 0,
	       "--detailed (every event's log entry looked up) verifies it too");
	first_line(single, line2, sizeof(line2));
	is_str(line2, line1, "  with the same report");
	ok(single && strstr(single, "checked event by event"),
	   "  saying it checked event by event");
	ok(chunked && strstr(chunked, "recorded as good: verification"),
	   "  which is recorded as the incremental verify's starting point");
	ok(sql_int(&t, "SELECT count(*) FROM ledger_verifications WHERE kind = 'full'") == 1,
	   "  (one row in ledger_verifications; --no-record left none)");
	free(single);
	free(chunked);

	/* Two entries' events swapped, each leaf left in place: every chain is whole and each
	 * entry still names an event, so only the sums (or a lookup of each) tell. */
	long ia = index_of(ids[0], 2), ib = index_of(ids[1], 2);
#define SWAP                                                                                       \
	"UPDATE log_entries SET seq = -seq WHERE idx IN (%ld, %ld);"                               \
	" UPDATE log_entries SET specimen_id = CASE idx WHEN %ld THEN '%s'"                        \
	" ELSE '%s' END, seq = 2 WHERE idx IN (%ld, %ld)"
	ok(tamper(SWAP, ia, ib, ia, ids[1], ids[0], ia, ib),
	   "two log entries made to name each other's event (index %ld and %ld)", ia, ib);
	is_int(verify(&out, "--jobs", "2", "--no-record", NULL), 1, "  the verify exits 1");
	ok(out && strstr(out, "the check by sums found the ledger changed"),
	   "  the check by sums found it");
	ok(named(out, ids[1], 2, "changed", ia) && named(out, ids[0], 2, "changed", ib),
	   "  and the event-by-event check names both entries");
	if (out == NULL || !named(out, ids[1], 2, "changed", ia))
		tap_diag("%s", out ? out : "");
	free(out);
	ok(tamper(SWAP, ia, ib, ia, ids[0], ids[1], ia, ib), "  (swapped back)");
	is_int(verify(&out, "--no-record", NULL), 0, "  and the ledger verifies again");
	free(out);

	write_during_verify();

	/* Incremental: new events, nothing wrong. */
	for (int i = 8; i < 10; i++)
		if (!tube(ids[i]))
			tap_bail("tube");
	ok(log_sequenced(&t, 15000), "2 more tubes logged");
	char dburl[700], pub[96];
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t.conninfo);
	snprintf(pub, sizeof(pub), "%s/ledger.pub", dir);
	const char *env[] = { dburl, NULL };
	const char *checkpoint[] = { t.biobankd, "checkpoint", key_flag, dir_flag, NULL };
	is_int(run_cmd(checkpoint, env, NULL, &out), 0, "and a checkpoint signed over them");
	free(out);
	long added = sql_int(&t, "SELECT size FROM log_state") -
	             sql_int(&t, "SELECT size FROM ledger_verifications ORDER BY id DESC LIMIT 1");
	/* With the specimens' statistics, the incremental verify reads the chains on two
	 * connections, cut at the middle of the IDs' histogram. */
	ok(tamper("ANALYZE specimens") &&
	       sql_int(&t, "SELECT (histogram_bounds IS NOT NULL)::int FROM pg_stats"
	                   " WHERE tablename = 'specimens' AND attname = 'id'") == 1,
	   "the specimens analyzed: the incremental verify cuts the chains in two");
	is_int(verify(&out, "--incremental", "--jobs", "2", "--chunk-entries", "4", "--key", pub,
	              NULL),
	       0, "--incremental on a clean log exits 0 (reading it 4 entries at a time)");
	char want[120];
	snprintf(want, sizeof(want), "%ld new log entries hold", added);
	ok(out && strstr(out, "ledger OK since log size") && strstr(out, want),
	   "  checking the entries since the last full verify (%s), nothing broken", want);
	if (out == NULL || strstr(out, want) == NULL)
		tap_diag("%s", out ? out : "");
	ok(out && strstr(out, "BROKEN") == NULL && strstr(out, "against 1 checkpoints"),
	   "  and reports nothing, against the checkpoint signed since");
	ok(out && strstr(out, "checked by sums"), "  checked by sums");
	free(out);
	ok(sql_int(&t, "SELECT (kind = 'incremental' AND checkpoint_note IS NOT NULL"
	               " AND size = (SELECT size FROM log_checkpoints))::int"
	               " FROM ledger_verifications ORDER BY id DESC LIMIT 1") == 1,
	   "  and records that checkpoint as the next starting point");

	/* A new event changed; an event inserted behind the log's back; an old one changed. */
	if (!tube(ids[10]) || !log_sequenced(&t, 15000))
		tap_bail("tube");
	long new_idx = index_of(ids[10], 3);
	ok(tamper("UPDATE events SET reason = 'routine' WHERE specimen_id = '%s' AND seq = 3",
	          ids[10]),
	   "a new event's reason changed");
	ok(tamper("ALTER TABLE events ENABLE TRIGGER events_chain;"
	          " INSERT INTO events (specimen_id, type, actor, reason) VALUES ('%s',"
	          " 'label_printed', 'admin', 'forged')",
	          ids[1]),
	   "an event inserted into an old tube's chain behind the log's back");
	long old_idx = index_of(ids[2], 3);
	ok(tamper("UPDATE events SET reason = 'routine' WHERE specimen_id = '%s' AND seq = 3",
	          ids[2]),
	   "an old event's reason changed (before the last verify's checkpoint)");
	is_int(verify(&out, "--incremental", "--jobs", "2", "--chunk-entries", "4", "--key", pub,
	              NULL),
	       1, "--incremental (from that checkpoint) exits 1");
	ok(out && strstr(out, "the check by sums found the ledger changed"),
	   "  the check by sums found it, the event-by-event check names it:");
	ok(named(out, ids[10], 3, "changed", -1) && named(out, ids[10], 3, "changed", new_idx),
	   "  naming the changed new event, in its chain and in the log (index %ld)", new_idx);
	ok(named(out, ids[1], 6, "unlogged", -1), "  naming the event inserted behind the log");
	ok(out && strstr(out, ids[2]) == NULL,
	   "  and not the old event: that is what the full verify is for");
	if (out && strstr(out, ids[2]) != NULL)
		tap_diag("%s", out);
	if (!named(out, ids[10], 3, "changed", new_idx) || !named(out, ids[1], 6, "unlogged", -1))
		tap_diag("%s", out ? out : "");
	free(out);
	is_int(verify(&out, "--jobs", "2", NULL), 1, "the full verify exits 1");
	ok(named(out, ids[2], 3, "changed", -1) && named(out, ids[2], 3, "changed", old_idx),
	   "  naming the old event too");
	free(out);
	ok(sql_int(&t, "SELECT count(*) FROM ledger_verifications") == 2,
	   "  neither failed verify is recorded");

	/* A signed checkpoint ending on a log chunk's boundary (a multiple of 4). */
	while (sql_int(&t, "SELECT size % 4 FROM log_state") != 0 ||
	       sql_int(&t, "SELECT count(*) FROM log_pending") != 0) {
		world_act_quietly(&t, ids[9], "label-printed", "{\"printer\":\"bench-1\"}");
		if (!log_sequenced(&t, 15000))
			tap_bail("sequenced");
	}
	is_int(run_cmd(checkpoint, env, NULL, &out), 0, "a checkpoint of %ld entries is signed",
	       sql_int(&t, "SELECT size FROM log_state"));
	free(out);

	/* Tampering on each side of a specimen chunk's end and of a log chunk's end. */
	char last0[16], first1[16];
	nth_specimen(1, last0);  /* the last of the first chunk of two */
	nth_specimen(2, first1); /* the first of the second */
	ok(tamper("UPDATE events SET actor = 'mallory' WHERE specimen_id IN ('%s', '%s')"
	          " AND seq = 1",
	          last0, first1),
	   "the first events of the specimens on both sides of a chunk boundary changed");
	char e3[16], e4[16];
	int s3 = 0, s4 = 0;
	bool ok_sql;
	char *v = sql_value(&t, "SELECT specimen_id || ' ' || seq FROM log_entries WHERE idx = 3",
	                    &ok_sql);
	sscanf(v ? v : "", "%15s %d", e3, &s3);
	free(v);
	v = sql_value(&t, "SELECT specimen_id || ' ' || seq FROM log_entries WHERE idx = 4",
	              &ok_sql);
	sscanf(v ? v : "", "%15s %d", e4, &s4);
	free(v);
	ok(tamper("UPDATE events SET details = '{\"x\": 1}' WHERE (specimen_id, seq) IN"
	          " (('%s', %d), ('%s', %d))",
	          e3, s3, e4, s4),
	   "the events at log indexes 3 and 4 (either side of the first log boundary) changed");
	char e7[16];
	int s7 = 0;
	v = sql_value(&t, "SELECT specimen_id || ' ' || seq FROM log_entries WHERE idx = 9",
	              &ok_sql);
	sscanf(v ? v : "", "%15s %d", e7, &s7);
	free(v);
	ok(tamper("DELETE FROM log_entries WHERE idx IN (7, 8);"
	          " DELETE FROM log_nodes WHERE level = 0 AND idx IN (7, 8)"),
	   "log entries 7 and 8 deleted, across the second log boundary");
	ok(tamper(FORGE_CHAIN_AND_LOG, ids[5], ids[5], ids[5]),
	   "a chain rewritten consistently, leaves and nodes with it");

	is_int(verify(&single, "--jobs", "1", "--no-record", "--checkpoints", export_dir, "--key",
	              NULL),
	       2, "(--key without a value is a configuration problem)");
	free(single);
	is_int(verify(&single, "--jobs", "1", "--chunk-specimens", "100000000", "--chunk-entries",
	              "1073741824", "--checkpoints", export_dir, "--key", pub, NULL),
	       1, "the single-connection, single-chunk verify exits 1");
	is_int(verify(&chunked, "--jobs", "3", "--chunk-specimens", "2", "--chunk-entries", "4",
	              "--checkpoints", export_dir, "--key", pub, NULL),
	       1, "the chunked verify over 3 connections exits 1");
	char *a = findings(single), *b = findings(chunked);
	is_str(b, a, "  naming the same findings, in the same order");
	free(a);
	free(b);
	ok(named(chunked, last0, 1, "changed", -1) && named(chunked, first1, 1, "changed", -1),
	   "  both sides of the specimen boundary (%s, %s)", last0, first1);
	ok(named(chunked, e3, s3, "changed", 3) && named(chunked, e4, s4, "changed", 4),
	   "  both sides of the log boundary (indexes 3 and 4)");
	ok(named(chunked, e7, s7, "deleted", 7) &&
	       strstr(chunked, "log entries 7 to 8 are missing"),
	   "  the entries deleted across a boundary, as one finding");
	ok(chunked &&
	       strstr(chunked, "log (log index 0): rewritten (the events of log entries 0 to"),
	   "  and the rewrite, against the checkpoint that ends on a boundary");
	if (chunked && strstr(chunked, "log entries 7 to 8 are missing") == NULL)
		tap_diag("%s", chunked);
	free(single);
	free(chunked);

	tenv_teardown(&t);
	char rm[120];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm) != 0)
		tap_diag("cannot remove %s", dir);
	return tap_done();
}
