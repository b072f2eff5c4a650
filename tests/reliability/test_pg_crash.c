/*
 * test_pg_crash.c — PostgreSQL killed with SIGKILL under write load, then
 * restarted: while it is down the daemon answers 503 quickly; once it is
 * back the same daemon serves again without a restart; every write that got
 * a 2xx is in the database with its event, and no move is half-applied.
 * Kills the shared cluster's postmaster, so meson runs it alone.
 */
#include "load.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>

enum { WRITERS = 8, CHILDREN_MAX = 256 };

static int
pgctl(const char *action)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", getenv("BIOBANK_TEST_PGCTL"), action);
	return system(cmd);
}

static long
postmaster_pid(void)
{
	char path[600], line[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/postmaster.pid", getenv("BIOBANK_TEST_PGDATA"));
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	return atol(line);
}

/* The state and parent of process pid from /proc (after its name, which may hold ") "). */
static bool
proc_stat(long pid, char *state, long *ppid)
{
	char path[64], buf[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p != NULL && sscanf(p + 1, " %c %ld", state, ppid) == 2;
}

/* The postmaster's children: its backends and its helper processes. */
static size_t
children_of(long postmaster, long *out, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < max) {
		long pid = atol(e->d_name), ppid;
		char state;

		if (pid > 0 && proc_stat(pid, &state, &ppid) && ppid == postmaster)
			out[n++] = pid;
	}
	closedir(d);
	return n;
}

/* Whether every one of pids has exited (a zombie has: it only waits to be reaped). */
static bool
all_gone(const long *pids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char state;
		long ppid;

		if (proc_stat(pids[i], &state, &ppid) && state != 'Z')
			return false;
	}
	return true;
}

/* One request while the database is down: 503 with Retry-After, quickly. */
static void
while_down(struct tenv *t, const char *method, const char *path, const char *body, const char *what)
{
	struct resp r;
	double t0 = now_s();

	api(t, method, path, t->admin_token, body, &r);
	double took = now_s() - t0;
	ok(is_problem(&r, 503), "while PostgreSQL is down, %s answers 503", what);
	/* Bounded: no wait for a database that is not there; generous for a busy machine. */
	ok(took < 10.0, "  without waiting for the database (%.3f s)", took);
	ok(atoi(r.retry_after) > 0, "  with Retry-After: %s", r.retry_after);
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	struct writer w[WRITERS];
	atomic_bool stop = false;
	_Atomic double recovered_at = 0;
	char spare[16];

	if (getenv("BIOBANK_TEST_PG") != NULL &&
	    (getenv("BIOBANK_TEST_PGCTL") == NULL || getenv("BIOBANK_TEST_PGDATA") == NULL))
		tap_skip_all("BIOBANK_TEST_PGCTL and BIOBANK_TEST_PGDATA are not set");
	tenv_setup(&t, "pgcrash", argc, argv);
	world_make(&t);
	if (!world_register(&t, "MASC", "P002", "serum", spare)) {
		tenv_teardown(&t);
		return tap_done();
	}
	const char *urls[2] = { t.d.url, t.d.url };
	if (!ok(load_start(&t, w, WRITERS, urls, &stop, &recovered_at), "eight writers started")) {
		tenv_teardown(&t);
		return tap_done();
	}
	/* Under load means every writer has been answered a few times. */
	ok(load_wait(w, WRITERS, 0, 1, NULL, 3, false, 120),
	   "every writer has had 3 writes acknowledged");

	long pid = postmaster_pid();
	ok(pid > 1, "the postmaster's pid from postmaster.pid: %ld", pid);
	long children[CHILDREN_MAX];
	size_t nchildren = pid > 1 ? children_of(pid, children, CHILDREN_MAX) : 0;
	int killed = pid > 1 ? kill((pid_t)pid, SIGKILL) : -1;
	if (!ok(killed == 0, "kill -9 the postmaster under load (%s)",
	        killed ? strerror(errno) : "ok")) {
		atomic_store(&stop, true);
		load_join(w, WRITERS);
		tenv_teardown(&t);
		return tap_done();
	}
	/*
	 * Its backends notice their postmaster died and exit, each at its next
	 * wait: one the daemon keeps busy can still answer, and commit, for a
	 * moment (a CI run's /readyz was 503 on one connection and 200 on the next
	 * 4 ms later). The database is down when the last of them is gone; then
	 * wait until the daemon sees it.
	 */
	double gone_t0 = now_s();
	while (!all_gone(children, nchildren) && now_s() - gone_t0 < 60)
		sleep_ms(20);
	ok(all_gone(children, nchildren), "its %zu processes are gone (%.2f s after the kill)",
	   nchildren, now_s() - gone_t0);
	for (double t0 = now_s(); now_s() - t0 < 60; sleep_ms(50)) {
		struct resp rz;

		api(&t, "GET", "/readyz", NULL, NULL, &rz);
		bool down = rz.status == 503;
		resp_free(&rz);
		if (down)
			break;
	}
	while_down(&t, "GET", "/readyz", NULL, "/readyz");
	char path[96], body[] = "{\"box\":\"BOX-B\",\"position\":\"I9\"}";
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/store", spare);
	while_down(&t, "POST", path, body, "a store");
	snprintf(path, sizeof(path), "/api/v1/specimens/%s", spare);
	while_down(&t, "GET", path, NULL, "a read");
	struct resp r;
	api(&t, "GET", "/healthz", NULL, NULL, &r);
	is_int(r.status, 200, "/healthz still answers 200: the process serves");
	resp_free(&r);

	/* The orphaned backends may hold the shared memory a little longer. */
	double t0 = now_s();
	int rc = -1;
	while (rc != 0 && now_s() - t0 < 60) {
		if ((rc = pgctl("start")) != 0)
			sleep_ms(500);
	}
	if (!ok(rc == 0, "PostgreSQL restarted after crash recovery (%.1f s)", now_s() - t0)) {
		atomic_store(&stop, true);
		load_join(w, WRITERS);
		tenv_teardown(&t);
		return tap_done();
	}
	long status = 0;
	t0 = now_s();
	while (now_s() - t0 < 30 && status != 200) {
		api(&t, "GET", "/readyz", NULL, NULL, &r);
		status = r.status;
		resp_free(&r);
		if (status != 200)
			sleep_ms(100);
	}
	is_int(status, 200, "/readyz is 200 again without restarting the daemon (%.2f s)",
	       now_s() - t0);
	/* Pooled connections broken by the crash reconnect on first use. */
	atomic_store(&recovered_at, now_s());
	/* Until every writer has been served again (or a generous deadline). */
	load_wait(w, WRITERS, 0, 1, NULL, 1, true, 120);
	atomic_store(&stop, true);
	load_join(w, WRITERS);

	int ok_after = 0, bad_after = 0;
	for (int i = 0; i < WRITERS; i++) {
		ok_after += w[i].ok_after_recovery;
		bad_after += w[i].bad_after_recovery;
		if (w[i].bad_after_recovery)
			tap_diag("writer %d after recovery: %s", i, w[i].last_bad);
	}
	ok(ok_after > 0, "after the restart the writers are served again (%d answers)", ok_after);
	is_int(bad_after, 0, "  and no request fails once /readyz says ready");
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/store", spare);
	api(&t, "POST", path, t.admin_token, body, &r);
	is_int(r.status, 200, "the store refused while down succeeds now");
	resp_free(&r);
	is_int(count_sql(&t,
	                 "SELECT count(*) FROM events e JOIN specimens s ON s.id = e.specimen_id"
	                 " WHERE s.box_id IS NOT NULL AND e.type = 'stored'"
	                 " AND e.to_box = 'BOX-B' AND e.to_pos = 'I9'"),
	       1, "  with one event: the refused attempts left nothing behind");

	load_check(&t, w, WRITERS, "after the crash");
	check_invariants(&t, "after the crash");
	is_int(count_sql(&t, "SELECT count(*) FROM pg_stat_activity WHERE datname ="
	                     " current_database() AND state LIKE 'idle in transaction%'"),
	       0, "no transaction left open");
	tenv_teardown(&t);
	return tap_done();
}
