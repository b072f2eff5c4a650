/* groupmap.c — the group map file, read once at start-up. */
#include "http/groupmap.h"

#include "biobank.h"
#include "http/router.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct group_line {
	char *group;
	char *role;
	char *studies; /* "{A,B}" or NULL */
};

struct group_map {
	size_t n;
	struct group_line *lines;
};

void
group_map_free(struct group_map *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->lines[i].group);
		free(m->lines[i].role);
		free(m->lines[i].studies);
	}
	free(m->lines);
	free(m);
}

/* Study codes as the studies table allows them; the list becomes an array literal. */
static int
studies_literal(const char *list, char **out)
{
	struct bb_buf b = { 0 };
	const char *p = list;

	*out = NULL;
	if (strcmp(list, "*") == 0)
		return 0;
	bb_buf_puts(&b, "{");
	while (*p != '\0') {
		size_t len = strcspn(p, ",");

		if (len == 0 || len > 32) {
			bb_buf_free(&b);
			return -1;
		}
		for (size_t i = 0; i < len; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '-' && p[i] != '_') {
				bb_buf_free(&b);
				return -1;
			}
		bb_buf_printf(&b, "%s%.*s", b.len > 1 ? "," : "", (int)len, p);
		p += len;
		if (*p == ',' && *++p == '\0') {
			bb_buf_free(&b);
			return -1;
		}
	}
	bb_buf_puts(&b, "}");
	*out = bb_buf_steal(&b);
	return 0;
}

int
group_map_load(const char *path, struct group_map **out, FILE *err)
{
	char *text = NULL;
	int problems = 0, lineno = 0;

	*out = NULL;
	if (bb_read_file(path, &text, NULL) != BB_OK) {
		fprintf(err, "biobankd: group_map: cannot read %s\n", path);
		return -1;
	}
	struct group_map *m = bb_calloc(1, sizeof(*m));
	for (char *line = text, *next; line != NULL; line = next) {
		char *f[4] = { 0 }, *fsave = NULL;
		int nf = 0;
		enum role role;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		lineno++;
		line[strcspn(line, "#\r")] = '\0';
		for (char *w = strtok_r(line, " \t", &fsave); w != NULL && nf < 4;
		     w = strtok_r(NULL, " \t", &fsave))
			f[nf++] = w;
		if (nf == 0)
			continue;
		if (nf != 3) {
			fprintf(err,
			        "biobankd: group_map: %s, line %d: want GROUP ROLE STUDIES "
			        "(STUDIES: * or CODE,CODE)\n",
			        path, lineno);
			problems++;
			continue;
		}
		if (role_parse(f[1], &role) != 0) {
			fprintf(err, "biobankd: group_map: %s, line %d: \"%s\" is not a role\n",
			        path, lineno, f[1]);
			problems++;
			continue;
		}
		char *studies;
		if (studies_literal(f[2], &studies) != 0) {
			fprintf(err,
			        "biobankd: group_map: %s, line %d: \"%s\" is neither * nor study "
			        "codes separated by commas\n",
			        path, lineno, f[2]);
			problems++;
			continue;
		}
		m->lines = bb_realloc(m->lines, (m->n + 1) * sizeof(*m->lines));
		m->lines[m->n++] = (struct group_line){ bb_strdup(f[0]), bb_strdup(f[1]), studies };
	}
	free(text);
	if (problems == 0 && m->n == 0) {
		fprintf(err, "biobankd: group_map: %s maps no group\n", path);
		problems++;
	}
	if (problems > 0) {
		group_map_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

int
group_map_find(const struct group_map *m, const char *const *groups, size_t n, const char **role,
               const char **studies, const char **group)
{
	for (size_t i = 0; m != NULL && i < m->n; i++)
		for (size_t j = 0; j < n; j++)
			if (strcasecmp(m->lines[i].group, groups[j]) == 0) {
				*role = m->lines[i].role;
				*studies = m->lines[i].studies;
				*group = m->lines[i].group;
				return 0;
			}
	return -1;
}
