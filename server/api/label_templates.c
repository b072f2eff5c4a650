/* label_templates.c — the `label_templates` setting: a site's label templates. */
#include "api/label_templates.h"

#include "biobank.h"
#include "label.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

struct srv_templates {
	struct lbl_template **list;
	size_t n;
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
srv_templates_load(const char *dir, struct srv_templates **out, FILE *err)
{
	struct srv_templates *t = bb_calloc(1, sizeof(*t));
	char **names = NULL, why[LBL_WHY_MAX];
	size_t n = 0, cap = 0;
	struct dirent *e;
	int problems = 0;
	DIR *dp;

	*out = NULL;
	if (dir == NULL || dir[0] == '\0') {
		*out = t;
		return 0;
	}
	if ((dp = opendir(dir)) == NULL) {
		fprintf(err, "biobankd: label_templates: %s is not a folder that can be read\n",
		        dir);
		free(t);
		return 1;
	}
	while ((e = readdir(dp)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len <= 5 || e->d_name[0] == '.' || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			names = bb_realloc(names, cap * sizeof(*names));
		}
		names[n++] = bb_strdup(e->d_name);
	}
	closedir(dp);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	t->list = bb_calloc(n ? n : 1, sizeof(*t->list));
	for (size_t i = 0; i < n; i++) {
		char *path = bb_asprintf("%s/%s", dir, names[i]);
		struct lbl_template *tpl;

		if (lbl_template_load(path, &tpl, why) != BB_OK) {
			fprintf(err, "biobankd: label_templates: %s\n", why);
			problems++;
		} else if (srv_template_find(t, lbl_template_name(tpl)) != NULL) {
			fprintf(
			    err,
			    "biobankd: label_templates: %s: name: %s is taken by another file\n",
			    path, lbl_template_name(tpl));
			lbl_template_free(tpl);
			problems++;
		} else {
			t->list[t->n++] = tpl;
		}
		free(path);
		free(names[i]);
	}
	free(names);
	if (problems > 0) {
		srv_templates_free(t);
		return problems;
	}
	*out = t;
	return 0;
}

void
srv_templates_free(struct srv_templates *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		lbl_template_free(t->list[i]);
	free(t->list);
	free(t);
}

const struct lbl_template *
srv_template_find(const struct srv_templates *t, const char *name)
{
	const struct lbl_template *b = lbl_template_find(name);

	if (b != NULL || t == NULL)
		return b;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(lbl_template_name(t->list[i]), name) == 0)
			return t->list[i];
	return NULL;
}

const struct lbl_template *
srv_template_at(const struct srv_templates *t, size_t i)
{
	return t != NULL && i < t->n ? t->list[i] : NULL;
}
