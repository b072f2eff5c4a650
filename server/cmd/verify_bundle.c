/* verify_bundle.c — a history bundle checked offline (verify_bundle.h). */
#include "cmd/verify_bundle.h"

#include "cmd/ledger_keys.h"
#include "ledger.h"
#include "merkle.h"
#include "note.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { BUNDLE_MAX = 64 << 20 };

static char *
read_file(const char *path, FILE *err)
{
	FILE *f = fopen(path, "rb");
	struct bb_buf b = { 0 };
	char chunk[65536];
	size_t n;

	if (f == NULL) {
		fprintf(err, "biobankd: verify-bundle: cannot read %s: %s\n", path,
		        strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len <= BUNDLE_MAX)
		bb_buf_append(&b, chunk, n);
	fclose(f);
	if (b.len > BUNDLE_MAX) {
		fprintf(err, "biobankd: verify-bundle: %s is larger than a bundle can be\n", path);
		bb_buf_free(&b);
		return NULL;
	}
	return b.data != NULL ? bb_buf_steal(&b) : bb_strdup("");
}

/* A string member, or NULL for null; *bad when it is neither. */
static const char *
text(const cJSON *ev, const char *name, bool nullable, bool *bad)
{
	const cJSON *v = cJSON_GetObjectItem(ev, name);

	if (cJSON_IsString(v))
		return v->valuestring;
	if (!(nullable && cJSON_IsNull(v)))
		*bad = true;
	return NULL;
}

struct tally {
	int problems, proven, newer;
	FILE *out;
};

static void problem(struct tally *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
problem(struct tally *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(t->out, fmt, ap);
	va_end(ap);
	fputc('\n', t->out);
	t->problems++;
}

/* One event: its fields as hashed, its hash, its place in the chain, its proof. */
static void
check_event(const cJSON *ev, int want_seq, const char *specimen, unsigned char prev[BB_HASH_LEN],
            const struct checkpoint *cp, struct tally *t)
{
	struct bb_event e = { 0 };
	unsigned char hash[BB_HASH_LEN], d[BB_HASH_LEN];
	bool bad = false;
	const cJSON *seq = cJSON_GetObjectItem(ev, "seq"),
	            *format = cJSON_GetObjectItem(ev, "format");

	e.specimen_id = specimen;
	e.seq = cJSON_IsNumber(seq) ? seq->valueint : 0;
	e.format = cJSON_IsNumber(format) ? format->valueint : 0;
	e.type = text(ev, "type", false, &bad);
	const char *at = text(ev, "at_us", false, &bad);
	e.actor = text(ev, "actor", false, &bad);
	e.from_box = text(ev, "from_box", true, &bad);
	e.from_pos = text(ev, "from_pos", true, &bad);
	e.to_box = text(ev, "to_box", true, &bad);
	e.to_pos = text(ev, "to_pos", true, &bad);
	e.reason = text(ev, "reason", true, &bad);
	e.details = text(ev, "details", false, &bad);
	const char *prev_hex = text(ev, "prev_hash", false, &bad);
	const char *hash_hex = text(ev, "hash", false, &bad);
	char *end = NULL;
	e.at_us = at ? strtoll(at, &end, 10) : 0;
	if (bad || at == NULL || *at == '\0' || *end != '\0' ||
	    bb_hex_decode(e.prev_hash, BB_HASH_LEN, prev_hex) != 0 ||
	    bb_hex_decode(hash, BB_HASH_LEN, hash_hex) != 0) {
		problem(t, "event %d: malformed (a field is missing or of the wrong kind)",
		        want_seq);
		return;
	}
	if (e.seq != want_seq) {
		problem(t, "event %d: missing (the next event is numbered %d)", want_seq, e.seq);
		return;
	}
	if (bb_event_digest(&e, d) != 0 || memcmp(d, hash, BB_HASH_LEN) != 0) {
		problem(t, "event %d: changed (its fields do not give its hash)", e.seq);
		return;
	}
	if (memcmp(e.prev_hash, prev, BB_HASH_LEN) != 0) {
		problem(t, "event %d: does not follow event %d (its previous hash is another's)",
		        e.seq, e.seq - 1);
		return;
	}
	memcpy(prev, hash, BB_HASH_LEN);

	const cJSON *idx = cJSON_GetObjectItem(ev, "index"),
	            *proof = cJSON_GetObjectItem(ev, "proof");
	if (cJSON_IsNull(proof) || proof == NULL) {
		fprintf(t->out,
		        "event %d: newer than the checkpoint: its chain is checked, not its "
		        "place in the log\n",
		        e.seq);
		t->newer++;
		return;
	}
	int n = cJSON_GetArraySize(proof);
	if (!cJSON_IsNumber(idx) || idx->valuedouble < 0 || !cJSON_IsArray(proof) ||
	    n > MT_PROOF_MAX) {
		problem(t, "event %d: malformed proof", e.seq);
		return;
	}
	uint64_t index = (uint64_t)idx->valuedouble;
	unsigned char hashes[MT_PROOF_MAX * MT_HASH_LEN], leaf[MT_HASH_LEN];
	for (int i = 0; i < n; i++) {
		const char *h = cJSON_GetStringValue(cJSON_GetArrayItem(proof, i));
		if (h == NULL ||
		    note_unbase64(h, strlen(h), hashes + i * MT_HASH_LEN, MT_HASH_LEN) != 0) {
			problem(t, "event %d: malformed proof", e.seq);
			return;
		}
	}
	bb_event_leaf(&e, leaf);
	if (!mt_verify_inclusion(index, cp->size, leaf, hashes, (size_t)n, cp->root)) {
		problem(t,
		        "event %d: not in the signed log (its inclusion proof at index %llu fails "
		        "against the checkpoint's root)",
		        e.seq, (unsigned long long)index);
		return;
	}
	t->proven++;
}

/*
 * Each witness named must have cosigned the checkpoint: a signature line of
 * its key over the same text. Its name, for the report, when all have.
 */
static int
check_witnesses(const char *note, const char *const *witnesses, size_t n, struct bb_buf *names,
                struct tally *t, FILE *err)
{
	for (size_t i = 0; i < n; i++) {
		struct note_key w;
		size_t text_len;
		const char *why;

		if (ledger_pub_load(witnesses[i], &w, err) != 0)
			return -1;
		if (note_open(note, strlen(note), &w, &text_len, &why) != 0) {
			problem(t, "the checkpoint is not cosigned by the witness %s+%08x: %s",
			        w.name, (unsigned)w.id, why);
			continue;
		}
		bb_buf_printf(names, "%s%s+%08x", names->len > 0 ? ", " : "", w.name,
		              (unsigned)w.id);
	}
	return 0;
}

int
verify_bundle(const char *path, const char *key_arg, const char *const *witnesses, size_t n,
              FILE *out, FILE *err)
{
	struct note_key key;
	struct checkpoint cp;
	const char *why;
	int rc = 2;

	if (ledger_pub_load(key_arg, &key, err) != 0)
		return 2;
	char *data = read_file(path, err);
	if (data == NULL)
		return 2;
	cJSON *b = cJSON_Parse(data);
	free(data);
	const char *format = cJSON_GetStringValue(cJSON_GetObjectItem(b, "format"));
	const char *specimen = cJSON_GetStringValue(cJSON_GetObjectItem(b, "specimen"));
	const char *note = cJSON_GetStringValue(cJSON_GetObjectItem(b, "checkpoint"));
	const cJSON *events = cJSON_GetObjectItem(b, "events");
	if (format == NULL || strcmp(format, "biobank-history-bundle/1") != 0 || specimen == NULL ||
	    note == NULL || !cJSON_IsArray(events)) {
		fprintf(err,
		        "biobankd: verify-bundle: %s is not a history bundle "
		        "(biobank-history-bundle/1)\n",
		        path);
		cJSON_Delete(b);
		return 2;
	}
	if (checkpoint_open(note, strlen(note), &key, &cp, &why) != 0) {
		fprintf(out, "bundle BROKEN: the checkpoint: %s\n", why);
		cJSON_Delete(b);
		return 1;
	}
	struct bb_buf names = { 0 };
	struct tally t = { .out = out };
	if (check_witnesses(note, witnesses, n, &names, &t, err) != 0) {
		bb_buf_free(&names);
		cJSON_Delete(b);
		return 2;
	}
	unsigned char prev[BB_HASH_LEN] = { 0 };
	int want = 1;
	const cJSON *ev;
	cJSON_ArrayForEach(ev, events)
	{
		int before = t.problems;

		check_event(ev, want++, specimen, prev, &cp, &t);
		if (t.problems > before)
			break; /* the chain is broken here: what follows cannot be placed */
	}
	if (want == 1)
		problem(&t, "the bundle holds no events");
	else if (t.problems == 0 && t.proven == 0)
		problem(&t, "no event of the bundle is in the signed log");
	if (t.problems == 0) {
		fprintf(out,
		        "bundle OK: specimen %s, %d events, %d of them proven in the log of %llu "
		        "entries signed by %s+%08x%s%s%s\n",
		        specimen, want - 1, t.proven, (unsigned long long)cp.size, key.name,
		        (unsigned)key.id, names.len > 0 ? ", cosigned by " : "",
		        names.len > 0 ? names.data : "",
		        t.newer > 0 ? " (the newer ones only chained)" : "");
		rc = 0;
	} else {
		fprintf(out, "bundle BROKEN: specimen %s\n", specimen);
		rc = 1;
	}
	bb_buf_free(&names);
	cJSON_Delete(b);
	return rc;
}
