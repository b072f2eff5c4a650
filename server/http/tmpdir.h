/*
 * tmpdir.h — the daemon's temporary directory and the anonymous files it
 * writes there: what an answer too large for memory is spooled through.
 */
#ifndef SRV_TMPDIR_H
#define SRV_TMPDIR_H

/* $TMPDIR when it names an absolute path, else /tmp (under systemd's PrivateTmp, the
 * service's own). */
const char *tmpdir_path(void);

/*
 * A new file in tmpdir_path() with no name, readable and writable by its
 * descriptor alone, and gone when the last descriptor closes: O_TMPFILE,
 * or, where the file system lacks it, mkstemp(3) then unlink(2). Returns
 * the descriptor, which the caller closes, or -1 with errno set.
 */
int tmpdir_file(void);

#endif
