/* witnesses.c — read the witnesses file (witnesses.h). */
#include "cmd/witnesses.h"

#include "cmd/ledger_keys.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { LINE_MAX_LEN = 4096 };

/* A bearer token from a file only its owner may read; -1 after a line on err. */
static int
token_load(const char *path, const char *file, int line, char *out, FILE *err)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    bb_read_file(path, &text, &len) != BB_OK) {
		fprintf(err, "biobankd: witnesses: %s:%d: cannot read the token file %s\n", file,
		        line, path);
		return -1;
	}
	int rc = -1;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	size_t printable = 0;
	while (printable < len && text[printable] > ' ' && text[printable] < 0x7f)
		printable++;
	if ((st.st_mode & 077) != 0)
		fprintf(err,
		        "biobankd: witnesses: %s:%d: %s may be read by others than its owner: "
		        "chmod 600 it\n",
		        file, line, path);
	else if (len == 0 || printable != len || len > WITNESS_TOKEN_MAX)
		fprintf(err, "biobankd: witnesses: %s:%d: %s does not hold one token\n", file, line,
		        path);
	else {
		memcpy(out, text, len);
		out[len] = '\0';
		rc = 0;
	}
	sodium_memzero(text, len);
	free(text);
	return rc;
}

static bool
url_ok(const char *url)
{
	size_t len = strlen(url);

	return len <= WITNESS_URL_MAX && ((strncmp(url, "https://", 8) == 0 && len > 8) ||
	                                  (strncmp(url, "http://", 7) == 0 && len > 7));
}

/* One line's three fields into w; -1 after a line on err. */
static int
read_line(char *text, const char *file, int line, const struct note_key *own, struct witness *w,
          FILE *err)
{
	char *fields[3], *save = NULL, *extra;
	int n = 0;

	for (char *f = strtok_r(text, " \t\r\n", &save); f != NULL && n < 3;
	     f = n < 3 ? strtok_r(NULL, " \t\r\n", &save) : NULL)
		fields[n++] = f;
	extra = n == 3 ? strtok_r(NULL, " \t\r\n", &save) : NULL;
	if (n != 3 || extra != NULL) {
		fprintf(err, "biobankd: witnesses: %s:%d: not URL KEY_FILE TOKEN_FILE\n", file,
		        line);
		return -1;
	}
	if (!url_ok(fields[0])) {
		fprintf(
		    err,
		    "biobankd: witnesses: %s:%d: \"%.100s\" is not an http:// or https:// URL\n",
		    file, line, fields[0]);
		return -1;
	}
	snprintf(w->url, sizeof(w->url), "%s", fields[0]);
	if (ledger_pub_load(fields[1], &w->key, err) != 0) {
		fprintf(err, "biobankd: witnesses: %s:%d: %s is not a witness's verifier key\n",
		        file, line, fields[1]);
		return -1;
	}
	if (own != NULL && strcmp(own->name, w->key.name) == 0) {
		fprintf(
		    err,
		    "biobankd: witnesses: %s:%d: %s is this log's own key: a witness is another "
		    "site\n",
		    file, line, fields[1]);
		return -1;
	}
	return token_load(fields[2], file, line, w->token, err);
}

int
witnesses_load(const char *path, const struct note_key *own, struct witness **out, size_t *n,
               FILE *err)
{
	char text[LINE_MAX_LEN];
	int problems = 0, line = 0;

	*out = NULL;
	*n = 0;
	if (path == NULL)
		return 0;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(err, "biobankd: witnesses: cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (fgets(text, sizeof(text), f) != NULL) {
		line++;
		char *p = text + strspn(text, " \t\r\n");
		if (*p == '\0' || *p == '#')
			continue;
		struct witness w = { 0 };
		if (read_line(p, path, line, own, &w, err) != 0) {
			problems++;
			continue;
		}
		bool twice = false;
		for (size_t i = 0; i < *n; i++)
			twice = twice || strcmp((*out)[i].key.name, w.key.name) == 0;
		if (twice) {
			fprintf(err, "biobankd: witnesses: %s:%d: the witness %s is listed twice\n",
			        path, line, w.key.name);
			problems++;
			sodium_memzero(&w, sizeof(w));
			continue;
		}
		*out = bb_realloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = w;
	}
	fclose(f);
	if (*n == 0 && problems == 0) {
		fprintf(err, "biobankd: witnesses: %s lists no witness\n", path);
		problems++;
	}
	return problems;
}

void
witnesses_free(struct witness *list, size_t n)
{
	if (list != NULL)
		sodium_memzero(list, n * sizeof(*list));
	free(list);
}
