/*
 * cli.h — what the labelgen command's files share: label records read from
 * the server or a file (strings owned by one arena), the biobankd client,
 * named printers and the progress bar.
 */
#ifndef LBL_CLI_H
#define LBL_CLI_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "label.h"

/* Exit statuses, documented in labelgen(1). */
enum {
	EXIT_USAGE = 1,  /* bad options or bad input */
	EXIT_SERVER = 2, /* fetching label data failed */
	EXIT_RENDER = 3, /* a label could not be laid out */
	EXIT_OUTPUT = 4, /* writing or printing failed */
	EXIT_RECORD = 5, /* printed, but the print was not recorded */
	/* No installed font has a character of the text: install one. Not 3 or
	 * 4, which scripts already read as "fix the data" and "retry". */
	EXIT_FONT = 6,
};

/* Label records; every string lives in the arena that holds the list. */
struct rec_list {
	struct bb_arena arena;
	struct lbl_data *items;
	size_t n, cap;
	/* --timezone (set with zone_use): collection times in files are dated
	 * in it; NULL: a file's own collected_on, else the time's own date. */
	const char *tz;
};

/* zone.c: checks tz against the tz database and makes it the local zone. */
enum bb_err zone_use(const char *tz, char why[LBL_WHY_MAX]);
/* The local date of an RFC 3339 instant, and the zone's offset then as a
 * label names it ("UTC+8"); false when instant is not one. */
bool zone_date(const char *instant, char date[11], char offset[16]);

void recs_free(struct rec_list *l);
/* Adds one label from an API item {"id","type","participant",...}; with
 * check_id the ID must be a valid specimen ID (typed, from a file). */
enum bb_err recs_add_json(struct rec_list *l, const cJSON *item, bool check_id,
                          char why[LBL_WHY_MAX]);
/* Reads labels from a CSV (header row naming the columns) or JSON file. */
enum bb_err recs_read_file(struct rec_list *l, const char *path, char why[LBL_WHY_MAX]);

/* client.c: biobankd over HTTP. */
struct client {
	const char *base; /* https://host:port, no trailing slash needed */
	const char *token;
	long timeout_ms;
};

/*
 * The bearer token is as good as a password, and over plain HTTP anyone on
 * the path reads it: BB_EINVAL, saying so in why, for an http:// server
 * that is not this machine (127.0.0.0/8, ::1, localhost) unless
 * allow_plain_http; also for a server that is not a URL.
 */
enum bb_err client_check_transport(const struct client *c, bool allow_plain_http,
                                   char why[LBL_WHY_MAX]);
enum bb_err client_fetch_labels(const struct client *c, char *const *ids, size_t n,
                                struct rec_list *out, char why[LBL_WHY_MAX]);
enum bb_err client_record_printed(const struct client *c, const char *id, const char *printer,
                                  int copies, const char *job_key, char why[LBL_WHY_MAX]);

/* printers.c: "NAME URI" lines; *uri is set to a string the caller frees. */
enum bb_err printers_lookup(const char *conf, const char *name, char **uri, char why[LBL_WHY_MAX]);

/* progress.c: a bar on standard error when it is a terminal, else nothing. */
struct progress {
	bool on;
	size_t total, done;
	const char *what;
};

void progress_start(struct progress *p, const char *what, size_t total);
void progress_step(struct progress *p, size_t n);
void progress_end(struct progress *p);

#endif
