/*
 * test_tubes.c — pre-barcoded tubes, from what the bench does with them:
 * aliquots listed with their manufacturer codes (every duplicate named, in
 * the request or in the database, nothing written on a refusal), a
 * derivative into a barcoded tube, a rack-scanner file of new empty tubes
 * made into a parent's aliquots and stored in that rack at once (the
 * scanner's unreadable well, the file scanned twice, a line lost, the file
 * saved again by a spreadsheet, a well already taken, more tubes than the
 * parent holds), a barcode set later on a legacy tube, and a hostile client
 * sending ten thousand barcodes.
 *
 * argv[1]: biobankd; argv[2]: the shared fixtures folder.
 */
#include "biobank.h"
#include "world.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char *fluidx;     /* fixtures/rack-scans/fluidx-with-header.csv (D7 NO READ) */
static char *headerless; /* fixtures/rack-scans/headerless-with-rack.csv (24 tubes, A1-B12) */

/* A MASC/P001 tube of type with qty (JSON or NULL); its ID in id. */
static bool
tube(struct tenv *t, const char *qty, char id[16])
{
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"plasma\","
	         "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\"%s%s}",
	         qty ? ",\"quantity\":" : "", qty ? qty : "");
	api(t, "POST", "/api/v1/specimens", t->admin_token, body, &r);
	bool made = r.status == 201 && jstr(&r, "id") != NULL;
	snprintf(id, 16, "%s", made ? jstr(&r, "id") : "");
	if (!made)
		ok(false, "register a tube: %ld %s", r.status, r.body);
	resp_free(&r);
	return made;
}

static long
count_sql(struct tenv *t, const char *sql)
{
	return sql_int(t, sql);
}

static long
specimens_now(struct tenv *t)
{
	return count_sql(t, "SELECT count(*) FROM specimens");
}

static long
events_now(struct tenv *t)
{
	return count_sql(t, "SELECT count(*) FROM events");
}

/* "quantity unit" of a specimen. */
static char *
qty_of(struct tenv *t, const char *id)
{
	char sql[256];
	bool ok_sql;

	snprintf(sql, sizeof(sql),
	         "SELECT concat_ws(' ', status, trim_scale(quantity), unit) FROM specimens"
	         " WHERE id = '%s'",
	         id);
	char *v = sql_value(t, sql, &ok_sql);
	return v ? v : strdup("(none)");
}

static void
is_qty(struct tenv *t, const char *id, const char *want, const char *what)
{
	char *got = qty_of(t, id);

	is_str(got, want, "%s", what);
	free(got);
}

/* Whether the problem's errors list names field with code. */
static bool
names_with_code(const struct resp *r, const char *field, const char *code)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(r->json, "errors"))
	{
		const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(e, "field"));
		const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(e, "code"));

		if (f != NULL && strcmp(f, field) == 0 && (code == NULL || (c && !strcmp(c, code))))
			return true;
	}
	return false;
}

static int
errors_n(const struct resp *r)
{
	return cJSON_GetArraySize(cJSON_GetObjectItem(r->json, "errors"));
}

static void
aliquot(struct tenv *t, const char *id, const char *body, const char *token, struct resp *r)
{
	world_act(t, id, "aliquots", body, token, r);
}

static void
post_file(struct tenv *t, const char *id, const char *query, const char *csv, struct resp *r)
{
	char path[256];

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/aliquots%s", id, query ? query : "");
	http(t->d.url, "POST", path, t->admin_token, "text/csv", csv, strlen(csv), r);
}

static void
ledger_clean(struct tenv *t, const char *when)
{
	struct resp r;

	api(t, "GET", "/api/v1/ledger/verify", t->admin_token, NULL, &r);
	if (!ok(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "ok")), "the ledger verifies %s", when))
		tap_diag("%s", r.body);
	resp_free(&r);
}

/* The list form: each tube its code and its quantity, taken from the parent. */
static void
listed(struct tenv *t)
{
	char p[16], q[16], u[16];
	struct resp r;

	if (!tube(t, "{\"value\":10,\"unit\":\"mL\"}", p))
		return;
	aliquot(t, p,
	        "{\"aliquots\":[{\"tube_barcode\":\"FX-0001\",\"quantity\":{\"value\":1,\"unit\":"
	        "\"mL\"}},{\"tube_barcode\":\"FX-0002\",\"quantity\":{\"value\":500,\"unit\":"
	        "\"uL\"}}]}",
	        NULL, &r);
	is_int(r.status, 201, "two aliquots into pre-barcoded tubes: 201");
	is_str(jstr(&r, "items.0.tube_barcode"), "FX-0001", "  the first carries the first code");
	is_str(jstr(&r, "items.1.tube_barcode"), "FX-0002", "  the second the second");
	is_str(jstr(&r, "items.0.parent"), p, "  both are the parent's aliquots");
	char c1[16];
	snprintf(c1, sizeof(c1), "%s", jstr(&r, "items.0.id") ? jstr(&r, "items.0.id") : "");
	resp_free(&r);
	is_qty(t, p, "registered 8.5 mL", "  1 mL and 500 uL are taken from the parent's 10 mL");
	is_qty(t, c1, "registered 1 mL", "  the first holds 1 mL");
	is_int(count_sql(t, "SELECT count(*) FROM events WHERE type = 'registered'"
	                    " AND details->>'tube_barcode' = 'FX-0001'"),
	       1, "  its registered event carries its tube barcode");
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM events WHERE specimen_id = '%s' AND type = 'aliquoted'"
	         " AND details->'tube_barcodes' = '[\"FX-0001\",\"FX-0002\"]'"
	         " AND details->'quantity_taken'->>'value' = '1.5'",
	         p);
	is_int(count_sql(t, sql), 1, "  the parent's aliquoted event names the codes and 1.5 mL");
	api(t, "GET", "/api/v1/specimens/FX-0002", t->admin_token, NULL, &r);
	is_int(r.status, 200, "  the tube is found by its code");
	resp_free(&r);

	/* Without quantities: the parent split evenly, as the count form does. */
	if (!tube(t, "{\"value\":3,\"unit\":\"mL\"}", q))
		return;
	aliquot(t, q,
	        "{\"aliquots\":[{\"tube_barcode\":\"FX-0003\"},{\"tube_barcode\":\"FX-0004\"}]}",
	        NULL, &r);
	is_int(r.status, 201, "two coded tubes without quantities: 201");
	is_str(jstr(&r, "items.1.quantity.unit"), "mL", "  in the parent's unit");
	ok(jnum(&r, "items.1.quantity.value", 0) == 1.5, "  1.5 mL each (3 mL split evenly)");
	resp_free(&r);
	is_qty(t, q, "consumed 0 mL", "  the parent, emptied, is consumed");

	/* The body's quantity for every tube. */
	if (!tube(t, "{\"value\":3,\"unit\":\"mL\"}", u))
		return;
	aliquot(t, u,
	        "{\"quantity\":{\"value\":250,\"unit\":\"uL\"},\"aliquots\":[{\"tube_barcode\":"
	        "\"FX-0005\"},{\"tube_barcode\":\"FX-0006\",\"quantity\":{\"value\":1,\"unit\":"
	        "\"mL\"}}]}",
	        NULL, &r);
	is_int(r.status, 201, "the body's quantity for the tubes that give none: 201");
	resp_free(&r);
	is_qty(t, u, "registered 1.75 mL", "  250 uL and 1 mL taken from 3 mL");

	/* The count form is unchanged. */
	aliquot(t, u, "{\"count\":2,\"quantity\":{\"value\":0.5,\"unit\":\"mL\"}}", NULL, &r);
	is_int(r.status, 201, "the count form still answers 201");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 2, "  with two aliquots");
	ok(jstr(&r, "items.0.tube_barcode") == NULL, "  without tube barcodes");
	resp_free(&r);
}

/* Every refusal of the list form, each with nothing left behind. */
static void
listed_refused(struct tenv *t)
{
	char p[16], sql[256];
	struct resp r;

	if (!tube(t, "{\"value\":10,\"unit\":\"mL\"}", p))
		return;
	long specimens = specimens_now(t), events = events_now(t);

	aliquot(t, p,
	        "{\"aliquots\":[{\"tube_barcode\":\"DUP-1\"},{\"tube_barcode\":\"DUP-2\"},"
	        "{\"tube_barcode\":\"DUP-1\"},{\"tube_barcode\":\"DUP-2\"},{\"tube_barcode\":"
	        "\"NEW-9\"}]}",
	        NULL, &r);
	ok(is_problem(&r, 400), "a code listed twice in one request: 400");
	is_str(jstr(&r, "code"), "listed-twice", "  code listed-twice");
	is_int(errors_n(&r), 2, "  every duplicate named (two)");
	ok(names_with_code(&r, "aliquots[2].tube_barcode", "listed-twice"), "  aliquots[2]");
	ok(names_with_code(&r, "aliquots[3].tube_barcode", "listed-twice"), "  and aliquots[3]");
	resp_free(&r);

	aliquot(t, p,
	        "{\"aliquots\":[{\"tube_barcode\":\"FX-0001\"},{\"tube_barcode\":\"NEW-1\"},"
	        "{\"tube_barcode\":\"FX-0002\"},{\"tube_barcode\":\"BOX-A\"}]}",
	        NULL, &r);
	ok(is_problem(&r, 409), "codes already on tubes (and a box's barcode): 409");
	is_str(jstr(&r, "code"), "already-exists", "  code already-exists");
	is_int(errors_n(&r), 3, "  every one named (three)");
	ok(names_with_code(&r, "aliquots[0].tube_barcode", "already-exists") &&
	       names_with_code(&r, "aliquots[2].tube_barcode", "already-exists") &&
	       names_with_code(&r, "aliquots[3].tube_barcode", "already-exists"),
	   "  aliquots[0], [2] and [3] (the box's)");
	ok(r.body && strstr(r.body, "BOX-A") != NULL, "  the box named as such");
	resp_free(&r);
	is_int(count_sql(t, "SELECT count(*) FROM specimens WHERE tube_barcode = 'NEW-1'"), 0,
	       "  the free code of that request was not used");

	aliquot(
	    t, p,
	    "{\"aliquots\":[{\"tube_barcode\":\"A1\",\"quantity\":{\"value\":6,\"unit\":\"mL\"}},"
	    "{\"tube_barcode\":\"A2\",\"quantity\":{\"value\":6,\"unit\":\"mL\"}}]}",
	    NULL, &r);
	ok(is_problem(&r, 409), "two tubes of 6 mL from 10 mL: 409");
	is_str(jstr(&r, "code"), "quantity-insufficient", "  code quantity-insufficient");
	is_str(jstr(&r, "specimen"), p, "  naming the parent");
	resp_free(&r);

	aliquot(
	    t, p,
	    "{\"aliquots\":[{\"tube_barcode\":\"U1\",\"quantity\":{\"value\":6,\"unit\":\"ug\"}}]}",
	    NULL, &r);
	ok(is_problem(&r, 400), "micrograms out of millilitres: 400");
	is_str(jstr(&r, "code"), "unit-mismatch", "  code unit-mismatch");
	ok(problem_names_field(&r, "aliquots[0].quantity.unit"), "  naming the tube's unit");
	resp_free(&r);

	aliquot(
	    t, p,
	    "{\"aliquots\":[{\"tube_barcode\":\"M1\",\"quantity\":{\"value\":1,\"unit\":\"mL\"}},"
	    "{\"tube_barcode\":\"M2\"}]}",
	    NULL, &r);
	ok(is_problem(&r, 400), "one tube with a quantity, one without: 400");
	ok(problem_names_field(&r, "aliquots[1].quantity"), "  naming the one without");
	resp_free(&r);

	aliquot(t, p, "{\"aliquots\":[{\"tube_barcode\":\"7HQF6WPE\"},{\"tube_barcode\":\"A B\"}]}",
	        NULL, &r);
	ok(is_problem(&r, 400), "a code shaped like a specimen ID, a code with a space: 400");
	ok(problem_names_field(&r, "aliquots[0].tube_barcode") &&
	       problem_names_field(&r, "aliquots[1].tube_barcode"),
	   "  both named");
	resp_free(&r);

	aliquot(t, p, "{\"count\":2,\"aliquots\":[{\"tube_barcode\":\"C1\"}]}", NULL, &r);
	ok(is_problem(&r, 400), "count and aliquots together: 400");
	ok(problem_names_field(&r, "aliquots"), "  naming aliquots");
	resp_free(&r);
	aliquot(t, p, "{\"quantity\":{\"value\":1,\"unit\":\"mL\"}}", NULL, &r);
	ok(is_problem(&r, 400), "neither count nor aliquots: 400");
	ok(problem_names_field(&r, "count"), "  naming count");
	resp_free(&r);
	aliquot(t, p, "{\"aliquots\":[]}", NULL, &r);
	ok(is_problem(&r, 400), "an empty list: 400");
	resp_free(&r);

	is_int(specimens_now(t), specimens, "after every refusal no specimen was made");
	is_int(events_now(t), events, "  and no event written");
	is_qty(t, p, "registered 10 mL", "  the parent still holds 10 mL");

	/* Another study's parent, for a technician of SSC only. */
	char token[128];
	if (make_user(t, "ssc-tech", "technician", "[\"SSC\"]", token) == 0) {
		aliquot(t, p, "{\"aliquots\":[{\"tube_barcode\":\"S-1\"}]}", token, &r);
		ok(is_problem(&r, 404), "a MASC parent for a technician of SSC: 404");
		resp_free(&r);
	}
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM specimens WHERE parent_id = '%s'", p);
	is_int(count_sql(t, sql), 0, "  the parent has no child");
}

/* A collection registered with its aliquots in coded tubes: all of it, or none of it. */
static void
registered_with(struct tenv *t)
{
	static const char head[] =
	    "{\"participant\":{\"study\":\"MASC\",\"code\":\"P002\"},\"type\":\"plasma\","
	    "\"timepoint\":\"m12\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	    "\"quantity\":{\"value\":2,\"unit\":\"mL\"},";
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body),
	         "%s\"aliquots\":[{\"tube_barcode\":\"RG-0001\"},{\"tube_barcode\":\"RG-0002\"}]}",
	         head);
	api(t, "POST", "/api/v1/specimens", t->admin_token, body, &r);
	is_int(r.status, 201, "a collection registered with two aliquots in coded tubes: 201");
	is_str(jstr(&r, "aliquots.0.tube_barcode"), "RG-0001", "  the first aliquot has its code");
	is_str(jstr(&r, "aliquots.1.tube_barcode"), "RG-0002", "  the second its own");
	ok(jnum(&r, "aliquots.1.quantity.value", 0) == 1, "  1 mL each (2 mL split evenly)");
	is_str(jstr(&r, "status"), "consumed", "  the collection, emptied, is consumed");
	resp_free(&r);

	long specimens = specimens_now(t), events = events_now(t);
	snprintf(body, sizeof(body),
	         "%s\"aliquots\":[{\"tube_barcode\":\"RG-0003\"},{\"tube_barcode\":\"RG-0001\"}]}",
	         head);
	api(t, "POST", "/api/v1/specimens", t->admin_token, body, &r);
	ok(is_problem(&r, 409), "one code already on a tube: 409");
	ok(problem_names_field(&r, "aliquots[1].tube_barcode"), "  naming aliquots[1]");
	resp_free(&r);
	is_int(specimens_now(t), specimens, "  not even the collection is registered");
	is_int(events_now(t), events, "  no event written");
	snprintf(body, sizeof(body), "%s\"aliquots\":\"2\"}", head);
	api(t, "POST", "/api/v1/specimens", t->admin_token, body, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "aliquots"),
	   "aliquots as a string: 400 naming aliquots");
	resp_free(&r);
}

/* A hostile client: ten thousand codes in one request. */
static void
hostile(struct tenv *t)
{
	char p[16];
	struct bb_buf b = { 0 };
	struct resp r;

	if (!tube(t, "{\"value\":10,\"unit\":\"mL\"}", p))
		return;
	long specimens = specimens_now(t);
	bb_buf_puts(&b, "{\"aliquots\":[");
	for (int i = 0; i < 10000; i++)
		bb_buf_printf(&b, "%s{\"tube_barcode\":\"H%05d\"}", i ? "," : "", i);
	bb_buf_puts(&b, "]}");
	long long t0 = mono_ms();
	aliquot(t, p, b.data, NULL, &r);
	long long ms = mono_ms() - t0;
	ok(is_problem(&r, 400), "10^4 tube barcodes in one request: 400");
	ok(problem_names_field(&r, "aliquots"), "  naming aliquots (at most 500)");
	ok(ms < 5000, "  answered at once (%lld ms)", ms);
	resp_free(&r);
	bb_buf_free(&b);
	is_int(specimens_now(t), specimens, "  nothing written");
}

static void
derivative(struct tenv *t)
{
	char p[16];
	struct resp r;

	if (!tube(t, "{\"value\":10,\"unit\":\"mL\"}", p))
		return;
	world_act(t, p, "derivatives",
	          "{\"type\":\"serum\",\"quantity\":{\"value\":2,\"unit\":\"mL\"},"
	          "\"tube_barcode\":\"DV-0001\"}",
	          NULL, &r);
	is_int(r.status, 201, "a derivative into a pre-barcoded tube: 201");
	is_str(jstr(&r, "tube_barcode"), "DV-0001", "  it carries the code");
	resp_free(&r);
	is_qty(t, p, "registered 8 mL", "  2 mL taken from the parent");
	long specimens = specimens_now(t), events = events_now(t);
	world_act(t, p, "derivatives",
	          "{\"type\":\"serum\",\"quantity\":{\"value\":2,\"unit\":\"mL\"},"
	          "\"tube_barcode\":\"DV-0001\"}",
	          NULL, &r);
	ok(is_problem(&r, 409), "the same code again: 409");
	is_str(jstr(&r, "code"), "already-exists", "  code already-exists");
	ok(problem_names_field(&r, "tube_barcode"), "  naming tube_barcode");
	resp_free(&r);
	is_int(specimens_now(t), specimens, "  no derivative made");
	is_int(events_now(t), events, "  no event written");
	is_qty(t, p, "registered 8 mL", "  nothing more taken");
}

/* A legacy tube labelled later: once, with an event. */
static void
set_later(struct tenv *t)
{
	char p[16], q[16], sql[256];
	struct resp r;

	if (!tube(t, NULL, p) || !tube(t, NULL, q))
		return;
	world_act(t, p, "tube-barcode", "{\"tube_barcode\":\"LEG-0001\",\"reason\":\"relabelled\"}",
	          NULL, &r);
	is_int(r.status, 200, "a barcode set on a tube that has none: 200");
	is_str(jstr(&r, "tube_barcode"), "LEG-0001", "  the answer shows it");
	resp_free(&r);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM events WHERE specimen_id = '%s' AND type = 'barcode_set'"
	         " AND details->>'tube_barcode' = 'LEG-0001' AND reason = 'relabelled'",
	         p);
	is_int(count_sql(t, sql), 1, "  a barcode_set event records it, with the reason");

	long events = events_now(t);
	world_act(t, p, "tube-barcode", "{\"tube_barcode\":\"LEG-0002\"}", NULL, &r);
	ok(is_problem(&r, 409), "set twice (another code): 409");
	is_str(jstr(&r, "code"), "barcode-already-set", "  code barcode-already-set");
	is_str(jstr(&r, "tube_barcode"), "LEG-0001", "  naming the code it has");
	resp_free(&r);
	world_act(t, "LEG-0001", "tube-barcode", "{\"tube_barcode\":\"LEG-0001\"}", NULL, &r);
	ok(is_problem(&r, 409), "set twice (the same code, the tube named by it): 409");
	is_str(jstr(&r, "code"), "barcode-already-set", "  code barcode-already-set");
	resp_free(&r);
	world_act(t, q, "tube-barcode", "{\"tube_barcode\":\"LEG-0001\"}", NULL, &r);
	ok(is_problem(&r, 409), "a code another tube carries: 409");
	is_str(jstr(&r, "code"), "already-exists", "  code already-exists");
	is_str(jstr(&r, "specimen"), p, "  naming that tube");
	resp_free(&r);
	world_act(t, q, "tube-barcode", "{\"tube_barcode\":\"TINY\"}", NULL, &r);
	ok(is_problem(&r, 409), "a box's barcode: 409");
	resp_free(&r);
	world_act(t, q, "tube-barcode", "{\"tube_barcode\":\"LEG 3\"}", NULL, &r);
	ok(is_problem(&r, 400), "a code with a space: 400");
	resp_free(&r);
	world_act(t, q, "tube-barcode", "{\"barcode\":\"LEG-0003\"}", NULL, &r);
	ok(is_problem(&r, 400), "a misnamed field: 400");
	resp_free(&r);
	world_act(t, q, "destroy", "{\"reason\":\"broken\"}", NULL, &r);
	resp_free(&r);
	events = events_now(t);
	world_act(t, q, "tube-barcode", "{\"tube_barcode\":\"LEG-0003\"}", NULL, &r);
	ok(is_problem(&r, 409), "a destroyed tube: 409");
	is_str(jstr(&r, "code"), "status-forbids", "  code status-forbids");
	resp_free(&r);
	is_int(events_now(t), events, "  no event written by any refusal");
	is_int(count_sql(t, "SELECT count(*) FROM specimens WHERE tube_barcode LIKE 'LEG-000%'"), 1,
	       "  and only the first code was set");
}

/* The same file with the unreadable D7 well read as a tube of its own. */
static char *
fluidx_read(void)
{
	const char *d7 = strstr(fluidx, "D7,NO READ");
	char *s = malloc(strlen(fluidx) + 16);

	if (d7 == NULL || s == NULL)
		tap_bail("the FluidX fixture has no NO READ at D7");
	size_t head = (size_t)(d7 - fluidx);
	memcpy(s, fluidx, head);
	strcpy(s + head, "D7,FD06299995");
	strcat(s, d7 + strlen("D7,NO READ"));
	return s;
}

/* The headerless file as a spreadsheet saves it back: BOM, ';', CRLF, A01, and sorted by column. */
static char *
spreadsheet_saved(void)
{
	struct bb_buf b = { 0 };

	bb_buf_puts(&b, "\xEF\xBB\xBF");
	for (int col = 1; col <= 12; col++)
		for (char row = 'A'; row <= 'B'; row++) {
			char well[8];
			snprintf(well, sizeof(well), "%c%d,", row, col);
			const char *line = strstr(headerless, well);
			if (line == NULL)
				continue;
			const char *code = line + strlen(well);
			size_t len = strcspn(code, "\r\n");
			bb_buf_printf(&b, "\"FR00004822\";%c%02d;%.*s\r\n", row, col, (int)len,
			              code);
		}
	char *s = bb_strdup(b.data);
	bb_buf_free(&b);
	return s;
}

static void
rack_file(struct tenv *t)
{
	char p[16], q[16], sql[512];
	struct resp r;

	sql_exec(t, "INSERT INTO boxes (barcode, rows, cols, location_id)"
	            " SELECT b, 8, 12, (SELECT id FROM locations WHERE name = 'Rack 1')"
	            " FROM unnest(ARRAY['FR00004821', 'FR00004822']) b");
	if (!tube(t, "{\"value\":20,\"unit\":\"mL\"}", p))
		return;
	long specimens = specimens_now(t), events = events_now(t);

	post_file(t, p, "?quantity=0.1&unit=mL", fluidx, &r);
	ok(is_problem(&r, 400), "the scanner's file with a NO READ well: 400");
	is_str(jstr(&r, "code"), "rack-file-refused", "  code rack-file-refused");
	ok(r.body && strstr(r.body, "line 46 (D7)") != NULL, "  naming line 46, well D7");
	resp_free(&r);

	/* A row lost: the file's own tube count no longer matches. */
	char *lost = bb_strdup(fluidx);
	char *a5 = strstr(lost, "FR00004821,A5,");
	memmove(a5, strchr(a5, '\n') + 1, strlen(strchr(a5, '\n') + 1) + 1);
	post_file(t, p, NULL, lost, &r);
	ok(is_problem(&r, 400), "the same file with a row lost: 400");
	ok(jstr(&r, "detail") != NULL && strstr(jstr(&r, "detail"), "Tube Count says 94") != NULL,
	   "  the file's own tube count names the loss");
	resp_free(&r);
	free(lost);
	is_int(specimens_now(t), specimens, "  nothing made");
	is_int(events_now(t), events, "  no event written");

	char *read = fluidx_read();
	post_file(t, p, "?quantity=0.1&unit=mL&count=94", read, &r);
	is_int(r.status, 201, "the rack rescanned (D7 read): 201");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 94, "  94 aliquots");
	is_str(jstr(&r, "items.0.location.position"), "A1", "  issued in rack order: A1 first");
	is_str(jstr(&r, "items.12.location.position"), "B1", "  B1 thirteenth");
	is_str(jstr(&r, "items.93.location.position"), "H10", "  H10 last");
	is_str(jstr(&r, "items.42.tube_barcode"), "FD06299995", "  D7 (the 43rd) carries its code");
	resp_free(&r);
	snprintf(
	    sql, sizeof(sql),
	    "SELECT count(*) FROM specimens s JOIN boxes b ON b.id = s.box_id"
	    " WHERE b.barcode = 'FR00004821' AND s.parent_id = '%s' AND s.status = 'in_storage'"
	    " AND s.quantity = 0.1",
	    p);
	is_int(count_sql(t, sql), 94, "  every one stored in the rack, holding 0.1 mL");
	is_int(count_sql(t, "SELECT count(*) FROM specimens s JOIN boxes b ON b.id = s.box_id"
	                    " WHERE s.tube_barcode = 'FD06299913' AND bb_position_name(s.pos_row,"
	                    " s.pos_col) = 'B1'"),
	       1, "  each at the well its code was read in (FD06299913 at B1)");
	is_int(count_sql(t, "SELECT count(*) FROM events e JOIN specimens s ON s.id = e.specimen_id"
	                    " WHERE s.tube_barcode = 'FD06299901' AND ((e.seq = 1 AND e.type ="
	                    " 'registered') OR (e.seq = 2 AND e.type = 'stored' AND e.to_box ="
	                    " 'FR00004821' AND e.to_pos = 'A1'))"),
	       2, "  registered, then stored at its well");
	is_qty(t, p, "registered 10.6 mL", "  9.4 mL taken from the parent");

	/* The double scan: the same file sent again. */
	specimens = specimens_now(t);
	events = events_now(t);
	post_file(t, p, "?quantity=0.1&unit=mL&count=94", read, &r);
	ok(is_problem(&r, 409), "the same file sent twice: 409");
	is_str(jstr(&r, "code"), "conflict", "  every tube refused (codes taken, wells occupied)");
	ok(names_with_code(&r, "line 4 (A1)", "already-exists"), "  line 4 (A1): code known");
	ok(names_with_code(&r, "line 4 (A1)", "position-occupied"), "  line 4 (A1): well taken");
	ok(jnum(&r, "errors_omitted", 0) > 0, "  the rest counted, not listed");
	resp_free(&r);
	is_int(specimens_now(t), specimens, "  nothing made");
	is_int(events_now(t), events, "  no event written");
	free(read);

	/* The spreadsheet-saved file, lines in column order. */
	if (!tube(t, "{\"value\":24,\"unit\":\"mL\"}", q))
		return;
	char *saved = spreadsheet_saved();
	post_file(t, q, "?count=25", saved, &r);
	ok(is_problem(&r, 400), "24 tubes where 25 were expected: 400");
	is_str(jstr(&r, "code"), "rack-file-refused", "  code rack-file-refused");
	resp_free(&r);
	/* A tube already in one of the rack's wells (A5, line 9 of the saved file). */
	char o[16];
	if (!tube(t, "{\"value\":1,\"unit\":\"mL\"}", o))
		return;
	world_act(t, o, "store", "{\"box\":\"FR00004822\",\"position\":\"A5\"}", NULL, &r);
	resp_free(&r);
	specimens = specimens_now(t);
	events = events_now(t);
	post_file(t, q, "?quantity=1&unit=mL", saved, &r);
	ok(is_problem(&r, 409), "a well of the rack already taken: 409");
	is_str(jstr(&r, "code"), "position-occupied", "  code position-occupied");
	ok(problem_names_field(&r, "line 9 (A5)"), "  naming line 9, well A5");
	is_str(jstr(&r, "occupant"), o, "  and the tube there");
	resp_free(&r);
	world_act(t, o, "checkout", "{\"reason\":\"to the bench\"}", NULL, &r);
	resp_free(&r);
	events = events_now(t);

	post_file(t, q, "?quantity=1.5&unit=mL", saved, &r);
	ok(is_problem(&r, 409), "24 tubes of 1.5 mL from 24 mL: 409");
	is_str(jstr(&r, "code"), "quantity-insufficient", "  code quantity-insufficient");
	resp_free(&r);
	char thin[16];
	if (!tube(t, "{\"value\":0.01,\"unit\":\"mL\"}", thin))
		return;
	specimens = specimens_now(t);
	events = events_now(t);
	post_file(t, thin, NULL, saved, &r);
	ok(is_problem(&r, 409), "0.01 mL split into 24 tubes (nothing each): 409");
	is_str(jstr(&r, "code"), "quantity-insufficient", "  code quantity-insufficient");
	resp_free(&r);
	post_file(t, q, "?box=FR00004821", saved, &r);
	ok(is_problem(&r, 400), "a file of rack FR00004822 sent for FR00004821: 400");
	resp_free(&r);
	post_file(t, q, "?box=NO-SUCH-RACK", saved, &r);
	ok(is_problem(&r, 404), "a rack no box is: 404");
	is_str(jstr(&r, "code"), "box-not-found", "  code box-not-found");
	resp_free(&r);
	post_file(t, q, "?quantity=1,5&unit=mL", saved, &r);
	ok(is_problem(&r, 400), "?quantity=1,5: 400");
	ok(problem_names_field(&r, "quantity"), "  naming quantity");
	resp_free(&r);
	post_file(t, q, "?quantity=1", saved, &r);
	ok(is_problem(&r, 400), "a quantity without its unit: 400");
	resp_free(&r);
	post_file(t, q, "?quantity=1&unit=mL", "", &r);
	ok(is_problem(&r, 400), "an empty file: 400");
	resp_free(&r);
	is_int(specimens_now(t), specimens, "after every refusal nothing made");
	is_int(events_now(t), events, "  no event written");

	post_file(t, q, "?quantity=1&unit=mL&count=24", saved, &r);
	is_int(r.status, 201, "the spreadsheet-saved file (BOM, ';', CRLF, A01, by column): 201");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 24, "  24 aliquots");
	is_str(jstr(&r, "items.1.location.position"), "A2",
	       "  issued in rack order (A2 second), not in the file's column order");
	is_str(jstr(&r, "items.1.tube_barcode"), "FD07100002", "  A2 carries A2's code");
	is_str(jstr(&r, "items.12.location.position"), "B1", "  B1 thirteenth");
	resp_free(&r);
	is_qty(t, q, "consumed 0 mL", "  the parent, emptied, is consumed");
	free(saved);
}

/* Eight clients give one new code to eight tubes at once: one wins, the rest are told. */
enum { RACERS = 8 };
struct racer {
	struct tenv *t;
	char id[16];
	long status;
	char code[32];
};

static void *
race_one(void *arg)
{
	struct racer *w = arg;
	char path[96];
	struct resp r;

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/tube-barcode", w->id);
	api(w->t, "POST", path, w->t->admin_token, "{\"tube_barcode\":\"RACE-00001\"}", &r);
	w->status = r.status;
	snprintf(w->code, sizeof(w->code), "%s", jstr(&r, "code") ? jstr(&r, "code") : "");
	resp_free(&r);
	return NULL;
}

static void
race(struct tenv *t)
{
	struct racer w[RACERS];
	pthread_t th[RACERS];
	int won = 0, told = 0;

	for (int i = 0; i < RACERS; i++) {
		w[i].t = t;
		if (!tube(t, NULL, w[i].id))
			return;
	}
	for (int i = 0; i < RACERS; i++)
		pthread_create(&th[i], NULL, race_one, &w[i]);
	for (int i = 0; i < RACERS; i++) {
		pthread_join(th[i], NULL);
		won += w[i].status == 200;
		told += w[i].status == 409 && strcmp(w[i].code, "already-exists") == 0;
		if (w[i].status != 200 && w[i].status != 409)
			tap_diag("racer %d: %ld %s", i, w[i].status, w[i].code);
	}
	is_int(won, 1, "eight clients race for one code: one gets it");
	is_int(told, RACERS - 1, "  the seven others 409 already-exists (never a 500)");
	is_int(count_sql(t, "SELECT count(*) FROM events WHERE type = 'barcode_set'"
	                    " AND details->>'tube_barcode' = 'RACE-00001'"),
	       1, "  one barcode_set event");
}

int
main(int argc, char **argv)
{
	struct tenv t;
	char path[1024];
	const char *fixtures = argc > 2 ? argv[2] : NULL;

	if (fixtures == NULL)
		tap_bail("no fixtures folder given");
	snprintf(path, sizeof(path), "%s/rack-scans/fluidx-with-header.csv", fixtures);
	bb_read_file(path, &fluidx, NULL);
	snprintf(path, sizeof(path), "%s/rack-scans/headerless-with-rack.csv", fixtures);
	bb_read_file(path, &headerless, NULL);
	if (fluidx == NULL || headerless == NULL)
		tap_bail(
		    "the shared rack-scan fixtures (../shared/fixtures/rack-scans) are absent");

	tenv_setup(&t, "tubes", argc, argv);
	world_make(&t);
	listed(&t);
	listed_refused(&t);
	registered_with(&t);
	hostile(&t);
	derivative(&t);
	set_later(&t);
	rack_file(&t);
	race(&t);
	ledger_clean(&t, "after every pre-barcoded tube");
	tenv_teardown(&t);
	free(fluidx);
	free(headerless);
	return tap_done();
}
