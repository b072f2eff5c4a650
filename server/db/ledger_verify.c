/* ledger_verify.c — stream the ledger and check each specimen's chain. */
#include "db/ledger_verify.h"

#include "ledger.h"
#include "merkle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct db_stmt db_ledger_statements[] = {
	/* Both scans see one snapshot: the log is checked against the same events. */
	{ "db_ledger_snapshot", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY" },
	{ "db_ledger_log_state", "SELECT backfilled, size FROM log_state" },
	/* Every specimen, with or without events: one without any is a broken ledger too.
	 * With each event, its index in the log and whether it waits in the queue. */
	{ "db_ledger_scan",
	  "SELECT s.id, s.ledger_seq, encode(s.ledger_head, 'hex'), e.seq, e.type,"
	  "       (extract(epoch FROM e.at) * 1000000)::bigint, e.actor, e.from_box, e.from_pos,"
	  "       e.to_box, e.to_pos, e.reason, e.details::text, encode(e.prev_hash, 'hex'),"
	  "       encode(e.hash, 'hex'), s.status, b.barcode, bb_position_name(s.pos_row, "
	  "s.pos_col), e.format, l.idx,"
	  "       (e.specimen_id, e.seq) IN (SELECT p.specimen_id, p.seq FROM log_pending p)"
	  "  FROM specimens s LEFT JOIN boxes b ON b.id = s.box_id"
	  "  LEFT JOIN events e ON e.specimen_id = s.id"
	  "  LEFT JOIN log_entries l ON l.specimen_id = e.specimen_id AND l.seq = e.seq"
	  " ORDER BY s.id, e.seq" },
	/* The log in index order, with each entry's stored leaf and its event (NULL when gone). */
	{ "db_ledger_log_scan",
	  "SELECT l.idx, l.specimen_id, l.seq, encode(n.hash, 'hex'), e.format, e.type,"
	  "       (extract(epoch FROM e.at) * 1000000)::bigint, e.actor, e.from_box, e.from_pos,"
	  "       e.to_box, e.to_pos, e.reason, e.details::text, encode(e.prev_hash, 'hex')"
	  "  FROM log_entries l LEFT JOIN log_nodes n ON n.level = 0 AND n.idx = l.idx"
	  "  LEFT JOIN events e ON e.specimen_id = l.specimen_id AND e.seq = l.seq"
	  " ORDER BY l.idx" },
	{ "db_ledger_checkpoints", "SELECT id, note FROM log_checkpoints ORDER BY id" },
	{ NULL, NULL },
};

enum {
	COL_ID,
	COL_HEAD_SEQ,
	COL_HEAD,
	COL_SEQ,
	COL_TYPE,
	COL_AT,
	COL_ACTOR,
	COL_FROM_BOX,
	COL_FROM_POS,
	COL_TO_BOX,
	COL_TO_POS,
	COL_REASON,
	COL_DETAILS,
	COL_PREV,
	COL_HASH,
	COL_STATUS, /* the specimens row as it stands, to compare with the replay */
	COL_BOX,
	COL_POS,
	COL_FORMAT, /* the canonical bytes its hash was made with */
	COL_INDEX,  /* in the log; NULL when not (yet) in it */
	COL_QUEUED, /* waiting in log_pending */
};

/* One event as read, with its own copies of the text (rows are streamed one at a time). */
struct row {
	struct bb_event ev;
	unsigned char hash[BB_HASH_LEN];
	long long index; /* -1: not in the log */
	bool queued;
	struct bb_arena mem;
};

struct chain {
	char id[16];
	int head_seq;
	unsigned char head[BB_HASH_LEN];
	bool has_head;
	struct row *rows;
	size_t n, cap;
	/* The row's; "" for NULL. A status as long as the longest (entered_in_error, 16). */
	char status[32], box[80], pos[8];
};

static const char *
copy(struct bb_arena *a, PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : bb_arena_strdup(a, PQgetvalue(res, 0, col));
}

static void
chain_reset(struct chain *ch)
{
	for (size_t i = 0; i < ch->n; i++)
		bb_arena_free(&ch->rows[i].mem);
	ch->n = 0;
}

/* Record a finding (a chain's first bad event, or one about the log). */
static void
finding(struct ledger_report *rep, const char *specimen, int seq, long long index,
        const char *reason, const char *detail)
{
	rep->ok = false;
	rep->broken++;
	if (rep->nbreaks == LEDGER_BREAKS_MAX)
		return;
	struct ledger_break *b = &rep->breaks[rep->nbreaks++];
	snprintf(b->specimen, sizeof(b->specimen), "%s", specimen);
	b->seq = seq;
	b->index = index;
	b->reason = reason;
	snprintf(b->detail, sizeof(b->detail), "%s", detail);
}

/* The index in the log of a chain's event seq, or -1 (none, or no such event left). */
static long long
index_of(const struct chain *ch, int seq)
{
	for (size_t i = 0; i < ch->n; i++)
		if (ch->rows[i].ev.seq == seq)
			return ch->rows[i].index;
	return -1;
}

/* Record a chain's first bad event; the caller stops checking that chain. */
static void
bad(struct ledger_report *rep, const struct chain *ch, int seq, const char *reason,
    const char *detail)
{
	finding(rep, ch->id, seq, index_of(ch, seq), reason, detail);
}

/* Does hash h belong to an event after position i? Then the chain's order was changed. */
static bool
later_has(const struct chain *ch, size_t i, const unsigned char *h)
{
	for (size_t j = i + 1; j < ch->n; j++)
		if (memcmp(ch->rows[j].hash, h, BB_HASH_LEN) == 0)
			return true;
	return false;
}

static void
check_chain(const struct chain *ch, bool backfilled, struct ledger_report *rep)
{
	unsigned char prev[BB_HASH_LEN] = { 0 }, d[BB_HASH_LEN];
	char detail[sizeof(((struct ledger_break *)0)->detail)];

	if (ch->n == 0) {
		bad(rep, ch, 1, "missing", "the specimen has no custody events at all");
		return;
	}
	for (size_t i = 0; i < ch->n; i++) {
		const struct row *r = &ch->rows[i];
		int want = (int)i + 1;

		if (r->ev.seq != want) {
			snprintf(detail, sizeof(detail), "event %d is missing (next is %d)", want,
			         r->ev.seq);
			bad(rep, ch, want, "missing", detail);
			return;
		}
		if (bb_event_digest(&r->ev, d) != 0) {
			snprintf(detail, sizeof(detail),
			         "the event claims a format of its canonical bytes that does not "
			         "exist (%d)",
			         r->ev.format);
			bad(rep, ch, r->ev.seq, "changed", detail);
			return;
		}
		if (memcmp(d, r->hash, BB_HASH_LEN) != 0) {
			bool moved = later_has(ch, i, r->ev.prev_hash);
			bad(rep, ch, r->ev.seq, moved ? "reordered" : "changed",
			    moved ? "the event stands in another place than it was written in"
			          : "the event's fields no longer match its hash");
			return;
		}
		if (memcmp(r->ev.prev_hash, prev, BB_HASH_LEN) != 0) {
			bool moved = later_has(ch, i, r->ev.prev_hash);
			bad(rep, ch, r->ev.seq, moved ? "reordered" : "missing",
			    moved ? "the event follows one that was written after it"
			          : "the event before it was removed or replaced");
			return;
		}
		/* Once the backlog is in, every event is in the log or queued for it: one
		 * that is neither was inserted with the log's trigger disabled. */
		if (backfilled && r->index < 0 && !r->queued) {
			bad(rep, ch, r->ev.seq, "unlogged",
			    "the event is not in the transparency log and was never queued for "
			    "it: it was inserted behind the log's back");
			return;
		}
		memcpy(prev, r->hash, BB_HASH_LEN);
	}
	if (!ch->has_head || ch->head_seq != (int)ch->n ||
	    memcmp(ch->head, prev, BB_HASH_LEN) != 0) {
		snprintf(detail, sizeof(detail),
		         "the chain ends at event %zu but the specimen's last event is %d", ch->n,
		         ch->head_seq);
		bad(rep, ch, (int)ch->n + 1 > ch->head_seq ? (int)ch->n : (int)ch->n + 1, "missing",
		    detail);
	}
}

/*
 * The status each custody event leaves a specimen in; NULL for the events
 * that change neither status nor place (used, thawed, aliquoted, derived,
 * label_printed, received, consent_withdrawn, audit_confirmed,
 * audit_flagged, corrected, barcode_set). Kept with the functions that write them
 * (migrations/functions/specimens.sql, audits.sql, shipments.sql,
 * reports.sql): an event type that moves a tube belongs here too.
 */
static const char *
status_after(const char *type)
{
	static const struct {
		const char *type, *status;
	} effects[] = {
		{ "registered", "registered" },
		{ "stored", "in_storage" },
		{ "moved", "in_storage" },
		{ "returned", "in_storage" },
		{ "found", "in_storage" },
		{ "checked_out", "checked_out" },
		{ "shipped", "shipped" },
		{ "consumed", "consumed" },
		{ "destroyed", "destroyed" },
		{ "lost", "lost" },
		{ "entered_in_error", "entered_in_error" },
	};

	for (size_t i = 0; i < sizeof(effects) / sizeof(effects[0]); i++)
		if (type != NULL && strcmp(type, effects[i].type) == 0)
			return effects[i].status;
	return NULL;
}

/*
 * Replay a verified chain and compare where its events leave the specimen
 * with the specimens row: a row changed without an event (an UPDATE by the
 * owner, the guard triggers notwithstanding) keeps every hash intact.
 */
static void
check_state(const struct chain *ch, struct ledger_report *rep)
{
	const char *status = NULL, *box = "", *pos = "";
	char detail[sizeof(((struct ledger_break *)0)->detail)];

	for (size_t i = 0; i < ch->n; i++) {
		const struct bb_event *ev = &ch->rows[i].ev;
		const char *next = status_after(ev->type);

		if (next == NULL)
			continue;
		status = next;
		bool stored = strcmp(next, "in_storage") == 0;
		box = stored && ev->to_box != NULL ? ev->to_box : "";
		pos = stored && ev->to_pos != NULL ? ev->to_pos : "";
	}
	if (status == NULL)
		status = "registered";
	if (strcmp(status, ch->status) == 0 && strcmp(box, ch->box) == 0 &&
	    strcmp(pos, ch->pos) == 0)
		return;
	snprintf(detail, sizeof(detail),
	         "the specimen is %s%s%s%s%s but its events leave it %s%s%s%s%s", ch->status,
	         *ch->box ? " at " : "", ch->box, *ch->pos ? " " : "", ch->pos, status,
	         *box ? " at " : "", box, *pos ? " " : "", pos);
	bad(rep, ch, (int)ch->n, "diverged", detail);
}

static void
chain_start(struct chain *ch, PGresult *res)
{
	snprintf(ch->id, sizeof(ch->id), "%s", PQgetvalue(res, 0, COL_ID));
	ch->head_seq = atoi(PQgetvalue(res, 0, COL_HEAD_SEQ));
	ch->has_head = !PQgetisnull(res, 0, COL_HEAD) &&
	               bb_hex_decode(ch->head, BB_HASH_LEN, PQgetvalue(res, 0, COL_HEAD)) == 0;
	snprintf(ch->status, sizeof(ch->status), "%s", PQgetvalue(res, 0, COL_STATUS));
	snprintf(ch->box, sizeof(ch->box), "%s", PQgetvalue(res, 0, COL_BOX));
	snprintf(ch->pos, sizeof(ch->pos), "%s", PQgetvalue(res, 0, COL_POS));
}

/* One specimen's chain: its hashes first, then, when they hold, what it says. */
static void
check_specimen(const struct chain *ch, bool backfilled, struct ledger_report *rep)
{
	long long before = rep->broken;

	check_chain(ch, backfilled, rep);
	if (rep->broken == before)
		check_state(ch, rep);
	rep->specimens++;
}

static int
add_row(struct chain *ch, PGresult *res)
{
	if (PQgetisnull(res, 0, COL_SEQ))
		return 0; /* a specimen without events: checked as an empty chain */
	if (ch->n == ch->cap) {
		ch->cap = ch->cap ? ch->cap * 2 : 16;
		ch->rows = bb_realloc(ch->rows, ch->cap * sizeof(*ch->rows));
	}
	struct row *r = &ch->rows[ch->n++];
	memset(r, 0, sizeof(*r));
	struct bb_arena *a = &r->mem;
	r->ev.specimen_id = ch->id;
	r->ev.seq = atoi(PQgetvalue(res, 0, COL_SEQ));
	r->ev.format = atoi(PQgetvalue(res, 0, COL_FORMAT));
	r->ev.type = copy(a, res, COL_TYPE);
	r->ev.at_us = strtoll(PQgetvalue(res, 0, COL_AT), NULL, 10);
	r->ev.actor = copy(a, res, COL_ACTOR);
	r->ev.from_box = copy(a, res, COL_FROM_BOX);
	r->ev.from_pos = copy(a, res, COL_FROM_POS);
	r->ev.to_box = copy(a, res, COL_TO_BOX);
	r->ev.to_pos = copy(a, res, COL_TO_POS);
	r->ev.reason = copy(a, res, COL_REASON);
	r->ev.details = copy(a, res, COL_DETAILS);
	r->index =
	    PQgetisnull(res, 0, COL_INDEX) ? -1 : strtoll(PQgetvalue(res, 0, COL_INDEX), NULL, 10);
	r->queued = strcmp(PQgetvalue(res, 0, COL_QUEUED), "t") == 0;
	if (bb_hex_decode(r->ev.prev_hash, BB_HASH_LEN, PQgetvalue(res, 0, COL_PREV)) != 0 ||
	    bb_hex_decode(r->hash, BB_HASH_LEN, PQgetvalue(res, 0, COL_HASH)) != 0)
		return -1;
	return 0;
}

/* Stream the scan, row by row: the ledger may hold millions of events. */
static enum bb_err
scan(struct db_conn *c, bool backfilled, struct ledger_report *rep)
{
	PGconn *pg = db_pgconn(c);
	struct chain ch = { 0 };
	PGresult *res, *failed = NULL;

	if (pg == NULL)
		return BB_EDBDOWN;
	if (!PQsendQueryPrepared(pg, "db_ledger_scan", 0, NULL, NULL, NULL, 0))
		return db_result_error(c, "db_ledger_scan",
		                       PQmakeEmptyPGresult(pg, PGRES_FATAL_ERROR));
	PQsetSingleRowMode(pg);
	while ((res = PQgetResult(pg)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_SINGLE_TUPLE) {
			if (strcmp(PQgetvalue(res, 0, COL_ID), ch.id) != 0) {
				if (ch.id[0] != '\0')
					check_specimen(&ch, backfilled, rep);
				chain_reset(&ch);
				chain_start(&ch, res);
			}
			if (add_row(&ch, res) != 0) {
				/* Corrupt hex: make the digest comparison fail for this event. */
				ch.rows[ch.n - 1].hash[0] ^= 0xFF;
				rep->events++;
			} else if (!PQgetisnull(res, 0, COL_SEQ)) {
				rep->events++;
			}
		} else if (st != PGRES_TUPLES_OK && failed == NULL) {
			/* Kept to be read once the connection is drained (it may be closed then).
			 */
			failed = res;
			continue;
		}
		PQclear(res);
	}
	if (failed == NULL && ch.id[0] != '\0')
		check_specimen(&ch, backfilled, rep);
	chain_reset(&ch);
	free(ch.rows);
	return failed != NULL ? db_result_error(c, "db_ledger_scan", failed) : BB_OK;
}

/* ---- the transparency log ---- */

enum {
	LOG_IDX,
	LOG_SPECIMEN,
	LOG_SEQ,
	LOG_LEAF,
	LOG_FORMAT,
	LOG_TYPE,
	LOG_AT,
	LOG_ACTOR,
	LOG_FROM_BOX,
	LOG_FROM_POS,
	LOG_TO_BOX,
	LOG_TO_POS,
	LOG_REASON,
	LOG_DETAILS,
	LOG_PREV,
};

/* What the log scan holds between rows: the tree of the events' leaves as they are now. */
struct log_walk {
	struct mt_frontier f;
	struct ledger_checkpoint *cps; /* sorted by size */
	size_t ncps, next;             /* the next checkpoint to reach */
	uint64_t last_good;            /* the largest checkpoint size whose root still holds */
};

static int
by_size(const void *a, const void *b)
{
	const struct ledger_checkpoint *x = a, *y = b;

	return x->size < y->size ? -1 : x->size > y->size;
}

static const char *
value_of(PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : PQgetvalue(res, 0, col);
}

/* Hold the tree so far to every checkpoint of its size. */
static void
reach_checkpoints(struct log_walk *w, struct ledger_report *rep)
{
	while (w->next < w->ncps && w->cps[w->next].size <= w->f.size) {
		const struct ledger_checkpoint *cp = &w->cps[w->next++];
		mt_hash root;
		char detail[240];

		if (cp->size != w->f.size)
			continue; /* size 0, or passed: cannot happen, sizes are reached in order */
		rep->checkpoints++;
		mt_frontier_root(&w->f, root);
		if (memcmp(root, cp->root, MT_HASH_LEN) == 0) {
			w->last_good = cp->size;
			continue;
		}
		snprintf(detail, sizeof(detail),
		         "the events of log entries %llu to %llu no longer give the root signed in "
		         "%.100s: they were rewritten, log and all",
		         (unsigned long long)w->last_good, (unsigned long long)cp->size - 1,
		         cp->source);
		finding(rep, "", 0, (long long)w->last_good, "rewritten", detail);
	}
}

/* One entry: its event still there, still giving its leaf; the tree grows by it. */
static void
check_entry(PGresult *res, struct log_walk *w, struct ledger_report *rep)
{
	long long idx = strtoll(PQgetvalue(res, 0, LOG_IDX), NULL, 10);
	const char *specimen = PQgetvalue(res, 0, LOG_SPECIMEN);
	int seq = atoi(PQgetvalue(res, 0, LOG_SEQ));
	mt_hash stored, leaf;
	char detail[240];
	bool has_leaf = !PQgetisnull(res, 0, LOG_LEAF) &&
	                bb_hex_decode(stored, MT_HASH_LEN, PQgetvalue(res, 0, LOG_LEAF)) == 0;

	rep->entries++;
	if ((uint64_t)idx != w->f.size) {
		snprintf(detail, sizeof(detail), "log entries %llu to %lld are missing",
		         (unsigned long long)w->f.size, idx - 1);
		finding(rep, specimen, seq, (long long)w->f.size, "deleted", detail);
		w->f.size = (uint64_t)idx; /* the roots from here on cannot hold: reported below */
	}
	if (PQgetisnull(res, 0, LOG_FORMAT)) {
		finding(rep, specimen, seq, idx, "deleted",
		        "the log holds this event and the events table no longer does");
		if (!has_leaf)
			memset(stored, 0, MT_HASH_LEN);
		memcpy(leaf, stored, MT_HASH_LEN);
	} else {
		struct bb_event ev = {
			.format = atoi(PQgetvalue(res, 0, LOG_FORMAT)),
			.specimen_id = specimen,
			.seq = seq,
			.type = PQgetvalue(res, 0, LOG_TYPE),
			.at_us = strtoll(PQgetvalue(res, 0, LOG_AT), NULL, 10),
			.actor = PQgetvalue(res, 0, LOG_ACTOR),
			.from_box = value_of(res, LOG_FROM_BOX),
			.from_pos = value_of(res, LOG_FROM_POS),
			.to_box = value_of(res, LOG_TO_BOX),
			.to_pos = value_of(res, LOG_TO_POS),
			.reason = value_of(res, LOG_REASON),
			.details = PQgetvalue(res, 0, LOG_DETAILS),
		};
		if (bb_hex_decode(ev.prev_hash, BB_HASH_LEN, PQgetvalue(res, 0, LOG_PREV)) != 0)
			memset(ev.prev_hash, 0xff, BB_HASH_LEN);
		bb_event_leaf(&ev, leaf);
		if (!has_leaf || memcmp(leaf, stored, MT_HASH_LEN) != 0)
			finding(
			    rep, specimen, seq, idx, "changed",
			    "the event no longer gives the leaf the log took in: it was changed "
			    "after it was logged");
	}
	/* The tree of the events as they are: a rewrite the stored leaves hide
	 * shows against the signed roots. */
	mt_frontier_append(&w->f, leaf, NULL, NULL);
	reach_checkpoints(w, rep);
}

static enum bb_err
log_scan(struct db_conn *c, struct log_walk *w, struct ledger_report *rep)
{
	PGconn *pg = db_pgconn(c);
	PGresult *res, *failed = NULL;

	if (!PQsendQueryPrepared(pg, "db_ledger_log_scan", 0, NULL, NULL, NULL, 0))
		return db_result_error(c, "db_ledger_log_scan",
		                       PQmakeEmptyPGresult(pg, PGRES_FATAL_ERROR));
	PQsetSingleRowMode(pg);
	while ((res = PQgetResult(pg)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_SINGLE_TUPLE && failed == NULL) {
			check_entry(res, w, rep);
		} else if (st != PGRES_TUPLES_OK && st != PGRES_SINGLE_TUPLE && failed == NULL) {
			failed = res;
			continue;
		}
		PQclear(res);
	}
	return failed != NULL ? db_result_error(c, "db_ledger_log_scan", failed) : BB_OK;
}

/* The checkpoints kept in the database, checked with key, after those given. */
static enum bb_err
load_checkpoints(struct db_conn *c, const struct ledger_verify_opts *o, struct log_walk *w,
                 struct ledger_report *rep)
{
	PGresult *res = NULL;
	enum bb_err err = BB_OK;
	size_t n = o ? o->ncheckpoints : 0;

	if (o != NULL && o->key != NULL &&
	    (err = db_exec(c, "db_ledger_checkpoints", 0, NULL, &res)) != BB_OK)
		return err;
	int kept = res ? PQntuples(res) : 0;
	w->cps = bb_calloc(n + (size_t)kept + 1, sizeof(*w->cps));
	if (n > 0)
		memcpy(w->cps, o->checkpoints, n * sizeof(*w->cps));
	for (int i = 0; i < kept; i++) {
		const char *note = PQgetvalue(res, i, 1), *why;
		struct checkpoint cp;
		char detail[240];

		if (checkpoint_open(note, strlen(note), o->key, &cp, &why) != 0) {
			snprintf(detail, sizeof(detail), "checkpoint %s of log_checkpoints: %s",
			         PQgetvalue(res, i, 0), why);
			finding(rep, "", 0, -1, "rewritten", detail);
			continue;
		}
		struct ledger_checkpoint *lc = &w->cps[n++];
		lc->size = cp.size;
		memcpy(lc->root, cp.root, MT_HASH_LEN);
		snprintf(lc->source, sizeof(lc->source), "checkpoint %s of log_checkpoints",
		         PQgetvalue(res, i, 0));
	}
	PQclear(res);
	w->ncps = n;
	qsort(w->cps, n, sizeof(*w->cps), by_size);
	return BB_OK;
}

static enum bb_err
verify_all(struct db_conn *c, const struct ledger_verify_opts *o, struct ledger_report *rep)
{
	struct log_walk w = { 0 };
	PGresult *res;
	enum bb_err err;
	bool backfilled;

	if ((err = db_exec(c, "db_ledger_log_state", 0, NULL, &res)) != BB_OK)
		return err;
	backfilled = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if ((err = scan(c, backfilled, rep)) != BB_OK)
		return err;
	if ((err = load_checkpoints(c, o, &w, rep)) != BB_OK)
		return err;
	if ((err = log_scan(c, &w, rep)) == BB_OK) {
		/* A checkpoint larger than the log: entries were removed from its end. */
		for (; w.next < w.ncps; w.next++) {
			char detail[240];

			if (w.cps[w.next].size <= w.f.size)
				continue;
			snprintf(detail, sizeof(detail),
			         "the log holds %llu entries, fewer than the %llu of %.100s: "
			         "entries were "
			         "removed",
			         (unsigned long long)w.f.size,
			         (unsigned long long)w.cps[w.next].size, w.cps[w.next].source);
			finding(rep, "", 0, (long long)w.f.size, "deleted", detail);
			rep->checkpoints++;
		}
	}
	free(w.cps);
	return err;
}

enum bb_err
ledger_verify(struct db_conn *c, const struct ledger_verify_opts *o, struct ledger_report *rep)
{
	enum bb_err err;

	memset(rep, 0, sizeof(*rep));
	rep->ok = true;
	/* The scans read the whole ledger: no per-request timeout may cut them
	 * short (ten million events take minutes). One read-only transaction, one
	 * snapshot. */
	if ((err = db_begin(c)) != BB_OK)
		return err;
	if ((err = db_exec(c, "db_ledger_snapshot", 0, NULL, NULL)) != BB_OK ||
	    (err = db_long_statements(c, 0)) != BB_OK || (err = verify_all(c, o, rep)) != BB_OK) {
		db_rollback(c);
		return err;
	}
	return db_commit(c);
}
