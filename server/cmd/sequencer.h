/*
 * sequencer.h — the transparency log's sequencer: a thread in every
 * biobankd serve, of which one at a time leads (a PostgreSQL advisory lock
 * on its own connection) and takes the queued custody events into the log
 * (db/tlog.c); the others stand by and take over when the leader's
 * connection ends (its daemon stopped or died). Writers never wait for it.
 * The leader also signs a checkpoint of the log when it takes the lead and
 * every interval seconds after, when the log grew (db/checkpoint.c).
 */
#ifndef SRV_SEQUENCER_H
#define SRV_SEQUENCER_H

#include <stdbool.h>

struct sequencer;

/* Everything here must outlive the sequencer. */
struct sequencer_opts {
	const char *conninfo;
	const struct note_key *key; /* signs a checkpoint every interval seconds; NULL: never */
	unsigned interval;          /* 0: never */
	const char *export_dir;     /* where checkpoints are written; NULL: nowhere */
};

/* Start the thread (after srv_block_signals: it must not take signals). NULL when it cannot. */
struct sequencer *sequencer_start(const struct sequencer_opts *o);
/* Does this daemon's sequencer lead now? */
bool sequencer_leads(struct sequencer *q);
/* Stop it and wait for it; its connection closes, giving the lead away. */
void sequencer_stop(struct sequencer *q);

#endif
