/*
 * test_courier.c — site A's daemon takes its own checkpoints to its witness,
 * site B (two daemons on two databases), with nobody posting by hand: the
 * operator lists B in A's witnesses file and the cosignatures arrive. What
 * an operator meets is tested as it happens: B down for a while (A's bench
 * does not notice; A catches up when B is back), an answer lost on its way
 * back (B stands further than A knows), B hanging without answering (writes
 * and the sequencer go on, the daemon still stops at once), and A's log
 * rewritten by someone holding A's database and A's key: B refuses, and A
 * raises the alarm in its log and at /api/v1/ledger/witnesses. A history
 * bundle carries B's cosignature, which verify-bundle --witness checks
 * offline. A witnesses file an operator gets wrong is refused at start,
 * naming the line.
 */
#include "forge.h"
#include "world.h"

#include "note.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct tenv a, b;
static char dir[64], a_key_flag[160], witnesses_flag[200];
static const char *a_opts[] = { a_key_flag, "--checkpoint-interval=1", witnesses_flag, NULL };

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		tap_bail("cannot write a file");
	fchmod(fd, mode);
	close(fd);
}

/* A's witnesses file: one witness at url, with B's key and the token file. */
static void
witnesses_file(const char *name, const char *url)
{
	char path[160], text[600];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(text, sizeof(text),
	         "# site B witnesses our log\n"
	         "%s   %s/b/ledger.pub\t%s/b.token\n",
	         url, dir, dir);
	write_file(path, text, 0644);
	snprintf(witnesses_flag, sizeof(witnesses_flag), "--witnesses=%s", path);
}

static void
restart_a(void)
{
	daemon_stop(&a.d);
	if (daemon_start(&a, &a.d, a_opts) != 0)
		tap_bail("daemon A");
}

/* A grows by one tube with three events. */
static void
a_grows(int i)
{
	char id[16], body[128];

	if (!world_register(&a, "MASC", "P001", "serum", id))
		tap_bail("register");
	snprintf(body, sizeof(body), "{\"box\":\"BOX-A\",\"position\":\"%c%d\"}", 'A' + i / 9,
	         i % 9 + 1);
	world_act_quietly(&a, id, "store", body);
	world_act_quietly(&a, id, "checkout", "{\"reason\":\"assay\"}");
}

static long
a_log_size(void)
{
	return sql_int(&a, "SELECT size FROM log_state");
}

/* Wait until B has cosigned a checkpoint of A covering at least size entries. */
static bool
cosigned_at_least(long size, int timeout_ms)
{
	for (long long end = mono_ms() + timeout_ms; mono_ms() < end; msleep(100))
		if (sql_intf(&a,
		             "SELECT count(*) FROM log_cosignatures x JOIN log_checkpoints c"
		             " ON c.id = x.checkpoint_id WHERE c.size >= %ld",
		             size) > 0)
			return true;
	return false;
}

/* A's view of its witness: the first item of /api/v1/ledger/witnesses. */
static bool
witness_state(const char *want_code, long *failures, int timeout_ms)
{
	struct resp r;

	for (long long end = mono_ms() + timeout_ms; mono_ms() < end; msleep(200)) {
		api(&a, "GET", "/api/v1/ledger/witnesses", a.admin_token, NULL, &r);
		const char *code = jstr(&r, "items.0.code");
		bool match =
		    r.status == 200 &&
		    (want_code == NULL ? code == NULL && jstr(&r, "items.0.witness") != NULL
		                       : code != NULL && strcmp(code, want_code) == 0);
		*failures = (long)jnum(&r, "items.0.failures", -1);
		resp_free(&r);
		if (match)
			return true;
	}
	return false;
}

static bool
read_key(const char *path, struct note_key *k)
{
	char *text = NULL;
	size_t len;
	const char *why;
	bool good = bb_read_file(path, &text, &len) == BB_OK && note_key_read(text, k, &why) == 0;

	free(text);
	return good;
}

/* Serve refuses the witnesses file: exit 2, the message naming what is wrong. */
static void
refused(const char *file_text, mode_t token_mode, const char *needle, const char *what)
{
	char path[160], flag[200], tok[160], *out = NULL;

	snprintf(tok, sizeof(tok), "%s/b.token", dir);
	chmod(tok, token_mode);
	snprintf(path, sizeof(path), "%s/bad-witnesses", dir);
	write_file(path, file_text, 0644);
	snprintf(flag, sizeof(flag), "--witnesses=%s", path);
	const char *argv[] = { a.biobankd, "config", a_key_flag, flag, NULL };
	int rc = run_cmd(argv, NULL, NULL, &out);
	ok(rc == 2 && out != NULL && strstr(out, needle) != NULL, "%s: refused at start, saying %s",
	   what, needle);
	if (rc != 2 || out == NULL || strstr(out, needle) == NULL)
		tap_diag("exit %d: %s", rc, out ? out : "");
	free(out);
	chmod(tok, 0600);
}

int
main(int argc, char **argv)
{
	char path[200], url[200], b_opt_key[160], b_opt_logs[160];
	struct note_key a_pub, b_pub;
	struct resp r;
	long failures;

	tenv_setup(&a, "courier_a", argc, argv);
	tenv_setup(&b, "courier_b", argc, argv);
	world_make(&a);
	snprintf(dir, sizeof(dir), "/tmp/bb-courier-XXXXXX");
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	for (int site = 0; site < 3; site++) {
		char sub[100];
		snprintf(sub, sizeof(sub), "%s/%c", dir, "abc"[site]);
		mkdir(sub, 0700);
		const char *keygen[] = { a.biobankd,
			                 "keygen",
			                 "--out",
			                 sub,
			                 "--origin",
			                 site == 2 ? "site-c.example/ledger"
			                 : site    ? "site-b.example/ledger"
			                           : "site-a.example/ledger",
			                 NULL };
		if (run_cmd(keygen, NULL, NULL, NULL) != 0)
			tap_bail("keygen");
	}
	snprintf(path, sizeof(path), "%s/a/ledger.pub", dir);
	if (!read_key(path, &a_pub))
		tap_bail("A's key");
	snprintf(path, sizeof(path), "%s/b/ledger.pub", dir);
	if (!read_key(path, &b_pub))
		tap_bail("B's key");

	/* B witnesses A; A's operator gets a service token of B for it. */
	snprintf(b_opt_key, sizeof(b_opt_key), "--ledger-key=%s/b/ledger.key", dir);
	snprintf(b_opt_logs, sizeof(b_opt_logs), "--witness-logs=%s/a/ledger.pub", dir);
	const char *b_opts[] = { b_opt_key, b_opt_logs, NULL };
	daemon_stop(&b.d);
	if (daemon_start(&b, &b.d, b_opts) != 0)
		tap_bail("daemon B");
	char manager[128];
	if (make_user(&b, "site-a", "manager", NULL, manager) != 0)
		tap_bail("B's account for A");
	api(&b, "POST", "/api/v1/tokens", b.admin_token,
	    "{\"username\":\"site-a\",\"label\":\"site A's courier\"}", &r);
	if (r.status != 201 || jstr(&r, "token") == NULL)
		tap_bail("B's token for A");
	snprintf(path, sizeof(path), "%s/b.token", dir);
	char token_line[200];
	snprintf(token_line, sizeof(token_line), "%s\n", jstr(&r, "token"));
	write_file(path, token_line, 0600);
	resp_free(&r);

	/* What an operator can get wrong in the witnesses file. */
	snprintf(a_key_flag, sizeof(a_key_flag), "--ledger-key=%s/a/ledger.key", dir);
	char text[600];
	snprintf(text, sizeof(text), "ftp://b.example/x %s/b/ledger.pub %s/b.token\n", dir, dir);
	refused(text, 0600, ":1: \"ftp://b.example/x\" is not an http:// or https:// URL",
	        "a URL that is not http(s)");
	snprintf(text, sizeof(text), "# ok\n%s/api/v1/witness/checkpoints %s/b/ledger.pub\n",
	         b.d.url, dir);
	refused(text, 0600, ":2: not URL KEY_FILE TOKEN_FILE", "a line without its token file");
	snprintf(text, sizeof(text), "%s/api/v1/witness/checkpoints %s/b/ledger.pub %s/b.token\n",
	         b.d.url, dir, dir);
	refused(text, 0644, "may be read by others than its owner", "a token file others may read");
	snprintf(text, sizeof(text), "%s/api/v1/witness/checkpoints %s/a/ledger.pub %s/b.token\n",
	         b.d.url, dir, dir);
	refused(text, 0600, "is this log's own key", "the log's own key as its witness");
	refused("# nobody yet\n", 0600, "lists no witness", "a file listing nobody");

	/* A, with B as its witness: the cosignatures arrive by themselves. */
	snprintf(url, sizeof(url), "%s/api/v1/witness/checkpoints", b.d.url);
	witnesses_file("witnesses", url);
	b.d.want_port = b.d.port; /* B comes back where A's operator said it is */
	restart_a();
	a_grows(0);
	if (!log_sequenced(&a, 15000))
		tap_bail("A's log");
	long s1 = a_log_size();
	ok(cosigned_at_least(s1, 30000), "B cosigns A's checkpoint of %ld entries, nobody posting",
	   s1);
	api(&a, "GET", "/api/v1/ledger/checkpoint", a.admin_token, NULL, &r);
	const char *cn = jstr(&r, "cosigned_note");
	size_t tl;
	const char *why;
	ok(r.status == 200 && cn != NULL && note_open(cn, strlen(cn), &a_pub, &tl, &why) == 0 &&
	       note_open(cn, strlen(cn), &b_pub, &tl, &why) == 0,
	   "  A's checkpoint answers its cosigned note: it opens with A's key and with B's");
	ok(jstr(&r, "cosignatures.0.witness") != NULL &&
	       strcmp(jstr(&r, "cosignatures.0.witness"), "site-b.example/ledger") == 0 &&
	       jstr(&r, "cosignatures.0.cosigned_at") != NULL,
	   "  and lists B's cosignature with its time");
	resp_free(&r);
	ok(witness_state(NULL, &failures, 5000) && failures == 0,
	   "  /api/v1/ledger/witnesses: B ok, no failure");
	is_int(sql_int(&b, "SELECT size FROM witness_logs"), s1, "  B stands at %ld", s1);

	/* A grows: the next one comes with A's consistency proof from what B cosigned. */
	a_grows(1);
	a_grows(2);
	if (!log_sequenced(&a, 15000))
		tap_bail("A's log");
	long s2 = a_log_size();
	ok(cosigned_at_least(s2, 30000), "B cosigns the next (%ld entries)", s2);
	is_int(sql_int(&b, "SELECT size FROM witness_logs"), s2, "  B stands at %ld", s2);

	/* A history bundle carries B's cosignature; verify-bundle checks it offline. */
	char *bundle_specimen = sql_value(&a, "SELECT min(id) FROM specimens", &(bool){ false });
	char q[200], bundle[200], a_pub_path[160], b_pub_path[160], *out = NULL;
	snprintf(q, sizeof(q), "/api/v1/specimens/%s/history-bundle", bundle_specimen);
	api(&a, "GET", q, a.admin_token, NULL, &r);
	snprintf(bundle, sizeof(bundle), "%s/bundle.json", dir);
	write_file(bundle, r.body ? r.body : "", 0644);
	resp_free(&r);
	free(bundle_specimen);
	snprintf(a_pub_path, sizeof(a_pub_path), "%s/a/ledger.pub", dir);
	snprintf(b_pub_path, sizeof(b_pub_path), "%s/b/ledger.pub", dir);
	const char *vb[] = { a.biobankd, "verify-bundle", bundle,     "--key",
		             a_pub_path, "--witness",     b_pub_path, NULL };
	int rc = run_cmd(vb, NULL, NULL, &out);
	ok(rc == 0 && out != NULL && strstr(out, "cosigned by site-b.example/ledger") != NULL,
	   "verify-bundle --witness B: the bundle's checkpoint is cosigned by B");
	if (rc != 0)
		tap_diag("%s", out ? out : "");
	free(out);
	char c_pub_path[160];
	snprintf(c_pub_path, sizeof(c_pub_path), "%s/c/ledger.pub", dir);
	const char *vb_c[] = { a.biobankd, "verify-bundle", bundle,     "--key",
		               a_pub_path, "--witness",     c_pub_path, NULL };
	rc = run_cmd(vb_c, NULL, NULL, &out);
	ok(rc == 1 && out != NULL && strstr(out, "is not cosigned by the witness") != NULL,
	   "  naming a witness that did not cosign it: BROKEN, exit 1");
	if (rc != 1)
		tap_diag("%d %s", rc, out ? out : "");
	free(out);

	/* B down: A's bench does not notice; A says so; A catches up when B is back. */
	daemon_stop(&b.d);
	long long t0 = mono_ms();
	a_grows(3);
	long long took = mono_ms() - t0;
	ok(log_sequenced(&a, 15000),
	   "B down: A's tube is registered, stored and sequenced (%lld ms)", took);
	long s3 = a_log_size();
	bool down = witness_state("unreachable", &failures, 30000);
	ok(down && failures >= 1, "  /api/v1/ledger/witnesses says B is unreachable (%ld failures)",
	   failures);
	const char *noted[] = { "site-b.example/ledger", "unreachable", NULL };
	char *line = daemon_log_lines(&a.d, noted, 5000);
	ok(line != NULL, "  and A's log says so");
	free(line);
	if (daemon_start(&b, &b.d, b_opts) != 0)
		tap_bail("daemon B");
	ok(cosigned_at_least(s3, 60000), "B back: A catches up (%ld entries cosigned)", s3);
	ok(witness_state(NULL, &failures, 5000) && failures == 0, "  and B is ok again");

	/* An answer lost on its way back: B stands further than A knows. */
	a_grows(4);
	if (!log_sequenced(&a, 15000))
		tap_bail("A's log");
	long s4 = a_log_size();
	daemon_stop(&b.d);
	/* The checkpoint B would have cosigned: A's newest, once signed. */
	for (long long end = mono_ms() + 15000;
	     mono_ms() < end &&
	     sql_intf(&a, "SELECT count(*) FROM log_checkpoints WHERE size >= %ld", s4) == 0;)
		msleep(100);
	char sql[1500];
	snprintf(sql, sizeof(sql),
	         "SELECT size || ' ' || encode(root, 'hex') || ' ' || replace(note, E'\\n', '|')"
	         "  FROM log_checkpoints WHERE size >= %ld ORDER BY id LIMIT 1",
	         s4);
	bool okq;
	char *cp = sql_value(&a, sql, &okq);
	long cp_size = 0;
	char root_hex[80] = "", note_bars[600] = "";
	if (cp == NULL || sscanf(cp, "%ld %79s %599[^\n]", &cp_size, root_hex, note_bars) != 3)
		tap_bail("A's checkpoint");
	free(cp);
	snprintf(sql, sizeof(sql),
	         "UPDATE witness_logs SET size = %ld, root = decode('%s', 'hex'),"
	         " note = replace('%s', '|', E'\\n')",
	         cp_size, root_hex, note_bars);
	sql_exec(&b, sql);
	if (daemon_start(&b, &b.d, b_opts) != 0)
		tap_bail("daemon B");
	ok(cosigned_at_least(cp_size, 60000),
	   "an answer lost on its way back: B says where it stands, A sends from there and keeps "
	   "B's cosignature (%ld entries)",
	   cp_size);
	is_int(sql_int(&b, "SELECT size FROM witness_logs"), cp_size, "  B stands at %ld", cp_size);

	/* B hanging: it takes the connection and never answers. */
	int silent = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	if (silent < 0 || bind(silent, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(silent, 16) != 0 || getsockname(silent, (struct sockaddr *)&sa, &sl) != 0)
		tap_bail("silent socket");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/witness/checkpoints",
	         ntohs(sa.sin_port));
	witnesses_file("witnesses-silent", url);
	restart_a();
	a_grows(5);
	msleep(2500); /* the courier is now waiting on the silent witness */
	t0 = mono_ms();
	a_grows(6);
	took = mono_ms() - t0;
	ok(log_sequenced(&a, 5000), "B hanging: A's writes go on (%lld ms) and are sequenced",
	   took);
	t0 = mono_ms();
	int status = daemon_stop(&a.d);
	took = mono_ms() - t0;
	ok(status == 0 && took < 5000, "  A still stops at once (%lld ms), the request cut short",
	   took);
	close(silent);

	/*
	 * A's log rewritten by someone holding A's database and A's key: a chain
	 * and the log recomputed, A's checkpoints and cosignatures removed. A
	 * signs the rewritten tree; B, which saw the original, refuses it.
	 */
	snprintf(url, sizeof(url), "%s/api/v1/witness/checkpoints", b.d.url);
	witnesses_file("witnesses", url);
	char *victim = sql_value(&a, "SELECT specimen_id FROM log_entries WHERE idx = 1", &okq);
	char forge[3000];
	snprintf(forge, sizeof(forge),
	         "BEGIN; ALTER TABLE events DISABLE TRIGGER USER;"
	         " ALTER TABLE log_nodes DISABLE TRIGGER USER;"
	         " ALTER TABLE log_checkpoints DISABLE TRIGGER USER;"
	         " ALTER TABLE log_cosignatures DISABLE TRIGGER USER;" FORGE_CHAIN_AND_LOG ";"
	         " DELETE FROM log_cosignatures; DELETE FROM log_checkpoints;"
	         " ALTER TABLE events ENABLE TRIGGER USER;"
	         " ALTER TABLE log_nodes ENABLE TRIGGER USER;"
	         " ALTER TABLE log_checkpoints ENABLE TRIGGER USER;"
	         " ALTER TABLE log_cosignatures ENABLE TRIGGER USER; COMMIT",
	         victim ? victim : "", victim ? victim : "", victim ? victim : "");
	free(sql_value(&a, forge, &okq));
	free(victim);
	ok(okq, "site A's history and log rewritten, its checkpoints and cosignatures removed");
	if (daemon_start(&a, &a.d, a_opts) != 0)
		tap_bail("daemon A");
	a_grows(7);
	ok(witness_state("consistency-proof-failed", &failures, 60000),
	   "  B refuses A's new checkpoint: /api/v1/ledger/witnesses says "
	   "consistency-proof-failed");
	const char *alarm[] = { "ALERT", "site-b.example/ledger", NULL };
	line = daemon_log_lines(&a.d, alarm, 5000);
	ok(line != NULL && strstr(line, "were changed") != NULL,
	   "  and A's log raises the alarm: the log was changed since B cosigned");
	free(line);
	is_int(sql_int(&a, "SELECT count(*) FROM log_cosignatures"), 0,
	       "  no cosignature of the rewritten log is kept");
	ok(sql_int(&b, "SELECT size FROM witness_logs") >= cp_size,
	   "  B still stands at the history it saw");

	tenv_teardown(&a);
	tenv_teardown(&b);
	char rm[120];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm) != 0)
		tap_diag("cannot remove %s", dir);
	return tap_done();
}
