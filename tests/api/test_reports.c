/*
 * test_reports.c — reports (inventory, occupancy, the consent-withdrawal
 * worklist and its bulk destruction), the streamed CSV export of the
 * specimen list (100,000 rows, RFC 4180 quoting, the daemon's memory
 * while streaming) and the FHIR R4 Specimen views.
 */
#include "world.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char manager[128], tech[128], auditor[128], masc_reader[128];
static char s1[16], s2[16], s3[16], w1[16], w2[16], w3[16], x1[16];

static int
items(const struct resp *r)
{
	return cJSON_GetArraySize(cJSON_GetObjectItem(r->json, "items"));
}

static void
setup(struct tenv *t)
{
	world_make(t);
	make_user(t, "mona", "manager", NULL, manager);
	make_user(t, "tom", "technician", NULL, tech);
	make_user(t, "aude", "auditor", NULL, auditor);
	make_user(t, "mara", "auditor", "[\"MASC\"]", masc_reader);
	ok(world_register(t, "MASC", "P001", "serum", s1) &&
	       world_register(t, "MASC", "P001", "serum", s2) &&
	       world_register(t, "MASC", "P001", "plasma", s3) &&
	       world_register(t, "MASC", "P002", "serum", w1) &&
	       world_register(t, "MASC", "P002", "dna", w2) &&
	       world_register(t, "MASC", "P002", "serum", w3) &&
	       world_register(t, "SSC", "S001", "serum", x1),
	   "specimens registered");
	world_act_quietly(t, s1, "store", "{\"box\":\"BOX-A\",\"position\":\"A1\"}");
	world_act_quietly(t, s2, "store", "{\"box\":\"BOX-A\",\"position\":\"A2\"}");
	world_act_quietly(t, w1, "store", "{\"box\":\"BOX-B\",\"position\":\"C3\"}");
	world_act_quietly(t, w3, "consume", "{\"reason\":\"used up in assay\"}");
	world_act_quietly(t, x1, "store", "{\"box\":\"TINY\",\"position\":\"A1\"}");
}

static void
inventory(struct tenv *t)
{
	struct resp r;

	api(t, "GET", "/api/v1/reports/inventory", auditor, NULL, &r);
	is_int(r.status, 200, "the inventory report");
	is_int(items(&r), 5, "  has one row per study, type, timepoint and status");
	is_str(jstr(&r, "items.0.study"), "MASC", "  ordered by study");
	is_str(jstr(&r, "items.0.type"), "dna", "  then type");
	ok(jnum(&r, "total", 0) == 7, "  and counts all 7 specimens");
	bool found = false;
	cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r.json, "items"))
	{
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(it, "status"));
		const char *ty = cJSON_GetStringValue(cJSON_GetObjectItem(it, "type"));
		const char *sy = cJSON_GetStringValue(cJSON_GetObjectItem(it, "study"));
		if (st && ty && sy && strcmp(sy, "MASC") == 0 && strcmp(ty, "serum") == 0 &&
		    strcmp(st, "in_storage") == 0)
			found = cJSON_GetNumberValue(cJSON_GetObjectItem(it, "count")) == 3;
	}
	ok(found, "  MASC serum baseline in_storage: 3");
	resp_free(&r);

	api(t, "GET", "/api/v1/reports/inventory?study=SSC", auditor, NULL, &r);
	ok(items(&r) == 1 && jnum(&r, "items.0.count", 0) == 1, "study=SSC: one row of one");
	resp_free(&r);
	api(t, "GET", "/api/v1/reports/inventory", masc_reader, NULL, &r);
	ok(jnum(&r, "total", 0) == 6, "a MASC-only reader counts only MASC (6)");
	resp_free(&r);
	api(t, "GET", "/api/v1/reports/inventory?study=SSC", masc_reader, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "study"),
	   "  and SSC is not a study for her (400)");
	resp_free(&r);
	api(t, "GET", "/api/v1/reports/inventory?study=NOPE", auditor, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "study"), "an unknown study is a 400");
	resp_free(&r);
}

static void
occupancy(struct tenv *t)
{
	struct resp r;
	char path[96];
	long rack = sql_int(t, "SELECT id FROM locations WHERE name = 'Rack 1'");

	snprintf(path, sizeof(path), "/api/v1/reports/occupancy?location=%ld", rack);
	api(t, "GET", path, auditor, NULL, &r);
	is_int(r.status, 200, "occupancy below the rack");
	is_int(items(&r), 4, "  the rack and its three boxes");
	is_str(jstr(&r, "items.0.kind"), "rack", "  the rack first");
	ok(jnum(&r, "items.0.capacity", 0) == 164 && jnum(&r, "items.0.used", 0) == 4 &&
	       jnum(&r, "items.0.free", 0) == 160,
	   "  capacity 164, used 4, free 160");
	is_str(jstr(&r, "items.1.barcode"), "BOX-A", "  then BOX-A");
	ok(jnum(&r, "items.1.used", 0) == 2 && jnum(&r, "items.1.free", 0) == 79,
	   "  with 2 used, 79 free");
	ok(jnum(&r, "items.3.used", 0) == 1 && jnum(&r, "items.3.capacity", 0) == 2,
	   "  TINY holds 1 of 2");
	ok(jnum(&r, "total.used", 0) == 4, "  the total");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/locations/%ld", rack);
	api(t, "GET", path, auditor, NULL, &r);
	ok(jnum(&r, "occupancy.used", -1) == 4 && jnum(&r, "occupancy.capacity", -1) == 164,
	   "  agrees with GET /locations/{id}");
	resp_free(&r);

	api(t, "GET", "/api/v1/reports/occupancy", auditor, NULL, &r);
	is_int(items(&r), 6, "without location: site, freezer, rack and three boxes");
	is_str(jstr(&r, "items.0.name"), "Main lab", "  from the site down");
	ok(jnum(&r, "items.0.used", 0) == 4 && jnum(&r, "items.0.depth", -1) == 0,
	   "  the site sums its boxes");
	resp_free(&r);
	api(t, "GET", "/api/v1/reports/occupancy?location=abc", auditor, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "location"), "location=abc is a 400");
	resp_free(&r);
	api(t, "GET", "/api/v1/reports/occupancy?location=999999", auditor, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "location"),
	   "an unknown location is a 400");
	resp_free(&r);
}

static void
consent_withdrawn(struct tenv *t)
{
	struct resp r;
	char body[256], sql[512];

	api(t, "GET", "/api/v1/reports/consent-withdrawn", auditor, NULL, &r);
	is_int(items(&r), 0, "the worklist starts empty");
	resp_free(&r);
	api(t, "POST", "/api/v1/participants/MASC/P002/consents", t->admin_token,
	    "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"2026-03-10\",\"version\":"
	    "\"v2\"}",
	    &r);
	is_int(r.status, 201, "P002 withdraws biobank consent");
	resp_free(&r);

	api(t, "GET", "/api/v1/reports/consent-withdrawn", auditor, NULL, &r);
	is_int(items(&r), 2,
	       "the worklist holds P002's two held specimens (the consumed one is gone)");
	is_str(jstr(&r, "items.0.id"), w1, "  the stored one");
	is_str(jstr(&r, "items.0.location.box"), "BOX-B", "  with its box");
	is_str(jstr(&r, "items.0.location.position"), "C3", "  and position");
	is_str(jstr(&r, "items.0.location.path.0"), "Main lab", "  and path");
	ok(jstr(&r, "items.0.withdrawn_at") != NULL, "  and when consent was withdrawn");
	is_str(jstr(&r, "items.1.id"), w2, "  and the registered one");
	resp_free(&r);
	api(t, "GET", "/api/v1/reports/consent-withdrawn?limit=1", auditor, NULL, &r);
	const char *cur = jstr(&r, "next_cursor");
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/reports/consent-withdrawn?limit=1&cursor=%s",
	         cur ? cur : "x");
	ok(items(&r) == 1 && cur != NULL, "limit=1 pages");
	resp_free(&r);
	api(t, "GET", path, auditor, NULL, &r);
	ok(items(&r) == 1 && jstr(&r, "next_cursor") == NULL &&
	       strcmp(jstr(&r, "items.0.id"), w2) == 0,
	   "  to the second");
	resp_free(&r);
	api(t, "GET", "/api/v1/reports/consent-withdrawn?cursor=zz", auditor, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "cursor"), "a bad cursor is a 400");
	resp_free(&r);
	api(t, "GET", "/api/v1/reports/consent-withdrawn?limit=0", auditor, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "limit"), "limit=0 is a 400");
	resp_free(&r);

	long events = sql_int(t, "SELECT count(*) FROM events");
	snprintf(body, sizeof(body),
	         "{\"specimens\":[\"%s\",\"%s\",\"%s\",\"%s\"],\"reason\":\"consent withdrawn\"}",
	         w1, s1, w3, w2);
	api(t, "POST", "/api/v1/reports/consent-withdrawn/destroy", manager, body, &r);
	ok(is_problem(&r, 409), "destroying a list with unflagged and consumed specimens is a 409");
	ok(strstr(r.body, s1) && strstr(r.body, "not flagged"), "  naming %s as not flagged", s1);
	ok(strstr(r.body, w3) && strstr(r.body, "consumed, no longer held"),
	   "  naming %s as consumed", w3);
	ok(!strstr(r.body, w1), "  not naming the good ones");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM events"), events, "  no event was written");
	is_int(sql_int(t, "SELECT count(*) FROM specimens WHERE status = 'destroyed'"), 0,
	       "  nothing destroyed");

	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", w1);
	api(t, "POST", "/api/v1/reports/consent-withdrawn/destroy", manager, body, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "reason"), "no reason is a 400");
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"],\"reason\":\"   \"}", w1);
	api(t, "POST", "/api/v1/reports/consent-withdrawn/destroy", manager, body, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "reason"), "a blank reason is a 400");
	resp_free(&r);
	api(t, "POST", "/api/v1/reports/consent-withdrawn/destroy", manager,
	    "{\"specimens\":[\"GHOST\"],\"reason\":\"x\"}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "specimens[0]"),
	   "an unknown tube is a 400");
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"],\"reason\":\"x\"}", w1);
	api(t, "POST", "/api/v1/reports/consent-withdrawn/destroy", tech, body, &r);
	ok(is_problem(&r, 403), "a technician may not destroy in bulk (403)");
	resp_free(&r);
	api(t, "POST", "/api/v1/reports/consent-withdrawn/destroy", masc_reader, body, &r);
	ok(is_problem(&r, 403), "nor an auditor (403)");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM events"), events, "  none of these wrote an event");

	snprintf(body, sizeof(body),
	         "{\"specimens\":[\"%s\",\"%s\"],\"reason\":\"consent withdrawn 2026-03-10\"}", w1,
	         w2);
	api(t, "POST", "/api/v1/reports/consent-withdrawn/destroy", manager, body, &r);
	is_int(r.status, 200, "the worklist is destroyed in bulk");
	ok(jnum(&r, "destroyed", 0) == 2, "  two destroyed");
	is_str(jstr(&r, "items.0.status"), "destroyed", "  each destroyed");
	ok(r.json && cJSON_IsNull(cJSON_GetObjectItem(
	                 cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "items"), 0), "location")),
	   "  and out of its box");
	resp_free(&r);
	snprintf(
	    sql, sizeof(sql),
	    "SELECT count(*) FROM events WHERE type = 'destroyed' AND specimen_id = '%s' AND "
	    "from_box = 'BOX-B'"
	    " AND from_pos = 'C3' AND actor = 'mona' AND reason = 'consent withdrawn 2026-03-10'"
	    " AND details ->> 'workflow' = 'consent_withdrawn'",
	    w1);
	is_int(sql_int(t, sql), 1, "  a destroyed event from BOX-B C3 with reason and actor");
	is_int(sql_int(t, "SELECT count(*) FROM events WHERE type = 'destroyed'"), 2,
	       "  one per specimen");
	api(t, "GET", "/api/v1/reports/consent-withdrawn", auditor, NULL, &r);
	is_int(items(&r), 0, "the worklist is empty again");
	resp_free(&r);
	api(t, "POST", "/api/v1/reports/consent-withdrawn/destroy", manager, body, &r);
	ok(is_problem(&r, 409) && strstr(r.body, "destroyed, no longer held"),
	   "destroying them again is a 409");
	resp_free(&r);
}

static void
fhir(struct tenv *t)
{
	struct resp r;
	char path[128];

	/* Half of it: an aliquot without a quantity would take all and leave s1 consumed. */
	world_act_quietly(t, s1, "aliquots",
	                  "{\"count\":1,\"quantity\":{\"value\":1,\"unit\":\"mL\"}}");
	char *child = sql_value(t, "SELECT id FROM specimens WHERE parent_id IS NOT NULL LIMIT 1",
	                        &(bool){ 0 });
	free(sql_value(t,
	               "UPDATE specimens SET tube_barcode = 'TB-777', notes = 'slightly haemolysed'"
	               " WHERE parent_id IS NOT NULL",
	               &(bool){ 0 }));
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/fhir", s1);
	api(t, "GET", path, auditor, NULL, &r);
	is_int(r.status, 200, "a specimen as FHIR");
	ok(strncmp(r.content_type, "application/fhir+json", 21) == 0,
	   "  as application/fhir+json (%s)", r.content_type);
	is_str(jstr(&r, "resourceType"), "Specimen", "  a Specimen");
	is_str(jstr(&r, "id"), s1, "  whose id is ours");
	is_str(jstr(&r, "identifier.0.system"), "urn:biobank:specimen",
	       "  identified in urn:biobank:specimen");
	is_str(jstr(&r, "status"), "available", "  stored: available");
	is_str(jstr(&r, "type.coding.0.system"), "urn:biobank:specimen-type",
	       "  our type code first");
	is_str(jstr(&r, "type.coding.0.code"), "serum", "  serum");
	is_str(jstr(&r, "type.coding.1.system"), "http://snomed.info/sct", "  then SNOMED CT");
	is_str(jstr(&r, "type.coding.1.code"), "119364003", "  Serum specimen");
	is_str(jstr(&r, "subject.identifier.value"), "MASC/P001", "  the subject by pseudonym");
	/* The birth year as a value of its own: "1968" alone could be a time's microseconds. */
	ok(!strstr(r.body, "female") && !strstr(r.body, ":1968") && !strstr(r.body, ": 1968") &&
	       !strstr(r.body, "\"1968") && !strstr(r.body, "birth") && !strstr(r.body, "gender"),
	   "  and nothing else about the person");
	is_str(jstr(&r, "collection.collectedDateTime"), "2026-03-01T09:30:00Z", "  collected");
	is_str(jstr(&r, "container.0.extension.0.valueString"),
	       "Main lab / Freezer 1 / Rack 1 / BOX-A / A1", "  its storage place");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/fhir/Specimen/%s", child ? child : "");
	api(t, "GET", path, auditor, NULL, &r);
	is_int(r.status, 200, "an aliquot read at /fhir/Specimen/{id}");
	snprintf(path, sizeof(path), "Specimen/%s", s1);
	is_str(jstr(&r, "parent.0.reference"), path, "  refers to its parent");
	is_str(jstr(&r, "accessionIdentifier.value"), s1, "  shares the collection's accession");
	is_str(jstr(&r, "container.0.identifier.0.value"), "TB-777",
	       "  the tube barcode is the container's");
	is_str(jstr(&r, "note.0.text"), "slightly haemolysed", "  notes are notes");
	resp_free(&r);
	free(child);

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/fhir", w1);
	api(t, "GET", path, auditor, NULL, &r);
	is_str(jstr(&r, "status"), "unavailable", "a destroyed specimen is unavailable");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/fhir", x1);
	api(t, "GET", path, masc_reader, NULL, &r);
	ok(is_problem(&r, 404), "an SSC specimen is a 404 for a MASC-only reader");
	resp_free(&r);
	char typo[16];
	snprintf(typo, sizeof(typo), "%s", s1);
	typo[4] = typo[4] == 'A' ? 'B' : 'A';
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/fhir", typo);
	api(t, "GET", path, auditor, NULL, &r);
	ok(is_problem(&r, 400), "a mistyped ID is a 400");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens/NO-TUBE/fhir", auditor, NULL, &r);
	ok(is_problem(&r, 404), "an unknown tube is a 404");
	resp_free(&r);

	api(t, "GET", "/api/v1/fhir/Specimen?subject=MASC/P001&type=serum", auditor, NULL, &r);
	is_int(r.status, 200, "a FHIR search");
	is_str(jstr(&r, "resourceType"), "Bundle", "  answers a Bundle");
	is_str(jstr(&r, "type"), "searchset", "  of type searchset");
	ok(jnum(&r, "total", 0) == 3, "  total 3 (two serum tubes and the aliquot)");
	snprintf(path, sizeof(path), "/api/v1/fhir/Specimen/%s", s1);
	ok(jstr(&r, "entry.0.fullUrl") && strstr(jstr(&r, "entry.0.fullUrl"), path) &&
	       strncmp(jstr(&r, "entry.0.fullUrl"), "http://127.0.0.1:", 17) == 0,
	   "  entries with an absolute fullUrl");
	is_str(jstr(&r, "entry.0.resource.resourceType"), "Specimen", "  and the resource");
	resp_free(&r);
	api(t, "GET", "/api/v1/fhir/Specimen?type=http://snomed.info/sct%7C119364003&_count=2",
	    auditor, NULL, &r);
	ok(jnum(&r, "total", 0) == 6, "type by SNOMED code: every serum tube (6)");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "entry")), 2,
	       "  _count=2 gives 2 entries");
	is_str(jstr(&r, "link.1.relation"), "next", "  and a next link");
	const char *next = jstr(&r, "link.1.url");
	char npath[512] = "";
	if (next && strstr(next, "/api/v1/"))
		snprintf(npath, sizeof(npath), "%s", strstr(next, "/api/v1/"));
	resp_free(&r);
	api(t, "GET", npath, auditor, NULL, &r);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "entry")), 2,
	       "  which gives the next 2");
	resp_free(&r);
	api(t, "GET", "/api/v1/fhir/Specimen?status=available", masc_reader, NULL, &r);
	ok(jnum(&r, "total", 0) == 4,
	   "status=available within MASC: 4 (stored or registered, consent standing)");
	resp_free(&r);
	api(t, "GET", "/api/v1/fhir/Specimen?type=nonsense", auditor, NULL, &r);
	ok(r.status == 200 && jnum(&r, "total", -1) == 0, "an unknown type matches nothing");
	resp_free(&r);

	static const struct {
		const char *query, *field;
	} bad[] = {
		{ "status=lost", "status" }, { "subject=P001", "subject" },
		{ "_count=-1", "_count" },   { "_count=ten", "_count" },
		{ "_cursor=x", "_cursor" },  { "type=urn:x%7C", "type" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/fhir/Specimen?%s", bad[i].query);
		api(t, "GET", path, auditor, NULL, &r);
		ok(is_problem(&r, 400) && problem_names_field(&r, bad[i].field),
		   "%s is a 400 naming %s", bad[i].query, bad[i].field);
		resp_free(&r);
	}
}

/* Watch the daemon's resident memory while the export streams. */
struct rss_watch {
	pid_t pid;
	volatile bool stop;
	long max_kb;
};

static void *
rss_loop(void *arg)
{
	struct rss_watch *w = arg;

	while (!w->stop) {
		long kb = proc_status_kb(w->pid, "VmRSS:");

		if (kb > w->max_kb)
			w->max_kb = kb;
		nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
	}
	return NULL;
}

/* Count CSV records (RFC 4180: quoted fields may hold CR and LF) and find the first record holding
 * needle. */
#define CSV_HEAD                                                                                   \
	"id,tube_barcode,type,study,participant,timepoint,collected_at,status,quantity,unit,"      \
	"parent,"                                                                                  \
	"derivation,freeze_thaw_count,consent_withdrawn,box,position,location,notes,created_"      \
	"at,sprec,protocol_version\r\n"

static long
csv_records(const char *s, size_t len)
{
	long n = 0;
	bool quoted = false;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			quoted = !quoted;
		else if (s[i] == '\n' && !quoted)
			n++;
	}
	return n;
}

static void
csv_export(struct tenv *t)
{
	enum { N = 100000 };
	struct resp r;
	bool ok_sql;
	char sql[1024];

	snprintf(
	    sql, sizeof(sql),
	    "INSERT INTO specimens (id, serial, study_id, participant_id, type, timepoint, "
	    "collected_at,"
	    " quantity, unit, notes)"
	    " SELECT (q.n).id, (q.n).serial, p.study_id, p.id,"
	    " CASE WHEN q.g %% 2 = 0 THEN 'plasma' ELSE 'rna' END,"
	    " 'y5', '2026-01-01T08:00:00Z', 0.5, 'mL',"
	    " CASE WHEN q.g = 77777 THEN E'lipaemic, \"cloudy\"\\nrecheck' END"
	    " FROM (SELECT g, bb_new_specimen_id() AS n FROM generate_series(1, %d) g OFFSET 0) q,"
	    " participants p WHERE p.code = 'P001'",
	    N);
	free(sql_value(t, sql, &ok_sql));
	ok(ok_sql, "%d specimens inserted with SQL", N);
	long total = sql_int(t, "SELECT count(*) FROM specimens");

	const char *hdr[] = { "Accept: text/csv", NULL };
	struct rss_watch w = { .pid = t->d.pid, .max_kb = proc_status_kb(t->d.pid, "VmRSS:") };
	long before_kb = w.max_kb;
	pthread_t th;
	pthread_create(&th, NULL, rss_loop, &w);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	http_h(t->d.url, "GET", "/api/v1/specimens", auditor, NULL, NULL, 0, hdr, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	w.stop = true;
	pthread_join(th, NULL);
	tap_diag("exported %zu bytes in %.2f s; daemon RSS %ld kB before, at most %ld kB while "
	         "streaming",
	         r.len, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	         before_kb, w.max_kb);
	is_int(r.status, 200, "the specimen list as CSV");
	ok(strncmp(r.content_type, "text/csv", 8) == 0, "  is text/csv");
	ok(r.body && strncmp(r.body, CSV_HEAD, strlen(CSV_HEAD)) == 0,
	   "  starting with the header row");
	is_int(csv_records(r.body, r.len), total + 1,
	       "  one record per specimen (%ld) and the header", total);
	ok(r.body && strstr(r.body, ",\"lipaemic, \"\"cloudy\"\"\nrecheck\",") != NULL,
	   "  a note with a comma, quotes and a newline is quoted (RFC 4180)");
	ok(r.body && strstr(r.body, "Main lab / Freezer 1 / Rack 1 / BOX-A,") != NULL,
	   "  locations as paths");
	ok(w.max_kb > 0 && w.max_kb < 64 * 1024,
	   "  the daemon stays under 64 MB while streaming (%ld kB)", w.max_kb);
	resp_free(&r);

	/* The same filters as the JSON list. */
	api(t, "GET", "/api/v1/specimens?study=MASC&type=serum&limit=1000", auditor, NULL, &r);
	int json_n = items(&r);
	char first[16];
	snprintf(first, sizeof(first), "%s", jstr(&r, "items.0.id") ? jstr(&r, "items.0.id") : "?");
	resp_free(&r);
	http_h(t->d.url, "GET", "/api/v1/specimens?study=MASC&type=serum", auditor, NULL, NULL, 0,
	       hdr, &r);
	is_int(csv_records(r.body, r.len), json_n + 1, "filtered CSV has the JSON list's %d rows",
	       json_n);
	ok(r.body && strstr(r.body, "\r\n") && strncmp(strstr(r.body, "\r\n") + 2, first, 8) == 0,
	   "  in the same order");
	resp_free(&r);
	http_h(t->d.url, "GET", "/api/v1/specimens?study=SSC", masc_reader, NULL, NULL, 0, hdr, &r);
	is_int(csv_records(r.body, r.len), 1,
	       "a MASC-only reader's CSV of SSC is the header alone");
	resp_free(&r);
	http_h(t->d.url, "GET", "/api/v1/specimens?status=frozen", auditor, NULL, NULL, 0, hdr, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "status"),
	   "an unknown status is a 400 problem");
	resp_free(&r);
	const char *hdr0[] = { "Accept: text/csv;q=0, application/json", NULL };
	http_h(t->d.url, "GET", "/api/v1/specimens?limit=1", auditor, NULL, NULL, 0, hdr0, &r);
	ok(r.status == 200 && strncmp(r.content_type, "application/json", 16) == 0,
	   "text/csv;q=0 gets JSON");
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	char opts[512];

	/*
	 * Under AddressSanitizer freed memory waits in a quarantine (256 MB by
	 * default) instead of being reused, so the daemon's RSS would measure the
	 * sanitizer rather than the export: keep the quarantine small for the
	 * daemon this program starts (it inherits the environment).
	 */
	const char *asan = getenv("ASAN_OPTIONS");
	snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=4", asan ? asan : "",
	         asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	tenv_setup(&t, "reports", argc, argv);
	setup(&t);
	inventory(&t);
	occupancy(&t);
	consent_withdrawn(&t);
	fhir(&t);
	csv_export(&t);
	tenv_teardown(&t);
	return tap_done();
}
