/*
 * ledger_verify.h — recompute every specimen's hash chain from the stored
 * events, in C, trusting nothing PostgreSQL computed, and name the first
 * event that was changed, removed or reordered; then check the
 * transparency log against the events as they are now: every event in it,
 * every entry's event still there and still giving the entry's leaf, and the
 * tree of the events' leaves giving the root of every signed checkpoint
 * (docs/ledger.md, "Verifying").
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
};

struct ledger_report {
	bool ok;
	long long specimens, events;
	long long entries;     /* log entries checked */
	long long checkpoints; /* checkpoints the log was held to */
	long long broken;      /* chains with a bad event, and findings about the log */
	struct ledger_break breaks[LEDGER_BREAKS_MAX]; /* the first findings */
	size_t nbreaks;
};

/* Streams all events and log entries over c (which has the statements prepared), in one
 * snapshot. o may be NULL. */
enum bb_err ledger_verify(struct db_conn *c, const struct ledger_verify_opts *o,
                          struct ledger_report *out);

#endif
