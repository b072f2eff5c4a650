/*
 * test_witness.c — two sites, two databases, two daemons (issue 15): site
 * B witnesses site A's log. B cosigns A's checkpoints while each extends the
 * last one it cosigned (by A's own RFC 9162 consistency proof), and refuses,
 * answering the proof that failed, an older checkpoint, a changed proof, and
 * the checkpoint A signs after its log was rewritten — even by someone
 * holding A's key. A checkpoint of another log, or one not signed by A's key,
 * is not cosigned either.
 */
#include "forge.h"
#include "world.h"

#include "note.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct tenv a, b;
static char dir[64];
static struct note_key a_pub, b_pub;

static void
history(int i, const char *id)
{
	char body[128];

	snprintf(body, sizeof(body), "{\"box\":\"BOX-A\",\"position\":\"%c%d\"}", 'A' + i / 9,
	         i % 9 + 1);
	world_act_quietly(&a, id, "store", body);
	world_act_quietly(&a, id, "checkout", "{\"reason\":\"assay\"}");
}

/* Site A grows by a tube, and signs a checkpoint: its size; note its text. */
static long
a_grows(int i, char **note)
{
	char id[16], key_flag[128], dburl[700], *out = NULL;
	struct resp r;

	if (!world_register(&a, "MASC", "P001", "serum", id))
		tap_bail("register");
	history(i, id);
	if (!log_sequenced(&a, 15000))
		tap_bail("A's log");
	snprintf(key_flag, sizeof(key_flag), "--ledger-key=%s/a/ledger.key", dir);
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", a.conninfo);
	const char *env[] = { dburl, NULL };
	const char *argv[] = { a.biobankd, "checkpoint", key_flag, NULL };
	if (run_cmd(argv, env, NULL, &out) != 0)
		tap_diag("checkpoint: %s", out ? out : "");
	free(out);
	api(&a, "GET", "/api/v1/ledger/checkpoint", a.admin_token, NULL, &r);
	long size = (long)jnum(&r, "size", 0);
	*note = strdup(jstr(&r, "note") ? jstr(&r, "note") : "");
	resp_free(&r);
	return size;
}

/* A's consistency proof from..to, as a JSON array. */
static char *
a_proof(long from, long to)
{
	char q[128];
	struct resp r;

	snprintf(q, sizeof(q), "/api/v1/ledger/proof/consistency?from=%ld&to=%ld", from, to);
	api(&a, "GET", q, a.admin_token, NULL, &r);
	char *list = cJSON_PrintUnformatted(cJSON_GetObjectItem(r.json, "proof"));
	resp_free(&r);
	return list ? list : strdup("[]");
}

/* POST the checkpoint to witness B. */
static void
post(const char *note, long old_size, const char *proof, struct resp *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "checkpoint", note);
	cJSON_AddNumberToObject(o, "old_size", (double)old_size);
	if (proof != NULL)
		cJSON_AddItemToObject(o, "proof", cJSON_Parse(proof));
	char *body = cJSON_PrintUnformatted(o);
	api(&b, "POST", "/api/v1/witness/checkpoints", b.admin_token, body, r);
	free(body);
	cJSON_Delete(o);
}

static bool
read_key(const char *path, struct note_key *k)
{
	FILE *f = fopen(path, "r");
	char buf[512] = "";
	const char *why;

	if (f == NULL || fgets(buf, sizeof(buf), f) == NULL) {
		if (f)
			fclose(f);
		return false;
	}
	fclose(f);
	return note_key_read(buf, k, &why) == 0;
}

static long
b_knows(void)
{
	return sql_int(&b, "SELECT COALESCE(max(size), 0) FROM witness_logs");
}

int
main(int argc, char **argv)
{
	char path[160], flag_key[160], flag_witness[160];
	struct resp r;
	size_t n;
	const char *why;

	if (sodium_init() < 0)
		tap_bail("libsodium");
	tenv_setup(&a, "witness_a", argc, argv);
	tenv_setup(&b, "witness_b", argc, argv);
	world_make(&a);
	snprintf(dir, sizeof(dir), "/tmp/bb-witness-XXXXXX");
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	for (int site = 0; site < 2; site++) {
		char sub[100];
		snprintf(sub, sizeof(sub), "%s/%c", dir, "ab"[site]);
		mkdir(sub, 0700);
		const char *keygen[] = {
			a.biobankd, "keygen",
			"--out",    sub,
			"--origin", site ? "site-b.example/ledger" : "site-a.example/ledger",
			NULL
		};
		if (run_cmd(keygen, NULL, NULL, NULL) != 0)
			tap_bail("keygen");
	}
	snprintf(path, sizeof(path), "%s/a/ledger.pub", dir);
	ok(read_key(path, &a_pub), "site A's verifier key");
	snprintf(path, sizeof(path), "%s/b/ledger.pub", dir);
	ok(read_key(path, &b_pub), "site B's verifier key");

	/* A signs its log; B witnesses A (and signs with its own key). */
	snprintf(flag_key, sizeof(flag_key), "--ledger-key=%s/a/ledger.key", dir);
	const char *a_opts[] = { flag_key, "--checkpoint-interval=0", NULL };
	daemon_stop(&a.d);
	if (daemon_start(&a, &a.d, a_opts) != 0)
		tap_bail("daemon A");
	char b_key[160];
	snprintf(b_key, sizeof(b_key), "--ledger-key=%s/b/ledger.key", dir);
	snprintf(flag_witness, sizeof(flag_witness), "--witness-logs=%s/a/ledger.pub", dir);
	const char *b_opts[] = { b_key, flag_witness, NULL };
	daemon_stop(&b.d);
	if (daemon_start(&b, &b.d, b_opts) != 0)
		tap_bail("daemon B");

	/* First sight: taken as it is. */
	char *note1 = NULL;
	long s1 = a_grows(0, &note1);
	post(note1, 0, NULL, &r);
	ok(r.status == 200 && jstr(&r, "cosignature") != NULL &&
	       strcmp(jstr(&r, "witness"), "site-b.example/ledger") == 0,
	   "B cosigns A's first checkpoint (%ld entries)", s1);
	const char *cosigned = jstr(&r, "checkpoint");
	ok(cosigned != NULL && note_open(cosigned, strlen(cosigned), &a_pub, &n, &why) == 0 &&
	       note_open(cosigned, strlen(cosigned), &b_pub, &n, &why) == 0,
	   "  the cosigned note opens with A's key and with B's");
	resp_free(&r);
	is_int(b_knows(), s1, "  B keeps it");

	/* A grows: B cosigns with A's consistency proof. */
	char *note2 = NULL;
	long s2 = a_grows(1, &note2);
	char *proof12 = a_proof(s1, s2);
	post(note2, s1, proof12, &r);
	is_int(r.status, 200, "B cosigns the next (%ld entries), consistent by A's proof", s2);
	resp_free(&r);
	is_int(b_knows(), s2, "  and stands at it");
	post(note2, s2, "[]", &r);
	is_int(r.status, 200, "the same checkpoint again is cosigned again");
	resp_free(&r);

	post(note2, 0, NULL, &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "witness-size-mismatch") == 0 &&
	       jnum(&r, "known_size", 0) == s2,
	   "built on another size: 409 witness-size-mismatch, with the size B knows (%ld)", s2);
	resp_free(&r);
	post(note1, s2, "[]", &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "consistency-proof-failed") == 0,
	   "an older checkpoint: 409 consistency-proof-failed");
	resp_free(&r);

	char *note3 = NULL;
	long s3 = a_grows(2, &note3);
	char *proof23 = a_proof(s2, s3);
	cJSON *bad = cJSON_Parse(proof23);
	cJSON_ReplaceItemInArray(
	    bad, 0, cJSON_CreateString("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
	char *bad_text = cJSON_PrintUnformatted(bad);
	cJSON_Delete(bad);
	post(note3, s2, bad_text, &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "consistency-proof-failed") == 0 &&
	       jnum(&r, "known_size", 0) == s2 && jnum(&r, "size", 0) == s3 &&
	       cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "proof")) > 0 &&
	       jstr(&r, "known_root") != NULL && jstr(&r, "root") != NULL,
	   "a changed proof: 409 consistency-proof-failed, answering both trees and the proof "
	   "that failed");
	resp_free(&r);
	free(bad_text);
	is_int(b_knows(), s2, "  B still stands at %ld", s2);
	post(note3, s2, proof23, &r);
	is_int(r.status, 200, "with A's own proof it is cosigned");
	resp_free(&r);

	/*
	 * A's log rewritten by someone with A's database and A's key: a chain and
	 * the log's leaves and nodes recomputed, A's own checkpoints removed so
	 * that A signs the rewritten tree. B, which saw the original, refuses it.
	 */
	bool ok_sql;
	char *victim = sql_value(&a, "SELECT specimen_id FROM log_entries WHERE idx = 1", &ok_sql);
	char sql[3000];
	snprintf(sql, sizeof(sql),
	         "BEGIN; ALTER TABLE events DISABLE TRIGGER USER;"
	         " ALTER TABLE log_nodes DISABLE TRIGGER USER;"
	         " ALTER TABLE log_checkpoints DISABLE TRIGGER USER;" FORGE_CHAIN_AND_LOG ";"
	         " DELETE FROM log_checkpoints;"
	         " ALTER TABLE events ENABLE TRIGGER USER;"
	         " ALTER TABLE log_nodes ENABLE TRIGGER USER;"
	         " ALTER TABLE log_checkpoints ENABLE TRIGGER USER; COMMIT",
	         victim ? victim : "", victim ? victim : "", victim ? victim : "");
	free(sql_value(&a, sql, &ok_sql));
	free(victim);
	ok(ok_sql, "site A's history and log are rewritten, its checkpoints removed");
	/* Restarted, A's sequencer reads the rewritten tree's edge. */
	daemon_stop(&a.d);
	if (daemon_start(&a, &a.d, a_opts) != 0)
		tap_bail("daemon A");
	char *note4 = NULL;
	long s4 = a_grows(3, &note4);
	ok(s4 > s3 && strstr(note4, "site-a.example/ledger") == note4,
	   "  A signs the rewritten log with its own key (%ld entries)", s4);
	char *proof34 = a_proof(s3, s4);
	post(note4, s3, proof34, &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "consistency-proof-failed") == 0,
	   "B refuses it: A's own proof does not lead from the tree B saw to the new one");
	if (r.status != 409)
		tap_diag("%ld %s", r.status, r.body);
	resp_free(&r);
	is_int(b_knows(), s3, "  B still stands at %ld, the history it saw", s3);

	/* Not A's key, or not a log B witnesses. */
	struct note_key forger;
	struct bb_buf text = { 0 }, forged = { 0 };
	unsigned char root[32] = { 0 };
	note_key_generate("site-a.example/ledger", &forger);
	checkpoint_text(forger.name, (uint64_t)s4 + 1, root, &text);
	note_sign(&forger, text.data, text.len, &forged);
	post(forged.data, s3, "[]", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "checkpoint"),
	   "a checkpoint of A's name signed by another key: 400 naming checkpoint");
	resp_free(&r);
	bb_buf_free(&forged);
	bb_buf_free(&text);
	note_key_generate("site-c.example/ledger", &forger);
	checkpoint_text(forger.name, 5, root, &text);
	note_sign(&forger, text.data, text.len, &forged);
	post(forged.data, 0, NULL, &r);
	ok(is_problem(&r, 404) && strcmp(jstr(&r, "code"), "log-not-witnessed") == 0,
	   "a log B does not witness: 404 log-not-witnessed");
	resp_free(&r);
	bb_buf_free(&forged);
	bb_buf_free(&text);

	free(note1);
	free(note2);
	free(note3);
	free(note4);
	free(proof12);
	free(proof23);
	free(proof34);
	tenv_teardown(&b);
	tenv_teardown(&a);
	char rm[120];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm) != 0)
		tap_diag("cannot remove %s", dir);
	return tap_done();
}
