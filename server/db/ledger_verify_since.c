/*
 * ledger_verify_since.c — the incremental verify: only what the log gained
 * since the last verify that found the ledger good (ledger_verifications).
 *
 * It holds the stored tree at that verify's size to the root it had then,
 * from the O(log n) stored subtrees of its frontier; checks every entry
 * after it (its event still there, still giving its leaf), grows the tree of
 * those leaves from that frontier and holds it to the checkpoints signed
 * since and to the stored tree; and checks the chains of the specimens with
 * new events (logged since, queued, or dated since the last verify's
 * snapshot and in neither), each from the event before its first new one. What it cannot
 * see — an event older than that verify changed since — is in
 * docs/operations.md, "Verifying the ledger".
 */
#include "db/ledger_verify_int.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The stored tree of size leaves from its frontier's subtrees: its root, or -1 with the
 * first subtree that is not stored named in why. */
static enum bb_err
stored_root(struct db_conn *c, uint64_t size, struct mt_frontier *f, bool *whole, char *why,
            size_t why_len)
{
	struct mt_node nodes[MT_LEVELS];
	size_t n = mt_frontier_nodes(size, nodes);
	char levels[MT_LEVELS * 4 + 3] = "{", idx[MT_LEVELS * 21 + 3] = "{";
	const char *params[] = { levels, idx };
	bool have[MT_LEVELS] = { false };
	PGresult *res;
	enum bb_err err;

	memset(f, 0, sizeof(*f));
	f->size = size;
	for (size_t i = 0; i < n; i++) {
		size_t a = strlen(levels), b = strlen(idx);
		snprintf(levels + a, sizeof(levels) - a, "%s%d", i ? "," : "", nodes[i].level);
		snprintf(idx + b, sizeof(idx) - b, "%s%llu", i ? "," : "",
		         (unsigned long long)nodes[i].index);
	}
	strcat(levels, "}");
	strcat(idx, "}");
	if ((err = db_exec(c, "db_ledger_nodes", 2, params, &res)) != BB_OK)
		return err;
	for (int i = 0; i < PQntuples(res); i++) {
		int l = atoi(PQgetvalue(res, i, 0));
		if (l >= 0 && l < MT_LEVELS &&
		    bb_hex_decode(f->hash[l], MT_HASH_LEN, PQgetvalue(res, i, 2)) == 0)
			have[l] = true;
	}
	PQclear(res);
	*whole = true;
	for (size_t i = 0; i < n; i++)
		if (!have[nodes[i].level]) {
			snprintf(why, why_len,
			         "the stored subtree at level %d index %llu is missing",
			         nodes[i].level, (unsigned long long)nodes[i].index);
			*whole = false;
			break;
		}
	return BB_OK;
}

struct since {
	struct lv_cp *cps;
	size_t ncps;
	uint64_t last_good;
	struct lv_found *log;
};

/* Hold the grown tree to each checkpoint signed since, as the entries pass its size. */
static void
at_size(void *arg, size_t i, const struct mt_frontier *f, bool present)
{
	struct since *s = arg;
	struct lv_cp *cp = &s->cps[i];
	char detail[240];

	cp->present = present;
	if (!present)
		return;
	mt_frontier_root(f, cp->got);
	if (cp->self)
		return;
	if (memcmp(cp->got, cp->root, MT_HASH_LEN) == 0) {
		cp->held = true;
		s->last_good = cp->size;
		return;
	}
	snprintf(detail, sizeof(detail),
	         "the events of log entries %llu to %llu no longer give the root signed in "
	         "%.100s: they were rewritten, log and all",
	         (unsigned long long)s->last_good, (unsigned long long)cp->size - 1, cp->source);
	lv_finding(s->log, "", 0, (long long)s->last_good, "rewritten", detail);
}

/* The second half of the touched chains (summed), read by a thread on its own connection
 * in the coordinator's snapshot. */
struct half {
	const char *conninfo, *snapshot;
	const char *params[4];
	struct lv_chain_opts o;
	struct lv_sum sum;
	struct lv_found found;
	enum bb_err err;
	char error[300];
};

static void *
read_half(void *arg)
{
	static const struct db_stmt *const sets[] = { db_ledger_statements, NULL };
	struct half *h = arg;
	struct db_conn *c = NULL;

	if ((h->err = db_connect_quiet(h->conninfo, sets, &c, h->error, sizeof(h->error))) != BB_OK)
		return NULL;
	if ((h->err = lv_join_snapshot(c, h->snapshot)) == BB_OK)
		h->err = lv_chains(c, "db_ledger_touched_summed", 4, h->params, &h->o, &h->found);
	if (h->err != BB_OK)
		snprintf(h->error, sizeof(h->error), "%s", db_error_message(c));
	if (db_in_txn(c))
		db_rollback(c);
	db_disconnect(c);
	return NULL;
}

/*
 * The touched chains, summed into o->sum, their findings in specimen ID order (first,
 * then second). They are most of an incremental verify's time, a few index lookups per
 * chain in one backend: when the verify may use more connections, a thread reads the
 * chains above the middle ID on a second one, in this snapshot (10^5 new events of
 * 20,000 chains at 10^7: 2 CPU-seconds in the backend, 2026-12-07).
 */
static enum bb_err
touched_summed(struct db_conn *c, const struct ledger_verify_opts *o, const char *size,
               const char *since, const struct lv_chain_opts *copts, struct lv_found *first,
               struct lv_found *second, char *error, size_t error_len)
{
	struct half h = { .conninfo = o != NULL ? o->conninfo : NULL, .o = *copts };
	char *pivot = NULL, snapshot[80] = "";
	PGresult *res;
	enum bb_err err;
	pthread_t th;
	bool split = false;

	if (h.conninfo != NULL && o->jobs > 1) {
		if ((err = db_exec(c, "db_ledger_touched_pivot", 0, NULL, &res)) != BB_OK)
			return err;
		if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
			pivot = bb_strdup(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	if (pivot != NULL) {
		if ((err = db_exec(c, "db_ledger_export", 0, NULL, &res)) != BB_OK) {
			free(pivot);
			return err;
		}
		snprintf(snapshot, sizeof(snapshot), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		h.snapshot = snapshot;
		h.params[0] = size;
		h.params[1] = since;
		h.params[2] = pivot;
		h.o.sum = &h.sum;
		split = pthread_create(&th, NULL, read_half, &h) == 0;
	}
	const char *params[] = { size, since, "", split ? pivot : NULL };
	err = lv_chains(c, "db_ledger_touched_summed", 4, params, copts, first);
	if (split) {
		pthread_join(th, NULL);
		if (err == BB_OK && h.err != BB_OK) {
			err = h.err;
			snprintf(error, error_len, "%s", h.error);
		}
		lv_sum_merge(copts->sum, &h.sum);
		*second = h.found;
	}
	free(pivot);
	return err;
}

/* With key, summed: the new entries' stored leaves are summed against the new events'
 * recomputed leaves rather than each entry's event looked up. */
static enum bb_err
verify_since(struct db_conn *c, const struct ledger_verify_opts *o, const unsigned char *key,
             struct ledger_report *rep, struct lv_cp *from, char *started, size_t started_len)
{
	struct lv_found chains = { 0 }, chains_above = { 0 }, log = { 0 };
	struct since s = { .log = &log };
	PGresult *res;
	enum bb_err err;
	char detail[480], why[160], size_s[24];
	bool backfilled, whole;

	if ((err = db_exec(c, "db_ledger_verified", 0, NULL, &res)) != BB_OK)
		return err;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return BB_ENOTFOUND;
	}
	from->size = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	bool root_ok = bb_hex_decode(from->root, MT_HASH_LEN, PQgetvalue(res, 0, 1)) == 0;
	from->note = PQgetisnull(res, 0, 2) ? NULL : bb_strdup(PQgetvalue(res, 0, 2));
	snprintf(rep->since_at, sizeof(rep->since_at), "%s", PQgetvalue(res, 0, 3));
	snprintf(rep->last_full_at, sizeof(rep->last_full_at), "%s", PQgetvalue(res, 0, 4));
	PQclear(res);
	rep->since_size = from->size;
	snprintf(from->source, sizeof(from->source), "the verify of %s", rep->since_at);

	if ((err = db_exec(c, "db_ledger_log_state", 0, NULL, &res)) != BB_OK)
		return err;
	backfilled = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	snprintf(started, started_len, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 2) : "");
	PQclear(res);
	if ((err = db_exec(c, "db_ledger_log_end", 0, NULL, &res)) != BB_OK)
		return err;
	uint64_t total = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);

	/* The record itself: its checkpoint still opens with the key and says what it says. */
	if (from->note != NULL && o != NULL && o->key != NULL) {
		struct checkpoint cp;
		const char *bad;
		if (checkpoint_open(from->note, strlen(from->note), o->key, &cp, &bad) != 0 ||
		    cp.size != from->size || memcmp(cp.root, from->root, MT_HASH_LEN) != 0) {
			snprintf(detail, sizeof(detail),
			         "the checkpoint recorded by %.60s does not open with the key or "
			         "does not say what the record says",
			         from->source);
			lv_finding(&log, "", 0, (long long)from->size, "rewritten", detail);
		}
	}
	/* The stored tree at the verified size still has the verified root. */
	struct lv_log_range r = {
		.start = from->size, .end = total, .lead_gap = true, .open_end = true
	};
	if ((err = stored_root(c, from->size, &r.f, &whole, why, sizeof(why))) != BB_OK)
		return err;
	mt_hash root;
	mt_frontier_root(&r.f, root);
	if (!root_ok || !whole || memcmp(root, from->root, MT_HASH_LEN) != 0) {
		snprintf(detail, sizeof(detail),
		         "the stored tree of %llu entries no longer has the root %.60s found "
		         "good%s%.70s: entries before it were rewritten or removed",
		         (unsigned long long)from->size, from->source, whole ? "" : "; ",
		         whole ? "" : why);
		lv_finding(&log, "", 0, (long long)from->size, "rewritten", detail);
	}
	if (total < from->size) {
		snprintf(detail, sizeof(detail),
		         "the log holds %llu entries, fewer than the %llu %.60s found good: "
		         "entries were removed",
		         (unsigned long long)total, (unsigned long long)from->size, from->source);
		lv_finding(&log, "", 0, (long long)total, "deleted", detail);
		r.end = from->size;
	}

	/* The new chains first, as the full verify reports them. */
	snprintf(size_s, sizeof(size_s), "%llu", (unsigned long long)from->size);
	const char *params[] = { size_s, rep->since_at };
	struct lv_pending pending;
	if ((err = lv_pending_load(c, &pending)) != BB_OK)
		goto out;
	struct lv_sum events = { { 0 } };
	struct lv_chain_opts copts = { .backfilled = backfilled,
		                       .window = true,
		                       .pending = &pending,
		                       .key = key,
		                       .sum = &events,
		                       .from = (long long)from->size,
		                       .logged_before = key != NULL,
		                       .ordered = key != NULL };
	if (key != NULL)
		err = touched_summed(c, o, size_s, rep->since_at, &copts, &chains, &chains_above,
		                     rep->error, sizeof(rep->error));
	else
		err = lv_chains(c, "db_ledger_touched", 2, params, &copts, &chains);
	lv_pending_free(&pending);
	if (err != BB_OK)
		goto out;

	/* Then the entries after it, against the checkpoints signed since. */
	if ((err = lv_checkpoints(c, o, &s.cps, &s.ncps, &chains)) != BB_OK)
		goto out;
	size_t keep = 0;
	for (size_t i = 0; i < s.ncps; i++)
		if (s.cps[i].size > from->size)
			s.cps[keep++] = s.cps[i];
		else
			free(s.cps[i].note);
	s.ncps = keep;
	/* The spare slot: a stale copy of a moved or dropped checkpoint until cleared. */
	memset(&s.cps[s.ncps], 0, sizeof(s.cps[s.ncps]));
	s.cps[s.ncps].size = r.end;
	s.cps[s.ncps++].self = true;
	qsort(s.cps, s.ncps, sizeof(*s.cps), lv_by_size);
	uint64_t *sizes = bb_calloc(s.ncps, sizeof(*sizes));
	for (size_t i = 0; i < s.ncps; i++)
		sizes[i] = s.cps[i].size;
	s.last_good = from->size;
	r.sizes = sizes;
	r.nsizes = s.ncps;
	r.at_size = at_size;
	r.arg = &s;
	r.key = key;
	/* In chunks, for bounded memory: each starts where the tree stands, so that entries
	 * missing across chunks are reported once, from where they begin. */
	uint64_t end = r.end, hi = from->size;
	uint64_t step = o && o->chunk_entries ? o->chunk_entries : LEDGER_CHUNK_ENTRIES;
	for (uint64_t pos = from->size; err == BB_OK && pos < end; pos = r.f.size) {
		hi = hi + step < end ? hi + step : end;
		r.start = pos;
		r.end = hi;
		err = lv_log(c, &r, &log);
	}
	r.end = end;
	free(sizes);
	if (err != BB_OK)
		goto out;
	for (size_t i = 0; i < s.ncps; i++) {
		if (s.cps[i].present && !s.cps[i].self)
			rep->checkpoints++;
		else if (!s.cps[i].self && s.cps[i].size > r.end) {
			snprintf(
			    detail, sizeof(detail),
			    "the log holds %llu entries, fewer than the %llu of %.100s: entries "
			    "were removed",
			    (unsigned long long)r.end, (unsigned long long)s.cps[i].size,
			    s.cps[i].source);
			lv_finding(&log, "", 0, (long long)r.end, "deleted", detail);
			rep->checkpoints++;
		}
	}
	/* The stored tree grew from the same frontier by the same leaves (when no leaf was
	 * found changed, which the tree then cannot match). */
	if (log.broken == 0 && r.end > from->size) {
		struct mt_frontier now;
		mt_hash grown, kept;
		if ((err = stored_root(c, r.end, &now, &whole, why, sizeof(why))) != BB_OK)
			goto out;
		mt_frontier_root(&r.f, grown);
		mt_frontier_root(&now, kept);
		if (!whole || memcmp(grown, kept, MT_HASH_LEN) != 0) {
			snprintf(
			    detail, sizeof(detail),
			    "the stored tree of %llu entries is not the one its entries' events "
			    "make from the tree verified at %llu%s%.70s",
			    (unsigned long long)r.end, (unsigned long long)from->size,
			    whole ? "" : ": ", whole ? "" : why);
			lv_finding(&log, "", 0, (long long)from->size, "rewritten", detail);
		}
	}
	lv_report_add(rep, &chains);
	lv_report_add(rep, &chains_above);
	lv_report_add(rep, &log);
	if (key != NULL && memcmp(&events, &r.sum, sizeof(events)) != 0)
		rep->ok = false; /* the detailed check will say where */
	/* The next incremental verify starts at the largest checkpoint held, or at this tree
	 * when the last one started at an unsigned tree too. */
	for (size_t i = 0; i < s.ncps; i++) {
		if (s.cps[i].held) {
			free(from->note);
			*from = s.cps[i];
			from->note = s.cps[i].note ? bb_strdup(s.cps[i].note) : NULL;
		} else if (s.cps[i].self && s.cps[i].present && from->note == NULL &&
		           s.cps[i].size >= from->size) {
			from->size = s.cps[i].size;
			memcpy(from->root, s.cps[i].got, MT_HASH_LEN);
			from->self = false;
		}
	}
out:
	lv_found_free(&chains);
	lv_found_free(&chains_above);
	lv_found_free(&log);
	lv_checkpoints_free(s.cps, s.ncps);
	return err;
}

/* Summed first, as the full verify; when that finds anything, the detailed check in the
 * same snapshot names it. */
enum bb_err
ledger_verify_since(struct db_conn *c, const struct ledger_verify_opts *o,
                    struct ledger_report *rep)
{
	struct lv_cp from = { 0 };
	char started[64] = "";
	unsigned char key[LV_SUM_KEY_LEN];
	bool summed = o == NULL || !o->detailed;
	enum bb_err err;

	memset(rep, 0, sizeof(*rep));
	rep->ok = true;
	randombytes_buf(key, sizeof(key));
	if ((err = db_begin(c)) != BB_OK)
		return err;
	if ((err = db_exec(c, "db_ledger_snapshot", 0, NULL, NULL)) != BB_OK ||
	    (err = db_long_statements(c, 0)) != BB_OK ||
	    (err = db_exec(c, "db_ledger_custom_plans", 0, NULL, NULL)) != BB_OK ||
	    (err = verify_since(c, o, summed ? key : NULL, rep, &from, started, sizeof(started))) !=
	        BB_OK)
		goto fail;
	if (summed && !rep->ok) {
		free(from.note);
		memset(&from, 0, sizeof(from));
		memset(rep, 0, sizeof(*rep));
		rep->ok = true;
		if ((err = verify_since(c, o, NULL, rep, &from, started, sizeof(started))) != BB_OK)
			goto fail;
		rep->rechecked = true;
	}
	rep->detailed = !summed || rep->rechecked;
	err = db_commit(c);
	if (err == BB_OK && rep->ok && o != NULL && o->record &&
	    lv_record(c, &from, "incremental", started, rep, &rep->recorded) != BB_OK)
		snprintf(rep->error, sizeof(rep->error), "%s", db_error_message(c));
	free(from.note);
	return err;
fail:
	db_rollback(c);
	free(from.note);
	return err;
}
