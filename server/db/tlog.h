/*
 * tlog.h — the transparency log in PostgreSQL (migrations/0021_tlog.sql):
 * the sequencer's batches, and the stored subtrees a root or a proof is
 * made of. The hashing is lib/merkle.c's; docs/ledger.md describes the log.
 */
#ifndef SRV_TLOG_H
#define SRV_TLOG_H

#include "db/db.h"
#include "merkle.h"

extern const struct db_stmt db_tlog_statements[];

/* What the sequencer keeps between its batches. */
struct tlog_seq {
	bool loaded;      /* false: read it again (tlog_load) before the next batch */
	bool backfilled;  /* the events older than the log are all in it */
	char last_id[16]; /* while backfilling: the event last taken in */
	int last_seq;
	struct mt_frontier f; /* the tree's right edge */
};

/*
 * Try to become the one sequencer: a session advisory lock, held until c
 * closes (or its daemon dies, which closes it). *leading tells whether c
 * holds it now.
 */
enum bb_err tlog_try_lead(struct db_conn *c, bool *leading);

/* Read the log's size, right edge and backfill position into s. */
enum bb_err tlog_load(struct db_conn *c, struct tlog_seq *s);

/*
 * Take at most max events into the log, in one statement: first the events
 * stored before the log existed, in (specimen, seq) order, then the queue
 * in the order it was written. *taken is the number of events read (less
 * than max: nothing more is waiting). On any error s is marked unloaded.
 */
enum bb_err tlog_sequence(struct db_conn *c, struct tlog_seq *s, int max, int *taken);

/* The log's size now. */
enum bb_err tlog_size(struct db_conn *c, uint64_t *size);

/*
 * The hashes of n ranges of the tree (a proof's, or mt_tree_range's for a
 * root), read in one query from the stored subtrees; out holds n × 32
 * bytes. BB_EINTERNAL (logged) when a subtree the range needs is not stored:
 * the log's tables were changed.
 */
enum bb_err tlog_range_hashes(struct db_conn *c, const struct mt_range *r, size_t n,
                              unsigned char *out);
/*
 * The same from subtrees read already: rows row.. of res, with level, index
 * and hex hash at columns col, col + 1 and col + 2 (bb_log_proof_nodes), so
 * that a proof takes one query with its target.
 */
enum bb_err tlog_range_hashes_in(const PGresult *res, int row, int col, const struct mt_range *r,
                                 size_t n, unsigned char *out);

#endif
