/*
 * inventory.h — reading an inventory file (docs/import.md): the bytes as a
 * spreadsheet saved them (UTF-8 with or without BOM, or a named single-byte
 * encoding converted with iconv), records of a CSV dialect (`,` `;` or TAB,
 * quoted fields with separators and newlines, CRLF), the template's columns
 * by name or alias, and each field checked and written in one spelling.
 * Nothing here holds more than one record: the file is read twice from disk
 * (a scan, then the records), never whole in memory.
 */
#ifndef BB_INVENTORY_H
#define BB_INVENTORY_H

#include "biobank.h"

#include <stdio.h>

enum {
	BB_IMP_COLUMNS_MAX = 64,       /* columns of a record; more is refused */
	BB_IMP_RECORD_MAX = 64 * 1024, /* bytes of one record */
	BB_IMP_FIELD_MAX = 4000,       /* bytes of one field (notes hold 2000 characters) */
	BB_IMP_ROW_ERRORS_MAX = 32,    /* problems kept per row */
	BB_IMP_HASH_LEN = 32,
};

/* The template's columns, in its order (bb_imp_column_name). */
enum bb_imp_col {
	IC_KEY,
	IC_STUDY,
	IC_PARTICIPANT,
	IC_SEX,
	IC_BIRTH_YEAR,
	IC_DIAGNOSIS,
	IC_CONSENT_SCOPE,
	IC_CONSENT_STATUS,
	IC_CONSENT_DATE,
	IC_CONSENT_VERSION,
	IC_TYPE,
	IC_TIMEPOINT,
	IC_COLLECTED_AT,
	IC_QUANTITY,
	IC_UNIT,
	IC_TUBE_BARCODE,
	IC_PARENT,
	IC_LOCATION_PATH,
	IC_BOX_BARCODE,
	IC_BOX_GRID,
	IC_POSITION,
	IC_STATUS,
	IC_FREEZE_THAW,
	IC_LEGACY_ID,
	IC_NOTES,
	IC__MAX
};

/*
 * What a checked row becomes: the template's columns in one spelling, the
 * grid and position split into numbers (IO_* after the columns). NULL: empty.
 */
enum bb_imp_out { IO_BOX_ROWS = IC__MAX, IO_BOX_COLS, IO_POS_ROW, IO_POS_COL, IO__MAX };

const char *bb_imp_column_name(enum bb_imp_col c);

enum bb_imp_dates { BB_IMP_DATES_ISO, BB_IMP_DATES_DMY, BB_IMP_DATES_MDY };

struct bb_imp_opts {
	enum bb_imp_dates dates; /* how a date with slashes is read; ISO is always read */
	bool decimal_comma;      /* 0,45 is a number (and 0.45 is refused) */
	int this_year;           /* the latest birth year allowed */
};

/*
 * Reads the options as the API and the command line take them (NULL: not
 * given): date_format iso | dd/mm/yyyy | mm/dd/yyyy, decimal point | comma,
 * locale (e.g. fr-FR: day-first and comma; en-US: month-first and point;
 * see docs/import.md). An explicit date_format or decimal wins over the
 * locale. On a bad value returns false and sets *bad to the option's name.
 */
bool bb_imp_opts_read(struct bb_imp_opts *o, const char *date_format, const char *decimal,
                      const char *locale, const char **bad);

/* The first pass over the bytes. */
struct bb_imp_scan {
	unsigned char sha256[BB_IMP_HASH_LEN];
	long long bytes;
	bool bom;           /* starts with the UTF-8 byte-order mark */
	long bad_utf8_line; /* first line that is not UTF-8; 0: all of it is */
	long nul_line;      /* first line holding a NUL byte; 0: none */
	bool non_ascii;     /* a byte above 127 anywhere */
	char separator;     /* the most frequent of , ; TAB in the first line (, on a tie) */
};

/* Scan f from its start; BB_EIO when it cannot be read. */
enum bb_err bb_imp_scan(FILE *f, struct bb_imp_scan *out);

/*
 * The encoding names accepted (case-insensitive): utf-8, windows-1252
 * (cp1252), iso-8859-1 (latin1), iso-8859-15 (latin9). The canonical name
 * in *canon, or false.
 */
bool bb_imp_encoding(const char *name, const char **canon);

struct bb_imp_reader;

/*
 * Records of f from its start, in encoding (canonical name) converted to
 * UTF-8; a leading BOM is skipped. The caller frees the reader with
 * bb_imp_reader_free; f stays the caller's.
 */
enum bb_err bb_imp_reader_open(FILE *f, const char *encoding, char separator,
                               struct bb_imp_reader **out);
void bb_imp_reader_free(struct bb_imp_reader *rd);

/*
 * The next record: 1 with its fields (valid until the next call) in
 * *fields and *n, and the line it starts on; 0 at the end; -1 when the file
 * cannot be read as records (*why says why, naming nothing but the rule:
 * the caller adds the line).
 */
int bb_imp_next(struct bb_imp_reader *rd, const char *const **fields, size_t *n, long *line,
                const char **why);

/* A problem with one field of one row. */
struct bb_imp_problem {
	int col; /* enum bb_imp_col, or -1 for the row */
	const char *code;
	char message[240];
};

struct bb_imp_row {
	const char *out[IO__MAX]; /* in buf; NULL: empty */
	struct bb_imp_problem problems[BB_IMP_ROW_ERRORS_MAX];
	size_t nproblems;
	char buf[BB_IMP_RECORD_MAX + 512];
};

/*
 * The header: which column of the template each field is, by its name or an
 * alias (case, blanks and dashes ignored). map[i] is the column of field i.
 * Problems (unknown or repeated names, missing required columns) go to row.
 */
void bb_imp_header(const char *const *fields, size_t n, int map[BB_IMP_COLUMNS_MAX],
                   struct bb_imp_row *row);

/*
 * Checks one record's fields against the rules a field holds alone and
 * writes each in its one spelling to row->out (dates "YYYY-MM-DD HH:MM:SS"
 * with "+HH:MM" when the file gave an offset; numbers with a point).
 */
void bb_imp_row_read(const int map[BB_IMP_COLUMNS_MAX], const char *const *fields, size_t n,
                     const struct bb_imp_opts *o, struct bb_imp_row *row);

/* Appends s as one field of PostgreSQL's COPY text format (\N for NULL). */
void bb_imp_copy_field(struct bb_buf *b, const char *s);

#endif
