/*
 * input.c — label records from the API's JSON items or from files made
 * offline: a JSON file shaped like the API's answer (or a bare array of
 * items), or a CSV with a header row (id, type, participant, timepoint,
 * collected_at; other columns ignored). Collection times are dated in the
 * zone of --timezone when given.
 */
#include "cli.h"
#include "ids.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
recs_free(struct rec_list *l)
{
	free(l->items);
	bb_arena_free(&l->arena);
	memset(l, 0, sizeof(*l));
}

static struct lbl_data *
recs_push(struct rec_list *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->items = bb_realloc(l->items, l->cap * sizeof(*l->items));
	}
	memset(&l->items[l->n], 0, sizeof(l->items[0]));
	return &l->items[l->n++];
}

/* A timestamp prints as its date: that is what fits and what is asked for. */
static const char *
date_part(struct bb_arena *a, const char *s)
{
	if (strlen(s) > 10 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' '))
		return bb_arena_strndup(a, s, 10);
	return bb_arena_strdup(a, s);
}

/*
 * The collection date of a record: with --timezone, a collection time is
 * dated in that zone and the label names it; otherwise a time prints as its
 * own date. Sets d->collected (and d->zone, d->zone_offset).
 */
static void
set_collected(struct rec_list *l, struct lbl_data *d, const char *s)
{
	char date[11], offset[16];

	if (l->tz != NULL && zone_date(s, date, offset)) {
		d->collected = bb_arena_strdup(&l->arena, date);
		d->zone = l->tz;
		d->zone_offset = bb_arena_strdup(&l->arena, offset);
		return;
	}
	d->collected = date_part(&l->arena, s);
}

static enum bb_err
set_id(struct rec_list *l, struct lbl_data *d, const char *raw, bool check, char why[LBL_WHY_MAX])
{
	char id[BB_ID_LEN + 1];
	const char *reason;

	if (!check) {
		d->id = bb_arena_strdup(&l->arena, raw);
		return BB_OK;
	}
	if (bb_id_parse(raw, id, &reason) != BB_OK) {
		snprintf(why, LBL_WHY_MAX, "\"%.40s\" is not a specimen ID: %s", raw, reason);
		return BB_EINVAL;
	}
	d->id = bb_arena_strdup(&l->arena, id);
	return BB_OK;
}

static const char *
json_str(struct bb_arena *a, const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? bb_arena_strdup(a, v->valuestring) : NULL;
}

enum bb_err
recs_add_json(struct rec_list *l, const cJSON *item, bool check_id, char why[LBL_WHY_MAX])
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
	const cJSON *part = cJSON_GetObjectItemCaseSensitive(item, "participant");
	const cJSON *coll = cJSON_GetObjectItemCaseSensitive(item, "collected_at");
	const cJSON *lines = cJSON_GetObjectItemCaseSensitive(item, "lines");
	struct lbl_data *d;
	enum bb_err err;

	if (!cJSON_IsObject(item) || !cJSON_IsString(id)) {
		snprintf(why, LBL_WHY_MAX, "a label item without a string \"id\"");
		return BB_EINVAL;
	}
	d = recs_push(l);
	if ((err = set_id(l, d, id->valuestring, check_id, why))) {
		l->n--;
		return err;
	}
	d->type = json_str(&l->arena, item, "type");
	d->timepoint = json_str(&l->arena, item, "timepoint");
	if (cJSON_IsString(part)) {
		d->participant = bb_arena_strdup(&l->arena, part->valuestring);
	} else if (cJSON_IsObject(part)) {
		const char *study = json_str(&l->arena, part, "study");
		const char *code = json_str(&l->arena, part, "code");

		if (code)
			d->participant =
			    study ? bb_arena_printf(&l->arena, "%s %s", study, code) : code;
	}
	/* biobankd dates its label data in the site's zone and says which. */
	const char *on = json_str(&l->arena, item, "collected_on");
	if (on != NULL && l->tz == NULL) {
		d->collected = on;
		d->zone = json_str(&l->arena, item, "timezone");
		d->zone_offset = json_str(&l->arena, item, "utc_offset");
	} else if (cJSON_IsString(coll)) {
		set_collected(l, d, coll->valuestring);
	}
	if (cJSON_IsArray(lines) && cJSON_GetArraySize(lines) > 0) {
		size_t n = (size_t)cJSON_GetArraySize(lines), k = 0;
		const char **arr = bb_arena_alloc(&l->arena, n * sizeof(*arr));
		const cJSON *ln;

		cJSON_ArrayForEach(ln, lines)
		{
			if (!cJSON_IsString(ln)) {
				snprintf(why, LBL_WHY_MAX, "label %s: \"lines\" holds a non-string",
				         d->id);
				l->n--;
				return BB_EINVAL;
			}
			/* Saved label data dated again (--timezone): its date line too. */
			arr[k++] = on && d->collected && strcmp(ln->valuestring, on) == 0
			               ? d->collected
			               : bb_arena_strdup(&l->arena, ln->valuestring);
		}
		d->lines = arr;
		d->nlines = k;
	}
	return BB_OK;
}

static enum bb_err
read_json(struct rec_list *l, const char *path, const char *text, char why[LBL_WHY_MAX])
{
	cJSON *root = cJSON_Parse(text);
	const cJSON *items = root, *it;
	enum bb_err err = BB_OK;

	if (root == NULL) {
		snprintf(why, LBL_WHY_MAX, "%.150s: not valid JSON", path);
		return BB_EINVAL;
	}
	if (cJSON_IsObject(root))
		items = cJSON_GetObjectItemCaseSensitive(root, "items");
	if (!cJSON_IsArray(items)) {
		snprintf(why, LBL_WHY_MAX, "%.150s: expected {\"items\": [...]} or an array", path);
		cJSON_Delete(root);
		return BB_EINVAL;
	}
	cJSON_ArrayForEach(it, items)
	{
		if ((err = recs_add_json(l, it, true, why)))
			break;
	}
	cJSON_Delete(root);
	return err;
}

/* One RFC 4180 record starting at *p; fields point into the mutable text. */
static int
csv_record(char **p, char **fields, int max, bool *bad)
{
	char *s = *p, *w;
	int n = 0;

	*bad = false;
	if (*s == '\0')
		return -1;
	for (;;) {
		char *start = w = s;

		if (*s == '"') {
			s++;
			for (;;) {
				if (*s == '\0') {
					*bad = true; /* unterminated quote */
					return n;
				}
				if (*s == '"' && s[1] == '"') {
					*w++ = '"';
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else {
					*w++ = *s++;
				}
			}
			if (*s != ',' && *s != '\n' && *s != '\r' && *s != '\0') {
				*bad = true;
				return n;
			}
		} else {
			while (*s != ',' && *s != '\n' && *s != '\r' && *s != '\0')
				*w++ = *s++;
		}
		char sep = *s;
		*w = '\0';
		if (n < max)
			fields[n] = start;
		n++;
		if (sep == ',') {
			s++;
			continue;
		}
		/* The separator itself may just have been overwritten by the NUL. */
		if (sep == '\r' && *++s == '\n')
			s++;
		else if (sep == '\n')
			s++;
		*p = s;
		return n;
	}
}

enum { COL_ID, COL_TYPE, COL_PART, COL_TP, COL_COLL, COL__MAX };
static const char *const col_names[COL__MAX] = { "id", "type", "participant", "timepoint",
	                                         "collected_at" };

static enum bb_err
read_csv(struct rec_list *l, const char *path, char *text, char why[LBL_WHY_MAX])
{
	enum { MAXF = 64 };
	char *fields[MAXF], *p = text;
	int col[COL__MAX], nhead, line = 1;
	bool bad;

	if (strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3; /* spreadsheets write a byte-order mark */
	nhead = csv_record(&p, fields, MAXF, &bad);
	if (nhead <= 0 || bad || nhead > MAXF) {
		snprintf(why, LBL_WHY_MAX, "%.150s:1: expected a header row", path);
		return BB_EINVAL;
	}
	for (int c = 0; c < COL__MAX; c++) {
		col[c] = -1;
		for (int f = 0; f < nhead; f++)
			if (strcmp(fields[f], col_names[c]) == 0)
				col[c] = f;
	}
	if (col[COL_ID] < 0) {
		snprintf(why, LBL_WHY_MAX, "%.150s:1: no \"id\" column", path);
		return BB_EINVAL;
	}
	for (;;) {
		int n;
		struct lbl_data *d;
		enum bb_err err;

		line++;
		n = csv_record(&p, fields, MAXF, &bad);
		if (n < 0)
			break;
		if (n == 1 && fields[0][0] == '\0')
			continue; /* blank line */
		if (bad || n != nhead) {
			snprintf(why, LBL_WHY_MAX, "%.150s:%d: %s", path, line,
			         bad ? "malformed quoting" : "wrong number of fields");
			return BB_EINVAL;
		}
		d = recs_push(l);
		if ((err = set_id(l, d, fields[col[COL_ID]], true, why))) {
			char inner[LBL_WHY_MAX];

			memcpy(inner, why, sizeof(inner));
			snprintf(why, LBL_WHY_MAX, "%.100s:%d: %.140s", path, line, inner);
			l->n--;
			return err;
		}
		if (col[COL_TYPE] >= 0)
			d->type = bb_arena_strdup(&l->arena, fields[col[COL_TYPE]]);
		if (col[COL_PART] >= 0)
			d->participant = bb_arena_strdup(&l->arena, fields[col[COL_PART]]);
		if (col[COL_TP] >= 0)
			d->timepoint = bb_arena_strdup(&l->arena, fields[col[COL_TP]]);
		if (col[COL_COLL] >= 0)
			set_collected(l, d, fields[col[COL_COLL]]);
	}
	return BB_OK;
}

enum bb_err
recs_read_file(struct rec_list *l, const char *path, char why[LBL_WHY_MAX])
{
	struct bb_buf b = { 0 };
	char chunk[8192];
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t n;
	enum bb_err err;

	if (f == NULL) {
		snprintf(why, LBL_WHY_MAX, "%.150s: %s", path, strerror(errno));
		return BB_EIO;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		bb_buf_append(&b, chunk, n);
	if (f != stdin)
		fclose(f);
	bb_buf_puts(&b, "");
	if (strlen(b.data) != b.len) {
		snprintf(why, LBL_WHY_MAX, "%.150s: holds a NUL byte", path);
		bb_buf_free(&b);
		return BB_EINVAL;
	}
	size_t skip = strspn(b.data, " \t\r\n");
	if (b.data[skip] == '{' || b.data[skip] == '[')
		err = read_json(l, path, b.data, why);
	else
		err = read_csv(l, path, b.data, why);
	if (err == BB_OK && l->n == 0) {
		snprintf(why, LBL_WHY_MAX, "%.150s: no labels", path);
		err = BB_EINVAL;
	}
	bb_buf_free(&b);
	return err;
}
