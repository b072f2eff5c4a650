/*
 * test_status.c — a printer that cannot print says so before it is given a
 * job: a loopback printer speaking ~HS (listener.h) out of paper, out of
 * ribbon, with its head open, paused, answering nonsense or never answering.
 * The library refuses the send, naming what is wrong; labelgen exits 4 (a
 * status scripts retry) naming the printer; nothing reaches the printer.
 */
#define _GNU_SOURCE /* strcasestr in listener.h */
#include "harness.h"
#include "label.h"
#include "../../labelgen/lbl_int.h"
#include "listener.h"
#include "util.h"

#include <time.h>

static const char *labelgen;
static char *dir;

static const struct {
	enum peer_hs hs;
	const char *says;
} states[] = {
	{ HS_PAPER_OUT, "paper out" },
	{ HS_RIBBON_OUT, "ribbon out" },
	{ HS_HEAD_OPEN, "head open" },
	{ HS_PAUSED, "paused" },
};

static void
test_parse(void)
{
	char st[128];
	const char *ready = "\x02"
	                    "030,0,0,0406,000,0,0,0,000,0,0,0\x03\r\n\x02"
	                    "001,0,0,0,1,2,6,0,00000000,1,000\x03\r\n\x02"
	                    "1234,0\x03\r\n";
	const char *everything = "\x02"
	                         "030,1,1,0406,000,0,0,0,000,0,1,1\x03\r\n\x02"
	                         "001,0,1,1,1,2,6,0,00000000,1,000\x03\r\n\x02"
	                         "1234,0\x03\r\n";

	is_int(lbl_zpl_status_parse(ready, strlen(ready), st, sizeof(st)), 1,
	       "a whole ready answer parses");
	is_str(st, "", "  and says nothing is wrong");
	size_t short_ones = 0, cuts = 0;
	for (size_t cut = 0; cut < strlen(ready) - 3; cut += 5, cuts++)
		short_ones += lbl_zpl_status_parse(ready, cut, st, sizeof(st)) == 0;
	is_int((int)short_ones, (int)cuts,
	       "an answer cut before its third string ends is still short (read on)");
	is_int(lbl_zpl_status_parse(everything, strlen(everything), st, sizeof(st)), 1,
	       "a printer with every flag set");
	is_str(st, "head open, paper out, ribbon out, paused, head too hot, head too cold",
	       "  is named with every problem at once");
	const char *bad = "\x02"
	                  "030,x,0\x03\x02"
	                  "1\x03\x02"
	                  "2\x03";
	is_int(lbl_zpl_status_parse(bad, strlen(bad), st, sizeof(st)), -1,
	       "framed strings that are no status are refused");
}

static void
test_send(void)
{
	const char *zpl = "^XA^FDhello^FS^XZ\n";
	char why[LBL_WHY_MAX], uri[128];
	struct peer p;

	peer_start_hs(&p, PEER_RAW, HS_READY);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", p.port);
	is_int(lbl_printer_send(uri, zpl, strlen(zpl), 10000, why), BB_OK,
	       "a ready printer takes the job");
	peer_stop(&p);
	ok(p.asked_status, "  after it was asked for its status (~HS)");
	is_str(p.got.data, zpl, "  and received exactly the job");
	peer_free(&p);

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		peer_start_hs(&p, PEER_RAW, states[i].hs);
		snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", p.port);
		is_int(lbl_printer_send(uri, zpl, strlen(zpl), 10000, why), BB_ECONFLICT,
		       "a printer with %s refuses the job", states[i].says);
		ok(strstr(why, states[i].says) && strstr(why, "not ready") &&
		       strstr(why, "nothing was sent"),
		   "  saying so: %s", why);
		peer_stop(&p);
		is_int((int)p.got.len, 0, "  and it received nothing but the status request");
		peer_free(&p);
	}

	peer_start_hs(&p, PEER_RAW, HS_SILENT);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", p.port);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(lbl_printer_send(uri, zpl, strlen(zpl), 1000, why), BB_EIO,
	       "a printer that never answers the status fails");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ok(dt >= 0.95 && dt < 30 && strstr(why, "did not answer the status request"),
	   "  after the timeout (%.2f s for 1 s), saying so: %s", dt, why);
	peer_stop(&p);
	is_int((int)p.got.len, 0, "  and it received no job");
	peer_free(&p);

	peer_start_hs(&p, PEER_RAW, HS_GARBAGE);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", p.port);
	is_int(lbl_printer_send(uri, zpl, strlen(zpl), 2000, why), BB_EIO,
	       "a port answering something else than a status fails");
	ok(strstr(why, "something else") != NULL, "  saying so: %s", why);
	peer_free(&p);

	/* A ZPL device without ~HS still prints when the URI says so. */
	peer_start_hs(&p, PEER_RAW, HS_SILENT);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d?status=off", p.port);
	is_int(lbl_printer_send(uri, zpl, strlen(zpl), 10000, why), BB_OK,
	       "?status=off sends without asking: %s", why);
	peer_stop(&p);
	ok(!p.asked_status && strcmp(p.got.data ? p.got.data : "", zpl) == 0,
	   "  the printer received the job alone");
	peer_free(&p);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:9100?status=maybe");
	is_int(lbl_printer_send(uri, zpl, strlen(zpl), 1000, why), BB_EINVAL,
	       "another suffix is refused: %s", why);
}

/* Runs labelgen in dir; returns its exit status, *out what it printed. */
__attribute__((format(printf, 2, 3))) static int
cli(char **out, const char *fmt, ...)
{
	char args[1024];
	va_list ap;
	char *res, *rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	res = run_capture("cd '%s' && timeout -k 5 120 '%s' %s 2>&1; echo \"rc=$?\"", dir, labelgen,
	                  args);
	rc = strrchr(res, '=');
	int status = rc ? atoi(rc + 1) : -1;
	if (rc)
		rc[-2] = '\0';
	*out = res;
	return status;
}

static void
test_labelgen(void)
{
	char path[512], *out;
	struct peer p;
	int rc;

	snprintf(path, sizeof(path), "%s/in.csv", dir);
	write_file(path, "id,participant\nKRVQKEB8,MASC/0042\n", 34);
	snprintf(path, sizeof(path), "%s/printers.conf", dir);
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		peer_start_hs(&p, PEER_RAW, states[i].hs);
		char *conf = bb_asprintf("cold-room-2 tcp://127.0.0.1:%d\n", p.port);
		write_file(path, conf, strlen(conf));
		free(conf);
		rc = cli(&out, "--input in.csv --printers printers.conf --printer cold-room-2");
		ok(rc == 4 && strstr(out, "cold-room-2") && strstr(out, states[i].says),
		   "labelgen to a printer with %s: exit 4 (retry), naming it: %s", states[i].says,
		   out);
		free(out);
		peer_stop(&p);
		is_int((int)p.got.len, 0, "  and nothing printed");
		peer_free(&p);
	}
	peer_start_hs(&p, PEER_RAW, HS_SILENT);
	rc = cli(&out, "--input in.csv --printer tcp://127.0.0.1:%d --timeout 1", p.port);
	ok(rc == 4 && strstr(out, "did not answer the status request"),
	   "labelgen to a printer that never answers its status: exit 4: %s", out);
	free(out);
	peer_free(&p);
}

int
main(void)
{
	labelgen = getenv("LABELGEN");
	dir = scratch_dir();
	test_parse();
	test_send();
	if (labelgen != NULL && access(labelgen, X_OK) == 0)
		test_labelgen();
	else
		tap_diag("LABELGEN does not name the labelgen binary: labelgen not run");
	remove_dir(dir);
	free(dir);
	return tap_done();
}
