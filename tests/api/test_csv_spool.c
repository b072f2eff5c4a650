/*
 * test_csv_spool.c — issue 21: "the daemon's RSS stays under 64 MB
 * throughout". The completeness, evacuation and shipment-manifest CSVs
 * (http/csv.c, reply_csv_rows) once held the whole result and then the
 * whole file in memory: a 38 MB completeness CSV took the daemon to 320 MB.
 * Here a study's completeness grid is made large in SQL (10,000
 * participants x 8 timepoints x 4 types: 320,000 lines, about 16 MB), and:
 *   - the download is the grid byte for byte, with the headers of any
 *     attachment, while the daemon's peak RSS (VmHWM) grows by a few MB;
 *   - the database lost after some rows have reached the daemon is a
 *     problem, never a 200 with part of a file; the next download is whole;
 *   - a spool file that cannot grow (RLIMIT_FSIZE: EFBIG, as ENOSPC on a
 *     full disk) or a temporary directory that is gone is a 503 with its
 *     code, logged, and the daemon's connection serves the next request.
 * And below HTTP, db_exec_rows (db/db.h), which those answers read rows
 * through: a statement that fails after some rows, a reader that stops,
 * a connection the server had closed before the first row.
 */
#include "biobank.h"
#include "db/db.h"
#include "world.h"

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	PARTICIPANTS = 10000,
	TIMEPOINTS = 8,
	TYPES = 4,
	/* What the daemon's peak may grow by while it sends the 16 MB file: its
	 * buffers (a 64 KB block, a row) and what the allocator keeps around
	 * (measured: +0.1 MB, +2 MB under ASan). Holding the result and then
	 * the file, main's grew by 93 MB (140 MB under ASan). */
	GROWTH_LIMIT_KB = 8 * 1024,
	FSIZE_LIMIT = 1024 * 1024, /* the spool's ceiling in the full-disk case */
};

static const char big_path[] = "/api/v1/studies/MASC/completeness?format=csv";
/* The first timepoint alone: 2 MB, past the spool's ceiling in the full-disk case. */
static const char tp1_path[] = "/api/v1/studies/MASC/completeness?format=csv&timepoint=tp1";
/* The same route for a study of one participant and one expected tube: one line. */
static const char small_path[] = "/api/v1/studies/SSC/completeness?format=csv";
static const char small_csv[] = "participant,timepoint,label,planned_date,window_days,"
                                "visit_status,actual_date,state,type,expected,held\r\n"
                                "S001,baseline,Baseline,,14,planned,,missing,serum,1,0\r\n";
static char auditor[128];

/* Write text to the daemon's /proc file name; false when it cannot be. */
static bool
write_proc(pid_t pid, const char *name, const char *text)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return false;
	bool done = fputs(text, f) >= 0;
	return fclose(f) == 0 && done;
}

static long
lines_of(const struct resp *r)
{
	long n = 0;

	/* Not strstr: under AddressSanitizer each call measures the whole rest of the body. */
	for (size_t i = 0; r->body != NULL && i + 1 < r->len; i++)
		n += r->body[i] == '\r' && r->body[i + 1] == '\n';
	return n;
}

/* MASC with PARTICIPANTS more participants and a protocol of TIMEPOINTS x TYPES. */
static void
make_big_study(struct tenv *t)
{
	struct bb_buf b = { 0 };
	static const char *const types[TYPES] = { "serum", "plasma", "dna", "rna" };
	struct resp r;
	char sql[512];

	snprintf(sql, sizeof(sql),
	         "INSERT INTO participants (study_id, code, sex, birth_year, diagnosis)"
	         " SELECT s.id, 'Q' || lpad(g::text, 5, '0'), 'female', 1970, 'DM'"
	         " FROM studies s, generate_series(1, %d) g WHERE s.code = 'MASC'",
	         PARTICIPANTS);
	sql_exec(t, sql);
	bb_buf_puts(&b, "{\"timepoints\":[");
	for (int i = 0; i < TIMEPOINTS; i++) {
		bb_buf_printf(&b,
		              "%s{\"code\":\"tp%d\",\"label\":\"Timepoint %d\",\"day_offset\":%d,"
		              "\"window_days\":30,\"specimens\":[",
		              i ? "," : "", i + 1, i + 1, i * 180);
		for (int k = 0; k < TYPES; k++)
			bb_buf_printf(&b, "%s{\"type\":\"%s\",\"aliquots\":2}", k ? "," : "",
			              types[k]);
		bb_buf_puts(&b, "]}");
	}
	bb_buf_puts(&b, "]}");
	api(t, "PUT", "/api/v1/studies/MASC/protocol", t->admin_token, b.data, &r);
	is_int(r.status, 200, "MASC: a protocol of %d timepoints x %d types", TIMEPOINTS, TYPES);
	resp_free(&r);
	bb_buf_free(&b);
	api(t, "PUT", "/api/v1/studies/SSC/protocol", t->admin_token,
	    "{\"timepoints\":[{\"code\":\"baseline\",\"label\":\"Baseline\",\"day_offset\":0,"
	    "\"window_days\":14,\"specimens\":[{\"type\":\"serum\",\"aliquots\":1}]}]}",
	    &r);
	is_int(r.status, 200, "SSC: a protocol of one tube");
	resp_free(&r);
}

/*
 * The CSV the daemon must send, made by PostgreSQL from the same function:
 * no cell of this grid needs quoting, so it is the cells joined by commas,
 * NULL as nothing, CRLF after each line.
 */
static char *
expected_csv(struct tenv *t)
{
	bool done;
	char *text = sql_value(
	    t,
	    "SELECT 'participant,timepoint,label,planned_date,window_days,visit_status,"
	    "actual_date,state,type,expected,held' || E'\\r\\n' || string_agg(concat(participant,"
	    " ',', timepoint, ',', label, ',', planned_date, ',', window_days, ',', visit_status,"
	    " ',', actual_date, ',', state, ',', type, ',', expected, ',', held, E'\\r\\n'), ''"
	    " ORDER BY n) FROM bb_completeness_rows('MASC', NULL, NULL, NULL, NULL, NULL)"
	    " WITH ORDINALITY AS g(participant, timepoint, label, planned_date, window_days,"
	    " visit_status, actual_date, state, type, expected, held, n)",
	    &done);

	if (!done || text == NULL)
		tap_bail("cannot make the expected CSV in SQL");
	return text;
}

static bool
body_is(const struct resp *r, const char *want)
{
	return r->status == 200 && r->body != NULL && r->len == strlen(want) &&
	       memcmp(r->body, want, r->len) == 0;
}

/* The large download: the file whole, the headers of an attachment, the peak bounded. */
static void
bounded(struct tenv *t, const char *want)
{
	struct resp r;
	char length[32];

	/* A small answer first, so that the threads and connections the path uses exist
	 * before the measure. */
	api(t, "GET", small_path, auditor, NULL, &r);
	is_str(r.body, small_csv, "a CSV of one line");
	resp_free(&r);

	/* The peak from here on: start-up's (a higher one, under the sanitizers) would hide
	 * growth below it. Writing 5 to clear_refs sets VmHWM to VmRSS (Linux 4.0). */
	bool reset = write_proc(t->d.pid, "clear_refs", "5");
	long hwm0 = proc_status_kb(t->d.pid, "VmHWM:"), rss0 = proc_status_kb(t->d.pid, "VmRSS:");
	long long t0 = mono_ms();
	api(t, "GET", big_path, auditor, NULL, &r);
	long long took = mono_ms() - t0;
	long hwm1 = proc_status_kb(t->d.pid, "VmHWM:"), rss1 = proc_status_kb(t->d.pid, "VmRSS:");

	is_int(r.status, 200, "the completeness CSV of %d participants", PARTICIPANTS);
	is_int(lines_of(&r), 1 + (PARTICIPANTS + 2) * TIMEPOINTS * TYPES,
	       "  the header and a line per participant, timepoint and type");
	ok(body_is(&r, want), "  byte for byte the grid PostgreSQL gives (%zu bytes, want %zu)",
	   r.len, strlen(want));
	is_str(r.content_type, "text/csv; charset=utf-8", "  Content-Type");
	is_str(r.content_disposition, "attachment; filename=\"completeness-MASC.csv\"",
	       "  Content-Disposition names the file");
	snprintf(length, sizeof(length), "%zu", strlen(want));
	is_str(r.content_length, length, "  Content-Length is the file's size");
	is_str(r.cache_control, "no-store", "  Cache-Control: no-store");
	ok(r.request_id[0] != '\0', "  X-Request-Id");
	tap_diag("daemon VmHWM %ld -> %ld kB (%s), VmRSS %ld -> %ld kB, body %zu kB in %lld ms",
	         hwm0, hwm1, reset ? "reset to VmRSS first" : "not reset", rss0, rss1, r.len / 1024,
	         took);
	ok(hwm0 > 0 && hwm1 - hwm0 < GROWTH_LIMIT_KB,
	   "  the daemon's peak RSS grew by %ld kB (under %d kB) for a %zu kB file", hwm1 - hwm0,
	   GROWTH_LIMIT_KB, r.len / 1024);
	resp_free(&r);
}

struct download {
	struct tenv *t;
	struct resp r;
};

static void *
download(void *arg)
{
	struct download *d = arg;

	api(d->t, "GET", big_path, auditor, NULL, &d->r);
	return NULL;
}

/* The first value of a query on conn, as a number; -1 when none. */
static long
pg_long(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	long v =
	    PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)
	        ? strtol(PQgetvalue(res, 0, 0), NULL, 10)
	        : -1;

	PQclear(res);
	return v;
}

/*
 * One download during which the daemon's backend is killed with rows on
 * their way: the daemon is stopped (SIGSTOP) once the statement runs, so
 * that the backend fills the socket and waits to write (ClientWrite);
 * the backend is then terminated, and the daemon continued reads the rows
 * the socket held, then the end of the connection. False when the moment
 * was missed (the statement was over before the daemon stopped).
 */
static bool
lose_midway(struct tenv *t, PGconn *conn, struct download *d)
{
	static const char running[] =
	    "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()"
	    " AND datname = current_database() AND query LIKE '%bb_completeness_rows%'";
	pthread_t th;
	long backend = -1;
	bool stopped = false, caught = false;

	memset(&d->r, 0, sizeof(d->r));
	pthread_create(&th, NULL, download, d);
	for (long long end = mono_ms() + 60000; mono_ms() < end && backend < 0;)
		backend = pg_long(conn, running);
	if (backend > 0 && kill(t->d.pid, SIGSTOP) == 0) {
		stopped = true;
		char q[160];
		snprintf(q, sizeof(q),
		         "SELECT 1 FROM pg_stat_activity WHERE pid = %ld AND state = 'active' AND"
		         " wait_event = 'ClientWrite'",
		         backend);
		for (long long end = mono_ms() + 20000; mono_ms() < end && !caught; msleep(5))
			caught = pg_long(conn, q) == 1;
	}
	if (caught) {
		char q[96];
		snprintf(q, sizeof(q), "SELECT pg_terminate_backend(%ld, 10000)::int", backend);
		caught = pg_long(conn, q) == 1;
	}
	if (stopped)
		kill(t->d.pid, SIGCONT);
	pthread_join(th, NULL);
	if (!caught)
		resp_free(&d->r);
	return caught;
}

static void
lost_midway(struct tenv *t, const char *want)
{
	PGconn *conn = PQconnectdb(t->super_conninfo);
	struct download d = { .t = t };
	bool caught = false;

	for (int attempt = 0; attempt < 3 && !caught; attempt++)
		caught = lose_midway(t, conn, &d);
	PQfinish(conn);
	if (!ok(caught, "the daemon's backend terminated with rows on their way"))
		return;
	/* With a reports database (here the same database), a read lost there is read
	 * again from the primary: then the file comes whole. */
	bool reports = getenv("BIOBANK_TEST_REPORTS_SAME") != NULL;
	ok((d.r.status == 503 && is_problem(&d.r, 503)) || (reports && body_is(&d.r, want)),
	   "  answered with a problem, not part of a file: %ld, %zu bytes", d.r.status, d.r.len);
	if (!reports)
		is_str(jstr(&d.r, "code"), "unavailable", "  code unavailable");
	resp_free(&d.r);

	struct resp r;
	api(t, "GET", small_path, auditor, NULL, &r);
	ok(body_is(&r, small_csv), "the next download is whole, on a new connection (%ld)",
	   r.status);
	resp_free(&r);
}

/*
 * A daemon whose spool cannot pass FSIZE_LIMIT bytes (its file size limit,
 * SIGXFSZ ignored so that the write fails with EFBIG), with its temporary
 * directory of its own.
 */
static bool
start_limited(struct tenv *t, struct daemon *d, const char *tmpdir)
{
	struct rlimit was, lim;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;

	setenv("TMPDIR", tmpdir, 1);
	getrlimit(RLIMIT_FSIZE, &was);
	lim = was;
	lim.rlim_cur = FSIZE_LIMIT;
	sigaction(SIGXFSZ, &ign, &old);
	setrlimit(RLIMIT_FSIZE, &lim);
	/* The limit and the ignored signal go with the daemon (fork, execve). */
	int rc = daemon_start(t, d, NULL);
	setrlimit(RLIMIT_FSIZE, &was);
	sigaction(SIGXFSZ, &old, NULL);
	unsetenv("TMPDIR");
	return rc == 0;
}

static void
spool_refused(struct tenv *t)
{
	struct daemon d = { 0 };
	char tmpdir[512], cwd[400];
	struct resp r;

	if (getcwd(cwd, sizeof(cwd)) == NULL)
		tap_bail("getcwd");
	snprintf(tmpdir, sizeof(tmpdir), "%s/csv-spool-%d", cwd, (int)getpid());
	mkdir(tmpdir, 0700);
	if (!ok(start_limited(t, &d, tmpdir), "a daemon whose files stop at %d bytes",
	        FSIZE_LIMIT)) {
		rmdir(tmpdir);
		return;
	}
	http(d.url, "GET", tp1_path, auditor, NULL, NULL, 0, &r);
	ok(r.status == 503 && is_problem(&r, 503),
	   "a spool file that cannot grow: 503 problem (%ld, %zu bytes)", r.status, r.len);
	is_str(jstr(&r, "code"), "spool-unavailable", "  code spool-unavailable");
	ok(r.retry_after[0] != '\0', "  with Retry-After");
	const char *efbig[] = { r.request_id, "File too large", NULL };
	char *line = daemon_log_lines(&d, efbig, 5000);
	ok(line != NULL, "  logged with the request id and the system's reason");
	free(line);
	resp_free(&r);

	/* The statement was cancelled and its connection given back ready. */
	http(d.url, "GET", small_path, auditor, NULL, NULL, 0, &r);
	ok(r.status == 200 && r.body != NULL && strcmp(r.body, small_csv) == 0,
	   "the next CSV on that daemon is answered (%ld)", r.status);
	resp_free(&r);
	http(d.url, "GET", "/api/v1/studies/SSC/completeness", auditor, NULL, NULL, 0, &r);
	is_int(r.status, 200, "  and the next JSON");
	resp_free(&r);

	rmdir(tmpdir);
	http(d.url, "GET", small_path, auditor, NULL, NULL, 0, &r);
	ok(r.status == 503 && is_problem(&r, 503),
	   "a temporary directory that is gone: 503 problem (%ld)", r.status);
	is_str(jstr(&r, "code"), "spool-unavailable", "  code spool-unavailable");
	const char *gone[] = { r.request_id, "No such file or directory", NULL };
	line = daemon_log_lines(&d, gone, 5000);
	ok(line != NULL, "  logged with the request id and the system's reason");
	free(line);
	resp_free(&r);
	is_int(daemon_stop(&d), 0, "that daemon stops cleanly");
}

/* Below HTTP: db_exec_rows on a pool of one connection to the test's database. */
static const struct db_stmt probe_statements[] = {
	/* Four rows go out before 1 / 0 (the function scan's rows, made first, are not the
	 * statement's). */
	{ "t_fails_midway", "SELECT g, 1 / (5 - g) AS x FROM generate_series(1, 10) g" },
	/* In the select list, not FROM: a function scan makes all its rows before the first. */
	{ "t_endless", "SELECT generate_series(1, 100000000)" },
	{ "t_three", "SELECT g FROM generate_series(1, 3) g" },
	{ "t_ready", "SELECT 'ready'" },
	{ NULL, NULL },
};
static const struct db_stmt *const probe_sets[] = { probe_statements, NULL };

struct seen {
	long rows, ends, stop_after;
};

static enum bb_err
count_row(void *arg, const PGresult *res)
{
	struct seen *s = arg;

	if (PQntuples(res) == 0)
		s->ends++;
	else
		s->rows++;
	return s->stop_after > 0 && s->rows >= s->stop_after ? BB_EIO : BB_OK;
}

/* The connection answers its next statement. */
static bool
ready(struct db_conn *c)
{
	PGresult *res = NULL;
	bool yes = db_exec(c, "t_ready", 0, NULL, &res) == BB_OK &&
	           strcmp(PQgetvalue(res, 0, 0), "ready") == 0;

	PQclear(res);
	return yes;
}

static void
rows_one_by_one(struct tenv *t)
{
	struct db_pool *pool = db_pool_open(t->conninfo, 1, probe_sets);
	struct db_conn *c;
	struct seen s = { 0 };

	/* Never asked before use: a closed connection is found by the statement sent on it. */
	db_pool_idle_check(pool, 3600 * 1000);
	if (!ok(db_acquire(pool, &c) == BB_OK, "db_exec_rows: a connection")) {
		db_pool_close(pool);
		return;
	}
	is_int(db_exec_rows(c, "t_fails_midway", 0, NULL, count_row, &s), BB_EINVAL,
	       "a statement that fails after some rows fails (22012: BB_EINVAL)");
	is_int(s.rows, 4, "  after the 4 rows before it were given");
	is_int(s.ends, 0, "  and no end");
	is_str(db_error_state(c), "22012", "  its SQLSTATE kept for the answer");
	ok(ready(c), "  the connection answers the next statement");

	s = (struct seen){ .stop_after = 10 };
	long long t0 = mono_ms();
	is_int(db_exec_rows(c, "t_endless", 0, NULL, count_row, &s), BB_EIO,
	       "a reader that stops: its error returned");
	is_int(s.rows, 10, "  no row given after it stopped");
	ok(mono_ms() - t0 < 20000, "  the statement cancelled, not read to its end (%lld ms)",
	   mono_ms() - t0);
	ok(ready(c), "  the connection answers the next statement");

	char q[96];
	snprintf(q, sizeof(q), "SELECT pg_terminate_backend(%d, 10000)::int",
	         PQbackendPID(db_pgconn(c)));
	db_release(pool, c);
	is_int(sql_int(t, q), 1, "the pooled connection's backend terminated while idle");
	if (db_acquire(pool, &c) == BB_OK) {
		s = (struct seen){ 0 };
		is_int(db_exec_rows(c, "t_three", 0, NULL, count_row, &s), BB_OK,
		       "  a read on it is sent again on a new connection");
		ok(s.rows == 3 && s.ends == 1, "  every row once, then the end (%ld, %ld)", s.rows,
		   s.ends);
		db_release(pool, c);
	}
	db_pool_close(pool);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	/* AddressSanitizer keeps what is freed in a quarantine (256 MB) before it
	 * reuses it: the daemon frees a libpq result per row, and the quarantine
	 * would be what is measured. A small one keeps its checks on recent frees. */
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[512];
	snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=1", asan ? asan : "",
	         asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);

	tenv_setup(&t, "csv_spool", argc, argv);
	world_make(&t);
	if (make_user(&t, "reader", "auditor", NULL, auditor) != 0)
		return tap_done();
	make_big_study(&t);
	char *want = expected_csv(&t);
	rows_one_by_one(&t);
	bounded(&t, want);
	lost_midway(&t, want);
	spool_refused(&t);
	free(want);
	tenv_teardown(&t);
	return tap_done();
}
