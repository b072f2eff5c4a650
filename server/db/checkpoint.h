/*
 * checkpoint.h — signing the transparency log's state: its size and root
 * hash, checked first to be consistent with the last checkpoint kept (so
 * that a rewritten log is refused, never signed), signed as a C2SP
 * checkpoint (note.h), kept in log_checkpoints and written to the export
 * folder. Used by the sequencing daemon and by `biobankd checkpoint`.
 */
#ifndef SRV_CHECKPOINT_H
#define SRV_CHECKPOINT_H

#include "db/db.h"
#include "note.h"

/* Needs db_tlog_statements prepared on the same connection too. */
extern const struct db_stmt db_checkpoint_statements[];

struct checkpoint_made {
	uint64_t size;
	unsigned char root[NOTE_HASH_LEN];
	bool fresh;    /* a new checkpoint; false: the last one covers the log as it is */
	long long id;  /* its row in log_checkpoints (0 when not fresh) */
	bool exported; /* written to the folder */
	char file[512];
	char why[1024]; /* BB_ECONFLICT: why the log was not signed; or why it was not exported */
};

/*
 * Sign the log as it stands with k (k->secret), unless the last checkpoint
 * covers it already. dir: the export folder, or NULL. BB_ECONFLICT (why set,
 * logged) when the log is not consistent with the last checkpoint: smaller,
 * or another tree at the same or a later size. An export that fails is
 * logged and leaves exported false; the checkpoint is kept all the same.
 */
enum bb_err checkpoint_make(struct db_conn *c, const struct note_key *k, const char *dir,
                            struct checkpoint_made *out);

#endif
