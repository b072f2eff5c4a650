/*
 * acceptor.c — one thread accepting connections for libmicrohttpd's pool
 * (see acceptor.h for why the pool does not accept for itself).
 */
#define _GNU_SOURCE /* accept4(2): the accepted socket is close-on-exec from the start */
#include "http/acceptor.h"

#include "biobank.h"
#include "http/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* How long to wait before accepting again when out of descriptors or memory. */
#define RESOURCE_PAUSE_MS 100

struct acceptor {
	struct MHD_Daemon *daemon;
	int fd;
	unsigned limit;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t room;  /* a connection closed, or stopping */
	unsigned open;        /* connections libmicrohttpd holds */
	bool stopping;
	bool failed;
};

bool
acceptor_open(const struct sockaddr *sa, socklen_t len, unsigned limit, struct acceptor **out)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	/* SOMAXCONN is what libmicrohttpd asked for; the kernel caps it at
	 * net.core.somaxconn. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (sa->sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, sa, len) != 0 || listen(fd, SOMAXCONN) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return false;
	}
	struct acceptor *a = bb_calloc(1, sizeof(*a));
	a->fd = fd;
	a->limit = limit;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->room, NULL);
	*out = a;
	return true;
}

void
acceptor_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                enum MHD_ConnectionNotificationCode code)
{
	struct acceptor *a = cls;

	(void)c;
	(void)socket_context;
	pthread_mutex_lock(&a->lock);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		a->open++;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && a->open > 0) {
		a->open--;
		pthread_cond_signal(&a->room);
	}
	pthread_mutex_unlock(&a->lock);
}

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Waits while libmicrohttpd holds as many connections as it may; false when stopping. */
static bool
wait_for_room(struct acceptor *a)
{
	bool go;

	pthread_mutex_lock(&a->lock);
	while (a->open >= a->limit && !a->stopping)
		pthread_cond_wait(&a->room, &a->lock);
	go = !a->stopping;
	pthread_mutex_unlock(&a->lock);
	return go;
}

static bool
is_stopping(struct acceptor *a)
{
	bool stopping;

	pthread_mutex_lock(&a->lock);
	stopping = a->stopping;
	pthread_mutex_unlock(&a->lock);
	return stopping;
}

static void
fail(struct acceptor *a)
{
	pthread_mutex_lock(&a->lock);
	a->failed = true;
	pthread_mutex_unlock(&a->lock);
	log_warn("accept: the listening socket is gone; stopping the daemon");
	kill(getpid(), SIGTERM);
}

static void *
accept_loop(void *arg)
{
	struct acceptor *a = arg;
	bool starved = false; /* logged once per spell without descriptors or memory */

	while (wait_for_room(a)) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(a->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);

		if (fd >= 0) {
			starved = false;
			/* Refused (per-address limit): libmicrohttpd closes it. */
			(void)MHD_add_connection(a->daemon, fd, (struct sockaddr *)&ss, len);
			continue;
		}
		switch (errno) {
		case EBADF:
		case EINVAL:
		case ENOTSOCK:
			/* EINVAL is also what acceptor_close's shutdown(2) brings. */
			if (!is_stopping(a))
				fail(a);
			return NULL;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			if (!starved)
				log_warn("accept: waiting for descriptors or memory");
			starved = true;
			pause_ms(RESOURCE_PAUSE_MS);
			break;
		default:
			/* EINTR, ECONNABORTED and the network errors of a pending
			 * connection that accept(2) passes on: that client is gone. */
			break;
		}
	}
	return NULL;
}

bool
acceptor_start(struct acceptor *a, struct MHD_Daemon *d)
{
	a->daemon = d;
	a->started = pthread_create(&a->thread, NULL, accept_loop, a) == 0;
	return a->started;
}

bool
acceptor_failed(struct acceptor *a)
{
	bool failed;

	pthread_mutex_lock(&a->lock);
	failed = a->failed;
	pthread_mutex_unlock(&a->lock);
	return failed;
}

void
acceptor_stop(struct acceptor *a)
{
	pthread_mutex_lock(&a->lock);
	bool was = a->stopping;
	a->stopping = true;
	pthread_cond_broadcast(&a->room);
	pthread_mutex_unlock(&a->lock);
	if (was)
		return;
	if (a->started) {
		/* Wakes the thread out of accept4(2), which then fails with EINVAL. */
		shutdown(a->fd, SHUT_RDWR);
		pthread_join(a->thread, NULL);
	}
	close(a->fd);
}

void
acceptor_free(struct acceptor *a)
{
	if (a == NULL)
		return;
	acceptor_stop(a);
	pthread_cond_destroy(&a->room);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
