/* test_config.c — biobankd's command line: bad configuration, help, version, user add. */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

static int
run(struct tenv *t, const char *const *args, const char *const *env, const char *input, char **out)
{
	const char *argv[16] = { t->biobankd };
	int n = 1;

	for (int i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return run_cmd(argv, env, input, out);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	char *out;
	char dburl[600];

	tenv_setup(&t, "config", argc, argv);
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t.conninfo);
	const char *env[] = { dburl, NULL };

	const char *bad[] = { "serve",        "--threads=0", "--listen=nowhere", "--log-level=loud",
		              "--frobnicate", NULL };
	is_int(run(&t, bad, NULL, NULL, &out), 2, "bad configuration exits 2 before serving");
	ok(strstr(out, "--threads: \"0\" is not a whole number from 1 to 256") != NULL,
	   "  naming the bad thread count");
	ok(strstr(out, "listen: \"nowhere\" is not HOST:PORT") != NULL, "  the bad address");
	ok(strstr(out, "--log-level: \"loud\"") != NULL, "  the bad log level");
	ok(strstr(out, "--frobnicate: unknown option") != NULL, "  the unknown option");
	ok(strstr(out, "4 configuration problems") != NULL, "  and counting them all (%s)", out);
	free(out);

	const char *envbad[] = { "BIOBANK_THREADS=many", NULL };
	const char *serve[] = { "serve", NULL };
	is_int(run(&t, serve, envbad, NULL, &out), 2, "a bad environment variable exits 2");
	ok(strstr(out, "BIOBANK_THREADS: \"many\"") != NULL, "  naming the variable");
	free(out);

	const char *remote[] = { "serve", "--listen", "192.0.2.10:8443", NULL };
	is_int(run(&t, remote, NULL, NULL, &out), 2,
	       "plain HTTP on a non-loopback address is refused");
	ok(strstr(out, "not a loopback address") != NULL, "  saying why");
	free(out);

	const char *nokey[] = { "serve", "--tls-cert", "/nonexistent/cert.pem", NULL };
	is_int(run(&t, nokey, NULL, NULL, &out), 2, "a certificate without a key is refused");
	ok(strstr(out, "tls_cert and tls_key must be given together") != NULL &&
	       strstr(out, "cannot read /nonexistent/cert.pem") != NULL,
	   "  with both problems named");
	free(out);

	/* The site's zone, mistyped or aimed at a file outside the tz database. */
	const char *tzbad[] = { "serve", "--timezone", "Europe/Pairs", NULL };
	is_int(run(&t, tzbad, env, NULL, &out), 2, "a mistyped time zone exits 2 before serving");
	ok(strstr(out, "timezone: Europe/Pairs is not in the tz database") != NULL,
	   "  naming it (%s)", out);
	free(out);
	const char *tzpath[] = { "serve", "--timezone", "../../../etc/passwd", NULL };
	is_int(run(&t, tzpath, env, NULL, &out), 2, "a path as a time zone exits 2");
	ok(strstr(out, "is not a time zone name such as Europe/Paris") != NULL, "  saying so");
	free(out);
	const char *tzdir[] = { "serve", "--timezone", "Europe", NULL };
	is_int(run(&t, tzdir, env, NULL, &out), 2, "a region folder is not a time zone");
	free(out);
	const char *tzgood[] = { "config", "--timezone", "Asia/Shanghai", NULL };
	is_int(run(&t, tzgood, env, NULL, &out), 0, "a real zone is taken");
	ok(strstr(out, "timezone = Asia/Shanghai") != NULL, "  and shown by biobankd config");
	free(out);

	/* An operator who types the settings first: biobankd --listen X serve. */
	const char *before[] = { "--threads",
		                 "5",
		                 "--allow-plain-http",
		                 "--log-level=debug",
		                 "config",
		                 "--long-workers",
		                 "3",
		                 NULL };
	is_int(run(&t, before, env, NULL, &out), 0, "settings before the command are read");
	ok(strstr(out, "threads = 5") != NULL && strstr(out, "allow_plain_http = true") != NULL &&
	       strstr(out, "log_level = debug") != NULL && strstr(out, "long_workers = 3") != NULL,
	   "  every one, before and after it");
	free(out);
	const char *badfirst[] = { "--threads", "0", "serve", NULL };
	is_int(run(&t, badfirst, env, NULL, &out), 2, "a bad setting before the command exits 2");
	ok(strstr(out, "--threads: \"0\"") != NULL, "  naming it");
	free(out);
	const char *nocmd[] = { "--listen", "127.0.0.1:1", NULL };
	is_int(run(&t, nocmd, env, NULL, &out), 2, "settings and no command: exit 2");
	ok(strstr(out, "no command after the options") != NULL, "  saying so");
	free(out);

	const char *show[] = { "config", "--threads", "3", NULL };
	is_int(run(&t, show, env, NULL, &out), 0, "biobankd config prints the configuration");
	ok(strstr(out, "threads = 3") != NULL, "  with flags applied");
	ok(strstr(out, "database_url = (set, hidden)") != NULL, "  and secrets hidden");
	free(out);

	const char *version[] = { "--version", NULL };
	is_int(run(&t, version, NULL, NULL, &out), 0, "--version exits 0");
	ok(strncmp(out, "biobankd ", 9) == 0, "  and prints the version");
	free(out);

	const char *help[] = { "--help", NULL };
	is_int(run(&t, help, NULL, NULL, &out), 0, "--help exits 0");
	ok(strstr(out, "--listen") != NULL && strstr(out, "BIOBANK_DATABASE_URL") != NULL,
	   "  and documents flags and variables");
	free(out);

	const char *unknown[] = { "frobnicate", NULL };
	is_int(run(&t, unknown, NULL, NULL, &out), 2, "an unknown command exits 2");
	free(out);

	const char *norole[] = { "user", "add", "bob", NULL };
	is_int(run(&t, norole, env, "long-enough-password\n", &out), 2,
	       "user add without --role exits 2");
	free(out);
	const char *add[] = { "user", "add", "--role", "manager", "bob", NULL };
	is_int(run(&t, add, env, "short\n", &out), 2, "user add with a short password exits 2");
	free(out);
	is_int(run(&t, add, env, "long-enough-password\n", &out), 0, "user add creates a manager");
	free(out);
	is_int(run(&t, add, env, "long-enough-password\n", &out), 1,
	       "adding the same user again exits 1");
	ok(strstr(out, "already exists") != NULL, "  saying it exists");
	free(out);
	char token[128];
	is_int(login(&t, "bob", "long-enough-password", token), 0,
	       "the user made on the command line logs in");
	const char *nostudy[] = { "user",    "add",  "--role", "auditor",
		                  "--study", "NOPE", "carol",  NULL };
	is_int(run(&t, nostudy, env, "long-enough-password\n", &out), 1,
	       "user add with an unknown study exits 1");
	free(out);
	bool ok_sql;
	char *n = sql_value(&t, "SELECT count(*) FROM users WHERE username = 'carol'", &ok_sql);
	is_str(n, "0", "  and leaves no user behind");
	free(n);

	tenv_teardown(&t);
	return tap_done();
}
