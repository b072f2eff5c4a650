/*
 * listener.h — a one-connection loopback peer for the printer and client
 * tests: a raw port-9100 printer, an HTTP endpoint, or one that misbehaves
 * (hangs, slams the connection). Not a biobankd: it knows no routes.
 */
#ifndef LBL_TEST_LISTENER_H
#define LBL_TEST_LISTENER_H

#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "biobank.h"

enum peer_mode {
	PEER_RAW,         /* read to EOF, then close: a well-behaved printer */
	PEER_HTTP_OK,     /* read one request, keep its body, answer 200 */
	PEER_HTTP_401,    /* answer 401 with a problem+json body */
	PEER_HANG,        /* accept, never read, never close (until stopped) */
	PEER_CLOSE_EARLY, /* accept and reset the connection at once */
};

struct peer {
	enum peer_mode mode;
	int lfd, port;
	pthread_t th;
	struct bb_buf got;      /* raw bytes or HTTP body */
	char request_line[256]; /* HTTP only */
	volatile int stop;
};

static void *
peer_main(void *arg)
{
	struct peer *p = arg;
	char buf[65536];
	int fd = accept(p->lfd, NULL, NULL);
	ssize_t r;

	if (fd < 0)
		return NULL;
	switch (p->mode) {
	case PEER_RAW:
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			bb_buf_append(&p->got, buf, (size_t)r);
		break;
	case PEER_HTTP_OK:
	case PEER_HTTP_401: {
		struct bb_buf req = { 0 };
		char *end = NULL;
		size_t clen = 0;

		while (end == NULL && (r = read(fd, buf, sizeof(buf))) > 0) {
			bb_buf_append(&req, buf, (size_t)r);
			end = strstr(req.data, "\r\n\r\n");
		}
		if (end) {
			const char *cl = strcasestr(req.data, "\r\ncontent-length:");
			size_t head = (size_t)(end + 4 - req.data);

			if (cl)
				clen = (size_t)strtoul(cl + 17, NULL, 10);
			while (req.len - head < clen && (r = read(fd, buf, sizeof(buf))) > 0)
				bb_buf_append(&req, buf, (size_t)r);
			bb_buf_append(&p->got, req.data + head, req.len - head);
			snprintf(p->request_line, sizeof(p->request_line), "%.*s",
			         (int)strcspn(req.data, "\r"), req.data);
		}
		bb_buf_free(&req);
		static const char problem[] =
		    "{\"type\":\"about:blank\",\"title\":\"Unauthorized\","
		    "\"status\":401,\"detail\":\"bad\"}";
		char reply[512];

		if (p->mode == PEER_HTTP_OK)
			snprintf(reply, sizeof(reply),
			         "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
			         "Connection: close\r\n\r\n");
		else
			snprintf(reply, sizeof(reply),
			         "HTTP/1.1 401 Unauthorized\r\nContent-Type: "
			         "application/problem+json\r\n"
			         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			         strlen(problem), problem);
		if (write(fd, reply, strlen(reply)) < 0)
			break;
		break;
	}
	case PEER_HANG:
		while (!p->stop)
			usleep(20000);
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

static bool
peer_start(struct peer *p, enum peer_mode mode)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int one = 1;

	memset(p, 0, sizeof(*p));
	p->mode = mode;
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(p->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(p->lfd, 4) < 0 ||
	    getsockname(p->lfd, (struct sockaddr *)&a, &len) < 0)
		return false;
	p->port = ntohs(a.sin_port);
	return pthread_create(&p->th, NULL, peer_main, p) == 0;
}

/* A port nothing listens on: bound, then closed. */
static int
peer_dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	return ntohs(a.sin_port);
}

static void
peer_stop(struct peer *p)
{
	p->stop = 1;
	shutdown(p->lfd, SHUT_RDWR); /* wakes an accept() nobody connected to */
	pthread_join(p->th, NULL);
	close(p->lfd);
	bb_buf_free(&p->got);
}

#endif
