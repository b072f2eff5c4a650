/*
 * test_workpool.c — the long-work pool (server/http/workpool.c): at most
 * `slots` jobs run at once, at most queue_max wait, the rest are refused
 * unless forced; a job may keep its slot after it returns (a streamed
 * answer) and the next waits for it; stopping cancels what never started.
 */
#include "../harness.h"

#include "http/workpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct job {
	atomic_bool admitted, started, finished, cancelled, release;
	bool keep;
	struct workpool *p;
	struct workpool_lease *lease;
};

static atomic_int running, most_running;

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait up to 5 s for flag; its value then. */
static bool
wait_for(atomic_bool *flag)
{
	for (int i = 0; i < 500 && !atomic_load(flag); i++)
		sleep_ms(10);
	return atomic_load(flag);
}

static void
job_run(void *arg)
{
	struct job *j = arg;
	int now = atomic_fetch_add(&running, 1) + 1;

	if (now > atomic_load(&most_running))
		atomic_store(&most_running, now);
	atomic_store(&j->started, true);
	while (!atomic_load(&j->release))
		sleep_ms(5);
	if (j->keep)
		j->lease = workpool_keep_slot(j->p);
	atomic_fetch_sub(&running, 1);
	atomic_store(&j->finished, true);
}

static void
job_cancel(void *arg)
{
	atomic_store(&((struct job *)arg)->cancelled, true);
}

static void
job_admitted(void *arg)
{
	struct job *j = arg;

	/* Called before any thread can take the job. */
	if (!atomic_load(&j->started))
		atomic_store(&j->admitted, true);
}

static bool
submit(struct workpool *p, struct job *j, bool force)
{
	j->p = p;
	return workpool_submit(p, job_run, job_cancel, job_admitted, j, force);
}

int
main(void)
{
	struct workpool *p = workpool_new(2, 1);
	static struct job j[6];
	struct workpool_stats st;

	ok(submit(p, &j[0], false) && submit(p, &j[1], false), "two jobs for two slots");
	ok(atomic_load(&j[0].admitted) && atomic_load(&j[1].admitted),
	   "  each admitted before it could start");
	ok(wait_for(&j[0].started) && wait_for(&j[1].started), "  both run");
	ok(submit(p, &j[2], false), "a third waits in the queue (queue_max 1)");
	ok(!submit(p, &j[3], false), "a fourth is refused");
	ok(workpool_retry_after(p) >= 1, "  and told to come back in %u s",
	   workpool_retry_after(p));
	ok(submit(p, &j[4], true), "a forced one is queued all the same");
	workpool_stats(p, &st);
	ok(st.busy == 2 && st.queued == 2 && st.refused == 1, "busy 2, queued 2, refused 1");

	/* j[0] keeps its slot as a stream would: j[2] must wait for the lease. */
	j[0].keep = true;
	atomic_store(&j[0].release, true);
	ok(wait_for(&j[0].finished) && j[0].lease != NULL, "a job keeps its slot after it returns");
	sleep_ms(100);
	ok(!atomic_load(&j[2].started), "  and the next job waits for that slot");
	workpool_lease_end(j[0].lease);
	ok(wait_for(&j[2].started), "  until the lease ends");
	ok(workpool_keep_slot(p) == NULL, "a thread that runs no job has no slot to keep");

	atomic_store(&j[1].release, true);
	ok(wait_for(&j[4].started), "the forced job runs when a slot frees");
	is_int(atomic_load(&most_running), 2, "never more than two ran at once");

	/* Fill the queue again, then stop: the queued one is cancelled, not run. */
	ok(submit(p, &j[5], false), "one more queued");
	ok(!workpool_wait_idle(p, 0), "not idle while jobs run");
	workpool_stop(p);
	ok(atomic_load(&j[5].cancelled) && !atomic_load(&j[5].started),
	   "stopping cancels the job that never started");
	ok(!submit(p, &j[3], true), "a stopped pool takes nothing, forced or not");
	atomic_store(&j[2].release, true);
	atomic_store(&j[4].release, true);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long deadline = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 5000;
	ok(workpool_wait_idle(p, deadline), "the running jobs finish: idle");
	workpool_stats(p, &st);
	is_int(st.done, 4, "four jobs done");
	workpool_free(p);
	return tap_done();
}
