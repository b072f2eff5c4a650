/* ledger_verify.c — stream the ledger and check each specimen's chain. */
#include "db/ledger_verify.h"

#include "ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct db_stmt db_ledger_statements[] = {
	/* Every specimen, with or without events: one without any is a broken ledger too. */
	{ "db_ledger_scan",
	  "SELECT s.id, s.ledger_seq, encode(s.ledger_head, 'hex'), e.seq, e.type,"
	  "       (extract(epoch FROM e.at) * 1000000)::bigint, e.actor, e.from_box, e.from_pos,"
	  "       e.to_box, e.to_pos, e.reason, e.details::text, encode(e.prev_hash, 'hex'),"
	  "       encode(e.hash, 'hex'), s.status, b.barcode, bb_position_name(s.pos_row, "
	  "s.pos_col), e.format"
	  "  FROM specimens s LEFT JOIN boxes b ON b.id = s.box_id"
	  "  LEFT JOIN events e ON e.specimen_id = s.id"
	  " ORDER BY s.id, e.seq" },
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
};

/* One event as read, with its own copies of the text (rows are streamed one at a time). */
struct row {
	struct bb_event ev;
	unsigned char hash[BB_HASH_LEN];
	bool has_event;
	struct bb_arena mem;
};

struct chain {
	char id[16];
	int head_seq;
	unsigned char head[BB_HASH_LEN];
	bool has_head;
	struct row *rows;
	size_t n, cap;
	char status[16], box[80], pos[8]; /* the row's; "" for NULL */
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

/* Record a chain's first bad event; the caller stops checking that chain. */
static void
bad(struct ledger_report *rep, const struct chain *ch, int seq, const char *reason,
    const char *detail)
{
	rep->ok = false;
	rep->broken++;
	if (rep->nbreaks == LEDGER_BREAKS_MAX)
		return;
	struct ledger_break *b = &rep->breaks[rep->nbreaks++];
	snprintf(b->specimen, sizeof(b->specimen), "%s", ch->id);
	b->seq = seq;
	b->reason = reason;
	snprintf(b->detail, sizeof(b->detail), "%s", detail);
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
check_chain(const struct chain *ch, struct ledger_report *rep)
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
 * audit_flagged). Kept with the functions that write them
 * (migrations/functions/specimens.sql, audits.sql, shipments.sql,
 * reports.sql): an event type that moves a tube belongs here too.
 */
static const char *
status_after(const char *type)
{
	static const struct {
		const char *type, *status;
	} effects[] = {
		{ "registered", "registered" }, { "stored", "in_storage" },
		{ "moved", "in_storage" },      { "returned", "in_storage" },
		{ "found", "in_storage" },      { "checked_out", "checked_out" },
		{ "shipped", "shipped" },       { "consumed", "consumed" },
		{ "destroyed", "destroyed" },   { "lost", "lost" },
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
check_specimen(const struct chain *ch, struct ledger_report *rep)
{
	long long before = rep->broken;

	check_chain(ch, rep);
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
	if (bb_hex_decode(r->ev.prev_hash, BB_HASH_LEN, PQgetvalue(res, 0, COL_PREV)) != 0 ||
	    bb_hex_decode(r->hash, BB_HASH_LEN, PQgetvalue(res, 0, COL_HASH)) != 0)
		return -1;
	return 0;
}

/* Stream the scan, row by row: the ledger may hold millions of events. */
static enum bb_err
scan(struct db_conn *c, struct ledger_report *rep)
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
					check_specimen(&ch, rep);
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
		check_specimen(&ch, rep);
	chain_reset(&ch);
	free(ch.rows);
	return failed != NULL ? db_result_error(c, "db_ledger_scan", failed) : BB_OK;
}

enum bb_err
ledger_verify(struct db_conn *c, struct ledger_report *rep)
{
	enum bb_err err;

	memset(rep, 0, sizeof(*rep));
	rep->ok = true;
	/* The scan reads the whole ledger: no per-request timeout may cut it
	 * short (ten million events take minutes). One read-only transaction. */
	if ((err = db_begin(c)) != BB_OK)
		return err;
	if ((err = db_long_statements(c, 0)) != BB_OK || (err = scan(c, rep)) != BB_OK) {
		db_rollback(c);
		return err;
	}
	return db_commit(c);
}
