/*
 * ledger_verify.h — recompute every specimen's hash chain from the stored
 * events, in C, trusting nothing PostgreSQL computed, and name the first
 * event that was changed, removed or reordered; then check the
 * transparency log against the events as they are now: every event in it,
 * every entry's event still there and still giving the entry's leaf, and the
 * tree of the events' leaves giving the root of every signed checkpoint
 * (docs/ledger.md, "Verifying").
 *
 * The full verify reads the ledger in chunks — specimen ID ranges for the
 * chains, aligned power-of-two index ranges for the log — over several
 * connections that all read one exported snapshot, so that the report is of
 * one state of the database however long it takes; the root is recomputed
 * from the chunks' subtree hashes. The incremental verify checks only what
 * the log gained since the last verify that found it good (recorded in
 * ledger_verifications, migration 0030): docs/operations.md, "Verifying the
 * ledger", says what it does not catch.
 */
#ifndef SRV_LEDGER_VERIFY_H
#define SRV_LEDGER_VERIFY_H

#include "db/db.h"
#include "note.h"

extern const struct db_stmt db_ledger_statements[];

struct ledger_break {
	char specimen[16]; /* "" for a finding about the log as a whole */
	int seq;
	long long index;    /* the event's index in the log; -1 when it has none */
	const char *reason; /* "changed", "missing", "reordered", "diverged" (row vs events),
	                     * "unlogged", "deleted", "rewritten" */
	char detail[240];
};

enum { LEDGER_BREAKS_MAX = 64 };

/* A signed checkpoint to hold the log to, as read and checked by the caller. */
struct ledger_checkpoint {
	uint64_t size;
	unsigned char root[NOTE_HASH_LEN];
	char source[160]; /* a file name, for the report */
};

struct ledger_verify_opts {
	const struct note_key
	    *key; /* checks the checkpoints kept in the database; NULL: skip them */
	const struct ledger_checkpoint *checkpoints; /* more, e.g. the export folder's */
	size_t ncheckpoints;
	/* The full verify's chunks and connections; 0 for each: the defaults below. */
	const char *conninfo;     /* for the connections besides the caller's */
	unsigned jobs;            /* connections reading chunks at once; 0: 1, the caller's */
	unsigned chunk_specimens; /* specimens (with their events) in one chunk */
	unsigned chunk_entries;   /* log entries in one chunk, a power of two */
	bool record;              /* write a good result to ledger_verifications */
	bool detailed;            /* look every event's entry up from the start (not summed) */
};

enum {
	LEDGER_CHUNK_SPECIMENS = 2000,  /* ~10^4 events: a few MB of rows at a time */
	LEDGER_CHUNK_ENTRIES = 1 << 14, /* ~10^4 entries */
	LEDGER_JOBS_MAX = 64,
};

struct ledger_report {
	bool ok;
	long long specimens, events;
	long long entries;     /* log entries checked */
	long long checkpoints; /* checkpoints the log was held to */
	long long broken;      /* chains with a bad event, and findings about the log */
	struct ledger_break breaks[LEDGER_BREAKS_MAX]; /* the first findings */
	size_t nbreaks;
	/* What the incremental verify started from, and the verify it recorded. */
	unsigned long long since_size; /* the log's size it took as verified */
	char since_at[40];             /* when that verify ran ("" for a full verify) */
	char last_full_at[40];         /* the last full verify that found the ledger good */
	long long recorded;            /* its row in ledger_verifications; 0: none */
	char error[300]; /* why it could not finish, when a chunk's connection failed */
	/* The full verify: the findings are the event-by-event check's (asked for, the log
	 * not yet backfilled, or run because the summed check found the ledger changed). */
	bool detailed, rechecked;
};

/* Reads all events and log entries over c (which has the statements prepared) and,
 * with o->jobs > 1, as many connections to o->conninfo, all in c's snapshot. o may be
 * NULL. */
enum bb_err ledger_verify(struct db_conn *c, const struct ledger_verify_opts *o,
                          struct ledger_report *out);

/*
 * Check only what is new since the last verify recorded as good: the stored
 * tree still has the root it had then (O(log n) stored subtrees), every log
 * entry after it still has its event's leaf and the tree of those leaves grown
 * from its frontier is the stored one, and the chains of the specimens those
 * events (or events written since and not in the log) belong to link to
 * what was verified. BB_ENOTFOUND when no verify was ever recorded.
 */
enum bb_err ledger_verify_since(struct db_conn *c, const struct ledger_verify_opts *o,
                                struct ledger_report *out);

#endif
