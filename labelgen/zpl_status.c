/*
 * zpl_status.c — asking a Zebra printer whether it can print before giving it
 * a job: ~HS ("host status") answers three framed strings,
 *   <STX>aaa,b,c,dddd,eee,f,g,h,iii,j,k,l<ETX><CR><LF>
 *   <STX>mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www<ETX><CR><LF>
 *   <STX>xxxx,y<ETX><CR><LF>
 * where b is paper out, c paused, k and l the head too cold and too hot, o
 * the head open (up) and p ribbon out (ZPL II Programming Guide, ~HS).
 */
#include "lbl_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { STX = 0x02, ETX = 0x03, HS_MAX = 512 };

/* The comma-separated field i (0-based) of one status string, or -1. */
static int
hs_field(const char *s, size_t len, int i, char *out, size_t cap)
{
	size_t at = 0, n;

	for (int k = 0; k < i; k++) {
		const char *c = memchr(s + at, ',', len - at);

		if (c == NULL)
			return -1;
		at = (size_t)(c - s) + 1;
	}
	n = strcspn(s + at, ",");
	if (at + n > len)
		n = len - at;
	if (n == 0 || n >= cap)
		return -1;
	memcpy(out, s + at, n);
	out[n] = '\0';
	return 0;
}

/* A flag field: 0 or 1, else the answer is not a status. */
static int
hs_flag(const char *s, size_t len, int i)
{
	char f[8];

	if (hs_field(s, len, i, f, sizeof(f)) < 0 || (strcmp(f, "0") != 0 && strcmp(f, "1") != 0))
		return -1;
	return f[0] == '1';
}

int
lbl_zpl_status_parse(const char *text, size_t len, char *state, size_t cap)
{
	const char *str[3];
	size_t slen[3], n = 0, at = 0;
	int paper, paused, cold, hot, head, ribbon;

	state[0] = '\0';
	/* An answer starts with its first string: anything else is another protocol. */
	if (len > 0 && text[0] != STX)
		return -1;
	while (n < 3) {
		const char *stx = memchr(text + at, STX, len - at), *etx;

		if (stx == NULL)
			break;
		etx = memchr(stx, ETX, len - (size_t)(stx - text));
		if (etx == NULL)
			break;
		str[n] = stx + 1;
		slen[n++] = (size_t)(etx - stx - 1);
		at = (size_t)(etx - text) + 1;
	}
	if (n < 3)
		return 0;
	paper = hs_flag(str[0], slen[0], 1);
	paused = hs_flag(str[0], slen[0], 2);
	cold = hs_flag(str[0], slen[0], 10);
	hot = hs_flag(str[0], slen[0], 11);
	head = hs_flag(str[1], slen[1], 2);
	ribbon = hs_flag(str[1], slen[1], 3);
	if (paper < 0 || paused < 0 || cold < 0 || hot < 0 || head < 0 || ribbon < 0)
		return -1;
	/* Every problem at once: a printer out of paper has often been paused too. */
	struct {
		int on;
		const char *what;
	} f[] = {
		{ head, "head open" }, { paper, "paper out" },  { ribbon, "ribbon out" },
		{ paused, "paused" },  { hot, "head too hot" }, { cold, "head too cold" },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		size_t used = strlen(state);

		if (f[i].on)
			snprintf(state + used, cap - used, "%s%s", used ? ", " : "", f[i].what);
	}
	return 1;
}

enum bb_err
lbl_zpl_status(int fd, const char *host, const char *port, int timeout_ms, char why[LBL_WHY_MAX])
{
	char buf[HS_MAX], state[128];
	size_t got = 0;
	long long deadline = lbl_now_ms() + timeout_ms;
	int parsed;

	if (send(fd, "~HS", 3, MSG_NOSIGNAL) != 3) {
		lbl_why(why, "printer %s:%s closed the connection before the status request: %s",
		        host, port, strerror(errno));
		return BB_EIO;
	}
	for (;;) {
		ssize_t r;

		if (!lbl_wait_fd(fd, POLLIN, deadline)) {
			lbl_why(
			    why,
			    "printer %s:%s did not answer the status request (~HS) within %d ms; "
			    "nothing was sent (for a printer without ~HS, add ?status=off)",
			    host, port, timeout_ms);
			return BB_EIO;
		}
		r = recv(fd, buf + got, HS_MAX - got, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			lbl_why(why,
			        "printer %s:%s closed the connection during the status request",
			        host, port);
			return BB_EIO;
		}
		got += (size_t)r;
		if ((parsed = lbl_zpl_status_parse(buf, got, state, sizeof(state))) != 0 ||
		    got == HS_MAX)
			break;
	}
	if (parsed <= 0) {
		lbl_why(why,
		        "printer %s:%s answered the status request (~HS) with something else; "
		        "nothing was sent",
		        host, port);
		return BB_EIO;
	}
	if (state[0] == '\0')
		return BB_OK;
	lbl_why(why, "printer %s:%s is not ready: %s; nothing was sent", host, port, state);
	return BB_ECONFLICT;
}
