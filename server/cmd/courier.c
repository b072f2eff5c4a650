/* courier.c — checkpoints to the witnesses, cosignatures back (courier.h). */
#include "cmd/courier.h"

#include "db/tlog.h"
#include "http/log.h"
#include "merkle.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	NAP_MS = 1000,          /* how often the courier looks for a new checkpoint */
	TIMEOUT_MS = 10000,     /* one request to a witness, connecting included */
	ANSWER_MAX = 64 * 1024, /* a witness's answer is a few hundred bytes */
	BACKOFF_MIN_S = 2,
	BACKOFF_MAX_S = 300, /* a witness down for a day is tried every five minutes */
	WHY_MAX = 1000,
};

const struct db_stmt courier_statements[] = {
	{ "courier_due",
	  "SELECT checkpoint_id, size, note, cosigned_size FROM bb_log_witness_due($1)" },
	{ "courier_cosign", "SELECT bb_log_cosign($1, $2, $3, $4)" },
	{ "courier_tried", "SELECT bb_log_witness_tried($1, $2, $3, $4)" },
	{ NULL, NULL },
};

/* Where the courier stands with one witness. */
struct track {
	long long next_try; /* bb_monotonic_ms() */
	unsigned failures;  /* in a row */
	int64_t known;      /* the size the witness says it stands at (-1: take ours) */
};

struct courier {
	struct courier_opts o;
	struct track *tracks;
	pthread_t thread;
	atomic_bool stop;
};

/* What the next checkpoint for a witness is, and what it came to. */
struct delivery {
	char checkpoint_id[24];
	uint64_t size;
	char *note;   /* owned */
	int64_t from; /* the size the proof starts at: the witness's last cosigned */
	long status;  /* HTTP; 0: no answer */
	char code[100];
	char why[WHY_MAX];
	char *cosignature; /* owned: the checked signature line */
	int64_t known;     /* from a witness-size-mismatch answer; -1 when none */
};

static void
nap(struct courier *q, unsigned ms)
{
	for (unsigned slept = 0; slept < ms && !atomic_load(&q->stop); slept += 100)
		poll(NULL, 0, 100);
}

/* The newest checkpoint, if the witness is behind it; false when it is not. */
static enum bb_err
read_due(struct db_conn *c, const struct witness *w, struct delivery *d, bool *due)
{
	const char *params[] = { w->key.name };
	PGresult *res;
	enum bb_err err = db_exec(c, "courier_due", 1, params, &res);

	*due = false;
	if (err != BB_OK)
		return err;
	if (PQntuples(res) == 1) {
		snprintf(d->checkpoint_id, sizeof(d->checkpoint_id), "%s", PQgetvalue(res, 0, 0));
		d->size = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
		d->note = bb_strdup(PQgetvalue(res, 0, 2));
		d->from = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
		*due = true;
	}
	PQclear(res);
	return BB_OK;
}

/* The request's body: the checkpoint and the proof from d->from to it. */
static enum bb_err
make_body(struct db_conn *c, const struct delivery *d, char **body)
{
	struct mt_range ranges[MT_PROOF_MAX];
	unsigned char hashes[MT_PROOF_MAX * MT_HASH_LEN];
	size_t n = 0;
	uint64_t from = (uint64_t)d->from;

	*body = NULL;
	if (from > 0 && from < d->size) {
		if (mt_consistency_ranges(from, d->size, ranges, &n) != 0)
			return BB_EINTERNAL;
		enum bb_err err = tlog_range_hashes(c, ranges, n, hashes);
		if (err != BB_OK)
			return err;
	}
	cJSON *o = cJSON_CreateObject(), *proof = cJSON_AddArrayToObject(o, "proof");
	cJSON_AddStringToObject(o, "checkpoint", d->note);
	cJSON_AddNumberToObject(o, "old_size", (double)from);
	for (size_t i = 0; i < n; i++) {
		struct bb_buf b = { 0 };
		note_base64(hashes + i * MT_HASH_LEN, MT_HASH_LEN, &b);
		cJSON_AddItemToArray(proof, cJSON_CreateString(b.data));
		bb_buf_free(&b);
	}
	*body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return *body != NULL ? BB_OK : BB_EINTERNAL;
}

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	struct bb_buf *b = arg;

	if (b->len + size * n > ANSWER_MAX)
		return 0; /* not a witness's answer: cut short */
	bb_buf_append(b, data, size * n);
	return size * n;
}

static int
cut_short(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	const struct courier *q = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return atomic_load(&q->stop) ? 1 : 0;
}

/* POST body to the witness; d->status and the answer, or d->why. */
static void
post(struct courier *q, const struct witness *w, const char *body, struct delivery *d,
     struct bb_buf *answer)
{
	char errbuf[CURL_ERROR_SIZE] = "", auth[WITNESS_TOKEN_MAX + 32];
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;

	if (h == NULL) {
		snprintf(d->why, sizeof(d->why), "out of memory");
		return;
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->token);
	hdr = curl_slist_append(hdr, auth);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Accept: application/json");
	curl_easy_setopt(h, CURLOPT_URL, w->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, answer);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cut_short);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, q);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &d->status);
	else
		snprintf(d->why, sizeof(d->why), "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	sodium_memzero(auth, sizeof(auth));
}

/*
 * Read the witness's answer: a cosignature that opens with its key over
 * the checkpoint we sent (kept in d->cosignature), or its problem.
 */
static void
read_answer(const struct witness *w, const struct bb_buf *answer, struct delivery *d)
{
	cJSON *o = answer->len > 0 ? cJSON_ParseWithLength(answer->data, answer->len) : NULL;
	const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(o, "code"));
	const char *detail = cJSON_GetStringValue(cJSON_GetObjectItem(o, "detail"));
	const cJSON *known = cJSON_GetObjectItem(o, "known_size");

	if (d->status != 200) {
		if (code != NULL)
			snprintf(d->code, sizeof(d->code), "%.99s", code);
		else
			snprintf(d->code, sizeof(d->code), "http-%ld", d->status);
		snprintf(d->why, sizeof(d->why), "the witness answered %ld%s%.900s", d->status,
		         detail != NULL ? ": " : "", detail != NULL ? detail : "");
		if (cJSON_IsNumber(known) && known->valuedouble >= 0)
			d->known = (int64_t)known->valuedouble;
		cJSON_Delete(o);
		return;
	}
	const char *line = cJSON_GetStringValue(cJSON_GetObjectItem(o, "cosignature"));
	struct bb_buf cosigned = { 0 };
	size_t text_len;
	const char *why = "no cosignature in the answer";
	bool good =
	    line != NULL && strlen(line) < 1000 && strchr(line, '\n') == line + strlen(line) - 1;
	if (good) {
		bb_buf_append(&cosigned, d->note, strlen(d->note));
		bb_buf_append(&cosigned, line, strlen(line));
		good = note_open(cosigned.data, cosigned.len, &w->key, &text_len, &why) == 0;
	} else if (line != NULL) {
		why = "the cosignature is not one signature line";
	}
	if (good)
		d->cosignature = bb_strdup(line);
	else {
		snprintf(d->code, sizeof(d->code), "bad-cosignature");
		snprintf(d->why, sizeof(d->why),
		         "the witness's answer does not hold its "
		         "signature of the checkpoint: %s",
		         why);
	}
	bb_buf_free(&cosigned);
	cJSON_Delete(o);
}

/* Keep what a delivery came to: the cosignature, or why there is none. */
static enum bb_err
record(struct db_conn *c, const struct witness *w, const struct delivery *d)
{
	if (d->cosignature != NULL) {
		const char *p[] = { d->checkpoint_id, w->key.name, w->url, d->cosignature };
		return db_exec(c, "courier_cosign", 4, p, NULL);
	}
	const char *p[] = { w->key.name, w->url, d->code, d->why };
	return db_exec(c, "courier_tried", 4, p, NULL);
}

/*
 * The witness refuses what a consistent log would have it cosign, or
 * stands at a larger checkpoint of this log than this log keeps: both mean
 * the log or its checkpoints were changed (or restored from an old backup).
 */
static bool
alarming(const struct delivery *d)
{
	return strcmp(d->code, "consistency-proof-failed") == 0 ||
	       (d->known >= 0 && (uint64_t)d->known > d->size);
}

/*
 * Have one witness cosign the newest checkpoint, when it is behind it.
 * Twice at most: when the witness stands at another size than the last
 * cosignature kept here (an answer lost on its way back), it says which,
 * and the proof is made again from there.
 */
static void
deliver(struct courier *q, const struct witness *w, struct track *t)
{
	struct delivery d = { .known = -1 };
	struct db_conn *c;
	char *body = NULL;
	bool due = false;
	enum bb_err err;

	for (int attempt = 0; attempt < 2; attempt++) {
		if ((err = db_acquire(q->o.pool, &c)) != BB_OK)
			break;
		if (d.note == NULL)
			err = read_due(c, w, &d, &due);
		if (err == BB_OK && due) {
			if (t->known >= 0 && (uint64_t)t->known <= d.size)
				d.from = t->known;
			err = make_body(c, &d, &body);
		}
		db_release(q->o.pool, c);
		if (err != BB_OK || !due)
			break;
		struct bb_buf answer = { 0 };
		d.status = 0;
		d.code[0] = '\0';
		d.known = -1;
		post(q, w, body, &d, &answer);
		free(body);
		body = NULL;
		if (d.status == 0)
			snprintf(d.code, sizeof(d.code), "unreachable");
		else
			read_answer(w, &answer, &d);
		bb_buf_free(&answer);
		t->known = -1;
		if (strcmp(d.code, "witness-size-mismatch") == 0 && d.known >= 0 &&
		    (uint64_t)d.known <= d.size && d.known != d.from) {
			t->known = d.known;
			continue;
		}
		break;
	}
	if (err != BB_OK) {
		if (err != BB_EDBDOWN)
			log_warnx("ledger witnesses: %s: %s", w->key.name, bb_strerror(err));
		t->next_try = bb_monotonic_ms() + BACKOFF_MIN_S * 1000LL;
	} else if (!due) {
		t->failures = 0;
		t->next_try = 0;
	} else {
		if (d.cosignature != NULL) {
			log_info("ledger witnesses: %s cosigned the checkpoint of %" PRIu64
			         " entries",
			         w->key.name, d.size);
			t->failures = 0;
			t->next_try = 0;
		} else {
			if (alarming(&d))
				log_warnx(
				    "ALERT ledger witnesses: %s refuses the checkpoint of %" PRIu64
				    " entries: %s (%s): this log, or its checkpoints, were changed "
				    "since the witness last cosigned (docs/ledger.md, Witnesses)",
				    w->key.name, d.size, d.why, d.code);
			else if (t->failures == 0)
				log_warnx("ledger witnesses: %s (%s): %s (%s); trying again",
				          w->key.name, w->url, d.why, d.code);
			unsigned shift = t->failures < 8 ? t->failures : 8;
			long long wait = (long long)BACKOFF_MIN_S << shift;
			t->next_try = bb_monotonic_ms() +
			              1000LL * (wait < BACKOFF_MAX_S ? wait : BACKOFF_MAX_S);
			t->failures++;
		}
		if (db_acquire(q->o.pool, &c) == BB_OK) {
			if (record(c, w, &d) != BB_OK)
				log_warnx("ledger witnesses: cannot record what %s answered: %s",
				          w->key.name, db_error_message(c));
			db_release(q->o.pool, c);
		}
	}
	free(d.note);
	free(d.cosignature);
}

static void *
run(void *arg)
{
	struct courier *q = arg;

	while (!atomic_load(&q->stop)) {
		if (sequencer_leads(q->o.seq))
			for (size_t i = 0; i < q->o.n && !atomic_load(&q->stop); i++)
				if (bb_monotonic_ms() >= q->tracks[i].next_try)
					deliver(q, &q->o.witnesses[i], &q->tracks[i]);
		nap(q, NAP_MS);
	}
	return NULL;
}

struct courier *
courier_start(const struct courier_opts *o)
{
	struct courier *q = bb_calloc(1, sizeof(*q));

	q->o = *o;
	q->tracks = bb_calloc(o->n + 1, sizeof(*q->tracks));
	for (size_t i = 0; i < o->n; i++)
		q->tracks[i].known = -1;
	atomic_init(&q->stop, false);
	if (pthread_create(&q->thread, NULL, run, q) != 0) {
		free(q->tracks);
		free(q);
		return NULL;
	}
	return q;
}

void
courier_stop(struct courier *q)
{
	if (q == NULL)
		return;
	atomic_store(&q->stop, true);
	pthread_join(q->thread, NULL);
	free(q->tracks);
	free(q);
}
