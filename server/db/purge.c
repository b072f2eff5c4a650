/* purge.c — the expired rows of every daemon's database, removed in batches (purge.h). */
#include "db/purge.h"

#include "http/log.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

enum { BATCH = 1000 };

struct purge {
	struct purge_settings s;
	pthread_t thread;
	atomic_bool stop;
};

enum bb_err
db_purge(struct db_conn *c, const struct purge_settings *s, long *removed)
{
	*removed = 0;
	/* One batch of each kind a statement, until a statement finds less than a batch. */
	for (;;) {
		long n = 0;
		enum bb_err err = db_purge_expired(c, s->idempotency_ttl, &s->login, BATCH, &n);

		if (err != BB_OK)
			return err;
		*removed += n;
		if (n < BATCH)
			return BB_OK;
	}
}

/* Sleep up to ms, waking early when asked to stop. */
static void
nap(struct purge *p, unsigned ms)
{
	for (unsigned slept = 0; slept < ms && !atomic_load(&p->stop); slept += 100)
		poll(NULL, 0, 100);
}

/*
 * Each purge borrows a connection of the pool for a moment rather than
 * holding one of its own: a daemon's share of the database's connections
 * (docs/scaling.md) stays its workers' and its listener's.
 */
static void *
purge_main(void *arg)
{
	struct purge *p = arg;

	while (!atomic_load(&p->stop)) {
		struct db_conn *c;
		long removed = 0;

		/* The database down: the requests say so; the purge waits for its next turn. */
		if (db_acquire(p->s.pool, &c) == BB_OK) {
			enum bb_err err = db_purge(c, &p->s, &removed);

			if (err != BB_OK && err != BB_EDBDOWN)
				log_warnx("purge: %s: %s", bb_strerror(err), db_error_message(c));
			else if (removed > 0)
				log_debug("purge: %ld expired rows removed", removed);
			db_release(p->s.pool, c);
		}
		nap(p, p->s.interval * 1000u);
	}
	return NULL;
}

struct purge *
purge_start(const struct purge_settings *s)
{
	struct purge *p = bb_calloc(1, sizeof(*p));

	p->s = *s;
	atomic_init(&p->stop, false);
	if (pthread_create(&p->thread, NULL, purge_main, p) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

void
purge_stop(struct purge *p)
{
	if (p == NULL)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	free(p);
}
