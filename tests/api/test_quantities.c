/*
 * test_quantities.c — a tube holds what it holds: aliquots and derivatives
 * are taken from the parent's remaining quantity (mL and uL, mg and ug
 * convert; DNA in ug from cells in mL cannot be weighed against them), a
 * consume may use part of a tube, nothing ever goes below zero, and a tube
 * emptied by aliquoting is consumed rather than stored as if it held
 * something (docs/consent.md, "Quantities").
 */
#include "world.h"

#include <stdlib.h>
#include <string.h>

static bool
tube(struct tenv *t, const char *type, const char *qty, const char *extra, char id[16])
{
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"%s\","
	         "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\""
	         "%s%s%s%s}",
	         type, qty ? ",\"quantity\":" : "", qty ? qty : "", extra ? "," : "",
	         extra ? extra : "");
	api(t, "POST", "/api/v1/specimens", t->admin_token, body, &r);
	bool made = r.status == 201 && jstr(&r, "id") != NULL;
	snprintf(id, 16, "%s", made ? jstr(&r, "id") : "");
	if (!made)
		ok(false, "register a %s tube: %ld %s", type, r.status, r.body);
	resp_free(&r);
	return made;
}

/* "status quantity unit" of a specimen, from the database. */
static char *
row(struct tenv *t, const char *id)
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
is_row(struct tenv *t, const char *id, const char *want, const char *what)
{
	char *got = row(t, id);

	is_str(got, want, "%s", what);
	free(got);
}

static long
events_of(struct tenv *t, const char *id)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE specimen_id = '%s'", id);
	return sql_int(t, sql);
}

static void
insufficient(struct resp *r, const char *id, const char *remaining, const char *unit)
{
	ok(is_problem(r, 409), "  409");
	is_str(jstr(r, "code"), "quantity-insufficient", "  code quantity-insufficient");
	is_str(jstr(r, "specimen"), id, "  naming the specimen");
	char want[32], got[32];
	snprintf(want, sizeof(want), "%s", remaining);
	snprintf(got, sizeof(got), "%g", jnum(r, "remaining", -1));
	is_str(got, want, "  with what remains");
	is_str(jstr(r, "unit"), unit, "  and its unit");
}

static void
derivatives(struct tenv *t)
{
	char p[16], w[16];
	struct resp r;

	if (!tube(t, "whole_blood", "{\"value\":10,\"unit\":\"mL\"}", NULL, p))
		return;
	long children = sql_int(t, "SELECT count(*) FROM specimens WHERE parent_id IS NOT NULL");
	long evs = events_of(t, p);
	world_act(t, p, "derivatives",
	          "{\"type\":\"plasma\",\"quantity\":{\"value\":50,\"unit\":\"mL\"}}", NULL, &r);
	ok(r.status == 409, "50 mL of plasma derived from a 10 mL tube is refused");
	insufficient(&r, p, "10", "mL");
	resp_free(&r);
	world_act(t, p, "derivatives",
	          "{\"type\":\"plasma\",\"quantity\":{\"value\":50,\"unit\":\"mL\"}}", NULL, &r);
	is_int(r.status, 409, "  asked twice, refused twice");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM specimens WHERE parent_id IS NOT NULL"), children,
	       "  no derivative was made");
	is_int(events_of(t, p), evs, "  and the parent's chain is unchanged");
	is_row(t, p, "registered 10 mL", "  which still holds 10 mL");

	world_act(t, p, "derivatives",
	          "{\"type\":\"plasma\",\"quantity\":{\"value\":4,\"unit\":\"mL\"}}", NULL, &r);
	is_int(r.status, 201, "4 mL of plasma from it: 201");
	resp_free(&r);
	is_row(t, p, "registered 6 mL", "  the parent is left with 6 mL");
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT details->'quantity_taken'->>'value' || ' ' || "
	         "(details->'quantity_taken'->>'unit')"
	         " FROM events WHERE specimen_id = '%s' AND type = 'derived'",
	         p);
	bool ok_sql;
	char *taken = sql_value(t, sql, &ok_sql);
	is_str(taken, "4 mL", "  its derived event says what was taken");
	free(taken);

	world_act(t, p, "derivatives",
	          "{\"type\":\"plasma\",\"quantity\":{\"value\":500,\"unit\":\"µL\"}}", NULL, &r);
	is_int(r.status, 201, "500 µL more: 201");
	resp_free(&r);
	is_row(t, p, "registered 5.5 mL", "  converted: the parent is left with 5.5 mL");
	world_act(t, p, "derivatives",
	          "{\"type\":\"plasma\",\"quantity\":{\"value\":5501,\"unit\":\"uL\"}}", NULL, &r);
	ok(r.status == 409, "5501 uL (one more than it holds) is refused");
	insufficient(&r, p, "5.5", "mL");
	resp_free(&r);

	world_act(t, p, "derivatives",
	          "{\"type\":\"dna\",\"quantity\":{\"value\":20,\"unit\":\"µg\"}}", NULL, &r);
	is_int(r.status, 201, "20 µg of DNA from it (a mass from a volume): 201");
	resp_free(&r);
	is_row(t, p, "registered 5.5 mL", "  nothing is taken: the units do not compare");

	if (!tube(t, "whole_blood", NULL, NULL, w))
		return;
	world_act(t, w, "derivatives",
	          "{\"type\":\"plasma\",\"quantity\":{\"value\":50,\"unit\":\"mL\"}}", NULL, &r);
	is_int(r.status, 201, "from a tube of unknown quantity anything may be derived");
	resp_free(&r);

	char q[16];
	if (!tube(t, "plasma", "{\"value\":3,\"unit\":\"mL\"}", NULL, q))
		return;
	world_act(t, q, "derivatives",
	          "{\"type\":\"serum\",\"quantity\":{\"value\":3,\"unit\":\"mL\"}}", NULL, &r);
	is_int(r.status, 201, "a derivative taking all of a 3 mL tube: 201");
	resp_free(&r);
	is_row(t, q, "consumed 0 mL", "  the emptied parent is consumed");
}

static void
aliquots(struct tenv *t)
{
	char p[16];
	struct resp r;

	if (!tube(t, "serum", "{\"value\":5.5,\"unit\":\"mL\"}", NULL, p))
		return;
	long evs = events_of(t, p);
	world_act(t, p, "aliquots", "{\"count\":3,\"quantity\":{\"value\":2000,\"unit\":\"µL\"}}",
	          NULL, &r);
	ok(r.status == 409, "3 aliquots of 2000 µL from 5.5 mL are refused");
	insufficient(&r, p, "5.5", "mL");
	resp_free(&r);
	is_int(events_of(t, p), evs, "  nothing written");
	world_act(t, p, "aliquots", "{\"count\":2,\"quantity\":{\"value\":1,\"unit\":\"mg\"}}",
	          NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "quantity.unit"),
	   "aliquots in mg of a tube in mL: 400 naming quantity.unit");
	is_str(jstr(&r, "code"), "unit-mismatch", "  code unit-mismatch");
	resp_free(&r);
	world_act(t, p, "aliquots", "{\"count\":2,\"quantity\":{\"value\":1500,\"unit\":\"µL\"}}",
	          NULL, &r);
	is_int(r.status, 201, "2 aliquots of 1500 µL: 201");
	ok(jnum(&r, "items.0.quantity.value", -1) == 1500 && jstr(&r, "items.0.quantity.unit") &&
	       strcmp(jstr(&r, "items.0.quantity.unit"), "µL") == 0,
	   "  each holding 1500 µL");
	resp_free(&r);
	is_row(t, p, "registered 2.5 mL", "  the parent is left with 2.5 mL");
}

static void
consume(struct tenv *t)
{
	char p[16], u[16], whole[16];
	struct resp r;
	char sql[256];
	bool ok_sql;

	if (!tube(t, "serum", "{\"value\":2.5,\"unit\":\"mL\"}", NULL, p))
		return;
	world_act(t, p, "store", "{\"box\":\"BOX-A\",\"position\":\"A1\"}", NULL, &r);
	resp_free(&r);
	world_act(t, p, "consume",
	          "{\"reason\":\"ELISA\",\"quantity\":{\"value\":1,\"unit\":\"mL\"}}", NULL, &r);
	is_int(r.status, 200, "consume 1 mL of a 2.5 mL stored tube: 200");
	is_str(jstr(&r, "status"), "in_storage", "  it stays in storage");
	is_str(jstr(&r, "location.position"), "A1", "  at its position");
	ok(jnum(&r, "quantity.value", -1) == 1.5, "  holding 1.5 mL");
	resp_free(&r);
	snprintf(
	    sql, sizeof(sql),
	    "SELECT type || ' ' || (details->'quantity'->>'value') || ' ' ||"
	    " (details->'quantity'->>'unit') || ' ' || (details->'remaining'->>'value') || ' ' ||"
	    " reason FROM events WHERE specimen_id = '%s' ORDER BY seq DESC LIMIT 1",
	    p);
	char *ev = sql_value(t, sql, &ok_sql);
	is_str(ev, "used 1 mL 1.5 ELISA", "  a 'used' event with the quantity and what remains");
	free(ev);

	long evs = events_of(t, p);
	world_act(t, p, "consume",
	          "{\"reason\":\"ELISA\",\"quantity\":{\"value\":2,\"unit\":\"mL\"}}", NULL, &r);
	ok(r.status == 409, "consuming 2 mL of the 1.5 mL left is refused");
	insufficient(&r, p, "1.5", "mL");
	resp_free(&r);
	world_act(t, p, "consume",
	          "{\"reason\":\"ELISA\",\"quantity\":{\"value\":0,\"unit\":\"mL\"}}", NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "quantity.value"),
	   "consuming 0 mL is 400 naming quantity.value");
	resp_free(&r);
	world_act(t, p, "consume",
	          "{\"reason\":\"ELISA\",\"quantity\":{\"value\":1,\"unit\":\"cells\"}}", NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "quantity.unit"),
	   "consuming cells of a tube in mL is 400 naming quantity.unit");
	resp_free(&r);
	world_act(t, p, "consume",
	          "{\"reason\":\"ELISA\",\"quantity\":{\"value\":-1,\"unit\":\"mL\"}}", NULL, &r);
	ok(is_problem(&r, 400), "a negative quantity is 400");
	resp_free(&r);
	is_int(events_of(t, p), evs, "  the refusals wrote nothing");
	is_row(t, p, "in_storage 1.5 mL", "  and left 1.5 mL");

	world_act(t, p, "consume",
	          "{\"reason\":\"ELISA\",\"quantity\":{\"value\":1500,\"unit\":\"uL\"}}", NULL, &r);
	is_int(r.status, 200, "consuming the last 1500 uL: 200");
	is_str(jstr(&r, "status"), "consumed", "  the tube is consumed");
	ok(cJSON_IsNull(cJSON_GetObjectItem(r.json, "location")), "  its position freed");
	resp_free(&r);
	is_row(t, p, "consumed 0 mL", "  holding 0 mL");
	snprintf(sql, sizeof(sql),
	         "SELECT type || ' ' || from_box || ' ' || from_pos || ' ' ||"
	         " (details->'quantity'->>'value') || ' ' || (details->'remaining'->>'value')"
	         " FROM events WHERE specimen_id = '%s' ORDER BY seq DESC LIMIT 1",
	         p);
	ev = sql_value(t, sql, &ok_sql);
	is_str(ev, "consumed BOX-A A1 1500 0", "  with a consumed event from BOX-A A1");
	free(ev);

	if (!tube(t, "serum", "{\"value\":2,\"unit\":\"mL\"}", NULL, whole))
		return;
	world_act(t, whole, "consume", "{\"reason\":\"used up\"}", NULL, &r);
	is_str(jstr(&r, "status"), "consumed", "a consume without a quantity uses up the tube");
	resp_free(&r);

	if (!tube(t, "serum", NULL, NULL, u))
		return;
	world_act(t, u, "consume",
	          "{\"reason\":\"ELISA\",\"quantity\":{\"value\":1,\"unit\":\"mL\"}}", NULL, &r);
	is_int(r.status, 200, "part of a tube of unknown quantity: 200");
	is_str(jstr(&r, "status"), "registered", "  the tube stays as it was");
	resp_free(&r);
	snprintf(sql, sizeof(sql),
	         "SELECT type || ' ' || (details->'quantity'->>'value') || ' ' ||"
	         " COALESCE(details->>'remaining', 'unknown') FROM events WHERE specimen_id = '%s'"
	         " ORDER BY seq DESC LIMIT 1",
	         u);
	ev = sql_value(t, sql, &ok_sql);
	is_str(ev, "used 1 unknown", "  its 'used' event records the quantity, nothing remaining");
	free(ev);

	free(sql_value(
	    t, "UPDATE specimens SET quantity = -1 WHERE id = (SELECT min(id) FROM specimens)",
	    &ok_sql));
	ok(!ok_sql, "the database refuses a negative quantity (CHECK)");
}

static void
exhausted(struct tenv *t)
{
	char p[16], s[16], z[16];
	struct resp r;
	char sql[256], body[256];
	bool ok_sql;

	if (!tube(t, "serum", "{\"value\":3,\"unit\":\"mL\"}", "\"aliquots\":3", p))
		return;
	is_row(t, p, "consumed 0 mL", "a collection split into 3 aliquots is consumed, 0 mL left");
	snprintf(sql, sizeof(sql),
	         "SELECT string_agg(type, ',' ORDER BY seq) FROM events WHERE specimen_id = '%s'",
	         p);
	char *chain = sql_value(t, sql, &ok_sql);
	is_str(chain, "registered,aliquoted,consumed", "  registered, aliquoted, consumed");
	free(chain);
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/specimens/%s", p);
	api(t, "GET", path, t->admin_token, NULL, &r);
	is_str(jstr(&r, "status"), "consumed", "  GET says consumed");
	resp_free(&r);
	world_act(t, p, "store", "{\"box\":\"BOX-B\",\"position\":\"A1\"}", NULL, &r);
	ok(is_problem(&r, 409), "storing the empty parent is refused");
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"placements\":[{\"position\":\"A1\",\"specimen\":\"%s\"}]}",
	         p);
	api(t, "POST", "/api/v1/boxes/BOX-B/placements", t->admin_token, body, &r);
	ok(is_problem(&r, 409), "  and placing it (fill mode) too");
	resp_free(&r);

	/* A stored tube aliquoted down to nothing leaves its position. */
	if (!tube(t, "serum", "{\"value\":2,\"unit\":\"mL\"}", NULL, s))
		return;
	world_act(t, s, "store", "{\"box\":\"BOX-B\",\"position\":\"B1\"}", NULL, &r);
	resp_free(&r);
	world_act(t, s, "aliquots", "{\"count\":2}", NULL, &r);
	is_int(r.status, 201, "a stored 2 mL tube split into 2 aliquots: 201");
	resp_free(&r);
	is_row(t, s, "consumed 0 mL", "  it is consumed");
	is_int(sql_int(t, "SELECT count(*) FROM specimens s JOIN boxes b ON b.id = s.box_id"
	                  " WHERE b.barcode = 'BOX-B' AND s.pos_row = 2 AND s.pos_col = 1"),
	       0, "  and B1 is free");

	/* A tube registered empty (or left at 0 by an older version) is not stored. */
	if (!tube(t, "serum", "{\"value\":0,\"unit\":\"mL\"}", NULL, z))
		return;
	world_act(t, z, "store", "{\"box\":\"BOX-B\",\"position\":\"C1\"}", NULL, &r);
	ok(is_problem(&r, 409), "storing a tube that holds 0 mL: 409");
	is_str(jstr(&r, "code"), "quantity-exhausted", "  code quantity-exhausted");
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"placements\":[{\"position\":\"C1\",\"specimen\":\"%s\"}]}",
	         z);
	api(t, "POST", "/api/v1/boxes/BOX-B/placements", t->admin_token, body, &r);
	ok(is_problem(&r, 409), "  placing it: 409");
	is_str(jstr(&r, "code"), "quantity-exhausted", "  code quantity-exhausted");
	resp_free(&r);
	world_act(t, z, "consume", "{\"reason\":\"empty tube\"}", NULL, &r);
	is_int(r.status, 200, "  it can be consumed");
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "quantities", argc, argv);
	world_make(&t);
	derivatives(&t);
	aliquots(&t);
	consume(&t);
	exhausted(&t);
	tenv_teardown(&t);
	return tap_done();
}
