/*
 * label.h — tube labels: a DataMatrix and, where the label is wide enough, a
 * Code 128 of the specimen ID, beside the lines a technician reads without a
 * scanner. Rendered as ZPL for Zebra-class printers or drawn through cairo and
 * Pango (every script, shaped) as PNG, SVG or PDF; sent to printers over raw TCP, HTTP POST or into
 * a file.
 *
 * Every function is safe to call from many threads at once: the library keeps
 * no mutable global state and each call owns its barcode symbols.
 */
#ifndef BB_LABEL_H
#define BB_LABEL_H

#include "biobank.h"

enum {
	LBL_ID_MAX = 100,    /* bytes of an encoded ID; small stock holds less */
	LBL_TEXT_MAX = 200,  /* bytes of one human-readable field */
	LBL_LINES_MAX = 6,   /* lines under the ID when given explicitly */
	LBL_WHY_MAX = 256,   /* bytes of an error sentence, NUL included */
	LBL_COPIES_MAX = 999 /* per label, what ^PQ and a sheet accept */
};

enum lbl_format { LBL_FMT_ZPL, LBL_FMT_PNG, LBL_FMT_SVG, LBL_FMT_PDF, LBL_FMT__MAX };

/*
 * What one label says. Strings are UTF-8, borrowed for the duration of the
 * call; NULL or "" leaves a field out. The ID may hold letters, digits and
 * - . / + : only, so that it means the same to every printer and reader.
 * When nlines > 0 the lines replace type, participant, timepoint and
 * collected under the ID; the line equal to collected is the date line.
 */
struct lbl_data {
	const char *id;
	const char *type;
	const char *participant;
	const char *timepoint;
	const char *collected; /* printed as given: pass the date, not a timestamp */
	const char *const *lines;
	size_t nlines;
	/* The zone the date is in, named after it where the line has room at
	 * the template's size: the name ("Asia/Shanghai") when it fits, else
	 * the offset ("UTC+8"), else neither. */
	const char *zone;
	const char *zone_offset;
};

/* A label stock: a roll size, or a sheet of them for office printers. */
struct lbl_template;

const struct lbl_template *lbl_template_find(const char *name);
/*
 * A template from a JSON layout file (docs/label-templates.md), or from its
 * text (origin names it in messages). Checked whole: BB_EINVAL, why naming
 * the file, the member and what is wrong (not JSON, trailing characters, an
 * unknown member or field, a missing DataMatrix, a size out of range, a
 * layout wider than its stock, a built-in's name); BB_ENOTFOUND or BB_EIO
 * when the file cannot be read. The caller frees *out with
 * lbl_template_free; a sheet's cell is a built-in roll template.
 */
enum bb_err lbl_template_load(const char *path, struct lbl_template **out, char why[LBL_WHY_MAX]);
enum bb_err lbl_template_parse(const char *text, size_t len, const char *origin,
                               struct lbl_template **out, char why[LBL_WHY_MAX]);
void lbl_template_free(struct lbl_template *t);
/* Templates by index, for listing; NULL past the last one. */
const struct lbl_template *lbl_template_at(size_t i);
const char *lbl_template_name(const struct lbl_template *t);
const char *lbl_template_summary(const struct lbl_template *t);
/* A sheet template prints only as PDF; a roll template in any format. */
bool lbl_template_is_sheet(const struct lbl_template *t);
/* True for the resolutions the library lays labels out for: 203, 300, 600. */
bool lbl_dpi_supported(int dpi);

enum bb_err lbl_format_parse(const char *s, enum lbl_format *out);
const char *lbl_format_name(enum lbl_format f); /* also the file extension */

struct lbl_job {
	const struct lbl_template *tpl;
	int dpi;
	int copies; /* of each label, 1 .. LBL_COPIES_MAX */
	enum lbl_format format;
};

/*
 * Renders n labels and appends them to out: ZPL one ^XA..^XZ per label, PDF
 * one page per label (or as many sheets as needed), PNG and SVG exactly one
 * label (n == 1). Every label is checked and laid out before anything is
 * appended, so on failure out is unchanged and why says which label failed
 * and how (an ID too long for the size names the size). Text is shaped by
 * Pango with fontconfig's fallback fonts: BB_ENOTFOUND when no installed
 * font has a character of a field (why names the field and the character),
 * BB_EINVAL for other bad data or a label that cannot hold it.
 */
enum bb_err lbl_render(const struct lbl_job *job, const struct lbl_data *labels, size_t n,
                       struct bb_buf *out, char why[LBL_WHY_MAX]);

/*
 * A run of lbl_render calls with one job (a folder of PNG files, one a
 * label): the fonts and the drawing surface are made once for the run
 * instead of once a call. lbl_renderer_new checks the job as lbl_render
 * does; lbl_renderer_render has lbl_render's contract. A renderer serves
 * one thread at a time.
 */
struct lbl_renderer;
enum bb_err lbl_renderer_new(const struct lbl_job *job, struct lbl_renderer **out,
                             char why[LBL_WHY_MAX]);
enum bb_err lbl_renderer_render(struct lbl_renderer *r, const struct lbl_data *labels, size_t n,
                                struct bb_buf *out, char why[LBL_WHY_MAX]);
void lbl_renderer_free(struct lbl_renderer *r);

/*
 * Sends bytes to a printer: "tcp://HOST[:PORT]" (raw, port 9100 by default),
 * "http://HOST[:PORT]/PATH" or "https://..." (HTTP POST, as Zebra Link-OS
 * printers accept at /pstprnt), or "file:PATH" (written whole, then
 * renamed into place). timeout_ms bounds connecting and each write.
 */
enum bb_err lbl_printer_send(const char *uri, const void *data, size_t len, int timeout_ms,
                             char why[LBL_WHY_MAX]);

#endif
