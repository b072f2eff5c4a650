/*
 * test_pgbouncer.c — scaling out without new code (docs/scaling.md): two
 * biobankd behind nginx, both connected to PostgreSQL through PgBouncer in
 * session mode.
 *
 *   - The race of test_storm.c (storm.h) through two daemons that reach the
 *     database only through PgBouncer: no double occupancy, one event per
 *     2xx, every chain verifies.
 *   - A token revoked through daemon 1 stops working on daemon 2 at once
 *     (its LISTEN connection works through a session pool).
 *   - SHOW POOLS: the daemons' 2 × (4 workers + 1 long-work thread + 1
 *     listener + 1 ledger sequencer) connections fill the pool's fourteen
 *     server connections; one client more waits instead of
 *     reaching PostgreSQL, and takes over a stopped daemon's connection; a
 *     daemon started later reuses the same PostgreSQL backends (DISCARD ALL
 *     cleared the old prepared statements: it prepares its own).
 *   - nginx (when installed): requests spread over both daemons, a daemon
 *     stopped mid-test is routed around with no failed GET, and a POST
 *     replayed with its Idempotency-Key through either daemon answers the
 *     first answer with no second effect.
 *
 * PgBouncer 1.18 refuses the daemon's startup parameter "options" (its
 * statement_timeout): the pool ignores it and the role gets the timeout
 * from PostgreSQL instead (ALTER ROLE ... IN DATABASE ... SET), as the doc
 * says. Skips when pgbouncer is not installed. Every process started here
 * is stopped by its pid.
 */
#include "storm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PGBOUNCER "/usr/sbin/pgbouncer"
#define NGINX     "/usr/sbin/nginx"

/* A daemon's connections: its workers, its long-work threads, its LISTEN, its ledger sequencer. */
enum { DAEMON_THREADS = 4, DAEMON_LONG = 1, POOL_SIZE = 2 * (DAEMON_THREADS + DAEMON_LONG + 2) };

static char tmpdir[64];

struct proc {
	pid_t pid;
	char log[128];
};

static void
show_file(const char *prefix, const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		tap_diag("%s: %s", prefix, line);
	}
	fclose(f);
}

static bool
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return false;
	bool ok_write = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok_write;
}

/* Start argv[0] with its output in p->log. */
static bool
proc_start(struct proc *p, const char *const *argv)
{
	p->pid = fork();
	if (p->pid == 0) {
		int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return p->pid > 0;
}

static bool
proc_alive(struct proc *p)
{
	int status;

	if (p->pid <= 0)
		return false;
	if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
		p->pid = 0;
		return false;
	}
	return true;
}

/* sig, then wait up to 5 s (SIGKILL after); the exit status. */
static int
proc_stop(struct proc *p, int sig)
{
	int status = -1;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig);
	for (double t0 = now_s(); now_s() - t0 < 60;) {
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		sleep_ms(25);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
	p->pid = 0;
	return 137;
}

/* ---- PgBouncer ---------------------------------------------------------- */

static struct proc pgb;
static int pgb_port;
static char pgb_conninfo[512];   /* the test database through PgBouncer, as the daemon */
static char admin_conninfo[256]; /* PgBouncer's admin console */

struct pool {
	bool found;
	int cl_active, cl_waiting, sv_active, sv_idle, sv_used;
	char mode[16];
};

/* The pool of the test database and user biobank_daemon, from SHOW POOLS. */
static struct pool
show_pools(const char *dbname)
{
	struct pool p = { 0 };
	PGconn *c = PQconnectdb(admin_conninfo);

	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, "SHOW POOLS");

		for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
			if (strcmp(PQgetvalue(r, i, PQfnumber(r, "database")), dbname) != 0 ||
			    strcmp(PQgetvalue(r, i, PQfnumber(r, "user")), "biobank_daemon") != 0)
				continue;
			p.found = true;
			p.cl_active = atoi(PQgetvalue(r, i, PQfnumber(r, "cl_active")));
			p.cl_waiting = atoi(PQgetvalue(r, i, PQfnumber(r, "cl_waiting")));
			p.sv_active = atoi(PQgetvalue(r, i, PQfnumber(r, "sv_active")));
			p.sv_idle = atoi(PQgetvalue(r, i, PQfnumber(r, "sv_idle")));
			p.sv_used = atoi(PQgetvalue(r, i, PQfnumber(r, "sv_used")));
			snprintf(p.mode, sizeof(p.mode), "%s",
			         PQgetvalue(r, i, PQfnumber(r, "pool_mode")));
		}
		PQclear(r);
	} else {
		tap_diag("pgbouncer admin console: %s", PQerrorMessage(c));
	}
	PQfinish(c);
	return p;
}

/* A conninfo keyword of BIOBANK_TEST_PG, or def. */
static void
pg_param(const char *key, const char *def, char *out, size_t cap)
{
	PQconninfoOption *opts = PQconninfoParse(getenv("BIOBANK_TEST_PG"), NULL);

	snprintf(out, cap, "%s", def);
	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, key) == 0 && o->val != NULL && *o->val)
			snprintf(out, cap, "%s", o->val);
	PQconninfoFree(opts);
}

static bool
pgbouncer_start(struct tenv *t)
{
	char host[256], port[16], path[128], ini[2048];

	pg_param("host", "/var/run/postgresql", host, sizeof(host));
	pg_param("port", "5432", port, sizeof(port));
	pgb_port = free_port();
	snprintf(ini, sizeof(ini),
	         "[databases]\n"
	         "%s = host=%s port=%s dbname=%s\n"
	         "[pgbouncer]\n"
	         "listen_addr = 127.0.0.1\n"
	         "listen_port = %d\n"
	         "unix_socket_dir =\n"
	         "auth_type = trust\n"
	         "auth_file = %s/userlist.txt\n"
	         "admin_users = postgres\n"
	         "pool_mode = session\n"
	         "server_reset_query = DISCARD ALL\n"
	         "ignore_startup_parameters = options\n"
	         "default_pool_size = %d\n"
	         "max_db_connections = %d\n"
	         "max_client_conn = 50\n",
	         t->dbname, host, port, t->dbname, pgb_port, tmpdir, POOL_SIZE, POOL_SIZE);
	snprintf(path, sizeof(path), "%s/userlist.txt", tmpdir);
	if (!write_file(path, "\"biobank_daemon\" \"\"\n\"postgres\" \"\"\n"))
		return false;
	snprintf(path, sizeof(path), "%s/pgbouncer.ini", tmpdir);
	if (!write_file(path, ini))
		return false;
	snprintf(pgb.log, sizeof(pgb.log), "%s/pgbouncer.log", tmpdir);
	/* PgBouncer will not run as root: as root, it runs as the cluster's owner. */
	const char *argv[] = { PGBOUNCER, path, NULL, NULL, NULL };
	if (getuid() == 0) {
		argv[1] = "-u";
		argv[2] = "postgres";
		argv[3] = path;
	}
	if (!proc_start(&pgb, argv))
		return false;
	snprintf(pgb_conninfo, sizeof(pgb_conninfo),
	         "host=127.0.0.1 port=%d dbname=%s user=biobank_daemon", pgb_port, t->dbname);
	snprintf(admin_conninfo, sizeof(admin_conninfo),
	         "host=127.0.0.1 port=%d dbname=pgbouncer user=postgres connect_timeout=2",
	         pgb_port);
	for (double t0 = now_s(); now_s() - t0 < 60 && proc_alive(&pgb);) {
		PGconn *c = PQconnectdb(admin_conninfo);
		bool up = PQstatus(c) == CONNECTION_OK;

		PQfinish(c);
		if (up)
			return true;
		sleep_ms(50);
	}
	show_file("pgbouncer", pgb.log);
	return false;
}

/* A daemon whose database is reached through PgBouncer. */
static int
daemon_via_pgbouncer(struct tenv *t, struct daemon *d)
{
	char direct[sizeof(t->conninfo)];
	char threads[32], long_workers[32];
	const char *extra[] = { threads, long_workers, NULL };

	snprintf(threads, sizeof(threads), "--threads=%d", DAEMON_THREADS);
	snprintf(long_workers, sizeof(long_workers), "--long-workers=%d", DAEMON_LONG);
	memcpy(direct, t->conninfo, sizeof(direct));
	snprintf(t->conninfo, sizeof(t->conninfo), "%s", pgb_conninfo);
	int rc = daemon_start(t, d, extra);
	memcpy(t->conninfo, direct, sizeof(direct));
	return rc;
}

/* The PostgreSQL backends of role biobank on the test database: how many,
 * and their pids as "p1,p2,...". */
static long
backends(struct tenv *t, char *pids, size_t cap)
{
	bool ok_sql;
	char *v = sql_value(t,
	                    "SELECT count(*) || ':' || coalesce(string_agg(pid::text, ',' ORDER BY"
	                    " pid), '') FROM pg_stat_activity WHERE datname = current_database()"
	                    " AND usename = 'biobank_daemon'",
	                    &ok_sql);
	long n = v != NULL ? atol(v) : -1;

	snprintf(pids, cap, "%s", v != NULL && strchr(v, ':') ? strchr(v, ':') + 1 : "");
	free(v);
	return n;
}

/* True when every pid of the list sub is in the list of. */
static bool
pids_within(const char *sub, const char *of)
{
	char buf[1024], wrapped[1100], needle[32];

	snprintf(buf, sizeof(buf), "%s", sub);
	snprintf(wrapped, sizeof(wrapped), ",%s,", of);
	for (char *save = NULL, *p = strtok_r(buf, ",", &save); p != NULL;
	     p = strtok_r(NULL, ",", &save)) {
		snprintf(needle, sizeof(needle), ",%s,", p);
		if (strstr(wrapped, needle) == NULL)
			return false;
	}
	return true;
}

/* One client more than the full pool: connects as the daemons do and asks
 * which backend serves it. */
static double d2_stopped_at;

struct extra_client {
	int backend_pid;
	double waited, served_at;
	pthread_t th;
};

static void *
extra_client_run(void *arg)
{
	struct extra_client *x = arg;
	double t0 = now_s();
	PGconn *c = PQconnectdb(pgb_conninfo);

	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, "SELECT pg_backend_pid()");

		x->served_at = now_s();
		if (PQresultStatus(r) == PGRES_TUPLES_OK)
			x->backend_pid = atoi(PQgetvalue(r, 0, 0));
		else
			tap_diag("extra client: %s", PQresultErrorMessage(r));
		PQclear(r);
	} else {
		tap_diag("extra client: %s", PQerrorMessage(c));
	}
	x->waited = now_s() - t0;
	PQfinish(c);
	return NULL;
}

/* ---- nginx -------------------------------------------------------------- */

static struct proc ngx;
static char ngx_url[64], access_log[128];

static bool
nginx_start(const struct daemon *d1, const struct daemon *d2)
{
	char conf[2048], path[128], glob[160], err[160];
	int port = free_port();

	snprintf(access_log, sizeof(access_log), "%s/nginx-access.log", tmpdir);
	snprintf(conf, sizeof(conf),
	         "worker_processes 1;\n"
	         "error_log %s/nginx-error.log;\n"
	         "events { worker_connections 256; }\n"
	         "http {\n"
	         "  log_format upstream '$request_method $request_uri $status $upstream_addr';\n"
	         "  access_log %s upstream;\n"
	         "  client_body_temp_path %s/client_body;\n"
	         "  proxy_temp_path %s/proxy;\n"
	         "  fastcgi_temp_path %s/fastcgi;\n"
	         "  uwsgi_temp_path %s/uwsgi;\n"
	         "  scgi_temp_path %s/scgi;\n"
	         "  upstream biobankd {\n"
	         "    server 127.0.0.1:%d max_fails=1 fail_timeout=10s;\n"
	         "    server 127.0.0.1:%d max_fails=1 fail_timeout=10s;\n"
	         "    keepalive 16;\n"
	         "  }\n"
	         "  server {\n"
	         "    listen 127.0.0.1:%d;\n"
	         "    location / {\n"
	         "      proxy_pass http://biobankd;\n"
	         "      proxy_http_version 1.1;\n"
	         "      proxy_set_header Connection \"\";\n"
	         "      proxy_set_header Host $host;\n"
	         "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
	         "      proxy_connect_timeout 2s;\n"
	         "      proxy_next_upstream error timeout;\n"
	         "      proxy_next_upstream_tries 2;\n"
	         "    }\n"
	         "  }\n"
	         "}\n",
	         tmpdir, access_log, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, d1->port, d2->port,
	         port);
	snprintf(path, sizeof(path), "%s/nginx.conf", tmpdir);
	if (!write_file(path, conf))
		return false;
	snprintf(glob, sizeof(glob), "daemon off; pid %s/nginx.pid;", tmpdir);
	snprintf(err, sizeof(err), "%s/nginx-error.log", tmpdir);
	snprintf(ngx.log, sizeof(ngx.log), "%s/nginx.out", tmpdir);
	snprintf(ngx_url, sizeof(ngx_url), "http://127.0.0.1:%d", port);
	const char *argv[] = { NGINX, "-e", err, "-p", tmpdir, "-c", path, "-g", glob, NULL };
	if (!proc_start(&ngx, argv))
		return false;
	for (double t0 = now_s(); now_s() - t0 < 60 && proc_alive(&ngx);) {
		struct resp r;
		bool up = http(ngx_url, "GET", "/healthz", NULL, NULL, NULL, 0, &r) == 0 &&
		          r.status == 200;

		resp_free(&r);
		if (up)
			return true;
		sleep_ms(50);
	}
	show_file("nginx", ngx.log);
	show_file("nginx", err);
	return false;
}

/* Access-log lines from line `from` on: how many, and how many were finally
 * answered by each port (the last address of $upstream_addr). nginx logs a
 * request just after its answer: wait up to a second for `want` lines. */
static int
answered_by(int from, int want, int port_a, int port_b, int *by_a, int *by_b)
{
	char line[512];
	int n = 0;

	double t0 = now_s();
	for (int tries = 0; (tries == 0 || n < want) && now_s() - t0 < 30; tries++) {
		FILE *f = fopen(access_log, "r");

		if (tries > 0)
			sleep_ms(20);
		n = *by_a = *by_b = 0;
		if (f == NULL)
			continue;
		for (int at = 0; fgets(line, sizeof(line), f) != NULL; at++) {
			if (at < from)
				continue;
			n++;
			line[strcspn(line, "\n")] = '\0';
			const char *last = strrchr(line, ' ');
			const char *colon = last ? strrchr(last, ':') : NULL;
			int port = colon ? atoi(colon + 1) : 0;
			*by_a += port == port_a;
			*by_b += port == port_b;
		}
		fclose(f);
	}
	return n;
}

static void
cleanup_tmpdir(void)
{
	const char *argv[] = { "/bin/rm", "-rf", tmpdir, NULL };

	if (*tmpdir && getenv("BIOBANK_TEST_KEEP") == NULL)
		run_cmd(argv, NULL, NULL, NULL);
}

/* The specimen-registration body of world_register. */
static const char register_body[] =
    "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"plasma\","
    "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\","
    "\"quantity\":{\"value\":1,\"unit\":\"mL\"}}";

/* The nginx part: spread, a daemon stopped mid-test, an idempotent replay. */
static void
through_nginx(struct tenv *t, struct daemon *d2)
{
	char path[96], sql[256];
	int by1, by2;
	struct resp r, first;

	if (!ok(nginx_start(&t->d, d2), "nginx in front of the two daemons"))
		return;
	int failed = 0;
	for (int i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "/api/v1/specimens/%s", storm_tubes[i % STORM_TUBES]);
		http(ngx_url, "GET", path, t->admin_token, NULL, NULL, 0, &r);
		failed += r.status != 200;
		resp_free(&r);
	}
	is_int(failed, 0, "nginx: 40 GETs answered 200");
	int lines = answered_by(0, 41, t->d.port, d2->port, &by1, &by2);
	tap_diag("nginx: daemon 1 answered %d, daemon 2 answered %d of %d", by1, by2, lines);
	ok(by1 >= 15 && by2 >= 15 && by1 + by2 == lines,
	   "nginx: requests spread over both daemons (%d and %d)", by1, by2);

	/* A POST whose answer the client lost is sent again with its key:
	 * first to daemon 1, then twice through nginx (round robin: one of the
	 * two replays lands on daemon 2). */
	const char *key[] = { "Idempotency-Key: scaling-replay-1", NULL };
	long specimens = count_sql(t, "SELECT count(*) FROM specimens");
	http_h(t->d.url, "POST", "/api/v1/specimens", t->admin_token, NULL, register_body,
	       strlen(register_body), key, &first);
	is_int(first.status, 201, "a POST with an Idempotency-Key registers a specimen");
	int before = answered_by(0, 41, t->d.port, d2->port, &by1, &by2), same = 0;
	for (int i = 0; i < 2; i++) {
		http_h(ngx_url, "POST", "/api/v1/specimens", t->admin_token, NULL, register_body,
		       strlen(register_body), key, &r);
		same += r.status == first.status && jstr(&r, "id") && jstr(&first, "id") &&
		        strcmp(jstr(&r, "id"), jstr(&first, "id")) == 0;
		resp_free(&r);
	}
	answered_by(before, 2, t->d.port, d2->port, &by1, &by2);
	ok(by1 == 1 && by2 == 1, "the two replays went to daemon 1 and daemon 2 (%d, %d)", by1,
	   by2);
	is_int(same, 2, "both replays answer the first answer (201, the same specimen ID)");
	is_int(count_sql(t, "SELECT count(*) FROM specimens") - specimens, 1,
	       "the replays registered nothing more");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE specimen_id = '%s'",
	         jstr(&first, "id") ? jstr(&first, "id") : "");
	is_int(count_sql(t, sql), 1, "and left one event");
	resp_free(&first);

	/* Daemon 2 drains (SIGTERM) while GETs keep coming through nginx. */
	int stopped_at = 0, status = 0;
	failed = 0;
	for (int i = 0; i < 60; i++) {
		if (i == 20) {
			stopped_at = answered_by(0, before + 2 + 20, 0, 0, &by1, &by2);
			d2_stopped_at = now_s();
			status = daemon_stop(d2);
			tap_diag("daemon 2 stopped after %d requests through nginx", i);
		}
		snprintf(path, sizeof(path), "/api/v1/specimens/%s", storm_tubes[i % STORM_TUBES]);
		http(ngx_url, "GET", path, t->admin_token, NULL, NULL, 0, &r);
		if (r.status != 200 && failed++ < 3)
			tap_diag("GET through nginx: %ld %s", r.status, r.error);
		resp_free(&r);
	}
	is_int(status, 0, "daemon 2 stops cleanly on SIGTERM mid-test");
	is_int(failed, 0, "no GET failed while daemon 2 went away (nginx routed around it)");
	lines = answered_by(stopped_at, 40, t->d.port, d2->port, &by1, &by2);
	ok(lines == 40 && by1 == 40 && by2 == 0,
	   "every request after the stop was answered by daemon 1 (%d of %d)", by1, lines);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	struct daemon d2 = { 0 }, d3 = { 0 };
	char pids[1024], pids_after[1024], sql[256];
	struct resp r;

	if (access(PGBOUNCER, X_OK) != 0)
		tap_skip_all("pgbouncer is not installed (Debian package pgbouncer)");
	tenv_setup(&t, "pgbouncer", argc, argv);
	world_make(&t);
	if (!storm_register(&t)) {
		tenv_teardown(&t);
		return tap_done();
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bb-pgbouncer-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	chmod(tmpdir, 0755);
	struct passwd *pw = getuid() == 0 ? getpwnam("postgres") : NULL;
	if (pw != NULL && chown(tmpdir, pw->pw_uid, pw->pw_gid) != 0)
		tap_diag("chown %s: %s", tmpdir, strerror(errno));
	/* PgBouncer drops the daemon's "options": the timeout comes from the role. */
	snprintf(sql, sizeof(sql),
	         "ALTER ROLE biobank_daemon IN DATABASE %s SET statement_timeout = '60s'",
	         t.dbname);
	bool ok_sql;
	free(sql_value(&t, sql, &ok_sql));
	ok(ok_sql, "statement_timeout = 60s for the daemons' role in the test database");
	bool up = pgbouncer_start(&t);
	if (!ok(up, "pgbouncer in session mode on 127.0.0.1:%d", pgb_port)) {
		tenv_teardown(&t);
		cleanup_tmpdir();
		return tap_done();
	}
	PGconn *c = PQconnectdb(pgb_conninfo);
	PGresult *res = PQexec(c, "SHOW statement_timeout");
	ok(PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "1min") == 0,
	   "through PgBouncer the daemon's role still has statement_timeout = 1min");
	PQclear(res);
	PQfinish(c);

	/* Both daemons through PgBouncer: the first replaces the env's own. */
	is_int(daemon_stop(&t.d), 0, "the direct daemon stops");
	if (!ok(daemon_via_pgbouncer(&t, &t.d) == 0 && daemon_via_pgbouncer(&t, &d2) == 0,
	        "two daemons connected through PgBouncer")) {
		daemon_stop(&d2);
		tenv_teardown(&t);
		proc_stop(&pgb, SIGINT);
		cleanup_tmpdir();
		return tap_done();
	}

	storm_run(&t, t.d.url, d2.url, "over two daemons through PgBouncer");
	check_invariants(&t, "after the storm through PgBouncer");

	/*
	 * The pool: 2 daemons x (4 workers + 1 long-work thread + 1 listener + 1
	 * ledger sequencer) = 14 = default_pool_size. A daemon connects its slots
	 * on first use, so after the storm each has at least its workers', its
	 * listener's and its sequencer's.
	 */
	struct pool p = show_pools(t.dbname);
	ok(p.found && strcmp(p.mode, "session") == 0, "SHOW POOLS: the database's pool, mode %s",
	   p.mode);
	ok(p.cl_active >= 2 * (DAEMON_THREADS + 2) && p.cl_active <= POOL_SIZE,
	   "SHOW POOLS: %d client connections from the daemons (12 to 14: 2 x (4 workers + 1 "
	   "listener + 1 ledger sequencer), and the long-work slots used)",
	   p.cl_active);
	is_int(p.sv_active, p.cl_active,
	       "SHOW POOLS: each bound to a server connection of its own");
	is_int(p.cl_waiting, 0, "SHOW POOLS: no client waiting");
	long n = backends(&t, pids, sizeof(pids));
	is_int(n, p.sv_active, "PostgreSQL sees exactly the pool's connections of biobank_daemon");
	is_int(count_sql(&t, "SELECT count(*) FROM pg_stat_activity WHERE datname ="
	                     " current_database() AND query = 'LISTEN bb_auth'"),
	       2, "both daemons' LISTEN connections go through PgBouncer");

	/* Revocation through daemon 1 reaches daemon 2's token cache (60 s TTL). */
	char token[128];
	snprintf(sql, sizeof(sql), "/api/v1/specimens/%s", storm_tubes[0]);
	is_int(login(&t, "admin", "admin-password", token), 0, "a second session (on daemon 1)");
	int cached = 0;
	for (int i = 0; i < 2; i++) {
		http(d2.url, "GET", sql, token, NULL, NULL, 0, &r);
		cached += r.status == 200;
		resp_free(&r);
	}
	is_int(cached, 2, "daemon 2 accepts (and caches) the token");
	http(t.d.url, "DELETE", "/api/v1/sessions/current", token, NULL, NULL, 0, &r);
	is_int(r.status, 204, "the token is revoked through daemon 1");
	resp_free(&r);
	double t0 = now_s(), took = -1;
	long status = 0;
	while (now_s() - t0 < 30) {
		http(d2.url, "GET", sql, token, NULL, NULL, 0, &r);
		status = r.status;
		bool refused = is_problem(&r, 401);
		resp_free(&r);
		if (status == 401 && refused) {
			took = now_s() - t0;
			break;
		}
		sleep_ms(20);
	}
	/* Half the TTL: a refusal this early came from the NOTIFY, not from expiry. */
	ok(took >= 0 && took < 30,
	   "daemon 2 refuses it with a 401 problem after %.2f s (the cache"
	   " TTL is 60 s: the NOTIFY came through PgBouncer)",
	   took);
	is_int(count_sql(&t, "SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL"), 1,
	       "the database holds one revoked token");

	/*
	 * The daemons use the long-work slots only when long work needs them:
	 * clients of our own take the pool's last server connections, so that it
	 * is full, and the pool's backends are what PostgreSQL sees now.
	 */
	PGconn *fillers[POOL_SIZE] = { 0 };
	int nfill = 0;
	for (p = show_pools(t.dbname); p.sv_active + nfill < POOL_SIZE; nfill++) {
		fillers[nfill] = PQconnectdb(pgb_conninfo);
		PQclear(PQexec(fillers[nfill], "SELECT 1"));
	}
	n = backends(&t, pids, sizeof(pids));
	is_int(n, POOL_SIZE, "the pool is full: %d server connections (%d of them ours)", POOL_SIZE,
	       nfill);

	/* One client more waits for a server connection instead of reaching PostgreSQL. */
	struct extra_client x = { 0 };
	pthread_create(&x.th, NULL, extra_client_run, &x);
	for (double tw = now_s(); now_s() - tw < 60 && (p = show_pools(t.dbname)).cl_waiting == 0;)
		sleep_ms(30);
	is_int(p.cl_waiting, 1, "SHOW POOLS: one client more waits (the pool is full)");
	is_int(p.sv_active, POOL_SIZE, "SHOW POOLS: still %d server connections", POOL_SIZE);
	is_int(backends(&t, pids_after, sizeof(pids_after)), POOL_SIZE,
	       "PostgreSQL still sees %d connections", POOL_SIZE);

	/* nginx, where installed: it also stops daemon 2; else daemon 2 just stops. */
	if (access(NGINX, X_OK) == 0) {
		through_nginx(&t, &d2);
	} else {
		tap_diag("nginx is not installed: its part is left out");
		d2_stopped_at = now_s();
		is_int(daemon_stop(&d2), 0, "daemon 2 stops cleanly on SIGTERM");
	}
	pthread_join(x.th, NULL);
	snprintf(sql, sizeof(sql), "%d", x.backend_pid);
	ok(x.backend_pid > 0 && x.served_at >= d2_stopped_at && pids_within(sql, pids),
	   "the waiting client was served once daemon 2 stopped, by one of the pool's backends"
	   " (%d, after %.2f s)",
	   x.backend_pid, x.waited);

	/* A daemon started now reuses the pool's backends: PostgreSQL sees no new one. */
	if (ok(daemon_via_pgbouncer(&t, &d3) == 0, "a third daemon through PgBouncer")) {
		snprintf(sql, sizeof(sql), "/api/v1/specimens/%s/events", storm_tubes[1]);
		http(d3.url, "GET", sql, t.admin_token, NULL, NULL, 0, &r);
		is_int(r.status, 200, "it answers a GET on a reused server connection");
		resp_free(&r);
		http(d3.url, "POST", "/api/v1/specimens", t.admin_token, NULL, register_body,
		     strlen(register_body), &r);
		is_int(r.status, 201,
		       "and a POST (DISCARD ALL cleared the old prepared statements)");
		resp_free(&r);
		n = backends(&t, pids_after, sizeof(pids_after));
		ok(n > 0 && n <= POOL_SIZE && pids_within(pids_after, pids),
		   "PostgreSQL's %ld connections of biobank are the ones from before: no new"
		   " backend for the new daemon",
		   n);
		p = show_pools(t.dbname);
		ok(p.sv_active + p.sv_idle + p.sv_used <= POOL_SIZE,
		   "SHOW POOLS: at most %d server connections (%d active, %d idle, %d used)",
		   POOL_SIZE, p.sv_active, p.sv_idle, p.sv_used);
		is_int(daemon_stop(&d3), 0, "the third daemon stops cleanly");
	}
	for (int i = 0; i < nfill; i++)
		PQfinish(fillers[i]);
	check_invariants(&t, "at the end");
	if (ngx.pid > 0)
		is_int(proc_stop(&ngx, SIGQUIT), 0, "nginx stops");
	tenv_teardown(&t);
	is_int(proc_stop(&pgb, SIGINT), 0, "pgbouncer stops");
	cleanup_tmpdir();
	return tap_done();
}
