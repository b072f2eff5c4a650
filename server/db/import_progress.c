/* import_progress.c — how far a named import is (import_progress.h, docs/import.md). */
#include "db/import_progress.h"

#include "http/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt progress_statements[] = {
	{ "db_import_progress_claim", "SELECT bb_import_progress_claim($1, $2, $3, $4)" },
	{ "db_import_progress_note", "SELECT bb_import_progress_note($1, $2, $3, $4, $5, $6)" },
	{ "db_import_progress_end", "SELECT bb_import_progress_end($1, $2, $3, $4::jsonb)" },
	{ NULL, NULL },
};

/* The NOTICE bb_import_step raises; its detail is "phase done total". */
static const char step_message[] = "bb_import_progress";

enum { NOTE_EVERY_MS = 100 };

struct import_progress {
	struct db_conn *conn;
	char owner[24];
	char name[65];
	char phase[16];
	long long rows;
	long long last_ms; /* when it was last written */
	bool broken;       /* a write failed: the rest are not tried */
	PQnoticeReceiver prev;
};

bool
import_progress_name_ok(const char *name)
{
	size_t n =
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

	return name[n] == '\0' && n >= 8 && n <= 64;
}

enum bb_err
import_progress_start(const char *conninfo, const char *owner_id, const char *name, bool dry_run,
                      long long bytes, struct import_progress **out, char *why, size_t why_len)
{
	const struct db_stmt *const sets[] = { progress_statements, NULL };
	struct import_progress *p = bb_calloc(1, sizeof(*p));
	char total[24];
	enum bb_err err;

	*out = NULL;
	snprintf(p->owner, sizeof(p->owner), "%s", owner_id);
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(total, sizeof(total), "%lld", bytes);
	err = db_connect_quiet(conninfo, sets, &p->conn, why, why_len);
	if (err == BB_OK) {
		const char *params[] = { p->owner, p->name, dry_run ? "true" : "false", total };

		err = db_exec(p->conn, "db_import_progress_claim", 4, params, NULL);
		if (err != BB_OK)
			snprintf(why, why_len, "%s", db_error_message(p->conn));
	}
	if (err != BB_OK) {
		db_disconnect(p->conn);
		free(p);
		return err;
	}
	snprintf(p->phase, sizeof(p->phase), "reading");
	p->last_ms = bb_monotonic_ms();
	*out = p;
	return BB_OK;
}

void
import_progress_note(struct import_progress *p, const char *phase, long long done, long long total,
                     long long rows)
{
	long long now = bb_monotonic_ms();
	bool same = strcmp(p->phase, phase) == 0;
	char d[24], t[24], n[24];

	if (rows >= 0)
		p->rows = rows;
	if (p->broken || (same && done < total && now - p->last_ms < NOTE_EVERY_MS))
		return;
	snprintf(p->phase, sizeof(p->phase), "%s", phase);
	snprintf(d, sizeof(d), "%lld", done);
	snprintf(t, sizeof(t), "%lld", total);
	snprintf(n, sizeof(n), "%lld", p->rows);
	const char *params[] = { p->owner, p->name, p->phase, d, t, n };
	if (db_exec(p->conn, "db_import_progress_note", 6, params, NULL) != BB_OK) {
		log_warnx("import %s: its progress cannot be written: %s", p->name,
		          db_error_message(p->conn));
		p->broken = true;
	}
	p->last_ms = now;
}

/* libpq calls this while it reads the import connection's answers, as each NOTICE arrives. */
static void
on_notice(void *arg, const PGresult *res)
{
	struct import_progress *p = arg;
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	char phase[16];
	long long done, total;

	if (msg == NULL || strcmp(msg, step_message) != 0 || detail == NULL ||
	    sscanf(detail, "%15s %lld %lld", phase, &done, &total) != 3) {
		p->prev(NULL, res);
		return;
	}
	import_progress_note(p, phase, done, total, -1);
}

/*
 * libpq gives back the receiver it replaces but not its argument; the
 * daemon's connections keep libpq's own, whose argument is unused (it
 * hands the notice to the connection's notice processor).
 */
void
import_progress_hook(struct import_progress *p, struct db_conn *c)
{
	p->prev = PQsetNoticeReceiver(db_pgconn(c), on_notice, p);
}

void
import_progress_unhook(struct import_progress *p, struct db_conn *c)
{
	if (db_pgconn(c) != NULL)
		PQsetNoticeReceiver(db_pgconn(c), p->prev, NULL);
}

void
import_progress_end(struct import_progress *p, const char *code, const char *outcome)
{
	if (p == NULL)
		return;
	const char *params[] = { p->owner, p->name, code, outcome };
	/* Tried even after a failed note: the connection may be back, and the end matters most. */
	if (db_exec(p->conn, "db_import_progress_end", 4, params, NULL) != BB_OK)
		log_warnx("import %s: its end cannot be written: %s", p->name,
		          db_error_message(p->conn));
	db_disconnect(p->conn);
	free(p);
}
