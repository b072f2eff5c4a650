/*
 * test_storm.c — races across daemons: two biobankd processes on one
 * database, sixteen clients storing, moving, checking out and returning
 * thirty-two tubes in the same forty positions of two boxes at random
 * (storm.h). Afterwards no position holds two tubes, every 2xx answer left
 * exactly one event of its kind, the thaw counts add up and every chain
 * verifies. (tests/api/test_race.c covers store and move with eight
 * clients; test_pgbouncer.c runs the same race through PgBouncer.)
 */
#include "storm.h"

int
main(int argc, char **argv)
{
	struct tenv t;
	struct daemon d2 = { 0 };

	tenv_setup(&t, "storm", argc, argv);
	world_make(&t);
	if (!storm_register(&t)) {
		tenv_teardown(&t);
		return tap_done();
	}
	if (!ok(daemon_start(&t, &d2, NULL) == 0, "a second daemon on the same database")) {
		tenv_teardown(&t);
		return tap_done();
	}
	storm_run(&t, t.d.url, d2.url, "over two daemons");
	check_invariants(&t, "after the storm");
	is_int(daemon_stop(&d2), 0, "the second daemon stops cleanly");
	tenv_teardown(&t);
	return tap_done();
}
