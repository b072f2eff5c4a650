/*
 * acceptor.c — one thread accepting connections for libmicrohttpd's pool
 * (see acceptor.h for why the pool does not accept for itself).
 */
#define _GNU_SOURCE /* accept4(2): the accepted socket is close-on-exec from the start */
#include "acceptor.h"

#include "biobank.h"
#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

/* The kernel caps it at net.core.somaxconn. */
#define LISTEN_BACKLOG 511
/* How long to wait before accepting again when out of descriptors or memory. */
#define RESOURCE_PAUSE_MS 100

struct acceptor {
	struct MHD_Daemon *daemon;
	int fd;
	atomic_bool stopping;
	pthread_t thread;
};

bool
acceptor_listen(const struct sockaddr *sa, socklen_t len, int *out_fd)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (sa->sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, sa, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return false;
	}
	*out_fd = fd;
	return true;
}

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static void *
accept_loop(void *arg)
{
	struct acceptor *a = arg;

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(a->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);

		if (fd >= 0) {
			/* Refused (connection or per-address limit): libmicrohttpd closes it. */
			(void)MHD_add_connection(a->daemon, fd, (struct sockaddr *)&ss, len);
			continue;
		}
		if (atomic_load(&a->stopping))
			break;
		switch (errno) {
		case EBADF:
		case EINVAL:
		case ENOTSOCK:
			log_warn("%s: the listening socket is gone; no new connections", __func__);
			return NULL;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			log_warn("%s: cannot accept for now", __func__);
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
acceptor_start(struct MHD_Daemon *d, int fd, struct acceptor **out)
{
	struct acceptor *a = bb_calloc(1, sizeof(*a));

	a->daemon = d;
	a->fd = fd;
	atomic_init(&a->stopping, false);
	if (pthread_create(&a->thread, NULL, accept_loop, a) != 0) {
		close(fd);
		free(a);
		return false;
	}
	*out = a;
	return true;
}

void
acceptor_stop(struct acceptor *a)
{
	if (a == NULL)
		return;
	atomic_store(&a->stopping, true);
	/* Wakes the thread out of accept4(2), which then fails with EINVAL. */
	shutdown(a->fd, SHUT_RDWR);
	pthread_join(a->thread, NULL);
	close(a->fd);
	free(a);
}
