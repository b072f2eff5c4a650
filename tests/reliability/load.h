/*
 * load.h — a write load whose every acknowledged step can be checked
 * afterwards. Each writer owns one tube and two positions of BOX-A, and
 * cycles it through store, move, checkout and return. It remembers the
 * event each 2xx answer stands for, and counts the answers that leave the
 * outcome unknown (5xx, a dropped connection): afterwards the tube's events
 * must hold every acknowledged one, in order, plus at most one per unknown.
 */
#ifndef BB_TEST_LOAD_H
#define BB_TEST_LOAD_H

#include "rel.h"

#include <pthread.h>
#include <stdatomic.h>

enum { LOAD_ACKS_MAX = 4096 };

enum tube_state { TS_UNKNOWN, TS_REGISTERED, TS_STORED, TS_OUT };

struct writer {
	/* set by the caller */
	const char *url;
	const char *token;
	int slot; /* owns BOX-A positions slot and slot + 1 */
	char tube[16];
	atomic_bool *stop;
	_Atomic double *recovered_at; /* may be NULL: when the database is back */
	/* results */
	const char *acks[LOAD_ACKS_MAX]; /* event type per 2xx, in order */
	atomic_int nacks;                /* atomic: the test polls it while the writer runs */
	int conflicts, unknown;
	atomic_int ok_after_recovery;
	int bad_after_recovery;
	char last_bad[256];
	/* private */
	enum tube_state state;
	int at; /* 0 or 1: which of its positions */
	pthread_t th;
};

static void
pos_name(char out[8], int slot)
{
	snprintf(out, 8, "%c%d", 'A' + slot / 9, slot % 9 + 1);
}

/* Learn where the tube is after a surprise. */
static void
writer_resync(struct writer *w)
{
	char path[64], mine[8];
	struct resp r;

	snprintf(path, sizeof(path), "/api/v1/specimens/%s", w->tube);
	w->state = TS_UNKNOWN;
	if (http(w->url, "GET", path, w->token, NULL, NULL, 0, &r) == 0 && r.status == 200) {
		const char *st = jstr(&r, "status"), *pos = jstr(&r, "location.position");

		if (st != NULL && strcmp(st, "registered") == 0)
			w->state = TS_REGISTERED;
		else if (st != NULL && strcmp(st, "checked_out") == 0)
			w->state = TS_OUT;
		else if (st != NULL && strcmp(st, "in_storage") == 0 && pos != NULL) {
			w->state = TS_STORED;
			pos_name(mine, w->slot);
			w->at = strcmp(pos, mine) == 0 ? 0 : 1;
		}
	}
	resp_free(&r);
}

static void *
writer_run(void *arg)
{
	struct writer *w = arg;
	char path[96], body[160], pos[8];
	int step = 0;

	w->state = TS_REGISTERED;
	while (!atomic_load(w->stop)) {
		const char *action, *event;
		int to = w->at;

		if (w->state == TS_UNKNOWN) {
			writer_resync(w);
			if (w->state == TS_UNKNOWN) {
				sleep_ms(20);
				continue;
			}
		}
		switch (w->state) {
		case TS_REGISTERED:
			action = "store", event = "stored";
			break;
		case TS_STORED:
			if (step++ % 2 == 0)
				action = "move", event = "moved", to = 1 - w->at;
			else
				action = "checkout", event = "checked_out";
			break;
		default:
			action = "return", event = "returned", to = 1 - w->at;
			break;
		}
		pos_name(pos, w->slot + to);
		snprintf(path, sizeof(path), "/api/v1/specimens/%s/%s", w->tube, action);
		if (strcmp(action, "checkout") == 0)
			snprintf(body, sizeof(body), "{\"reason\":\"step %d\"}", step);
		else if (strcmp(action, "return") == 0)
			snprintf(body, sizeof(body),
			         "{\"box\":\"BOX-A\",\"position\":\"%s\",\"thawed\":false}", pos);
		else
			snprintf(body, sizeof(body), "{\"box\":\"BOX-A\",\"position\":\"%s\"}",
			         pos);

		double sent = now_s(), rec = w->recovered_at ? atomic_load(w->recovered_at) : 0;
		struct resp r;
		int rc = http(w->url, "POST", path, w->token, NULL, body, strlen(body), &r);
		bool after = rec > 0 && sent > rec;

		if (rc == 0 && r.status == 200) {
			if (w->nacks < LOAD_ACKS_MAX)
				w->acks[w->nacks++] = event;
			w->state = strcmp(action, "checkout") == 0 ? TS_OUT : TS_STORED;
			w->at = to;
			w->ok_after_recovery += after;
		} else if (rc == 0 && r.status == 409) {
			/* An earlier unknown outcome did happen after all. */
			w->conflicts++;
			w->state = TS_UNKNOWN;
			w->ok_after_recovery += after;
		} else {
			w->unknown++;
			w->state = TS_UNKNOWN;
			if (after) {
				w->bad_after_recovery++;
				snprintf(w->last_bad, sizeof(w->last_bad), "%ld %.200s", r.status,
				         r.body ? r.body : "");
			}
			sleep_ms(20);
		}
		resp_free(&r);
		if (w->nacks >= LOAD_ACKS_MAX)
			break;
	}
	return NULL;
}

/* Register the tubes (through the env's daemon) and start the writers. */
static bool
load_start(struct tenv *t, struct writer *w, int n, const char *const *urls, atomic_bool *stop,
           _Atomic double *recovered_at)
{
	for (int i = 0; i < n; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		if (!world_register(t, "MASC", "P001", "serum", w[i].tube))
			return false;
		w[i].url = urls[i % 2];
		w[i].token = t->admin_token;
		w[i].slot = 2 * i;
		w[i].stop = stop;
		w[i].recovered_at = recovered_at;
	}
	for (int i = 0; i < n; i++)
		pthread_create(&w[i].th, NULL, writer_run, &w[i]);
	return true;
}

static void
load_join(struct writer *w, int n)
{
	for (int i = 0; i < n; i++)
		pthread_join(w[i].th, NULL);
}

/*
 * Compare each tube's events (after 'registered') with what its writer was
 * told: every acknowledged event is there in order, and no more extra
 * events than answers that left the outcome unknown.
 */
static void
load_check(struct tenv *t, struct writer *w, int n, const char *when)
{
	int missing = 0, excess = 0, acks = 0, unknown = 0;
	char sql[256];

	for (int i = 0; i < n; i++) {
		bool ok_sql;

		snprintf(sql, sizeof(sql),
		         "SELECT string_agg(type, ',' ORDER BY seq) FROM events"
		         " WHERE specimen_id = '%s' AND type <> 'registered'",
		         w[i].tube);
		char *got = sql_value(t, sql, &ok_sql), *save = NULL;
		int k = 0, extra = 0;

		for (char *e = got ? strtok_r(got, ",", &save) : NULL; e != NULL;
		     e = strtok_r(NULL, ",", &save)) {
			if (k < w[i].nacks && strcmp(e, w[i].acks[k]) == 0)
				k++;
			else
				extra++;
		}
		if (k < w[i].nacks) {
			missing++;
			tap_diag("%s: tube %s: acknowledged event %d (%s) is not in the ledger",
			         when, w[i].tube, k + 1, w[i].acks[k]);
		}
		if (extra > w[i].unknown) {
			excess++;
			tap_diag("%s: tube %s: %d events nobody was told of, %d unknown outcomes",
			         when, w[i].tube, extra, w[i].unknown);
		}
		acks += w[i].nacks;
		unknown += w[i].unknown;
		free(got);
	}
	tap_diag("%s: %d acknowledged writes, %d unknown outcomes", when, acks, unknown);
	ok(acks > 0, "%s: the load wrote", when);
	is_int(missing, 0, "%s: every 2xx answer is in the database with its event, in order",
	       when);
	is_int(excess, 0, "%s: no event beyond the answers whose outcome was unknown", when);
}

/* Wait (up to timeout_s) until writers first, first + step, ... below n
 * have each had `more` writes acknowledged (after_recovery: answered since
 * the database came back) beyond base[i] (base NULL: beyond none): waiting
 * for the load to have done something, not for a time. */
__attribute__((unused)) static bool
load_wait(struct writer *w, int n, int first, int step, const int *base, int more,
          bool after_recovery, double timeout_s)
{
	for (double t0 = now_s();; sleep_ms(20)) {
		bool all = true;

		for (int i = first; i < n && all; i += step) {
			int v = after_recovery ? atomic_load(&w[i].ok_after_recovery)
			                       : atomic_load(&w[i].nacks);
			all = v >= (base ? base[i] : 0) + more;
		}
		if (all)
			return true;
		if (now_s() - t0 > timeout_s)
			return false;
	}
}

#endif
