/* readpool.c — the reports database's pool, and when reads go to the primary instead. */
#include "http/readpool.h"

#include "http/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/*
 * After the reports database failed to answer, reads go to the primary for
 * this long without trying it: a report does not wait on a connect to a
 * lost machine (connect_timeout) each time.
 */
enum { DOWN_HOLD_MS = 5000 };

struct readpool {
	struct db_pool *pool;
	double max_lag_s;
	pthread_mutex_t lock;
	long long down_at_ms; /* bb_monotonic_ms(); 0: not down */
	struct readpool_stats stats;
	enum readpool_route last; /* for the log: say once when the route changes */
};

static const char *const route_names[READPOOL__MAX] = {
	[READPOOL_STANDBY] = "standby",
	[READPOOL_DOWN] = "down",
	[READPOOL_LAGGING] = "lagging",
};

const char *
readpool_route_name(enum readpool_route why)
{
	return (unsigned)why < READPOOL__MAX ? route_names[why] : "unknown";
}

void
readpool_new(const struct readpool_opts *o, struct readpool **out)
{
	*out = NULL;
	if (o->conninfo == NULL)
		return;
	struct readpool *rp = bb_calloc(1, sizeof(*rp));
	rp->pool = db_pool_open_reader(o->conninfo, o->size, o->sets);
	rp->max_lag_s = o->max_lag_s;
	rp->stats.max_lag_s = o->max_lag_s;
	rp->last = READPOOL_STANDBY;
	pthread_mutex_init(&rp->lock, NULL);
	*out = rp;
}

void
readpool_free(struct readpool *rp)
{
	if (rp == NULL)
		return;
	db_pool_close(rp->pool);
	pthread_mutex_destroy(&rp->lock);
	free(rp);
}

/* Count a take and log when reads change where they go (not once per request). */
static void
note(struct readpool *rp, enum readpool_route why, bool down, const char *detail)
{
	pthread_mutex_lock(&rp->lock);
	rp->stats.taken[why]++;
	if (down)
		rp->down_at_ms = bb_monotonic_ms();
	else if (why == READPOOL_STANDBY)
		rp->down_at_ms = 0;
	bool changed = rp->last != why;
	rp->last = why;
	pthread_mutex_unlock(&rp->lock);
	if (changed && why == READPOOL_STANDBY)
		log_info("reports: read from the reports database again");
	else if (changed)
		log_warnx("reports: read from the primary: the reports database is %s%s",
		          readpool_route_name(why), detail);
}

static bool
held_down(struct readpool *rp)
{
	pthread_mutex_lock(&rp->lock);
	bool held = rp->down_at_ms != 0 && bb_monotonic_ms() - rp->down_at_ms < DOWN_HOLD_MS;
	if (held)
		rp->stats.taken[READPOOL_DOWN]++;
	pthread_mutex_unlock(&rp->lock);
	return held;
}

/* The reports database's connection when it answers and is recent enough; NULL otherwise. */
static struct db_conn *
take_standby(struct readpool *rp)
{
	struct db_conn *c;
	bool in_recovery, known;
	double lag;
	char detail[384];

	if (held_down(rp))
		return NULL;
	if (db_acquire(rp->pool, &c) != BB_OK) {
		note(rp, READPOOL_DOWN, true, "");
		return NULL;
	}
	if (db_replay_lag(c, &in_recovery, &known, &lag) != BB_OK) {
		db_release(rp->pool, c);
		note(rp, READPOOL_DOWN, true, "");
		return NULL;
	}
	/* Not a standby (a prefer-standby URL found none): a read-only connection all the same. */
	if (in_recovery && (!known || lag > rp->max_lag_s)) {
		db_release(rp->pool, c);
		if (known)
			snprintf(detail, sizeof(detail), " (%.1f s behind, reports_max_lag %.0f s)",
			         lag, rp->max_lag_s);
		else
			snprintf(detail, sizeof(detail), " (behind by an unknown time)");
		note(rp, READPOOL_LAGGING, false, detail);
		return NULL;
	}
	note(rp, READPOOL_STANDBY, false, "");
	return c;
}

enum bb_err
readpool_take(struct readpool *rp, struct db_pool *primary, struct db_conn **out,
              struct db_pool **from)
{
	struct db_conn *c = rp != NULL ? take_standby(rp) : NULL;

	if (c != NULL) {
		*out = c;
		*from = rp->pool;
		return BB_OK;
	}
	*from = primary;
	return db_acquire(primary, out);
}

bool
readpool_fit(struct readpool *rp)
{
	struct db_conn *c = rp != NULL ? take_standby(rp) : NULL;

	if (c == NULL)
		return false;
	db_release(rp->pool, c);
	return true;
}

bool
readpool_owns(const struct readpool *rp, const struct db_pool *pool)
{
	return rp != NULL && rp->pool == pool;
}

void
readpool_lost(struct readpool *rp)
{
	pthread_mutex_lock(&rp->lock);
	rp->stats.lost++;
	rp->down_at_ms = bb_monotonic_ms();
	rp->last = READPOOL_DOWN;
	pthread_mutex_unlock(&rp->lock);
	log_warnx("reports: the reports database was lost under a read: the primary takes the "
	          "reads for %d s",
	          DOWN_HOLD_MS / 1000);
}

void
readpool_stats(struct readpool *rp, struct readpool_stats *out)
{
	pthread_mutex_lock(&rp->lock);
	*out = rp->stats;
	pthread_mutex_unlock(&rp->lock);
}

struct db_pool *
readpool_pool(struct readpool *rp)
{
	return rp->pool;
}
