/*
 * rackscan.h — reading the files that rack scanners export.
 *
 * A scanner reads the 2D code under every tube of a rack and writes one line
 * per position. bb_rs_parse() accepts the dialects below (with or without a
 * UTF-8 BOM, CRLF or LF, ',' ';' or tab separators, quoted fields, "A01" or
 * "a1"), and rejects with BB_EINVAL and a message "line N: ..." anything that
 * would put a tube in the wrong place: two racks in one file, a position off
 * the rack or listed twice, a tube listed twice, a tube count that disagrees
 * with the rows, a barcode that is not plain printable ASCII of at most
 * BB_RS_CODE_MAX characters, or a file that is not a scan at all.
 *
 * Nothing is dropped silently: every line is a well (a tube, an empty-well
 * mark or an unreadable tube), a header line (a rack or tube-count line, a
 * column header, or a "Key: value" / "Key = value" line before the first
 * row), blank (nothing but blanks, separators and quotes), or the error that
 * names it. So n_wells + n_header_lines is the number of non-blank lines.
 */
#ifndef BB_RACKSCAN_H
#define BB_RACKSCAN_H

#include "biobank.h"

enum {
	BB_RS_SIZE_MAX = 1024 * 1024, /* bytes of input */
	BB_RS_LINES_MAX = 2048,
	BB_RS_LINE_MAX = 1024, /* bytes in one line */
	BB_RS_CODE_MAX = 64,   /* characters of a barcode or rack ID */
	BB_RS_ROWS_MAX = 16,   /* A..P: the largest SBS rack, 384 positions */
	BB_RS_COLS_MAX = 24,
	BB_RS_WHY_LEN = 256, /* size of the message buffer */
};

enum bb_rs_dialect {
	BB_RS_FLUIDX,            /* "Rack ID,..." and "Tube Count,..." header block */
	BB_RS_RACK_WELL_BARCODE, /* rack,well,barcode rows only */
	BB_RS_WELL_BARCODE,      /* well,barcode rows; the rack comes from the caller */
	BB_RS_TRAKMATE,          /* "Rack Base Name: ..." then "A01; 1034998087" */
	BB_RS_DIALECT__MAX
};

enum bb_rs_state {
	BB_RS_TUBE,    /* a tube whose code was read */
	BB_RS_EMPTY,   /* no tube in the position */
	BB_RS_NO_READ, /* a tube is there but its code could not be read */
	BB_RS_STATE__MAX
};

struct bb_rs_well {
	char pos[4];  /* normalized: "A1" .. "P24" */
	int row, col; /* from 0 */
	enum bb_rs_state state;
	const char *barcode; /* BB_RS_TUBE only, otherwise NULL */
	unsigned line;       /* where the file lists it */
};

struct bb_rs_options {
	int rows, cols;      /* rack geometry, e.g. 8x12; both 0: up to 16x24 */
	const char *rack_id; /* the rack the caller expects, or NULL */
};

struct bb_rs_scan {
	const char *rack_id; /* from the file or the caller; NULL when neither names one */
	enum bb_rs_dialect dialect;
	struct bb_rs_well *wells; /* in file order */
	size_t n_wells, n_tubes, n_empty, n_no_read;
	size_t n_header_lines; /* rack, tube count, column names, "Key: value" lines */
	struct bb_arena mem;   /* private: owns everything above */
};

/*
 * Parse len bytes of buf (need not be NUL-terminated); opt may be NULL. On
 * success *out is a scan the caller frees with bb_rs_free(). Otherwise *out
 * is NULL, the result is BB_EINVAL and why holds a sentence for the user.
 */
enum bb_err bb_rs_parse(const void *buf, size_t len, const struct bb_rs_options *opt,
                        struct bb_rs_scan **out, char why[BB_RS_WHY_LEN]);
void bb_rs_free(struct bb_rs_scan *scan);

/* The well at a position written as in a file ("A1", "a01"), or NULL. */
const struct bb_rs_well *bb_rs_well_at(const struct bb_rs_scan *scan, const char *pos);

const char *bb_rs_dialect_name(enum bb_rs_dialect d);
const char *bb_rs_state_name(enum bb_rs_state s);

#endif
