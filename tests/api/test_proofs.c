/*
 * test_proofs.c — what an inspector checks without trusting the database
 * (issue 15): RFC 9162 inclusion and consistency proofs from
 * GET /api/v1/ledger/proof/..., and a specimen's history bundle checked by
 * `biobankd verify-bundle` with no database.
 *
 * The proofs are compared, hash for hash, with RFC 9162's recursive
 * definitions (PATH, PROOF, MTH) computed here from every leaf, the leaves
 * hashed by PostgreSQL from the events (not by the daemon), for every event
 * and for many tree sizes, powers of two and not. A bundle changed in any
 * way — a field, NULL for '', a missing event, a proof, a forged history
 * with every hash recomputed, another key — fails verification.
 */
#include "world.h"

#include "../rfc9162.h"
#include "ledger.h"

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct tenv t;
static char dir[64], key_flag[160], pub_file[128], other_pub[128];
static unsigned char (*leaves)[32];
static long nleaves;

static bool
b64_is(const char *b64, const unsigned char want[32])
{
	unsigned char got[32];
	size_t n = 0;

	return b64 != NULL &&
	       sodium_base642bin(got, 32, b64, strlen(b64), NULL, &n, NULL,
	                         sodium_base64_VARIANT_ORIGINAL) == 0 &&
	       n == 32 && memcmp(got, want, 32) == 0;
}

static bool
proof_is(const struct resp *r, const struct ref_proof *want)
{
	const cJSON *a = cJSON_GetObjectItem(r->json, "proof");

	if ((size_t)cJSON_GetArraySize(a) != want->n)
		return false;
	for (size_t i = 0; i < want->n; i++)
		if (!b64_is(cJSON_GetStringValue(cJSON_GetArrayItem(a, i)), want->h[i]))
			return false;
	return true;
}

/* Every leaf of the log, hashed by PostgreSQL from the events. */
static void
load_leaves(void)
{
	bool ok_sql;
	char *all = sql_value(&t,
	                      "SELECT string_agg(encode(sha256('\\x00'::bytea || bb_event_bytes_v2("
	                      "e.format, e.specimen_id, e.seq, e.type, e.at, e.actor, e.from_box,"
	                      " e.from_pos, e.to_box, e.to_pos, e.reason, e.details, e.prev_hash)),"
	                      " 'hex'), '' ORDER BY l.idx)"
	                      " FROM log_entries l JOIN events e USING (specimen_id, seq)",
	                      &ok_sql);
	nleaves = all ? (long)strlen(all) / 64 : 0;
	free(leaves);
	leaves = calloc((size_t)nleaves + 1, 32);
	for (long i = 0; i < nleaves; i++)
		for (int j = 0; j < 32; j++) {
			unsigned v;
			sscanf(all + i * 64 + j * 2, "%2x", &v);
			leaves[i][j] = (unsigned char)v;
		}
	free(all);
}

static int
command(const char *const *argv, char **out)
{
	char dburl[700];

	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t.conninfo);
	const char *env[] = { dburl, NULL };
	return run_cmd(argv, env, NULL, out);
}

static void
history(const char *id, int slot, int moves)
{
	char body[128];

	snprintf(body, sizeof(body), "{\"box\":\"BOX-A\",\"position\":\"%c%d\"}", 'A' + slot / 9,
	         slot % 9 + 1);
	world_act_quietly(&t, id, "store", body);
	for (int i = 0; i < moves; i++) {
		snprintf(body, sizeof(body), "{\"box\":\"%s\",\"position\":\"%c%d\"}",
		         i % 2 ? "BOX-A" : "BOX-B", 'A' + slot / 9, slot % 9 + 1);
		world_act_quietly(&t, id, "move", body);
	}
}

/* ---- inclusion proofs ---- */

static void
inclusion_proofs(long size)
{
	bool ok_sql;
	int asked = 0, right = 0;
	char path_q[200];

	for (long idx = 0; idx < nleaves; idx++) {
		char sql[160];
		snprintf(sql, sizeof(sql),
		         "SELECT specimen_id || ' ' || seq FROM log_entries WHERE idx = %ld", idx);
		char *key = sql_value(&t, sql, &ok_sql), id[16];
		int seq = 0;
		if (key == NULL || sscanf(key, "%15s %d", id, &seq) != 2) {
			free(key);
			continue;
		}
		free(key);
		/* Sizes: the default (the checkpoint's), the smallest, a middle one, the log's. */
		long sizes[] = { 0, idx + 1, (idx + 1 + nleaves) / 2, nleaves };
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			struct resp r;
			struct ref_proof want = { .n = 0 };
			/* By default: the checkpoint's tree when it covers the event, else the
			 * log's. */
			long tree = sizes[s] ? sizes[s] : idx < size ? size : nleaves;

			if (sizes[s] == 0)
				snprintf(path_q, sizeof(path_q),
				         "/api/v1/ledger/proof/inclusion?specimen=%s&seq=%d", id,
				         seq);
			else
				snprintf(
				    path_q, sizeof(path_q),
				    "/api/v1/ledger/proof/inclusion?specimen=%s&seq=%d&size=%ld",
				    id, seq, tree);
			api(&t, "GET", path_q, t.admin_token, NULL, &r);
			ref_path(leaves, idx, 0, tree, &want);
			unsigned char root[32];
			ref_mth(leaves, 0, tree, root);
			asked++;
			bool good =
			    r.status == 200 && jnum(&r, "index", -1) == idx &&
			    jnum(&r, "size", -1) == tree &&
			    b64_is(jstr(&r, "leaf_hash"), leaves[idx]) &&
			    b64_is(jstr(&r, "root"), root) && proof_is(&r, &want) &&
			    (sizes[s] != 0 || idx >= size || jstr(&r, "checkpoint") != NULL);
			right += good;
			if (!good)
				tap_diag("%s: %ld %.300s", path_q, r.status, r.body);
			resp_free(&r);
		}
	}
	is_int(right, asked,
	       "%d inclusion proofs, every event in trees of %ld sizes: each is RFC 9162's PATH "
	       "recomputed from the leaves, with the leaf and root MTH (by default in the "
	       "checkpoint's tree, with its note)",
	       asked, nleaves);
}

/* ---- consistency proofs ---- */

static void
consistency_proofs(long size)
{
	long tos[] = { size, nleaves, nleaves - 1, 16, 17, 5, 1 };
	int asked = 0, right = 0;
	char q[160];

	for (size_t i = 0; i < sizeof(tos) / sizeof(tos[0]); i++) {
		long to = tos[i];
		for (long from = 1; from <= to; from++) {
			struct resp r;
			struct ref_proof want = { .n = 0 };
			unsigned char r1[32], r2[32];

			snprintf(q, sizeof(q), "/api/v1/ledger/proof/consistency?from=%ld&to=%ld",
			         from, to);
			api(&t, "GET", q, t.admin_token, NULL, &r);
			if (from < to)
				ref_subproof(leaves, from, 0, to, true, &want);
			ref_mth(leaves, 0, from, r1);
			ref_mth(leaves, 0, to, r2);
			asked++;
			bool good = r.status == 200 && jnum(&r, "from", 0) == from &&
			            jnum(&r, "to", 0) == to && b64_is(jstr(&r, "from_root"), r1) &&
			            b64_is(jstr(&r, "to_root"), r2) && proof_is(&r, &want);
			right += good;
			if (!good)
				tap_diag("%s: %ld %.300s", q, r.status, r.body);
			resp_free(&r);
		}
	}
	is_int(right, asked,
	       "%d consistency proofs between every earlier size and 7 later ones: each is RFC "
	       "9162's PROOF with both roots MTH",
	       asked);
	struct resp r;
	snprintf(q, sizeof(q), "/api/v1/ledger/proof/consistency?from=3");
	api(&t, "GET", q, t.admin_token, NULL, &r);
	ok(r.status == 200 && jnum(&r, "to", 0) == size && jstr(&r, "to_checkpoint") != NULL,
	   "without to, the proof is to the latest checkpoint, with its note");
	resp_free(&r);
}

/* One request's problem: its status, code and field. */
static void
refused(const char *token, const char *q, long status, const char *code, const char *field,
        const char *what)
{
	struct resp r;

	api(&t, "GET", q, token, NULL, &r);
	bool good = is_problem(&r, status) && jstr(&r, "code") != NULL &&
	            strcmp(jstr(&r, "code"), code) == 0 &&
	            (field == NULL || problem_names_field(&r, field));
	ok(good, "%s: %ld %s%s%s", what, status, code, field ? " naming " : "", field ? field : "");
	if (!good)
		tap_diag("%s: %ld %s", q, r.status, r.body);
	resp_free(&r);
}

/* ---- bundles ---- */

static int
verify_file(const char *file, const char *pub, char **out)
{
	const char *argv[] = { t.biobankd, "verify-bundle", file, "--key", pub, NULL };
	return run_cmd(argv, NULL, NULL, out);
}

static void
write_json(const char *file, const cJSON *b)
{
	char *text = cJSON_PrintUnformatted(b);
	FILE *f = fopen(file, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	free(text);
}

/* A bundle changed by change(), then verified: it must fail, saying want. */
static void
tampered(const cJSON *bundle, void (*change)(cJSON *), const char *want, const char *what)
{
	char file[128], *out = NULL;
	cJSON *b = cJSON_Duplicate(bundle, true);

	change(b);
	snprintf(file, sizeof(file), "%s/tampered.json", dir);
	write_json(file, b);
	cJSON_Delete(b);
	int rc = verify_file(file, pub_file, &out);
	ok(rc == 1 && out != NULL && strstr(out, want) != NULL,
	   "%s: verify-bundle exits 1 (%d), %s", what, rc, want);
	if (rc != 1 || out == NULL || strstr(out, want) == NULL)
		tap_diag("%s", out ? out : "");
	free(out);
}

static cJSON *
event_of(cJSON *b, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(b, "events"), i);
}

static void
change_reason(cJSON *b)
{
	cJSON_ReplaceItemInObject(event_of(b, 1), "reason", cJSON_CreateString("routine"));
}

static void
null_to_empty(cJSON *b)
{
	/* The first event (registered) has no reason: '' instead. */
	cJSON_ReplaceItemInObject(event_of(b, 0), "reason", cJSON_CreateString(""));
}

static void
drop_event(cJSON *b)
{
	cJSON_DeleteItemFromArray(cJSON_GetObjectItem(b, "events"), 1);
}

static void
change_proof(cJSON *b)
{
	cJSON *proof = cJSON_GetObjectItem(event_of(b, 2), "proof");
	cJSON_ReplaceItemInArray(
	    proof, 0, cJSON_CreateString("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
}

static void
change_checkpoint(cJSON *b)
{
	/* The size line of the signed note, one more. */
	const char *note = cJSON_GetStringValue(cJSON_GetObjectItem(b, "checkpoint"));
	char *copy = strdup(note), *nl = strchr(copy, '\n');
	long size = strtol(nl + 1, NULL, 10);
	char *rest = strchr(nl + 1, '\n');
	char buf[2048];
	snprintf(buf, sizeof(buf), "%.*s%ld%s", (int)(nl + 1 - copy), copy, size + 1, rest);
	cJSON_ReplaceItemInObject(b, "checkpoint", cJSON_CreateString(buf));
	free(copy);
}

/*
 * The forger's best: event 2 rewritten and every hash after it recomputed
 * (lib/ledger.c, as the server would have), the chain whole again. Only
 * the signed log tells.
 */
static void
forge_history(cJSON *b)
{
	unsigned char prev[BB_HASH_LEN] = { 0 }, h[BB_HASH_LEN];
	const char *specimen = cJSON_GetStringValue(cJSON_GetObjectItem(b, "specimen"));
	cJSON *ev;

	cJSON_ReplaceItemInObject(event_of(b, 1), "reason", cJSON_CreateString("routine"));
	cJSON_ArrayForEach(ev, cJSON_GetObjectItem(b, "events"))
	{
		struct bb_event e = { 0 };
		char hex[65];

#define S(name)                                                                                    \
	(cJSON_IsString(cJSON_GetObjectItem(ev, name))                                             \
	     ? cJSON_GetObjectItem(ev, name)->valuestring                                          \
	     : NULL)
		e.format = cJSON_GetObjectItem(ev, "format")->valueint;
		e.specimen_id = specimen;
		e.seq = cJSON_GetObjectItem(ev, "seq")->valueint;
		e.type = S("type");
		e.at_us = strtoll(cJSON_GetStringValue(cJSON_GetObjectItem(ev, "at_us")) ?: "0",
		                  NULL, 10);
		e.actor = S("actor");
		e.from_box = S("from_box");
		e.from_pos = S("from_pos");
		e.to_box = S("to_box");
		e.to_pos = S("to_pos");
		e.reason = S("reason");
		e.details = S("details");
#undef S
		memcpy(e.prev_hash, prev, BB_HASH_LEN);
		bb_event_digest(&e, h);
		bb_hex_encode(hex, prev, BB_HASH_LEN);
		cJSON_ReplaceItemInObject(ev, "prev_hash", cJSON_CreateString(hex));
		bb_hex_encode(hex, h, BB_HASH_LEN);
		cJSON_ReplaceItemInObject(ev, "hash", cJSON_CreateString(hex));
		memcpy(prev, h, BB_HASH_LEN);
	}
}

static void
bundles(const char *id, const char *ssc_token)
{
	char q[128], file[128], *out = NULL;
	struct resp r;

	long before = sql_int(&t, "SELECT count(*) FROM log_checkpoints");
	snprintf(q, sizeof(q), "/api/v1/specimens/%s/history-bundle", id);
	api(&t, "GET", q, t.admin_token, NULL, &r);
	ok(r.status == 200 && r.json != NULL, "GET %s: 200", q);
	ok(sql_int(&t, "SELECT count(*) FROM log_checkpoints") == before + 1,
	   "  the latest checkpoint did not cover the tube's new events: the daemon signed one");
	const cJSON *events = cJSON_GetObjectItem(r.json, "events");
	const cJSON *last = cJSON_GetArrayItem(events, cJSON_GetArraySize(events) - 1);
	ok(cJSON_GetArraySize(events) >= 4 && cJSON_IsArray(cJSON_GetObjectItem(last, "proof")),
	   "  every event of the tube, each with its proof (%d)", cJSON_GetArraySize(events));
	snprintf(file, sizeof(file), "%s/bundle.json", dir);
	FILE *f = fopen(file, "w");
	if (f != NULL) {
		fwrite(r.body, 1, r.len, f);
		fclose(f);
	}
	int rc = verify_file(file, pub_file, &out);
	ok(rc == 0 && out != NULL && strstr(out, "bundle OK") != NULL,
	   "biobankd verify-bundle FILE --key ledger.pub, with no database: exit %d", rc);
	if (rc != 0)
		tap_diag("%s", out ? out : "");
	free(out);
	rc = verify_file(file, other_pub, &out);
	ok(rc == 1 && out != NULL && strstr(out, "no signature of this key") != NULL,
	   "with another log's key it fails: the checkpoint is not signed by it");
	free(out);

	tampered(r.json, change_reason, "event 2: changed", "a reason changed");
	tampered(r.json, null_to_empty, "event 1: changed", "no reason made ''");
	tampered(r.json, drop_event, "event 2: missing", "an event left out");
	tampered(r.json, change_proof, "event 3: not in the signed log", "a proof changed");
	tampered(r.json, change_checkpoint, "does not verify", "the checkpoint's size changed");
	tampered(r.json, forge_history, "event 2: not in the signed log",
	         "a history rewritten with every hash recomputed");
	resp_free(&r);

	api(&t, "GET", q, ssc_token, NULL, &r);
	ok(is_problem(&r, 404), "a user limited to another study gets 404 for the bundle");
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	char ids[6][16], ssc_token[128], *out = NULL;
	struct resp r;

	if (sodium_init() < 0)
		tap_bail("libsodium");
	tenv_setup(&t, "proofs", argc, argv);
	world_make(&t);
	snprintf(dir, sizeof(dir), "/tmp/bb-proofs-XXXXXX");
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	char other_dir[80];
	snprintf(other_dir, sizeof(other_dir), "%s/other", dir);
	const char *keygen[] = { t.biobankd, "keygen",        "--out", dir,
		                 "--origin", "proofs/ledger", NULL };
	const char *keygen2[] = { t.biobankd, "keygen",        "--out", other_dir,
		                  "--origin", "proofs/ledger", NULL };
	mkdir(other_dir, 0700);
	if (run_cmd(keygen, NULL, NULL, NULL) != 0 || run_cmd(keygen2, NULL, NULL, NULL) != 0)
		tap_bail("keygen");
	snprintf(key_flag, sizeof(key_flag), "--ledger-key=%s/ledger.key", dir);
	snprintf(pub_file, sizeof(pub_file), "%s/ledger.pub", dir);
	snprintf(other_pub, sizeof(other_pub), "%s/ledger.pub", other_dir);
	const char *opts[] = { key_flag, "--checkpoint-interval=0", NULL };
	daemon_stop(&t.d);
	if (daemon_start(&t, &t.d, opts) != 0)
		tap_bail("daemon");
	if (make_user(&t, "ssc-reader", "auditor", "[\"SSC\"]", ssc_token) != 0)
		tap_bail("user");

	/* 37 events: not a power of two, nor one off. */
	for (int i = 0; i < 5; i++) {
		if (!world_register(&t, "MASC", i % 2 ? "P002" : "P001", "serum", ids[i]))
			tap_bail("register");
		history(ids[i], i, 5);
	}
	world_act_quietly(&t, ids[0], "checkout", "{\"reason\":\"f\\u00fcr die Probe \\u2713\"}");
	world_act_quietly(&t, ids[0], "return",
	                  "{\"box\":\"BOX-B\",\"position\":\"I9\",\"thawed\":true}");
	ok(log_sequenced(&t, 15000), "%ld events are in the log",
	   sql_int(&t, "SELECT count(*) FROM events"));
	const char *checkpoint[] = { t.biobankd, "checkpoint", key_flag, NULL };
	is_int(command(checkpoint, &out), 0, "a checkpoint is signed");
	free(out);
	long size = sql_int(&t, "SELECT max(size) FROM log_checkpoints");
	/* Grow the log past the checkpoint: proofs in trees that are not signed yet, too. */
	if (!world_register(&t, "MASC", "P001", "serum", ids[5]))
		tap_bail("register");
	ok(log_sequenced(&t, 15000), "and the log grows past it");
	load_leaves();
	is_int(nleaves, sql_int(&t, "SELECT size FROM log_state"), "the test has every leaf");

	inclusion_proofs(size);
	consistency_proofs(size);

	/* What is refused, and how. */
	char q[200];
	snprintf(q, sizeof(q), "/api/v1/ledger/proof/inclusion?specimen=%s&seq=0", ids[0]);
	refused(t.admin_token, q, 400, "invalid-input", "seq", "seq 0");
	snprintf(q, sizeof(q), "/api/v1/ledger/proof/inclusion?specimen=%s&seq=99", ids[0]);
	refused(t.admin_token, q, 404, "event-not-found", NULL, "an event the chain does not have");
	snprintf(q, sizeof(q), "/api/v1/ledger/proof/inclusion?specimen=%s&seq=2&size=1", ids[2]);
	refused(t.admin_token, q, 400, "tree-size-out-of-range", "size", "a tree before the event");
	snprintf(q, sizeof(q), "/api/v1/ledger/proof/inclusion?specimen=%s&seq=1&size=%ld", ids[0],
	         nleaves + 1);
	refused(t.admin_token, q, 400, "tree-size-out-of-range", "size", "a tree the log has not");
	refused(t.admin_token, "/api/v1/ledger/proof/inclusion?seq=1", 400, "invalid-input",
	        "specimen", "no specimen");
	refused(t.admin_token, "/api/v1/ledger/proof/inclusion?specimen=KRVQKEB9&seq=1", 400,
	        "invalid-input", "specimen", "a mistyped ID");
	refused(t.admin_token, "/api/v1/ledger/proof/inclusion?specimen=NO-SUCH-TUBE&seq=1", 404,
	        "specimen-not-found", NULL, "no such tube");
	snprintf(q, sizeof(q), "/api/v1/ledger/proof/inclusion?specimen=%s&seq=1", ids[0]);
	refused(ssc_token, q, 404, "specimen-not-found", NULL,
	        "a tube of another study than the caller's");
	refused(t.admin_token, "/api/v1/ledger/proof/inclusion?specimen=X&seq=1&index=3", 400,
	        "invalid-input", "index", "a parameter it does not take");
	refused(t.admin_token, "/api/v1/ledger/proof/consistency?from=0&to=3", 400, "invalid-input",
	        "from", "from 0");
	refused(t.admin_token, "/api/v1/ledger/proof/consistency?from=5&to=4", 400,
	        "tree-size-out-of-range", "from", "from after to");
	snprintf(q, sizeof(q), "/api/v1/ledger/proof/consistency?from=1&to=%ld", nleaves + 1);
	refused(t.admin_token, q, 400, "tree-size-out-of-range", "to", "to past the log");
	refused(t.admin_token, "/api/v1/ledger/proof/consistency?to=3", 400, "invalid-input",
	        "from", "no from");

	/* An event written while the sequencer is held up: not in the log yet. */
	PGconn *blocker = PQconnectdb(t.super_conninfo);
	PQclear(PQexec(blocker, "BEGIN; SELECT 1 FROM log_state FOR UPDATE"));
	world_act_quietly(&t, ids[5], "store", "{\"box\":\"TINY\",\"position\":\"A2\"}");
	snprintf(q, sizeof(q), "/api/v1/ledger/proof/inclusion?specimen=%s&seq=2", ids[5]);
	refused(t.admin_token, q, 409, "event-not-sequenced", NULL, "an event not sequenced yet");
	PQclear(PQexec(blocker, "COMMIT"));
	PQfinish(blocker);
	ok(log_sequenced(&t, 15000), "then it is");

	/* A new event of the tube, which the last checkpoint does not cover. */
	world_act_quietly(&t, ids[0], "checkout", "{\"reason\":\"assay\"}");
	ok(log_sequenced(&t, 15000), "one more event of the first tube");
	bundles(ids[0], ssc_token);

	/* verify-bundle's own refusals. */
	const char *no_key[] = { t.biobankd, "verify-bundle", pub_file, NULL };
	is_int(run_cmd(no_key, NULL, NULL, &out), 2, "verify-bundle without --key: usage, exit 2");
	free(out);
	is_int(verify_file(pub_file, pub_file, &out), 2, "a file that is not a bundle: exit 2");
	free(out);
	api(&t, "GET", "/api/v1/ledger/checkpoint", t.admin_token, NULL, &r);
	resp_free(&r);

	free(leaves);
	tenv_teardown(&t);
	char rm[120];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm) != 0)
		tap_diag("cannot remove %s", dir);
	return tap_done();
}
