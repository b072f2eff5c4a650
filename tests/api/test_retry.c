/*
 * test_retry.c — a POST whose transaction PostgreSQL picks as a deadlock
 * victim is run again and answers 2xx, with one effect; with an
 * Idempotency-Key the whole unit (claim, handler, stored answer) is re-run,
 * and a replay answers the stored answer.
 *
 * The deadlock is made, not hoped for: a trigger on specimens takes two
 * advisory locks, A then B. The test holds B, waits until the daemon's
 * transaction holds A and waits for B, then asks for A. PostgreSQL's
 * deadlock check runs in the backend that has waited deadlock_timeout
 * (1 s) first; the test's session sets its own to 60 s, so the daemon's
 * backend always finds the cycle and is the one aborted (40P01).
 */
#include "world.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { LOCK_CLASS = 7301, LOCK_A = 1, LOCK_B = 2, WAIT_MS = 10000 };

static const char *const trap_fn =
    "CREATE FUNCTION test_deadlock_trap() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN PERFORM pg_advisory_xact_lock(7301, 1); PERFORM pg_advisory_xact_lock(7301, 2);"
    " RETURN NEW; END $$";

/* Arm (or with on false, disarm) the trap for event ("INSERT", "UPDATE") on table. */
static bool
trap(struct tenv *t, const char *table, const char *event, bool on)
{
	char sql[300];
	bool ok_sql;

	if (on)
		snprintf(sql, sizeof(sql),
		         "CREATE TRIGGER test_deadlock_trap BEFORE %s ON %s FOR EACH ROW"
		         " EXECUTE FUNCTION test_deadlock_trap()",
		         event, table);
	else
		snprintf(sql, sizeof(sql), "DROP TRIGGER test_deadlock_trap ON %s", table);
	free(sql_value(t, sql, &ok_sql));
	return ok_sql;
}

struct poster {
	const char *url, *path, *token;
	const char *key; /* NULL: no Idempotency-Key */
	const char *body;
	struct resp r;
};

static void *
post(void *arg)
{
	struct poster *p = arg;
	char h[300];
	const char *headers[] = { h, NULL };

	snprintf(h, sizeof(h), "Idempotency-Key: %s", p->key ? p->key : "");
	http_h(p->url, "POST", p->path, p->token, NULL, p->body, strlen(p->body),
	       p->key ? headers : NULL, &p->r);
	return NULL;
}

static bool
exec_ok(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		tap_diag("sql: %s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/* Advisory locks of ours in this database held by others (granted or not). */
static long
others_locks(PGconn *c, int objid, bool granted)
{
	char sql[400];

	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
	         " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
	         " AND classid = %d AND objid = %d AND granted = %s AND pid <> pg_backend_pid()",
	         LOCK_CLASS, objid, granted ? "true" : "false");
	PGresult *res = PQexec(c, sql);
	long n =
	    PQresultStatus(res) == PGRES_TUPLES_OK ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : -1;
	PQclear(res);
	return n;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * Send body (with key, if any) while the deadlock trap is armed. True when
 * the daemon's first transaction was certainly aborted as the victim.
 */
static bool
post_into_deadlock(struct tenv *t, struct poster *p)
{
	PGconn *c = PQconnectdb(t->super_conninfo);
	bool victim = false;
	pthread_t th;

	if (PQstatus(c) != CONNECTION_OK || !exec_ok(c, "SET deadlock_timeout = '60s'") ||
	    !exec_ok(c, "SET statement_timeout = '20s'") || !exec_ok(c, "BEGIN") ||
	    !exec_ok(c, "SELECT pg_advisory_xact_lock(7301, 2)")) {
		PQfinish(c);
		return false;
	}
	pthread_create(&th, NULL, post, p);
	/* The daemon holds A and waits for B ... */
	int waited = 0;
	while (waited < WAIT_MS &&
	       !(others_locks(c, LOCK_A, true) == 1 && others_locks(c, LOCK_B, false) == 1)) {
		sleep_ms(20);
		waited += 20;
	}
	if (waited < WAIT_MS) {
		/* ... and this waits for A: the cycle. A is ours only once the daemon's
		 * transaction has ended, and it cannot have committed while it waited for B. */
		victim = exec_ok(c, "SELECT pg_advisory_xact_lock(7301, 1)");
	} else {
		tap_diag("the daemon never waited on the trap's lock");
	}
	exec_ok(c, "ROLLBACK");
	PQfinish(c);
	pthread_join(th, NULL);
	return victim;
}

static long
specimens(struct tenv *t)
{
	return sql_int(t, "SELECT count(*) FROM specimens");
}

/* The custody events of specimen id, of type type (NULL: all of them). */
static long
events(struct tenv *t, const char *id, const char *type)
{
	if (type == NULL)
		return sql_intf(t, "SELECT count(*) FROM events WHERE specimen_id = '%s'", id);
	return sql_intf(t, "SELECT count(*) FROM events WHERE specimen_id = '%s' AND type = '%s'",
	                id, type);
}

/* A raw port-9100 printer on loopback that counts the jobs it takes. */
struct printer {
	int lfd, port;
	atomic_bool stop;
	atomic_int jobs;
	pthread_t th;
};

static void *
printer_main(void *arg)
{
	struct printer *p = arg;
	char buf[4096];

	while (!atomic_load(&p->stop)) {
		struct pollfd pl = { .fd = p->lfd, .events = POLLIN };
		if (poll(&pl, 1, 50) != 1)
			continue;
		int fd = accept(p->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		/* To EOF, at most 10 s for each read. */
		struct pollfd pr = { .fd = fd, .events = POLLIN };
		while (poll(&pr, 1, 10000) == 1 && read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		atomic_fetch_add(&p->jobs, 1);
	}
	return NULL;
}

static bool
printer_start(struct printer *p)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	memset(p, 0, sizeof(*p));
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(p->lfd, 8) < 0 || getsockname(p->lfd, (struct sockaddr *)&a, &len) < 0)
		return false;
	p->port = ntohs(a.sin_port);
	return pthread_create(&p->th, NULL, printer_main, p) == 0;
}

static void
printer_stop(struct printer *p)
{
	atomic_store(&p->stop, true);
	pthread_join(p->th, NULL);
	close(p->lfd);
}

/*
 * POST /api/v1/print records a print job, sends with no transaction open,
 * then records the outcome. A deadlock in either transaction re-runs only
 * that transaction: the printer gets one job, and one event stands for it.
 * (Before print jobs, a deadlock after the send answered 503 and left the
 * printed labels without an event.)
 */
static void
print_cases(struct tenv *t)
{
	struct printer pr;
	struct daemon d2 = { 0 };
	struct resp r;
	char arg[96], body[128];

	if (!ok(printer_start(&pr), "a raw TCP printer listens on loopback"))
		return;
	/* A raw socket that takes jobs and answers no ~HS: as a ZPL device without status. */
	snprintf(arg, sizeof(arg), "--printers=bench=tcp://127.0.0.1:%d?status=off", pr.port);
	const char *extra[] = { arg, NULL };
	if (!ok(daemon_start(t, &d2, extra) == 0, "a daemon with that printer starts")) {
		printer_stop(&pr);
		return;
	}
	api(t, "POST", "/api/v1/specimens", t->admin_token,
	    "{\"participant\":{\"study\":\"MASC\",\"code\":\"P002\"},\"type\":\"plasma\","
	    "\"timepoint\":\"m0\",\"collected_at\":\"2026-03-01T09:30:00Z\"}",
	    &r);
	char id[16];
	snprintf(id, sizeof(id), "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"ids\":[\"%s\"],\"printer\":\"bench\"}", id);

	/* The deadlock strikes while the print's events are written: nothing sent yet. */
	trap(t, "events", "INSERT", true);
	struct poster p = { d2.url, "/api/v1/print", t->admin_token, "print-1", body, { 0 } };
	ok(post_into_deadlock(t, &p), "a keyed print's transaction is a deadlock victim");
	trap(t, "events", "INSERT", false);
	is_int(p.r.status, 200, "  before sending: the unit is run again and answers 200");
	is_int(atomic_load(&pr.jobs), 1, "  the printer got one job");
	is_int(events(t, id, "label_printed"), 1, "  and one label_printed event was written");
	resp_free(&p.r);
	const char *key_hdr[] = { "Idempotency-Key: print-1", NULL };
	http_h(d2.url, "POST", "/api/v1/print", t->admin_token, NULL, body, strlen(body), key_hdr,
	       &r);
	ok(r.status == 200 && strcmp(r.replayed, "true") == 0, "  a replay answers 200, replayed");
	resp_free(&r);
	is_int(atomic_load(&pr.jobs), 1, "  and prints nothing");

	/* The deadlock strikes while an answer is stored (the provisional one before the send, or
	 * the final one after): no transaction sends, so the one that lost runs again. */
	trap(t, "idempotency_keys", "UPDATE", true);
	p = (struct poster){ d2.url, "/api/v1/print", t->admin_token, "print-2", body, { 0 } };
	ok(post_into_deadlock(t, &p), "a keyed print's transaction is a deadlock victim");
	trap(t, "idempotency_keys", "UPDATE", false);
	is_int(p.r.status, 200, "  run again: 200");
	is_int(atomic_load(&pr.jobs), 2, "  the printer got one job more, not two");
	is_int(events(t, id, "label_printed"), 2, "  and one event more stands for it");
	is_int(sql_intf(t,
	                "SELECT count(*) FROM idempotency_keys WHERE key = '%s' AND status = 200",
	                "print-2"),
	       1, "  the key keeps the answer");
	resp_free(&p.r);

	daemon_stop(&d2);
	printer_stop(&pr);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	bool ok_sql;

	tenv_setup(&t, "retry", argc, argv);
	world_make(&t);
	free(sql_value(&t, trap_fn, &ok_sql));
	if (!ok(ok_sql && trap(&t, "specimens", "INSERT", true), "the deadlock trap is armed")) {
		tenv_teardown(&t);
		return tap_done();
	}

	/* With a key: the claim, the registration and the stored answer are one unit. */
	const char *body = "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},"
	                   "\"type\":\"serum\",\"timepoint\":\"m12\","
	                   "\"collected_at\":\"2026-03-01T09:30:00Z\"}";
	long before = specimens(&t);
	struct poster p = { t.d.url, "/api/v1/specimens", t.admin_token, "deadlock-victim-1", body,
		            { 0 } };
	ok(post_into_deadlock(&t, &p), "a keyed registration's transaction is a deadlock victim");
	is_int(p.r.status, 201, "  and the request still answers 201 (the unit was run again)");
	char id[16];
	snprintf(id, sizeof(id), "%s", jstr(&p.r, "id") ? jstr(&p.r, "id") : "");
	is_int(specimens(&t), before + 1, "  one specimen was registered");
	is_int(events(&t, id, NULL), 1, "  with one event");
	is_int(sql_intf(&t,
	                "SELECT count(*) FROM idempotency_keys WHERE key = '%s' AND status = 201",
	                "deadlock-victim-1"),
	       1, "  and the key holds the answer");

	struct resp r;
	const char *headers[] = { "Idempotency-Key: deadlock-victim-1", NULL };
	http_h(t.d.url, "POST", "/api/v1/specimens", t.admin_token, NULL, body, strlen(body),
	       headers, &r);
	is_int(r.status, 201, "a replay of the key answers 201");
	is_str(r.body, p.r.body, "  with the stored answer");
	is_str(r.replayed, "true", "  marked Idempotent-Replayed: true");
	resp_free(&r);
	resp_free(&p.r);
	is_int(specimens(&t), before + 1, "  and registers nothing more");
	is_int(events(&t, id, NULL), 1, "  nor writes another event");

	/* Without a key the handler's own transaction is the one run again. */
	before = specimens(&t);
	p = (struct poster){ t.d.url, "/api/v1/specimens", t.admin_token, NULL, body, { 0 } };
	ok(post_into_deadlock(&t, &p),
	   "an unkeyed registration's transaction is a deadlock victim");
	is_int(p.r.status, 201, "  and the request still answers 201");
	is_str(p.r.replayed, "", "  not marked as a replay");
	snprintf(id, sizeof(id), "%s", jstr(&p.r, "id") ? jstr(&p.r, "id") : "");
	is_int(specimens(&t), before + 1, "  one specimen was registered");
	is_int(events(&t, id, NULL), 1, "  with one event");
	resp_free(&p.r);
	trap(&t, "specimens", "INSERT", false);

	print_cases(&t);

	tenv_teardown(&t);
	return tap_done();
}
