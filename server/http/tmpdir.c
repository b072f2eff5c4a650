/* tmpdir.c — the daemon's temporary directory and anonymous files in it. */
#define _GNU_SOURCE /* O_TMPFILE (open(2)), mkostemp(3) */
#include "http/tmpdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

const char *
tmpdir_path(void)
{
	const char *dir = getenv("TMPDIR");

	return dir != NULL && dir[0] == '/' ? dir : "/tmp";
}

int
tmpdir_file(void)
{
	const char *dir = tmpdir_path();
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	/* EISDIR or EOPNOTSUPP: a kernel or file system without O_TMPFILE. Any other
	 * reason (no such directory, no space, no right) would fail mkstemp too. */
	if (fd >= 0 || (errno != EISDIR && errno != EOPNOTSUPP))
		return fd;
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/biobankd-XXXXXX", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0 && unlink(path) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}
