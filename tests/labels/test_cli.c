/*
 * test_cli.c — the printer transports and the labelgen command, black-box:
 * loopback peers take the bytes over raw TCP and HTTP POST, misbehave (refuse,
 * hang, reset) and answer 401; the command runs as a separate process on
 * offline input. The fetch and print recording against a real biobankd are
 * the API suite's.
 */
#define _GNU_SOURCE /* strcasestr in listener.h */
#include "harness.h"
#include "label.h"
#include "listener.h"
#include "util.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/stat.h>
#include <time.h>

static const char *labelgen;
static char *dir;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The longest one labelgen run may take before it is killed (exit 124): a
 * hang fails its check instead of stalling the whole program. */
enum { CLI_LIMIT_S = 120 };

/* Runs labelgen with args through the shell; returns its exit status and
 * sets *out to what it printed on both streams. */
__attribute__((format(printf, 2, 3))) static int
cli(char **out, const char *fmt, ...)
{
	char args[2048];
	va_list ap;
	char *res, *rc;
	int status;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	res = run_capture("cd '%s' && timeout -k 5 %d '%s' %s 2>&1; echo \"rc=$?\"", dir,
	                  CLI_LIMIT_S, labelgen, args);
	rc = strrchr(res, '=');
	status = rc ? atoi(rc + 1) : -1;
	if (rc)
		rc[-2] = '\0'; /* drop "rc=N": what labelgen printed stays byte for byte */
	*out = res;
	return status;
}

static bool
exists(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/*
 * A printer that stops answering must make the send fail after the timeout,
 * not before and not much later. "Much later" is generous: the tests share
 * two cores with the sanitizers and other suites, and what matters is that
 * the send gives up at all; the slack is still half the 60 s timeout that
 * "at once" is told apart from.
 */
enum { HANG_TIMEOUT_MS = 1000, SLACK_S = 30 };

static bool
within_timeout(double elapsed, int timeout_ms)
{
	return elapsed >= timeout_ms / 1000.0 - 0.05 && elapsed < timeout_ms / 1000.0 + SLACK_S;
}

static void
test_transports(void)
{
	const char *zpl = "^XA^FDhello^FS^XZ\n";
	char why[LBL_WHY_MAX], uri[128];
	struct peer p;
	double t0, dt;

	peer_start(&p, PEER_RAW);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", p.port);
	is_int(lbl_printer_send(uri, zpl, strlen(zpl), 10000, why), BB_OK, "raw TCP send succeeds");
	peer_stop(&p);
	is_str(p.got.data, zpl, "the raw TCP printer received exactly the bytes");
	peer_free(&p);

	peer_start(&p, PEER_HTTP_OK);
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/pstprnt", p.port);
	is_int(lbl_printer_send(uri, zpl, strlen(zpl), 10000, why), BB_OK, "HTTP POST succeeds");
	peer_stop(&p);
	is_str(p.request_line, "POST /pstprnt HTTP/1.1", "it is a POST to the printer's path");
	is_str(p.got.data, zpl, "the HTTP printer received exactly the bytes");
	peer_free(&p);

	/* A long timeout: failing well before it shows the send did not wait. */
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", peer_dead_port());
	t0 = now_s();
	is_int(lbl_printer_send(uri, zpl, strlen(zpl), 60000, why), BB_EIO,
	       "a printer that refuses fails");
	dt = now_s() - t0;
	ok(strstr(why, "refused") != NULL && dt < SLACK_S,
	   "  at once (%.2f s, timeout 60 s), saying so: %s", dt, why);

	peer_start(&p, PEER_HANG);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", p.port);
	t0 = now_s();
	is_int(lbl_printer_send(uri, zpl, strlen(zpl), HANG_TIMEOUT_MS, why), BB_EIO,
	       "a printer that hangs fails");
	dt = now_s() - t0;
	ok(within_timeout(dt, HANG_TIMEOUT_MS) && strstr(why, "status request") != NULL,
	   "  after the timeout (%.2f s for %d ms), at its status: %s", dt, HANG_TIMEOUT_MS, why);
	peer_free(&p);

	/* Without the status request, the hang shows when the job is not confirmed. */
	peer_start(&p, PEER_HANG);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d?status=off", p.port);
	t0 = now_s();
	is_int(lbl_printer_send(uri, zpl, strlen(zpl), HANG_TIMEOUT_MS, why), BB_EIO,
	       "a printer that hangs fails (?status=off)");
	dt = now_s() - t0;
	ok(within_timeout(dt, HANG_TIMEOUT_MS) && strstr(why, "did not confirm") != NULL,
	   "  after the timeout (%.2f s for %d ms), saying so: %s", dt, HANG_TIMEOUT_MS, why);
	peer_free(&p);

	peer_start(&p, PEER_HANG);
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/pstprnt", p.port);
	t0 = now_s();
	is_int(lbl_printer_send(uri, zpl, strlen(zpl), HANG_TIMEOUT_MS, why), BB_EIO,
	       "an HTTP printer that hangs fails");
	dt = now_s() - t0;
	ok(within_timeout(dt, HANG_TIMEOUT_MS) && strstr(why, "timed out") != NULL,
	   "  after the timeout (%.2f s for %d ms), saying so: %s", dt, HANG_TIMEOUT_MS, why);
	peer_free(&p);

	peer_start(&p, PEER_CLOSE_EARLY);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", p.port);
	is_int(lbl_printer_send(uri, zpl, strlen(zpl), 10000, why), BB_EIO,
	       "a printer that closes early fails");
	ok(why[0] != '\0', "  saying so: %s", why);
	peer_free(&p);

	peer_start(&p, PEER_HTTP_401);
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/pstprnt", p.port);
	is_int(lbl_printer_send(uri, zpl, strlen(zpl), 10000, why), BB_EIO,
	       "an HTTP printer answering 401 fails");
	ok(strstr(why, "HTTP 401") != NULL, "  saying so: %s", why);
	peer_free(&p);

	char path[512], *got;
	snprintf(uri, sizeof(uri), "file:%s/printed.zpl", dir);
	snprintf(path, sizeof(path), "%s/printed.zpl", dir);
	is_int(lbl_printer_send(uri, zpl, strlen(zpl), 10000, why), BB_OK, "file: send succeeds");
	bb_read_file(path, &got, NULL);
	is_str(got, zpl, "the file holds exactly the bytes");
	free(got);
	is_int(lbl_printer_send("lpd://x", zpl, 3, 100, why), BB_EINVAL, "unknown scheme: %s", why);
}

static void
test_cli_offline(void)
{
	char path[512], *out, *zpl;
	int rc;

	snprintf(path, sizeof(path), "%s/in.csv", dir);
	const char *csv = "id,tube_barcode,type,participant,timepoint,collected_at\r\n"
	                  "KRVQKEB8,,serum,Müller-Lyon,baseline,2024-03-05T09:30:00Z\r\n"
	                  "\"7HQF6WPE\",T1,plasma,\"MASC ^ ~ 0042\",m12,2024-03-06\r\n";
	write_file(path, csv, strlen(csv));

	rc = cli(&zpl, "--input in.csv --template box-2x1in");
	is_int(rc, 0, "CSV to ZPL on standard output%s%s", rc ? ": " : "", rc ? zpl : "");
	ok(strstr(zpl, "^FDKRVQKEB8^FS") && strstr(zpl, "^FD7HQF6WPE^FS"),
	   "  holds both labels' DataMatrix fields");
	ok(strstr(zpl, "MASC _5E _7E 0042") != NULL, "  with ^ and ~ escaped for ^FH");
	ok(strstr(zpl, "2024-03-05^FS") != NULL, "  and the collection date, not the timestamp");

	rc = cli(&out, "--input in.csv --output labels/ --format png --dpi 300");
	is_int(rc, 0, "CSV to a directory of PNGs: %s", out);
	free(out);
	out = run_capture("dmtxread -n -N1 -m 20000 '%s/labels/7HQF6WPE.png' 2>/dev/null", dir);
	is_str(out, "7HQF6WPE", "  one file per label, named by ID, that dmtxread reads");
	free(out);

	rc = cli(&out, "--input in.csv --output sheet.pdf --template a4-cryo-4x20 --copies 2");
	is_int(rc, 0, "CSV to an A4 sheet PDF: %s", out);
	free(out);
	out = run_capture("head -c 5 '%s/sheet.pdf'", dir);
	is_str(out, "%PDF-", "  which is a PDF");
	free(out);
	rc = cli(&out, "--input in.csv --output sheet.png --template a4-cryo-4x20");
	ok(rc == 1 && strstr(out, "is a sheet: it prints as PDF only") != NULL,
	   "a sheet template asked for as PNG: a wrong option, exit 1 as the man page says (%d)",
	   rc);
	free(out);
	rc = cli(&out, "--input in.csv --template a4-cryo-4x20 --format zpl");
	is_int(rc, 1, "  as ZPL too");
	free(out);

	struct peer p;
	peer_start(&p, PEER_RAW);
	rc = cli(&out, "--input in.csv --template box-2x1in --printer tcp://127.0.0.1:%d", p.port);
	peer_stop(&p);
	is_int(rc, 0, "printing to a raw TCP printer: %s", out);
	free(out);
	is_str(p.got.data, zpl, "  the printer received exactly the ZPL written to stdout");
	peer_free(&p);

	snprintf(path, sizeof(path), "%s/printers.conf", dir);
	peer_start(&p, PEER_HTTP_OK);
	char *conf =
	    bb_asprintf("# bench printers\nbench-1  http://127.0.0.1:%d/pstprnt\n", p.port);
	write_file(path, conf, strlen(conf));
	free(conf);
	rc = cli(&out,
	         "--input in.csv --template box-2x1in --printers printers.conf --printer bench-1");
	peer_stop(&p);
	is_int(rc, 0, "printing to a named HTTP printer: %s", out);
	free(out);
	is_str(p.got.data, zpl, "  the printer received exactly the ZPL as the POST body");
	peer_free(&p);
	free(zpl);

	rc = cli(&out, "--input in.csv --printer tcp://127.0.0.1:%d --timeout 1", peer_dead_port());
	ok(rc == 4 && strstr(out, "refused"), "a refusing printer: exit 4 and why: %s", out);
	free(out);
	rc = cli(&out, "--input in.csv --printers printers.conf --printer nosuch");
	ok(rc == 1 && strstr(out, "no printer named \"nosuch\""), "an unknown printer name: %s",
	   out);
	free(out);
}

static void
test_cli_bad_input(void)
{
	char path[512], *out;
	int rc;

	rc = cli(&out, "--input in.csv --template cryo-9x9in --output bad1.zpl");
	ok(rc == 1 && strstr(out, "unknown template \"cryo-9x9in\""), "unknown template: %s", out);
	ok(!exists("bad1.zpl"), "  and no output file");
	free(out);

	snprintf(path, sizeof(path), "%s/badutf.csv", dir);
	write_file(path, "id,participant\nKRVQKEB8,M\xC3\x28ller\n", 29);
	rc = cli(&out, "--input badutf.csv --output bad2.png");
	ok(rc == 3 && strstr(out, "not valid UTF-8"), "invalid UTF-8: exit 3: %s", out);
	ok(!exists("bad2.png"), "  and no output file");
	free(out);

	snprintf(path, sizeof(path), "%s/badid.csv", dir);
	write_file(path, "id\nKRVQKEB8\nKRVQKEB9\n", 21);
	rc = cli(&out, "--input badid.csv --output bad3.zpl");
	ok(rc == 1 && strstr(out, "badid.csv:3") && strstr(out, "KRVQKEB9"),
	   "a wrong check character names file, line and ID: %s", out);
	ok(!exists("bad3.zpl"), "  and no output file");
	free(out);

	snprintf(path, sizeof(path), "%s/empty.csv", dir);
	write_file(path, "id,type\n", 8);
	rc = cli(&out, "--input empty.csv");
	ok(rc == 1 && strstr(out, "no labels"), "an empty file: %s", out);
	free(out);
	rc = cli(&out, "--server http://127.0.0.1:1 </dev/null");
	ok(rc == 1 && strstr(out, "no specimen IDs"), "no IDs on standard input: %s", out);
	free(out);
	rc = cli(&out, "--input in.csv --format png");
	ok(rc == 1 && strstr(out, "directory"), "several PNGs to standard output: %s", out);
	free(out);
	rc = cli(&out, "--input in.csv --dpi 150");
	ok(rc == 1 && strstr(out, "--dpi 150"), "an unsupported resolution: %s", out);
	free(out);
}

static void
test_cli_server(void)
{
	struct peer p;
	char *out;
	int rc;

	rc = cli(&out, "--server http://127.0.0.1:%d KRVQKEB8 </dev/null", peer_dead_port());
	ok(rc == 1 && strstr(out, "no token"), "no token: %s", out);
	free(out);
	rc = cli(&out, "--server http://127.0.0.1:%d --token-file /nonexistent KRVQKEB8",
	         peer_dead_port());
	ok(rc == 1 && strstr(out, "/nonexistent"), "an unreadable token file: %s", out);
	free(out);
	rc = cli(&out, "--server http://127.0.0.1:%d KRVQKEB8 --output down.zpl", peer_dead_port());
	(void)rc;
	free(out);
	setenv("BIOBANK_TOKEN", "t0ken", 1);
	rc = cli(&out, "--server http://127.0.0.1:%d --output down.zpl KRVQKEB8", peer_dead_port());
	ok(rc == 2 && strstr(out, "cannot reach"), "server down: exit 2: %s", out);
	ok(!exists("down.zpl"), "  and no output file");
	free(out);

	peer_start(&p, PEER_HTTP_401);
	rc =
	    cli(&out, "--server http://127.0.0.1:%d --output denied.zpl KRVQKEB8 7HQF6WPE", p.port);
	peer_stop(&p);
	ok(rc == 2 && strstr(out, "refused the token (401): bad"),
	   "bad token: exit 2 with the problem detail: %s", out);
	ok(!exists("denied.zpl"), "  and no output file");
	is_str(p.request_line, "GET /api/v1/labels?ids=KRVQKEB8,7HQF6WPE HTTP/1.1",
	       "  the request asked for both IDs");
	peer_free(&p);
	free(out);

	rc = cli(&out, "--server http://127.0.0.1:1 KRVQKEB7");
	ok(rc == 1 && strstr(out, "KRVQKEB7"), "a mistyped ID is refused before any request: %s",
	   out);
	free(out);
	unsetenv("BIOBANK_TOKEN");
}

/* A listening socket on an IPv4 address of this machine that is not loopback; -1 when it has none.
 */
static int
outside_socket(char addr[INET_ADDRSTRLEN], int *port)
{
	struct ifaddrs *ifs, *i;
	int fd = -1;

	if (getifaddrs(&ifs) != 0)
		return -1;
	for (i = ifs; i != NULL && fd < 0; i = i->ifa_next) {
		struct sockaddr_in a;
		socklen_t len = sizeof(a);

		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
			continue;
		memcpy(&a, i->ifa_addr, sizeof(a));
		if ((ntohl(a.sin_addr.s_addr) >> 24) == 127)
			continue;
		a.sin_port = 0;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
			if (fd >= 0)
				close(fd);
			fd = -1;
			continue;
		}
		inet_ntop(AF_INET, &a.sin_addr, addr, INET_ADDRSTRLEN);
		*port = ntohs(a.sin_port);
	}
	freeifaddrs(ifs);
	return fd;
}

/*
 * The bearer token goes over plain HTTP only to this machine (127.0.0.0/8,
 * ::1, localhost): to anything else labelgen refuses before connecting and
 * says why, unless --allow-plain-http. Checked with a peer on this machine's
 * own network address, which labelgen must not reach, and with names that
 * need no network at all (.invalid never resolves).
 */
static void
test_plain_http(void)
{
	char addr[INET_ADDRSTRLEN], *out;
	int port = 0, lfd = outside_socket(addr, &port), dead = peer_dead_port(), rc;
	struct peer p;

	setenv("BIOBANK_TOKEN", "t0ken", 1);
	rc = cli(&out, "--server http://labels.example.invalid --output plain.zpl KRVQKEB8");
	ok(rc == 1 && strstr(out, "plain HTTP") && strstr(out, "--allow-plain-http") &&
	       strstr(out, "labels.example.invalid"),
	   "http:// to another machine: refused with the reason and the way out: %s", out);
	ok(!exists("plain.zpl"), "  and no output file");
	free(out);
	static const char *const others[] = {
		"HTTP://labels.example.invalid",
		"labels.example.invalid:8080",
		"http://127.0.0.1@labels.example.invalid/",
		"http://127.0.0.1.example.invalid",
		"http://localhost.example.invalid",
		"http://192.0.2.1:8080",
		"http://[fd00::1]:8080",
	};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		rc = cli(&out, "--server '%s' --timeout 2 KRVQKEB8", others[i]);
		ok(rc == 1 && strstr(out, "plain HTTP"), "  refused too: %s (%d)", others[i], rc);
		free(out);
	}
	static const char *const loopback[] = {
		"http://localhost", "http://LOCALHOST", "http://127.0.0.1",
		"http://127.9.8.7", "http://[::1]",
	};
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		char url[64];

		snprintf(url, sizeof(url), "%s:%d", loopback[i], dead);
		rc = cli(&out, "--server '%s' KRVQKEB8", url);
		ok(rc == 2 && strstr(out, "plain HTTP") == NULL,
		   "loopback %s is allowed (nothing listens there: exit 2)", url);
		free(out);
	}
	rc = cli(&out, "--server https://labels.example.invalid --timeout 2 KRVQKEB8");
	ok(rc == 2 && strstr(out, "cannot reach") && strstr(out, "plain HTTP") == NULL,
	   "https:// to another machine is tried: %s", out);
	free(out);

	if (lfd < 0) {
		tap_diag("no non-loopback IPv4 address here: the peer checks are left out");
		unsetenv("BIOBANK_TOKEN");
		return;
	}
	peer_start_on(&p, PEER_HTTP_401, lfd, port);
	rc = cli(&out, "--server http://%s:%d KRVQKEB8", addr, port);
	peer_stop(&p);
	ok(rc == 1 && strstr(out, "plain HTTP"), "http://%s (this machine's network address): %s",
	   addr, out);
	ok(!p.accepted, "  labelgen never connected: the token did not leave");
	peer_free(&p);
	free(out);

	peer_start_on(&p, PEER_HTTP_401, lfd, port);
	rc = cli(&out, "--server http://%s:%d --allow-plain-http KRVQKEB8", addr, port);
	peer_stop(&p);
	ok(rc == 2 && strstr(out, "refused the token (401)"),
	   "with --allow-plain-http the request is made: %s", out);
	ok(p.accepted && strcmp(p.request_line, "GET /api/v1/labels?ids=KRVQKEB8 HTTP/1.1") == 0,
	   "  the peer got it (%s)", p.request_line);
	peer_free(&p);
	free(out);
	close(lfd);
	unsetenv("BIOBANK_TOKEN");
}

/*
 * Label data made offline, dated in the site's zone: a collection at 17:30
 * UTC on 1 March is 2 March in Shanghai, and the label says so where it has
 * room; without --timezone the time prints as its own date.
 */
static void
test_timezone(void)
{
	char path[512], *out;
	int rc;

	snprintf(path, sizeof(path), "%s/tz.csv", dir);
	const char *csv = "id,participant,collected_at\nKRVQKEB8,MASC/0042,2026-03-01T17:30:00Z\n"
	                  "7HQF6WPE,MASC/0043,2026-03-02T01:30:00+08:00\n";
	write_file(path, csv, strlen(csv));
	rc = cli(&out, "--input tz.csv --template box-2x1in --timezone Asia/Shanghai");
	is_int(rc, 0, "--timezone Asia/Shanghai");
	ok(strstr(out, "^FD2026-03-02 Asia/Shanghai^FS") || strstr(out, "^FD2026-03-02 UTC+8^FS"),
	   "  17:30 UTC on 1 March is dated 2 March, naming the zone");
	ok(!strstr(out, "2026-03-01"), "  the other tube (given with its offset) too");
	free(out);
	rc = cli(&out, "--input tz.csv --template box-2x1in");
	ok(rc == 0 && strstr(out, "^FD2026-03-01^FS"), "without --timezone, the time's own date");
	free(out);
	rc = cli(&out, "--input tz.csv --timezone Mars/Olympus_Mons");
	ok(rc == 1 && strstr(out, "Mars/Olympus_Mons") && strstr(out, "tz database"),
	   "an unknown zone: exit 1: %s", out);
	free(out);
	rc = cli(&out, "--input tz.csv --timezone ../../etc/passwd");
	ok(rc == 1 && strstr(out, "not a time zone name"), "a path is no zone: %s", out);
	free(out);
}

/* usage() and the man page's SYNOPSIS are one text. */
static void
test_usage(void)
{
	const char *src = getenv("LBL_TEST_SRCDIR");
	char *help, *syn;

	cli(&help, "--help");
	for (size_t n = strlen(help); n > 0 && help[n - 1] == '\n'; n--)
		help[n - 1] = '\0';
	syn = run_capture("sed -n '/^.SH SYNOPSIS/,/^.fi/p' '%s/../../docs/labelgen.1' | "
	                  "sed '1,2d;$d' | sed 's/\\\\-/-/g'",
	                  src ? src : ".");
	ok(strncmp(help, "usage:\n", 7) == 0, "--help prints the usage");
	is_str(help + (strncmp(help, "usage:\n", 7) == 0 ? 7 : 0), syn,
	       "usage() is the SYNOPSIS of docs/labelgen.1");
	free(help);
	free(syn);
}

int
main(void)
{
	labelgen = getenv("LABELGEN");
	if (labelgen == NULL || access(labelgen, X_OK) != 0)
		tap_skip_all("LABELGEN does not name the labelgen binary");
	unsetenv("BIOBANK_SERVER");
	unsetenv("BIOBANK_TOKEN");
	dir = scratch_dir();
	test_usage();
	test_transports();
	test_cli_offline();
	test_cli_bad_input();
	test_timezone();
	test_cli_server();
	test_plain_http();
	remove_dir(dir);
	free(dir);
	return tap_done();
}
