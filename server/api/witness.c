/*
 * witness.c — POST /api/v1/witness/checkpoints: this server as a witness of
 * other sites' transparency logs (the witness_logs setting). It cosigns a
 * checkpoint only when it is signed by the log's key and consistent with
 * the last checkpoint of that log it cosigned, by the RFC 9162 proof sent
 * with it; otherwise it refuses, answering the proof that failed
 * (docs/ledger.md, "Witnesses").
 */
#include "api/api.h"

#include "merkle.h"
#include "note.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct db_stmt witness_statements[] = {
	{ "witness_known", "SELECT bb_witness_known($1, $2)::text" },
	{ "witness_advance", "SELECT bb_witness_advance($1, $2, $3, $4, $5)" },
	{ NULL, NULL },
};

enum { W_CHECKPOINT, W_OLD_SIZE, W_PROOF, W__MAX };

static const struct bb_js_field w_fields[W__MAX] = {
	/* Kept as sent: the signature covers every byte, the final newline too. */
	[W_CHECKPOINT] = { "checkpoint", BB_JS_STRING, BB_JS_REQUIRED | BB_JS_VERBATIM, 1, 4096 },
	[W_OLD_SIZE] = { "old_size", BB_JS_INT, BB_JS_REQUIRED, 0, INT64_C(1) << 62 },
	[W_PROOF] = { "proof", BB_JS_ARRAY, 0, 0, MT_PROOF_MAX, NULL, NULL, BB_JS_STRING },
};

const struct bb_js_spec h_witness_checkpoint_spec = BB_JS_SPEC(w_fields);

static cJSON *
b64(const unsigned char *h)
{
	struct bb_buf b = { 0 };

	note_base64(h, MT_HASH_LEN, &b);
	cJSON *s = cJSON_CreateString(b.data);
	bb_buf_free(&b);
	return s;
}

/* The facts of a refused checkpoint: both trees and the proof that failed. */
static cJSON *
failed_proof(uint64_t known, const unsigned char *known_root, const struct checkpoint *cp,
             const unsigned char *proof, size_t n)
{
	cJSON *f = cJSON_CreateObject(), *list = cJSON_CreateArray();

	cJSON_AddNumberToObject(f, "known_size", (double)known);
	cJSON_AddItemToObject(f, "known_root", b64(known_root));
	cJSON_AddNumberToObject(f, "size", (double)cp->size);
	cJSON_AddItemToObject(f, "root", b64(cp->root));
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(list, b64(proof + i * MT_HASH_LEN));
	cJSON_AddItemToObject(f, "proof", list);
	return f;
}

void
h_witness_checkpoint(struct srv_req *r)
{
	const struct srv *s = r->srv;
	const char *note = r->in[W_CHECKPOINT].s, *why;
	const struct bb_js_value *proof_in = &r->in[W_PROOF];
	size_t len = strlen(note), n = proof_in->present ? proof_in->n : 0, text_len;
	const struct note_key *log = NULL;
	char origin[NOTE_NAME_MAX + 1];
	unsigned char proof[MT_PROOF_MAX * MT_HASH_LEN], known_root[MT_HASH_LEN] = { 0 };
	struct checkpoint cp;

	if (s->ledger_key == NULL) {
		reply_problem_code(r, "ledger-key-missing", NULL,
		                   "this server has no ledger_key to cosign with");
		return;
	}
	snprintf(origin, sizeof(origin), "%.*s", (int)strcspn(note, "\n"), note);
	for (size_t i = 0; i < s->nwitnessed && log == NULL; i++)
		if (strcmp(s->witnessed[i].name, origin) == 0)
			log = &s->witnessed[i];
	if (log == NULL) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "origin", origin);
		reply_problem_facts(r, "log-not-witnessed", f,
		                    "this server does not witness %.100s", origin);
		return;
	}
	if (checkpoint_open(note, len, log, &cp, &why) != 0 ||
	    note_open(note, len, log, &text_len, &why) != 0) {
		reply_invalid_field(r, "checkpoint", "%s", why);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *h = proof_in->items[i].s;

		if (h == NULL ||
		    note_unbase64(h, strlen(h), proof + i * MT_HASH_LEN, MT_HASH_LEN) != 0) {
			reply_invalid_field(r, bb_arena_printf(&r->arena, "proof[%zu]", i),
			                    "is not a hash: base64 of 32 bytes");
			return;
		}
	}

	/* Where this witness stands with the log; refused there when the request builds
	 * on another size. */
	char old[24];
	snprintf(old, sizeof(old), "%" PRId64, r->in[W_OLD_SIZE].i);
	const char *kp[] = { origin, old };
	PGresult *res = function_answer(r, "witness_known", 2, kp);
	if (res == NULL)
		return;
	cJSON *k = cJSON_Parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	const cJSON *ks = cJSON_GetObjectItem(k, "size");
	uint64_t known = cJSON_IsNumber(ks) ? (uint64_t)ks->valuedouble : 0;
	const char *kr = cJSON_GetStringValue(cJSON_GetObjectItem(k, "root"));
	if (known > 0 && (kr == NULL || bb_hex_decode(known_root, MT_HASH_LEN, kr) != 0))
		known = 0, memset(known_root, 0, sizeof(known_root));
	cJSON_Delete(k);

	/* The first checkpoint seen of a log is taken as it is; every later one must
	 * extend it. */
	bool consistent =
	    known == 0 || (cp.size >= known &&
	                   mt_verify_consistency(known, cp.size, known_root, cp.root, proof, n));
	if (!consistent) {
		reply_problem_facts(
		    r, "consistency-proof-failed", failed_proof(known, known_root, &cp, proof, n),
		    "the checkpoint of %llu entries of %.100s is not consistent with "
		    "the one of %llu this witness cosigned: the log was rewritten, or "
		    "the proof is not the log's",
		    (unsigned long long)cp.size, origin, (unsigned long long)known);
		return;
	}
	char size[24], root_hex[2 * MT_HASH_LEN + 1];
	snprintf(size, sizeof(size), "%llu", (unsigned long long)cp.size);
	bb_hex_encode(root_hex, cp.root, MT_HASH_LEN);
	const char *ap[] = { origin, old, size, root_hex, note };
	enum bb_err err = db_exec(req_db(r), "witness_advance", 5, ap, NULL);
	if (err != BB_OK) {
		reply_db_error(r, err);
		return;
	}

	struct bb_buf line = { 0 }, cosigned = { 0 };
	note_signature_line(s->ledger_key, note, text_len, &line);
	bb_buf_append(&cosigned, note, len);
	bb_buf_append(&cosigned, line.data, line.len);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "origin", origin);
	cJSON_AddNumberToObject(o, "size", (double)cp.size);
	cJSON_AddStringToObject(o, "witness", s->ledger_key->name);
	cJSON_AddStringToObject(o, "cosignature", line.data);
	cJSON_AddStringToObject(o, "checkpoint", cosigned.data);
	bb_buf_free(&line);
	bb_buf_free(&cosigned);
	reply_json(r, 200, o);
}
