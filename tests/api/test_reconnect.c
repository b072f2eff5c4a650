/*
 * test_reconnect.c — a pooled database connection that the server closed
 * while it rested (a restart, an administrator's pg_terminate_backend, a
 * failover), found on use: a read is sent again on a new connection and
 * answered; a write that went out on it is answered 503 and is not applied,
 * so the client's retry applies it once; a keyed write (its BEGIN goes first)
 * is sent again and applied once. A connection that rested past
 * database_idle_check is checked before use instead.
 */
#include "world.h"

#include <stdlib.h>
#include <string.h>

/*
 * Close the daemons' pooled connections on this database, as an administrator
 * would; returns how many, once each backend has exited. Not the token
 * cache's LISTEN: while that one reconnects the cache is not trusted, and
 * a request would look its token up first (a read, sent again) and so find
 * a new connection before the statement this test is about.
 */
static long
terminate_daemon_backends(struct tenv *t)
{
	return sql_int(t, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 30000))"
	                  "  FROM pg_stat_activity"
	                  " WHERE datname = current_database() AND application_name = 'biobankd'"
	                  "   AND query <> 'LISTEN bb_auth'");
}

/* Both daemons' token caches listen (and so are trusted: a cached token needs no query). */
static bool
caches_listen(struct tenv *t, int daemons)
{
	for (long long deadline = mono_ms() + 30000; mono_ms() < deadline; msleep(50))
		if (sql_int(t, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
		               "current_database() AND query = 'LISTEN bb_auth'") >= daemons)
			return true;
	return false;
}

static long
events(struct tenv *t)
{
	return sql_int(t, "SELECT count(*) FROM events");
}

static long
in_box(struct tenv *t, const char *box)
{
	return sql_intf(t,
	                "SELECT count(*) FROM specimens s JOIN boxes b ON b.id = s.box_id"
	                " WHERE b.barcode = '%s'",
	                box);
}

static bool
log_says(const struct daemon *d, const char *stmt)
{
	const char *needles[] = { stmt, "sent again on a new one", NULL };
	char *lines = daemon_log_lines(d, needles, 5000);
	bool found = lines != NULL;

	free(lines);
	return found;
}

static void
move(struct tenv *t, const struct daemon *d, const char *id, const char *box, const char *key,
     struct resp *r)
{
	char path[128], body[128], header[128];
	const char *headers[] = { header, NULL };

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/move", id);
	snprintf(body, sizeof(body), "{\"box\":\"%s\",\"position\":\"A1\"}", box);
	snprintf(header, sizeof(header), "Idempotency-Key: %s", key ? key : "");
	http_h(d->url, "POST", path, t->admin_token, NULL, body, strlen(body), key ? headers : NULL,
	       r);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	struct daemon d = { 0 };
	struct resp r, before;
	char id[16], path[64];

	tenv_setup(&t, "reconnect", argc, argv);
	world_make(&t);
	if (!world_register(&t, "MASC", "P001", "serum", id))
		tap_bail("cannot register a specimen");
	world_act(&t, id, "store", "{\"box\":\"BOX-A\",\"position\":\"A1\"}", NULL, &r);
	is_int(r.status, 200, "a serum tube stored in BOX-A");
	resp_free(&r);

	/* A daemon that never checks a resting connection: every closed one is found on use. */
	const char *never[] = { "--database-idle-check=3600000", NULL };
	if (!ok(daemon_start(&t, &d, never) == 0, "a daemon with database_idle_check of an hour"))
		return tap_done();
	ok(caches_listen(&t, 2), "  its token cache listens for changes");
	snprintf(path, sizeof(path), "/api/v1/specimens/%s", id);
	http(d.url, "GET", path, t.admin_token, NULL, NULL, 0, &before);
	is_int(before.status, 200, "the technician reads the tube");

	/* An administrator closes the daemons' connections between two of the technician's reads.
	 */
	ok(terminate_daemon_backends(&t) > 0, "the daemons' database connections are terminated");
	http(d.url, "GET", path, t.admin_token, NULL, NULL, 0, &r);
	is_int(r.status, 200, "the next read is answered, not 503");
	ok(r.body != NULL && before.body != NULL && strcmp(r.body, before.body) == 0,
	   "  with the same tube");
	ok(log_says(&d, "bb_specimen_get"), "  sent again on a new connection (the daemon's log)");
	resp_free(&r);
	resp_free(&before);

	/* A write sent on a closed connection may have committed for all the daemon knows. */
	long ev = events(&t);
	ok(terminate_daemon_backends(&t) > 0, "the connections are terminated again");
	move(&t, &d, id, "BOX-B", NULL, &r);
	ok(is_problem(&r, 503), "a move without a key on the closed connection is a 503");
	ok(atoi(r.retry_after) > 0, "  with Retry-After");
	ok(r.body == NULL || strstr(r.body, "terminating") == NULL,
	   "  without PostgreSQL's message");
	resp_free(&r);
	is_int(in_box(&t, "BOX-B"), 0, "  the tube did not move");
	is_int(events(&t), ev, "  and no event was written");

	/* Each pooled connection that was open is closed too (the purge thread's, ...): the
	 * client repeats its move after each 503 as Retry-After says, and it is applied once. */
	int refused = 0;
	for (;;) {
		move(&t, &d, id, "BOX-B", NULL, &r);
		if (r.status != 503 || refused == 12)
			break;
		refused++;
		resp_free(&r);
	}
	is_int(r.status, 200, "the client's repeat moves it (%d more 503 first)", refused);
	resp_free(&r);
	is_int(in_box(&t, "BOX-B"), 1, "  the tube is in BOX-B");
	is_int(events(&t), ev + 1, "  with one event");

	/* A keyed write runs in a transaction whose BEGIN goes first: BEGIN is sent again. */
	ok(terminate_daemon_backends(&t) > 0, "the connections are terminated again");
	move(&t, &d, id, "BOX-A", "reconnect-move-back", &r);
	is_int(r.status, 200, "a keyed move on the closed connection is applied");
	resp_free(&r);
	ok(log_says(&d, "db_begin"), "  its BEGIN sent again on a new connection");
	move(&t, &d, id, "BOX-A", "reconnect-move-back", &r);
	is_int(r.status, 200, "the same key again");
	ok(strcmp(r.replayed, "true") == 0, "  is a replay");
	resp_free(&r);
	is_int(in_box(&t, "BOX-A"), 1, "  the tube is back in BOX-A");
	is_int(events(&t), ev + 2, "  with one event more, not two");
	is_int(daemon_stop(&d), 0, "that daemon stops cleanly");

	/* The default daemon checks a connection that rested over a second before using it.
	 * A read first, so that its pool holds a connection to terminate (its others were
	 * terminated above and are opened again only when used). */
	http(t.d.url, "GET", path, t.admin_token, NULL, NULL, 0, &r);
	is_int(r.status, 200, "the first daemon reads the tube");
	resp_free(&r);
	ok(terminate_daemon_backends(&t) > 0, "the first daemon's connections are terminated");
	msleep(1500);
	move(&t, &t.d, id, "BOX-B", NULL, &r);
	is_int(r.status, 200, "after a rest, a move without a key on the first daemon is applied");
	resp_free(&r);
	is_int(in_box(&t, "BOX-B"), 1, "  once: the tube is in BOX-B");
	is_int(events(&t), ev + 3, "  with one event more");

	tenv_teardown(&t);
	return tap_done();
}
