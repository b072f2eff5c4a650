/* ledger_verify.c — the checks of the ledger, one chunk at a time: a range of
 * specimens' chains, a range of the log. ledger_verify_run.c splits the
 * ledger into chunks and combines them; ledger_verify_since.c checks what
 * is new. */
#include "db/ledger_verify_int.h"

#include "ledger.h"

#include <cjson/cJSON.h>
#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The chains' columns, from the specimens row and each of its events with its index in
 * the log. The box by a lookup per row, not a hash of every box in each chunk; whether
 * an event waits in the queue is looked up in the queue read once (lv_pending_load). */
#define LV_CHAIN_COLUMNS_WITH(index)                                                               \
	"SELECT s.id, s.ledger_seq, s.ledger_head, e.seq, e.type, e.at, e.actor, e.from_box,"      \
	"       e.from_pos, e.to_box, e.to_pos, e.reason, e.details::text, e.prev_hash, e.hash,"   \
	"       s.status, (SELECT b.barcode FROM boxes b WHERE b.id = s.box_id),"                  \
	"       bb_position_name(s.pos_row, s.pos_col), e.format::integer, " index
#define LV_CHAIN_COLUMNS LV_CHAIN_COLUMNS_WITH("l.idx")
/* The same columns from a specimens subquery s that made box and pos once per specimen;
 * the index column follows. */
#define LV_WINDOW_COLUMNS                                                                          \
	"SELECT s.id, s.ledger_seq, s.ledger_head, e.seq, e.type, e.at, e.actor, e.from_box,"      \
	"       e.from_pos, e.to_box, e.to_pos, e.reason, e.details::text, e.prev_hash, e.hash,"   \
	"       s.status, s.box, s.pos, e.format::integer, "

/* The specimens with events from log index $1 on, queued, or dated since $2, each with
 * the seq its window starts at (the event before the first such one). */
#define LV_TOUCHED_WHERE(where)                                                                    \
	"new AS (SELECT l.specimen_id, l.seq, true AS logged FROM log_entries l WHERE l.idx >= $1" \
	"  UNION ALL SELECT p.specimen_id, p.seq, false FROM log_pending p"                        \
	"  UNION ALL SELECT e.specimen_id, e.seq, false FROM events e"                             \
	"   WHERE e.at >= $2::timestamptz),"                                                       \
	" touched AS (SELECT specimen_id, greatest(min(seq) - 1, 1) AS first,"                     \
	"  min(seq) FILTER (WHERE logged) AS first_new FROM new " where " GROUP BY specimen_id)"
#define LV_TOUCHED LV_TOUCHED_WHERE("")
/* Those specimens with the columns LV_CHAIN_COLUMNS_WITH reads (as s), box and position
 * made once per specimen (OFFSET 0 keeps the planner from pulling them up into the
 * per-event rows), in ID order with their rank in it (ord). */
#define LV_TOUCHED_SPECIMENS                                                                       \
	"SELECT s.id, s.ledger_seq, s.ledger_head, s.status, t.first, t.first_new,"                \
	"       (SELECT b.barcode FROM boxes b WHERE b.id = s.box_id) AS box,"                     \
	"       bb_position_name(s.pos_row, s.pos_col) AS pos,"                                    \
	"       row_number() OVER (ORDER BY s.id) AS ord"                                          \
	"  FROM touched t JOIN specimens s ON s.id = t.specimen_id ORDER BY s.id OFFSET 0"

const struct db_stmt db_ledger_statements[] = {
	/* Every connection of one verify reads one snapshot: the log is checked against the
	 * same events, and every chunk sees the same database. */
	{ "db_ledger_snapshot", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY" },
	{ "db_ledger_export", "SELECT pg_export_snapshot()" },
	/* Each chunk planned for its own range: a generic plan of a range condition guesses
	 * its size and may scan a whole table for each chunk. The range is also given on
	 * every table joined, so that each is read by its index over that range alone.
	 * No JIT: it compiles each chunk's query afresh, which took 1.3 s of a chunk's
	 * 20 s on a busy machine (measured); the chunks are many and small. And room to
	 * sort a chunk (~10^4 events, a few MB) in memory: with the default 4 MB it was
	 * written to a temporary file and read back. */
	{ "db_ledger_custom_plans",
	  "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
	  "       set_config('jit', 'off', true), set_config('work_mem', '64MB', true),"
	  /* One process per chunk: a Gather would interleave the chains of its workers. */
	  "       set_config('max_parallel_workers_per_gather', '0', true)" },
	{ "db_ledger_log_state", "SELECT backfilled, size, now() FROM log_state" },
	/* The log's extent as it is, gaps and all: its last entry, not what log_state says. */
	{ "db_ledger_log_end", "SELECT COALESCE(max(idx) + 1, 0) FROM log_entries" },
	/* Every $1-th specimen ID: the ends of the chains' chunks (an index-only scan). */
	{ "db_ledger_bounds",
	  "SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM specimens) s"
	  " WHERE n % $1::bigint = 0 ORDER BY id" },
	{ "db_ledger_last_id", "SELECT max(id) FROM specimens" },
	/* The specimens with IDs in ($1, $2], with or without events (one without any is a
	 * broken ledger too). */
	{ "db_ledger_chains",
	  LV_CHAIN_COLUMNS "  FROM specimens s"
	                   "  LEFT JOIN events e ON e.specimen_id = s.id"
	                   "   AND e.specimen_id > $1 AND e.specimen_id <= $2"
	                   "  LEFT JOIN log_entries l ON l.specimen_id = e.specimen_id AND l.seq = "
	                   "e.seq AND l.specimen_id > $1 AND l.specimen_id <= $2"
	                   " WHERE s.id > $1 AND s.id <= $2"
	                   " ORDER BY s.id, e.seq" },
	/* The specimens' extent in pages, and how many rows a page holds, for cutting the
	 * summed verify's chunks (estimates are enough for that). */
	{ "db_ledger_blocks",
	  "SELECT pg_relation_size(c.oid) / current_setting('block_size')::bigint,"
	  "       CASE WHEN c.relpages > 0 AND c.reltuples > 0"
	  "            THEN c.reltuples / c.relpages ELSE 50 END"
	  "  FROM pg_class c WHERE c.oid = 'specimens'::regclass" },
	/* The specimens in pages [$1, $2) as they lie on disk, each with its events and no
	 * log index (the summed verify): a chunk reads neighbouring pages, and specimens
	 * registered together, whose events were written together, come together.
	 * No ORDER BY: the nested loop already gives each specimen's events together and in
	 * seq order, specimen after specimen as the range scan meets them, and sorting the
	 * chunk's rows again was a third of the query's time (10^7 events: 115 against
	 * 70 ms a chunk of 3,741 specimens, measured). The specimen's tid comes last, and
	 * lv_chains checks that each chain starts at a later one than the chain before. */
	{ "db_ledger_chains_blocks", LV_WINDOW_COLUMNS
	  "NULL::bigint, s.at"
	  "  FROM (SELECT s.ctid AS at, s.id, s.ledger_seq, s.ledger_head, s.status,"
	  "               (SELECT b.barcode FROM boxes b WHERE b.id = s.box_id) AS box,"
	  "               bb_position_name(s.pos_row, s.pos_col) AS pos"
	  "          FROM specimens s WHERE s.ctid >= $1::tid AND s.ctid < $2::tid"
	  "        OFFSET 0) s" /* each specimen's box once, not once per event */
	  /* A lateral, ordered subquery is run per specimen by its index: a join would let
	   * the planner hash the chunk's specimens and scan every event for each chunk. */
	  "  LEFT JOIN LATERAL (SELECT * FROM events e WHERE e.specimen_id = s.id"
	  "                      ORDER BY e.seq) e ON true" },
	/*
	 * The chains that changed since a verify: those with events from log index $1 on,
	 * waiting in the queue, or dated since $2, the last verify's snapshot (to find one
	 * inserted behind the log's back), each from the event before its first such one.
	 * Each specimen's box once (not once per event), and each event's log index.
	 */
	{ "db_ledger_touched",
	  "WITH " LV_TOUCHED " " LV_WINDOW_COLUMNS "l.idx"
	  "  FROM (" LV_TOUCHED_SPECIMENS ") s"
	  "  LEFT JOIN events e ON e.specimen_id = s.id AND e.seq >= s.first"
	  "  LEFT JOIN log_entries l ON l.specimen_id = e.specimen_id AND l.seq = e.seq"
	  " ORDER BY s.id, e.seq" },
	/*
	 * The same chains for the summed check, with no log lookup per event: in the index
	 * column each specimen's last event logged before index $1 (0: none). A chain is
	 * logged in seq order, so that is the one before its first new entry, and its events
	 * after it are the new entries' (or queued, or behind the log's back, which the sums
	 * then show; so does a log out of seq order, its entries and events then differing).
	 * A chain with no new entry looks its last logged event up. No ORDER BY: the
	 * specimens come in ID order and the nested loop keeps each one's events together in
	 * seq order, which lv_chains checks by the rank column. 100,001 events of 20,347
	 * chains at 10^7 (EXPLAIN ANALYZE at load 30): 3.7 s with a lookup per chain and the
	 * sort, against 5.2 s with a lookup per event.
	 */
	{ "db_ledger_touched_summed",
	  "WITH " LV_TOUCHED_WHERE("WHERE specimen_id > $3 AND ($4::text IS NULL OR specimen_id <= "
	                           "$4)") " " LV_WINDOW_COLUMNS "s.logged, s.ord"
	                                  "  FROM (SELECT s.*, CASE WHEN s.first_new IS NOT NULL "
	                                  "THEN s.first_new - 1"
	                                  "          ELSE COALESCE((SELECT max(l.seq) FROM "
	                                  "log_entries l"
	                                  "                          WHERE l.specimen_id = s.id "
	                                  "AND l.idx < $1), 0)"
	                                  "          END::bigint AS logged"
	                                  "          FROM (" LV_TOUCHED_SPECIMENS ") s OFFSET 0) s"
	                                  "  LEFT JOIN LATERAL (SELECT * FROM events e WHERE "
	                                  "e.specimen_id = s.id"
	                                  "                      AND e.seq >= s.first ORDER BY "
	                                  "e.seq) e ON true" },
	/* Where the incremental's chains are cut in two for two connections: the middle of
	 * the specimen IDs' histogram (an estimate is enough: either half may be empty; NULL
	 * without statistics, and then one connection reads them all). */
	{ "db_ledger_touched_pivot",
	  "SELECT b[(array_length(b, 1) + 1) / 2] FROM (SELECT histogram_bounds::text::text[] AS b"
	  "  FROM pg_stats WHERE schemaname = 'public' AND tablename = 'specimens'"
	  "   AND attname = 'id') h" },
	/* The log's entries [$1, $2) in index order, each with its stored leaf and its event
	 * (NULL when gone). */
	{ "db_ledger_log_range",
	  "SELECT l.idx, l.specimen_id, l.seq, n.hash, e.format::integer, e.type, e.at, e.actor,"
	  "       e.from_box, e.from_pos, e.to_box, e.to_pos, e.reason, e.details::text,"
	  "       e.prev_hash"
	  "  FROM log_entries l LEFT JOIN log_nodes n ON n.level = 0 AND n.idx = l.idx"
	  "   AND n.idx >= $1::bigint AND n.idx < $2::bigint"
	  "  LEFT JOIN events e ON e.specimen_id = l.specimen_id AND e.seq = l.seq"
	  " WHERE l.idx >= $1::bigint AND l.idx < $2::bigint"
	  " ORDER BY l.idx" },
	/* The entries [$1, $2) with their stored leaves and no event (the summed verify). */
	{ "db_ledger_log_leaves",
	  "SELECT l.idx, l.specimen_id, l.seq, n.hash"
	  "  FROM log_entries l LEFT JOIN log_nodes n ON n.level = 0 AND n.idx = l.idx"
	  "   AND n.idx >= $1::bigint AND n.idx < $2::bigint"
	  " WHERE l.idx >= $1::bigint AND l.idx < $2::bigint"
	  " ORDER BY l.idx" },
	{ "db_ledger_checkpoints", "SELECT id, note FROM log_checkpoints ORDER BY id" },
	/* The queue, for lv_pending_has(). */
	{ "db_ledger_pending", "SELECT specimen_id, seq FROM log_pending" },
	/* Stored subtrees by (level, index). */
	{ "db_ledger_nodes", "SELECT n.level, n.idx, encode(n.hash, 'hex') FROM log_nodes n"
	                     " JOIN unnest($1::smallint[], $2::bigint[]) AS u (l, i) ON n.level = "
	                     "u.l AND n.idx = u.i" },
	/* The last verify that found the ledger good, and the last full one. */
	{ "db_ledger_verified",
	  "SELECT v.size, encode(v.root, 'hex'), v.checkpoint_note, v.started_at,"
	  "       (SELECT max(f.started_at) FROM ledger_verifications f WHERE f.kind = 'full')"
	  "  FROM ledger_verifications v ORDER BY v.id DESC LIMIT 1" },
	{ "db_ledger_record",
	  "INSERT INTO ledger_verifications (kind, started_at, size, root, checkpoint_note, "
	  "events, entries) VALUES ($1, $2, $3, decode($4, 'hex'), $5, $6, $7) RETURNING id" },
	{ NULL, NULL },
};

/* Begin a read-only transaction in the coordinator's snapshot, with no statement timeout. */
enum bb_err
lv_join_snapshot(struct db_conn *c, const char *snapshot)
{
	enum bb_err err;

	if ((err = db_begin(c)) != BB_OK ||
	    (err = db_exec(c, "db_ledger_snapshot", 0, NULL, NULL)) != BB_OK)
		return err;
	/* SET TRANSACTION SNAPSHOT takes no parameter: the ID, which
	 * pg_export_snapshot() made, is quoted as a literal. */
	PGconn *pg = db_pgconn(c);
	char *lit = PQescapeLiteral(pg, snapshot, strlen(snapshot));
	if (lit == NULL)
		return BB_EINTERNAL;
	char sql[160];
	snprintf(sql, sizeof(sql), "SET TRANSACTION SNAPSHOT %s", lit);
	PQfreemem(lit);
	PGresult *res = PQexec(pg, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return db_result_error(c, "db_ledger_import", res);
	PQclear(res);
	if ((err = db_exec(c, "db_ledger_custom_plans", 0, NULL, NULL)) != BB_OK)
		return err;
	return db_long_statements(c, 0);
}

void
lv_finding(struct lv_found *f, const char *specimen, int seq, long long index, const char *reason,
           const char *detail)
{
	f->broken++;
	if (f->nbreaks == LEDGER_BREAKS_MAX)
		return;
	if (f->breaks == NULL)
		f->breaks = bb_calloc(LEDGER_BREAKS_MAX, sizeof(*f->breaks));
	struct ledger_break *b = &f->breaks[f->nbreaks++];
	snprintf(b->specimen, sizeof(b->specimen), "%s", specimen);
	b->seq = seq;
	b->index = index;
	b->reason = reason;
	snprintf(b->detail, sizeof(b->detail), "%s", detail);
}

void
lv_report_add(struct ledger_report *rep, const struct lv_found *f)
{
	rep->specimens += f->specimens;
	rep->events += f->events;
	rep->entries += f->entries;
	rep->broken += f->broken;
	if (f->broken > 0)
		rep->ok = false;
	for (size_t i = 0; i < f->nbreaks && rep->nbreaks < LEDGER_BREAKS_MAX; i++)
		rep->breaks[rep->nbreaks++] = f->breaks[i];
}

/* FNV-1a over the ID's bytes and the seq's: where (id, seq) starts looking in the table. */
static size_t
pending_slot(const struct lv_pending *p, const char *id, int seq)
{
	uint64_t h = 14695981039346656037ull;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ull;
	for (int i = 0; i < 4; i++)
		h = (h ^ (((unsigned)seq >> (8 * i)) & 0xff)) * 1099511628211ull;
	return (size_t)h & p->mask;
}

enum bb_err
lv_pending_load(struct db_conn *c, struct lv_pending *out)
{
	PGresult *res;
	enum bb_err err;

	memset(out, 0, sizeof(*out));
	if ((err = db_exec(c, "db_ledger_pending", 0, NULL, &res)) != BB_OK)
		return err;
	out->n = (size_t)PQntuples(res);
	size_t size = 16;
	while (size < 2 * out->n) /* at most half full: short probes */
		size *= 2;
	out->mask = size - 1;
	out->keys = bb_calloc(size, sizeof(*out->keys));
	for (size_t i = 0; i < out->n; i++) {
		const char *id = PQgetvalue(res, (int)i, 0);
		int seq = atoi(PQgetvalue(res, (int)i, 1));
		size_t at = pending_slot(out, id, seq);

		while (out->keys[at].id[0] != '\0')
			at = (at + 1) & out->mask;
		snprintf(out->keys[at].id, sizeof(out->keys[at].id), "%s", id);
		out->keys[at].seq = seq;
	}
	PQclear(res);
	return BB_OK;
}

bool
lv_pending_has(const struct lv_pending *p, const char *id, int seq)
{
	if (p == NULL || p->n == 0)
		return false;
	for (size_t at = pending_slot(p, id, seq); p->keys[at].id[0] != '\0';
	     at = (at + 1) & p->mask)
		if (p->keys[at].seq == seq && strcmp(p->keys[at].id, id) == 0)
			return true;
	return false;
}

void
lv_pending_free(struct lv_pending *p)
{
	free(p->keys);
	memset(p, 0, sizeof(*p));
}

void
lv_found_free(struct lv_found *f)
{
	free(f->breaks);
	memset(f, 0, sizeof(*f));
}

void
lv_sum_add(struct lv_sum *s, const unsigned char *key, const char *specimen, int seq,
           const mt_hash leaf)
{
	unsigned char item[16 + 4 + MT_HASH_LEN], h[crypto_shorthash_siphashx24_BYTES];
	size_t n = strnlen(specimen, 15);

	/* The ID's bytes and its end, the seq, the leaf: no two items encode alike. */
	memcpy(item, specimen, n);
	item[n++] = '\0';
	for (int i = 3; i >= 0; i--)
		item[n++] = (unsigned char)((unsigned)seq >> (8 * i));
	memcpy(item + n, leaf, MT_HASH_LEN);
	n += MT_HASH_LEN;
	crypto_shorthash_siphashx24(h, item, n, key);
	uint64_t lo = 0, hi = 0;
	for (int b = 7; b >= 0; b--) {
		lo = lo << 8 | h[b];
		hi = hi << 8 | h[8 + b];
	}
	s->w[0] += lo;
	s->w[1] += hi + (s->w[0] < lo);
}

void
lv_sum_merge(struct lv_sum *into, const struct lv_sum *s)
{
	into->w[0] += s->w[0];
	into->w[1] += s->w[1] + (into->w[0] < s->w[0]);
}

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
	COL_ORDER,  /* ordered: grows from chain to chain (a tid, or a positive int8) */
};

/* One event as read; its text stays in the chunk's result. */
struct row {
	struct bb_event ev;
	unsigned char hash[BB_HASH_LEN];
	unsigned char digest[BB_HASH_LEN]; /* recomputed from the fields, as read */
	bool no_format;                    /* its format is neither 1 nor 2 */
	long long index;                   /* -1: not in the log */
	bool queued;
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
	bool window;      /* the chain from its first row on, not from event 1 */
	long long logged; /* its last seq logged before the range summed (logged_before) */
};

static const char *
value_at(PGresult *res, int i, int col)
{
	return PQgetisnull(res, i, col) ? NULL : PQgetvalue(res, i, col);
}

/*
 * The chains' and the log's rows come in binary (db_exec_binary): no hex to
 * decode, no number to parse, and the server neither encodes nor formats
 * them — a third of the verify's time when they came as text.
 */

/* An integer column (int2, int4 or int8, big-endian); 0 when NULL. */
static long long
int_at(PGresult *res, int i, int col)
{
	const unsigned char *p = (const unsigned char *)PQgetvalue(res, i, col);
	int n = PQgetlength(res, i, col);
	uint64_t v = 0;

	if (PQgetisnull(res, i, col) || (n != 2 && n != 4 && n != 8))
		return 0;
	for (int b = 0; b < n; b++)
		v = v << 8 | p[b];
	if (n < 8 && (p[0] & 0x80)) /* sign-extend */
		v |= ~0ull << (8 * n);
	return (long long)v;
}

/* A timestamptz column as microseconds since 1970 (it is sent as microseconds since
 * 2000-01-01 UTC). */
static long long
at_us_at(PGresult *res, int i, int col)
{
	return int_at(res, i, col) + 946684800000000LL;
}

/* A bytea column of BB_HASH_LEN bytes into out; false when NULL or of another length. */
static bool
hash_at(PGresult *res, int i, int col, unsigned char *out)
{
	if (PQgetisnull(res, i, col) || PQgetlength(res, i, col) != BB_HASH_LEN)
		return false;
	memcpy(out, PQgetvalue(res, i, col), BB_HASH_LEN);
	return true;
}

/* The order column at row i is after *last (and becomes it): rows that come chain after
 * chain in the order of that column. Binary tids and positive int8s compare as bytes. */
static bool
order_after(PGresult *res, int i, unsigned char last[8])
{
	int n = PQgetlength(res, i, COL_ORDER);

	if (PQgetisnull(res, i, COL_ORDER) || (n != 6 && n != 8) ||
	    memcmp(PQgetvalue(res, i, COL_ORDER), last, (size_t)n) <= 0)
		return false;
	memcpy(last, PQgetvalue(res, i, COL_ORDER), (size_t)n);
	return true;
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
bad(struct lv_found *rep, const struct chain *ch, int seq, const char *reason, const char *detail)
{
	lv_finding(rep, ch->id, seq, index_of(ch, seq), reason, detail);
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
check_chain(const struct chain *ch, bool backfilled, struct lv_found *rep)
{
	unsigned char prev[BB_HASH_LEN] = { 0 };
	char detail[sizeof(((struct ledger_break *)0)->detail)];

	if (ch->n == 0) {
		bad(rep, ch, 1, "missing", "the specimen has no custody events at all");
		return;
	}
	/* A window starts at an event verified before: its link is taken as it is. */
	int first = ch->window ? ch->rows[0].ev.seq : 1;
	if (ch->window)
		memcpy(prev, ch->rows[0].ev.prev_hash, BB_HASH_LEN);
	for (size_t i = 0; i < ch->n; i++) {
		const struct row *r = &ch->rows[i];
		int want = first + (int)i;

		if (r->ev.seq != want) {
			snprintf(detail, sizeof(detail), "event %d is missing (next is %d)", want,
			         r->ev.seq);
			bad(rep, ch, want, "missing", detail);
			return;
		}
		if (r->no_format) {
			snprintf(detail, sizeof(detail),
			         "the event claims a format of its canonical bytes that does not "
			         "exist (%d)",
			         r->ev.format);
			bad(rep, ch, r->ev.seq, "changed", detail);
			return;
		}
		if (memcmp(r->digest, r->hash, BB_HASH_LEN) != 0) {
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
	int last = first + (int)ch->n - 1;
	if (!ch->has_head || ch->head_seq != last || memcmp(ch->head, prev, BB_HASH_LEN) != 0) {
		snprintf(detail, sizeof(detail),
		         "the chain ends at event %d but the specimen's last event is %d", last,
		         ch->head_seq);
		bad(rep, ch, last + 1 > ch->head_seq ? last : last + 1, "missing", detail);
	}
}

/*
 * The status each custody event leaves a specimen in; NULL for the events
 * that change neither status nor place (used, thawed, aliquoted, derived,
 * label_printed, received, consent_withdrawn, audit_confirmed,
 * audit_flagged, corrected, barcode_set). Kept with the functions that write them
 * (migrations/functions/specimens.sql, audits.sql, shipments.sql,
 * reports.sql, imports.sql): an event type that moves a tube belongs here too.
 * An imported event leaves the status the file gave, which it carries in
 * its details ("status"; registered when a stored event follows).
 */
static const char *
status_after(const struct bb_event *ev)
{
	static const char *const imported[] = { "registered", "checked_out", "consumed",
		                                "destroyed", "lost" };
	const char *type = ev->type;

	if (type != NULL && strcmp(type, "imported") == 0) {
		cJSON *d = cJSON_Parse(ev->details ? ev->details : "");
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(d, "status"));
		const char *found = "registered"; /* none, or not one of ours: as a registration */

		for (size_t i = 0; s != NULL && i < sizeof(imported) / sizeof(imported[0]); i++)
			if (strcmp(s, imported[i]) == 0)
				found = imported[i];
		cJSON_Delete(d);
		return found;
	}

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

	/* The rest (thawed, label_printed, reserved, released for a request, ...) leave it where it
	 * is: a reserved tube stays in_storage in its box (migrations/0032_requests.sql). */
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
check_state(const struct chain *ch, struct lv_found *rep)
{
	const char *status = NULL, *box = "", *pos = "";
	char detail[sizeof(((struct ledger_break *)0)->detail)];

	for (size_t i = 0; i < ch->n; i++) {
		const struct bb_event *ev = &ch->rows[i].ev;
		const char *next = status_after(ev);

		if (next == NULL)
			continue;
		status = next;
		bool stored = strcmp(next, "in_storage") == 0;
		box = stored && ev->to_box != NULL ? ev->to_box : "";
		pos = stored && ev->to_pos != NULL ? ev->to_pos : "";
	}
	if (status == NULL && ch->window)
		return; /* where the window's events leave it depends on the events before */
	if (status == NULL)
		status = "registered";
	if (strcmp(status, ch->status) == 0 && strcmp(box, ch->box) == 0 &&
	    strcmp(pos, ch->pos) == 0)
		return;
	snprintf(detail, sizeof(detail),
	         "the specimen is %s%s%s%s%s but its events leave it %s%s%s%s%s", ch->status,
	         *ch->box ? " at " : "", ch->box, *ch->pos ? " " : "", ch->pos, status,
	         *box ? " at " : "", box, *pos ? " " : "", pos);
	bad(rep, ch, ch->rows[ch->n - 1].ev.seq, "diverged", detail);
}

static void
chain_start(struct chain *ch, PGresult *res, int i)
{
	snprintf(ch->id, sizeof(ch->id), "%s", PQgetvalue(res, i, COL_ID));
	ch->head_seq = (int)int_at(res, i, COL_HEAD_SEQ);
	ch->has_head = hash_at(res, i, COL_HEAD, ch->head);
	snprintf(ch->status, sizeof(ch->status), "%s", PQgetvalue(res, i, COL_STATUS));
	snprintf(ch->box, sizeof(ch->box), "%s", PQgetvalue(res, i, COL_BOX));
	snprintf(ch->pos, sizeof(ch->pos), "%s", PQgetvalue(res, i, COL_POS));
	ch->n = 0;
}

/* One specimen's chain: its hashes first, then, when they hold, what it says. */
static void
check_specimen(const struct chain *ch, bool backfilled, struct lv_found *rep)
{
	long long before = rep->broken;

	check_chain(ch, backfilled, rep);
	if (rep->broken == before)
		check_state(ch, rep);
	rep->specimens++;
}

static int
add_row(struct chain *ch, PGresult *res, int i, const struct lv_chain_opts *o)
{
	if (ch->n == ch->cap) {
		ch->cap = ch->cap ? ch->cap * 2 : 16;
		ch->rows = bb_realloc(ch->rows, ch->cap * sizeof(*ch->rows));
	}
	struct row *r = &ch->rows[ch->n++];
	memset(r, 0, sizeof(*r));
	r->ev.specimen_id = ch->id;
	r->ev.seq = (int)int_at(res, i, COL_SEQ);
	r->ev.format = (int)int_at(res, i, COL_FORMAT);
	r->ev.type = value_at(res, i, COL_TYPE);
	r->ev.at_us = at_us_at(res, i, COL_AT);
	r->ev.actor = value_at(res, i, COL_ACTOR);
	r->ev.from_box = value_at(res, i, COL_FROM_BOX);
	r->ev.from_pos = value_at(res, i, COL_FROM_POS);
	r->ev.to_box = value_at(res, i, COL_TO_BOX);
	r->ev.to_pos = value_at(res, i, COL_TO_POS);
	r->ev.reason = value_at(res, i, COL_REASON);
	r->ev.details = value_at(res, i, COL_DETAILS);
	if (o->logged_before)
		r->index = -1; /* the column is the chain's, read by chain_start */
	else
		r->index = PQgetisnull(res, i, COL_INDEX) ? -1 : int_at(res, i, COL_INDEX);
	r->queued = lv_pending_has(o->pending, ch->id, r->ev.seq);
	if (!hash_at(res, i, COL_PREV, r->ev.prev_hash) || !hash_at(res, i, COL_HASH, r->hash))
		return -1;
	return 0;
}

/* One chunk's rows are read at once: a chunk is a few thousand specimens (the caller
 * chooses), so that memory stays bounded however large the ledger. */
enum bb_err
lv_chains(struct db_conn *c, const char *stmt, int nparams, const char *const *params,
          const struct lv_chain_opts *o, struct lv_found *rep)
{
	struct chain ch = { .window = o->window };
	unsigned char order[8] = { 0 }; /* ordered: the last chain's */
	/* Without each event's index, whether it is in the log is the sums' to say. */
	bool unlogged = o->backfilled && (o->key == NULL || (o->from >= 0 && !o->logged_before));
	PGresult *res;
	enum bb_err err;

	if ((err = db_exec_binary(c, stmt, nparams, params, &res)) != BB_OK)
		return err;
	for (int i = 0, n = PQntuples(res); i < n; i++) {
		if (strcmp(PQgetvalue(res, i, COL_ID), ch.id) != 0) {
			if (ch.id[0] != '\0')
				check_specimen(&ch, unlogged, rep);
			if (o->ordered && !order_after(res, i, order)) {
				free(ch.rows);
				PQclear(res);
				return db_fail(
				    c, BB_EINTERNAL,
				    "verify-ledger: a chain's rows did not come together "
				    "(specimen %s); no finding is made from them",
				    PQgetvalue(res, i, COL_ID));
			}
			chain_start(&ch, res, i);
			ch.logged = o->logged_before ? int_at(res, i, COL_INDEX) : -1;
		}
		if (PQgetisnull(res, i, COL_SEQ))
			continue; /* a specimen without events: checked as an empty chain */
		if (add_row(&ch, res, i, o) != 0)
			ch.rows[ch.n - 1].hash[0] ^=
			    0xFF; /* corrupt hex: the digest cannot match */
		struct row *r = &ch.rows[ch.n - 1];
		mt_hash leaf;
		bool summed =
		    o->key != NULL && (o->logged_before ? r->ev.seq > ch.logged && !r->queued
		                       : o->from >= 0   ? r->index >= o->from
		                                        : !r->queued);
		r->no_format = bb_event_hashes(&r->ev, r->digest, summed ? leaf : NULL) != 0;
		if (summed)
			lv_sum_add(o->sum, o->key, ch.id, r->ev.seq, leaf);
		rep->events++;
	}
	if (ch.id[0] != '\0')
		check_specimen(&ch, unlogged, rep);
	free(ch.rows);
	PQclear(res);
	return BB_OK;
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

/* Append a leaf at position r->start + placed, and hold the tree to the checkpoints of
 * that size. */
static void
place(struct lv_log_range *r, uint64_t *placed, size_t *next_size, const mt_hash leaf, bool present)
{
	mt_frontier_append(&r->f, leaf, NULL, NULL);
	uint64_t size = r->start + ++*placed;
	while (*next_size < r->nsizes && r->sizes[*next_size] <= size) {
		if (r->sizes[*next_size] == size && r->at_size != NULL)
			r->at_size(r->arg, *next_size, &r->f, present);
		++*next_size;
	}
}

/* The summed mode's entry: its stored leaf, summed; one that is gone is a finding (which
 * the detailed verify then names). */
static void
sum_entry(PGresult *res, int i, struct lv_log_range *r, mt_hash leaf, struct lv_found *rep)
{
	long long idx = int_at(res, i, LOG_IDX);
	const char *specimen = PQgetvalue(res, i, LOG_SPECIMEN);
	int seq = (int)int_at(res, i, LOG_SEQ);

	rep->entries++;
	if (!hash_at(res, i, LOG_LEAF, leaf)) {
		memset(leaf, 0, MT_HASH_LEN);
		lv_finding(rep, specimen, seq, idx, "changed",
		           "the log's leaf of this entry is gone");
		return;
	}
	lv_sum_add(&r->sum, r->key, specimen, seq, leaf);
}

/* One entry: its event still there, still giving its leaf, which is returned. */
static void
check_entry(PGresult *res, int i, mt_hash leaf, struct lv_found *rep)
{
	long long idx = int_at(res, i, LOG_IDX);
	const char *specimen = PQgetvalue(res, i, LOG_SPECIMEN);
	int seq = (int)int_at(res, i, LOG_SEQ);
	mt_hash stored;
	bool has_leaf = hash_at(res, i, LOG_LEAF, stored);

	rep->entries++;
	if (PQgetisnull(res, i, LOG_FORMAT)) {
		lv_finding(rep, specimen, seq, idx, "deleted",
		           "the log holds this event and the events table no longer does");
		if (!has_leaf)
			memset(stored, 0, MT_HASH_LEN);
		memcpy(leaf, stored, MT_HASH_LEN);
		return;
	}
	struct bb_event ev = {
		.format = (int)int_at(res, i, LOG_FORMAT),
		.specimen_id = specimen,
		.seq = seq,
		.type = PQgetvalue(res, i, LOG_TYPE),
		.at_us = at_us_at(res, i, LOG_AT),
		.actor = PQgetvalue(res, i, LOG_ACTOR),
		.from_box = value_at(res, i, LOG_FROM_BOX),
		.from_pos = value_at(res, i, LOG_FROM_POS),
		.to_box = value_at(res, i, LOG_TO_BOX),
		.to_pos = value_at(res, i, LOG_TO_POS),
		.reason = value_at(res, i, LOG_REASON),
		.details = PQgetvalue(res, i, LOG_DETAILS),
	};
	if (!hash_at(res, i, LOG_PREV, ev.prev_hash))
		memset(ev.prev_hash, 0xff, BB_HASH_LEN);
	bb_event_leaf(&ev, leaf);
	if (!has_leaf || memcmp(leaf, stored, MT_HASH_LEN) != 0)
		lv_finding(rep, specimen, seq, idx, "changed",
		           "the event no longer gives the leaf the log took in: it was changed "
		           "after it was logged");
}

/*
 * The tree of the events as they are now: a rewrite the stored leaves hide
 * shows against the signed roots. A missing entry takes a leaf of zeros, so
 * that no root after it can hold, and a checkpoint that ends on a missing
 * entry is not held to (the entries are reported missing instead).
 */
enum bb_err
lv_log(struct db_conn *c, struct lv_log_range *r, struct lv_found *rep)
{
	static const mt_hash none = { 0 };
	char lo[24], hi[24], detail[240];
	const char *params[] = { lo, hi };
	PGresult *res;
	enum bb_err err;
	uint64_t placed = 0;
	size_t next_size = 0;

	r->first = r->last = -1;
	snprintf(lo, sizeof(lo), "%llu", (unsigned long long)r->start);
	snprintf(hi, sizeof(hi), "%llu", (unsigned long long)r->end);
	if ((err = db_exec_binary(c, r->key ? "db_ledger_log_leaves" : "db_ledger_log_range", 2,
	                          params, &res)) != BB_OK)
		return err;
	for (int i = 0, n = PQntuples(res); i < n; i++) {
		long long idx = int_at(res, i, LOG_IDX);
		uint64_t want = r->start + placed;
		mt_hash leaf;

		if (r->first < 0) {
			r->first = idx;
			snprintf(r->first_specimen, sizeof(r->first_specimen), "%s",
			         PQgetvalue(res, i, LOG_SPECIMEN));
			r->first_seq = (int)int_at(res, i, LOG_SEQ);
		}
		if ((uint64_t)idx != want && (i > 0 || r->lead_gap)) {
			snprintf(detail, sizeof(detail), "log entries %llu to %lld are missing",
			         (unsigned long long)want, idx - 1);
			lv_finding(rep, PQgetvalue(res, i, LOG_SPECIMEN),
			           (int)int_at(res, i, LOG_SEQ), (long long)want, "deleted",
			           detail);
		}
		while (r->start + placed < (uint64_t)idx)
			place(r, &placed, &next_size, none, false);
		if (r->key != NULL)
			sum_entry(res, i, r, leaf, rep);
		else
			check_entry(res, i, leaf, rep);
		place(r, &placed, &next_size, leaf, true);
		r->last = idx;
	}
	PQclear(res);
	/* Entries missing at the range's end: the next range reports them. */
	while (!r->open_end && r->start + placed < r->end)
		place(r, &placed, &next_size, none, false);
	return BB_OK;
}
