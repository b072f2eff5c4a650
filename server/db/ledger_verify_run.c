/*
 * ledger_verify_run.c — the full verify: the ledger cut into chunks
 * (specimen ID ranges for the chains, aligned ranges of 2^k log entries for
 * the tree), read by several connections that all import one snapshot,
 * and put back together in the order one scan would have met it: the same
 * findings, named the same way, whatever the number of connections.
 *
 * The tree of the log's first s entries is rebuilt from the chunks: a
 * complete chunk's leaves form the subtree at level k of index j (RFC 9162
 * splits a tree at powers of two, so aligned ranges combine exactly), and a
 * tree ending inside chunk j is the frontier of the j chunks before it,
 * shifted up k levels, under the chunk's own frontier at s.
 */
#include "db/ledger_verify_int.h"

#include "ledger.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct task {
	bool log;
	char *lo, *hi;     /* chains: IDs in (lo, hi], or summed, pages [lo, hi) as tids */
	struct lv_sum sum; /* chains, summed: the items of their logged events */
	struct lv_log_range range;
	unsigned bits;       /* the chunk's levels: 2^bits entries */
	size_t cp0;          /* the first checkpoint in (start, end] */
	unsigned char *lows; /* per checkpoint in it: the frontier's levels below k */
	bool *present;
	struct lv_found found;
};

struct run {
	pthread_mutex_t lock;
	struct task *tasks;
	size_t ntasks, next;
	bool failed;
	enum bb_err err;
	char error[300];
	bool backfilled;
	/* Summed: chains read by pages and the log without its events, the two compared by
	 * their sums (lv_sum); detailed: each event looked up by its entry and each entry's
	 * event looked up, which names what differs. */
	bool summed;
	unsigned char key[LV_SUM_KEY_LEN];
	struct lv_pending pending; /* the queue, read by the coordinator; read-only after */
	unsigned bits;             /* log chunks of 2^bits entries */
	struct lv_cp *cps;
	size_t ncps;
	uint64_t *sizes; /* cps' sizes, for lv_log */
	const char *conninfo;
	char snapshot[80];
};

static void
fail(struct run *run, enum bb_err err, struct db_conn *c)
{
	pthread_mutex_lock(&run->lock);
	if (!run->failed) {
		run->failed = true;
		run->err = err;
		snprintf(run->error, sizeof(run->error), "%s", c ? db_error_message(c) : "");
	}
	pthread_mutex_unlock(&run->lock);
}

/* Keep the frontier's low levels at each checkpoint inside the chunk. */
static void
at_size(void *arg, size_t i, const struct mt_frontier *f, bool present)
{
	struct task *t = arg;
	size_t j = i - t->cp0;

	t->present[j] = present;
	memcpy(t->lows + j * t->bits * MT_HASH_LEN, f->hash, (size_t)t->bits * MT_HASH_LEN);
}

static enum bb_err
run_task(struct run *run, struct db_conn *c, struct task *t)
{
	if (!t->log) {
		const char *params[] = { t->lo, t->hi };
		struct lv_chain_opts o = { .backfilled = run->backfilled,
			                   .pending = &run->pending,
			                   .key = run->summed ? run->key : NULL,
			                   .sum = &t->sum,
			                   .from = -1,
			                   .ordered = run->summed };
		return lv_chains(c, run->summed ? "db_ledger_chains_blocks" : "db_ledger_chains", 2,
		                 params, &o, &t->found);
	}
	return lv_log(c, &t->range, &t->found);
}

static void
work(struct run *run, struct db_conn *c)
{
	for (;;) {
		pthread_mutex_lock(&run->lock);
		size_t i = run->failed ? run->ntasks : run->next++;
		pthread_mutex_unlock(&run->lock);
		if (i >= run->ntasks)
			return;
		enum bb_err err = run_task(run, c, &run->tasks[i]);
		if (err != BB_OK) {
			fail(run, err, c);
			return;
		}
	}
}

static void *
worker(void *arg)
{
	static const struct db_stmt *const sets[] = { db_ledger_statements, NULL };
	struct run *run = arg;
	struct db_conn *c = NULL;
	char why[256];
	enum bb_err err;

	if ((err = db_connect_quiet(run->conninfo, sets, &c, why, sizeof(why))) != BB_OK) {
		pthread_mutex_lock(&run->lock);
		if (!run->failed) {
			run->failed = true;
			run->err = err;
			snprintf(run->error, sizeof(run->error), "%s", why);
		}
		pthread_mutex_unlock(&run->lock);
		return NULL;
	}
	if ((err = lv_join_snapshot(c, run->snapshot)) != BB_OK)
		fail(run, err, c);
	else
		work(run, c);
	if (db_in_txn(c))
		db_rollback(c);
	db_disconnect(c);
	return NULL;
}

/* The chains' tasks by specimen ID, every per-th, with room for nlog more. */
static enum bb_err
plan_by_id(struct db_conn *c, unsigned per, size_t nlog, struct run *run)
{
	char per_s[16];
	const char *params[] = { per_s };
	PGresult *bounds, *last;
	enum bb_err err;

	snprintf(per_s, sizeof(per_s), "%u", per);
	if ((err = db_exec(c, "db_ledger_bounds", 1, params, &bounds)) != BB_OK)
		return err;
	if ((err = db_exec(c, "db_ledger_last_id", 0, NULL, &last)) != BB_OK) {
		PQclear(bounds);
		return err;
	}
	size_t nb = (size_t)PQntuples(bounds);
	run->tasks = bb_calloc(nb + 1 + nlog, sizeof(*run->tasks));
	const char *prev = "";
	if (!PQgetisnull(last, 0, 0)) {
		const char *end = PQgetvalue(last, 0, 0);
		for (size_t i = 0; i <= nb; i++) {
			const char *hi = i < nb ? PQgetvalue(bounds, (int)i, 0) : end;
			if (i == nb && nb > 0 && strcmp(hi, prev) == 0)
				break; /* the last bound is the last ID */
			struct task *t = &run->tasks[run->ntasks++];
			t->lo = bb_strdup(prev);
			t->hi = bb_strdup(hi);
			prev = hi;
		}
	}
	PQclear(bounds);
	PQclear(last);
	return BB_OK;
}

/* The chains' tasks by the specimens' pages, about per specimens each, with room for nlog
 * more; the last is open-ended, for rows on pages added since the size was read. */
static enum bb_err
plan_by_page(struct db_conn *c, unsigned per, size_t nlog, struct run *run)
{
	PGresult *res;
	enum bb_err err;
	char tid[32];

	if ((err = db_exec(c, "db_ledger_blocks", 0, NULL, &res)) != BB_OK)
		return err;
	uint64_t pages = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	double rows = strtod(PQgetvalue(res, 0, 1), NULL);
	PQclear(res);
	uint64_t step = rows >= 1 ? (uint64_t)(per / rows) : per;
	if (step == 0)
		step = 1;
	size_t n = (size_t)((pages + step - 1) / step);
	run->tasks = bb_calloc(n + 1 + nlog, sizeof(*run->tasks));
	for (uint64_t lo = 0; lo < pages || lo == 0; lo += step) {
		struct task *t = &run->tasks[run->ntasks++];
		snprintf(tid, sizeof(tid), "(%llu,0)", (unsigned long long)lo);
		t->lo = bb_strdup(tid);
		if (lo + step >= pages)
			snprintf(tid, sizeof(tid), "(%u,0)", 0xFFFFFFFFu);
		else
			snprintf(tid, sizeof(tid), "(%llu,0)", (unsigned long long)(lo + step));
		t->hi = bb_strdup(tid);
		if (lo + step >= pages)
			break;
	}
	return BB_OK;
}

/* Cut the ledger into tasks: the chains by specimen ID (or by page, summed), the log by
 * aligned index ranges. */
static enum bb_err
plan(struct db_conn *c, const struct ledger_verify_opts *o, uint64_t total, struct run *run)
{
	unsigned per = o && o->chunk_specimens ? o->chunk_specimens : LEDGER_CHUNK_SPECIMENS;
	uint64_t entries = 1ull << run->bits;
	size_t nlog = (size_t)((total + entries - 1) / entries);
	enum bb_err err;

	if ((err = run->summed ? plan_by_page(c, per, nlog, run) : plan_by_id(c, per, nlog, run)) !=
	    BB_OK)
		return err;
	/* The checkpoints' sizes in order, each chunk told of those in (start, end]. */
	run->sizes = bb_calloc(run->ncps + 1, sizeof(*run->sizes));
	for (size_t i = 0; i < run->ncps; i++)
		run->sizes[i] = run->cps[i].size;
	size_t ci = 0;
	for (size_t j = 0; j < nlog; j++) {
		struct task *t = &run->tasks[run->ntasks++];
		t->log = true;
		t->range.start = j * entries;
		t->range.end = t->range.start + entries < total ? t->range.start + entries : total;
		while (ci < run->ncps && run->cps[ci].size <= t->range.start)
			ci++;
		t->cp0 = ci;
		size_t cn = 0;
		while (ci + cn < run->ncps && run->cps[ci + cn].size <= t->range.end)
			cn++;
		t->range.sizes = run->sizes;
		t->range.nsizes = ci + cn;
		t->range.at_size = at_size;
		t->range.arg = t;
		t->range.key = run->summed ? run->key : NULL;
		t->bits = run->bits;
		t->lows = bb_calloc((cn ? cn : 1) * (run->bits ? run->bits : 1), MT_HASH_LEN);
		t->present = bb_calloc(cn ? cn : 1, sizeof(*t->present));
		ci += cn;
	}
	return BB_OK;
}

/* The root at checkpoint i, inside log task t whose chunks before make up: up. */
static void
root_at(const struct run *run, const struct task *t, size_t i, const struct mt_frontier *up,
        mt_hash out)
{
	struct mt_frontier f = { .size = run->cps[i].size };
	uint64_t local = f.size - t->range.start;

	for (unsigned l = 0; l < run->bits; l++)
		if ((local >> l) & 1)
			memcpy(f.hash[l], t->lows + ((i - t->cp0) * t->bits + l) * MT_HASH_LEN,
			       MT_HASH_LEN);
	for (unsigned l = 0; l + run->bits < MT_LEVELS; l++)
		if ((up->size >> l) & 1)
			memcpy(f.hash[l + run->bits], up->hash[l], MT_HASH_LEN);
	mt_frontier_root(&f, out);
}

/* Hold the tree to checkpoint i; a finding when its root no longer holds. */
static void
hold(struct run *run, size_t i, uint64_t *last_good, struct lv_found *log)
{
	struct lv_cp *cp = &run->cps[i];
	char detail[240];

	if (!cp->present || cp->self)
		return;
	if (memcmp(cp->got, cp->root, MT_HASH_LEN) == 0) {
		cp->held = true;
		*last_good = cp->size;
		return;
	}
	snprintf(detail, sizeof(detail),
	         "the events of log entries %llu to %llu no longer give the root signed in "
	         "%.100s: they were rewritten, log and all",
	         (unsigned long long)*last_good, (unsigned long long)cp->size - 1, cp->source);
	lv_finding(log, "", 0, (long long)*last_good, "rewritten", detail);
}

/*
 * The log's findings in the order one scan meets them: each chunk's, the
 * entries missing between chunks, and each checkpoint's once the entries
 * before its size are passed.
 */
static void
merge_log(struct run *run, uint64_t total, struct ledger_report *rep)
{
	struct lv_found log = { 0 };
	struct mt_frontier up = { 0 };
	uint64_t last_good = 0, expect = 0;
	size_t held = 0; /* checkpoints already held to (in order) */
	char detail[240];

	for (size_t ti = 0; ti < run->ntasks; ti++) {
		struct task *t = &run->tasks[ti];
		if (!t->log)
			continue;
		uint64_t entries = 1ull << run->bits;
		/* The roots of the checkpoints in this chunk. */
		size_t cn = 0;
		while (t->cp0 + cn < run->ncps && run->cps[t->cp0 + cn].size <= t->range.end)
			cn++;
		struct mt_frontier after = up;
		bool complete = t->range.end - t->range.start == entries;
		if (complete)
			mt_frontier_append(&after, t->range.f.hash[run->bits], NULL, NULL);
		for (size_t i = t->cp0; i < t->cp0 + cn; i++) {
			struct lv_cp *cp = &run->cps[i];
			cp->present = t->present[i - t->cp0];
			if (complete && cp->size == t->range.end)
				mt_frontier_root(&after, cp->got);
			else
				root_at(run, t, i, &up, cp->got);
		}
		/* Entries missing before this chunk's first, from the chunks before. */
		if (t->range.first >= 0 && (uint64_t)t->range.first != expect) {
			while (held < run->ncps && run->cps[held].size <= expect)
				hold(run, held++, &last_good, &log);
			snprintf(detail, sizeof(detail), "log entries %llu to %lld are missing",
			         (unsigned long long)expect, t->range.first - 1);
			lv_finding(&log, t->range.first_specimen, t->range.first_seq,
			           (long long)expect, "deleted", detail);
		}
		for (size_t k = 0; k < t->found.nbreaks; k++) {
			const struct ledger_break *b = &t->found.breaks[k];
			while (held < run->ncps && b->index >= 0 &&
			       run->cps[held].size <= (uint64_t)b->index)
				hold(run, held++, &last_good, &log);
			lv_finding(&log, b->specimen, b->seq, b->index, b->reason, b->detail);
		}
		/* Findings past the first LEDGER_BREAKS_MAX are counted, not named. */
		log.broken += t->found.broken - (long long)t->found.nbreaks;
		log.entries += t->found.entries;
		if (t->range.last >= 0)
			expect = (uint64_t)t->range.last + 1;
		up = after;
	}
	while (held < run->ncps && run->cps[held].size <= total)
		hold(run, held++, &last_good, &log);
	for (size_t i = 0; i < run->ncps; i++)
		if (run->cps[i].present && !run->cps[i].self)
			rep->checkpoints++;
	/* A checkpoint larger than the log: entries were removed from its end. */
	for (; held < run->ncps; held++) {
		const struct lv_cp *cp = &run->cps[held];
		if (cp->self)
			continue;
		snprintf(detail, sizeof(detail),
		         "the log holds %llu entries, fewer than the %llu of %.100s: entries were "
		         "removed",
		         (unsigned long long)total, (unsigned long long)cp->size, cp->source);
		lv_finding(&log, "", 0, (long long)total, "deleted", detail);
		rep->checkpoints++;
	}
	lv_report_add(rep, &log);
	lv_found_free(&log);
}

static void
run_free(struct run *run)
{
	for (size_t i = 0; i < run->ntasks; i++) {
		free(run->tasks[i].lo);
		free(run->tasks[i].hi);
		free(run->tasks[i].lows);
		free(run->tasks[i].present);
		lv_found_free(&run->tasks[i].found);
	}
	lv_checkpoints_free(run->cps, run->ncps);
	lv_pending_free(&run->pending);
	free(run->tasks);
	free(run->sizes);
	pthread_mutex_destroy(&run->lock);
}

/* Unless asked, the caller's connection alone: the daemon's verify (GET
 * /api/v1/ledger/verify) runs on its one long-work connection. */
static unsigned
jobs_of(const struct ledger_verify_opts *o)
{
	unsigned jobs = o && o->jobs ? o->jobs : 1;

	return jobs > LEDGER_JOBS_MAX ? LEDGER_JOBS_MAX : jobs;
}

/* What a good verify leaves for the next incremental one: the largest checkpoint held,
 * else the tree as verified. */
static enum bb_err
record(struct db_conn *c, const struct run *run, const char *started,
       const struct ledger_report *rep, long long *id)
{
	const struct lv_cp *best = NULL;

	for (size_t i = 0; i < run->ncps; i++)
		if (run->cps[i].held)
			best = &run->cps[i]; /* in size order: the largest */
	for (size_t i = 0; i < run->ncps && best == NULL; i++)
		if (run->cps[i].self && run->cps[i].present)
			best = &run->cps[i];
	return lv_record(c, best, "full", started, rep, id);
}

enum bb_err
lv_record(struct db_conn *c, const struct lv_cp *best, const char *kind, const char *started,
          const struct ledger_report *rep, long long *id)
{
	char size[24], root[2 * MT_HASH_LEN + 1], events[24], entries[24];
	PGresult *res;
	enum bb_err err;

	if (best == NULL)
		return BB_OK; /* an empty log: nothing to start from */
	snprintf(size, sizeof(size), "%llu", (unsigned long long)best->size);
	bb_hex_encode(root, best->self ? best->got : best->root, MT_HASH_LEN);
	snprintf(events, sizeof(events), "%lld", rep->events);
	snprintf(entries, sizeof(entries), "%lld", rep->entries);
	const char *params[] = { kind, started, size, root, best->note, events, entries };
	if ((err = db_exec(c, "db_ledger_record", 7, params, &res)) != BB_OK)
		return err;
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return BB_OK;
}

static enum bb_err
verify_all(struct db_conn *c, const struct ledger_verify_opts *o, struct run *run,
           struct ledger_report *rep, char *started, size_t started_len)
{
	struct lv_found cpfound = { 0 };
	PGresult *res;
	enum bb_err err;
	uint64_t total;
	unsigned jobs = jobs_of(o);
	unsigned entries = o && o->chunk_entries ? o->chunk_entries : LEDGER_CHUNK_ENTRIES;

	while ((1u << run->bits) < entries)
		run->bits++;
	if ((err = db_exec(c, "db_ledger_log_state", 0, NULL, &res)) != BB_OK)
		return err;
	run->backfilled = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	/* Until the backlog is in, an event in neither the log nor its queue is allowed, and
	 * only the event-by-event check can tell which those are. */
	run->summed = run->summed && run->backfilled;
	if (run->summed)
		randombytes_buf(run->key, sizeof(run->key));
	snprintf(started, started_len, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 2) : "");
	PQclear(res);
	if ((err = db_exec(c, "db_ledger_log_end", 0, NULL, &res)) != BB_OK)
		return err;
	total = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (jobs > 1) {
		if ((err = db_exec(c, "db_ledger_export", 0, NULL, &res)) != BB_OK)
			return err;
		snprintf(run->snapshot, sizeof(run->snapshot), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	if ((err = lv_pending_load(c, &run->pending)) != BB_OK)
		return err;
	if ((err = lv_checkpoints(c, o, &run->cps, &run->ncps, &cpfound)) != BB_OK)
		return err;
	struct lv_cp *self = &run->cps[run->ncps++];
	self->size = total;
	self->self = true;
	qsort(run->cps, run->ncps, sizeof(*run->cps), lv_by_size);
	if ((err = plan(c, o, total, run)) != BB_OK) {
		lv_found_free(&cpfound);
		return err;
	}
	pthread_t th[LEDGER_JOBS_MAX];
	unsigned started_threads = 0;
	for (unsigned i = 1; i < jobs && i < run->ntasks; i++)
		if (pthread_create(&th[started_threads], NULL, worker, run) == 0)
			started_threads++;
	work(run, c);
	for (unsigned i = 0; i < started_threads; i++)
		pthread_join(th[i], NULL);
	if (run->failed) {
		snprintf(rep->error, sizeof(rep->error), "%s", run->error);
		lv_found_free(&cpfound);
		return run->err;
	}
	for (size_t i = 0; i < run->ntasks; i++)
		if (!run->tasks[i].log)
			lv_report_add(rep, &run->tasks[i].found);
	lv_report_add(rep, &cpfound);
	lv_found_free(&cpfound);
	merge_log(run, total, rep);
	if (run->summed) {
		struct lv_sum events = { { 0 } }, log = { { 0 } };
		for (size_t i = 0; i < run->ntasks; i++)
			lv_sum_merge(run->tasks[i].log ? &log : &events,
			             run->tasks[i].log ? &run->tasks[i].range.sum
			                               : &run->tasks[i].sum);
		if (memcmp(&events, &log, sizeof(events)) != 0)
			rep->ok = false; /* the detailed check will say where */
	}
	rep->detailed = !run->summed;
	return BB_OK;
}

/* One pass over the ledger in the caller's transaction, summed or detailed. */
static enum bb_err
verify_pass(struct db_conn *c, const struct ledger_verify_opts *o, bool summed, struct run *run,
            struct ledger_report *rep, char *started, size_t started_len)
{
	memset(run, 0, sizeof(*run));
	run->conninfo = o ? o->conninfo : NULL;
	run->summed = summed;
	pthread_mutex_init(&run->lock, NULL);
	memset(rep, 0, sizeof(*rep));
	rep->ok = true;
	return verify_all(c, o, run, rep, started, started_len);
}

/*
 * The summed pass first: it reads each event and each entry once, in the order
 * they lie on disk, and proves the ledger whole when it is. When it finds
 * anything, the detailed pass runs in the same snapshot and its findings, which
 * name each event, are the report.
 */
enum bb_err
ledger_verify(struct db_conn *c, const struct ledger_verify_opts *o, struct ledger_report *rep)
{
	struct run run;
	char started[64] = "";
	bool summed = o == NULL || !o->detailed;
	enum bb_err err;

	memset(rep, 0, sizeof(*rep));
	/* No per-request timeout may cut the scans short; one read-only transaction whose
	 * snapshot every other connection imports, held until they are done. */
	if ((err = db_begin(c)) != BB_OK)
		return err;
	if ((err = db_exec(c, "db_ledger_snapshot", 0, NULL, NULL)) != BB_OK ||
	    (err = db_long_statements(c, 0)) != BB_OK ||
	    (err = db_exec(c, "db_ledger_custom_plans", 0, NULL, NULL)) != BB_OK) {
		db_rollback(c);
		return err;
	}
	err = verify_pass(c, o, summed, &run, rep, started, sizeof(started));
	if (err == BB_OK && !rep->ok && run.summed) {
		run_free(&run);
		err = verify_pass(c, o, false, &run, rep, started, sizeof(started));
		rep->rechecked = true;
	}
	if (err != BB_OK) {
		db_rollback(c);
		run_free(&run);
		return err;
	}
	err = db_commit(c);
	if (err == BB_OK && rep->ok && o != NULL && o->record &&
	    record(c, &run, started, rep, &rep->recorded) != BB_OK)
		snprintf(rep->error, sizeof(rep->error), "%s", db_error_message(c));
	run_free(&run);
	return err;
}

int
lv_by_size(const void *a, const void *b)
{
	const struct lv_cp *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return (int)x->self - (int)y->self; /* the tree itself after the checkpoints */
}

enum bb_err
lv_checkpoints(struct db_conn *c, const struct ledger_verify_opts *o, struct lv_cp **out,
               size_t *nout, struct lv_found *found)
{
	PGresult *res = NULL;
	enum bb_err err;
	size_t n = o ? o->ncheckpoints : 0;

	*out = NULL;
	*nout = 0;
	if (o != NULL && o->key != NULL &&
	    (err = db_exec(c, "db_ledger_checkpoints", 0, NULL, &res)) != BB_OK)
		return err;
	int kept = res ? PQntuples(res) : 0;
	struct lv_cp *cps = bb_calloc(n + (size_t)kept + 1, sizeof(*cps));
	for (size_t i = 0; i < n; i++) {
		cps[i].size = o->checkpoints[i].size;
		memcpy(cps[i].root, o->checkpoints[i].root, MT_HASH_LEN);
		snprintf(cps[i].source, sizeof(cps[i].source), "%s", o->checkpoints[i].source);
	}
	for (int i = 0; i < kept; i++) {
		const char *note = PQgetvalue(res, i, 1), *why;
		struct checkpoint cp;
		char detail[240];

		if (checkpoint_open(note, strlen(note), o->key, &cp, &why) != 0) {
			snprintf(detail, sizeof(detail), "checkpoint %s of log_checkpoints: %s",
			         PQgetvalue(res, i, 0), why);
			lv_finding(found, "", 0, -1, "rewritten", detail);
			continue;
		}
		struct lv_cp *lc = &cps[n++];
		lc->size = cp.size;
		memcpy(lc->root, cp.root, MT_HASH_LEN);
		lc->note = bb_strdup(note);
		snprintf(lc->source, sizeof(lc->source), "checkpoint %s of log_checkpoints",
		         PQgetvalue(res, i, 0));
	}
	PQclear(res);
	*out = cps;
	*nout = n;
	return BB_OK;
}

void
lv_checkpoints_free(struct lv_cp *cps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cps[i].note);
	free(cps);
}
