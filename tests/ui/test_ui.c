/*
 * test_ui.c — the bench page in a real browser: makes a database and a
 * daemon (testlib.h, world.h), runs tests/ui/run.mjs (playwright-core
 * driving Debian's headless chromium) and re-emits its TAP lines, then
 * checks in the database what the clicks and scans should have written.
 *
 * usage: test_ui BIOBANKD UI_SOURCE_DIR FIXTURES_DIR ARTIFACT_DIR
 * Skips (77) without /usr/bin/chromium, node or tests/ui/node_modules.
 */
#include "../api/world.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The driver this program runs (tests/ui/meson.build builds one program per driver). */
#ifndef UI_DRIVER
#define UI_DRIVER "run.mjs"
#endif

enum { FACTS_MAX = 16 };

static struct {
	char name[32];
	char value[256];
} facts[FACTS_MAX];
static int nfacts;

/* A fact the driver reported, if it is made of ID characters and commas only. */
static const char *
fact(const char *name)
{
	for (int i = 0; i < nfacts; i++) {
		if (strcmp(facts[i].name, name) != 0)
			continue;
		for (const char *p = facts[i].value; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != ',')
				return NULL;
		return facts[i].value;
	}
	return NULL;
}

static void
record_fact(const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (eq == NULL || nfacts == FACTS_MAX)
		return;
	snprintf(facts[nfacts].name, sizeof(facts[nfacts].name), "%.*s", (int)(eq - kv), kv);
	snprintf(facts[nfacts].value, sizeof(facts[nfacts].value), "%s", eq + 1);
	facts[nfacts].value[strcspn(facts[nfacts].value, "\r\n")] = '\0';
	nfacts++;
}

/* Run the driver; its "ok"/"not ok" lines become this program's. Returns its exit status. */
static int
run_driver(struct tenv *t, const char *site_url, const char *srcdir, const char *fixtures,
           const char *artifacts)
{
	char script[1024];
	int fds[2];

	snprintf(script, sizeof(script), "%s/%s", srcdir, UI_DRIVER);
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execlp("node", "node", script, site_url, t->admin_token, artifacts, fixtures,
		       t->d.url, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *in = fdopen(fds[0], "r");
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, in) > 0) {
		line[strcspn(line, "\r\n")] = '\0';
		bool pass = strncmp(line, "ok ", 3) == 0;
		if (pass || strncmp(line, "not ok ", 7) == 0) {
			const char *desc = strstr(line, " - ");
			tap_ok(pass, "%s", desc != NULL ? desc + 3 : line);
		} else if (strncmp(line, "# fact ", 7) == 0) {
			record_fact(line + 7);
		} else if (strncmp(line, "1..", 3) != 0 && *line != '\0') {
			tap_diag("%s", line[0] == '#' ? line + (line[1] == ' ' ? 2 : 1) : line);
		}
	}
	free(line);
	fclose(in);
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The first value of a query made from fmt (the values put in are ID-shaped facts). */
__attribute__((format(printf, 4, 5))) static void
is_sql(struct tenv *t, const char *want, const char *what, const char *fmt, ...)
{
	char sql[1024];
	bool ok_sql;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	char *got = sql_value(t, sql, &ok_sql);
	is_str(got, want, "%s", what);
	free(got);
}

static void
database_checks(struct tenv *t)
{
	const char *parent = fact("parent"), *aliquots = fact("aliquots"), *thawed = fact("thawed");

	ok(parent != NULL && aliquots != NULL && thawed != NULL,
	   "the driver reported what it made");
	if (parent == NULL || aliquots == NULL || thawed == NULL)
		return;
	is_sql(t, "3", "database: the collection has 3 aliquots",
	       "SELECT count(*) FROM specimens WHERE parent_id = '%s'", parent);
	is_sql(t, "BOX-A A1,BOX-A A2,BOX-A A3", "database: fill mode stored them at A1, A2, A3",
	       "SELECT string_agg(b.barcode || ' ' || bb_position_name(s.pos_row, s.pos_col), ','"
	       " ORDER BY s.serial) FROM specimens s JOIN boxes b ON b.id = s.box_id"
	       " WHERE s.id = ANY (string_to_array('%s', ','))",
	       aliquots);
	is_sql(t, "in_storage 1 BOX-A A4", "database: returned thawed to A4, freeze-thaw count 1",
	       "SELECT s.status || ' ' || s.freeze_thaw_count || ' ' || b.barcode || ' ' ||"
	       " bb_position_name(s.pos_row, s.pos_col) FROM specimens s JOIN boxes b ON b.id = "
	       "s.box_id"
	       " WHERE s.id = '%s'",
	       thawed);
	is_sql(
	    t, "consumed 0.000 registered,aliquoted,consumed",
	    "database: the collection gave all of it to its aliquots and was never stored",
	    "SELECT status || ' ' || quantity || ' ' || (SELECT string_agg(type, ',' ORDER BY seq)"
	    " FROM events WHERE specimen_id = s.id) FROM specimens s WHERE id = '%s'",
	    parent);
	is_sql(t, "registered,stored,checked_out,returned",
	       "database: the stock tube's ledger holds exactly what the page did (the conflict "
	       "wrote nothing)",
	       "SELECT string_agg(type, ',' ORDER BY seq) FROM events WHERE specimen_id = '%s'",
	       thawed);
	is_sql(
	    t, "true", "database: the return says thawed",
	    "SELECT details->>'thawed' FROM events WHERE specimen_id = '%s' AND type = 'returned'",
	    thawed);
	const char *withdrawn = fact("withdrawn");
	ok(withdrawn != NULL, "the driver reported the withdrawn tube");
	if (withdrawn != NULL)
		is_sql(t, "in_storage BOX-Z A2 registered,stored,consent_withdrawn",
		       "database: the withdrawn tube is still stored, nothing recorded since",
		       "SELECT s.status || ' ' || b.barcode || ' ' || bb_position_name(s.pos_row, "
		       "s.pos_col) || ' ' || (SELECT string_agg(type, ',' ORDER BY seq) FROM events"
		       " WHERE specimen_id = s.id) FROM specimens s JOIN boxes b ON b.id = s.box_id"
		       " WHERE s.id = '%s'",
		       withdrawn);
	/* Fill mode recorded only what happened at the bench. */
	const char *twice = fact("twice"), *after_twice = fact("after_twice"),
	           *elsewhere = fact("elsewhere");
	ok(twice != NULL && after_twice != NULL && elsewhere != NULL,
	   "the driver reported the fill-mode tubes");
	if (twice != NULL && after_twice != NULL && elsewhere != NULL) {
		is_sql(t, "BOX-A A5 registered,stored",
		       "database: the tube scanned twice is at A5 and was never moved",
		       "SELECT b.barcode || ' ' || bb_position_name(s.pos_row, s.pos_col) || ' ' ||"
		       " (SELECT string_agg(type, ',' ORDER BY seq) FROM events e"
		       "   WHERE e.specimen_id = s.id)"
		       " FROM specimens s JOIN boxes b ON b.id = s.box_id WHERE s.id = '%s'",
		       twice);
		is_sql(t, "BOX-A A6", "database: the tube scanned after it is at A6",
		       "SELECT b.barcode || ' ' || bb_position_name(s.pos_row, s.pos_col)"
		       " FROM specimens s JOIN boxes b ON b.id = s.box_id WHERE s.id = '%s'",
		       after_twice);
		is_sql(t, "1 BOX-Z A1 BOX-A A7",
		       "database: the tube from another box moved once, BOX-Z A1 to BOX-A A7",
		       "SELECT count(*) || ' ' || min(from_box) || ' ' || min(from_pos) || ' ' ||"
		       " min(to_box) || ' ' || min(to_pos) FROM events"
		       " WHERE specimen_id = '%s' AND type = 'moved'",
		       elsewhere);
	}
	/* Issue 19: a double click, and a retry after a timeout, registered once each. */
	is_sql(t, "P-UI-DBL 1,P-UI-RTY 1",
	       "database: Register double-clicked, and pressed again after a timeout, made one "
	       "specimen each",
	       "SELECT string_agg(p.code || ' ' || (SELECT count(*) FROM specimens s"
	       " WHERE s.participant_id = p.id), ',' ORDER BY p.code) FROM participants p"
	       " WHERE p.code IN ('P-UI-DBL', 'P-UI-RTY')%s",
	       "");
	const char *printed = fact("printed");
	ok(printed != NULL, "the driver printed a label");
	if (printed != NULL)
		is_sql(t, "1 bench-1", "database: the label printed from the card is recorded once",
		       "SELECT count(*) || ' ' || min(details->>'printer') FROM events"
		       " WHERE specimen_id = '%s' AND type = 'label_printed'",
		       printed);
	const char *audit = fact("audit");
	if (audit == NULL) {
		tap_diag("no audit ran (the server has no audits): audit checks left out");
		return;
	}
	is_sql(t, "closed", "database: the audit is closed",
	       "SELECT status FROM audits WHERE id = %s", audit);
	is_sql(t, "FR00004822 B12",
	       "database: the misplaced tube was moved where the scanner saw it",
	       "SELECT b.barcode || ' ' || bb_position_name(s.pos_row, s.pos_col) FROM specimens s"
	       " JOIN boxes b ON b.id = s.box_id WHERE s.id = '%s'",
	       fact("misplaced") ? fact("misplaced") : "");
	is_sql(t, "lost", "database: the missing tube is lost",
	       "SELECT status FROM specimens WHERE id = '%s'",
	       fact("missing") ? fact("missing") : "");
	is_sql(t, "m6 baseline>m6", "database: the timepoint corrected, its event keeping both",
	       "SELECT s.timepoint || ' ' || (e.details->'before'->>'timepoint') || '>' ||"
	       " (e.details->'after'->>'timepoint') FROM specimens s JOIN events e ON"
	       " e.specimen_id = s.id AND e.type = 'corrected' WHERE s.id = '%s'",
	       fact("corrected") ? fact("corrected") : "");
	is_sql(t, "entered_in_error registered twice",
	       "database: the tube registered by mistake is entered in error, with why",
	       "SELECT s.status || ' ' || e.reason FROM specimens s JOIN events e ON"
	       " e.specimen_id = s.id AND e.type = 'entered_in_error' WHERE s.id = '%s'",
	       fact("in_error") ? fact("in_error") : "");
}

/* What register.mjs registered with its processing times, as the database has it. */
static void
register_checks(struct tenv *t)
{
	const char *processed = fact("processed");

	ok(processed != NULL, "the driver reported the tube it registered");
	if (processed == NULL)
		return;
	is_sql(t, "SER-SST-C-B-N-A-A 09:00",
	       "database: the tube's SPREC code from its processing times; 10:00 in Paris is 09:00 "
	       "UTC",
	       "SELECT sprec || ' ' || to_char(collected_at AT TIME ZONE 'UTC', 'HH24:MI')"
	       " FROM specimens WHERE id = '%s'",
	       processed);
	is_sql(t, "2",
	       "database: the refused sending left nothing, the two registrations one tube each",
	       "SELECT count(*) FROM specimens s JOIN participants p ON p.id = s.participant_id"
	       " WHERE p.code = 'P002'%s",
	       "");
}

/* What signin.mjs did through the hospital's provider, as the database has it. */
static void
signin_checks(struct tenv *t)
{
	const char *logins = fact("logins");

	ok(logins != NULL, "the driver reported its sign-ins");
	if (logins == NULL)
		return;
	is_sql(t, logins,
	       "database: every sign-in through the provider is one audited login, no more",
	       "SELECT count(*) FROM audit_log WHERE entity = 'login' AND entity_id = 'nurse'"
	       " AND after->>'method' = 'oidc' AND after->>'outcome' = 'ok'%s",
	       "");
	is_sql(t, "oidc technician",
	       "database: the nurse's account came from the provider, as a technician",
	       "SELECT source || ' ' || role FROM users WHERE username = 'nurse'%s", "");
	is_sql(t, "0", "database: the forged, replayed and refused sign-ins made no session",
	       "SELECT count(*) - %s FROM tokens k JOIN users u ON u.id = k.user_id"
	       " WHERE u.username = 'nurse' AND k.kind = 'session'",
	       logins);
	is_sql(t, "0",
	       "database: no login left under way (each finished or refused; none begun while the "
	       "provider was down)",
	       "SELECT count(*) FROM oidc_logins%s", "");
	is_sql(t, "1", "database: the local sign-in while the provider was down is audited",
	       "SELECT count(*) FROM audit_log WHERE entity = 'login' AND entity_id = 'keeper'"
	       " AND after->>'method' = 'local' AND after->>'outcome' = 'ok'%s",
	       "");
}

/*
 * The site the sign-in driver works on: an OpenID provider (the driver runs
 * tests/sso/provider.mjs itself, so that it can stop it) at a port chosen
 * here, told to the driver in BIOBANK_UI_PROVIDER_PORT; a group map making
 * lab-techs technicians. 0 when the daemon serves.
 */
static int
signin_site(struct tenv *t, struct daemon *site, const char *artifacts)
{
	char map[1100], secret[1100], a_issuer[96], a_secret[1200], a_redirect[160], a_map[1200],
	    port[16];

	snprintf(map, sizeof(map), "%s/groups.map", artifacts);
	snprintf(secret, sizeof(secret), "%s/client.secret", artifacts);
	FILE *f = fopen(map, "w");
	if (f == NULL)
		return -1;
	fputs("# GROUP ROLE STUDIES\nlab-techs technician *\n", f);
	fclose(f);
	if ((f = fopen(secret, "w")) == NULL)
		return -1;
	fputs("biobank-client-secret\n", f);
	fclose(f);
	chmod(secret, 0600);
	int pp = free_port();
	site->want_port = free_port();
	snprintf(port, sizeof(port), "%d", pp);
	setenv("BIOBANK_UI_PROVIDER_PORT", port, 1);
	snprintf(a_issuer, sizeof(a_issuer), "--oidc-issuer=http://127.0.0.1:%d", pp);
	snprintf(a_secret, sizeof(a_secret), "--oidc-client-secret-file=%s", secret);
	snprintf(a_redirect, sizeof(a_redirect),
	         "--oidc-redirect-uri=http://127.0.0.1:%d/api/v1/oidc/callback", site->want_port);
	snprintf(a_map, sizeof(a_map), "--group-map=%s", map);
	const char *args[] = { "--timezone=Europe/Paris",
		               a_issuer,
		               "--oidc-client-id=biobank",
		               a_secret,
		               a_redirect,
		               "--oidc-scopes=openid profile groups",
		               a_map,
		               NULL };
	return daemon_start(t, site, args);
}

/* What picking.mjs did at the bench, as the database has it. */
static void
picking_checks(struct tenv *t)
{
	const char *req = fact("request"), *picked = fact("picked"), *stranger = fact("stranger");

	ok(req != NULL && picked != NULL && stranger != NULL, "the driver reported the request");
	if (req == NULL || picked == NULL || stranger == NULL)
		return;
	is_sql(t, "3 3 picker", "database: the 3 tubes of the list are picked, by the technician",
	       "SELECT count(*) || ' ' || count(picked_at) || ' ' || min(picked_by)"
	       " FROM request_items WHERE request_id = %s AND specimen_id = ANY"
	       " (string_to_array('%s', ','))",
	       req, picked);
	is_sql(t, "0", "database: the wrong tube is on no request",
	       "SELECT count(*) FROM request_items WHERE specimen_id = '%s'", stranger);
	is_sql(t, "in_storage registered,stored",
	       "database: the wrong tube stayed where it was, its ledger untouched",
	       "SELECT s.status || ' ' || (SELECT string_agg(type, ',' ORDER BY seq) FROM events"
	       " WHERE specimen_id = s.id) FROM specimens s WHERE s.id = '%s'",
	       stranger);
	is_sql(t, "3", "database: each pick is in the audit log",
	       "SELECT count(*) FROM audit_log WHERE entity = 'request_item'"
	       " AND after ->> 'picked_by' = 'picker'");
}

/* What manager.mjs did at the manager views, as the database has it. */
static void
manager_checks(struct tenv *t)
{
	const char *r1 = fact("r1"), *r2 = fact("r2"), *in = fact("swapped_in"),
	           *out = fact("swapped_out"), *dropped = fact("dropped"),
	           *withdrawn = fact("withdrawn_donor_tubes"), *from_req = fact("request_shipment"),
	           *shipment = fact("shipment"), *missing = fact("missing");

	ok(r1 != NULL && r2 != NULL && in != NULL && out != NULL && dropped != NULL &&
	       withdrawn != NULL && from_req != NULL && shipment != NULL && missing != NULL,
	   "the driver reported what the manager did");
	if (r1 == NULL || r2 == NULL || in == NULL || out == NULL || dropped == NULL ||
	    withdrawn == NULL || from_req == NULL || shipment == NULL || missing == NULL)
		return;
	is_sql(t, "1971 transcribed from the wrong consent form",
	       "database: the participant corrected, the reason in the audit log",
	       "SELECT p.birth_year || ' ' || (SELECT a.reason FROM audit_log a WHERE a.entity ="
	       " 'participant' AND a.action = 'update' AND a.after ->> 'code' = p.code)"
	       " FROM participants p WHERE p.code = 'P-MG-NEW'%s",
	       "");
	is_sql(t, "1", "database: the code in another case made no second participant",
	       "SELECT count(*) FROM participants WHERE upper(code) = 'P-MG-NEW'%s", "");
	is_sql(t, "rejected mgr1 no ethics approval for serum",
	       "database: the request rejected once, with its reason",
	       "SELECT status || ' ' || decided_by || ' ' || decision_reason FROM requests"
	       " WHERE id = %s",
	       r2);
	is_sql(t, "1", "database: the double-clicked approval is one step in the audit log",
	       "SELECT count(*) FROM audit_log WHERE entity = 'request' AND entity_id = '%s'"
	       " AND before ->> 'status' = 'submitted' AND after ->> 'status' = 'approved'",
	       r1);
	is_sql(t, "released released",
	       "database: the dropped and the swapped-out tubes are released",
	       "SELECT string_agg(state, ' ') FROM request_items WHERE request_id = %s"
	       " AND specimen_id IN ('%s', '%s')",
	       r1, dropped, out);
	is_sql(t, "removed", "database: the withdrawal took the swapped-in tube off the request",
	       "SELECT state FROM request_items WHERE request_id = %s AND specimen_id = '%s'", r1,
	       in);
	is_sql(t, "2 2",
	       "database: both tubes of the donor are flagged, each with its custody event",
	       "SELECT count(*) FILTER (WHERE consent_withdrawn) || ' ' || (SELECT count(*)"
	       " FROM events e WHERE e.specimen_id = ANY (string_to_array('%s', ',')) AND e.type ="
	       " 'consent_withdrawn') FROM specimens WHERE id = ANY (string_to_array('%s', ','))",
	       withdrawn, withdrawn);
	is_sql(
	    t, "draft 1", "database: the shipment made from the request holds its picked tube",
	    "SELECT s.status || ' ' || (SELECT count(*) FROM shipment_items i WHERE i.shipment_id"
	    " = s.id) FROM shipments s WHERE s.id = %s AND s.request_id = %s",
	    from_req, r1);
	is_sql(
	    t, "received thawed 2 shipped,shipped",
	    "database: the shipment scanned out was dispatched with its 2 tubes and received",
	    "SELECT s.status || ' ' || s.received_condition || ' ' || count(i.*) || ' ' ||"
	    " string_agg(x.status, ',') FROM shipments s JOIN shipment_items i ON i.shipment_id ="
	    " s.id JOIN specimens x ON x.id = i.specimen_id WHERE s.id = %s"
	    " GROUP BY s.status, s.received_condition",
	    shipment);
	is_sql(t, "true true",
	       "database: the receipt's notes name the missing and the unexpected tube",
	       "SELECT (receipt_notes LIKE '%%missing: %s%%') || ' ' ||"
	       " (receipt_notes LIKE '%%unexpected: TB-MG-99%%') FROM shipments WHERE id = %s",
	       missing, shipment);
	is_sql(
	    t, "2 amendment 1: wider month-6 window 30",
	    "database: the protocol saved as version 2 with the reason and the new window",
	    "SELECT v.version || ' ' || v.reason || ' ' || tp.window_days FROM protocol_versions v"
	    " JOIN studies st ON st.id = v.study_id JOIN protocol_timepoints tp ON tp.study_id ="
	    " v.study_id AND tp.version = v.version AND tp.code = 'm6'"
	    " WHERE st.code = 'MASC' AND v.version = 2%s",
	    "");
	is_sql(t, "3 amendment 2 by another manager",
	       "database: the save over another manager's version wrote nothing",
	       "SELECT max(v.version) || ' ' || (array_agg(v.reason ORDER BY v.version DESC))[1]"
	       " FROM protocol_versions v JOIN studies st ON st.id = v.study_id"
	       " WHERE st.code = 'MASC'%s",
	       "");
}

/* What mgrb.mjs did on the manager's pages, as the database has it. */
static void
mgrb_checks(struct tenv *t)
{
	const char *destroyed = fact("destroyed"), *kept = fact("kept"), *token = fact("token");

	ok(destroyed != NULL && kept != NULL && token != NULL, "the driver reported what it did");
	if (destroyed == NULL || kept == NULL || token == NULL)
		return;
	is_sql(t, "2 2 consent withdrawn 2026-06-01, autoclaved",
	       "database: the 2 tubes confirmed (double click) are destroyed, one event each",
	       "SELECT count(DISTINCT s.id) || ' ' || count(e.seq) || ' ' || min(e.reason) FROM "
	       "specimens s JOIN events e ON e.specimen_id = s.id AND e.type = 'destroyed'"
	       " WHERE s.status = 'destroyed' AND s.box_id IS NULL AND s.id = ANY "
	       "(string_to_array('%s', ','))",
	       destroyed);
	is_sql(t, "in_storage 0", "database: the tube left unticked is still stored, not destroyed",
	       "SELECT s.status || ' ' || (SELECT count(*) FROM events e WHERE e.specimen_id = s.id"
	       " AND e.type = 'destroyed') FROM specimens s WHERE s.id = '%s'",
	       kept);
	is_sql(t, "technician true true",
	       "database: the account made on the page is disabled, its password to be changed",
	       "SELECT role || ' ' || (disabled_at IS NOT NULL) || ' ' || password_change_required"
	       " FROM users WHERE username = 'newtech'%s",
	       "");
	is_sql(t, "false", "database: the admin's own account was not disabled",
	       "SELECT (disabled_at IS NOT NULL)::text FROM users WHERE username = 'boss'%s", "");
	is_sql(t, "1 true", "database: one token for zebra9 (Issue double-clicked), revoked",
	       "SELECT count(*) || ' ' || bool_and(revoked_at IS NOT NULL) FROM tokens"
	       " WHERE kind = 'service' AND (id = %s OR user_id = (SELECT id FROM users WHERE "
	       "username = 'zebra9'))",
	       token);
	is_sql(t, "2", "database: the fixed file imported its 2 rows",
	       "SELECT count(*) FROM specimens WHERE tube_barcode IN ('TB-IMP-1', 'TB-IMP-2')%s",
	       "");
	const char *big = fact("big_import");
	ok(big != NULL, "the driver imported the large file");
	if (big != NULL)
		is_sql(
		    t, "8000 1000 done",
		    "database: the large file's rows, their participants, and its progress done",
		    "SELECT count(*) || ' ' || count(DISTINCT participant_id) || ' ' || (SELECT "
		    "string_agg(phase, ',') FROM import_progress WHERE NOT dry_run AND outcome -> "
		    "'summary' ->> 'specimens' = '%s') FROM specimens WHERE tube_barcode LIKE "
		    "'TB-BIG-%%'",
		    big);
}

/* What keyboard.mjs did with the keyboard alone, in French and in Chinese. */
static void
keyboard_checks(struct tenv *t)
{
	static const char *const tags[] = { "FR", "ZH" };

	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "destroyed_%s", tags[i]);
		const char *destroyed = fact(name);
		snprintf(name, sizeof(name), "kept_%s", tags[i]);
		const char *kept = fact(name);
		snprintf(name, sizeof(name), "approved_%s", tags[i]);
		const char *approved = fact(name);

		ok(destroyed != NULL && kept != NULL && approved != NULL,
		   "%s: the driver reported what the keys did", tags[i]);
		if (destroyed == NULL || kept == NULL || approved == NULL)
			continue;
		is_sql(t, "withdrawn 2026-11-30 v3",
		       "database: the consent withdrawn by keyboard, as typed",
		       "SELECT c.status || ' ' || c.date || ' ' || c.version FROM consents c JOIN "
		       "participants p ON p.id = c.participant_id WHERE p.code = 'P-KB-%s'"
		       " AND c.scope = 'biobank' ORDER BY c.id DESC LIMIT 1",
		       tags[i]);
		is_sql(t, "destroyed consent withdrawn, autoclaved",
		       "database: the tube ticked with Space destroyed, with the reason typed",
		       "SELECT s.status || ' ' || e.reason FROM specimens s JOIN events e ON "
		       "e.specimen_id = s.id AND e.type = 'destroyed' WHERE s.id = '%s'",
		       destroyed);
		is_sql(t, "in_storage", "database: its sibling, not ticked, still stored",
		       "SELECT status FROM specimens WHERE id = '%s'", kept);
		is_sql(t, "approved", "database: the request approved with Enter",
		       "SELECT status FROM requests WHERE id = %s", approved);
		is_sql(t, "3", "database: the file chosen and imported by keyboard, its 3 rows",
		       "SELECT count(*) FROM specimens WHERE tube_barcode LIKE 'TB-KB-IMP-%s-_'",
		       tags[i]);
		is_sql(t, "true", "database: the account disabled with Space and Enter",
		       "SELECT (disabled_at IS NOT NULL)::text FROM users WHERE username = "
		       "'kboff%c%c'",
		       tolower((unsigned char)tags[i][0]), tolower((unsigned char)tags[i][1]));
	}
}

int
main(int argc, char **argv)
{
	struct tenv t;
	struct stat st;
	char nm[1024];

	if (argc < 5) {
		fprintf(stderr, "usage: %s BIOBANKD UI_SOURCE_DIR FIXTURES_DIR ARTIFACT_DIR\n",
		        argv[0]);
		return 2;
	}
	const char *srcdir = argv[2], *fixtures = argv[3], *artifacts = argv[4];
	snprintf(nm, sizeof(nm), "%s/node_modules/playwright-core/package.json", srcdir);
	/* A browser test that cannot run has not passed: each missing piece fails it. */
	if (access("/usr/bin/chromium", X_OK) != 0)
		tap_bail("no /usr/bin/chromium (apt-get install chromium)");
	if (stat(nm, &st) != 0)
		tap_bail("no tests/ui/node_modules (npm ci --prefix tests/ui)");
	if (system("node --version >/dev/null 2>&1") != 0)
		tap_bail("no node");
	snprintf(nm, sizeof(nm), "%s/rack-scans/headerless-with-rack.csv", fixtures);
	if (stat(nm, &st) != 0)
		tap_bail("no shared fixtures (../shared/fixtures)");

	bool signin = strcmp(UI_DRIVER, "signin.mjs") == 0;
	snprintf(nm, sizeof(nm), "%s/../sso/node_modules/oidc-provider/package.json", srcdir);
	if (signin && stat(nm, &st) != 0)
		tap_bail("no tests/sso/node_modules (npm ci --prefix tests/sso)");

	tenv_setup(&t, "ui", argc, argv);
	world_make(&t);
	/* The page is driven on a site in Paris with a label printer (a file); the
	 * daemon tenv_setup started has the defaults (UTC, no printer, no provider). */
	struct daemon site = { 0 };
	char printers[1200];
	snprintf(printers, sizeof(printers), "--printers=bench-1=file:%s/printed.zpl", artifacts);
	const char *site_args[] = { "--timezone=Europe/Paris", printers, NULL };
	mkdir(artifacts, 0755);
	if ((signin ? signin_site(&t, &site, artifacts) : daemon_start(&t, &site, site_args)) != 0)
		tap_bail("cannot start the Paris daemon");
	int status = run_driver(&t, site.url, srcdir, fixtures, artifacts);
	daemon_stop(&site);
	ok(status == 0, "the browser run exited cleanly (status %d)", status);
	if (strcmp(UI_DRIVER, "picking.mjs") == 0)
		picking_checks(&t);
	else if (strcmp(UI_DRIVER, "manager.mjs") == 0)
		manager_checks(&t);
	else if (signin)
		signin_checks(&t);
	else if (strcmp(UI_DRIVER, "register.mjs") == 0)
		register_checks(&t);
	else if (strcmp(UI_DRIVER, "mgrb.mjs") == 0)
		mgrb_checks(&t);
	else if (strcmp(UI_DRIVER, "keyboard.mjs") == 0)
		keyboard_checks(&t);
	else
		database_checks(&t);
	tap_diag("screenshots in %s", artifacts);
	tenv_teardown(&t);
	return tap_done();
}
