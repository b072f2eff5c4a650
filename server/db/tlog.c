/* tlog.c — the transparency log's batches and reads (tlog.h). */
#include "db/tlog.h"

#include "http/log.h"
#include "ledger.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns of an event as the sequencer reads it (both queries). */
#define EVENT_COLUMNS                                                                              \
	"e.format, e.type, (extract(epoch FROM e.at) * 1000000)::bigint, e.actor, e.from_box, "    \
	"e.from_pos, e.to_box, e.to_pos, e.reason, e.details::text, encode(e.prev_hash, 'hex')"

const struct db_stmt db_tlog_statements[] = {
	{ "db_tlog_state", "SELECT s.size, s.backfilled, l.specimen_id, l.seq FROM log_state s"
	                   "  LEFT JOIN log_entries l ON l.idx = s.size - 1" },
	{ "db_tlog_size", "SELECT size FROM log_state" },
	{ "db_tlog_nodes",
	  "SELECT encode(n.hash, 'hex') FROM unnest($1::smallint[], $2::bigint[])"
	  "  WITH ORDINALITY AS k (level, idx, o)"
	  "  LEFT JOIN log_nodes n ON n.level = k.level AND n.idx = k.idx ORDER BY k.o" },
	/* The events older than the log, after the last one taken in. */
	{ "db_tlog_backfill",
	  "SELECT NULL::bigint, false, e.specimen_id, e.seq, " EVENT_COLUMNS
	  "  FROM events e WHERE (e.specimen_id, e.seq) > ($1::text, $2::integer)"
	  " ORDER BY e.specimen_id, e.seq LIMIT $3" },
	/* The queue, oldest first, with each event (NULL when it is gone) and whether
	 * the backfill took it in already. */
	{ "db_tlog_pending",
	  "SELECT p.id, l.idx IS NOT NULL, p.specimen_id, p.seq, " EVENT_COLUMNS
	  "  FROM (SELECT id, specimen_id, seq FROM log_pending ORDER BY id LIMIT $1) p"
	  "  LEFT JOIN events e ON e.specimen_id = p.specimen_id AND e.seq = p.seq"
	  "  LEFT JOIN log_entries l ON l.specimen_id = p.specimen_id AND l.seq = p.seq"
	  " ORDER BY p.id" },
	{ "db_tlog_append", "SELECT bb_log_append($1, $2, $3, $4, $5, $6, $7, $8)" },
	/* Any constant shared by every biobankd: it names the sequencer's lock. */
	{ "db_tlog_lead", "SELECT pg_try_advisory_lock(4242010015)" },
	{ NULL, NULL },
};

enum {
	COL_PENDING,
	COL_LOGGED,
	COL_SPECIMEN,
	COL_SEQ,
	COL_FORMAT,
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
};

static const char *
value(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* The hex of n stored subtrees, in order; -1 when one is not stored. */
static enum bb_err
read_nodes(struct db_conn *c, const struct mt_node *nodes, size_t n, unsigned char *out)
{
	struct bb_buf levels = { 0 }, idx = { 0 };
	PGresult *res;
	enum bb_err err;

	if (n == 0)
		return BB_OK;
	bb_buf_puts(&levels, "{");
	bb_buf_puts(&idx, "{");
	for (size_t i = 0; i < n; i++) {
		bb_buf_printf(&levels, "%s%d", i ? "," : "", nodes[i].level);
		bb_buf_printf(&idx, "%s%" PRIu64, i ? "," : "", nodes[i].index);
	}
	bb_buf_puts(&levels, "}");
	bb_buf_puts(&idx, "}");
	const char *params[] = { levels.data, idx.data };
	err = db_exec(c, "db_tlog_nodes", 2, params, &res);
	bb_buf_free(&levels);
	bb_buf_free(&idx);
	if (err != BB_OK)
		return err;
	for (size_t i = 0; i < n && err == BB_OK; i++) {
		if ((int)i >= PQntuples(res) || PQgetisnull(res, (int)i, 0) ||
		    bb_hex_decode(out + i * MT_HASH_LEN, MT_HASH_LEN, PQgetvalue(res, (int)i, 0)) !=
		        0) {
			log_warnx("%s: the log's subtree (%d, %" PRIu64
			          ") is not stored: its tables "
			          "were changed",
			          __func__, nodes[i].level, nodes[i].index);
			err = BB_EINTERNAL;
		}
	}
	PQclear(res);
	return err;
}

enum bb_err
tlog_load(struct db_conn *c, struct tlog_seq *s)
{
	PGresult *res;
	enum bb_err err;
	int64_t size;
	struct mt_node nodes[MT_LEVELS];
	unsigned char hashes[MT_LEVELS * MT_HASH_LEN];

	memset(s, 0, sizeof(*s));
	if ((err = db_exec(c, "db_tlog_state", 0, NULL, &res)) != BB_OK)
		return err;
	if (PQntuples(res) != 1 || !bb_parse_int64(PQgetvalue(res, 0, 0), 0, INT64_MAX, &size)) {
		PQclear(res);
		log_warnx("%s: log_state does not hold one row", __func__);
		return BB_EINTERNAL;
	}
	s->backfilled = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	if (!PQgetisnull(res, 0, 2)) {
		snprintf(s->last_id, sizeof(s->last_id), "%s", PQgetvalue(res, 0, 2));
		s->last_seq = atoi(PQgetvalue(res, 0, 3));
	}
	PQclear(res);
	size_t n = mt_frontier_nodes((uint64_t)size, nodes);
	if ((err = read_nodes(c, nodes, n, hashes)) != BB_OK)
		return err;
	for (size_t i = 0; i < n; i++)
		memcpy(s->f.hash[nodes[i].level], hashes + i * MT_HASH_LEN, MT_HASH_LEN);
	s->f.size = (uint64_t)size;
	s->loaded = true;
	return BB_OK;
}

/* One batch as it is built: the bb_log_append parameters. */
struct batch {
	struct bb_buf specimens, seqs, done, levels, idx, hashes;
	size_t entries, nodes, dones;
};

static void
list_add(struct bb_buf *b, size_t *count, const char *item)
{
	bb_buf_puts(b, *count ? "," : "{");
	bb_buf_puts(b, item);
	(*count)++;
}

static void
emit_node(void *arg, int level, uint64_t index, const mt_hash hash)
{
	struct batch *b = arg;
	char hex[2 * MT_HASH_LEN + 1];

	bb_hex_encode(hex, hash, MT_HASH_LEN);
	bb_buf_printf(&b->levels, "%s%d", b->nodes ? "," : "{", level);
	bb_buf_printf(&b->idx, "%s%" PRIu64, b->nodes ? "," : "{", index);
	bb_buf_printf(&b->hashes, "%s%s", b->nodes ? "," : "{", hex);
	b->nodes++;
}

static void
batch_free(struct batch *b)
{
	bb_buf_free(&b->specimens);
	bb_buf_free(&b->seqs);
	bb_buf_free(&b->done);
	bb_buf_free(&b->levels);
	bb_buf_free(&b->idx);
	bb_buf_free(&b->hashes);
}

static const char *
list_end(struct bb_buf *b, size_t count)
{
	bb_buf_puts(b, count ? "}" : "{}");
	return b->data;
}

/* Take one event row in: its leaf, and the subtrees it completes. */
static int
take_event(struct batch *b, struct mt_frontier *f, PGresult *res, int row)
{
	struct bb_event ev = { 0 };
	mt_hash leaf;

	ev.format = atoi(PQgetvalue(res, row, COL_FORMAT));
	ev.specimen_id = PQgetvalue(res, row, COL_SPECIMEN);
	ev.seq = atoi(PQgetvalue(res, row, COL_SEQ));
	ev.type = PQgetvalue(res, row, COL_TYPE);
	ev.at_us = strtoll(PQgetvalue(res, row, COL_AT), NULL, 10);
	ev.actor = PQgetvalue(res, row, COL_ACTOR);
	ev.from_box = value(res, row, COL_FROM_BOX);
	ev.from_pos = value(res, row, COL_FROM_POS);
	ev.to_box = value(res, row, COL_TO_BOX);
	ev.to_pos = value(res, row, COL_TO_POS);
	ev.reason = value(res, row, COL_REASON);
	ev.details = PQgetvalue(res, row, COL_DETAILS);
	if (bb_hex_decode(ev.prev_hash, BB_HASH_LEN, PQgetvalue(res, row, COL_PREV)) != 0)
		memset(ev.prev_hash, 0, BB_HASH_LEN); /* a changed event: its leaf shows it */
	bb_event_leaf(&ev, leaf);
	/* Specimen IDs are Crockford base 32: nothing to quote in an array literal. */
	bb_buf_printf(&b->specimens, "%s\"%s\"", b->entries ? "," : "{", ev.specimen_id);
	bb_buf_printf(&b->seqs, "%s%d", b->entries ? "," : "{", ev.seq);
	b->entries++;
	mt_frontier_append(f, leaf, emit_node, b);
	return 0;
}

enum bb_err
tlog_sequence(struct db_conn *c, struct tlog_seq *s, int max, int *taken)
{
	struct batch b = { 0 };
	struct mt_frontier f;
	PGresult *res;
	enum bb_err err;
	char first[24], limit[16], last_seq[16];

	*taken = 0;
	if (!s->loaded && (err = tlog_load(c, s)) != BB_OK)
		return err;
	snprintf(limit, sizeof(limit), "%d", max);
	if (!s->backfilled) {
		snprintf(last_seq, sizeof(last_seq), "%d", s->last_seq);
		const char *params[] = { s->last_id, last_seq, limit };
		err = db_exec(c, "db_tlog_backfill", 3, params, &res);
	} else {
		const char *params[] = { limit };
		err = db_exec(c, "db_tlog_pending", 1, params, &res);
	}
	if (err != BB_OK) {
		s->loaded = false;
		return err;
	}
	int rows = PQntuples(res);
	f = s->f; /* the edge moves only once the batch is stored */
	for (int i = 0; i < rows; i++) {
		if (s->backfilled) {
			char *id = PQgetvalue(res, i, COL_PENDING);

			list_add(&b.done, &b.dones, id);
			if (strcmp(PQgetvalue(res, i, COL_LOGGED), "t") == 0)
				continue; /* the backfill took it in */
			if (PQgetisnull(res, i, COL_FORMAT)) {
				log_warnx("ledger: event %s/%s was queued for the log and is gone: "
				          "the events table was changed",
				          PQgetvalue(res, i, COL_SPECIMEN),
				          PQgetvalue(res, i, COL_SEQ));
				continue;
			}
		}
		take_event(&b, &f, res, i);
	}
	bool backfill_done = !s->backfilled && rows < max;
	char last_id[16] = "";
	int last = 0;
	if (!s->backfilled && rows > 0) {
		snprintf(last_id, sizeof(last_id), "%s", PQgetvalue(res, rows - 1, COL_SPECIMEN));
		last = atoi(PQgetvalue(res, rows - 1, COL_SEQ));
	}
	PQclear(res);
	if (b.entries == 0 && b.dones == 0 && !backfill_done) {
		batch_free(&b);
		return BB_OK;
	}
	snprintf(first, sizeof(first), "%" PRIu64, s->f.size);
	const char *params[] = {
		first,
		list_end(&b.specimens, b.entries),
		list_end(&b.seqs, b.entries),
		list_end(&b.done, b.dones),
		list_end(&b.levels, b.nodes),
		list_end(&b.idx, b.nodes),
		list_end(&b.hashes, b.nodes),
		backfill_done ? "true" : "false",
	};
	err = db_exec(c, "db_tlog_append", 8, params, NULL);
	batch_free(&b);
	if (err != BB_OK) {
		s->loaded = false;
		return err;
	}
	s->f = f;
	if (last_id[0] != '\0') {
		snprintf(s->last_id, sizeof(s->last_id), "%s", last_id);
		s->last_seq = last;
	}
	s->backfilled = s->backfilled || backfill_done;
	*taken = rows;
	return BB_OK;
}

enum bb_err
tlog_try_lead(struct db_conn *c, bool *leading)
{
	PGresult *res;
	enum bb_err err = db_exec(c, "db_tlog_lead", 0, NULL, &res);

	if (err != BB_OK)
		return err;
	*leading = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return BB_OK;
}

enum bb_err
tlog_size(struct db_conn *c, uint64_t *size)
{
	PGresult *res;
	enum bb_err err = db_exec(c, "db_tlog_size", 0, NULL, &res);
	int64_t v;

	if (err != BB_OK)
		return err;
	if (PQntuples(res) != 1 || !bb_parse_int64(PQgetvalue(res, 0, 0), 0, INT64_MAX, &v)) {
		PQclear(res);
		return BB_EINTERNAL;
	}
	PQclear(res);
	*size = (uint64_t)v;
	return BB_OK;
}

/* Where a range's subtrees come from: the n subtrees' hashes into out, in order. */
typedef enum bb_err (*nodes_fn)(void *arg, const struct mt_node *nodes, size_t n,
                                unsigned char *out);

/* The hashes of ranges r[0..n) from the stored subtrees they are made of, which fetch reads. */
static enum bb_err
range_hashes(const struct mt_range *r, size_t n, nodes_fn fetch, void *arg, unsigned char *out)
{
	struct mt_node *nodes = bb_calloc(n * MT_LEVELS + 1, sizeof(*nodes));
	size_t *counts = bb_calloc(n + 1, sizeof(*counts)), total = 0;
	enum bb_err err = BB_OK;

	for (size_t i = 0; i < n && err == BB_OK; i++) {
		counts[i] = mt_range_nodes(r[i], nodes + total);
		if (counts[i] == 0) {
			log_warnx("%s: [%" PRIu64 ", %" PRIu64 ") is not a range of a proof",
			          __func__, r[i].start, r[i].end);
			err = BB_EINTERNAL;
		}
		total += counts[i];
	}
	unsigned char *hashes = bb_malloc(total * MT_HASH_LEN + 1);
	if (err == BB_OK)
		err = fetch(arg, nodes, total, hashes);
	for (size_t i = 0, at = 0; i < n && err == BB_OK; at += counts[i], i++)
		mt_range_hash(hashes + at * MT_HASH_LEN, counts[i], out + i * MT_HASH_LEN);
	free(hashes);
	free(counts);
	free(nodes);
	return err;
}

static enum bb_err
nodes_from_db(void *arg, const struct mt_node *nodes, size_t n, unsigned char *out)
{
	return read_nodes(arg, nodes, n, out);
}

enum bb_err
tlog_range_hashes(struct db_conn *c, const struct mt_range *r, size_t n, unsigned char *out)
{
	return range_hashes(r, n, nodes_from_db, c, out);
}

/* Rows row.. of res, with level, index and hex hash from column col. */
struct read_rows {
	const PGresult *res;
	int row, col;
};

static enum bb_err
nodes_from_rows(void *arg, const struct mt_node *nodes, size_t n, unsigned char *out)
{
	const struct read_rows *rr = arg;
	const PGresult *res = rr->res;
	int col = rr->col;

	for (size_t i = 0; i < n; i++) {
		int at = rr->row;
		for (; at < PQntuples(res); at++)
			if (!PQgetisnull(res, at, col) &&
			    atoi(PQgetvalue(res, at, col)) == nodes[i].level &&
			    strtoull(PQgetvalue(res, at, col + 1), NULL, 10) == nodes[i].index)
				break;
		if (at == PQntuples(res) || bb_hex_decode(out + i * MT_HASH_LEN, MT_HASH_LEN,
		                                          PQgetvalue(res, at, col + 2)) != 0) {
			log_warnx("%s: the log's subtree (%d, %" PRIu64
			          ") is not among those read: "
			          "its tables were changed",
			          __func__, nodes[i].level, nodes[i].index);
			return BB_EINTERNAL;
		}
	}
	return BB_OK;
}

enum bb_err
tlog_range_hashes_in(const PGresult *res, int row, int col, const struct mt_range *r, size_t n,
                     unsigned char *out)
{
	struct read_rows rr = { res, row, col };

	return range_hashes(r, n, nodes_from_rows, &rr, out);
}
