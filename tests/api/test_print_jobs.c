/*
 * test_print_jobs.c — POST /api/v1/print as print jobs: the daemon never
 * waits on a printer while it holds a worker thread, a database connection
 * or row locks. Eight hanging printers and eight prints leave GETs
 * answering while every printer still hangs; a printer that fails leaves a
 * failed job and no event; a daemon killed while a printer hangs leaves a
 * pending job that a retry prints and records exactly once; a keyed print
 * sent again never prints twice; a printer out of paper (or ribbon, head
 * open, paused) is given nothing and its job waits, pending, for a retry.
 */
#define _GNU_SOURCE /* accept4, pipe2 and strcasestr in listener.h */
#include "testlib.h"
#include "world.h"

#include "../labels/listener.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

enum { HANGING = 8 }; /* printers that accept and never answer, twice the daemon's threads */

static char A[16], tech_token[128], auditor_token[128];
static char S[HANGING][16]; /* one specimen per hanging printer */

static void
pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int
occurrences_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* label_printed events of a specimen. */
static long
printed(struct tenv *t, const char *id)
{
	char sql[320];

	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM events WHERE specimen_id = '%s' AND type = 'label_printed'",
	         id);
	return sql_int(t, sql);
}

/* One request on a thread of the test: what it answered and how long it took. */
struct call {
	const char *url, *method, *path, *token, *key;
	char body[256];
	struct resp r;
	long long took_ms;
	pthread_t th;
	atomic_bool done;
};

static void *
call_main(void *arg)
{
	struct call *c = arg;
	char key[160];
	const char *headers[] = { key, NULL };
	long long start = peer_now_ms();

	snprintf(key, sizeof(key), "Idempotency-Key: %s", c->key ? c->key : "");
	http_h(c->url, c->method, c->path, c->token, NULL, c->body[0] ? c->body : NULL,
	       strlen(c->body), c->key ? headers : NULL, &c->r);
	c->took_ms = peer_now_ms() - start;
	atomic_store(&c->done, true);
	return NULL;
}

static void
call_start(struct call *c)
{
	atomic_store(&c->done, false);
	if (pthread_create(&c->th, NULL, call_main, c) != 0) {
		perror("pthread_create");
		exit(1);
	}
}

static int
api_at(struct daemon *d, const char *method, const char *path, const char *token, const char *json,
       struct resp *out)
{
	return http(d->url, method, path, token, NULL, json, json ? strlen(json) : 0, out);
}

static void
setup(struct tenv *t)
{
	world_make(t);
	ok(make_user(t, "bench-tech", "technician", NULL, tech_token) == 0, "a technician");
	ok(make_user(t, "checker", "auditor", NULL, auditor_token) == 0, "an auditor");
	ok(world_register(t, "MASC", "P001", "serum", A), "specimen A registered");
	bool all = true;
	for (int i = 0; i < HANGING; i++)
		all = all && world_register(t, "MASC", "P002", "plasma", S[i]);
	ok(all, "%d more specimens registered, one per hanging printer", HANGING);
}

/*
 * Eight prints to eight printers that accept and never answer, on a daemon
 * with four worker threads: every print is sent at once, and GETs answer
 * while every printer still hangs. Before print jobs each print held a
 * worker, its connection and its row locks until the printer timed out
 * (10 s), so the GETs waited for a free worker.
 */
static void
hanging_printers(struct tenv *t)
{
	struct peer p[HANGING];
	struct call prints[HANGING], gets[HANGING];
	struct daemon d = { 0 };
	struct bb_buf spec = { 0 };

	bb_buf_puts(&spec, "--printers=");
	for (int i = 0; i < HANGING; i++) {
		ok(peer_start(&p[i], PEER_HANG), "hanging printer h%d listens", i);
		bb_buf_printf(&spec, "%sh%d=tcp://127.0.0.1:%d", i ? "," : "", i, p[i].port);
	}
	/* testlib runs it with --threads=4; prints run on the long-work pool, as many
	 * at once as it has threads (test_long_work bounds them): one per printer here. */
	char long_workers[32];
	snprintf(long_workers, sizeof(long_workers), "--long-workers=%d", HANGING);
	const char *extra[] = { spec.data, long_workers, NULL };
	if (!ok(daemon_start(t, &d, extra) == 0,
	        "a daemon with 4 threads, %d for long work and %d printers starts", HANGING,
	        HANGING))
		goto out;

	long long start = peer_now_ms();
	for (int i = 0; i < HANGING; i++) {
		prints[i] = (struct call){
			.url = d.url, .method = "POST", .path = "/api/v1/print", .token = tech_token
		};
		snprintf(prints[i].body, sizeof(prints[i].body),
		         "{\"ids\":[\"%s\"],\"printer\":\"h%d\"}", S[i], i);
		call_start(&prints[i]);
	}
	int accepted = 0;
	while (peer_now_ms() - start < 8000) {
		accepted = 0;
		for (int i = 0; i < HANGING; i++)
			accepted += p[i].accepted;
		if (accepted == HANGING)
			break;
		pause_ms(10);
	}
	is_int(accepted, HANGING, "all %d printers are being sent to at once", HANGING);

	/* Now every printer hangs: the GETs must not wait for them. */
	long long worst = 0;
	bool all_200 = true;
	char paths[HANGING][64];
	for (int i = 0; i < HANGING; i++) {
		snprintf(paths[i], sizeof(paths[i]), "/api/v1/specimens/%s", S[i]);
		gets[i] = (struct call){
			.url = d.url, .method = "GET", .path = paths[i], .token = tech_token
		};
		call_start(&gets[i]);
	}
	for (int i = 0; i < HANGING; i++) {
		pthread_join(gets[i].th, NULL);
		all_200 = all_200 && gets[i].r.status == 200;
		if (gets[i].took_ms > worst)
			worst = gets[i].took_ms;
	}
	int prints_done = 0;
	for (int i = 0; i < HANGING; i++)
		prints_done += atomic_load(&prints[i].done);
	ok(all_200, "%d concurrent GET /specimens/{id} answer 200", HANGING);
	ok(worst < 5000, "  each within 5 s, half the printers' timeout (slowest %lld ms)", worst);
	is_int(prints_done, 0, "  all while every printer still hangs (no print has answered)");
	for (int i = 0; i < HANGING; i++)
		resp_free(&gets[i].r);

	/* The printers time out: each print fails, its job failed, no event. */
	bool all_502 = true, all_failed = true;
	long events = 0;
	for (int i = 0; i < HANGING; i++) {
		pthread_join(prints[i].th, NULL);
		all_502 = all_502 && is_problem(&prints[i].r, 502) &&
		          jstr(&prints[i].r, "code") != NULL &&
		          strcmp(jstr(&prints[i].r, "code"), "bad-gateway") == 0;
		all_failed = all_failed && jstr(&prints[i].r, "job.state") != NULL &&
		             strcmp(jstr(&prints[i].r, "job.state"), "failed") == 0;
		events += printed(t, S[i]);
		resp_free(&prints[i].r);
	}
	ok(all_502, "each print to a hanging printer is 502 bad-gateway once it times out");
	ok(all_failed, "  with its job failed");
	is_int(events, 0, "  and no label_printed event");
	is_int(sql_int(t, "SELECT count(*) FROM print_jobs WHERE state = 'failed'"
	                  " AND printer LIKE 'h_'"),
	       HANGING, "  %d failed jobs recorded", HANGING);
	is_int(daemon_stop(&d), 0, "the daemon stops cleanly");
out:
	for (int i = 0; i < HANGING; i++)
		peer_free(&p[i]);
	bb_buf_free(&spec);
}

/* A printer that works, one that refuses; the jobs as GET shows them; retries of finished jobs. */
static void
jobs(struct tenv *t)
{
	struct daemon d = { 0 };
	struct peer p;
	struct resp r;
	char printers[160], body[160], path[96], job[32];
	int port, lfd = listen_socket(&port), dead = peer_dead_port();

	snprintf(printers, sizeof(printers),
	         "--printers=bench=tcp://127.0.0.1:%d,dead=tcp://127.0.0.1:%d", port, dead);
	const char *extra[] = { printers, NULL };
	if (!ok(daemon_start(t, &d, extra) == 0, "a daemon with a good and a dead printer starts"))
		return;

	long a0 = printed(t, A);
	snprintf(body, sizeof(body), "{\"ids\":[\"%s\"],\"printer\":\"dead\"}", A);
	api_at(&d, "POST", "/api/v1/print", tech_token, body, &r);
	ok(is_problem(&r, 502), "a printer that refuses the connection is 502");
	is_str(jstr(&r, "code"), "bad-gateway", "  code bad-gateway");
	is_str(jstr(&r, "job.state"), "failed", "  the job in it failed");
	ok(jstr(&r, "job.error") && strstr(jstr(&r, "job.error"), "127.0.0.1"),
	   "  with the printer's error: %s", jstr(&r, "job.error"));
	snprintf(job, sizeof(job), "%.0f", jnum(&r, "job.id", 0));
	resp_free(&r);
	is_int(printed(t, A), a0, "  no label_printed event");

	snprintf(path, sizeof(path), "/api/v1/print-jobs/%s", job);
	api_at(&d, "GET", path, tech_token, NULL, &r);
	is_int(r.status, 200, "GET /print-jobs/{id}");
	is_str(jstr(&r, "state"), "failed", "  failed");
	is_str(jstr(&r, "printer"), "dead", "  on printer dead");
	is_str(jstr(&r, "specimens.0"), A, "  for A");
	ok(jstr(&r, "events") == NULL && jnum(&r, "attempts", 0) == 1, "  no events, one attempt");
	resp_free(&r);
	api_at(&d, "GET", "/api/v1/print-jobs?state=failed", tech_token, NULL, &r);
	ok(r.status == 200 && jnum(&r, "items.0.id", 0) == atof(job),
	   "GET /print-jobs?state=failed lists it first");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/print-jobs/%s/retry", job);
	api_at(&d, "POST", path, tech_token, NULL, &r);
	ok(is_problem(&r, 502) && jnum(&r, "job.attempts", 0) == 2,
	   "retrying a failed job sends again: still 502, attempt 2");
	resp_free(&r);
	is_int(printed(t, A), a0, "  still no event");

	snprintf(body, sizeof(body), "{\"ids\":[\"%s\"],\"printer\":\"bench\",\"copies\":2}", A);
	peer_start_on(&p, PEER_RAW, lfd, port);
	api_at(&d, "POST", "/api/v1/print", tech_token, body, &r);
	peer_stop(&p);
	is_int(r.status, 200, "a print to a working printer is 200");
	ok(jnum(&r, "printed", 0) == 1, "  printed 1");
	is_str(jstr(&r, "job.state"), "sent", "  its job sent");
	is_str(jstr(&r, "events.0.specimen"), A, "  with A's event");
	is_str(jstr(&r, "events.0.type"), "label_printed", "  a label_printed event");
	ok(jnum(&r, "events.0.seq", 0) == jnum(&r, "job.events.0.seq", -1),
	   "  which the job names by seq");
	snprintf(job, sizeof(job), "%.0f", jnum(&r, "job.id", 0));
	resp_free(&r);
	ok(p.got.data && strstr(p.got.data, "^PQ2"), "  the printer got the labels (^PQ2)");
	peer_free(&p);
	is_int(printed(t, A), a0 + 1, "  one event");

	snprintf(path, sizeof(path), "/api/v1/print-jobs/%s/retry", job);
	api_at(&d, "POST", path, tech_token, NULL, &r);
	ok(is_problem(&r, 409), "retrying a sent job is 409");
	is_str(jstr(&r, "code"), "print-job-state", "  code print-job-state");
	resp_free(&r);
	is_int(printed(t, A), a0 + 1, "  and prints nothing");

	api_at(&d, "GET", "/api/v1/print-jobs/999999", tech_token, NULL, &r);
	ok(is_problem(&r, 404), "an unknown job is 404");
	is_str(jstr(&r, "code"), "print-job-not-found", "  code print-job-not-found");
	resp_free(&r);
	api_at(&d, "POST", "/api/v1/print-jobs/999999/retry", tech_token, NULL, &r);
	ok(is_problem(&r, 404), "retrying an unknown job is 404");
	resp_free(&r);
	api_at(&d, "GET", "/api/v1/print-jobs?state=lost", tech_token, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "state"), "?state=lost is 400");
	resp_free(&r);
	api_at(&d, "GET", "/api/v1/print-jobs", auditor_token, NULL, &r);
	ok(is_problem(&r, 403), "an auditor may not see print jobs (roles as for printing)");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/print-jobs/%s/retry", job);
	api_at(&d, "POST", path, auditor_token, NULL, &r);
	ok(is_problem(&r, 403), "  nor retry them");
	resp_free(&r);

	is_int(daemon_stop(&d), 0, "the daemon stops cleanly");
	close(lfd);
}

/*
 * A daemon killed (SIGKILL) while the printer hangs: the job stays pending,
 * visible, and a repeat of the keyed request prints nothing; once the send
 * has surely ended, a retry prints and records the event exactly once.
 */
static void
crash_and_retry(struct tenv *t)
{
	struct daemon d = { 0 };
	struct peer hang, p;
	struct resp r;
	struct call c = { 0 };
	char printers[96], path[96], job[32];
	int port, lfd = listen_socket(&port);
	const char *key_hdr[] = { "Idempotency-Key: crash-1", NULL };

	ok(peer_start(&hang, PEER_HANG), "a hanging printer");
	snprintf(printers, sizeof(printers), "--printers=slow=tcp://127.0.0.1:%d", hang.port);
	const char *extra[] = { printers, "--print-timeout=2", NULL };
	if (!ok(daemon_start(t, &d, extra) == 0, "a daemon with a 2 s printer timeout starts"))
		goto out;
	long a0 = printed(t, A);
	c = (struct call){ .url = d.url,
		           .method = "POST",
		           .path = "/api/v1/print",
		           .token = tech_token,
		           .key = "crash-1" };
	snprintf(c.body, sizeof(c.body), "{\"ids\":[\"%s\"],\"printer\":\"slow\"}", A);
	call_start(&c);
	long long start = peer_now_ms();
	while (!hang.accepted && peer_now_ms() - start < 8000)
		pause_ms(5);
	ok(hang.accepted, "the print reaches the hanging printer");
	kill(d.pid, SIGKILL);
	waitpid(d.pid, NULL, 0);
	d.pid = 0;
	pthread_join(c.th, NULL);
	is_int(c.r.status, 0, "the daemon is killed while the printer hangs: no answer");
	resp_free(&c.r);
	peer_stop(&hang);

	is_int(sql_int(t, "SELECT count(*) FROM print_jobs WHERE state = 'pending'"), 1,
	       "the job is left pending");
	is_int(printed(t, A), a0, "  with no event");

	/* The same printer name now reaches a printer that works. */
	snprintf(printers, sizeof(printers), "--printers=slow=tcp://127.0.0.1:%d", port);
	if (!ok(daemon_start(t, &d, extra) == 0, "the daemon restarts"))
		goto out;
	api_at(&d, "GET", "/api/v1/print-jobs?state=pending", tech_token, NULL, &r);
	is_int(r.status, 200, "GET /print-jobs?state=pending");
	is_str(jstr(&r, "items.0.state"), "pending", "  lists the pending job");
	ok(jnum(&r, "items.1.id", 0) == 0, "  and only it");
	snprintf(job, sizeof(job), "%.0f", jnum(&r, "items.0.id", 0));
	ok(jstr(&r, "items.0.retry_after") != NULL, "  saying from when it may be retried");
	resp_free(&r);

	peer_start_on(&p, PEER_RAW, lfd, port);
	http_h(d.url, "POST", "/api/v1/print", tech_token, NULL, c.body, strlen(c.body), key_hdr,
	       &r);
	is_int(r.status, 202, "the keyed request sent again answers 202, the job pending");
	is_str(r.replayed, "true", "  replayed");
	ok(jnum(&r, "job.id", 0) == atof(job), "  the same job");
	resp_free(&r);
	pause_ms(200);
	ok(!p.accepted, "  and nothing is sent to the printer");
	peer_stop(&p);
	peer_free(&p);

	snprintf(path, sizeof(path), "/api/v1/print-jobs/%s/retry", job);
	char sql[160];
	snprintf(sql, sizeof(sql),
	         "SELECT (send_deadline > now() + interval '2 seconds')::int FROM print_jobs"
	         " WHERE id = %s",
	         job);
	if (sql_int(t, sql) == 1) {
		api_at(&d, "POST", path, tech_token, NULL, &r);
		ok(is_problem(&r, 409) && jstr(&r, "code") &&
		       strcmp(jstr(&r, "code"), "print-job-state") == 0,
		   "a retry while the send may still be going on is 409 print-job-state");
		resp_free(&r);
	} else {
		ok(true, "# SKIP the restart outlasted the job's send deadline");
	}
	snprintf(sql, sizeof(sql),
	         "SELECT (send_deadline <= now())::int FROM print_jobs WHERE id = %s", job);
	for (start = peer_now_ms(); sql_int(t, sql) != 1 && peer_now_ms() - start < 30000;)
		pause_ms(200);

	const char *retry_key[] = { "Idempotency-Key: retry-1", NULL };
	peer_start_on(&p, PEER_RAW, lfd, port);
	http_h(d.url, "POST", path, tech_token, NULL, NULL, 0, retry_key, &r);
	peer_stop(&p);
	is_int(r.status, 200, "once the send has surely ended, a retry prints: 200");
	is_str(jstr(&r, "job.state"), "sent", "  the job sent");
	ok(jnum(&r, "job.attempts", 0) == 2, "  at attempt 2");
	is_str(jstr(&r, "events.0.specimen"), A, "  A's label_printed event");
	resp_free(&r);
	ok(p.got.data && occurrences_of(p.got.data, "^XA") == 1, "  the printer got one label");
	peer_free(&p);
	is_int(printed(t, A), a0 + 1, "  exactly one event");

	peer_start_on(&p, PEER_RAW, lfd, port);
	http_h(d.url, "POST", path, tech_token, NULL, NULL, 0, retry_key, &r);
	is_int(r.status, 200, "the keyed retry sent again answers its first answer");
	is_str(r.replayed, "true", "  replayed");
	resp_free(&r);
	api_at(&d, "POST", path, tech_token, NULL, &r);
	ok(is_problem(&r, 409), "another retry is 409 (the job is sent)");
	resp_free(&r);
	pause_ms(200);
	ok(!p.accepted, "  neither reaches the printer");
	peer_stop(&p);
	peer_free(&p);
	is_int(printed(t, A), a0 + 1, "  still exactly one event");

	snprintf(path, sizeof(path), "/api/v1/print-jobs/%s", job);
	api_at(&d, "GET", path, tech_token, NULL, &r);
	ok(r.status == 200 && jstr(&r, "state") && strcmp(jstr(&r, "state"), "sent") == 0 &&
	       jnum(&r, "events.0.seq", 0) > 0,
	   "GET /print-jobs/{id}: sent, naming its event");
	resp_free(&r);
	is_int(daemon_stop(&d), 0, "the daemon stops cleanly");
out:
	if (d.pid > 0)
		daemon_stop(&d);
	peer_free(&hang);
	close(lfd);
}

/*
 * Printers that say (~HS) they cannot print: each is given nothing, the
 * print is 503 printer-not-ready naming the printer and what is wrong, and
 * the job stays pending with that error, retried at once when the printer
 * is ready again. A printer that never answers its status fails the job.
 */
static void
not_ready(struct tenv *t)
{
	static const struct {
		enum peer_hs hs;
		const char *name, *says;
	} st[] = {
		{ HS_PAPER_OUT, "cold-1", "paper out" },
		{ HS_RIBBON_OUT, "cold-2", "ribbon out" },
		{ HS_HEAD_OPEN, "cold-3", "head open" },
		{ HS_PAUSED, "cold-4", "paused" },
		{ HS_SILENT, "mute", "did not answer the status request" },
	};
	enum { N = sizeof(st) / sizeof(st[0]) };
	struct daemon d = { 0 };
	struct peer p;
	struct resp r;
	struct bb_buf spec = { 0 };
	char body[160], path[96], job[32] = "";
	int port[N], lfd[N];

	bb_buf_puts(&spec, "--printers=");
	for (int i = 0; i < N; i++) {
		lfd[i] = listen_socket(&port[i]);
		bb_buf_printf(&spec, "%s%s=tcp://127.0.0.1:%d", i ? "," : "", st[i].name, port[i]);
	}
	const char *extra[] = { spec.data, "--print-timeout=2", NULL };
	if (!ok(daemon_start(t, &d, extra) == 0, "a daemon with five printers that cannot print"))
		goto out;
	long a0 = printed(t, A);
	for (int i = 0; i < N; i++) {
		bool silent = st[i].hs == HS_SILENT;

		peer_start_on_hs(&p, PEER_RAW, st[i].hs, lfd[i], port[i]);
		snprintf(body, sizeof(body), "{\"ids\":[\"%s\"],\"printer\":\"%s\"}", A,
		         st[i].name);
		api_at(&d, "POST", "/api/v1/print", tech_token, body, &r);
		peer_stop(&p);
		if (silent) {
			ok(is_problem(&r, 502) && jstr(&r, "job.state") &&
			       strcmp(jstr(&r, "job.state"), "failed") == 0,
			   "a printer that never answers its status: 502, the job failed");
		} else {
			ok(is_problem(&r, 503), "a printer with %s: 503", st[i].says);
			is_str(jstr(&r, "code"), "printer-not-ready", "  code printer-not-ready");
			is_str(jstr(&r, "job.state"), "pending", "  the job stays pending");
			ok(jstr(&r, "job.retry_after") != NULL, "  which may be retried from %s",
			   jstr(&r, "job.retry_after") ? jstr(&r, "job.retry_after") : "(never)");
		}
		const char *detail = jstr(&r, "detail"), *err = jstr(&r, "job.error");
		ok(detail && strstr(detail, st[i].name) && strstr(detail, st[i].says),
		   "  naming the printer and its state: %s", detail ? detail : "(none)");
		ok(err && strstr(err, st[i].says), "  the job keeps the printer's words: %s",
		   err ? err : "(none)");
		if (i == 0)
			snprintf(job, sizeof(job), "%.0f", jnum(&r, "job.id", 0));
		resp_free(&r);
		is_int((int)p.got.len, 0, "  the printer was given nothing");
		peer_free(&p);
	}
	is_int(printed(t, A), a0, "no label_printed event for any of them");
	api_at(&d, "GET", "/api/v1/print-jobs?state=pending", tech_token, NULL, &r);
	ok(r.status == 200 && jstr(&r, "items.0.error") != NULL,
	   "GET /print-jobs?state=pending lists the waiting jobs with their reason");
	resp_free(&r);

	/* Paper loaded: the first job is retried at once and prints. */
	peer_start_on_hs(&p, PEER_RAW, HS_READY, lfd[0], port[0]);
	snprintf(path, sizeof(path), "/api/v1/print-jobs/%s/retry", job);
	api_at(&d, "POST", path, tech_token, NULL, &r);
	peer_stop(&p);
	ok(r.status == 200 && jstr(&r, "job.state") && strcmp(jstr(&r, "job.state"), "sent") == 0,
	   "once paper is loaded the pending job is retried at once and sent (%ld)",
	   (long)r.status);
	ok(jstr(&r, "job.error") == NULL, "  its error cleared");
	resp_free(&r);
	ok(p.asked_status && p.got.data && strstr(p.got.data, "^XA"),
	   "  the printer was asked its status, then given the labels");
	peer_free(&p);
	is_int(printed(t, A), a0 + 1, "  one label_printed event");
	is_int(daemon_stop(&d), 0, "the daemon stops cleanly");
out:
	if (d.pid > 0)
		daemon_stop(&d);
	for (int i = 0; i < N; i++)
		close(lfd[i]);
	bb_buf_free(&spec);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "print_jobs", argc, argv);
	setup(&t);
	jobs(&t);
	crash_and_retry(&t);
	not_ready(&t);
	hanging_printers(&t);
	tenv_teardown(&t);
	return tap_done();
}
