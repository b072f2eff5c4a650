/*
 * label_templates.h — the site's label templates for previews and
 * POST /api/v1/print, from the `label_templates` setting (a folder of
 * NAME.json layout files, docs/label-templates.md), beside the built-in
 * ones. Read once at start-up, then read by every worker without locking.
 */
#ifndef SRV_LABEL_TEMPLATES_H
#define SRV_LABEL_TEMPLATES_H

#include <stddef.h>
#include <stdio.h>

struct lbl_template;
struct srv_templates;

/*
 * Reads every *.json of dir (NULL or "": none) into *out, which the caller
 * frees with srv_templates_free(). Each file that is not a valid template
 * is reported to err as one line naming the file and its problem; returns
 * how many problems there were (0: *out is valid; otherwise *out is NULL).
 */
int srv_templates_load(const char *dir, struct srv_templates **out, FILE *err);
void srv_templates_free(struct srv_templates *t);

/* A built-in template by name, else the site's (t may be NULL: none); NULL if neither. */
const struct lbl_template *srv_template_find(const struct srv_templates *t, const char *name);
/* The site's templates by index, for messages; NULL past the last. */
const struct lbl_template *srv_template_at(const struct srv_templates *t, size_t i);

#endif
