/*
 * listener.h — a one-connection loopback peer for the printer and client
 * tests: a raw port-9100 printer, an HTTP endpoint, or one that misbehaves
 * (hangs, slams the connection). Not a biobankd: it knows no routes.
 *
 * Nothing here blocks without a bound: the peer waits for its connection and
 * for each read at most PEER_WAIT_MS, and peer_stop() wakes it at once, so a
 * client that fails before connecting (or a test that goes wrong) costs a
 * failed check, never a hung test program.
 */
#ifndef LBL_TEST_LISTENER_H
#define LBL_TEST_LISTENER_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "biobank.h"

enum { PEER_WAIT_MS = 60000 }; /* the longest the peer waits for anything: a hang guard */

enum peer_mode {
	PEER_RAW,         /* read to EOF, then close: a well-behaved printer */
	PEER_HTTP_OK,     /* read one request, keep its body, answer 200 */
	PEER_HTTP_401,    /* answer 401 with a problem+json body */
	PEER_HANG,        /* accept, never read, never close (until stopped) */
	PEER_CLOSE_EARLY, /* accept and reset the connection at once */
};

/* What a raw printer answers to ~HS (zpl_status.c), set after peer_start. */
enum peer_hs {
	HS_READY,      /* all flags clear */
	HS_PAPER_OUT,  /* string 1, field b */
	HS_PAUSED,     /* string 1, field c */
	HS_HEAD_OPEN,  /* string 2, field o */
	HS_RIBBON_OUT, /* string 2, field p */
	HS_SILENT,     /* reads ~HS and never answers */
	HS_GARBAGE,    /* answers something that is not a status */
};

struct peer {
	enum peer_mode mode;
	enum peer_hs hs;
	bool asked_status; /* the client sent ~HS */
	int lfd, port;
	int wake[2]; /* peer_stop() writes to wake[1]: the peer gives up waiting */
	pthread_t th;
	bool running;           /* th was started and not yet joined */
	bool accepted;          /* a client connected (read after peer_stop) */
	struct bb_buf got;      /* raw bytes or HTTP body */
	char request_line[256]; /* HTTP only */
};

static long long
peer_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is readable (true), or until peer_stop() or the deadline (false). */
static bool
peer_wait(struct peer *p, int fd, long long deadline)
{
	for (;;) {
		struct pollfd pf[2] = { { .fd = p->wake[0], .events = POLLIN },
			                { .fd = fd, .events = POLLIN } };
		long long left = deadline - peer_now_ms();
		int rc;

		if (left <= 0)
			return false;
		rc = poll(pf, fd >= 0 ? 2 : 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0 || pf[0].revents)
			return false;
		if (pf[1].revents)
			return true;
	}
}

/* read(2) bounded by the deadline and by peer_stop(); 0 at EOF, -1 when cut short. */
static ssize_t
peer_read(struct peer *p, int fd, void *buf, size_t n, long long deadline)
{
	for (;;) {
		ssize_t r;

		if (!peer_wait(p, fd, deadline))
			return -1;
		r = recv(fd, buf, n, MSG_DONTWAIT);
		if (r >= 0)
			return r;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
	}
}

static void
peer_http(struct peer *p, int fd, long long deadline)
{
	static const char problem[] = "{\"type\":\"about:blank\",\"title\":\"Unauthorized\","
	                              "\"status\":401,\"detail\":\"bad\"}";
	struct bb_buf req = { 0 };
	char buf[65536], reply[512];
	char *end = NULL;
	size_t clen = 0;
	ssize_t r;

	while (end == NULL && (r = peer_read(p, fd, buf, sizeof(buf), deadline)) > 0) {
		bb_buf_append(&req, buf, (size_t)r);
		end = strstr(req.data, "\r\n\r\n");
	}
	if (end == NULL) {
		bb_buf_free(&req);
		return;
	}
	const char *cl = strcasestr(req.data, "\r\ncontent-length:");
	size_t head = (size_t)(end + 4 - req.data);

	if (cl)
		clen = (size_t)strtoul(cl + 17, NULL, 10);
	while (req.len - head < clen && (r = peer_read(p, fd, buf, sizeof(buf), deadline)) > 0)
		bb_buf_append(&req, buf, (size_t)r);
	bb_buf_append(&p->got, req.data + head, req.len - head);
	snprintf(p->request_line, sizeof(p->request_line), "%.*s", (int)strcspn(req.data, "\r"),
	         req.data);
	bb_buf_free(&req);
	if (p->mode == PEER_HTTP_OK)
		snprintf(reply, sizeof(reply),
		         "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	else
		snprintf(reply, sizeof(reply),
		         "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/problem+json\r\n"
		         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		         strlen(problem), problem);
	/* A client that gave up has closed: no SIGPIPE for the test program. The
	 * reply is far smaller than any socket buffer, so this cannot block. */
	if (send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return;
}

/* Answers a ~HS that starts the connection and takes it out of got, so that
 * got holds the job alone; false when the peer is to stay silent. */
static bool
peer_status(struct peer *p, int fd)
{
	/* Two 1.0-style status strings, flags in the documented places. */
	char reply[256];

	if (p->asked_status || p->got.len < 3 || memcmp(p->got.data, "~HS", 3) != 0)
		return true;
	p->asked_status = true;
	memmove(p->got.data, p->got.data + 3, p->got.len - 3);
	p->got.len -= 3;
	if (p->hs == HS_SILENT)
		return false;
	if (p->hs == HS_GARBAGE)
		snprintf(reply, sizeof(reply), "HTTP/1.0 400 Bad Request\r\n\r\n");
	else
		snprintf(reply, sizeof(reply),
		         "\x02"
		         "030,%d,%d,0406,000,0,0,0,000,0,0,0\x03\r\n"
		         "\x02"
		         "001,0,%d,%d,1,2,6,0,00000000,1,000\x03\r\n"
		         "\x02"
		         "1234,0\x03\r\n",
		         p->hs == HS_PAPER_OUT, p->hs == HS_PAUSED, p->hs == HS_HEAD_OPEN,
		         p->hs == HS_RIBBON_OUT);
	return send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT) > 0;
}

static void *
peer_main(void *arg)
{
	struct peer *p = arg;
	long long deadline = peer_now_ms() + PEER_WAIT_MS;
	char buf[65536];
	ssize_t r;
	int fd;

	if (!peer_wait(p, p->lfd, deadline))
		return NULL; /* nobody connected */
	if ((fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return NULL;
	p->accepted = true;
	deadline = peer_now_ms() + PEER_WAIT_MS;
	switch (p->mode) {
	case PEER_RAW:
		while ((r = peer_read(p, fd, buf, sizeof(buf), deadline)) > 0) {
			bb_buf_append(&p->got, buf, (size_t)r);
			if (!peer_status(p, fd)) {
				peer_wait(p, -1, deadline); /* silent: until peer_stop() */
				break;
			}
		}
		break;
	case PEER_HTTP_OK:
	case PEER_HTTP_401:
		peer_http(p, fd, deadline);
		break;
	case PEER_HANG:
		peer_wait(p, -1, deadline); /* until peer_stop() */
		break;
	case PEER_CLOSE_EARLY: {
		struct linger lg = { 1, 0 }; /* close with RST, like a crashed printer */

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		break;
	}
	}
	close(fd);
	return NULL;
}

/* A peer whose ~HS answer is hs (a raw printer in another state). */
static bool
peer_start_hs(struct peer *p, enum peer_mode mode, enum peer_hs hs)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	memset(p, 0, sizeof(*p));
	p->mode = mode;
	p->hs = hs;
	p->wake[0] = p->wake[1] = -1;
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->lfd < 0 || pipe2(p->wake, O_CLOEXEC) < 0 ||
	    bind(p->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(p->lfd, 4) < 0 ||
	    getsockname(p->lfd, (struct sockaddr *)&a, &len) < 0)
		return false;
	p->port = ntohs(a.sin_port);
	p->running = pthread_create(&p->th, NULL, peer_main, p) == 0;
	return p->running;
}

__attribute__((unused)) static bool
peer_start(struct peer *p, enum peer_mode mode)
{
	return peer_start_hs(p, mode, HS_READY);
}

/*
 * Ends the peer: wakes it if it still waits (for a connection that will not
 * come, or in PEER_HANG), joins it and closes its descriptors. What it
 * received stays in p->got and p->request_line until peer_free().
 * Call it once the client is done with the peer.
 */
static void
peer_stop(struct peer *p)
{
	if (p->running) {
		if (write(p->wake[1], "x", 1) < 0)
			perror("peer_stop: write");
		pthread_join(p->th, NULL);
		p->running = false;
	}
	for (int *fd = &p->wake[0]; fd <= &p->wake[1]; fd++) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	if (p->lfd >= 0)
		close(p->lfd);
	p->lfd = -1;
}

static void
peer_free(struct peer *p)
{
	peer_stop(p);
	bb_buf_free(&p->got);
}

/*
 * A port nothing listens on: a socket bound to it but not listening, so the
 * kernel refuses connections. It stays open until the program exits so that
 * no other process (tests run in parallel) can take the port meanwhile.
 */
__attribute__((unused)) static int
peer_dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("peer_dead_port");
		exit(1);
	}
	return ntohs(a.sin_port);
}

/* A listening loopback socket on a free port, for a peer started with peer_start_on. */
__attribute__((unused)) static int
listen_socket(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("listen_socket");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* The peer of listener.h on a listening socket the test keeps (one client per peer). */
__attribute__((unused)) static bool
peer_start_on_hs(struct peer *p, enum peer_mode mode, enum peer_hs hs, int lfd, int port)
{
	memset(p, 0, sizeof(*p));
	p->mode = mode;
	p->hs = hs;
	p->wake[0] = p->wake[1] = -1;
	p->lfd = dup(lfd);
	p->port = port;
	if (p->lfd < 0 || pipe2(p->wake, O_CLOEXEC) < 0)
		return false;
	p->running = pthread_create(&p->th, NULL, peer_main, p) == 0;
	return p->running;
}

__attribute__((unused)) static bool
peer_start_on(struct peer *p, enum peer_mode mode, int lfd, int port)
{
	return peer_start_on_hs(p, mode, HS_READY, lfd, port);
}

#endif
