/* shutdown.c — the deadline of a stop, and leaving at it (see shutdown.h). */
#include "http/shutdown.h"

#include "cmd/config.h"
#include "http/conns.h"
#include "http/log.h"
#include "http/workpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct stop_watch {
	struct srv *s;
	long long deadline_ms;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool disarmed;
};

long long
stop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
stop_abandon(struct srv *s)
{
	struct workpool_stats w = { 0 };
	struct conns_stats c = { 0 };

	if (s->work != NULL)
		workpool_stats(s->work, &w);
	if (s->conns != NULL)
		conns_stats(s->conns, &c);
	log_warnx("shutdown_timeout (%u s) reached: abandoning %d requests in flight (%u running "
	          "on the long-work pool) and %u connections; exiting with status 1",
	          s->cfg->shutdown_timeout, atomic_load(&s->active), w.busy, c.open);
	/* Not exit(3): no atexit handler or destructor may wait on what is stuck. */
	_exit(1);
}

static void *
watch_main(void *arg)
{
	struct stop_watch *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->disarmed) {
		long long left = w->deadline_ms - stop_now_ms();

		if (left <= 0)
			stop_abandon(w->s);
		struct timespec until = bb_deadline_after_ms(left);
		pthread_cond_timedwait(&w->cond, &w->lock, &until);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct stop_watch *
stop_watch_arm(struct srv *s, long long deadline_ms)
{
	struct stop_watch *w = bb_calloc(1, sizeof(*w));

	w->s = s;
	w->deadline_ms = deadline_ms;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		/* srv_run still keeps its own deadline; only a hang after it goes unwatched. */
		log_warnx("%s: no thread to enforce shutdown_timeout", __func__);
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return NULL;
	}
	return w;
}

void
stop_watch_disarm(struct stop_watch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->disarmed = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
