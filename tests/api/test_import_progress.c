/*
 * test_import_progress.c — following an inventory import as it runs (issue
 * 19, docs/import.md "Progress"), as the manager's page does: a file of
 * 20,000 rows is committed on one daemon while its progress is polled on
 * another (a site runs several; the poll may reach any), until the answer
 * comes. Then what goes wrong around it: the same name sent again while it
 * runs, a name nobody used, another study's manager asking, a technician, a
 * name the page would never make, a file refused for a bad row, a file that
 * is not text, a daemon that fell silent mid-import. No answer carries
 * PostgreSQL's words.
 *
 * argv[1]: biobankd.
 */
#include "testlib.h"

#include "biobank.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { PARTICIPANTS = 2000, PER_PARTICIPANT = 10, ROWS = PARTICIPANTS * PER_PARTICIPANT };

static char mgr[128], other[128], tech[128];

/* Nothing of PostgreSQL's own words in an answer. */
static bool
no_pg_text(const struct resp *r)
{
	static const char *const words[] = { "ERROR:",          "SQLSTATE",
		                             "violates",        "relation ",
		                             "syntax error",    "bb_import",
		                             "import_progress", NULL };

	for (int i = 0; words[i] != NULL; i++)
		if (r->body != NULL && strstr(r->body, words[i]) != NULL)
			return false;
	return true;
}

/*
 * Each participant's tubes: nine serum tubes derived from a whole-blood tube
 * listed after them (a parent may come later in the file: the commit's parts
 * must still write each parent first).
 */
static char *
big_file(size_t *len)
{
	struct bb_buf b = { 0 };

	bb_buf_printf(&b, "key,study,participant_code,sex,diagnosis,specimen_type,timepoint,"
	                  "collected_at,tube_barcode,parent,legacy_id\r\n");
	for (int p = 0; p < PARTICIPANTS; p++) {
		for (int k = 1; k < PER_PARTICIPANT; k++)
			bb_buf_printf(&b,
			              "S%05d-%d,MASC,PRG-%05d,,,serum,M0,2020-01-01T10:00:00Z,"
			              "PRG%05d%02d,W%05d,OLD-%05d-%d\r\n",
			              p, k, p, p, k, p, p, k);
		bb_buf_printf(&b,
		              "W%05d,MASC,PRG-%05d,F,DM,whole_blood,M0,2020-01-01T09:00:00Z,"
		              "PRG%05d00,,OLD-%05d-0\r\n",
		              p, p, p, p);
	}
	*len = b.len;
	return b.data;
}

struct post {
	struct tenv *t;
	const char *base, *token, *query;
	const char *body;
	size_t len;
	struct resp r;
	volatile bool finished;
};

static void *
post_run(void *arg)
{
	struct post *p = arg;
	char path[512];

	snprintf(path, sizeof(path), "/api/v1/imports?%s", p->query);
	http(p->base, "POST", path, p->token, "text/csv", p->body, p->len, &p->r);
	p->finished = true;
	return NULL;
}

static void
post_file(const char *base, const char *token, const char *query, const char *body, size_t len,
          struct resp *r)
{
	char path[512];

	snprintf(path, sizeof(path), "/api/v1/imports?%s", query);
	http(base, "POST", path, token, "text/csv", body, len, r);
}

static void
get_progress(const char *base, const char *token, const char *name, struct resp *r)
{
	char path[256];

	snprintf(path, sizeof(path), "/api/v1/imports/%s/progress", name);
	http(base, "GET", path, token, NULL, NULL, 0, r);
}

static int
phase_rank(const char *phase)
{
	static const char *const order[] = { "reading", "checking", "writing", "done", "failed" };

	for (int i = 0; phase != NULL && i < 5; i++)
		if (strcmp(phase, order[i]) == 0)
			return i;
	return -1;
}

/* The big file committed on d while its progress is polled on d2. */
static void
moving_bar(struct tenv *t, const struct daemon *d2)
{
	size_t len;
	char *file = big_file(&len);
	struct post big = { .t = t,
		            .base = t->d.url,
		            .token = mgr,
		            .query = "commit=true&progress=bar-moves-0001",
		            .body = file,
		            .len = len };
	pthread_t th;
	int seen = 0, distinct = 0, writing_between = 0, last_rank = -1, backwards = 0;
	long long last_done = -1;
	bool conflict_tried = false, all_clean = true;
	struct resp r;

	pthread_create(&th, NULL, post_run, &big);
	for (long long until = mono_ms() + 240000; !big.finished && mono_ms() < until;) {
		get_progress(d2->url, mgr, "bar-moves-0001", &r);
		all_clean = all_clean && no_pg_text(&r);
		const char *phase = jstr(&r, "phase");
		int rank = phase_rank(phase);
		if (r.status == 200 && rank >= 0 && rank < 3) {
			long long done = (long long)jnum(&r, "done", -1),
			          total = (long long)jnum(&r, "total", -1);
			seen++;
			if (rank != last_rank || done != last_done)
				distinct++;
			if (rank < last_rank || (rank == last_rank && done < last_done))
				backwards++;
			if (rank == 2 && done > 0 && done < total)
				writing_between++;
			last_rank = rank;
			last_done = done;
			/* The same name again while it runs, sent to the other daemon. */
			if (!conflict_tried) {
				static const char small[] =
				    "study,participant_code,sex,diagnosis,specimen_type,timepoint,"
				    "collected_at\nMASC,PRG-X0001,F,DM,serum,m0,2020-01-01T10:00:"
				    "00Z\n";
				struct resp c;

				conflict_tried = true;
				post_file(d2->url, mgr, "commit=true&progress=bar-moves-0001",
				          small, sizeof(small) - 1, &c);
				ok(is_problem(&c, 409) &&
				       strcmp(jstr(&c, "code") ? jstr(&c, "code") : "",
				              "import-in-progress") == 0,
				   "the same name sent again while it runs: 409 "
				   "import-in-progress");
				is_int(sql_int(t, "SELECT count(*) FROM participants WHERE code = "
				                  "'PRG-X0001'"),
				       0, "... and that file was not read");
				resp_free(&c);
			}
		}
		resp_free(&r);
		msleep(20);
	}
	pthread_join(th, NULL);
	is_int(big.r.status, 201,
	       "the 20,000-row file committed (parents listed after their tubes)");
	if (!ok(distinct >= 2, "the progress moved while it ran: %d distinct values in %d polls",
	        distinct, seen))
		tap_diag("  last phase rank %d done %lld", last_rank, last_done);
	ok(writing_between >= 1,
	   "... and was seen part-way through the writing (%d polls between 0 and all)",
	   writing_between);
	is_int(backwards, 0, "... and never went backwards (phase, then count)");
	ok(conflict_tried, "the import was seen running from the other daemon");

	get_progress(d2->url, mgr, "bar-moves-0001", &r);
	is_str(jstr(&r, "phase"), "done", "afterwards its progress says done");
	is_int((long)jnum(&r, "rows", -1), ROWS, "... with the rows read");
	is_int((long)jnum(&r, "summary.specimens", -1), ROWS, "... the specimens made");
	is_int((long)jnum(&r, "summary.participants", -1), PARTICIPANTS, "... the participants");
	is_int((long)jnum(&r, "import_id", -1), (long)jnum(&big.r, "import.id", -2),
	       "... and the import's id");
	ok(cJSON_GetObjectItem(r.json, "done") == NULL && jstr(&r, "code") == NULL,
	   "... no count of a running phase, no failure code");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM specimens WHERE tube_barcode LIKE 'PRG%'"), ROWS,
	       "the database holds every tube");
	is_int(sql_int(t, "SELECT count(*) FROM specimens c JOIN specimens p ON p.id = c.parent_id"
	                  " WHERE c.tube_barcode LIKE 'PRG%' AND c.derivation = 'derivative'"
	                  " AND p.type = 'whole_blood'"),
	       PARTICIPANTS * (PER_PARTICIPANT - 1),
	       "... each serum tube with its whole-blood parent");

	char *out = NULL;
	char dburl[600];
	const char *argv[] = { t->biobankd, "verify-ledger", NULL };
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t->conninfo);
	const char *env[] = { dburl, NULL };
	if (!ok(run_cmd(argv, env, NULL, &out) == 0, "the ledger written in parts verifies"))
		tap_diag("  %s", out ? out : "");
	free(out);
	ok(all_clean, "no poll carried PostgreSQL's words");
	resp_free(&big.r);
	free(file);
}

/* Names nobody used, and names that are someone else's. */
static void
strangers(struct tenv *t)
{
	struct resp r;

	get_progress(t->d.url, mgr, "never-used-0001", &r);
	ok(is_problem(&r, 404) && jstr(&r, "code") &&
	       strcmp(jstr(&r, "code"), "import-not-found") == 0,
	   "a name nobody used: 404 import-not-found");
	ok(no_pg_text(&r), "... in our words");
	resp_free(&r);
	get_progress(t->d.url, other, "bar-moves-0001", &r);
	ok(is_problem(&r, 404) && jstr(&r, "code") &&
	       strcmp(jstr(&r, "code"), "import-not-found") == 0,
	   "another study's manager asks for it: 404 import-not-found, as if it did not exist");
	ok(r.body && strstr(r.body, "20000") == NULL, "... nothing of its figures");
	resp_free(&r);
	get_progress(t->d.url, tech, "bar-moves-0001", &r);
	ok(is_problem(&r, 403), "a technician: 403");
	resp_free(&r);
}

/* Imports that fail say so, with the answer's code. */
static void
failures(struct tenv *t)
{
	static const char bad_row[] =
	    "study,participant_code,sex,diagnosis,specimen_type,timepoint,"
	    "collected_at\n"
	    "MASC,PRG-F0001,F,DM,serum,m0,2020-01-01T10:00:00Z\n"
	    "MASC,PRG-F0002,F,DM,serum,m0,31/02/2020\n";
	static const char nul[] = "study,participant_code\nMASC,PRG\0-F\n";
	struct resp r;
	long before = sql_int(t, "SELECT count(*) FROM specimens");

	post_file(t->d.url, mgr, "commit=true&progress=bad-row-0001", bad_row, sizeof(bad_row) - 1,
	          &r);
	is_int(r.status, 422, "a file with a bad date committed: 422");
	resp_free(&r);
	get_progress(t->d.url, mgr, "bad-row-0001", &r);
	is_str(jstr(&r, "phase"), "failed", "its progress says failed");
	is_str(jstr(&r, "code"), "import-invalid", "... with the answer's code");
	is_int((long)jnum(&r, "problem_count", -1), 1, "... and how many problems");
	ok(no_pg_text(&r), "... in our words");
	resp_free(&r);

	post_file(t->d.url, mgr, "progress=not-text-0001", nul, sizeof(nul) - 1, &r);
	is_int(r.status, 400, "a file with a NUL byte: 400");
	resp_free(&r);
	get_progress(t->d.url, mgr, "not-text-0001", &r);
	is_str(jstr(&r, "phase"), "failed", "its progress says failed");
	is_str(jstr(&r, "code"), "file-malformed", "... file-malformed");
	resp_free(&r);

	post_file(t->d.url, mgr, "progress=short", bad_row, sizeof(bad_row) - 1, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "progress"),
	   "a name the page would never make (too short): 400 naming progress");
	resp_free(&r);
	post_file(t->d.url, mgr, "progress=..%2F..%2Fetc", bad_row, sizeof(bad_row) - 1, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "progress"), "... or with a slash: 400");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM specimens"), before, "none of them wrote a tube");
	is_int(
	    sql_int(t, "SELECT count(*) FROM import_progress WHERE id IN ('short', '../../etc')"),
	    0, "... nor kept a progress");

	/* An ended name may name the next import: a dry run of the bad file, done with its report.
	 */
	post_file(t->d.url, mgr, "progress=bad-row-0001", bad_row, sizeof(bad_row) - 1, &r);
	is_int(r.status, 200, "the name of an ended import used again, for a dry run: 200");
	resp_free(&r);
	get_progress(t->d.url, mgr, "bad-row-0001", &r);
	ok(jstr(&r, "phase") && strcmp(jstr(&r, "phase"), "done") == 0 &&
	       cJSON_IsTrue(cJSON_GetObjectItem(r.json, "dry_run")) && jstr(&r, "code") == NULL,
	   "... its progress starts afresh: a dry run, done, no failure code");
	is_int((long)jnum(&r, "problem_count", -1), 1, "... the report's problem count");
	resp_free(&r);
}

/* A daemon that stopped in the middle of an import says nothing more: after two minutes
 * its progress is failed, import-stopped, and the name may be used again. */
static void
stopped(struct tenv *t)
{
	static const char one[] =
	    "study,participant_code,sex,diagnosis,specimen_type,timepoint,"
	    "collected_at\nMASC,PRG-S0001,F,DM,serum,m0,2020-01-01T10:00:00Z\n";
	struct resp r;

	sql_exec(t, "INSERT INTO import_progress (owner_id, id, dry_run, phase, done, total, rows,"
	            " updated_at) SELECT id, 'died-0001', false, 'writing', 4000, 9000, 9000,"
	            " now() - interval '3 minutes' FROM users WHERE username = 'mgr'");
	get_progress(t->d.url, mgr, "died-0001", &r);
	ok(jstr(&r, "phase") && strcmp(jstr(&r, "phase"), "failed") == 0 && jstr(&r, "code") &&
	       strcmp(jstr(&r, "code"), "import-stopped") == 0,
	   "an import whose daemon fell silent three minutes ago: failed, import-stopped");
	resp_free(&r);
	post_file(t->d.url, mgr, "commit=true&progress=died-0001", one, sizeof(one) - 1, &r);
	is_int(r.status, 201, "... and its name may name the next import");
	resp_free(&r);
	get_progress(t->d.url, mgr, "died-0001", &r);
	is_str(jstr(&r, "phase"), "done", "... whose progress is its own");
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	struct daemon d2 = { 0 };

	tenv_setup(&t, "import_progress", argc, argv);
	sql_exec(
	    &t, "INSERT INTO studies (code, name) VALUES ('MASC', 'Myositis'), ('OTHER', 'Other')");
	if (make_user(&t, "mgr", "manager", NULL, mgr) != 0 ||
	    make_user(&t, "other", "manager", "[\"OTHER\"]", other) != 0 ||
	    make_user(&t, "tech", "technician", NULL, tech) != 0)
		tap_bail("cannot make the users");
	if (daemon_start(&t, &d2, NULL) != 0)
		tap_bail("the second daemon did not start");
	moving_bar(&t, &d2);
	strangers(&t);
	failures(&t);
	stopped(&t);
	daemon_stop(&d2);
	tenv_teardown(&t);
	return tap_done();
}
