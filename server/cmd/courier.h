/*
 * courier.h — takes this log's checkpoints to its witnesses (witnesses.h)
 * and keeps the cosignatures they answer (log_cosignatures, migration
 * 0025). A thread in every biobankd serve given witnesses; it works only
 * while its daemon's sequencer leads, so that one daemon at a time talks to
 * the witnesses. For each witness behind the newest checkpoint it sends
 * that checkpoint with the consistency proof from the size the witness last
 * cosigned, checks the cosignature with the witness's key before keeping
 * it, and notes every refusal (log_witness_state) — a witness that refuses
 * a consistent-looking log is the alarm that the log was rewritten
 * (docs/ledger.md, "Witnesses"). It holds a pooled connection only for its
 * reads and writes, never while it waits for a witness, and a witness that
 * is slow or down never delays a write or the sequencer.
 */
#ifndef SRV_COURIER_H
#define SRV_COURIER_H

#include "cmd/sequencer.h"
#include "cmd/witnesses.h"
#include "db/db.h"

extern const struct db_stmt courier_statements[];

/* Everything here must outlive the courier. */
struct courier_opts {
	struct db_pool *pool; /* prepared with courier_statements and db_tlog_statements */
	const struct witness *witnesses;
	size_t n;
	struct sequencer *seq; /* the courier works while it leads */
};

/* Start the thread (after srv_block_signals). NULL when it cannot. */
struct courier *courier_start(const struct courier_opts *o);
/* Stop it (a request under way is cut short) and wait for it. */
void courier_stop(struct courier *q);

#endif
