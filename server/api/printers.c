/* printers.c — the `printers` setting: named label printers for POST /api/v1/print. */
#include "api/printers.h"

#include "biobank.h"

#include <stdlib.h>
#include <string.h>

enum { PRINTER_NAME_MAX = 64, PRINTER_URI_MAX = 1024 };

struct printer {
	char *name;
	char *uri;
};

struct srv_printers {
	struct printer *list;
	size_t n;
};

static bool
name_ok(const char *s, size_t len)
{
	if (len == 0 || len > PRINTER_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* The transports lbl_printer_send() knows, with something after the scheme. */
static bool
uri_ok(const char *s, size_t len)
{
	static const char *const schemes[] = { "tcp://", "http://", "https://", "file:" };

	if (len == 0 || len > PRINTER_URI_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7F)
			return false;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t k = strlen(schemes[i]);

		if (len > k && strncmp(s, schemes[i], k) == 0)
			return true;
	}
	return false;
}

int
srv_printers_parse(const char *spec, struct srv_printers **out, FILE *err)
{
	struct srv_printers *p = bb_calloc(1, sizeof(*p));
	const char *s = spec ? spec : "";
	int problems = 0;
	size_t entry = 0;

	*out = NULL;
	while (*s != '\0') {
		size_t len = strcspn(s, ",");
		const char *eq = memchr(s, '=', len);

		entry++;
		if (eq == NULL) {
			fprintf(err, "biobankd: printers: entry %zu \"%.*s\" is not NAME=URI\n",
			        entry, (int)len, s);
			problems++;
		} else if (!name_ok(s, (size_t)(eq - s))) {
			fprintf(err,
			        "biobankd: printers: entry %zu: \"%.*s\" is not a printer name (1 "
			        "to %d "
			        "letters, digits, _ - .)\n",
			        entry, (int)(eq - s), s, PRINTER_NAME_MAX);
			problems++;
		} else if (!uri_ok(eq + 1, len - (size_t)(eq - s) - 1)) {
			fprintf(err,
			        "biobankd: printers: %.*s: \"%.*s\" is not tcp://HOST[:PORT], "
			        "http://..., "
			        "https://... or file:PATH\n",
			        (int)(eq - s), s, (int)(len - (size_t)(eq - s) - 1), eq + 1);
			problems++;
		} else {
			char *name = bb_strndup(s, (size_t)(eq - s));

			if (srv_printers_uri(p, name) != NULL) {
				fprintf(err, "biobankd: printers: %s is named twice\n", name);
				problems++;
				free(name);
			} else {
				p->list = bb_realloc(p->list, (p->n + 1) * sizeof(*p->list));
				p->list[p->n].name = name;
				p->list[p->n].uri = bb_strndup(eq + 1, len - (size_t)(eq - s) - 1);
				p->n++;
			}
		}
		s += len;
		if (*s == ',') {
			s++;
			if (*s == '\0') {
				fprintf(
				    err,
				    "biobankd: printers: an empty entry after the last comma\n");
				problems++;
			}
		}
	}
	if (problems > 0) {
		srv_printers_free(p);
		return problems;
	}
	*out = p;
	return 0;
}

void
srv_printers_free(struct srv_printers *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->list[i].name);
		free(p->list[i].uri);
	}
	free(p->list);
	free(p);
}

const char *
srv_printers_uri(const struct srv_printers *p, const char *name)
{
	for (size_t i = 0; p != NULL && i < p->n; i++)
		if (strcmp(p->list[i].name, name) == 0)
			return p->list[i].uri;
	return NULL;
}

size_t
srv_printers_count(const struct srv_printers *p)
{
	return p ? p->n : 0;
}

const char *
srv_printers_name(const struct srv_printers *p, size_t i)
{
	return p != NULL && i < p->n ? p->list[i].name : NULL;
}
