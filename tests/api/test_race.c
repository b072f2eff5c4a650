/*
 * test_race.c — invariants under concurrency: eight clients store and move
 * tubes into the same twenty positions of two boxes at random, first through
 * one daemon, then through two on the same database. Afterwards no position
 * holds two tubes, no tube is in two places, every 2xx answer left exactly
 * one custody event, and every chain verifies.
 */
#include "world.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { TUBES = 24, THREADS = 8, REQUESTS = 200 /* per thread and phase */, POSITIONS = 20 };

static char tubes[TUBES][16];

struct worker {
	struct tenv *t;
	const char *url;
	unsigned seed;
	int ok2xx, conflicts, other;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	char path[96], body[128];

	for (int i = 0; i < REQUESTS; i++) {
		struct resp r;
		int tube = rand_r(&w->seed) % TUBES, slot = rand_r(&w->seed) % POSITIONS;
		const char *box = rand_r(&w->seed) % 2 ? "BOX-A" : "BOX-B";
		const char *action = rand_r(&w->seed) % 3 == 0 ? "store" : "move";

		snprintf(path, sizeof(path), "/api/v1/specimens/%s/%s", tubes[tube], action);
		snprintf(body, sizeof(body), "{\"box\":\"%s\",\"position\":\"%c%d\"}", box,
		         'A' + slot / 9, slot % 9 + 1);
		http(w->url, "POST", path, w->t->admin_token, NULL, body, strlen(body), &r);
		if (r.status == 200)
			w->ok2xx++;
		else if (r.status == 409)
			w->conflicts++;
		else {
			w->other++;
			if (w->other < 3)
				tap_diag("unexpected %ld: %s%s", r.status, r.body, r.error);
		}
		resp_free(&r);
	}
	return NULL;
}

static void
phase(struct tenv *t, const char *name, const char *url1, const char *url2)
{
	struct worker w[THREADS];
	pthread_t th[THREADS];
	long events_before = sql_int(t, "SELECT count(*) FROM events");
	int total = 0, conflicts = 0, other = 0;

	for (int i = 0; i < THREADS; i++) {
		w[i] =
		    (struct worker){ t, i % 2 ? url2 : url1, (unsigned)(i * 7919 + 17), 0, 0, 0 };
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		total += w[i].ok2xx;
		conflicts += w[i].conflicts;
		other += w[i].other;
	}
	tap_diag("%s: %d requests, %d succeeded, %d conflicts", name, THREADS * REQUESTS, total,
	         conflicts);
	ok(total > 0 && conflicts > 0, "%s: both successes and conflicts happened", name);
	is_int(other, 0, "%s: every answer was 200 or 409 (no 5xx, no lost request)", name);
	is_int(sql_int(t, "SELECT count(*) FROM (SELECT 1 FROM specimens WHERE box_id IS NOT NULL"
	                  " GROUP BY box_id, pos_row, pos_col HAVING count(*) > 1) x"),
	       0, "%s: no position holds two specimens", name);
	is_int(
	    sql_int(
	        t, "SELECT count(*) FROM specimens WHERE status = 'in_storage' AND box_id IS NULL"),
	    0, "%s: every stored specimen has exactly one place", name);
	is_int(sql_int(t, "SELECT count(*) FROM events") - events_before, total,
	       "%s: one custody event per 2xx answer", name);
	is_int(sql_int(t, "SELECT count(*) FROM specimens s WHERE s.ledger_seq <>"
	                  " (SELECT count(*) FROM events e WHERE e.specimen_id = s.id)"),
	       0, "%s: every chain's head matches its events", name);

	char dburl[600], *out = NULL;
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t->conninfo);
	const char *env[] = { dburl, NULL };
	const char *argv[] = { t->biobankd, "verify-ledger", NULL };
	is_int(run_cmd(argv, env, NULL, &out), 0, "%s: verify-ledger is OK", name);
	free(out);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	struct daemon d2 = { 0 };

	tenv_setup(&t, "race", argc, argv);
	world_make(&t);
	for (int i = 0; i < TUBES; i++)
		if (!world_register(&t, "MASC", i % 2 ? "P001" : "P002", "serum", tubes[i]))
			return tap_done();
	phase(&t, "one daemon", t.d.url, t.d.url);
	if (ok(daemon_start(&t, &d2, NULL) == 0, "a second daemon on the same database")) {
		phase(&t, "two daemons", t.d.url, d2.url);
		is_int(daemon_stop(&d2), 0, "the second daemon stops cleanly");
	}
	tenv_teardown(&t);
	return tap_done();
}
