/* purge.c — the expired rows of every daemon's database, removed in batches (purge.h). */
#include "db/purge.h"

#include "http/log.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

enum { BATCH = 1000 };

const struct db_stmt db_purge_statements[] = {
	/* SKIP LOCKED: a key being claimed again, or purged by another daemon, is left alone. */
	{ "db_purge_idempotency", "DELETE FROM idempotency_keys k USING ("
	                          "   SELECT user_id, key FROM idempotency_keys"
	                          "    WHERE created_at <= now() - make_interval(secs => $1::int)"
	                          "    LIMIT $2::int FOR UPDATE SKIP LOCKED) old"
	                          " WHERE k.user_id = old.user_id AND k.key = old.key" },
	{ NULL, NULL },
};

struct purge {
	struct purge_settings s;
	pthread_t thread;
	atomic_bool stop;
};

static enum bb_err
purge_idempotency(struct db_conn *c, unsigned ttl, long *removed)
{
	char t[16], b[16];
	const char *params[] = { t, b };

	snprintf(t, sizeof(t), "%u", ttl);
	snprintf(b, sizeof(b), "%d", BATCH);
	for (;;) {
		PGresult *res;
		enum bb_err err = db_exec(c, "db_purge_idempotency", 2, params, &res);

		if (err != BB_OK)
			return err;
		long n = strtol(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		*removed += n;
		if (n < BATCH)
			return BB_OK;
	}
}

enum bb_err
db_purge(struct db_conn *c, const struct purge_settings *s, long *removed)
{
	enum bb_err err;

	*removed = 0;
	if ((err = purge_idempotency(c, s->idempotency_ttl, removed)) != BB_OK)
		return err;
	for (;;) {
		long n = 0;

		if ((err = db_login_purge(c, &s->login, BATCH, &n)) != BB_OK)
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

static void *
purge_main(void *arg)
{
	struct purge *p = arg;
	static const struct db_stmt *const sets[] = { db_accounts_statements, db_purge_statements,
		                                      NULL };
	struct db_conn *c = NULL;

	while (!atomic_load(&p->stop)) {
		if (c == NULL && db_connect(p->s.conninfo, sets, &c) != BB_OK) {
			c = NULL;
			nap(p, 1000);
			continue;
		}
		long removed = 0;
		enum bb_err err = db_purge(c, &p->s, &removed);
		if (err == BB_EDBDOWN) {
			db_disconnect(c);
			c = NULL;
			nap(p, 1000);
			continue;
		}
		if (err != BB_OK)
			log_warnx("purge: %s: %s", bb_strerror(err), db_error_message(c));
		else if (removed > 0)
			log_debug("purge: %ld expired rows removed", removed);
		nap(p, p->s.interval * 1000u);
	}
	db_disconnect(c);
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
