/*
 * printers.h — the label printers POST /api/v1/print may send to, from the
 * `printers` setting ("NAME=URI,NAME=URI"). Parsed once at start-up, then
 * read by every worker without locking.
 */
#ifndef SRV_PRINTERS_H
#define SRV_PRINTERS_H

#include <stddef.h>
#include <stdio.h>

struct srv_printers;

/*
 * Reads spec (NULL or "": no printers) into *out, which the caller frees
 * with srv_printers_free(). Every bad entry is reported to err as one line;
 * returns how many there were (0: *out is valid; otherwise *out is NULL).
 * A NAME is 1 to 64 letters, digits, '_', '-' or '.', each given once; a URI
 * is tcp://HOST[:PORT], http://..., https://... or file:PATH, as
 * lbl_printer_send() takes them.
 */
int srv_printers_parse(const char *spec, struct srv_printers **out, FILE *err);
void srv_printers_free(struct srv_printers *p);

/* The URI of the printer called name, or NULL (p may be NULL: none configured). */
const char *srv_printers_uri(const struct srv_printers *p, const char *name);

/* How many printers there are, and the name of the i-th, for messages. */
size_t srv_printers_count(const struct srv_printers *p);
const char *srv_printers_name(const struct srv_printers *p, size_t i);

#endif
