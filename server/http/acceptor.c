/*
 * acceptor.c — one thread accepting connections for libmicrohttpd's pool
 * (see acceptor.h for why the pool does not accept for itself), and
 * keeping the rules of conns.h on the way in.
 */
#define _GNU_SOURCE /* accept4(2): the accepted socket is close-on-exec from the start */
#include "http/acceptor.h"

#include "biobank.h"
#include "http/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* How long to wait before accepting again when out of descriptors or memory. */
#define RESOURCE_PAUSE_MS 100
/* The longest the thread sleeps between sweeps for overdue request heads. */
#define TICK_MS 200
/* How often at most the log says what the rules of conns.h closed. */
#define REPORT_EVERY_S 60

struct acceptor {
	struct MHD_Daemon *daemon;
	struct conns *conns;
	int fd;
	pthread_t thread;
	bool started;
	atomic_bool stopping;
	atomic_bool failed;
};

bool
acceptor_open(const struct sockaddr *sa, socklen_t len, struct conns *conns, struct acceptor **out)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

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
	a->conns = conns;
	atomic_init(&a->stopping, false);
	atomic_init(&a->failed, false);
	*out = a;
	return true;
}

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static void
fail(struct acceptor *a)
{
	atomic_store(&a->failed, true);
	log_warn("accept: the listening socket is gone; stopping the daemon");
	kill(getpid(), SIGTERM);
}

/* Once a minute at most: what the rules closed since the last report. */
static void
report(struct acceptor *a, time_t *last, struct conns_stats *before)
{
	struct conns_stats now;
	time_t t = time(NULL);

	if (t - *last < REPORT_EVERY_S)
		return;
	*last = t;
	conns_stats(a->conns, &now);
	unsigned long long late = now.head_timeouts - before->head_timeouts,
	                   displaced = now.displaced - before->displaced,
	                   full = now.client_full - before->client_full;
	if (late + displaced + full > 0)
		log_info(
		    "connections: %llu closed without a request head in time, %llu displaced at "
		    "the limit, %llu refused over the per-client limit (%u open)",
		    late, displaced, full, now.open);
	*before = now;
}

/* Accept one pending connection if there is one; false when the socket is gone. */
static bool
accept_one(struct acceptor *a, bool *starved)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = accept4(a->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);

	if (fd >= 0) {
		*starved = false;
		switch (conns_admit(a->conns, fd, (struct sockaddr *)&ss, len)) {
		case CONNS_ADMITTED:
			/* Refused, libmicrohttpd has closed it. */
			if (MHD_add_connection(a->daemon, fd, (struct sockaddr *)&ss, len) !=
			    MHD_YES)
				conns_refused(a->conns, fd);
			break;
		case CONNS_CLIENT_FULL:
		case CONNS_NO_SLOT:
			close(fd);
			break;
		}
		return true;
	}
	switch (errno) {
	case EBADF:
	case EINVAL:
	case ENOTSOCK:
		/* EINVAL is also what acceptor_stop's shutdown(2) brings. */
		if (!atomic_load(&a->stopping))
			fail(a);
		return false;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		if (!*starved)
			log_warn("accept: waiting for descriptors or memory");
		*starved = true;
		pause_ms(RESOURCE_PAUSE_MS);
		return true;
	default:
		/* EAGAIN (nothing pending), EINTR, ECONNABORTED and the network
		 * errors of a pending connection that accept(2) passes on. */
		return true;
	}
}

static void *
accept_loop(void *arg)
{
	struct acceptor *a = arg;
	bool starved = false; /* logged once per spell without descriptors or memory */
	time_t last_report = time(NULL);
	struct conns_stats before;

	conns_stats(a->conns, &before);
	struct timespec swept = { 0 }, now;
	while (!atomic_load(&a->stopping)) {
		/* Every TICK_MS, not at every accept: a flood of connects would walk the list each
		 * time. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - swept.tv_sec) * 1000 + (now.tv_nsec - swept.tv_nsec) / 1000000 >=
		    TICK_MS) {
			conns_sweep(a->conns);
			report(a, &last_report, &before);
			swept = now;
		}
		/* At the limit with nothing to displace, clients wait in the kernel's queue. */
		if (!conns_wait_room(a->conns, TICK_MS))
			continue;
		struct pollfd p = { a->fd, POLLIN, 0 };
		if (poll(&p, 1, TICK_MS) <= 0)
			continue;
		if (!accept_one(a, &starved))
			return NULL;
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
	return atomic_load(&a->failed);
}

void
acceptor_stop(struct acceptor *a)
{
	if (atomic_exchange(&a->stopping, true))
		return;
	if (a->started) {
		/* Wakes the thread out of poll(2); accept4(2) then fails with EINVAL. */
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
	free(a);
}
