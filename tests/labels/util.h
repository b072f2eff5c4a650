/*
 * util.h — what the label tests share: a scratch folder, running the
 * independent readers, and reading and writing whole files. Header-only like
 * harness.h, so each test stays one program.
 */
#ifndef LBL_TEST_UTIL_H
#define LBL_TEST_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "biobank.h"

__attribute__((unused)) static bool
have_tool(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* Runs a shell command and returns its standard output, trailing newlines
 * removed; the caller frees it. */
__attribute__((format(printf, 1, 2))) __attribute__((unused)) static char *
run_capture(const char *fmt, ...)
{
	struct bb_buf out = { 0 };
	char cmd[4096], chunk[4096];
	va_list ap;
	FILE *p;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (p == NULL)
		return bb_strdup("");
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		bb_buf_append(&out, chunk, n);
	pclose(p);
	bb_buf_puts(&out, "");
	while (out.len > 0 && (out.data[out.len - 1] == '\n' || out.data[out.len - 1] == '\r'))
		out.data[--out.len] = '\0';
	return bb_buf_steal(&out);
}

__attribute__((unused)) static bool
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok = f != NULL && fwrite(data, 1, len, f) == len;

	if (f != NULL && fclose(f) != 0)
		ok = false;
	return ok;
}

__attribute__((unused)) static char *
scratch_dir(void)
{
	char tmpl[] = "/tmp/lbltest.XXXXXX";

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	return bb_strdup(tmpl);
}

__attribute__((unused)) static void
remove_dir(const char *dir)
{
	char *out = run_capture("rm -rf '%s'", dir);

	free(out);
}

#endif
