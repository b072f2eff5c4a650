/* sequencer.c — one thread per daemon; the one holding the lock sequences the log. */
#include "cmd/sequencer.h"

#include "db/checkpoint.h"
#include "db/tlog.h"
#include "http/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

enum {
	BATCH = 1000,     /* events per statement */
	POLL_MS = 100,    /* the queue is looked at this often when it was empty */
	STANDBY_MS = 500, /* a standby tries to take the lead this often */
	RETRY_MS = 1000,  /* after a database error */
};

struct sequencer {
	struct sequencer_opts o;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	atomic_bool leads; /* read by the courier */
};

static const struct db_stmt *const sets[] = { db_tlog_statements, db_checkpoint_statements, NULL };

/* Sleep ms, or less when asked to stop; true when stopping. */
static bool
pause_ms(struct sequencer *q, int ms)
{
	struct timespec until = bb_deadline_after_ms(ms);
	bool stop;

	pthread_mutex_lock(&q->lock);
	while (!q->stopping && pthread_cond_timedwait(&q->wake, &q->lock, &until) == 0)
		;
	stop = q->stopping;
	pthread_mutex_unlock(&q->lock);
	return stop;
}

static bool
stopping(struct sequencer *q)
{
	pthread_mutex_lock(&q->lock);
	bool stop = q->stopping;
	pthread_mutex_unlock(&q->lock);
	return stop;
}

/* Sign the log as it stands, when it grew (only the leader does). */
static void
checkpoint(struct sequencer *q, struct db_conn *c)
{
	struct checkpoint_made m;
	enum bb_err err = checkpoint_make(c, q->o.key, q->o.export_dir, &m);

	if (err == BB_OK && m.fresh)
		log_info("ledger: checkpoint %lld signed: %llu entries%s%s", m.id,
		         (unsigned long long)m.size, m.exported ? ", written to " : "",
		         m.exported ? m.file : "");
	else if (err != BB_OK && err != BB_ECONFLICT) /* a conflict is logged where it is found */
		log_warnx("ledger: cannot make a checkpoint: %s: %s", bb_strerror(err),
		          db_error_message(c));
}

static void *
run(void *arg)
{
	struct sequencer *q = arg;
	struct db_conn *c = NULL;
	struct tlog_seq st = { 0 };
	bool leading = false, unreachable = false;
	long long next_checkpoint = 0;
	char why[512];

	while (!stopping(q)) {
		if (c == NULL) {
			if (db_connect_quiet(q->o.conninfo, sets, &c, why, sizeof(why)) != BB_OK) {
				if (!unreachable)
					log_warnx("ledger sequencer: cannot reach the database: %s",
					          why);
				unreachable = true;
				pause_ms(q, RETRY_MS);
				continue;
			}
			unreachable = false;
			leading = false;
		}
		enum bb_err err = BB_OK;
		int taken = 0;
		if (!leading) {
			err = tlog_try_lead(c, &leading);
			atomic_store(&q->leads, leading);
			if (err == BB_OK && !leading) {
				pause_ms(q, STANDBY_MS);
				continue;
			}
			if (err == BB_OK) {
				log_info("ledger sequencer: this daemon sequences the log");
				st.loaded = false;
				next_checkpoint = bb_monotonic_ms(); /* sign what it found */
			}
		}
		if (err == BB_OK)
			err = tlog_sequence(c, &st, BATCH, &taken);
		if (err != BB_OK) {
			log_warnx("ledger sequencer: %s: %s", bb_strerror(err),
			          db_error_message(c));
			if (db_pgconn(c) == NULL) {
				/* The connection, and the lead with it, is gone. */
				db_disconnect(c);
				c = NULL;
				leading = false;
				atomic_store(&q->leads, false);
			}
			pause_ms(q, RETRY_MS);
			continue;
		}
		/* After a batch, so that a new leader signs the queue it found taken in. */
		if (q->o.key != NULL && q->o.interval > 0 && taken < BATCH &&
		    bb_monotonic_ms() >= next_checkpoint) {
			checkpoint(q, c);
			next_checkpoint = bb_monotonic_ms() + 1000LL * q->o.interval;
		}
		if (taken < BATCH)
			pause_ms(q, POLL_MS);
	}
	atomic_store(&q->leads, false);
	db_disconnect(c);
	return NULL;
}

bool
sequencer_leads(struct sequencer *q)
{
	return atomic_load(&q->leads);
}

struct sequencer *
sequencer_start(const struct sequencer_opts *o)
{
	struct sequencer *q = bb_calloc(1, sizeof(*q));

	q->o = *o;
	atomic_init(&q->leads, false);
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	if (pthread_create(&q->thread, NULL, run, q) != 0) {
		pthread_mutex_destroy(&q->lock);
		pthread_cond_destroy(&q->wake);
		free(q);
		return NULL;
	}
	return q;
}

void
sequencer_stop(struct sequencer *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->wake);
	free(q);
}
