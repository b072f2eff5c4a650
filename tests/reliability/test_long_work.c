/*
 * test_long_work.c — no route holds a request worker for long. Sixteen
 * clients run the slowest routes over and over — the whole-ledger check,
 * the inventory report, the CSV export of every specimen, and prints to a
 * printer that never answers — while another client reads /healthz and a
 * specimen: its requests must stay fast. The long routes run a few at a
 * time on the long-work pool; a client it cannot take gets 503 with a
 * Retry-After, and every route still gets its work done.
 */
#include "rawhttp.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

enum {
	SPECIMENS = 8000, /* enough that verifying the ledger holds a worker for a second or more */
	SEED_SESSIONS = 2, /* SPECIMENS is a multiple */
	CLIENTS = 16,
	RUN_S = 12,
	LONG_WORKERS = 2, /* the default */
	LONG_QUEUE = 4,   /* --long-queue: sixteen clients are more than run and wait */
	PRINT_TIMEOUT_S = 2,
	SAMPLES_MAX = 4096,
	REQUEST_TIMEOUT_MS = 15000,
};

enum slow_route { SLOW_VERIFY, SLOW_REPORT, SLOW_EXPORT, SLOW_PRINT, SLOW__MAX };

static const char *const slow_names[SLOW__MAX] = {
	[SLOW_VERIFY] = "GET /api/v1/ledger/verify",
	[SLOW_REPORT] = "GET /api/v1/reports/inventory",
	[SLOW_EXPORT] = "GET /api/v1/specimens (text/csv)",
	[SLOW_PRINT] = "POST /api/v1/print (a printer that never answers)",
};

static struct tenv t;
static char tube[16];
static atomic_bool stop;
static atomic_int done_ok[SLOW__MAX], busy_503[SLOW__MAX], other[SLOW__MAX];
static atomic_int no_retry_after;
static atomic_int most_busy; /* the most long-work slots /metrics showed taken */
static char last_other[256];

/* One slow request; its status (0 when none came in time), Retry-After seen. */
static int
slow_request(enum slow_route k, bool *retry_after)
{
	char req[1024] = "", out[1024];
	const char *body = NULL;
	char print_body[128];

	switch (k) {
	case SLOW_VERIFY:
		snprintf(req, sizeof(req), "GET /api/v1/ledger/verify HTTP/1.1\r\n");
		break;
	case SLOW_REPORT:
		snprintf(req, sizeof(req), "GET /api/v1/reports/inventory HTTP/1.1\r\n");
		break;
	case SLOW_EXPORT:
		snprintf(req, sizeof(req),
		         "GET /api/v1/specimens HTTP/1.1\r\nAccept: text/csv\r\n");
		break;
	case SLOW_PRINT:
	case SLOW__MAX:
		snprintf(print_body, sizeof(print_body), "{\"ids\":[\"%s\"],\"printer\":\"slow\"}",
		         tube);
		body = print_body;
		snprintf(req, sizeof(req),
		         "POST /api/v1/print HTTP/1.1\r\nContent-Type: application/json\r\n"
		         "Content-Length: %zu\r\n",
		         strlen(body));
		break;
	}
	size_t n = strlen(req);
	snprintf(req + n, sizeof(req) - n,
	         "Host: localhost\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n%s",
	         t.admin_token, body ? body : "");
	/* The answer's head is enough; the export's body is read and dropped. */
	int status = raw_request(t.d.port, NULL, req, strlen(req), 120000, out, sizeof(out));
	*retry_after = strstr(out, "Retry-After:") != NULL;
	return status;
}

static void *
slow_client(void *arg)
{
	enum slow_route k = (enum slow_route)(intptr_t)arg;

	while (!atomic_load(&stop)) {
		bool ra;
		int status = slow_request(k, &ra);

		if (status == 200 || (k == SLOW_PRINT && status == 502)) {
			atomic_fetch_add(&done_ok[k],
			                 1); /* 502: the printer timed out, as it must */
		} else if (status == 503) {
			atomic_fetch_add(&busy_503[k], 1);
			if (!ra)
				atomic_fetch_add(&no_retry_after, 1);
			/* A client in a hurry, not the Retry-After it was given; with jitter, as
			 * clients have it, so that no route's clients fall in step behind the
			 * others' and are refused for the whole run. */
			msleep(100 + (int)(arc4random_uniform(200)));
		} else {
			atomic_fetch_add(&other[k], 1);
			snprintf(last_other, sizeof(last_other), "%s: %d", slow_names[k], status);
		}
	}
	return NULL;
}

/* How many long-work slots /metrics says are taken; -1 when it cannot tell. */
static int
long_work_busy(void)
{
	static char out[256 * 1024]; /* every route's histogram comes first */
	char req[512];

	snprintf(req, sizeof(req),
	         "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
	         "Connection: close\r\n\r\n",
	         t.admin_token);
	if (raw_request(t.d.port, NULL, req, strlen(req), REQUEST_TIMEOUT_MS, out, sizeof(out)) !=
	    200)
		return -1;
	const char *p = strstr(out, "biobank_long_work{state=\"busy\"} ");
	return p != NULL ? atoi(p + strlen("biobank_long_work{state=\"busy\"} ")) : -1;
}

struct measure {
	double lat[SAMPLES_MAX];
	int n, failed;
	char first_failure[160];
};

/* /healthz and a specimen in turn for secs seconds; /metrics sampled on the way. */
static void
measure(int secs, struct measure *m, bool sample_metrics)
{
	char get[512];
	static const char health[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
	                             "Connection: close\r\n\r\n";
	long long end = mono_ms() + secs * 1000LL;

	snprintf(get, sizeof(get),
	         "GET /api/v1/specimens/%s HTTP/1.1\r\nHost: localhost\r\n"
	         "Authorization: Bearer %s\r\nConnection: close\r\n\r\n",
	         tube, t.admin_token);
	m->n = m->failed = 0;
	for (int i = 0; mono_ms() < end && m->n < SAMPLES_MAX; i++) {
		const char *req = i % 2 ? health : get;
		double t0 = now_s();
		int status =
		    raw_request(t.d.port, NULL, req, strlen(req), REQUEST_TIMEOUT_MS, NULL, 0);

		m->lat[m->n++] = now_s() - t0;
		if (status != 200 && m->failed++ == 0)
			snprintf(m->first_failure, sizeof(m->first_failure), "%s: %d after %.1f s",
			         i % 2 ? "/healthz" : "specimen", status, now_s() - t0);
		if (sample_metrics && i % 10 == 0) {
			int busy = long_work_busy();
			if (busy > atomic_load(&most_busy))
				atomic_store(&most_busy, busy);
		}
		msleep(20);
	}
}

/* A printer that takes the connection into its queue and never reads a byte. */
static int
silent_printer(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) != 0 || listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

/* A share of the SPECIMENS, registered in one statement; how many were (-1 on failure). */
static void *
seed(void *arg)
{
	char sql[512];

	(void)arg;
	snprintf(sql, sizeof(sql),
	         "SELECT count(bb_specimen_register('MASC', 'P002', 'plasma', 'baseline', now(), 1,"
	         " 'mL', NULL, NULL, 0, NULL, NULL, 'admin', (SELECT id FROM users WHERE username ="
	         " 'admin'))) FROM generate_series(1, %d)",
	         SPECIMENS / SEED_SESSIONS);
	return (void *)(intptr_t)sql_int(&t, sql);
}

int
main(int argc, char **argv)
{
	static struct measure base, during;
	pthread_t th[CLIENTS];
	char opt_printers[96], opt_pt[64], opt_q[64];
	int printer_port = 0;

	signal(SIGPIPE, SIG_IGN);
	tenv_setup(&t, "long_work", argc, argv);
	world_make(&t);
	if (!world_register(&t, "MASC", "P001", "serum", tube)) {
		tenv_teardown(&t);
		return tap_done();
	}
	/* Over SEED_SESSIONS sessions at once: the test runs alone, and one
	 * session would keep one core busy for half a minute with the other idle
	 * (each specimen's chain is its own: the sessions do not wait on each other). */
	double t0 = now_s();
	pthread_t seeders[SEED_SESSIONS];
	long seeded = 0;
	for (int i = 0; i < SEED_SESSIONS; i++)
		pthread_create(&seeders[i], NULL, seed, NULL);
	for (int i = 0; i < SEED_SESSIONS; i++) {
		void *n;

		pthread_join(seeders[i], &n);
		seeded += (long)(intptr_t)n;
	}
	is_int(seeded, SPECIMENS, "%d more specimens registered in SQL (%.1f s, %d sessions)",
	       SPECIMENS, now_s() - t0, SEED_SESSIONS);

	int pfd = silent_printer(&printer_port);
	ok(pfd >= 0, "a printer that never answers");
	snprintf(opt_printers, sizeof(opt_printers), "--printers=slow=tcp://127.0.0.1:%d",
	         printer_port);
	snprintf(opt_pt, sizeof(opt_pt), "--print-timeout=%d", PRINT_TIMEOUT_S);
	snprintf(opt_q, sizeof(opt_q), "--long-queue=%d", LONG_QUEUE);
	const char *opts[] = { opt_printers, opt_pt, opt_q, NULL };
	daemon_stop(&t.d);
	if (!ok(daemon_start(&t, &t.d, opts) == 0,
	        "a daemon with 4 workers, that printer and %d long requests waiting at most",
	        LONG_QUEUE))
		return tap_done();

	/* How long one verification takes alone: what a worker would be held for. */
	bool ra;
	t0 = now_s();
	is_int(slow_request(SLOW_VERIFY, &ra), 200, "the ledger verifies");
	double verify_s = now_s() - t0;
	tap_diag("one verification alone: %.2f s", verify_s);
	measure(2, &base, false);
	tap_diag("baseline: p50 %.1f ms, p99 %.1f ms over %d requests",
	         raw_percentile(base.lat, base.n, 50) * 1e3,
	         raw_percentile(base.lat, base.n, 99) * 1e3, base.n);

	for (int i = 0; i < CLIENTS; i++)
		pthread_create(&th[i], NULL, slow_client, (void *)(intptr_t)(i % SLOW__MAX));
	msleep(500);
	measure(RUN_S, &during, true);
	atomic_store(&stop, true);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(th[i], NULL);

	double p50 = raw_percentile(during.lat, during.n, 50);
	double p99 = raw_percentile(during.lat, during.n, 99);
	double worst = raw_percentile(during.lat, during.n, 100);
	is_int(during.failed, 0, "while %d clients run the slowest routes: %d reads answered 200",
	       CLIENTS, during.n);
	if (during.failed > 0)
		tap_diag("first failure: %s", during.first_failure);
	/* A read queued behind a long request on its worker waits about as long as
	 * that request; one served beside them does not. */
	ok(p99 < 1.0 && p99 < verify_s / 2,
	   "  p99 %.3f s is under 1 s and under half a verification (%.2f s); p50 %.1f ms, worst "
	   "%.1f ms",
	   p99, verify_s / 2, p50 * 1e3, worst * 1e3);
	for (int k = 0; k < SLOW__MAX; k++) {
		ok(atomic_load(&done_ok[k]) > 0, "%s: done %d times, %d times told to come back",
		   slow_names[k], atomic_load(&done_ok[k]), atomic_load(&busy_503[k]));
		is_int(atomic_load(&other[k]), 0, "  and never answered otherwise");
	}
	if (last_other[0] != '\0')
		tap_diag("last other answer: %s", last_other);
	int refused = 0;
	for (int k = 0; k < SLOW__MAX; k++)
		refused += atomic_load(&busy_503[k]);
	ok(refused > 0, "with %d clients and room for %d, some were told to come back (%d)",
	   CLIENTS, LONG_WORKERS + LONG_QUEUE, refused);
	is_int(atomic_load(&no_retry_after), 0, "  every 503 says when (Retry-After)");
	int busy = atomic_load(&most_busy);
	ok(busy >= 1 && busy <= LONG_WORKERS,
	   "at most %d long requests ran at once (/metrics showed %d)", LONG_WORKERS, busy);

	close(pfd);
	tenv_teardown(&t);
	return tap_done();
}
