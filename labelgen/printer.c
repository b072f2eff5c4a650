/*
 * printer.c — getting bytes to a printer: raw TCP (port 9100, as JetDirect and
 * Zebra printers take it), HTTP POST (Zebra Link-OS /pstprnt) or a file. A
 * send succeeds only when the printer has taken every byte: over TCP we close
 * our side and wait for the printer to close its own, as the CUPS socket
 * backend does, so a printer that stops reading is reported, not assumed.
 * Over TCP the printer is first asked for its status (~HS, zpl_status.c) on
 * the same connection: a printer out of paper takes a job silently and
 * prints it whenever someone reloads it, long after the technician left.
 */
#include "curl_load.h"
#include "lbl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const DEFAULT_PORT = "9100";

long long
lbl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Splits "host:port", "[v6]:port" or "host" into its parts. */
static enum bb_err
split_host_port(const char *hp, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon;
	size_t n;

	if (hp[0] == '[') {
		const char *end = strchr(hp, ']');

		if (end == NULL)
			return BB_EINVAL;
		n = (size_t)(end - hp - 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return BB_EINVAL;
		hp++;
	} else {
		colon = strrchr(hp, ':');
		n = colon ? (size_t)(colon - hp) : strlen(hp);
	}
	if (n == 0 || n >= hostlen)
		return BB_EINVAL;
	memcpy(host, hp, n);
	host[n] = '\0';
	snprintf(port, portlen, "%s", colon && colon[1] ? colon + 1 : DEFAULT_PORT);
	return BB_OK;
}

/* Waits for events on fd until the deadline; false on timeout or error. */
bool
lbl_wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int rc;

	do {
		long long left = deadline - lbl_now_ms();

		if (left <= 0)
			return false;
		rc = poll(&p, 1, (int)left);
	} while (rc < 0 && errno == EINTR);
	return rc > 0;
}

static int
connect_to(const char *host, const char *port, int timeout_ms, char why[LBL_WHY_MAX])
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, rc, saved = 0;

	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		lbl_why(why, "printer %s:%s: %s", host, port, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		long long deadline = lbl_now_ms() + timeout_ms;
		int err = 0;
		socklen_t len = sizeof(err);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			if (!lbl_wait_fd(fd, POLLOUT, deadline))
				err = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
			if (err == 0)
				break;
		} else {
			err = errno;
		}
		saved = err;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		lbl_why(why, "printer %s:%s: cannot connect: %s", host, port,
		        saved == ETIMEDOUT ? "no answer within the timeout" : strerror(saved));
	return fd;
}

static enum bb_err
send_tcp(const char *hostport, bool check_status, const unsigned char *data, size_t len,
         int timeout_ms, char why[LBL_WHY_MAX])
{
	char host[256], port[32], sink[512];
	size_t off = 0;
	int fd;

	if (split_host_port(hostport, host, sizeof(host), port, sizeof(port))) {
		lbl_why(why, "printer address \"%s\" is not HOST[:PORT]", hostport);
		return BB_EINVAL;
	}
	if ((fd = connect_to(host, port, timeout_ms, why)) < 0)
		return BB_EIO;
	if (check_status) {
		enum bb_err err = lbl_zpl_status(fd, host, port, timeout_ms, why);

		if (err != BB_OK) {
			close(fd);
			return err;
		}
	}
	while (off < len) {
		ssize_t w;

		if (!lbl_wait_fd(fd, POLLOUT, lbl_now_ms() + timeout_ms)) {
			lbl_why(why,
			        "printer %s:%s stopped taking data after %zu of %zu bytes (%d ms)",
			        host, port, off, len, timeout_ms);
			goto fail;
		}
		w = send(fd, data + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (w < 0) {
			lbl_why(why,
			        "printer %s:%s closed the connection after %zu of %zu bytes: %s",
			        host, port, off, len, strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	/* Our end of the job; the printer closes its end once it has read it all. */
	shutdown(fd, SHUT_WR);
	for (long long deadline = lbl_now_ms() + timeout_ms;;) {
		ssize_t r;

		if (!lbl_wait_fd(fd, POLLIN, deadline)) {
			lbl_why(
			    why,
			    "printer %s:%s did not confirm the job within %d ms (sent %zu bytes; "
			    "it may or may not print)",
			    host, port, timeout_ms, len);
			goto fail;
		}
		r = recv(fd, sink, sizeof(sink), 0); /* status the printer may send back */
		if (r == 0)
			break;
		if (r < 0 && errno != EAGAIN && errno != EINTR) {
			lbl_why(why, "printer %s:%s dropped the job: %s", host, port,
			        strerror(errno));
			goto fail;
		}
	}
	close(fd);
	return BB_OK;
fail:
	close(fd);
	return BB_EIO;
}

static size_t
discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

static enum bb_err
send_http(const char *uri, const void *data, size_t len, int timeout_ms, char why[LBL_WHY_MAX])
{
	char errbuf[CURL_ERROR_SIZE] = "";
	const struct lbl_curl *cu = lbl_curl(why);
	struct curl_slist *hdr;
	CURLcode rc;
	long status = 0;
	enum bb_err err = BB_OK;
	CURL *c;

	if (cu == NULL)
		return BB_EINTERNAL;
	hdr = cu->slist_append(NULL, "Content-Type: application/octet-stream");
	if ((c = cu->easy_init()) == NULL || hdr == NULL)
		bb_malloc((size_t)-1); /* libcurl could not allocate: abort per policy */
	cu->easy_setopt(c, CURLOPT_URL, uri);
	cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS */
	cu->easy_setopt(c, CURLOPT_POSTFIELDS, data);
	cu->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	cu->easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	cu->easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	cu->easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = cu->easy_perform(c);
	if (rc != CURLE_OK) {
		lbl_why(why, "printer %s: %s", uri, errbuf[0] ? errbuf : cu->easy_strerror(rc));
		err = BB_EIO;
	} else {
		cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (status < 200 || status > 299) {
			lbl_why(why, "printer %s answered HTTP %ld", uri, status);
			err = BB_EIO;
		}
	}
	cu->slist_free_all(hdr);
	cu->easy_cleanup(c);
	return err;
}

static enum bb_err
write_all(int fd, const unsigned char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return BB_EIO;
		data += w;
		len -= (size_t)w;
	}
	return BB_OK;
}

/* A regular file appears whole or not at all; a device (a USB printer's
 * /dev/usb/lp0) is written to directly. */
static enum bb_err
send_file(const char *path, const void *data, size_t len, char why[LBL_WHY_MAX])
{
	struct stat st;
	char *tmp;
	int fd;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 || write_all(fd, data, len)) {
			lbl_why(why, "printer file %s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			return BB_EIO;
		}
		close(fd);
		return BB_OK;
	}
	tmp = bb_asprintf("%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		lbl_why(why, "printer file %s: %s", path, strerror(errno));
		free(tmp);
		return BB_EIO;
	}
	bool written = write_all(fd, data, len) == BB_OK && fsync(fd) == 0;

	if (close(fd) < 0)
		written = false;
	if (!written || rename(tmp, path) < 0) {
		lbl_why(why, "printer file %s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return BB_EIO;
	}
	free(tmp);
	return BB_OK;
}

enum bb_err
lbl_printer_send(const char *uri, const void *data, size_t len, int timeout_ms,
                 char why[LBL_WHY_MAX])
{
	why[0] = '\0';
	if (timeout_ms <= 0)
		timeout_ms = 10000;
	if (strncmp(uri, "tcp://", 6) == 0) {
		char hp[300];
		const char *rest = uri + 6 + strcspn(uri + 6, "/?");
		bool check = true;

		snprintf(hp, sizeof(hp), "%.*s", (int)(rest - uri - 6), uri + 6);
		/* A printer that speaks ZPL but not ~HS (an emulator, a converter box). */
		if (strcmp(rest, "?status=off") == 0 || strcmp(rest, "/?status=off") == 0)
			check = false;
		else if (*rest != '\0' && strcmp(rest, "/") != 0) {
			lbl_why(
			    why,
			    "printer \"%s\": after tcp://HOST[:PORT] only ?status=off may follow",
			    uri);
			return BB_EINVAL;
		}
		return send_tcp(hp, check, data, len, timeout_ms, why);
	}
	if (strncmp(uri, "http://", 7) == 0 || strncmp(uri, "https://", 8) == 0)
		return send_http(uri, data, len, timeout_ms, why);
	if (strncmp(uri, "file:", 5) == 0 && uri[5] != '\0')
		return send_file(uri + 5, data, len, why);
	lbl_why(why, "printer \"%s\" is not tcp://HOST[:PORT], http(s)://HOST/PATH or file:PATH",
	        uri);
	return BB_EINVAL;
}
