/*
 * test_resilience.c — the daemon when PostgreSQL goes away and comes back,
 * and a graceful shutdown with a request in flight. Stops the shared
 * cluster, so meson runs it alone.
 */
#include "testlib.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
pgctl(const char *action)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", getenv("BIOBANK_TEST_PGCTL"), action);
	return system(cmd);
}

static void
database_outage(struct tenv *t)
{
	struct resp r;

	if (!ok(pgctl("stop -m fast") == 0, "PostgreSQL stopped"))
		return;
	double t0 = now_s();
	api(t, "GET", "/readyz", NULL, NULL, &r);
	double took = now_s() - t0;
	ok(is_problem(&r, 503), "/readyz answers 503 while the database is down");
	/* What must be bounded: no wait on a database that is not there (a connect
	 * timeout, a pool wait). Generous for a busy machine under the sanitizers. */
	ok(took < 10.0, "  without waiting for the database (%.3f s)", took);
	resp_free(&r);

	t0 = now_s();
	api(t, "GET", "/api/v1/users", t->admin_token, NULL, &r);
	took = now_s() - t0;
	ok(is_problem(&r, 503), "a request that needs the database answers 503");
	ok(took < 10.0, "  without waiting for the database (%.3f s)", took);
	ok(atoi(r.retry_after) > 0, "  with Retry-After");
	resp_free(&r);

	api(t, "POST", "/api/v1/sessions", NULL,
	    "{\"username\":\"admin\",\"password\":\"admin-password\"}", &r);
	ok(is_problem(&r, 503), "a login answers 503, not 401");
	resp_free(&r);

	api(t, "GET", "/healthz", NULL, NULL, &r);
	is_int(r.status, 200, "/healthz still answers 200: the process serves");
	resp_free(&r);

	if (!ok(pgctl("start") == 0, "PostgreSQL started again"))
		return;
	long status = 0;
	t0 = now_s();
	while (now_s() - t0 < 60 && status != 200) {
		api(t, "GET", "/readyz", NULL, NULL, &r);
		status = r.status;
		resp_free(&r);
		if (status != 200)
			usleep(100 * 1000);
	}
	is_int(status, 200, "/readyz is 200 again without restarting the daemon (%.2f s)",
	       now_s() - t0);
	/* Every pooled connection was broken by the restart: each must reconnect, none may fail. */
	int good = 0;
	for (int i = 0; i < 20; i++) {
		api(t, "GET", "/api/v1/users", t->admin_token, NULL, &r);
		good += r.status == 200;
		resp_free(&r);
	}
	is_int(good, 20, "twenty requests after the restart all succeed");
}

static int
connect_to(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* SIGHUP's default action kills; a hang-up or a reflexive "reload" must not stop the daemon. */
static void
hangup(struct tenv *t)
{
	struct resp r = { 0 };

	ok(kill(t->d.pid, SIGHUP) == 0, "SIGHUP sent to the running daemon");
	msleep(300);
	ok(waitpid(t->d.pid, NULL, WNOHANG) == 0, "  it is still running");
	is_int(http(t->d.url, "GET", "/healthz", NULL, NULL, NULL, 0, &r) == 0 ? r.status : 0, 200,
	       "  and still answers /healthz");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens", t->admin_token, NULL, &r);
	is_int(r.status, 200, "  and requests that use the database");
	resp_free(&r);
}

static void
graceful_shutdown(struct tenv *t)
{
	struct daemon d = { 0 };
	const char *body = "{\"username\":\"admin\",\"password\":\"admin-password\"}";
	char head[256], reply[2048];

	if (!ok(daemon_start(t, &d, NULL) == 0, "a daemon to stop"))
		return;
	int fd = connect_to(d.port);
	snprintf(head, sizeof(head),
	         "POST /api/v1/sessions HTTP/1.1\r\nHost: localhost\r\n"
	         "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	         strlen(body));
	size_t half = strlen(body) / 2;
	ok(write(fd, head, strlen(head)) > 0 && write(fd, body, half) == (ssize_t)half,
	   "a request is half sent");
	/* SIGTERM once the daemon holds the request: it counts as in flight. */
	bool held = false;
	for (long long deadline = mono_ms() + 30000; !held && mono_ms() < deadline;) {
		struct resp m;

		http(d.url, "GET", "/metrics", t->admin_token, NULL, NULL, 0, &m);
		/* The /metrics request itself is one; the half-sent one makes two. */
		held = m.body != NULL && strstr(m.body, "\nbiobank_requests_in_flight 2\n") != NULL;
		resp_free(&m);
		if (!held)
			msleep(20);
	}
	ok(held, "  and the daemon holds it (biobank_requests_in_flight)");
	kill(d.pid, SIGTERM);
	/* Wait for the state, not for a time: the listening socket closes. */
	int fd2 = -1;
	for (long long deadline = mono_ms() + 30000; mono_ms() < deadline; msleep(20)) {
		fd2 = connect_to(d.port);
		if (fd2 < 0)
			break;
		close(fd2);
	}
	ok(fd2 < 0, "after SIGTERM the daemon accepts no new connections");
	int status;
	ok(waitpid(d.pid, &status, WNOHANG) == 0, "  but waits for the request in flight");
	ok(write(fd, body + half, strlen(body) - half) > 0, "the rest of the request is sent");
	ssize_t n = 0, got;
	while ((got = read(fd, reply + n, sizeof(reply) - 1 - (size_t)n)) > 0)
		n += got;
	reply[n > 0 ? n : 0] = '\0';
	close(fd);
	ok(strncmp(reply, "HTTP/1.1 201", 12) == 0, "the request in flight is answered (%.12s)",
	   reply);
	ok(strstr(reply, "\"token\"") != NULL, "  completely");
	is_int(daemon_stop(&d), 0, "then the daemon exits 0");
}

int
main(int argc, char **argv)
{
	struct tenv t;

	if (getenv("BIOBANK_TEST_PGCTL") == NULL)
		tap_skip_all("BIOBANK_TEST_PGCTL is not set (run through scripts/test)");
	tenv_setup(&t, "resilience", argc, argv);
	hangup(&t);
	database_outage(&t);
	graceful_shutdown(&t);
	tenv_teardown(&t);
	return tap_done();
}
