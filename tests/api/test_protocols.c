/*
 * test_protocols.c — study protocols (issue 17): a study's free-text
 * timepoints until a manager plans its protocol; then the technician's
 * "M12 " taken as m12 and "12m" refused listing the codes, a timepoint of
 * the other study refused too; the protocol's SPREC defaults, a code typed
 * at the bench, processing times that set the delays, each bad element
 * named; a second version while specimens exist (they keep theirs), two
 * managers saving at once; old free-text timepoints mapped to codes with a
 * corrected event each (a dry run first); visits planned from the
 * enrolment date, done when a specimen comes, missed with a reason; the
 * SPREC filters of the list, the CSV export and FHIR. Every refusal with
 * its code, and nothing left behind.
 */
#include "world.h"

#include "biobank.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char tech[128], manager[128], auditor[128], ssc_manager[128];

static const char protocol_v1[] =
    "{\"reason\":\"protocol of the MASC cohort, amendment 0\",\"timepoints\":["
    "{\"code\":\"baseline\",\"label\":\"Baseline\",\"order\":0,\"day_offset\":0,\"window_days\":14,"
    "\"specimens\":[{\"type\":\"serum\",\"aliquots\":2,\"quantity\":{\"value\":0.5,\"unit\":\"mL\"}"
    ","
    "\"sprec\":\"SER-SST-A-B-N-B-A\"},{\"type\":\"plasma\",\"aliquots\":3,\"sprec\":\"PL1-PED-A-D-"
    "N-A-B\"}]},"
    "{\"code\":\"M12\",\"label\":\"Month 12\",\"order\":1,\"day_offset\":365,\"window_days\":30,"
    "\"specimens\":[{\"type\":\"serum\",\"aliquots\":2,\"sprec\":\"SER-SST-A-B-N-B-A\"}]}]}";

/* The first value of a query as the superuser, in buf ("" when none). */
static const char *sql_text(struct tenv *t, char buf[512], const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *
sql_text(struct tenv *t, char buf[512], const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	bool done;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	char *v = sql_value(t, sql, &done);
	snprintf(buf, 512, "%s", v != NULL ? v : "");
	free(v);
	return buf;
}

/* Everything a refusal must leave as it was, as one line of counts. */
static const char *
footprint(struct tenv *t, char buf[512])
{
	return sql_text(
	    t, buf,
	    "SELECT row((SELECT count(*) FROM specimens), (SELECT count(*) FROM events),"
	    " (SELECT count(*) FROM protocol_versions), (SELECT count(*) FROM "
	    "protocol_timepoints),"
	    " (SELECT count(*) FROM visits), (SELECT count(*) FROM audit_log),"
	    " (SELECT string_agg(id || timepoint || COALESCE(sprec, ''), ',' ORDER BY id)"
	    " FROM specimens))::text");
}

/* A refused request: status, code, the field named (NULL: none checked), nothing changed. */
static void
refused(struct tenv *t, const char *method, const char *path, const char *token, const char *body,
        long status, const char *code, const char *field, const char *what)
{
	char before[512], after[512];
	struct resp r;

	footprint(t, before);
	api(t, method, path, token, body, &r);
	ok(is_problem(&r, status), "%s: %ld", what, status);
	if (code != NULL)
		is_str(jstr(&r, "code"), code, "  code %s", code);
	if (field != NULL)
		ok(problem_names_field(&r, field), "  names %s", field);
	is_str(footprint(t, after), before, "  nothing left behind");
	resp_free(&r);
}

/* Register a specimen; 201 expected: its ID in id (may be NULL) and the answer in out (may be
 * NULL). extra: more members of the body, starting with a comma, or "". */
static bool
reg(struct tenv *t, const char *study, const char *participant, const char *type,
    const char *timepoint, const char *extra, char id[16], struct resp *out)
{
	char body[1024];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"%s\",\"code\":\"%s\"},\"type\":\"%s\","
	         "\"timepoint\":\"%s\",\"collected_at\":\"2026-03-01T09:00:00Z\","
	         "\"quantity\":{\"value\":2,\"unit\":\"mL\"}%s}",
	         study, participant, type, timepoint, extra);
	api(t, "POST", "/api/v1/specimens", tech, body, &r);
	bool done = r.status == 201 && jstr(&r, "id") != NULL;
	if (done && id != NULL)
		snprintf(id, 16, "%s", jstr(&r, "id"));
	if (!done)
		tap_diag("register failed: %ld %s", r.status, r.body);
	if (out != NULL)
		*out = r;
	else
		resp_free(&r);
	return done;
}

static void
register_body(char *body, size_t n, const char *timepoint, const char *extra)
{
	snprintf(body, n,
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
	         "\"timepoint\":\"%s\",\"collected_at\":\"2026-03-01T09:00:00Z\"%s}",
	         timepoint, extra);
}

static char legacy_12m[16], legacy_month[16];

/* Before a protocol: free text, and nothing is planned. */
static void
free_text_before(struct tenv *t)
{
	struct resp r;

	ok(reg(t, "MASC", "P001", "serum", "12m", "", legacy_12m, NULL),
	   "without a protocol a timepoint is free text (12m)");
	ok(reg(t, "MASC", "P002", "serum", "Month-12", "", legacy_month, NULL), "  and Month-12");
	api(t, "GET", "/api/v1/studies/MASC/protocol", auditor, NULL, &r);
	ok(is_problem(&r, 404), "GET the protocol of a study without one: 404");
	is_str(jstr(&r, "code"), "protocol-not-found", "  code protocol-not-found");
	resp_free(&r);
	api(t, "GET", "/api/v1/participants/MASC/P001/visits", auditor, NULL, &r);
	is_str(jstr(&r, "code"), "protocol-not-found", "visits of a study without a protocol: 404");
	resp_free(&r);
	refused(t, "POST", "/api/v1/studies/SSC/timepoint-mappings", ssc_manager,
	        "{\"mappings\":[{\"from\":\"w4\",\"to\":\"week4\"}],\"reason\":\"tidy\"}", 409,
	        "protocol-required", NULL, "mapping timepoints of a study without a protocol");
}

/* What a manager, and a hostile client, send as a protocol. */
static void
protocol_refusals(struct tenv *t)
{
	static const char path[] = "/api/v1/studies/MASC/protocol";

	refused(t, "PUT", path, tech, protocol_v1, 403, "forbidden", NULL,
	        "a technician cannot plan the protocol");
	refused(t, "PUT", path, auditor, protocol_v1, 403, "forbidden", NULL, "nor an auditor");
	refused(t, "PUT", "/api/v1/studies/MASC/protocol", ssc_manager, protocol_v1, 404,
	        "study-not-found", NULL, "a manager of SSC does not see MASC's protocol");
	refused(t, "PUT", "/api/v1/studies/NOPE/protocol", manager, protocol_v1, 404,
	        "study-not-found", NULL, "a study that does not exist");
	refused(t, "PUT", path, manager,
	        "{\"timepoints\":[{\"code\":\"M12\",\"label\":\"a\",\"day_offset\":1},"
	        "{\"code\":\"m12 \",\"label\":\"b\",\"day_offset\":2}]}",
	        400, "listed-twice", "timepoints[1].code", "M12 and \"m12 \" are one timepoint");
	refused(t, "PUT", path, manager,
	        "{\"timepoints\":[{\"code\":\"Month twelve!\",\"label\":\"a\",\"day_offset\":1}]}",
	        400, "value-malformed", "timepoints[0].code", "a code with blanks and !");
	refused(t, "PUT", path, manager,
	        "{\"timepoints\":[{\"code\":\"m1\",\"label\":\"a\",\"day_offset\":1,"
	        "\"specimens\":[{\"type\":\"blood-ish\"}]}]}",
	        400, "unknown-specimen-type", "timepoints[0].specimens[0].type",
	        "an unknown specimen type");
	refused(t, "PUT", path, manager,
	        "{\"timepoints\":[{\"code\":\"m1\",\"label\":\"a\",\"day_offset\":1,"
	        "\"specimens\":[{\"type\":\"serum\",\"sprec\":\"SER-SST-Q-B-N-B-A\"}]}]}",
	        400, "sprec-invalid", "timepoints[0].specimens[0].sprec",
	        "a SPREC default with a bad pre-centrifugation element");
	refused(
	    t, "PUT", path, manager,
	    "{\"timepoints\":[{\"code\":\"m1\",\"label\":\"a\",\"day_offset\":1,"
	    "\"specimens\":[{\"type\":\"serum\",\"quantity\":{\"value\":0,\"unit\":\"mL\"}}]}]}",
	    400, "value-out-of-range", "timepoints[0].specimens[0].quantity.value",
	    "an expected quantity of 0");
	refused(t, "PUT", path, manager, "{\"timepoints\":[]}", 400, NULL, "timepoints",
	        "a protocol without timepoints");
	refused(
	    t, "PUT", path, manager,
	    "{\"timepoints\":[{\"code\":\"m1\",\"label\":\"a\",\"day_offset\":1,\"colour\":1}]}",
	    400, "invalid-input", "timepoints[0].colour", "an unknown field");
	refused(t, "PUT", path, manager,
	        "{\"timepoints\":[{\"code\":\"m1\",\"label\":\"a\",\"day_offset\":99999999}]}", 400,
	        NULL, "timepoints[0].day_offset", "a day offset of 270,000 years");
	refused(t, "PUT", path, manager, "{\"timepoints\":[{\"code\":\"m1\",", 400, NULL, NULL,
	        "a body cut short");

	/* 101 timepoints: more than a protocol has */
	struct bb_buf b = { 0 };
	bb_buf_puts(&b, "{\"timepoints\":[");
	for (int i = 0; i < 101; i++)
		bb_buf_printf(&b, "%s{\"code\":\"t%d\",\"label\":\"T\",\"day_offset\":%d}",
		              i ? "," : "", i, i);
	bb_buf_puts(&b, "]}");
	refused(t, "PUT", path, manager, b.data, 400, NULL, "timepoints", "101 timepoints");
	bb_buf_free(&b);

	/* A megabyte of label */
	size_t big = 1100 * 1024;
	char *huge = malloc(big + 200);
	int n =
	    snprintf(huge, 200, "{\"timepoints\":[{\"code\":\"m1\",\"day_offset\":1,\"label\":\"");
	memset(huge + n, 'x', big);
	strcpy(huge + n + big, "\"}]}");
	char before[512], after[512];
	struct resp r;
	footprint(t, before);
	api(t, "PUT", path, manager, huge, &r);
	ok(r.status == 413 || r.status == 400, "a megabyte of label is refused (%ld%s%s)", r.status,
	   r.status ? "" : ": ", r.status ? "" : r.error);
	is_str(footprint(t, after), before, "  nothing left behind");
	resp_free(&r);
	free(huge);

	struct resp w;
	const char *hdr[] = { NULL };
	http_h(t->d.url, "PUT", path, manager, "text/plain", protocol_v1, strlen(protocol_v1), hdr,
	       &w);
	ok(is_problem(&w, 415), "a protocol sent as text/plain: 415");
	resp_free(&w);
}

static void
protocol_v1_saved(struct tenv *t)
{
	struct resp r;
	char buf[512];

	api(t, "PUT", "/api/v1/studies/MASC/protocol", manager, protocol_v1, &r);
	is_int(r.status, 200, "a manager saves the protocol: 200");
	is_int((long)jnum(&r, "version", 0), 1, "  version 1");
	is_str(jstr(&r, "timepoints.1.code"), "m12", "  M12 is stored as its one spelling m12");
	is_str(jstr(&r, "timepoints.0.specimens.0.type"), "plasma", "  expected specimens listed");
	is_int((long)jnum(&r, "timepoints.0.specimens.1.aliquots", 0), 2, "  with their aliquots");
	is_str(jstr(&r, "timepoints.0.specimens.1.quantity.unit"), "mL", "  and quantity");
	resp_free(&r);
	is_str(sql_text(
	           t, buf,
	           "SELECT action || ' ' || actor || ' ' || reason || ' ' || (after ->> 'version')"
	           " FROM audit_log WHERE entity = 'protocol' AND entity_id = 'MASC'"),
	       "create boss protocol of the MASC cohort, amendment 0 1",
	       "the audit log has the protocol, who made it and why");
	api(t, "GET", "/api/v1/studies/MASC/protocol", tech, NULL, &r);
	is_int((long)jnum(&r, "version", 0), 1, "a technician reads the protocol in force");
	ok(r.json && cJSON_IsTrue(cJSON_GetObjectItem(r.json, "current")), "  marked current");
	resp_free(&r);
	api(t, "GET", "/api/v1/audit-log?entity=protocol", auditor, NULL, &r);
	is_str(jstr(&r, "items.0.entity_id"), "MASC", "an auditor finds it in the audit log");
	resp_free(&r);

	/* SSC plans its own, with a timepoint MASC does not have */
	api(t, "PUT", "/api/v1/studies/SSC/protocol", ssc_manager,
	    "{\"timepoints\":[{\"code\":\"week4\",\"label\":\"Week 4\",\"day_offset\":28}]}", &r);
	is_int(r.status, 200, "SSC's manager saves SSC's protocol");
	resp_free(&r);
}

/* What the technician types at the bench. */
static void
timepoints_at_the_bench(struct tenv *t)
{
	char body[1024], id[16], child[16], buf[512];
	struct resp r;

	ok(reg(t, "MASC", "P001", "serum", "M12 ", "", id, &r), "\"M12 \" with a space registers");
	is_str(jstr(&r, "timepoint"), "m12", "  as m12");
	is_int((long)jnum(&r, "protocol_version", 0), 1, "  under protocol version 1");
	is_str(jstr(&r, "sprec"), "SER-SST-A-B-N-B-A",
	       "  with the protocol's SPREC default for serum");
	resp_free(&r);
	is_str(
	    sql_text(t, buf,
	             "SELECT status || ' ' || actual_date FROM visits v JOIN participants p ON p.id"
	             " = v.participant_id WHERE p.code = 'P001' AND v.timepoint = 'm12'"),
	    "done 2026-03-01", "the visit m12 of P001 is done, on the day of collection");

	register_body(body, sizeof(body), "12m", "");
	refused(t, "POST", "/api/v1/specimens", tech, body, 400, "timepoint-not-in-protocol",
	        "timepoint", "12m is not a code of the protocol");
	api(t, "POST", "/api/v1/specimens", tech, body, &r);
	ok(r.json && cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "allowed")) == 2 &&
	       strcmp(jstr(&r, "allowed.0"), "baseline") == 0 &&
	       strcmp(jstr(&r, "allowed.1"), "m12") == 0,
	   "  the problem lists the allowed codes: baseline, m12");
	ok(strstr(jstr(&r, "detail") ? jstr(&r, "detail") : "", "baseline, m12") != NULL,
	   "  and says them in its detail");
	resp_free(&r);
	register_body(body, sizeof(body), "week4", "");
	refused(t, "POST", "/api/v1/specimens", tech, body, 400, "timepoint-not-in-protocol",
	        "timepoint", "week4, a timepoint of SSC, is not one of MASC's");
	register_body(body, sizeof(body), "12m", ",\"aliquots\":[{\"tube_barcode\":\"TB-PRO-1\"}]");
	refused(t, "POST", "/api/v1/specimens", tech, body, 400, "timepoint-not-in-protocol",
	        "timepoint", "the pre-barcoded-aliquots form is held to the protocol too");

	/* an inventory file is held to the protocol too, row by row */
	static const char file_bad[] =
	    "study,participant_code,sex,diagnosis,specimen_type,timepoint,"
	    "collected_at\nMASC,P001,female,DM,serum,M12,2026-01-01T10:00:00Z\n"
	    "MASC,P001,female,DM,serum,12m,2026-01-01T10:00:00Z\n";
	char before[512], after[512];
	footprint(t, before);
	http(t->d.url, "POST", "/api/v1/imports?commit=true", manager, "text/csv", file_bad,
	     strlen(file_bad), &r);
	ok(is_problem(&r, 422), "an inventory file with a row at 12m: refused 422");
	is_str(jstr(&r, "problems.0.code"), "timepoint-not-in-protocol",
	       "  row 3 is timepoint-not-in-protocol");
	is_int((long)jnum(&r, "problems.0.row", 0), 3, "  naming the row");
	is_str(jstr(&r, "problems.0.column"), "timepoint", "  and the column");
	ok(jstr(&r, "problems.1.row") == NULL, "  row 2 (M12) is fine");
	resp_free(&r);
	is_str(footprint(t, after), before, "  nothing left behind");
	static const char file_good[] =
	    "study,participant_code,sex,diagnosis,specimen_type,timepoint,"
	    "collected_at\nMASC,P001,female,DM,serum,Month 12,"
	    "2026-01-01T10:00:00Z\n";
	http(t->d.url, "POST", "/api/v1/imports?commit=true", manager, "text/csv", file_good,
	     strlen(file_good), &r);
	is_int(r.status, 201, "a file at Month 12 imports");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM specimens WHERE timepoint = 'm12' AND"
	                  " protocol_version = 1 AND collected_at = '2026-01-01T10:00:00Z'"),
	       1, "  as m12 under version 1");

	/* aliquots and derivatives take the parent's version and code */
	ok(reg(t, "MASC", "P001", "serum", "baseline", ",\"aliquots\":2", id, &r),
	   "a baseline serum with two aliquots");
	is_str(jstr(&r, "aliquots.0.sprec"), "SER-SST-A-B-N-B-A",
	       "  the aliquots carry its SPREC code");
	is_int((long)jnum(&r, "aliquots.1.protocol_version", 0), 1, "  and its protocol version");
	snprintf(child, sizeof(child), "%s",
	         jstr(&r, "aliquots.0.id") ? jstr(&r, "aliquots.0.id") : "");
	resp_free(&r);
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/derivatives", child);
	api(t, "POST", path, tech, "{\"type\":\"dna\",\"quantity\":{\"value\":5,\"unit\":\"ug\"}}",
	    &r);
	is_int(r.status, 201, "a derivative of an aliquot");
	is_str(jstr(&r, "timepoint"), "baseline", "  keeps the timepoint");
	ok(jstr(&r, "sprec") == NULL, "  but not the code: other material");
	resp_free(&r);
}

static void
sprec_at_the_bench(struct tenv *t)
{
	char body[1024], id[16];
	struct resp r;

	ok(reg(t, "MASC", "P002", "serum", "baseline", ",\"sprec\":\" ser-sst-c-b-n-b-a \"", id,
	       &r),
	   "a SPREC code typed at the bench, lower case with blanks");
	is_str(jstr(&r, "sprec"), "SER-SST-C-B-N-B-A",
	       "  is stored in capitals, overriding the default");
	resp_free(&r);
	register_body(body, sizeof(body), "baseline", ",\"sprec\":\"SER-SST-Q-B-N-B-A\"");
	refused(t, "POST", "/api/v1/specimens", tech, body, 400, "sprec-invalid", "sprec",
	        "a pre-centrifugation element Q");
	api(t, "POST", "/api/v1/specimens", tech, body, &r);
	is_str(jstr(&r, "element"), "pre_centrifugation", "  the problem names the element");
	is_str(jstr(&r, "value"), "Q", "  and the bad value");
	resp_free(&r);
	register_body(body, sizeof(body), "baseline", ",\"sprec\":\"SER-XYZ-Q-B-N-B-A\"");
	api(t, "POST", "/api/v1/specimens", tech, body, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "sprec") &&
	       jstr(&r, "errors.1.element") != NULL,
	   "two bad elements: both listed (%s, %s)", jstr(&r, "errors.0.element"),
	   jstr(&r, "errors.1.element"));
	resp_free(&r);
	register_body(body, sizeof(body), "baseline", ",\"sprec\":\"SER-SST\"");
	refused(t, "POST", "/api/v1/specimens", tech, body, 400, "sprec-invalid", "sprec",
	        "a code of two elements");
	register_body(body, sizeof(body), "baseline", ",\"sprec\":\"TIS-SST-A-B-N-B-A\"");
	refused(t, "POST", "/api/v1/specimens", tech, body, 400, "sprec-invalid", "sprec",
	        "a tissue type with a tube container (no such fluid code)");

	/* the bench's processing times set the delays */
	ok(reg(t, "MASC", "P002", "serum", "baseline",
	       ",\"processing\":{\"centrifuged_at\":\"2026-03-01T12:30:00Z\","
	       "\"pre_centrifugation_temperature\":\"rt\",\"frozen_at\":\"2026-03-01T13:10:00Z\","
	       "\"post_centrifugation_temperature\":\"cold\"}",
	       id, &r),
	   "processing times recorded at the bench");
	is_str(jstr(&r, "sprec"), "SER-SST-C-B-N-A-A",
	       "  3.5 h at room temperature is C, 40 min cold is A");
	resp_free(&r);
	/* SPREC counts the post-centrifugation delay from the end of the spin: 12:30 to 12:55,
	 * then 55 min cold (A); from its start it would have been 80 min (C). */
	ok(reg(t, "MASC", "P002", "serum", "baseline",
	       ",\"processing\":{\"centrifuged_at\":\"2026-03-01T12:30:00Z\","
	       "\"centrifugation_ended_at\":\"2026-03-01T12:55:00Z\","
	       "\"pre_centrifugation_temperature\":\"rt\",\"frozen_at\":\"2026-03-01T13:50:00Z\","
	       "\"post_centrifugation_temperature\":\"cold\"}",
	       id, &r),
	   "the centrifugation's start and end recorded at the bench");
	is_str(jstr(&r, "sprec"), "SER-SST-C-B-N-A-A",
	       "  the post-centrifugation delay runs from the end of the spin: 55 min cold is A");
	resp_free(&r);
	register_body(body, sizeof(body), "baseline",
	              ",\"processing\":{\"centrifuged_at\":\"2026-03-01T12:30:00Z\","
	              "\"centrifugation_ended_at\":\"2026-03-01T12:15:00Z\","
	              "\"pre_centrifugation_temperature\":\"rt\"}");
	refused(t, "POST", "/api/v1/specimens", tech, body, 400, "date-out-of-range",
	        "processing.centrifugation_ended_at", "a centrifugation ending before it began");
	register_body(body, sizeof(body), "baseline",
	              ",\"processing\":{\"centrifugation_ended_at\":\"2026-03-01T12:15:00Z\"}");
	refused(t, "POST", "/api/v1/specimens", tech, body, 400, "value-required",
	        "processing.centrifuged_at", "a centrifugation's end without its start");
	register_body(
	    body, sizeof(body), "baseline",
	    ",\"processing\":{\"centrifuged_at\":\"2026-03-01T12:30:00Z\","
	    "\"centrifugation_ended_at\":\"2026-03-01T12:45:00Z\","
	    "\"pre_centrifugation_temperature\":\"rt\",\"frozen_at\":\"2026-03-01T12:40:00Z\","
	    "\"post_centrifugation_temperature\":\"cold\"}");
	refused(t, "POST", "/api/v1/specimens", tech, body, 400, "date-out-of-range",
	        "processing.frozen_at", "frozen before the centrifugation ended");
	register_body(body, sizeof(body), "baseline",
	              ",\"processing\":{\"centrifuged_at\":\"2026-03-01T12:30:00Z\"}");
	refused(t, "POST", "/api/v1/specimens", tech, body, 400, "value-required",
	        "processing.pre_centrifugation_temperature",
	        "a centrifugation time without its temperature");
	register_body(body, sizeof(body), "baseline",
	              ",\"processing\":{\"centrifuged_at\":\"2026-03-01T08:30:00Z\","
	              "\"pre_centrifugation_temperature\":\"rt\"}");
	refused(t, "POST", "/api/v1/specimens", tech, body, 400, "date-out-of-range",
	        "processing.centrifuged_at", "centrifuged before it was collected");
	register_body(body, sizeof(body), "baseline",
	              ",\"processing\":{\"frozen_at\":\"2026-03-01T10:00:00Z\","
	              "\"post_centrifugation_temperature\":\"warm\"}");
	refused(t, "POST", "/api/v1/specimens", tech, body, 400, NULL,
	        "processing.post_centrifugation_temperature",
	        "a temperature that is not rt, cold or body");
}

/* A new version while specimens exist, and two managers at once. */
struct saver {
	struct tenv *t;
	const char *token, *body;
	long status;
	char code[64];
};

static void *
save(void *arg)
{
	struct saver *s = arg;
	struct resp r;

	api(s->t, "PUT", "/api/v1/studies/MASC/protocol", s->token, s->body, &r);
	s->status = r.status;
	snprintf(s->code, sizeof(s->code), "%s", jstr(&r, "code") ? jstr(&r, "code") : "");
	resp_free(&r);
	return NULL;
}

static const char protocol_v2[] =
    "{\"reason\":\"amendment 1: year 2\",\"expected_version\":1,\"timepoints\":["
    "{\"code\":\"baseline\",\"label\":\"Baseline\",\"day_offset\":0,\"window_days\":14,"
    "\"specimens\":[{\"type\":\"serum\",\"aliquots\":2,\"sprec\":\"SER-SST-B-D-N-A-A\"}]},"
    "{\"code\":\"m12\",\"label\":\"Month 12\",\"day_offset\":365,\"window_days\":30},"
    "{\"code\":\"y2\",\"label\":\"Year 2\",\"day_offset\":730,\"window_days\":30}]}";

static void
versions(struct tenv *t)
{
	char id[16], buf[512];
	struct resp r;

	api(t, "PUT", "/api/v1/studies/MASC/protocol", manager, protocol_v2, &r);
	is_int((long)jnum(&r, "version", 0), 2, "amendment 1 saved as version 2");
	resp_free(&r);
	is_int(sql_intf(t,
	                "SELECT count(*) FROM specimens WHERE id = '%s' AND protocol_version = 1",
	                legacy_12m) +
	           sql_int(t, "SELECT count(*) FROM specimens WHERE protocol_version = 2"),
	       0, "specimens already there keep their version (none moved to 2)");
	ok(sql_int(t, "SELECT count(*) FROM specimens WHERE protocol_version = 1") >= 3,
	   "  those registered under version 1 still say 1");
	ok(reg(t, "MASC", "P001", "serum", "y2", "", id, &r), "y2, new in version 2, registers");
	is_int((long)jnum(&r, "protocol_version", 0), 2, "  under version 2");
	ok(jstr(&r, "sprec") == NULL, "  y2 has no SPREC default: none");
	resp_free(&r);
	ok(reg(t, "MASC", "P001", "serum", "baseline", "", id, &r), "baseline under version 2");
	is_str(jstr(&r, "sprec"), "SER-SST-B-D-N-A-A", "  gets version 2's default");
	resp_free(&r);
	api(t, "GET", "/api/v1/studies/MASC/protocol/versions/1", auditor, NULL, &r);
	is_str(jstr(&r, "timepoints.0.specimens.1.sprec"), "SER-SST-A-B-N-B-A",
	       "version 1 reads as it was");
	ok(r.json && cJSON_IsFalse(cJSON_GetObjectItem(r.json, "current")), "  not current");
	resp_free(&r);
	api(t, "GET", "/api/v1/studies/MASC/protocol/versions", auditor, NULL, &r);
	is_int((long)jnum(&r, "items.0.version", 0), 2, "the versions, newest first");
	is_str(jstr(&r, "items.0.reason"), "amendment 1: year 2", "  with their reasons");
	resp_free(&r);
	api(t, "GET", "/api/v1/studies/MASC/protocol/versions/9", auditor, NULL, &r);
	ok(is_problem(&r, 404), "a version that does not exist: 404");
	is_str(jstr(&r, "code"), "protocol-not-found", "  code protocol-not-found");
	resp_free(&r);
	api(t, "GET", "/api/v1/studies/MASC/protocol/versions/two", auditor, NULL, &r);
	ok(is_problem(&r, 404), "a version that is not a number: 404");
	resp_free(&r);
	is_str(sql_text(t, buf,
	                "SELECT before ->> 'version' || '>' || (after ->> 'version') FROM audit_log"
	                " WHERE entity = 'protocol' AND action = 'update'"),
	       "1>2", "the audit log holds the protocol before and after");

	/* two managers read version 2 and save at once */
	const char *v3 =
	    "{\"expected_version\":2,\"timepoints\":[{\"code\":\"baseline\","
	    "\"label\":\"Baseline\",\"day_offset\":0},{\"code\":\"m12\",\"label\":\"M12\","
	    "\"day_offset\":365},{\"code\":\"y2\",\"label\":\"Y2\",\"day_offset\":730}]}";
	struct saver a = { t, manager, v3, 0, "" }, b = { t, t->admin_token, v3, 0, "" };
	pthread_t ta, tb;
	pthread_create(&ta, NULL, save, &a);
	pthread_create(&tb, NULL, save, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ok((a.status == 200 && b.status == 409) || (a.status == 409 && b.status == 200),
	   "two managers saving version 3 at once: one saves, one is told (%ld, %ld)", a.status,
	   b.status);
	ok(strcmp(a.code, "protocol-changed") == 0 || strcmp(b.code, "protocol-changed") == 0,
	   "  with protocol-changed");
	is_int(sql_int(t, "SELECT max(version) FROM protocol_versions v JOIN studies s ON s.id ="
	                  " v.study_id WHERE s.code = 'MASC'"),
	       3, "  one version 3, no version 4");
	/* without expected_version both are kept, one after the other */
	const char *plain =
	    "{\"timepoints\":[{\"code\":\"baseline\",\"label\":\"Baseline\","
	    "\"day_offset\":0},{\"code\":\"m12\",\"label\":\"M12\",\"day_offset\":365},"
	    "{\"code\":\"y2\",\"label\":\"Y2\",\"day_offset\":730}]}";
	struct saver c = { t, manager, plain, 0, "" }, d = { t, t->admin_token, plain, 0, "" };
	pthread_create(&ta, NULL, save, &c);
	pthread_create(&tb, NULL, save, &d);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ok(c.status == 200 && d.status == 200, "without expected_version both are saved");
	is_int(sql_int(t, "SELECT count(DISTINCT version) FROM protocol_versions v JOIN studies s"
	                  " ON s.id = v.study_id WHERE s.code = 'MASC'"),
	       5, "  as versions 4 and 5, one after the other");
}

static void
mappings(struct tenv *t)
{
	static const char path[] = "/api/v1/studies/MASC/timepoint-mappings";
	static const char body[] = "{\"mappings\":[{\"from\":\"12m\",\"to\":\"m12\"},"
	                           "{\"from\":\"Month-12\",\"to\":\"M12\"},"
	                           "{\"from\":\"month 12 \",\"to\":\"m12\"}],"
	                           "\"reason\":\"free text of 2025 mapped to the protocol\"%s}";
	char b[512], buf[512], before[512], after[512];
	struct resp r;

	snprintf(b, sizeof(b), body, "");
	refused(t, "POST", path, tech, b, 403, "forbidden", NULL, "a technician cannot map");
	refused(t, "POST", path, manager,
	        "{\"mappings\":[{\"from\":\"12m\",\"to\":\"y9\"}],\"reason\":\"x\"}", 400,
	        "timepoint-not-in-protocol", "mappings[0].to",
	        "mapping to a code the protocol lacks");
	refused(
	    t, "POST", path, manager,
	    "{\"mappings\":[{\"from\":\"12m\",\"to\":\"m12\"},{\"from\":\"12m\",\"to\":\"y2\"}],"
	    "\"reason\":\"x\"}",
	    400, "listed-twice", "mappings[1].from", "12m mapped twice");
	refused(t, "POST", path, manager, "{\"mappings\":[{\"from\":\"12m\",\"to\":\"m12\"}]}", 400,
	        NULL, "reason", "a mapping without a reason");
	refused(t, "POST", "/api/v1/studies/MASC/timepoint-mappings", ssc_manager, b, 404,
	        "study-not-found", NULL, "SSC's manager cannot map MASC's timepoints");

	snprintf(b, sizeof(b), body, ",\"dry_run\":true");
	footprint(t, before);
	api(t, "POST", path, manager, b, &r);
	is_int(r.status, 200, "a dry run");
	is_int((long)jnum(&r, "specimens", -1), 2, "  counts the two specimens it would change");
	is_int((long)jnum(&r, "mappings.0.specimens", -1), 1, "  one with 12m");
	is_int((long)jnum(&r, "mappings.2.specimens", -1), 0, "  none with \"month 12 \"");
	resp_free(&r);
	is_str(footprint(t, after), before, "  and changes nothing");

	snprintf(b, sizeof(b), body, "");
	api(t, "POST", path, manager, b, &r);
	is_int(r.status, 200, "the mapping itself");
	is_int((long)jnum(&r, "specimens", -1), 2, "  changes two specimens");
	resp_free(&r);
	is_str(sql_text(t, buf, "SELECT timepoint FROM specimens WHERE id = '%s'", legacy_12m),
	       "m12", "12m is now m12");
	is_str(sql_text(t, buf, "SELECT timepoint FROM specimens WHERE id = '%s'", legacy_month),
	       "m12", "Month-12 is now m12");
	is_str(sql_text(t, buf,
	                "SELECT reason || ' ' || (details #>> '{before,timepoint}') || '>' ||"
	                " (details #>> '{after,timepoint}') FROM events WHERE specimen_id = '%s'"
	                " AND type = 'corrected'",
	                legacy_12m),
	       "free text of 2025 mapped to the protocol 12m>m12",
	       "a corrected event with the reason, before and after");
	is_str(sql_text(t, buf,
	                "SELECT status FROM visits v JOIN participants p ON p.id = v.participant_id"
	                " WHERE p.code = 'P002' AND v.timepoint = 'm12'"),
	       "done", "P002's visit m12 is done now that its specimen is at m12");
	api(t, "POST", path, manager, b, &r);
	is_int((long)jnum(&r, "specimens", -1), 0, "sent again, it changes nothing more");
	resp_free(&r);
}

static void
visits(struct tenv *t)
{
	char buf[512];
	struct resp r;

	api(t, "GET", "/api/v1/participants/MASC/P002/visits", auditor, NULL, &r);
	is_int(r.status, 200, "a participant's visits");
	is_str(jstr(&r, "items.0.timepoint"), "baseline", "  every timepoint of the protocol");
	ok(r.json && jstr(&r, "items.0.planned_date") == NULL,
	   "  no planned date without enrolment");
	resp_free(&r);
	refused(t, "PUT", "/api/v1/participants/MASC/P002/enrolment", tech,
	        "{\"date\":\"2030-01-01\"}", 400, "date-out-of-range", "date",
	        "an enrolment in the future");
	refused(t, "PUT", "/api/v1/participants/MASC/P002/enrolment", tech,
	        "{\"date\":\"10/01/2025\"}", 400, NULL, "date",
	        "a date as a spreadsheet writes it");
	api(t, "PUT", "/api/v1/participants/MASC/P002/enrolment", tech,
	    "{\"date\":\"2025-01-10\",\"reason\":\"from the consent form\"}", &r);
	is_int(r.status, 200, "the enrolment date set");
	is_str(jstr(&r, "items.1.planned_date"), "2026-01-10",
	       "  m12 is planned 365 days after it");
	resp_free(&r);
	is_str(sql_text(t, buf,
	                "SELECT reason FROM audit_log WHERE entity = 'participant' ORDER BY id DESC"
	                " LIMIT 1"),
	       "from the consent form", "  audited with its reason");

	refused(t, "POST", "/api/v1/participants/MASC/P002/visits/y2", tech,
	        "{\"status\":\"missed\"}", 400, "value-required", "reason",
	        "missed without a reason");
	refused(t, "POST", "/api/v1/participants/MASC/P002/visits/y2", tech,
	        "{\"status\":\"done\",\"reason\":\"x\"}", 400, NULL, "status",
	        "done is set by registering a specimen, not by hand");
	refused(t, "POST", "/api/v1/participants/MASC/P002/visits/y9", tech,
	        "{\"status\":\"missed\",\"reason\":\"x\"}", 404, "visit-not-found", NULL,
	        "a timepoint the protocol lacks");
	refused(t, "POST", "/api/v1/participants/MASC/P002/visits/m12", tech,
	        "{\"status\":\"missed\",\"reason\":\"x\"}", 409, "visit-done", NULL,
	        "a visit with specimens cannot be missed");
	refused(t, "POST", "/api/v1/participants/MASC/P002/visits/y2", auditor,
	        "{\"status\":\"missed\",\"reason\":\"x\"}", 403, "forbidden", NULL,
	        "an auditor does not mark visits");
	refused(t, "POST", "/api/v1/participants/MASC/P002/visits/y2", ssc_manager,
	        "{\"status\":\"missed\",\"reason\":\"x\"}", 404, "participant-not-found", NULL,
	        "nor SSC's manager MASC's");
	api(t, "POST", "/api/v1/participants/MASC/P002/visits/Y2%20", tech,
	    "{\"status\":\"not-collected\",\"reason\":\"participant too ill to give blood\"}", &r);
	is_int(r.status, 200, "y2 not collected, with the reason");
	is_str(jstr(&r, "status"), "not-collected", "  so it reads");
	is_str(jstr(&r, "reason"), "participant too ill to give blood", "  with the reason");
	resp_free(&r);
	is_str(sql_text(
	           t, buf,
	           "SELECT reason FROM audit_log WHERE entity = 'visit' ORDER BY id DESC LIMIT 1"),
	       "participant too ill to give blood", "the audit log has it");
}

static void
sprec_in_lists(struct tenv *t)
{
	struct resp r;

	api(t, "GET", "/api/v1/specimens?study=MASC&sprec_pre_centrifugation=c", auditor, NULL, &r);
	is_str(jstr(&r, "items.0.sprec"), "SER-SST-C-B-N-B-A", "filter by pre-centrifugation C");
	is_str(jstr(&r, "items.1.sprec"), "SER-SST-C-B-N-A-A", "  the three C specimens");
	is_str(jstr(&r, "items.2.sprec"), "SER-SST-C-B-N-A-A",
	       "  (the third with its spin's end recorded)");
	ok(jstr(&r, "items.3.id") == NULL, "  and no other");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens?study=MASC&sprec_pre_centrifugation=A,B&sprec_storage=A",
	    auditor, NULL, &r);
	ok(r.status == 200 && jstr(&r, "items.0.id") != NULL, "A,B and storage A: found");
	bool all = true;
	for (int i = 0; i < 50; i++) {
		char p[32];
		snprintf(p, sizeof(p), "items.%d.sprec", i);
		const char *s = jstr(&r, p);
		if (s == NULL)
			break;
		all = all && (s[8] == 'A' || s[8] == 'B') && s[16] == 'A';
	}
	ok(all, "  every one has A or B and storage A");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens?study=MASC&sprec_pre_centrifugation_max_hours=2", auditor,
	    NULL, &r);
	ok(r.status == 200 && jstr(&r, "items.0.id") != NULL, "pre-centrifugation delay under 2 h");
	bool none_c = true;
	for (int i = 0; i < 50; i++) {
		char p[32];
		snprintf(p, sizeof(p), "items.%d.sprec", i);
		const char *s = jstr(&r, p);
		if (s == NULL)
			break;
		none_c = none_c && s[8] != 'C';
	}
	ok(none_c, "  leaves out the 3.5 h ones");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens?sprec_pre_centrifugation=A;DROP", auditor, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "sprec_pre_centrifugation"),
	   "a filter that is not codes: 400 naming it");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens?sprec_pre_centrifugation_max_hours=-1", auditor, NULL, &r);
	ok(is_problem(&r, 400), "a negative number of hours: 400");
	resp_free(&r);

	/* CSV, as a spreadsheet opens it */
	const char *accept[] = { "Accept: text/csv", NULL };
	http_h(t->d.url, "GET", "/api/v1/specimens?study=MASC&sprec_pre_centrifugation=C", auditor,
	       NULL, NULL, 0, accept, &r);
	is_int(r.status, 200, "the CSV export with the filter");
	ok(r.body && strstr(r.body, ",sprec,protocol_version\r\n") != NULL,
	   "  has sprec and protocol_version columns");
	ok(r.body && strstr(r.body, "SER-SST-C-B-N-A-A,1\r\n") != NULL,
	   "  with the code and version");
	int lines = 0;
	for (const char *p = r.body; p && (p = strstr(p, "\r\n")) != NULL; p += 2)
		lines++;
	is_int(lines, 4, "  the header and the three C specimens");
	resp_free(&r);

	/* FHIR */
	char path[600], idbuf[512];
	sql_text(t, idbuf, "SELECT id FROM specimens WHERE sprec = 'SER-SST-C-B-N-A-A'");
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/fhir", idbuf);
	api(t, "GET", path, auditor, NULL, &r);
	is_str(jstr(&r, "processing.0.procedure.coding.0.code"), "SER-SST-C-B-N-A-A",
	       "FHIR Specimen.processing carries the code");
	is_str(jstr(&r, "processing.3.procedure.coding.0.system"),
	       "urn:biobank:sprec:pre_centrifugation", "  and a step per element");
	ok(strstr(jstr(&r, "processing.3.description") ? jstr(&r, "processing.3.description") : "",
	          "2 to 4 h at room temperature") != NULL,
	   "  saying what it stands for");
	resp_free(&r);
	api(t, "GET", "/api/v1/sprec-codes", tech, NULL, &r);
	ok(r.status == 200 && jnum(&r, "items.0.position", 0) == 1, "the SPREC tables are listed");
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "protocols", argc, argv);
	world_make(&t);
	if (make_user(&t, "tech", "technician", "[\"MASC\"]", tech) != 0 ||
	    make_user(&t, "boss", "manager", "[\"MASC\"]", manager) != 0 ||
	    make_user(&t, "sscboss", "manager", "[\"SSC\"]", ssc_manager) != 0 ||
	    make_user(&t, "reader", "auditor", NULL, auditor) != 0)
		return tap_done();
	free_text_before(&t);
	protocol_refusals(&t);
	protocol_v1_saved(&t);
	timepoints_at_the_bench(&t);
	sprec_at_the_bench(&t);
	versions(&t);
	mappings(&t);
	visits(&t);
	sprec_in_lists(&t);

	char dburl[600], *out = NULL;
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t.conninfo);
	const char *env[] = { dburl, NULL };
	const char *args[] = { t.biobankd, "verify-ledger", NULL };
	is_int(run_cmd(args, env, NULL, &out), 0, "verify-ledger is clean afterwards");
	free(out);
	tenv_teardown(&t);
	return tap_done();
}
