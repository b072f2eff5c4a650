/*
 * test_storm.c — races across daemons: two biobankd processes on one
 * database, sixteen clients storing, moving, checking out and returning
 * thirty-two tubes in the same forty positions of two boxes at random.
 * Afterwards no position holds two tubes, every 2xx answer left exactly one
 * event of its kind, the thaw counts add up and every chain verifies.
 * (tests/api/test_race.c covers store and move with eight clients.)
 */
#include "rel.h"

#include <pthread.h>

enum { TUBES = 32, CLIENTS = 16, REQUESTS = 120 /* per client */, POSITIONS = 20 };

enum action { ACT_STORE, ACT_MOVE, ACT_CHECKOUT, ACT_RETURN, ACT__MAX };

static const char *const action_path[ACT__MAX] = { "store", "move", "checkout", "return" };
static const char *const action_event[ACT__MAX] = { "stored", "moved", "checked_out", "returned" };

static char tubes[TUBES][16];

struct client {
	const char *url;
	const char *token;
	unsigned seed;
	int ok[ACT__MAX], conflicts[ACT__MAX], thawed, other;
};

static void *
client_run(void *arg)
{
	struct client *c = arg;
	char path[96], body[160];

	for (int i = 0; i < REQUESTS; i++) {
		struct resp r;
		int tube = rand_r(&c->seed) % TUBES, slot = rand_r(&c->seed) % POSITIONS;
		const char *box = rand_r(&c->seed) % 2 ? "BOX-A" : "BOX-B";
		enum action a = (enum action)(rand_r(&c->seed) % ACT__MAX);
		bool thawed = rand_r(&c->seed) % 2;

		snprintf(path, sizeof(path), "/api/v1/specimens/%s/%s", tubes[tube],
		         action_path[a]);
		if (a == ACT_CHECKOUT)
			snprintf(body, sizeof(body), "{\"reason\":\"assay %d\"}", i);
		else if (a == ACT_RETURN)
			snprintf(body, sizeof(body),
			         "{\"box\":\"%s\",\"position\":\"%c%d\",\"thawed\":%s}", box,
			         'A' + slot / 9, slot % 9 + 1, thawed ? "true" : "false");
		else
			snprintf(body, sizeof(body), "{\"box\":\"%s\",\"position\":\"%c%d\"}", box,
			         'A' + slot / 9, slot % 9 + 1);
		http(c->url, "POST", path, c->token, NULL, body, strlen(body), &r);
		if (r.status == 200) {
			c->ok[a]++;
			c->thawed += a == ACT_RETURN && thawed;
		} else if (r.status == 409 && strstr(r.content_type, "problem+json") != NULL) {
			c->conflicts[a]++;
		} else {
			if (c->other++ < 3)
				tap_diag("unexpected %ld on %s: %s", r.status, path, r.body);
		}
		resp_free(&r);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct tenv t;
	struct daemon d2 = { 0 };
	struct client c[CLIENTS];
	pthread_t th[CLIENTS];
	char sql[256];

	tenv_setup(&t, "storm", argc, argv);
	world_make(&t);
	for (int i = 0; i < TUBES; i++)
		if (!world_register(&t, "MASC", i % 2 ? "P001" : "P002", "serum", tubes[i])) {
			tenv_teardown(&t);
			return tap_done();
		}
	if (!ok(daemon_start(&t, &d2, NULL) == 0, "a second daemon on the same database")) {
		tenv_teardown(&t);
		return tap_done();
	}
	long events_before = count_sql(&t, "SELECT count(*) FROM events");
	double t0 = now_s();
	for (int i = 0; i < CLIENTS; i++) {
		c[i] = (struct client){ i % 2 ? d2.url : t.d.url, t.admin_token,
			                (unsigned)(i * 7919 + 101) };
		pthread_create(&th[i], NULL, client_run, &c[i]);
	}
	int ok_total = 0, ok_by[ACT__MAX] = { 0 }, conflicts_by[ACT__MAX] = { 0 }, thawed = 0,
	    other = 0;
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(th[i], NULL);
		for (int a = 0; a < ACT__MAX; a++) {
			ok_by[a] += c[i].ok[a];
			conflicts_by[a] += c[i].conflicts[a];
			ok_total += c[i].ok[a];
		}
		thawed += c[i].thawed;
		other += c[i].other;
	}
	double took = now_s() - t0;
	tap_diag("%d requests in %.1f s (%.0f/s) over two daemons: %d succeeded",
	         CLIENTS * REQUESTS, took, CLIENTS * REQUESTS / took, ok_total);
	for (int a = 0; a < ACT__MAX; a++) {
		tap_diag("  %-8s %4d ok, %4d conflicts", action_path[a], ok_by[a], conflicts_by[a]);
		ok(ok_by[a] > 0 && conflicts_by[a] > 0, "%s: both successes and 409s happened",
		   action_path[a]);
	}
	is_int(other, 0, "every answer was 200 or a 409 problem (no 5xx, no lost request)");
	is_int(count_sql(&t, "SELECT count(*) FROM events") - events_before, ok_total,
	       "one custody event per 2xx answer");
	for (int a = 0; a < ACT__MAX; a++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE type = '%s'",
		         action_event[a]);
		is_int(count_sql(&t, sql), ok_by[a], "one '%s' event per 2xx %s", action_event[a],
		       action_path[a]);
	}
	is_int(count_sql(&t, "SELECT sum(freeze_thaw_count) FROM specimens"), thawed,
	       "freeze-thaw counts add up to the 2xx returns with thawed: true");
	is_int(count_sql(&t, "SELECT count(*) FROM events WHERE type = 'returned'"
	                     " AND (details->>'thawed')::boolean"),
	       thawed, "as do the returned events that say thawed");
	check_invariants(&t, "after the storm");
	is_int(daemon_stop(&d2), 0, "the second daemon stops cleanly");
	tenv_teardown(&t);
	return tap_done();
}
