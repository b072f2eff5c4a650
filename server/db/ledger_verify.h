/*
 * ledger_verify.h — recompute every specimen's hash chain from the stored
 * events, in C, trusting nothing PostgreSQL computed, and name the first
 * event that was changed, removed or reordered.
 */
#ifndef SRV_LEDGER_VERIFY_H
#define SRV_LEDGER_VERIFY_H

#include "db/db.h"

extern const struct db_stmt db_ledger_statements[];

struct ledger_break {
	char specimen[16];
	int seq;
	const char *reason; /* "changed", "missing", "reordered", "diverged" (row vs events) */
	char detail[240];
};

enum { LEDGER_BREAKS_MAX = 32 };

struct ledger_report {
	bool ok;
	long long specimens, events;
	long long broken;                              /* chains with a bad event */
	struct ledger_break breaks[LEDGER_BREAKS_MAX]; /* the first bad event of the first chains */
	size_t nbreaks;
};

/* Streams all events over c (which has the statements prepared). */
enum bb_err ledger_verify(struct db_conn *c, struct ledger_report *out);

#endif
