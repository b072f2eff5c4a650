/*
 * test_problems.c — errors as data: every refusal answers with a stable
 * code, the field at fault as a full path and the facts as members, and
 * never with PostgreSQL's own words. Driven from what people do at the
 * bench: a tube put where another already is, a rack list with a typo in
 * its third line, a list with two bad lines, a donor who withdrew consent,
 * a volume typed with too many zeros.
 */
#include "world.h"

#include <stdlib.h>
#include <string.h>

static const char *
errs_field(const struct resp *r, int i)
{
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r->json, "errors"), i);
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "field");

	return cJSON_IsString(f) ? f->valuestring : NULL;
}

static int
errs_count(const struct resp *r)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(r->json, "errors");

	return cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
}

/* True when the body carries none of PostgreSQL's own wording. */
static bool
no_pg_words(const struct resp *r)
{
	static const char *const words[] = { "violates",
		                             "constraint",
		                             "syntax",
		                             "ERROR:",
		                             "relation",
		                             "column",
		                             "out of range for type",
		                             "numeric field overflow",
		                             "SQLSTATE" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (r->body != NULL && strstr(r->body, words[i]) != NULL) {
			tap_diag("  the answer says \"%s\": %s", words[i], r->body);
			return false;
		}
	}
	return true;
}

static void
occupied_position(struct tenv *t)
{
	char a[16], b[16];
	struct resp r;

	if (!world_register(t, "MASC", "P001", "serum", a) ||
	    !world_register(t, "MASC", "P001", "serum", b))
		return;
	world_act(t, a, "store", "{\"box\":\"BOX-A\",\"position\":\"C3\"}", NULL, &r);
	is_int(r.status, 200, "a tube stored in BOX-A C3");
	resp_free(&r);
	world_act(t, b, "store", "{\"box\":\"BOX-A\",\"position\":\"c03\"}", NULL, &r);
	ok(is_problem(&r, 409), "a second tube into C3: 409");
	is_str(jstr(&r, "code"), "position-occupied", "  code position-occupied");
	is_str(jstr(&r, "occupant"), a, "  the occupant as a member");
	is_str(jstr(&r, "box"), "BOX-A", "  the box as a member");
	is_str(jstr(&r, "position"), "C3", "  the position as a member");
	ok(jstr(&r, "detail") && strstr(jstr(&r, "detail"), "is taken by specimen") != NULL,
	   "  and the sentence for people (%s)", jstr(&r, "detail"));
	resp_free(&r);
}

static void
placements(struct tenv *t)
{
	char a[16], b[16], c[16], body[1024];
	struct resp r;

	if (!world_register(t, "MASC", "P001", "serum", a) ||
	    !world_register(t, "MASC", "P001", "serum", b) ||
	    !world_register(t, "MASC", "P001", "serum", c))
		return;
	long events0 = sql_int(t, "SELECT count(*) FROM events");

	snprintf(body, sizeof(body),
	         "{\"placements\":[{\"position\":\"A1\",\"specimen\":\"%s\"},"
	         "{\"position\":\"A2\",\"specimen\":\"%s\"},"
	         "{\"position\":\"AA3\",\"specimen\":\"%s\"}]}",
	         a, b, c);
	api(t, "POST", "/api/v1/boxes/BOX-B/placements", t->admin_token, body, &r);
	ok(is_problem(&r, 400), "a typo in the third placement: 400");
	is_str(errs_field(&r, 0), "placements[2].position", "  errors[0].field is the full path");
	is_int(errs_count(&r), 1, "  and only that item is listed");
	is_str(jstr(&r, "code"), "position-invalid", "  code position-invalid");
	is_str(jstr(&r, "errors.0.code"), "position-invalid", "  the item has its code too");
	ok(jstr(&r, "detail") && strstr(jstr(&r, "detail"), "placements[2].position") != NULL,
	   "  the detail names the field (%s)", jstr(&r, "detail"));
	resp_free(&r);

	snprintf(body, sizeof(body),
	         "{\"placements\":[{\"position\":\"Z1\",\"specimen\":\"%s\"},"
	         "{\"position\":\"A2\",\"specimen\":\"NOSUCHTUBE\"},"
	         "{\"position\":\"A3\",\"specimen\":\"%s\"},"
	         "{\"position\":\"A4\",\"specimen\":\"%s\"}]}",
	         a, b, b);
	api(t, "POST", "/api/v1/boxes/BOX-B/placements", t->admin_token, body, &r);
	ok(is_problem(&r, 400), "three bad items in one list: 400");
	is_int(errs_count(&r), 3, "  every bad item is listed");
	is_str(errs_field(&r, 0), "placements[0].position", "  the position outside the box");
	is_str(errs_field(&r, 1), "placements[1].specimen", "  the unknown tube");
	is_str(errs_field(&r, 2), "placements[3].specimen", "  the tube listed twice");
	is_str(jstr(&r, "errors.0.code"), "position-outside-box", "  each with its own code");
	is_str(jstr(&r, "errors.1.code"), "specimen-not-found", "  ...");
	is_str(jstr(&r, "errors.2.code"), "listed-twice", "  ...");
	is_str(jstr(&r, "code"), "invalid-input", "  the problem has the generic code of a mix");
	ok(strstr(r.body, "NOSUCHTUBE") != NULL, "  the unknown code is named");
	resp_free(&r);

	snprintf(body, sizeof(body),
	         "{\"placements\":[{\"position\":\"A1\",\"specimen\":\"%s\"},"
	         "{\"position\":\"A2\",\"specimen\":\"NOSUCHTUBE\"}]}",
	         a);
	api(t, "POST", "/api/v1/boxes/BOX-B/placements", t->admin_token, body, &r);
	ok(is_problem(&r, 404),
	   "only an unknown tube in the list: 404, as for any unknown specimen");
	is_str(jstr(&r, "code"), "specimen-not-found", "  code specimen-not-found");
	is_str(errs_field(&r, 0), "placements[1].specimen", "  naming the item");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM events"), events0, "nothing was placed");

	/* A rack-scanner file: the same refusals told by the file's lines. */
	snprintf(body, sizeof(body), "BOX-B,A1,%s\nBOX-B,A2,NOSUCHTUBE\nBOX-B,A3,ALSONOTHING\n", a);
	http(t->d.url, "POST", "/api/v1/boxes/BOX-B/placements", t->admin_token, "text/csv", body,
	     strlen(body), &r);
	ok(is_problem(&r, 400), "a file with two unknown tubes: 400");
	is_int(errs_count(&r), 2, "  both are listed");
	is_str(errs_field(&r, 0), "line 2", "  by the file's line");
	is_str(errs_field(&r, 1), "line 3", "  ...");
	is_str(jstr(&r, "code"), "unknown-specimen", "  code unknown-specimen");
	is_str(jstr(&r, "title"), "The rack-scanner file was refused", "  the file's title");
	resp_free(&r);

	/* The box's barcode mistyped in the URL: the URL names nothing, as a GET would say. */
	snprintf(body, sizeof(body), "{\"placements\":[{\"position\":\"A1\",\"specimen\":\"%s\"}]}",
	         a);
	api(t, "POST", "/api/v1/boxes/BOX-Q/placements", t->admin_token, body, &r);
	ok(is_problem(&r, 404), "placements into a box that does not exist: 404");
	is_str(jstr(&r, "code"), "box-not-found", "  code box-not-found, as GET /boxes/BOX-Q");
	is_int(errs_count(&r), 0, "  with no body field blamed");
	resp_free(&r);
}

static void
consent_withdrawn(struct tenv *t)
{
	char a[16];
	struct resp r;

	if (!world_register(t, "MASC", "P002", "serum", a))
		return;
	world_act(t, a, "store", "{\"box\":\"BOX-A\",\"position\":\"H8\"}", NULL, &r);
	resp_free(&r);
	api(t, "POST", "/api/v1/participants/MASC/P002/consents", t->admin_token,
	    "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"2024-02-01\","
	    "\"version\":\"v1\"}",
	    &r);
	is_int(r.status, 201, "P002 withdraws biobank consent");
	resp_free(&r);

	api(t, "POST", "/api/v1/specimens", t->admin_token,
	    "{\"participant\":{\"study\":\"MASC\",\"code\":\"P002\"},\"type\":\"serum\","
	    "\"timepoint\":\"m12\",\"collected_at\":\"2026-03-01T09:30:00Z\"}",
	    &r);
	ok(is_problem(&r, 409), "a new specimen of P002: 409");
	is_str(jstr(&r, "code"), "consent-withdrawn", "  code consent-withdrawn");
	resp_free(&r);
	world_act(t, a, "checkout", "{\"reason\":\"assay\"}", NULL, &r);
	ok(is_problem(&r, 409), "checking out P002's tube: 409");
	is_str(jstr(&r, "code"), "consent-withdrawn", "  code consent-withdrawn");
	is_str(jstr(&r, "specimen"), a, "  naming the specimen");
	resp_free(&r);
}

static void
not_found_and_status(struct tenv *t)
{
	char a[16];
	struct resp r;

	api(t, "GET", "/api/v1/specimens/NOSUCHTUBE", t->admin_token, NULL, &r);
	ok(is_problem(&r, 404), "an unknown tube: 404");
	is_str(jstr(&r, "code"), "specimen-not-found", "  code specimen-not-found");
	resp_free(&r);
	api(t, "GET", "/api/v1/no/such/thing", t->admin_token, NULL, &r);
	ok(is_problem(&r, 404), "an unknown path: 404");
	is_str(jstr(&r, "code"), "no-route", "  code no-route (the bench page tells it by that)");
	resp_free(&r);
	if (!world_register(t, "MASC", "P001", "serum", a))
		return;
	world_act(t, a, "checkout", "{\"reason\":\"assay\"}", NULL, &r);
	ok(is_problem(&r, 409), "checking out a registered tube: 409");
	is_str(jstr(&r, "code"), "status-forbids", "  code status-forbids");
	is_str(jstr(&r, "specimen_status"), "registered", "  with the specimen's status");
	is_str(jstr(&r, "action"), "checkout", "  and the action");
	resp_free(&r);
	/* A mistyped ID: the check character is checked before any look-up. */
	char typo[16];
	snprintf(typo, sizeof(typo), "%s", a);
	typo[0] = typo[0] == '2' ? '3' : '2';
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/specimens/%s", typo);
	api(t, "GET", path, t->admin_token, NULL, &r);
	ok(is_problem(&r, 400), "a mistyped ID: 400");
	is_str(jstr(&r, "code"), "check-character", "  code check-character");
	resp_free(&r);
}

/* What PostgreSQL refuses itself reaches the client in our words. */
static void
postgres_own(struct tenv *t)
{
	struct resp r;

	/* numeric(12, 3): a billion mL is past the column although the validator allows it. */
	api(t, "POST", "/api/v1/specimens", t->admin_token,
	    "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
	    "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	    "\"quantity\":{\"value\":1000000000,\"unit\":\"mL\"}}",
	    &r);
	ok(is_problem(&r, 400), "a volume of a billion mL (numeric overflow, 22003): 400");
	is_str(jstr(&r, "code"), "value-out-of-range", "  code value-out-of-range");
	ok(no_pg_words(&r), "  in our words (%s)", jstr(&r, "detail"));
	resp_free(&r);

	/* A birth year past integer. */
	api(t, "POST", "/api/v1/participants", t->admin_token,
	    "{\"study\":\"MASC\",\"code\":\"P900\",\"sex\":\"female\",\"birth_year\":99999999999,"
	    "\"diagnosis\":\"DM\"}",
	    &r);
	ok(r.status == 400 && is_problem(&r, 400), "a birth year of 99999999999: 400");
	ok(no_pg_words(&r), "  in our words (%s)", jstr(&r, "detail"));
	resp_free(&r);
}

/*
 * An auditor types a rack's tubes by hand at the end of a long day: one
 * barcode with a space the scanner never sends, one ID with a slipped
 * character. Then the resolutions: a mistyped ID, a box without its
 * position, a position for an action that moves nothing. Every slip is
 * named at once, so one correction round fixes them all, and nothing is
 * recorded meanwhile.
 */
static void
audit_every_bad_field(struct tenv *t)
{
	char a[16], typo[16], path[96], body[640];
	struct resp r;

	if (!world_register(t, "MASC", "P001", "serum", a))
		return;
	world_act(t, a, "store", "{\"box\":\"BOX-B\",\"position\":\"A1\"}", NULL, &r);
	resp_free(&r);
	snprintf(typo, sizeof(typo), "%s", a);
	typo[0] = typo[0] == '2' ? '3' : '2';
	api(t, "POST", "/api/v1/audits", t->admin_token, "{\"box\":\"BOX-B\"}", &r);
	is_int(r.status, 201, "an audit of BOX-B");
	long id = (long)jnum(&r, "id", 0);
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/audits/%ld/scans", id);
	snprintf(body, sizeof(body),
	         "{\"scans\":[{\"position\":\"A1\",\"barcode\":\"AB 12\"},"
	         "{\"position\":\"A2\",\"barcode\":\"%s\"},"
	         "{\"position\":\"A3\",\"barcode\":null}]}",
	         typo);
	api(t, "POST", path, t->admin_token, body, &r);
	ok(is_problem(&r, 400), "hand scans with two slips: 400");
	is_int(errs_count(&r), 2, "  naming both");
	is_str(errs_field(&r, 0), "scans[0].barcode", "  the barcode with a space");
	is_str(errs_field(&r, 1), "scans[1].barcode", "  the ID with a wrong check character");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM audit_scans"), 0, "  and no scan is recorded");

	snprintf(path, sizeof(path), "/api/v1/audits/%ld/close", id);
	snprintf(body, sizeof(body),
	         "{\"resolutions\":[{\"specimen\":\"%s\",\"action\":\"confirm\"},"
	         "{\"specimen\":\"%s\",\"action\":\"found\",\"box\":\"BOX-B\"},"
	         "{\"specimen\":\"%s\",\"action\":\"lost\",\"position\":\"A1\"}]}",
	         typo, a, a);
	api(t, "POST", path, t->admin_token, body, &r);
	ok(is_problem(&r, 400), "closing with three slips: 400");
	is_int(errs_count(&r), 3, "  naming all three");
	is_str(errs_field(&r, 0), "resolutions[0].specimen", "  the mistyped ID");
	is_str(errs_field(&r, 1), "resolutions[1].position", "  the box without a position");
	is_str(errs_field(&r, 2), "resolutions[2].position", "  the position nothing moves to");
	resp_free(&r);
	/* Slips only the database can see: positions against the box's grid, repeats, states. */
	snprintf(path, sizeof(path), "/api/v1/audits/%ld/scans", id);
	api(t, "POST", path, t->admin_token,
	    "{\"scans\":[{\"position\":\"AA\",\"barcode\":null},"
	    "{\"position\":\"J1\",\"barcode\":null},{\"position\":\"A2\",\"barcode\":null},"
	    "{\"position\":\"a02\",\"barcode\":null}]}",
	    &r);
	ok(is_problem(&r, 400), "hand scans off the grid and twice at A2: 400");
	is_int(errs_count(&r), 3, "  naming all three");
	is_str(errs_field(&r, 0), "scans[0].position", "  AA, no position");
	is_str(errs_field(&r, 1), "scans[1].position", "  J1, below a 9-row box");
	is_str(errs_field(&r, 2), "scans[3].position", "  a02, A2 again");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/audits/%ld/close", id);
	snprintf(body, sizeof(body),
	         "{\"resolutions\":[{\"specimen\":\"NOSUCHTUBE\",\"action\":\"confirm\"},"
	         "{\"specimen\":\"%s\",\"action\":\"found\",\"box\":\"BOX-B\","
	         "\"position\":\"A1\"},{\"specimen\":\"%s\",\"action\":\"lost\"}]}",
	         a, a);
	api(t, "POST", path, t->admin_token, body, &r);
	ok(is_problem(&r, 400), "closing with a stranger, an unscanned place and a repeat: 400");
	is_int(errs_count(&r), 3, "  naming all three");
	is_str(errs_field(&r, 0), "resolutions[0].specimen", "  the tube not in the audit");
	is_str(errs_field(&r, 1), "resolutions[1].position", "  A1, where no scan saw it");
	is_str(errs_field(&r, 2), "resolutions[2].specimen", "  the tube resolved twice");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/audits/%ld", id);
	api(t, "GET", path, t->admin_token, NULL, &r);
	is_str(jstr(&r, "status"), "open", "  and the audit stays open");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM events WHERE reason = 'audit'"), 0,
	       "  with no custody event written");
}

/*
 * A registration typed in a hurry: a participant code with a slipped digit,
 * a type that is not one, a collection date a year ahead. All three are
 * named at once; nothing is registered.
 */
static void
registration_every_slip(struct tenv *t)
{
	struct resp r;
	long specimens = sql_int(t, "SELECT count(*) FROM specimens");

	api(t, "POST", "/api/v1/specimens", t->admin_token,
	    "{\"participant\":{\"study\":\"MASC\",\"code\":\"P0001\"},\"type\":\"serun\","
	    "\"timepoint\":\"baseline\",\"collected_at\":\"2099-03-01T09:30:00Z\"}",
	    &r);
	ok(is_problem(&r, 400), "a registration with three slips: 400");
	is_int(errs_count(&r), 3, "  naming all three");
	is_str(errs_field(&r, 0), "participant.code", "  the participant");
	is_str(errs_field(&r, 1), "type", "  the type");
	is_str(errs_field(&r, 2), "collected_at", "  the date");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM specimens"), specimens,
	       "  and nothing is registered");

	api(t, "POST", "/api/v1/specimens", t->admin_token,
	    "{\"participant\":{\"study\":\"MASC\",\"code\":\"P0001\"},\"type\":\"serum\","
	    "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\"}",
	    &r);
	ok(is_problem(&r, 400), "one slip alone: 400");
	is_str(jstr(&r, "code"), "unknown-participant", "  with its own code");
	is_str(jstr(&r, "participant"), "P0001", "  and its facts as members, as ever");
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "problems", argc, argv);
	world_make(&t);
	occupied_position(&t);
	placements(&t);
	consent_withdrawn(&t);
	not_found_and_status(&t);
	postgres_own(&t);
	audit_every_bad_field(&t);
	registration_every_slip(&t);
	tenv_teardown(&t);
	return tap_done();
}
