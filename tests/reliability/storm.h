/*
 * storm.h — the race of test_storm.c, shared with test_pgbouncer.c: sixteen
 * clients storing, moving, checking out and returning thirty-two tubes in
 * the same forty positions of two boxes at random, half of them through one
 * daemon and half through another. storm_run checks that both successes and
 * 409s happened for each action, that every answer was one of the two, that
 * every 2xx left exactly one event of its kind and that the thaw counts add
 * up; check_invariants (rel.h) then checks the places and the chains.
 */
#ifndef BB_TEST_STORM_H
#define BB_TEST_STORM_H

#include "rel.h"

#include <pthread.h>

enum {
	STORM_TUBES = 32,
	STORM_CLIENTS = 16,
	STORM_REQUESTS = 120 /* per client */,
	STORM_POSITIONS = 20
};

enum storm_action { ACT_STORE, ACT_MOVE, ACT_CHECKOUT, ACT_RETURN, ACT__MAX };

static const char *const storm_action_path[ACT__MAX] = { "store", "move", "checkout", "return" };
static const char *const storm_action_event[ACT__MAX] = { "stored", "moved", "checked_out",
	                                                  "returned" };

static char storm_tubes[STORM_TUBES][16];

struct storm_client {
	const char *url;
	const char *token;
	unsigned seed;
	int ok[ACT__MAX], conflicts[ACT__MAX], thawed, other;
};

static void *
storm_client_run(void *arg)
{
	struct storm_client *c = arg;
	char path[96], body[160];

	for (int i = 0; i < STORM_REQUESTS; i++) {
		struct resp r;
		int tube = rand_r(&c->seed) % STORM_TUBES,
		    slot = rand_r(&c->seed) % STORM_POSITIONS;
		const char *box = rand_r(&c->seed) % 2 ? "BOX-A" : "BOX-B";
		enum storm_action a = (enum storm_action)(rand_r(&c->seed) % ACT__MAX);
		bool thawed = rand_r(&c->seed) % 2;

		snprintf(path, sizeof(path), "/api/v1/specimens/%s/%s", storm_tubes[tube],
		         storm_action_path[a]);
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

/* Register the tubes (through the env's daemon); false when one failed. */
__attribute__((unused)) static bool
storm_register(struct tenv *t)
{
	for (int i = 0; i < STORM_TUBES; i++)
		if (!world_register(t, "MASC", i % 2 ? "P001" : "P002", "serum", storm_tubes[i]))
			return false;
	return true;
}

/* The race: even clients through url_a, odd ones through url_b; then the
 * answers are checked against the ledger (what check_invariants does not). */
__attribute__((unused)) static void
storm_run(struct tenv *t, const char *url_a, const char *url_b, const char *label)
{
	struct storm_client c[STORM_CLIENTS];
	pthread_t th[STORM_CLIENTS];
	char sql[256];

	long events_before = count_sql(t, "SELECT count(*) FROM events");
	double t0 = now_s();
	for (int i = 0; i < STORM_CLIENTS; i++) {
		c[i] = (struct storm_client){ i % 2 ? url_b : url_a, t->admin_token,
			                      (unsigned)(i * 7919 + 101) };
		pthread_create(&th[i], NULL, storm_client_run, &c[i]);
	}
	int ok_total = 0, ok_by[ACT__MAX] = { 0 }, conflicts_by[ACT__MAX] = { 0 }, thawed = 0,
	    other = 0;
	for (int i = 0; i < STORM_CLIENTS; i++) {
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
	tap_diag("%d requests in %.1f s (%.0f/s) %s: %d succeeded", STORM_CLIENTS * STORM_REQUESTS,
	         took, STORM_CLIENTS * STORM_REQUESTS / took, label, ok_total);
	for (int a = 0; a < ACT__MAX; a++) {
		tap_diag("  %-8s %4d ok, %4d conflicts", storm_action_path[a], ok_by[a],
		         conflicts_by[a]);
		ok(ok_by[a] > 0 && conflicts_by[a] > 0, "%s: both successes and 409s happened",
		   storm_action_path[a]);
	}
	is_int(other, 0, "every answer was 200 or a 409 problem (no 5xx, no lost request)");
	is_int(count_sql(t, "SELECT count(*) FROM events") - events_before, ok_total,
	       "one custody event per 2xx answer");
	for (int a = 0; a < ACT__MAX; a++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE type = '%s'",
		         storm_action_event[a]);
		is_int(count_sql(t, sql), ok_by[a], "one '%s' event per 2xx %s",
		       storm_action_event[a], storm_action_path[a]);
	}
	is_int(count_sql(t, "SELECT sum(freeze_thaw_count) FROM specimens"), thawed,
	       "freeze-thaw counts add up to the 2xx returns with thawed: true");
	is_int(count_sql(t, "SELECT count(*) FROM events WHERE type = 'returned'"
	                    " AND (details->>'thawed')::boolean"),
	       thawed, "as do the returned events that say thawed");
}

#endif
