/*
 * test_checkpoint.c — signed checkpoints of the transparency log (issue 15):
 * `biobankd keygen` writes the key pair outside the database, the daemon
 * signs a checkpoint on its own every checkpoint_interval and `biobankd
 * checkpoint` on demand, each kept in the database and written to the
 * export folder; GET /api/v1/ledger/key and /checkpoint answer them. Each
 * checkpoint is checked here without the daemon's code: the C2SP note read
 * by hand, its Ed25519 signature checked with libsodium against the public
 * key file, its root recomputed from leaves PostgreSQL hashes from the
 * events. A log whose stored tree was changed is refused, not signed.
 */
#include "world.h"

#include <dirent.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct tenv t;
static char dir[64], key_file[128], pub_file[128], export_dir[128];
static unsigned char pub[32];
static char origin[] = "biobank.test/ledger";

static int
cmd(const char *const *argv, const char *conninfo, char **out)
{
	char dburl[700];

	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", conninfo);
	const char *env[] = { dburl, NULL };
	return run_cmd(argv, env, NULL, out);
}

/* ---- the test's own reading of a checkpoint: C2SP signed-note, RFC 9162 ---- */

static void
sha256_2(const unsigned char *l, const unsigned char *r, unsigned char out[32])
{
	unsigned char buf[65] = { 1 };

	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	crypto_hash_sha256(out, buf, sizeof(buf));
}

/* MTH(D[start:start+n]) over leaves, as RFC 9162 2.1.1 defines it. */
static void
mth(unsigned char (*leaves)[32], long start, long n, unsigned char out[32])
{
	if (n == 1) {
		memcpy(out, leaves[start], 32);
		return;
	}
	long k = 1;
	while (2 * k < n)
		k *= 2;
	unsigned char l[32], r[32];
	mth(leaves, start, k, l);
	mth(leaves, start + k, n - k, r);
	sha256_2(l, r, out);
}

/* The leaves of the first size entries, as PostgreSQL hashes the events. */
static unsigned char (*sql_leaves(long size))[32]
{
	unsigned char(*leaves)[32] = calloc((size_t)size + 1, 32);
	char sql[700];
	bool ok_sql;

	for (long i = 0; i < size; i++) {
		snprintf(
		    sql, sizeof(sql),
		    "SELECT encode(sha256('\\x00'::bytea || bb_event_bytes_v2(e.format,"
		    " e.specimen_id, e.seq, e.type, e.at, e.actor, e.from_box, e.from_pos,"
		    " e.to_box, e.to_pos, e.reason, e.details, e.prev_hash)), 'base64')"
		    " FROM log_entries l JOIN events e USING (specimen_id, seq) WHERE l.idx = %ld",
		    i);
		char *b64 = sql_value(&t, sql, &ok_sql);
		size_t got = 0;
		if (b64 == NULL ||
		    sodium_base642bin(leaves[i], 32, b64, strlen(b64), NULL, &got, NULL,
		                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    got != 32)
			tap_diag("no leaf %ld", i);
		free(b64);
	}
	return leaves;
}

struct read_cp {
	long size;
	unsigned char root[32];
	bool signature_ok, key_id_ok, origin_ok;
};

/* Read a signed checkpoint as C2SP describes it; false when it is not one. */
static bool
read_checkpoint(const char *note, struct read_cp *cp)
{
	memset(cp, 0, sizeof(*cp));
	const char *split = strstr(note, "\n\n");
	if (split == NULL)
		return false;
	size_t text_len = (size_t)(split - note) + 1;
	char origin_line[256], root_b64[64];
	if (sscanf(note, "%255[^\n]\n%ld\n%63[^\n]\n", origin_line, &cp->size, root_b64) != 3)
		return false;
	cp->origin_ok = strcmp(origin_line, origin) == 0;
	size_t got = 0;
	if (sodium_base642bin(cp->root, 32, root_b64, strlen(root_b64), NULL, &got, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != 32)
		return false;
	/* "— <name> <base64(key id || signature)>" */
	char prefix[300], sig_b64[200];
	snprintf(prefix, sizeof(prefix), "\xe2\x80\x94 %s ", origin);
	const char *line = strstr(split + 2, prefix);
	if (line == NULL || sscanf(line + strlen(prefix), "%199[^\n]", sig_b64) != 1)
		return false;
	unsigned char sig[68], h[32], keyed[300];
	if (sodium_base642bin(sig, sizeof(sig), sig_b64, strlen(sig_b64), NULL, &got, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != 68)
		return false;
	size_t n = (size_t)snprintf((char *)keyed, sizeof(keyed), "%s\n\x01", origin);
	memcpy(keyed + n, pub, 32);
	crypto_hash_sha256(h, keyed, n + 32);
	cp->key_id_ok = memcmp(h, sig, 4) == 0;
	cp->signature_ok =
	    crypto_sign_verify_detached(sig + 4, (const unsigned char *)note, text_len, pub) == 0;
	return true;
}

/* The checkpoint read, signed by our key, of our origin, over the events' tree. */
static bool
checkpoint_holds(const char *note, const char *what)
{
	struct read_cp cp;

	if (!read_checkpoint(note, &cp)) {
		tap_diag("%s: not a signed checkpoint: %s", what, note);
		return false;
	}
	unsigned char(*leaves)[32] = sql_leaves(cp.size);
	unsigned char root[32];
	mth(leaves, 0, cp.size, root);
	free(leaves);
	bool root_ok = memcmp(root, cp.root, 32) == 0;
	if (!cp.signature_ok || !cp.key_id_ok || !cp.origin_ok || !root_ok)
		tap_diag("%s: signature %d, key id %d, origin %d, root %d", what, cp.signature_ok,
		         cp.key_id_ok, cp.origin_ok, root_ok);
	return cp.signature_ok && cp.key_id_ok && cp.origin_ok && root_ok;
}

/* The files of the export folder, joined by '\n' (caller frees). */
static char *
exported(int *count)
{
	DIR *d = opendir(export_dir);
	struct dirent *e;
	size_t len = 0;
	char *names = calloc(1, 1);

	*count = 0;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		size_t n = strlen(e->d_name);
		names = realloc(names, len + n + 2);
		memcpy(names + len, e->d_name, n);
		names[len + n] = '\n';
		names[len + n + 1] = '\0';
		len += n + 1;
		(*count)++;
	}
	if (d != NULL)
		closedir(d);
	return names;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 4096);

	if (f != NULL) {
		size_t n = fread(buf, 1, 4095, f);
		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

static void
history(const char *id, int slot)
{
	char body[128];

	snprintf(body, sizeof(body), "{\"box\":\"BOX-A\",\"position\":\"%c%d\"}", 'A' + slot / 9,
	         slot % 9 + 1);
	world_act_quietly(&t, id, "store", body);
	world_act_quietly(&t, id, "checkout", "{\"reason\":\"assay\"}");
}

int
main(int argc, char **argv)
{
	char *out = NULL, ids[8][16], flag_key[200], flag_dir[200];
	struct resp r;
	int n;

	if (sodium_init() < 0)
		tap_bail("libsodium");
	tenv_setup(&t, "checkpoint", argc, argv);
	world_make(&t);
	snprintf(dir, sizeof(dir), "/tmp/bb-ckpt-XXXXXX");
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	snprintf(key_file, sizeof(key_file), "%s/ledger.key", dir);
	snprintf(pub_file, sizeof(pub_file), "%s/ledger.pub", dir);
	snprintf(export_dir, sizeof(export_dir), "%s/export", dir);
	mkdir(export_dir, 0755);

	/* Without a key: nothing to answer. */
	api(&t, "GET", "/api/v1/ledger/key", t.admin_token, NULL, &r);
	ok(is_problem(&r, 404) && strcmp(jstr(&r, "code"), "ledger-key-missing") == 0,
	   "without ledger_key, GET /api/v1/ledger/key is 404 ledger-key-missing");
	resp_free(&r);
	api(&t, "GET", "/api/v1/ledger/checkpoint", t.admin_token, NULL, &r);
	ok(is_problem(&r, 404) && strcmp(jstr(&r, "code"), "checkpoint-not-found") == 0,
	   "  and GET /api/v1/ledger/checkpoint 404 checkpoint-not-found");
	resp_free(&r);

	/* keygen: two files outside the database, the secret one for its owner only. */
	const char *keygen[] = { t.biobankd, "keygen", "--out", dir, "--origin", origin, NULL };
	is_int(run_cmd(keygen, NULL, NULL, &out), 0, "biobankd keygen --out DIR --origin NAME");
	free(out);
	struct stat st = { 0 };
	bool stated = stat(key_file, &st) == 0;
	ok(stated && (st.st_mode & 0777) == 0600,
	   "  writes ledger.key, readable by its owner only (%o)", st.st_mode & 0777);
	char *vkey = slurp(pub_file);
	vkey[strcspn(vkey, "\n")] = '\0';
	/* NAME+ID+DATA: the data is after the second '+' (base64 holds '+' too). */
	char *key_b64 = strchr(vkey, '+');
	key_b64 = key_b64 ? strchr(key_b64 + 1, '+') : NULL;
	unsigned char raw[33];
	size_t got = 0;
	ok(strncmp(vkey, "biobank.test/ledger+", 20) == 0 && key_b64 != NULL &&
	       sodium_base642bin(raw, sizeof(raw), key_b64 + 1, strlen(key_b64 + 1), NULL, &got,
	                         NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	       got == 33 && raw[0] == 1,
	   "  and ledger.pub, the verifier key NAME+ID+base64(0x01 || Ed25519 key) (%s)", vkey);
	memcpy(pub, raw + 1, 32);
	char *secret = slurp(key_file);
	ok(strncmp(secret, "PRIVATE+KEY+biobank.test/ledger+", 32) == 0,
	   "  the secret one as PRIVATE+KEY+NAME+ID+...");
	is_int(run_cmd(keygen, NULL, NULL, &out), 1, "keygen again into the same folder fails");
	ok(out != NULL && strstr(out, "ledger.key") != NULL, "  naming the file it would not "
	                                                     "overwrite");
	free(out);
	char *secret_after = slurp(key_file);
	is_str(secret_after, secret, "  which is unchanged");
	free(secret_after);
	free(secret);
	const char *badname[] = { t.biobankd, "keygen", "--out", dir, "--origin", "a b", NULL };
	is_int(run_cmd(badname, NULL, NULL, &out), 2, "keygen refuses a name with a space");
	free(out);

	/* The setting: the secret key, not readable by others. */
	snprintf(flag_key, sizeof(flag_key), "--ledger-key=%s", pub_file);
	const char *config_pub[] = { t.biobankd, "config", flag_key, NULL };
	is_int(run_cmd(config_pub, NULL, NULL, &out), 2,
	       "ledger_key naming the verifier key is "
	       "a configuration problem");
	ok(out != NULL && strstr(out, "verifier key") != NULL, "  saying so (%s)",
	   out ? strtok(out, "\n") : "");
	free(out);
	chmod(key_file, 0640);
	snprintf(flag_key, sizeof(flag_key), "--ledger-key=%s", key_file);
	const char *config_key[] = { t.biobankd, "config", flag_key, NULL };
	is_int(run_cmd(config_key, NULL, NULL, &out), 2, "so is a key file others may read");
	ok(out != NULL && strstr(out, "chmod 600") != NULL, "  saying what to do (%s)",
	   out ? strtok(out, "\n") : "");
	free(out);
	chmod(key_file, 0600);
	is_int(run_cmd(config_key, NULL, NULL, &out), 0, "the secret key, mode 0600, is accepted");
	free(out);

	/* The daemon with the key signs every second while the log grows. */
	snprintf(flag_dir, sizeof(flag_dir), "--checkpoint-dir=%s", export_dir);
	const char *opts[] = { flag_key, flag_dir, "--checkpoint-interval=1", NULL };
	daemon_stop(&t.d);
	if (daemon_start(&t, &t.d, opts) != 0)
		tap_bail("the daemon does not start with a key");
	for (int i = 0; i < 3; i++) {
		if (!world_register(&t, "MASC", "P001", "serum", ids[i]))
			tap_bail("register");
		history(ids[i], i);
	}
	ok(log_sequenced(&t, 15000), "9 events are in the log");
	bool signed_all = false;
	for (long long end = mono_ms() + 15000; !signed_all && mono_ms() < end; msleep(50))
		signed_all =
		    sql_int(&t, "SELECT count(*) FROM log_checkpoints WHERE size = 9") == 1;
	ok(signed_all, "the sequencing daemon signs a checkpoint of them by itself");

	api(&t, "GET", "/api/v1/ledger/key", t.admin_token, NULL, &r);
	ok(r.status == 200 && jstr(&r, "verifier_key") &&
	       strcmp(jstr(&r, "verifier_key"), vkey) == 0 &&
	       strcmp(jstr(&r, "origin"), origin) == 0 &&
	       strcmp(jstr(&r, "algorithm"), "ed25519") == 0,
	   "GET /api/v1/ledger/key answers ledger.pub's verifier key and the origin");
	resp_free(&r);
	api(&t, "GET", "/api/v1/ledger/checkpoint", t.admin_token, NULL, &r);
	ok(r.status == 200 && jnum(&r, "size", 0) == 9, "GET /api/v1/ledger/checkpoint: size 9");
	ok(jstr(&r, "note") != NULL && checkpoint_holds(jstr(&r, "note"), "the daemon's"),
	   "  its note is a C2SP checkpoint of our origin, signed by ledger.pub's key, with the "
	   "root "
	   "of the events' leaves");
	char *names = exported(&n), path[400];
	const char *nine = strstr(names, "0000000000000009-");
	snprintf(path, sizeof(path), "%s/%.*s", export_dir, nine ? (int)strcspn(nine, "\n") : 0,
	         nine ? nine : "");
	char *file = nine ? slurp(path) : NULL;
	ok(file != NULL && jstr(&r, "note") && strcmp(file, jstr(&r, "note")) == 0,
	   "  and was written to the export folder (%s)", path);
	free(file);
	free(names);
	resp_free(&r);
	long kept = sql_int(&t, "SELECT count(*) FROM log_checkpoints");
	msleep(2500);
	is_int(sql_int(&t, "SELECT count(*) FROM log_checkpoints"), kept,
	       "a log that did not grow is not signed again");
	is_int(sql_int(&t, "SELECT count(*) FROM log_checkpoints WHERE size = 0"), 0,
	       "  nor is an empty one");

	/* On demand: biobankd checkpoint, with the daemon's own signing off. */
	const char *opts_off[] = { flag_key, flag_dir, "--checkpoint-interval=0", NULL };
	daemon_stop(&t.d);
	if (daemon_start(&t, &t.d, opts_off) != 0)
		tap_bail("the daemon does not start");
	for (int i = 3; i < 6; i++) {
		if (!world_register(&t, "MASC", "P002", "serum", ids[i]))
			tap_bail("register");
		history(ids[i], i);
	}
	ok(log_sequenced(&t, 15000), "9 more events are in the log");
	const char *checkpoint[] = { t.biobankd, "checkpoint", flag_key, flag_dir, NULL };
	int before_files;
	free(exported(&before_files));
	is_int(cmd(checkpoint, t.conninfo, &out), 0, "biobankd checkpoint (as the daemon's role)");
	bool said = out != NULL && strstr(out, "signed: 18 entries") != NULL &&
	            strstr(out, "written to") != NULL;
	ok(said, "  signs the 18 entries and writes the checkpoint");
	if (!said)
		tap_diag("%s", out ? out : "");
	free(out);
	names = exported(&n);
	is_int(n, before_files + 1, "the export folder holds one checkpoint more");
	free(names);
	api(&t, "GET", "/api/v1/ledger/checkpoint", t.admin_token, NULL, &r);
	ok(r.status == 200 && jnum(&r, "size", 0) == 18 && jstr(&r, "note") &&
	       checkpoint_holds(jstr(&r, "note"), "biobankd checkpoint's"),
	   "GET /api/v1/ledger/checkpoint answers it, and it holds");
	resp_free(&r);
	is_int(cmd(checkpoint, t.conninfo, &out), 0, "biobankd checkpoint again");
	ok(out != NULL && strstr(out, "unchanged") != NULL, "  finds nothing new to sign");
	free(out);

	/*
	 * A stored subtree changed (a superuser with the guard off): the log no
	 * longer extends the last checkpoint, and it is refused, not signed.
	 */
	if (!world_register(&t, "MASC", "P001", "serum", ids[6]))
		tap_bail("register");
	ok(log_sequenced(&t, 15000), "one more event");
	char *saved =
	    sql_value(&t, "SELECT encode(hash, 'hex') FROM log_nodes WHERE level = 4 AND idx = 0",
	              &(bool){ false });
	bool ok_sql;
	free(sql_value(&t,
	               "BEGIN; ALTER TABLE log_nodes DISABLE TRIGGER log_nodes_append_only;"
	               " UPDATE log_nodes SET hash = sha256(hash) WHERE level = 4 AND idx = 0;"
	               " ALTER TABLE log_nodes ENABLE TRIGGER log_nodes_append_only; COMMIT",
	               &ok_sql));
	ok(ok_sql && saved != NULL, "a superuser changes the subtree of the first 16 entries");
	is_int(cmd(checkpoint, t.conninfo, &out), 1,
	       "biobankd checkpoint refuses to sign (exit 1)");
	ok(out != NULL && strstr(out, "does not extend the last checkpoint") != NULL,
	   "  saying the log does not extend the last checkpoint (%s)",
	   out ? strtok(out, "\n") : "");
	free(out);
	is_int(sql_int(&t, "SELECT max(size) FROM log_checkpoints"), 18,
	       "  and keeps no checkpoint");
	char sql[300];
	snprintf(sql, sizeof(sql),
	         "BEGIN; ALTER TABLE log_nodes DISABLE TRIGGER log_nodes_append_only;"
	         " UPDATE log_nodes SET hash = decode('%s', 'hex') WHERE level = 4 AND idx = 0;"
	         " ALTER TABLE log_nodes ENABLE TRIGGER log_nodes_append_only; COMMIT",
	         saved ? saved : "");
	free(sql_value(&t, sql, &ok_sql));
	free(saved);
	is_int(cmd(checkpoint, t.conninfo, &out), 0, "put back, the log is signed again");
	free(out);

	free(vkey);
	tenv_teardown(&t);
	char rm[200];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm) != 0)
		tap_diag("cannot remove %s", dir);
	return tap_done();
}
