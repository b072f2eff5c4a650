/*
 * ledger_verify_int.h — what the full and the incremental verify share
 * (server/db/ledger_verify*.c only): the findings of one chunk, the check of
 * a range of chains and of a range of the log.
 */
#ifndef SRV_LEDGER_VERIFY_INT_H
#define SRV_LEDGER_VERIFY_INT_H

#include "db/ledger_verify.h"
#include "merkle.h"

/* What one chunk found, in the order a single scan meets it. */
struct lv_found {
	long long specimens, events, entries, broken;
	struct ledger_break *breaks; /* the first LEDGER_BREAKS_MAX, allocated at the first */
	size_t nbreaks;
};

void lv_finding(struct lv_found *f, const char *specimen, int seq, long long index,
                const char *reason, const char *detail);
/* Add f's counts and as many of its findings as the report still holds. */
void lv_report_add(struct ledger_report *rep, const struct lv_found *f);
void lv_found_free(struct lv_found *f);

/* The events waiting in log_pending, read once per verify in its snapshot (a backlog
 * is not rehashed by every chunk), in an open-addressing table for lv_pending_has(). */
struct lv_pending_key {
	char id[16]; /* "": a free slot */
	int seq;
};
struct lv_pending {
	struct lv_pending_key *keys;
	size_t n, mask; /* mask + 1 slots, a power of two */
};
enum bb_err lv_pending_load(struct db_conn *c, struct lv_pending *out);
bool lv_pending_has(const struct lv_pending *p, const char *id, int seq);
void lv_pending_free(struct lv_pending *p);

/*
 * A multiset of log items (specimen, seq, leaf) kept as the sum, modulo
 * 2^128, of each item's SipHash-2-4 (128-bit output, a PRF) under a key drawn
 * at random for one verify. The events' sum and the log's are equal when the
 * two hold the same items, whatever order each was read in, and otherwise only
 * by a chance of about 2^-127: no one who can write the database knows the
 * key, so no one can make two different sets sum alike. This is what lets the
 * full verify read the events and the log each once, in the order they lie on
 * disk, instead of looking every event's entry up. (SipHash rather than a
 * cryptographic hash of the item: it is called 2 x 10^7 times, and a keyed PRF
 * is all the sum needs.)
 */
enum { LV_SUM_KEY_LEN = 16 };
struct lv_sum {
	uint64_t w[2]; /* little-endian limbs */
};
void lv_sum_add(struct lv_sum *s, const unsigned char *key, const char *specimen, int seq,
                const mt_hash leaf);
void lv_sum_merge(struct lv_sum *into, const struct lv_sum *s);

/* How lv_chains checks the chains it reads. */
struct lv_chain_opts {
	bool backfilled; /* every event is in the log or queued for it */
	/* Each chain starts at the first event returned rather than at 1, its first
	 * event's link is taken as verified before, and where the specimen stands is
	 * compared only when the events returned move it. */
	bool window;
	const struct lv_pending *pending;
	/* The summed mode: each event of the part of the log the caller reads adds its item to
	 * sum, which the caller compares with the log's — with from >= 0, the events at log
	 * index from or after; with from < 0 (the rows carry no index), every event that is
	 * not queued. */
	const unsigned char *key;
	struct lv_sum *sum;
	long long from;
	/* The index column carries each specimen's last seq logged before from (the
	 * incremental's summed check, db_ledger_touched_summed): the events after it are
	 * summed unless queued, and whether each is in the log is the sums' to say. */
	bool logged_before;
	/* The rows are not sorted: they come chain after chain in the order of the last
	 * column (a specimen's tid or rank), which each chain's first row must be after the
	 * last's, else the read fails rather than report chains cut in pieces. */
	bool ordered;
};

/* Check the chains the prepared statement stmt returns (the columns of
 * db_ledger_chains, each chain's events together and in seq order). */
enum bb_err lv_chains(struct db_conn *c, const char *stmt, int nparams, const char *const *params,
                      const struct lv_chain_opts *o, struct lv_found *out);

/* One range of the log, [start, end), read with db_ledger_log_range. */
struct lv_log_range {
	uint64_t start, end;
	bool lead_gap; /* report entries missing before the first one read (else the caller does) */
	bool open_end; /* leave entries missing at the end to the next range (which starts at
	                * f.size), rather than placing their leaves */
	/* The tree the range's leaves are appended to: the tree up to start, or
	 * an empty one for a range whose subtree the caller combines. */
	struct mt_frontier f;
	/* Called after the leaf at s - 1 for each checkpoint size s in (start, end], in
	 * order (sizes[i]); present: the log holds entry s - 1. */
	const uint64_t *sizes;
	size_t nsizes;
	void (*at_size)(void *arg, size_t i, const struct mt_frontier *f, bool present);
	void *arg;
	/* The summed mode: the stored leaves are taken as the events' (the entries' items go
	 * into sum, which the caller compares with the events'), and no event is read. */
	const unsigned char *key;
	struct lv_sum sum;
	/* Out: the first and last entries read (-1: none), the first's event. */
	long long first, last;
	char first_specimen[16];
	int first_seq;
};

enum bb_err lv_log(struct db_conn *c, struct lv_log_range *r, struct lv_found *out);
/* Begin a read-only transaction in a snapshot another connection exported, with the
 * verify's planner settings and no statement timeout. */
enum bb_err lv_join_snapshot(struct db_conn *c, const char *snapshot);

/* A checkpoint to hold the tree to, or the whole tree as verified (self). */
struct lv_cp {
	uint64_t size;
	mt_hash root;
	char source[160];
	char *note; /* as kept in log_checkpoints; NULL for one from a file */
	bool self;  /* not signed: its root is wanted for the record, not compared */
	bool present, held;
	mt_hash got; /* the root of the events' tree at size */
};

/* The checkpoints given in o, then those kept in the database opened with o->key (one
 * that does not open is a finding), with one more free slot at the end; the caller
 * frees them with lv_checkpoints_free. */
enum bb_err lv_checkpoints(struct db_conn *c, const struct ledger_verify_opts *o,
                           struct lv_cp **out, size_t *n, struct lv_found *found);
void lv_checkpoints_free(struct lv_cp *cps, size_t n);
int lv_by_size(const void *a, const void *b); /* for qsort */

/* Record a good verify (kind "full" or "incremental") as starting at best (its size and
 * root, signed or the tree's own); nothing when best is NULL. */
enum bb_err lv_record(struct db_conn *c, const struct lv_cp *best, const char *kind,
                      const char *started, const struct ledger_report *rep, long long *id);

#endif
