/*
 * test_flood.c — an anonymous connection flood does not stop the service,
 * and SIGTERM stops it within shutdown_timeout whatever is happening.
 *
 * 1,500 connections from 50 loopback addresses (30 each, under the
 * per-address limit) each send half a request head and then one byte a
 * second, which resets any idle timeout; a closed one is opened again, as
 * an attacker would. Meanwhile a normal client on 127.0.0.1 keeps reading a
 * specimen and /healthz: every request must be answered, with a p99 under
 * one second. Then SIGTERM, during the flood, must stop the daemon within
 * shutdown_timeout; and so must SIGTERM while a request cannot finish (a
 * ledger verification waiting on a lock the test holds): the daemon exits
 * at the timeout, saying what it abandoned.
 */
#include "rawhttp.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

enum {
	ADDRS = 50,
	PER_ADDR = 30, /* under the default per_ip_connections (64) */
	ATTACKERS = ADDRS * PER_ADDR,
	TICK_MS = 250, /* the attacker's loop: each socket gets a byte every 4 ticks */
	RECONNECTS_PER_TICK = 100,
	FLOOD_S = 14, /* how long the normal client is measured under the flood */
	REQUEST_TIMEOUT_MS = 5000,
	SHUTDOWN_S = 4, /* --shutdown-timeout */
	/* After the daemon is done, a sanitized build's exit (LeakSanitizer's
	 * pass) takes seconds more on a busy machine; not the daemon's doing. */
	EXIT_MARGIN_S = 10,
	SAMPLES_MAX = 4096,
};

static const char half_head[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Trickle: ";

enum att_state { ATT_NONE, ATT_CONNECTING, ATT_OPEN };

struct flood {
	int port;
	int fd[ATTACKERS];
	enum att_state st[ATTACKERS];
	atomic_bool stop;
	atomic_long opened, closed_by_server;
};

static void
attacker_addr(int i, char out[32])
{
	snprintf(out, 32, "127.0.0.%d", 10 + i / PER_ADDR);
}

static void
att_close(struct flood *f, int i)
{
	close(f->fd[i]);
	f->fd[i] = -1;
	f->st[i] = ATT_NONE;
}

/* One pass over every socket: connect what is closed (within budget), send
 * the half head once connected, then trickle; notice what the server closed. */
static void
flood_tick(struct flood *f, long tick, int budget)
{
	for (int i = 0; i < ATTACKERS; i++) {
		char src[32], c;

		switch (f->st[i]) {
		case ATT_NONE:
			if (budget <= 0)
				break;
			budget--;
			attacker_addr(i, src);
			if ((f->fd[i] = raw_connect_from(f->port, src)) >= 0)
				f->st[i] = ATT_CONNECTING;
			break;
		case ATT_CONNECTING: {
			struct pollfd p = { f->fd[i], POLLOUT, 0 };
			int err = 0;
			socklen_t len = sizeof(err);

			if (poll(&p, 1, 0) != 1)
				break;
			getsockopt(f->fd[i], SOL_SOCKET, SO_ERROR, &err, &len);
			if (err != 0 || send(f->fd[i], half_head, sizeof(half_head) - 1,
			                     MSG_NOSIGNAL) != (ssize_t)sizeof(half_head) - 1) {
				att_close(f, i);
				break;
			}
			f->st[i] = ATT_OPEN;
			atomic_fetch_add(&f->opened, 1);
			break;
		}
		case ATT_OPEN: {
			ssize_t n = recv(f->fd[i], &c, 1, MSG_DONTWAIT);

			/* An answer (a refusal) or the end: the server is done with it. */
			if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
				atomic_fetch_add(&f->closed_by_server, 1);
				att_close(f, i);
				break;
			}
			if ((tick + i) % 4 == 0 && send(f->fd[i], "a", 1, MSG_NOSIGNAL) != 1) {
				atomic_fetch_add(&f->closed_by_server, 1);
				att_close(f, i);
			}
			break;
		}
		}
	}
}

static void *
flood_run(void *arg)
{
	struct flood *f = arg;

	for (long tick = 0; !atomic_load(&f->stop); tick++) {
		long long t0 = mono_ms();

		/* The first ticks open everything; then reconnect at a bounded rate. */
		flood_tick(f, tick, tick < 4 ? ATTACKERS : RECONNECTS_PER_TICK);
		long long spent = mono_ms() - t0;
		if (spent < TICK_MS)
			msleep((int)(TICK_MS - spent));
	}
	for (int i = 0; i < ATTACKERS; i++)
		if (f->fd[i] >= 0)
			att_close(f, i);
	return NULL;
}

struct measure {
	double lat[SAMPLES_MAX];
	int n, failed;
	char first_failure[160];
};

/* Requests from 127.0.0.1 for secs seconds: a specimen (with the token) and /healthz in turn. */
static void
normal_client(struct tenv *t, const char *tube, int secs, struct measure *m)
{
	char get[512];
	static const char health[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
	                             "Connection: close\r\n\r\n";
	long long end = mono_ms() + secs * 1000LL;

	snprintf(get, sizeof(get),
	         "GET /api/v1/specimens/%s HTTP/1.1\r\nHost: localhost\r\n"
	         "Authorization: Bearer %s\r\nConnection: close\r\n\r\n",
	         tube, t->admin_token);
	m->n = m->failed = 0;
	m->first_failure[0] = '\0';
	for (int i = 0; mono_ms() < end && m->n < SAMPLES_MAX; i++) {
		const char *req = i % 2 ? health : get;
		double t0 = now_s();
		int status = raw_request(t->d.port, "127.0.0.1", req, strlen(req),
		                         REQUEST_TIMEOUT_MS, NULL, 0);

		m->lat[m->n++] = now_s() - t0;
		if (status != 200) {
			if (m->failed++ == 0)
				snprintf(m->first_failure, sizeof(m->first_failure),
				         "%s: status %d after %.1f s",
				         i % 2 ? "/healthz" : "specimen", status, now_s() - t0);
		}
		msleep(20);
	}
}

/* SIGTERM, then wait for the exit: seconds it took, -1 when it did not exit in limit_s. */
static double
stop_timed(struct daemon *d, int limit_s, int *status)
{
	double t0 = now_s();
	int st;

	kill(d->pid, SIGTERM);
	while (now_s() - t0 < limit_s) {
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			return now_s() - t0;
		}
		msleep(10);
	}
	tap_diag("biobankd %d still running %d s after SIGTERM: killing it", d->pid, limit_s);
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
	*status = -1;
	return -1;
}

/* The daemon's own account of how long it took to stop ("stopped in 1.23 s"). */
static double
stopped_in(const struct daemon *d)
{
	const char *const needles[] = { "stopped", " in ", NULL };
	char *lines = daemon_log_lines(d, needles, 100);
	double secs = -1;
	const char *p = lines ? strstr(lines, " in ") : NULL;

	if (p != NULL)
		secs = strtod(p + 4, NULL);
	free(lines);
	return secs;
}

static void
flood_phase(struct tenv *t, const char *tube)
{
	static struct flood f;
	static struct measure base, during;
	pthread_t th;
	int status;

	normal_client(t, tube, 3, &base);
	is_int(base.failed, 0, "without a flood: %d requests answered 200", base.n);
	tap_diag("baseline: p50 %.1f ms, p99 %.1f ms over %d requests",
	         raw_percentile(base.lat, base.n, 50) * 1e3,
	         raw_percentile(base.lat, base.n, 99) * 1e3, base.n);

	f.port = t->d.port;
	for (int i = 0; i < ATTACKERS; i++)
		f.fd[i] = -1;
	pthread_create(&th, NULL, flood_run, &f);
	/* Let the flood take what it can before measuring. */
	for (long long end = mono_ms() + 20000;
	     atomic_load(&f.opened) < ATTACKERS && mono_ms() < end;)
		msleep(50);
	msleep(1000);
	ok(atomic_load(&f.opened) >= ATTACKERS,
	   "%d trickling connections from %d addresses are open", (int)atomic_load(&f.opened),
	   ADDRS);

	normal_client(t, tube, FLOOD_S, &during);
	double p50 = raw_percentile(during.lat, during.n, 50);
	double p99 = raw_percentile(during.lat, during.n, 99);
	double worst = raw_percentile(during.lat, during.n, 100);
	is_int(during.failed, 0,
	       "during the flood: all %d requests of a normal client answered 200", during.n);
	if (during.failed > 0)
		tap_diag("first failure: %s", during.first_failure);
	ok(p99 < 1.0, "  p99 %.3f s is under 1 s (p50 %.1f ms, worst %.1f ms)", p99, p50 * 1e3,
	   worst * 1e3);
	tap_diag("attackers: %ld connections opened, %ld closed by the daemon",
	         atomic_load(&f.opened), atomic_load(&f.closed_by_server));
	/* Each of the first 1,500 outlived the deadline for its head (10 s by default). */
	ok(atomic_load(&f.closed_by_server) >= ATTACKERS,
	   "  the daemon closed at least %d trickling connections", ATTACKERS);

	/* SIGTERM with the flood still on. */
	double took = stop_timed(&t->d, SHUTDOWN_S + EXIT_MARGIN_S, &status);
	ok(took >= 0, "SIGTERM during the flood: biobankd exits (%.2f s)", took);
	double own = stopped_in(&t->d);
	ok(own >= 0 && own <= SHUTDOWN_S,
	   "  and says it stopped within shutdown_timeout (%.2f s <= %d s)", own, SHUTDOWN_S);
	is_int(status, 0, "  with exit status 0: nothing was in flight");
	atomic_store(&f.stop, true);
	pthread_join(th, NULL);
}

struct login_flood {
	int port;
	atomic_bool stop;
	atomic_int answered, unavailable, without_retry_after, other;
	char last_other[96];
};

/* Wrong passwords for an unknown user, until told to stop. */
static void *
login_run(void *arg)
{
	static atomic_int next;
	struct login_flood *lf = arg;
	char req[512], body[96], src[32], out[1024];

	while (!atomic_load(&lf->stop)) {
		/* A new name from a new address each time (127.0.1.1 to 127.0.40.250):
		 * no throttle by account or address stops them, each is hashed. */
		int n = atomic_fetch_add(&next, 1);
		snprintf(src, sizeof(src), "127.0.%d.%d", 1 + n % 10000 / 250, 1 + n % 250);
		snprintf(body, sizeof(body), "{\"username\":\"nobody%d\",\"password\":\"wrong\"}",
		         n);
		snprintf(req, sizeof(req),
		         "POST /api/v1/sessions HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
		         "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		         strlen(body), body);
		int status = raw_request(lf->port, src, req, strlen(req), 30000, out, sizeof(out));

		atomic_fetch_add(&lf->answered, 1);
		if (status == 503) {
			atomic_fetch_add(&lf->unavailable, 1);
			if (strstr(out, "Retry-After: 1\r\n") == NULL)
				atomic_fetch_add(&lf->without_retry_after, 1);
		} else if (status != 401 && status != 429) {
			atomic_fetch_add(&lf->other, 1);
			snprintf(lf->last_other, sizeof(lf->last_other), "%d", status);
		}
	}
	return NULL;
}

/*
 * Anonymous work: a login hashes a password (Argon2id, some 50 ms of a
 * worker). Twenty-four clients keep failing to log in, each attempt with
 * another name from another address so that no throttle stops them; the normal
 * client, with its token, must still be served fast, and the logins
 * beyond half the workers are told to come back.
 */
static void
login_phase(struct tenv *t, const char *tube, const char *const *opts)
{
	enum { LOGGERS = 24, LOGIN_S = 8 };
	static struct login_flood lf;
	static struct measure m;
	pthread_t th[LOGGERS];
	int status;

	if (!ok(daemon_start(t, &t->d, opts) == 0, "a daemon again, for a flood of logins"))
		return;
	lf.port = t->d.port;
	for (int i = 0; i < LOGGERS; i++)
		pthread_create(&th[i], NULL, login_run, &lf);
	msleep(500);
	normal_client(t, tube, LOGIN_S, &m);
	atomic_store(&lf.stop, true);
	for (int i = 0; i < LOGGERS; i++)
		pthread_join(th[i], NULL);
	double p99 = raw_percentile(m.lat, m.n, 99);
	is_int(m.failed, 0,
	       "during %d clients' failing logins: all %d requests with a token answered", LOGGERS,
	       m.n);
	if (m.failed > 0)
		tap_diag("first failure: %s", m.first_failure);
	/* Two hashes at once already take both cores of a small machine: the
	 * tail is CPU. Requests queued behind hashes on every worker (the median
	 * near a second without the cap) are what must not happen. */
	double p50 = raw_percentile(m.lat, m.n, 50);
	ok(p50 < 0.1 && p99 < 2.0, "  p50 %.1f ms is under 100 ms, p99 %.3f s under 2 s", p50 * 1e3,
	   p99);
	ok(atomic_load(&lf.unavailable) > 0,
	   "logins beyond half the workers were told to come back (%d of %d)",
	   atomic_load(&lf.unavailable), atomic_load(&lf.answered));
	is_int(atomic_load(&lf.without_retry_after), 0, "  each with Retry-After: 1");
	is_int(atomic_load(&lf.other), 0, "  every other login was answered 401 or 429");
	if (atomic_load(&lf.other) > 0)
		tap_diag("  last other: %s", lf.last_other);
	ok(stop_timed(&t->d, SHUTDOWN_S + EXIT_MARGIN_S, &status) >= 0 && status == 0,
	   "  and the daemon stops cleanly");
}

/* A verification waiting on a lock the test holds: it cannot finish before the timeout. */
static void
stuck_phase(struct tenv *t, const char *tube, const char *const *opts)
{
	char get[512];
	int status;

	if (!ok(daemon_start(t, &t->d, opts) == 0,
	        "a daemon again, for a request that cannot finish"))
		return;
	/* A read first: the token is cached and one database connection is
	 * prepared, so the verification gets as far as the long-work pool. */
	snprintf(get, sizeof(get),
	         "GET /api/v1/specimens/%s HTTP/1.1\r\nHost: localhost\r\n"
	         "Authorization: Bearer %s\r\nConnection: close\r\n\r\n",
	         tube, t->admin_token);
	is_int(raw_request(t->d.port, NULL, get, strlen(get), 10000, NULL, 0), 200,
	       "  a read warms it up");
	PGconn *pg = PQconnectdb(t->super_conninfo);
	PGresult *res = PQexec(pg, "BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
	ok(PQresultStatus(res) == PGRES_COMMAND_OK, "the test locks the ledger's events");
	PQclear(res);

	snprintf(get, sizeof(get),
	         "GET /api/v1/ledger/verify HTTP/1.1\r\nHost: localhost\r\n"
	         "Authorization: Bearer %s\r\nConnection: close\r\n\r\n",
	         t->admin_token);
	int fd = raw_connect_from(t->d.port, NULL);
	long long deadline = mono_ms() + 5000;
	ok(fd >= 0 && raw_wait(fd, POLLOUT, deadline) &&
	       raw_send_all(fd, get, strlen(get), deadline),
	   "GET /api/v1/ledger/verify is sent");
	/* Wait until its statement waits on the lock (the ledger's sequencer, which
	 * reads events too, may wait beside it: only the verification's scan counts). */
	long waiting = 0;
	for (long long end = mono_ms() + 20000; waiting < 1 && mono_ms() < end; msleep(50))
		waiting =
		    sql_int(t, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
		               "'Lock' AND datname = current_database()"
		               " AND query LIKE '%ledger_head%'");
	is_int(waiting, 1, "  it waits on the lock");

	double took = stop_timed(&t->d, SHUTDOWN_S + EXIT_MARGIN_S, &status);
	ok(took >= 0 && took <= SHUTDOWN_S + 1.0,
	   "SIGTERM with a request that cannot finish: biobankd exits at shutdown_timeout (%.2f s)",
	   took);
	is_int(status, 1, "  with exit status 1: work was abandoned");
	const char *const needles[] = { "abandon",
		                        "1 requests in flight (1 running on the long-work", NULL };
	char *lines = daemon_log_lines(&t->d, needles, 1000);
	if (ok(lines != NULL, "  its log says what it abandoned"))
		tap_diag("%s", lines);
	free(lines);
	if (fd >= 0)
		close(fd);
	PQfinish(pg); /* rolls back: the lock goes */
}

int
main(int argc, char **argv)
{
	struct tenv t;
	char tube[16], opt_sd[64];

	signal(SIGPIPE, SIG_IGN);
	/* The test's 1,500 sockets and the daemon's (it inherits the limit). */
	long nofile = raw_raise_nofile();
	if (nofile < 2 * ATTACKERS + 256) {
		tap_skip_all("RLIMIT_NOFILE is too low for 1,500 connections each way");
		return 0;
	}
	tenv_setup(&t, "flood", argc, argv);
	world_make(&t);
	if (!world_register(&t, "MASC", "P001", "serum", tube)) {
		tenv_teardown(&t);
		return tap_done();
	}
	snprintf(opt_sd, sizeof(opt_sd), "--shutdown-timeout=%d", SHUTDOWN_S);
	const char *opts[] = { opt_sd, NULL };
	daemon_stop(&t.d);
	if (!ok(daemon_start(&t, &t.d, opts) == 0, "a daemon with a %d s shutdown_timeout",
	        SHUTDOWN_S))
		return tap_done();

	flood_phase(&t, tube);
	login_phase(&t, tube, opts);
	stuck_phase(&t, tube, opts);

	/* And without a flood or a stuck request: the teardown's SIGTERM, exit status 0. */
	ok(daemon_start(&t, &t.d, opts) == 0, "a daemon again, for a quiet stop");
	tenv_teardown(&t);
	return tap_done();
}
