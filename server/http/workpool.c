/* workpool.c — threads and a bounded queue for long work (see workpool.h). */
#include "http/workpool.h"

#include "biobank.h"
#include "http/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct job {
	workpool_fn run, cancel;
	void *arg;
	struct job *next;
};

struct workpool_lease {
	struct workpool *p;
	long long since_ms; /* when its job took the slot */
};

struct workpool {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a job queued, a slot freed, or stopping: for the threads */
	pthread_cond_t idle; /* a slot freed: for workpool_wait_idle */
	unsigned slots, queue_max;
	unsigned busy;   /* slots taken: running jobs and leases */
	unsigned queued; /* jobs waiting, forced ones included */
	struct job *head, *tail;
	double mean_s; /* how long a slot is held, a moving average */
	unsigned long long done, refused;
	bool stopping;
	pthread_t *threads;
	unsigned nthreads;
};

/* The job this thread is running, for workpool_keep_slot. */
static __thread struct {
	struct workpool *p;
	long long since_ms; /* when it took its slot */
	struct workpool_lease *lease;
} current;

/* A slot given back after held_ms (locked). */
static void
slot_free(struct workpool *p, long long held_ms)
{
	double s = (double)held_ms / 1000.0;

	p->busy--;
	p->done++;
	/* Weighted towards the recent: the estimate follows a changing load. */
	p->mean_s = p->done == 1 ? s : 0.8 * p->mean_s + 0.2 * s;
	pthread_cond_signal(&p->work);
	pthread_cond_broadcast(&p->idle);
}

static void *
thread_main(void *arg)
{
	struct workpool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stopping && (p->head == NULL || p->busy >= p->slots))
			pthread_cond_wait(&p->work, &p->lock);
		if (p->head == NULL || p->busy >= p->slots)
			break; /* stopping, and workpool_stop has cancelled what was queued */
		struct job *j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->queued--;
		p->busy++;
		pthread_mutex_unlock(&p->lock);

		current.p = p;
		current.since_ms = bb_monotonic_ms();
		current.lease = NULL;
		j->run(j->arg);
		/* A kept slot goes on, held by its lease, which may already have
		 * ended on another thread (a short stream sent at once): not touched. */
		bool kept = current.lease != NULL;
		long long since = current.since_ms;
		current.p = NULL;
		current.lease = NULL;
		free(j);

		pthread_mutex_lock(&p->lock);
		if (!kept)
			slot_free(p, bb_monotonic_ms() - since);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct workpool *
workpool_new(unsigned slots, unsigned queue_max)
{
	struct workpool *p = bb_calloc(1, sizeof(*p));

	p->slots = slots;
	p->queue_max = queue_max;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->threads = bb_calloc(slots, sizeof(*p->threads));
	for (unsigned i = 0; i < slots; i++) {
		int rc = pthread_create(&p->threads[p->nthreads], NULL, thread_main, p);

		if (rc != 0) {
			/* Fewer threads serve the same slots, more slowly: not fatal. */
			log_warnx("%s: %u of %u long-work threads started (error %d)", __func__,
			          p->nthreads, slots, rc);
			break;
		}
		p->nthreads++;
	}
	if (p->nthreads == 0)
		fatalx("%s: no thread for long work", __func__);
	return p;
}

bool
workpool_submit(struct workpool *p, workpool_fn run, workpool_fn cancel, workpool_fn admitted,
                void *arg, bool force)
{
	pthread_mutex_lock(&p->lock);
	if (p->stopping || (!force && p->queued >= p->queue_max &&
	                    /* a job that finds a free slot does not wait */
	                    p->busy + p->queued >= p->slots)) {
		p->refused++;
		pthread_mutex_unlock(&p->lock);
		return false;
	}
	struct job *j = bb_calloc(1, sizeof(*j));
	j->run = run;
	j->cancel = cancel;
	j->arg = arg;
	/* Before a thread can see it: the caller's connection must be suspended
	 * before the job can resume it. */
	if (admitted != NULL)
		admitted(arg);
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->queued++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	return true;
}

unsigned
workpool_retry_after(struct workpool *p)
{
	pthread_mutex_lock(&p->lock);
	/* The queue ahead, worked off slots at a time at the recent pace. */
	double s = p->mean_s * (double)(p->queued + p->busy) / (double)p->slots;
	pthread_mutex_unlock(&p->lock);
	if (s < 1)
		return 1;
	return s > 120 ? 120 : (unsigned)(s + 0.999);
}

struct workpool_lease *
workpool_keep_slot(struct workpool *p)
{
	if (current.p != p || p == NULL)
		return NULL;
	if (current.lease == NULL) {
		current.lease = bb_calloc(1, sizeof(*current.lease));
		current.lease->p = p;
		current.lease->since_ms = current.since_ms;
	}
	return current.lease;
}

void
workpool_lease_end(struct workpool_lease *l)
{
	if (l == NULL)
		return;
	struct workpool *p = l->p;
	pthread_mutex_lock(&p->lock);
	slot_free(p, bb_monotonic_ms() - l->since_ms);
	pthread_mutex_unlock(&p->lock);
	free(l);
}

void
workpool_stats(struct workpool *p, struct workpool_stats *out)
{
	pthread_mutex_lock(&p->lock);
	out->slots = p->slots;
	out->busy = p->busy;
	out->queued = p->queued;
	out->done = p->done;
	out->refused = p->refused;
	pthread_mutex_unlock(&p->lock);
}

void
workpool_stop(struct workpool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	struct job *j = p->head;
	p->head = p->tail = NULL;
	p->queued = 0;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	while (j != NULL) {
		struct job *next = j->next;

		if (j->cancel != NULL)
			j->cancel(j->arg);
		free(j);
		j = next;
	}
}

bool
workpool_wait_idle(struct workpool *p, long long deadline_ms)
{
	bool idle;

	pthread_mutex_lock(&p->lock);
	while (p->busy > 0 && bb_monotonic_ms() < deadline_ms) {
		struct timespec until = bb_deadline_after_ms(deadline_ms - bb_monotonic_ms());
		pthread_cond_timedwait(&p->idle, &p->lock, &until);
	}
	idle = p->busy == 0;
	pthread_mutex_unlock(&p->lock);
	return idle;
}

void
workpool_free(struct workpool *p)
{
	if (p == NULL)
		return;
	workpool_stop(p);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	pthread_cond_destroy(&p->idle);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
