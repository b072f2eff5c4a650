/*
 * test_tlog.c — the transparency log over the custody ledger (issue 15):
 * every event gets a log index from the one sequencer, within a second
 * under a write load; writes do not wait for it; another daemon takes over
 * when the sequencing one dies; and every stored hash is the one RFC 9162
 * gives, recomputed here by PostgreSQL from the events themselves.
 */
#include "world.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* The 1 s the log aims at under write load is a benchmark's figure (bench/ledger.sh);
 * here, on a machine that may be shared, the sequencer must keep up: nothing written is
 * left out of the tree for long. */
enum { WRITERS = 4, LOAD_MS = 4000, LAG_BOUND_MS = 5000 };

static struct tenv t;

/* Every queue entry visible now is in the log: ms it took, or -1 after timeout_ms. */
static long
drain_ms(int timeout_ms)
{
	long long start = mono_ms();
	long top = sql_int(&t, "SELECT COALESCE(max(id), 0) FROM log_pending");
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM log_pending WHERE id <= %ld", top);
	while (mono_ms() - start < timeout_ms) {
		if (sql_int(&t, sql) == 0)
			return (long)(mono_ms() - start);
		msleep(10);
	}
	return -1;
}

/*
 * The log against the events, recomputed by PostgreSQL: one entry per event
 * and none else, indexes without gaps, each leaf SHA-256(0x00 || the event's
 * bytes of version 2) and each higher node SHA-256(0x01 || left || right).
 * Returns the number of disagreements (0: all agree).
 */
static long
log_disagreements(void)
{
	return sql_int(
	    &t,
	    "SELECT (SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM log_entries l"
	    "         WHERE l.specimen_id = e.specimen_id AND l.seq = e.seq))"
	    " + (SELECT count(*) FROM log_entries l WHERE NOT EXISTS (SELECT 1 FROM events e"
	    "         WHERE l.specimen_id = e.specimen_id AND l.seq = e.seq))"
	    " + (SELECT count(*) - COALESCE(max(idx) + 1, 0) FROM log_entries)"
	    " + (SELECT count(*) FROM log_entries l JOIN events e USING (specimen_id, seq)"
	    "    LEFT JOIN log_nodes n ON n.level = 0 AND n.idx = l.idx"
	    "    WHERE n.hash IS DISTINCT FROM sha256('\\x00'::bytea || bb_event_bytes_v2(e.format,"
	    "      e.specimen_id, e.seq, e.type, e.at, e.actor, e.from_box, e.from_pos, e.to_box,"
	    "      e.to_pos, e.reason, e.details, e.prev_hash)))"
	    " + (SELECT count(*) FROM log_nodes p"
	    "    LEFT JOIN log_nodes l ON l.level = p.level - 1 AND l.idx = 2 * p.idx"
	    "    LEFT JOIN log_nodes r ON r.level = p.level - 1 AND r.idx = 2 * p.idx + 1"
	    "    WHERE p.level > 0 AND p.hash IS DISTINCT FROM"
	    "      sha256('\\x01'::bytea || l.hash || r.hash))"
	    " + (SELECT count(*) FROM log_nodes WHERE (idx + 1) << level >"
	    "      (SELECT size FROM log_state))"
	    " + (SELECT count(*) FROM log_entries) - (SELECT size FROM log_state)");
}

/* A tube's life, through url: store, check out, return, move. */
static void
history(const char *url, const char *id, int slot, const char *reason)
{
	static const char *const actions[] = { "store", "checkout", "return", "move" };
	char path[128], body[256];

	for (int i = 0; i < 4; i++) {
		struct resp r;

		if (i == 1)
			snprintf(body, sizeof(body), "{\"reason\":\"%s\"}", reason);
		else
			snprintf(body, sizeof(body), "{\"box\":\"%s\",\"position\":\"%c%d\"%s}",
			         i == 3 ? "BOX-B" : "BOX-A", 'A' + slot / 9, slot % 9 + 1,
			         i == 2 ? ",\"thawed\":false" : "");
		snprintf(path, sizeof(path), "/api/v1/specimens/%s/%s", id, actions[i]);
		http(url, "POST", path, t.admin_token, NULL, body, strlen(body), &r);
		if (r.status != 200)
			tap_diag("%s %s: %ld %s", id, actions[i], r.status, r.body);
		resp_free(&r);
	}
}

/* The write load: each writer moves its own tube back and forth. */
struct writer {
	const char *url;
	char tube[16];
	int slot;
	atomic_bool *stop;
	int written, failed;
};

static void *
write_load(void *arg)
{
	struct writer *w = arg;
	char path[128], body[128];

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/move", w->tube);
	for (int i = 1; !atomic_load(w->stop); i++) {
		struct resp r;

		snprintf(body, sizeof(body), "{\"box\":\"%s\",\"position\":\"%c%d\"}",
		         i % 2 ? "BOX-A" : "BOX-B", 'A' + w->slot / 9, w->slot % 9 + 1);
		http(w->url, "POST", path, t.admin_token, NULL, body, strlen(body), &r);
		if (r.status == 200)
			w->written++;
		else
			w->failed++;
		resp_free(&r);
	}
	return NULL;
}

static void
under_load(void)
{
	struct writer w[WRITERS];
	pthread_t th[WRITERS];
	atomic_bool stop = false;
	long worst = 0, samples = 0, late = 0;
	int written = 0, failed = 0;

	for (int i = 0; i < WRITERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].url = t.d.url;
		w[i].slot = 40 + i;
		w[i].stop = &stop;
		if (!world_register(&t, "MASC", "P001", "serum", w[i].tube))
			tap_bail("cannot register the load's tubes");
		history(t.d.url, w[i].tube, 40 + i, "load");
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_create(&th[i], NULL, write_load, &w[i]);
	for (long long end = mono_ms() + LOAD_MS; mono_ms() < end;) {
		long lag = drain_ms(10000);

		samples++;
		if (lag < 0 || lag > LAG_BOUND_MS)
			late++;
		if (lag < 0 || lag > worst)
			worst = lag < 0 ? 10000 : lag;
		msleep(50);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(th[i], NULL);
		written += w[i].written;
		failed += w[i].failed;
	}
	tap_diag("under load: %d moves by %d writers in %d ms; %ld samples, worst %ld ms", written,
	         WRITERS, LOAD_MS, samples, worst);
	ok(written > 50 && failed == 0, "a write load of %d moves, none refused", written);
	ok(samples > 5 && late == 0,
	   "under it the sequencer kept up: every event written was in the tree within %d ms "
	   "(worst %ld ms)",
	   LAG_BOUND_MS, worst);
}

int
main(int argc, char **argv)
{
	char ids[6][16];
	long lag;

	tenv_setup(&t, "tlog", argc, argv);
	world_make(&t);

	/* Whoever leads: the first daemon, alone. */
	char *leads = daemon_log_lines(
	    &t.d, (const char *const[]){ "this daemon sequences the log", NULL }, 30000);
	ok(leads != NULL, "the daemon's sequencer takes the lead");
	free(leads);
	for (int i = 0; i < 4; i++) {
		if (!world_register(&t, "MASC", i % 2 ? "P002" : "P001", "serum", ids[i]))
			return tap_done();
		history(t.d.url, ids[i], i, i == 1 ? "f\xc3\xbcr die Probe \xe2\x9c\x93" : "assay");
	}
	lag = drain_ms(10000);
	ok(lag >= 0, "20 events are sequenced (%ld ms)", lag);
	is_int(sql_int(&t, "SELECT size FROM log_state"), 20, "  the log holds 20 entries");
	is_int(sql_int(&t, "SELECT count(*) FROM log_pending"), 0, "  and nothing is queued");
	is_int(sql_int(&t, "SELECT backfilled::int FROM log_state"), 1,
	       "  a new database has nothing to backfill");
	is_int(log_disagreements(), 0,
	       "every event has one index, and every leaf and node is RFC 9162's over the "
	       "event's bytes, as PostgreSQL recomputes them");
	is_int(sql_int(&t, "SELECT count(*) FROM (SELECT seq, idx, lag(idx) OVER"
	                   " (PARTITION BY specimen_id ORDER BY seq) AS before FROM log_entries) x"
	                   " WHERE before > idx"),
	       0, "  each chain's events are in the log in their chain's order");

	/* Events with details (aliquots made): PostgreSQL's jsonb text, hashed alike. */
	if (!world_register(&t, "MASC", "P001", "serum", ids[4]))
		return tap_done();
	world_act_quietly(&t, ids[4], "aliquots", "{\"count\":2}");
	ok(drain_ms(10000) >= 0 && log_disagreements() == 0 &&
	       sql_int(&t, "SELECT count(*) FROM events WHERE details <> '{}'") > 0,
	   "events with details are logged as PostgreSQL hashes them");

	/* Writes never wait for the sequencer: it is held up, they go on and queue. */
	PGconn *blocker = PQconnectdb(t.super_conninfo);
	PGresult *br = PQexec(blocker, "BEGIN; SELECT 1 FROM log_state FOR UPDATE");
	ok(PQresultStatus(br) == PGRES_TUPLES_OK, "the log's state is locked away from the "
	                                          "sequencer");
	PQclear(br);
	if (!world_register(&t, "MASC", "P002", "serum", ids[5]))
		return tap_done();
	long long before = mono_ms();
	history(t.d.url, ids[5], 30, "while the sequencer waits");
	long took = (long)(mono_ms() - before);
	ok(took < 10000, "  four custody actions still succeed (%ld ms)", took);
	msleep(300);
	ok(sql_int(&t, "SELECT count(*) FROM log_pending") >= 5,
	   "  their events wait in the queue (%ld)",
	   sql_int(&t, "SELECT count(*) FROM log_pending"));
	br = PQexec(blocker, "COMMIT");
	PQclear(br);
	PQfinish(blocker);
	ok(drain_ms(10000) >= 0 && log_disagreements() == 0,
	   "released, the sequencer takes them in");

	under_load();
	ok(drain_ms(10000) >= 0 && log_disagreements() == 0,
	   "after the load, the log still agrees with every event");

	/*
	 * One sequencer at a time: a second daemon stands by; when the leader
	 * dies (SIGKILL: no goodbye), its connection ends with it and the
	 * standby takes over.
	 */
	struct daemon standby = { 0 };
	ok(daemon_start(&t, &standby, NULL) == 0, "a second daemon on the same database");
	msleep(1500);
	leads = daemon_log_lines(&standby,
	                         (const char *const[]){ "this daemon sequences the log", NULL }, 0);
	ok(leads == NULL, "  stands by while the first one sequences");
	free(leads);
	kill(t.d.pid, SIGKILL);
	waitpid(t.d.pid, NULL, 0);
	t.d.pid = 0;
	long long killed = mono_ms();
	leads = daemon_log_lines(
	    &standby, (const char *const[]){ "this daemon sequences the log", NULL }, 30000);
	ok(leads != NULL, "the first daemon killed, the second takes the lead (%lld ms)",
	   mono_ms() - killed);
	free(leads);
	/* From now on the standby is the test's daemon. */
	t.d = standby;
	if (!world_register(&t, "MASC", "P001", "serum", ids[0]))
		return tap_done();
	history(t.d.url, ids[0], 50, "after the take-over");
	lag = drain_ms(10000);
	ok(lag >= 0 && lag <= LAG_BOUND_MS, "  its events are sequenced within %d ms (%ld ms)",
	   LAG_BOUND_MS, lag);
	is_int(log_disagreements(), 0, "  and the log still agrees with every event");

	tenv_teardown(&t);
	return tap_done();
}
