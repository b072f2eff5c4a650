/*
 * test_completeness.c — "which participants are missing their month-6
 * serum?" (issue 17): GET /api/v1/studies/{code}/completeness per
 * participant and timepoint, expected against held (in storage only: a
 * registered, consumed or destroyed tube is not held), with the states
 * complete, partial, missing, overdue and missed; filtered by site,
 * timepoint, type and state; as CSV for a spreadsheet (a label that reads
 * as a formula stays text); within the caller's studies; every refusal with
 * its code.
 */
#include "world.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char tech[128], ssc_tech[128], auditor[128];

static const char protocol[] =
    "{\"timepoints\":["
    "{\"code\":\"baseline\",\"label\":\"Baseline\",\"day_offset\":0,\"window_days\":14,"
    "\"specimens\":[{\"type\":\"serum\",\"aliquots\":2},{\"type\":\"plasma\",\"aliquots\":1}]},"
    "{\"code\":\"m6\",\"label\":\"=HYPERLINK(\\\"http://evil.example/\\\",\\\"Month 6\\\")\","
    "\"day_offset\":182,\"window_days\":30,\"specimens\":[{\"type\":\"serum\",\"aliquots\":2}]}]}";

/* Register one specimen; its ID in id, the answer's aliquots' IDs in kids (may be NULL). */
static bool
reg(struct tenv *t, const char *participant, const char *type, const char *timepoint, int aliquots,
    char id[16], char kids[][16])
{
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"%s\"},\"type\":\"%s\","
	         "\"timepoint\":\"%s\",\"collected_at\":\"2026-03-01T09:00:00Z\","
	         "\"quantity\":{\"value\":2,\"unit\":\"mL\"}%s%.0d}",
	         participant, type, timepoint, aliquots ? ",\"aliquots\":" : "", aliquots);
	api(t, "POST", "/api/v1/specimens", tech, body, &r);
	bool done = r.status == 201 && jstr(&r, "id") != NULL;
	if (done) {
		snprintf(id, 16, "%s", jstr(&r, "id"));
		for (int i = 0; kids != NULL && i < aliquots; i++) {
			char p[32];
			snprintf(p, sizeof(p), "aliquots.%d.id", i);
			snprintf(kids[i], 16, "%s", jstr(&r, p) ? jstr(&r, p) : "");
		}
	} else {
		tap_diag("register failed: %ld %s", r.status, r.body);
	}
	resp_free(&r);
	return done;
}

static void
store(struct tenv *t, const char *id, const char *box, const char *pos)
{
	char body[128];

	snprintf(body, sizeof(body), "{\"box\":\"%s\",\"position\":\"%s\"}", box, pos);
	world_act_quietly(t, id, "store", body);
}

static void
enrol(struct tenv *t, const char *participant, const char *date)
{
	char path[128], body[128];
	struct resp r;

	snprintf(path, sizeof(path), "/api/v1/participants/MASC/%s/enrolment", participant);
	snprintf(body, sizeof(body), "{\"date\":\"%s\"}", date);
	api(t, "PUT", path, tech, body, &r);
	if (r.status != 200)
		tap_diag("enrol %s: %ld %s", participant, r.status, r.body);
	resp_free(&r);
}

/* The item of participant at timepoint in a completeness answer, as "state expected/held". */
static const char *
cell(const struct resp *r, const char *participant, const char *timepoint, char buf[64])
{
	snprintf(buf, 64, "(none)");
	for (int i = 0; i < 1000; i++) {
		char p[64], q[64], s[64], e[64], h[64];
		snprintf(p, sizeof(p), "items.%d.participant", i);
		snprintf(q, sizeof(q), "items.%d.timepoint", i);
		if (jstr(r, p) == NULL)
			break;
		if (strcmp(jstr(r, p), participant) != 0 || strcmp(jstr(r, q), timepoint) != 0)
			continue;
		snprintf(s, sizeof(s), "items.%d.state", i);
		snprintf(e, sizeof(e), "items.%d.expected", i);
		snprintf(h, sizeof(h), "items.%d.held", i);
		snprintf(buf, 64, "%s %g/%g", jstr(r, s), jnum(r, h, -1), jnum(r, e, -1));
		break;
	}
	return buf;
}

static void
make_world(struct tenv *t)
{
	char id[16], kids[2][16];
	struct resp r;

	sql_exec(t,
	         "INSERT INTO participants (study_id, code, sex, birth_year, diagnosis)"
	         " SELECT id, c, 'female', 1970, 'DM' FROM studies, unnest(ARRAY['P003', 'P004']) c"
	         " WHERE code = 'MASC'");
	sql_exec(t, "INSERT INTO locations (kind, name) VALUES ('site', 'Annex')");
	sql_exec(t, "INSERT INTO locations (parent_id, kind, name, temperature_c) SELECT id,"
	            " 'freezer', 'Annex freezer', -80 FROM locations WHERE name = 'Annex'");
	sql_exec(t, "INSERT INTO boxes (barcode, rows, cols, location_id) SELECT 'BOX-C', 9, 9, id"
	            " FROM locations WHERE name = 'Annex freezer'");
	api(t, "PUT", "/api/v1/studies/MASC/protocol", t->admin_token, protocol, &r);
	is_int(r.status, 200, "the study's protocol");
	resp_free(&r);
	enrol(t, "P001", "2025-01-10");
	enrol(t, "P002", "2026-11-20");
	enrol(t, "P003", "2024-01-01");

	/* P001 baseline: two serum aliquots and a plasma, all stored: complete */
	if (reg(t, "P001", "serum", "baseline", 2, id, kids)) {
		store(t, kids[0], "BOX-A", "A1");
		store(t, kids[1], "BOX-A", "A2");
	}
	if (reg(t, "P001", "plasma", "baseline", 0, id, NULL))
		store(t, id, "BOX-A", "A3");
	/* P001 m6: one serum in the main lab, one in the annex; a third destroyed */
	if (reg(t, "P001", "serum", "m6", 0, id, NULL))
		store(t, id, "BOX-A", "A4");
	if (reg(t, "P001", "serum", "m6", 0, id, NULL))
		store(t, id, "BOX-C", "A1");
	if (reg(t, "P001", "serum", "m6", 0, id, NULL))
		world_act_quietly(t, id, "destroy", "{\"reason\":\"tube cracked\"}");
	/* P002 baseline: registered, never stored: done, but nothing held */
	reg(t, "P002", "serum", "baseline", 0, id, NULL);
	/* P003 m6: missed */
	api(t, "POST", "/api/v1/participants/MASC/P003/visits/m6", tech,
	    "{\"status\":\"missed\",\"reason\":\"moved abroad\"}", &r);
	is_int(r.status, 200, "P003's m6 missed");
	resp_free(&r);
}

/* held_counts, kept by the triggers, agrees with the tubes counted afresh. */
static void
counts_agree(struct tenv *t, const char *after)
{
	is_int(sql_int(t,
	               "SELECT count(*) FROM ((SELECT study_id, participant_id, timepoint, type, n"
	               " FROM held_counts WHERE n > 0 EXCEPT SELECT study_id, participant_id,"
	               " timepoint, type, count(*) FROM specimens WHERE status = 'in_storage'"
	               " GROUP BY 1, 2, 3, 4) UNION ALL (SELECT study_id, participant_id,"
	               " timepoint, type, count(*) FROM specimens WHERE status = 'in_storage'"
	               " GROUP BY 1, 2, 3, 4 EXCEPT SELECT study_id, participant_id, timepoint,"
	               " type, n FROM held_counts WHERE n > 0)) d"),
	       0, "the held counts agree with the tubes after %s", after);
}

/* Every kind of write that changes what is held, each followed by the counts. */
static void
writes_keep_counts(struct tenv *t)
{
	char id[16], kids[3][16], b[64];
	struct resp r;

	counts_agree(t, "registering, storing and destroying");
	if (reg(t, "P004", "serum", "baseline", 3, id, kids)) {
		char body[256];
		snprintf(body, sizeof(body),
		         "{\"placements\":[{\"position\":\"B1\",\"specimen\":\"%s\"},"
		         "{\"position\":\"B2\",\"specimen\":\"%s\"},{\"position\":\"B3\","
		         "\"specimen\":\"%s\"}]}",
		         kids[0], kids[1], kids[2]);
		api(t, "POST", "/api/v1/boxes/BOX-B/placements", tech, body, &r);
		is_int(r.status, 200, "three aliquots placed in one request");
		resp_free(&r);
		counts_agree(t, "a bulk placement");
		world_act_quietly(t, kids[0], "checkout", "{\"reason\":\"assay\"}");
		counts_agree(t, "a checkout");
		world_act_quietly(t, kids[0], "return",
		                  "{\"box\":\"BOX-B\",\"position\":\"C1\",\"thawed\":true}");
		world_act_quietly(t, kids[1], "move", "{\"box\":\"BOX-B\",\"position\":\"C2\"}");
		counts_agree(t, "a return and a move");
		char path[64];
		snprintf(path, sizeof(path), "/api/v1/specimens/%s", id);
		api(t, "PATCH", path, tech, "{\"type\":\"plasma\",\"reason\":\"wrong tube type\"}",
		    &r);
		is_int(r.status, 200, "the collection's type corrected (down to its aliquots)");
		resp_free(&r);
		counts_agree(t, "a correction of the type");
	}
	api(t, "GET", "/api/v1/studies/MASC/completeness?timepoint=baseline", auditor, NULL, &r);
	is_str(cell(&r, "P004", "baseline", b), "partial 3/3",
	       "P004 baseline: three plasma held, no serum: partial");
	resp_free(&r);
}

static void
states(struct tenv *t)
{
	char b[64];
	struct resp r;

	api(t, "GET", "/api/v1/studies/MASC/completeness", auditor, NULL, &r);
	is_int(r.status, 200, "the completeness report");
	is_str(cell(&r, "P001", "baseline", b), "complete 3/3", "P001 baseline: complete, 3 of 3");
	is_str(cell(&r, "P001", "m6", b), "complete 2/2",
	       "P001 m6: complete across sites; the destroyed tube is not counted");
	is_str(cell(&r, "P002", "baseline", b), "missing 0/3",
	       "P002 baseline: done but nothing in storage is missing");
	is_str(cell(&r, "P002", "m6", b), "missing 0/2", "P002 m6, not due yet: missing");
	is_str(cell(&r, "P003", "baseline", b), "overdue 0/3",
	       "P003 baseline, window long closed: overdue");
	is_str(cell(&r, "P003", "m6", b), "missed 0/2", "P003 m6: missed");
	is_str(cell(&r, "P004", "baseline", b), "missing 0/3",
	       "P004, no enrolment date: missing, never overdue");
	is_int((long)jnum(&r, "summary.complete", -1), 2, "summary: 2 complete");
	is_int((long)jnum(&r, "summary.overdue", -1), 1, "  1 overdue");
	is_int((long)jnum(&r, "summary.missed", -1), 1, "  1 missed");
	is_int((long)jnum(&r, "summary.missing", -1), 4, "  4 missing");
	is_str(jstr(&r, "items.0.window.from"), "2024-12-27",
	       "the window of P001 baseline opens 14 days before");
	is_str(jstr(&r, "items.0.types.1.type"), "serum", "  held per type");
	is_int((long)jnum(&r, "protocol_version", 0), 1, "  under protocol version 1");
	resp_free(&r);

	api(t, "GET", "/api/v1/studies/MASC/completeness?site=Main%20lab", auditor, NULL, &r);
	is_str(cell(&r, "P001", "m6", b), "partial 1/2",
	       "at the main lab alone, P001 m6 is partial");
	resp_free(&r);
	api(t, "GET", "/api/v1/studies/MASC/completeness?site=Annex&timepoint=M6", auditor, NULL,
	    &r);
	is_str(cell(&r, "P001", "m6", b), "partial 1/2", "at the annex too (M6 read as m6)");
	ok(jstr(&r, "items.4.participant") == NULL &&
	       strcmp(jstr(&r, "items.0.timepoint"), "m6") == 0,
	   "  and only m6 is listed");
	resp_free(&r);
	api(t, "GET", "/api/v1/studies/MASC/completeness?type=plasma", auditor, NULL, &r);
	is_str(cell(&r, "P001", "baseline", b), "complete 1/1", "plasma alone");
	is_str(cell(&r, "P001", "m6", b), "(none)", "  m6 expects no plasma: not listed");
	resp_free(&r);
	api(t, "GET", "/api/v1/studies/MASC/completeness?state=overdue", tech, NULL, &r);
	is_str(cell(&r, "P003", "baseline", b), "overdue 0/3", "what is overdue");
	ok(jstr(&r, "items.1.participant") == NULL, "  and nothing else");
	resp_free(&r);
}

static void
csv(struct tenv *t)
{
	const char *accept[] = { "Accept: text/csv", NULL };
	struct resp r;

	api(t, "GET", "/api/v1/studies/MASC/completeness?format=csv", auditor, NULL, &r);
	is_int(r.status, 200, "?format=csv");
	ok(strncmp(r.content_type, "text/csv", 8) == 0, "  is text/csv");
	static const char header[] = "participant,timepoint,label,planned_date,window_days,"
	                             "visit_status,actual_date,state,type,expected,held\r\n";
	ok(r.body && strncmp(r.body, header, strlen(header)) == 0, "  a header row");
	ok(r.body &&
	       strstr(
	           r.body,
	           "P001,baseline,Baseline,2025-01-10,14,done,2026-03-01,complete,serum,2,2\r\n"),
	   "  a row per participant, timepoint and type");
	ok(r.body &&
	       strstr(r.body, "\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"Month 6\"\")\"") !=
	           NULL,
	   "  a label that reads as a formula stays text in a spreadsheet");
	int lines = 0;
	for (const char *p = r.body; p && (p = strstr(p, "\r\n")) != NULL; p += 2)
		lines++;
	is_int(lines, 1 + 4 * 3, "  the header and 4 participants x 3 expected types");
	resp_free(&r);
	http_h(t->d.url, "GET", "/api/v1/studies/MASC/completeness?state=missed", auditor, NULL,
	       NULL, 0, accept, &r);
	ok(strncmp(r.content_type, "text/csv", 8) == 0 && r.body &&
	       strstr(r.body, "P003,m6,") != NULL,
	   "Accept: text/csv answers CSV too");
	resp_free(&r);
}

static void
refusals(struct tenv *t)
{
	static const struct {
		const char *path, *token_name;
		long status;
		const char *code, *field, *what;
	} cases[] = {
		{ "/api/v1/studies/MASC/completeness?state=lost", "auditor", 400,
		  "value-not-allowed", "state", "a state that is not one" },
		{ "/api/v1/studies/MASC/completeness?site=Nowhere", "auditor", 400,
		  "unknown-location", "site", "a site that does not exist" },
		{ "/api/v1/studies/MASC/completeness?format=xlsx", "auditor", 400, NULL, "format",
		  "a format other than json or csv" },
		{ "/api/v1/studies/MASC/completeness?participant=P001", "auditor", 400, NULL,
		  "participant", "a filter it does not have" },
		{ "/api/v1/studies/MASC/completeness", "ssc_tech", 404, "study-not-found", NULL,
		  "a technician of SSC does not see MASC" },
		{ "/api/v1/studies/SSC/completeness", "ssc_tech", 404, "protocol-not-found", NULL,
		  "SSC has no protocol: nothing is expected" },
		{ "/api/v1/studies/NOPE/completeness", "auditor", 404, "study-not-found", NULL,
		  "a study that does not exist" },
	};
	long visits_before = sql_int(t, "SELECT count(*) FROM visits");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct resp r;
		const char *token =
		    strcmp(cases[i].token_name, "auditor") == 0 ? auditor : ssc_tech;

		api(t, "GET", cases[i].path, token, NULL, &r);
		ok(is_problem(&r, cases[i].status), "%s: %ld", cases[i].what, cases[i].status);
		if (cases[i].code != NULL)
			is_str(jstr(&r, "code"), cases[i].code, "  code %s", cases[i].code);
		if (cases[i].field != NULL)
			ok(problem_names_field(&r, cases[i].field) ||
			       (jstr(&r, "detail") && strstr(jstr(&r, "detail"), cases[i].field)),
			   "  names %s", cases[i].field);
		resp_free(&r);
	}
	is_int(sql_int(t, "SELECT count(*) FROM visits"), visits_before,
	       "reading changed no visit");
	struct resp r;
	api(t, "GET", "/api/v1/studies/MASC/completeness", NULL, NULL, &r);
	ok(is_problem(&r, 401), "without a token: 401");
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "completeness", argc, argv);
	world_make(&t);
	if (make_user(&t, "tech", "technician", "[\"MASC\"]", tech) != 0 ||
	    make_user(&t, "ssctech", "technician", "[\"SSC\"]", ssc_tech) != 0 ||
	    make_user(&t, "reader", "auditor", NULL, auditor) != 0)
		return tap_done();
	make_world(&t);
	states(&t);
	csv(&t);
	writes_keep_counts(&t);
	refusals(&t);
	tenv_teardown(&t);
	return tap_done();
}
