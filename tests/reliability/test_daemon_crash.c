/*
 * test_daemon_crash.c — one of two daemons killed with SIGKILL under write
 * load: the other keeps serving without a single failure, nothing partial
 * is left in the database (PostgreSQL rolls back the dead daemon's open
 * transactions), and every acknowledged write is there with its event.
 */
#include "load.h"

#include <signal.h>
#include <sys/wait.h>

enum { WRITERS = 8 };

int
main(int argc, char **argv)
{
	struct tenv t;
	struct daemon d2 = { 0 };
	struct writer w[WRITERS];
	atomic_bool stop = false;

	tenv_setup(&t, "dcrash", argc, argv);
	world_make(&t);
	if (!ok(daemon_start(&t, &d2, NULL) == 0, "a second daemon on the same database")) {
		tenv_teardown(&t);
		return tap_done();
	}
	/* Even writers talk to the victim, odd ones to the survivor. */
	const char *urls[2] = { d2.url, t.d.url };
	if (!ok(load_start(&t, w, WRITERS, urls, &stop, NULL), "eight writers on two daemons")) {
		daemon_stop(&d2);
		tenv_teardown(&t);
		return tap_done();
	}
	/* Under load means every writer has been answered a few times. */
	ok(load_wait(w, WRITERS, 0, 1, NULL, 3, false, 120),
	   "every writer has had 3 writes acknowledged");
	int before[WRITERS];
	int status = 0;
	ok(kill(d2.pid, SIGKILL) == 0 && waitpid(d2.pid, &status, 0) == d2.pid &&
	       WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	   "kill -9 one daemon under load");
	d2.pid = 0;
	for (int i = 0; i < WRITERS; i++)
		before[i] = atomic_load(&w[i].nacks);
	/* Then until each of the survivor's writers has been served a few times more. */
	load_wait(w, WRITERS, 1, 2, before, 3, false, 120);
	atomic_store(&stop, true);
	load_join(w, WRITERS);

	int survivor_ok = 0, survivor_failed = 0, victim_ok = 0;
	for (int i = 0; i < WRITERS; i++) {
		if (i % 2) {
			survivor_ok += w[i].nacks - before[i];
			survivor_failed += w[i].unknown;
		} else {
			victim_ok += before[i];
		}
	}
	ok(victim_ok > 0, "the victim had served writes before it died (%d)", victim_ok);
	ok(survivor_ok > 0, "the other daemon kept serving after the kill (%d writes)",
	   survivor_ok);
	is_int(survivor_failed, 0, "  without a single failed request");
	struct resp r;
	api(&t, "GET", "/readyz", NULL, NULL, &r);
	is_int(r.status, 200, "the survivor is ready");
	resp_free(&r);

	/* The victim's connections close with its process; their backends roll back. */
	long open_txn = -1;
	for (double t0 = now_s(); now_s() - t0 < 60 && open_txn != 0; sleep_ms(100))
		open_txn =
		    count_sql(&t, "SELECT count(*) FROM pg_stat_activity WHERE datname ="
		                  " current_database() AND state LIKE 'idle in transaction%'");
	is_int(open_txn, 0, "no transaction of the dead daemon stays open");
	load_check(&t, w, WRITERS, "after the daemon crash");
	check_invariants(&t, "after the daemon crash");
	tenv_teardown(&t);
	return tap_done();
}
