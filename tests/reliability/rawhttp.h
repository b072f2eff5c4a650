/*
 * rawhttp.h — HTTP over plain sockets, for tests that must control every
 * byte and every wait: the source address (127.0.0.x), a request sent in
 * pieces or never finished, and a deadline on the answer, so that a client
 * the daemon never serves is measured as such instead of hanging the test
 * (libcurl in testlib.c waits up to a minute to connect).
 */
#ifndef BB_TEST_RAWHTTP_H
#define BB_TEST_RAWHTTP_H

#include "rel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* A non-blocking TCP connection to 127.0.0.1:port from src (NULL: any), still
 * being made (connect's EINPROGRESS); -1 when the socket cannot be made. */
__attribute__((unused)) static int
raw_connect_from(int port, const char *src)
{
	struct sockaddr_in me = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons((uint16_t)port);
	if (src != NULL) {
		inet_pton(AF_INET, src, &me.sin_addr);
		if (bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait for events on fd until deadline (mono_ms); false on timeout or error. */
__attribute__((unused)) static bool
raw_wait(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - mono_ms();
		struct pollfd p = { fd, events, 0 };

		if (left <= 0)
			return false;
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
}

/* Send all of buf before deadline; false when the connection failed or time ran out. */
__attribute__((unused)) static bool
raw_send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN ||
		                     errno == EINTR)) {
			struct pollfd p = { fd, POLLOUT | POLLIN, 0 };
			long long left = deadline - mono_ms();

			/* An answer before the whole request went out: the server refused it. */
			if (left <= 0 || poll(&p, 1, (int)left) <= 0 || (p.revents & POLLIN))
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/*
 * Read the answer to a request sent with "Connection: close" until the
 * server closes or deadline passes; its status (0 when no status line came
 * in time), the answer (head and body, NUL-terminated, cut to outsz - 1) in
 * out if not NULL.
 */
__attribute__((unused)) static int
raw_read_answer(int fd, long long deadline, char *out, size_t outsz)
{
	char buf[4096], head[16] = "";
	size_t got = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n > 0) {
			if (got < sizeof(head) - 1) {
				size_t k = (size_t)n < sizeof(head) - 1 - got
				               ? (size_t)n
				               : sizeof(head) - 1 - got;
				memcpy(head + got, buf, k);
				head[got + k] = '\0';
			}
			if (out != NULL && got < outsz - 1) {
				size_t k =
				    (size_t)n < outsz - 1 - got ? (size_t)n : outsz - 1 - got;
				memcpy(out + got, buf, k);
				out[got + k] = '\0';
			}
			got += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			break;
		if (!raw_wait(fd, POLLIN, deadline))
			return 0;
	}
	int status = 0;
	if (sscanf(head, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
	return status;
}

/*
 * One request on a fresh connection from src, answered within timeout_ms:
 * the status, 0 when none came in time (or the connection failed). The
 * request must ask for "Connection: close".
 */
__attribute__((unused)) static int
raw_request(int port, const char *src, const char *req, size_t len, int timeout_ms, char *out,
            size_t outsz)
{
	long long deadline = mono_ms() + timeout_ms;
	int fd = raw_connect_from(port, src);
	int status = 0;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if (fd < 0)
		return 0;
	/* A server that refuses a request may answer and close before reading all
	 * of it: a failed send still leaves an answer to read. */
	if (raw_wait(fd, POLLOUT, deadline)) {
		raw_send_all(fd, req, len, deadline);
		status = raw_read_answer(fd, deadline, out, outsz);
	}
	close(fd);
	return status;
}

/* Raise the soft limit on descriptors to the hard one; the limit now in force. */
__attribute__((unused)) static long
raw_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (long)rl.rlim_cur;
}

__attribute__((unused)) static int
raw_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of n samples, which it sorts. */
__attribute__((unused)) static double
raw_percentile(double *v, int n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, (size_t)n, sizeof(v[0]), raw_cmp_double);
	int i = (int)(p / 100.0 * (n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

#endif
