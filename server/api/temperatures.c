/*
 * temperatures.c — temperature readings posted per location (issue 18):
 * one or a list as JSON, or a whole export as text/csv, in either of the
 * dialects of docs/api-storage.md (a data logger's file with title lines
 * and Unix times, or a monitoring system's export naming the location by
 * barcode on every line). Every line is a reading, a title, the header or
 * blank, or the request is refused naming the line; the readings go to one
 * call of bb_temperatures_add, which stores all or none.
 */
#include "api/api.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const struct db_stmt temperatures_statements[] = {
	{ "db_temperatures_add", "SELECT bb_temperatures_add($1::bigint, $2::text[], $3::text[],"
	                         " $4::numeric[], $5::text[], $6::text[], $7, $8::bigint)::text" },
	{ NULL, NULL },
};

/* A day of one reading a minute for 30 freezers; a year of a logger goes in a few posts. */
enum { READINGS_MAX = 50000, CSV_FIELDS_MAX = 32 };

enum { RI_AT, RI_TEMP, RI_SENSOR, RI_CODE, RI__MAX };
static const struct bb_js_field ri_fields[RI__MAX] = {
	[RI_AT] = { "at", BB_JS_TIME, BB_JS_REQUIRED },
	[RI_TEMP] = { "temperature_c", BB_JS_NUMBER, BB_JS_REQUIRED, -273, 200 },
	[RI_SENSOR] = { "sensor", BB_JS_STRING, BB_JS_NULLABLE, 1, 64 },
	[RI_CODE] = { "location_barcode", BB_JS_STRING, BB_JS_NULLABLE, 1, 64 },
};
static const struct bb_js_spec ri_spec = BB_JS_SPEC(ri_fields);

/* {"readings": [...]}, or one reading's fields at the top. */
enum { TP_READINGS, TP_AT, TP_TEMP, TP_SENSOR, TP__MAX };
static const struct bb_js_field tp_fields[TP__MAX] = {
	[TP_READINGS] = { "readings", BB_JS_ARRAY, BB_JS_NULLABLE, 1, READINGS_MAX, NULL, &ri_spec,
	                  BB_JS_OBJECT },
	[TP_AT] = { "at", BB_JS_TIME, BB_JS_NULLABLE },
	[TP_TEMP] = { "temperature_c", BB_JS_NUMBER, BB_JS_NULLABLE, -273, 200 },
	[TP_SENSOR] = { "sensor", BB_JS_STRING, BB_JS_NULLABLE, 1, 64 },
};
const struct bb_js_spec h_temperatures_post_spec = BB_JS_SPEC(tp_fields);

/* The readings of a request, as bb_temperatures_add takes them. */
struct readings {
	size_t n, cap;
	const char **code, **at, **temp, **sensor, **name;
};

static void
readings_add(struct srv_req *r, struct readings *rd, const char *code, const char *at,
             const char *temp, const char *sensor, const char *name)
{
	if (rd->n == rd->cap) {
		size_t cap = rd->cap ? rd->cap * 2 : 64;
		const char ***cols[] = { &rd->code, &rd->at, &rd->temp, &rd->sensor, &rd->name };

		for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			const char **grown = bb_arena_alloc(&r->arena, cap * sizeof(*grown));
			if (rd->n > 0)
				memcpy(grown, *cols[k], rd->n * sizeof(*grown));
			*cols[k] = grown;
		}
		rd->cap = cap;
	}
	rd->code[rd->n] = code;
	rd->at[rd->n] = at;
	rd->temp[rd->n] = temp;
	rd->sensor[rd->n] = sensor;
	rd->name[rd->n] = name;
	rd->n++;
}

/*
 * One CSV line split into fields (RFC 4180 quoting; the line has no CR or
 * LF). Returns the number of fields, or -1 for an unterminated quote or
 * more than max fields. The fields are copied into the arena, trimmed of
 * blanks outside quotes.
 */
static int
csv_split(struct bb_arena *a, const char *line, size_t len, const char **out, int max)
{
	int n = 0;
	size_t i = 0;
	char *buf = bb_arena_alloc(a, len + 1);

	for (;;) {
		size_t w = 0;
		bool quoted = false;

		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i < len && line[i] == '"') {
			quoted = true;
			i++;
			for (;;) {
				if (i >= len)
					return -1;
				if (line[i] == '"') {
					if (i + 1 < len && line[i + 1] == '"') {
						buf[w++] = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				buf[w++] = line[i++];
			}
		}
		while (i < len && line[i] != ',') {
			if (!quoted || (line[i] != ' ' && line[i] != '\t'))
				buf[w++] = line[i];
			i++;
		}
		while (!quoted && w > 0 && (buf[w - 1] == ' ' || buf[w - 1] == '\t'))
			w--;
		if (n == max)
			return -1;
		buf[w] = '\0';
		out[n++] = buf;
		buf += w + 1;
		if (i >= len)
			return n;
		i++; /* the comma */
	}
}

enum col { COL_TIME, COL_UNIX, COL_LOCAL, COL_TEMP, COL_CODE, COL_SENSOR, COL__MAX };

/* Header names of each column, lower case; the first that a header has is read. */
static const char *const col_names[COL__MAX][6] = {
	[COL_TIME] = { "time", "timestamp", "datetime", "date_time", "at", NULL },
	[COL_UNIX] = { "unix time", "unix_time", "epoch", NULL },
	[COL_LOCAL] = { "date/time", "date time", NULL },
	[COL_TEMP] = { "temperature_c", "temperature", "temp", "no.1", "ch1", NULL },
	[COL_CODE] = { "location_barcode", NULL },
	[COL_SENSOR] = { "sensor", "sensor_id", NULL },
};

static int
col_of(const char *name)
{
	for (int c = 0; c < COL__MAX; c++)
		for (const char *const *k = col_names[c]; *k != NULL; k++)
			if (strcasecmp(name, *k) == 0)
				return c;
	return -1;
}

/* A Unix time of seconds as RFC 3339 UTC; NULL unless the text is one. */
static const char *
unix_time_text(struct bb_arena *a, const char *s)
{
	int64_t secs;
	struct tm tm;
	char out[32];

	if (!bb_parse_int64(s, 0, 253402300799LL, &secs))
		return NULL;
	time_t t = (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return bb_arena_strdup(a, out);
}

/* A temperature in °C as text; NULL unless s is a finite number. */
static const char *
temperature_text(struct bb_arena *a, const char *s, bool fahrenheit)
{
	char *end;
	double v;

	if (*s == '\0')
		return NULL;
	v = strtod(s, &end);
	if (*end != '\0' || !isfinite(v))
		return NULL;
	if (fahrenheit)
		v = (v - 32.0) * 5.0 / 9.0;
	return bb_arena_printf(a, "%.2f", v);
}

/*
 * The readings of a CSV body, or false after replying 400 naming the line.
 * Before the header, lines of two fields are a logger's titles ("Unit" says
 * °C or °F); the header is the first line naming a time column.
 */
static bool
csv_readings(struct srv_req *r, struct readings *rd)
{
	const char *p = r->body.data != NULL ? r->body.data : "";
	const char *end = p + r->body.len;
	const char *f[CSV_FIELDS_MAX];
	int cols[COL__MAX];
	bool header = false, fahrenheit = false;
	unsigned line = 0;

	if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	for (int c = 0; c < COL__MAX; c++)
		cols[c] = -1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);
		const char *text = p;

		p = nl != NULL ? nl + 1 : end;
		line++;
		if (len > 0 && text[len - 1] == '\r')
			len--;
		size_t blank = 0;
		while (blank < len && isspace((unsigned char)text[blank]))
			blank++;
		if (blank == len)
			continue;
		int n = csv_split(&r->arena, text, len, f, CSV_FIELDS_MAX);
		if (n < 0) {
			reply_problem_code(r, "temperature-file-refused", NULL,
			                   "line %u: an unterminated quote or more than %d fields",
			                   line, CSV_FIELDS_MAX);
			return false;
		}
		if (!header) {
			for (int k = 0; k < n; k++) {
				int c = col_of(f[k]);
				if (c >= 0 && cols[c] < 0)
					cols[c] = k;
			}
			if (cols[COL_TIME] >= 0 || cols[COL_UNIX] >= 0 || cols[COL_LOCAL] >= 0) {
				header = true;
				if (cols[COL_TEMP] < 0) {
					reply_problem_code(
					    r, "temperature-file-refused", NULL,
					    "line %u: the header names no temperature column "
					    "(temperature_c, or a logger's No.1)",
					    line);
					return false;
				}
				if (cols[COL_TIME] < 0 && cols[COL_UNIX] < 0) {
					reply_problem_code(
					    r, "temperature-file-refused", NULL,
					    "line %u: the times are local times without a zone: "
					    "export the Unix Time column too",
					    line);
					return false;
				}
				continue;
			}
			for (int c = 0; c < COL__MAX; c++)
				cols[c] = -1;
			if (n != 2) {
				reply_problem_code(
				    r, "temperature-file-refused", NULL,
				    "line %u: neither a title (\"Name\",\"Value\") nor a "
				    "header naming a time column",
				    line);
				return false;
			}
			if (strcasecmp(f[0], "unit") == 0) {
				const char *u = f[1];
				if (strncmp(u, "\xC2\xB0", 2) == 0) /* the degree sign, if any */
					u += 2;
				if (strcasecmp(u, "F") == 0)
					fahrenheit = true;
				else if (strcasecmp(u, "C") != 0) {
					reply_problem_code(
					    r, "temperature-file-refused", NULL,
					    "line %u: the unit \"%s\" is neither °C nor °F", line,
					    f[1]);
					return false;
				}
			}
			continue;
		}
		if (rd->n == READINGS_MAX) {
			reply_problem_code(
			    r, "temperature-file-refused", NULL,
			    "line %u: more than %d readings in one file: post it in parts", line,
			    READINGS_MAX);
			return false;
		}
		int tcol = cols[COL_UNIX] >= 0 ? cols[COL_UNIX] : cols[COL_TIME];
		if (tcol >= n || cols[COL_TEMP] >= n) {
			reply_problem_code(r, "temperature-file-refused", NULL,
			                   "line %u: %d field(s), fewer than the header has", line,
			                   n);
			return false;
		}
		const char *at = cols[COL_UNIX] >= 0 ? unix_time_text(&r->arena, f[tcol]) : f[tcol];
		if (at == NULL) {
			reply_problem_code(r, "temperature-file-refused", NULL,
			                   "line %u: \"%s\" is not a Unix time", line, f[tcol]);
			return false;
		}
		const char *temp = temperature_text(&r->arena, f[cols[COL_TEMP]], fahrenheit);
		if (temp == NULL) {
			reply_problem_code(r, "temperature-file-refused", NULL,
			                   "line %u: \"%s\" is not a temperature", line,
			                   f[cols[COL_TEMP]]);
			return false;
		}
		const char *code = cols[COL_CODE] >= 0 && cols[COL_CODE] < n && *f[cols[COL_CODE]]
		                       ? f[cols[COL_CODE]]
		                       : NULL;
		const char *sensor = cols[COL_SENSOR] >= 0 && cols[COL_SENSOR] < n &&
		                             *f[cols[COL_SENSOR]] &&
		                             strlen(f[cols[COL_SENSOR]]) <= 64
		                         ? f[cols[COL_SENSOR]]
		                         : NULL;
		readings_add(r, rd, code, at, temp, sensor,
		             bb_arena_printf(&r->arena, "line %u", line));
	}
	if (!header || rd->n == 0) {
		reply_problem_code(r, "temperature-file-refused", NULL, "%s",
		                   header ? "the file has a header but no reading"
		                          : "the file has no header naming a time column");
		return false;
	}
	return true;
}

static bool
json_readings(struct srv_req *r, struct readings *rd)
{
	const struct bb_js_value *in = r->in;

	if (in[TP_READINGS].present == (in[TP_AT].present || in[TP_TEMP].present)) {
		reply_invalid_field(r, "readings",
		                    "give either a list of readings or one reading's at and "
		                    "temperature_c");
		return false;
	}
	if (!in[TP_READINGS].present) {
		if (!in[TP_AT].present || !in[TP_TEMP].present) {
			reply_invalid_field(r, in[TP_AT].present ? "temperature_c" : "at",
			                    "is required for a reading");
			return false;
		}
		readings_add(r, rd, NULL, in[TP_AT].s,
		             bb_arena_printf(&r->arena, "%.2f", in[TP_TEMP].d),
		             in[TP_SENSOR].present ? in[TP_SENSOR].s : NULL, "at");
		return true;
	}
	for (size_t i = 0; i < in[TP_READINGS].n; i++) {
		const struct bb_js_value *it = in[TP_READINGS].items[i].obj;

		readings_add(r, rd, it[RI_CODE].present ? it[RI_CODE].s : NULL, it[RI_AT].s,
		             bb_arena_printf(&r->arena, "%.2f", it[RI_TEMP].d),
		             it[RI_SENSOR].present ? it[RI_SENSOR].s : NULL,
		             bb_arena_printf(&r->arena, "readings[%zu]", i));
	}
	return true;
}

/* POST /api/v1/locations/{id}/temperatures and POST /api/v1/temperatures */
void
h_temperatures_post(struct srv_req *r)
{
	struct readings rd = { 0 };
	const char *loc = NULL;
	bool file = r->in == NULL;

	if (r->params[0] != NULL && (loc = req_id_param(r, 0, "location")) == NULL)
		return;
	if (file ? !csv_readings(r, &rd) : !json_readings(r, &rd))
		return;
	const char *params[] = {
		loc,
		db_array_literal(&r->arena, rd.code, rd.n),
		db_array_literal(&r->arena, rd.at, rd.n),
		db_array_literal(&r->arena, rd.temp, rd.n),
		db_array_literal(&r->arena, rd.sensor, rd.n),
		db_array_literal(&r->arena, rd.name, rd.n),
		req_actor(r),
		req_actor_id(r),
	};
	if (!file) {
		reply_from_function(r, 200, "db_temperatures_add", 8, params);
		return;
	}
	struct db_conn *db = req_db(r);
	PGresult *res = NULL;

	if (db == NULL)
		return;
	enum bb_err err = db_exec_retried(db, "db_temperatures_add", 8, params, &res);
	if (err == BB_OK) {
		reply_json_text(r, 200, PQgetvalue(res, 0, 0));
		PQclear(res);
		return;
	}
	reply_db_error_items(r, err, "The temperature file was refused", rd.name, rd.n);
}
