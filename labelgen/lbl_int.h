/*
 * lbl_int.h — what the label library's files share and nobody else sees:
 * the template record, the laid-out label and the text measurer that lets one
 * layout serve the printer's fonts and cairo's.
 */
#ifndef LBL_INT_H
#define LBL_INT_H

#include "label.h"

struct zint_symbol;

/* What a template prints under the ID, in its order (templates.c names them). */
enum lbl_field {
	LBL_FIELD_PARTICIPANT,
	LBL_FIELD_TYPE,
	LBL_FIELD_TIMEPOINT,
	LBL_FIELD_TYPE_TIMEPOINT, /* "type · timepoint" on one line */
	LBL_FIELD_COLLECTED,
	LBL_FIELD__MAX
};

/*
 * A template as read from its JSON layout file (templates.c); strings owned.
 * All lengths in inches: the stock is specified in them, dots follow from dpi.
 */
struct lbl_template {
	char *name;
	char *summary;
	double w, h;        /* one label */
	double margin;      /* unprinted border: label edge tolerance */
	char *font;         /* Pango family; NULL: the library's own */
	double text_pt;     /* human-readable lines */
	double dm_module;   /* preferred DataMatrix module */
	double dm_max_frac; /* of the content width the DataMatrix may take */
	bool dm_right;      /* the DataMatrix at the right, the lines at its left */
	double bar_h;       /* Code 128 bar height; 0: never a Code 128 */
	/* The lines under the ID; none: participant, type+timepoint, collected,
	 * or the label data's own lines. */
	enum lbl_field fields[LBL_LINES_MAX];
	size_t nfields;
	/* Sheets only: the roll template each cell uses and where cells sit. */
	char *cell;
	double page_w, page_h;
	double left, top, pitch_x, pitch_y;
	int cols, rows;
};

/* The built-in templates, parsed from their JSON on first use. */
const struct lbl_template *lbl_builtin_at(size_t i);
const struct lbl_template *lbl_builtin_find(const char *name);

/* Measures text in dots; with font set, the layout also refuses text that
 * no installed font can draw. */
struct lbl_measure {
	double (*width)(void *ctx, const char *s, size_t len, double size, bool bold);
	void *ctx;
	const char *ellipsis; /* what marks shortened text */
	struct lbl_font *font;
};

/* font.c: Pango text, one per render call (and thread); lbl_font_close frees it. */
struct lbl_font;
struct _PangoLayout;
struct lbl_font *lbl_font_open(void);
/* The same with the template's family (NULL: the library's own). */
struct lbl_font *lbl_font_open_family(const char *family);
void lbl_font_close(struct lbl_font *f);
/* Width in dots of s[0..len) at size dots; ctx is a struct lbl_font. */
double lbl_font_width(void *ctx, const char *s, size_t len, double size, bool bold);
/* True, with *cp the first such code point, when no installed font has a glyph for
 * a character of s. */
bool lbl_font_missing(struct lbl_font *f, const char *s, bool bold, unsigned long *cp);
/* A layout of s set as measured, top left at its origin; the caller unrefs it. */
struct _PangoLayout *lbl_font_layout(struct lbl_font *f, const char *s, double size, bool bold);
/* The same, kept by f for the lines the run draws again; valid until the next call. */
struct _PangoLayout *lbl_font_line(struct lbl_font *f, const char *s, double size, bool bold);

struct lbl_line {
	int x, y; /* top left, dots */
	int size; /* font height, dots */
	bool bold;
	char text[LBL_TEXT_MAX * 2 + 16];
};

enum { LBL_DM_QUIET = 2, LBL_BAR_QUIET = 10 }; /* modules each side */

/* One label laid out in dots; the symbols are owned and freed by lbl_layout_free. */
struct lbl_layout {
	int dpi, w, h;
	struct zint_symbol *dm;  /* Data Matrix, square ECC 200 */
	int dm_x, dm_y, dm_mod;  /* symbol origin, inside its quiet zone */
	int dm_size;             /* modules per side */
	struct zint_symbol *bar; /* Code 128 (subset B) or NULL */
	int bar_x, bar_y, bar_mod, bar_h;
	int bar_modules; /* symbol width without quiet zones */
	struct lbl_line line[LBL_LINES_MAX + 1];
	size_t nlines;
};

/* Writes an error sentence, cut to fit, for the caller to show. */
void lbl_why(char why[LBL_WHY_MAX], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* In a batch, says which label an error is about. */
void lbl_why_label(char why[LBL_WHY_MAX], size_t index, size_t n);

enum bb_err lbl_check(const struct lbl_data *d, char why[LBL_WHY_MAX]);
enum bb_err lbl_layout(struct lbl_layout *lo, const struct lbl_template *t, int dpi,
                       const struct lbl_data *d, const struct lbl_measure *m,
                       char why[LBL_WHY_MAX]);
void lbl_layout_free(struct lbl_layout *lo);
const struct lbl_template *lbl_sheet_cell(const struct lbl_template *sheet);

/* text.c */
bool lbl_fit_text(const struct lbl_measure *m, const char *s, double size, bool bold, double maxw,
                  bool force_ellipsis, char *out, size_t cap);
double lbl_zpl_text_width(void *ctx, const char *s, size_t len, double size, bool bold);
/* The one measure every renderer lays text out with (ctx: a struct lbl_font):
 * the wider of the drawn font and the printer's font 0, so the preview and
 * the printer fit the same text in the same place. */
void lbl_measure_init(struct lbl_measure *m, struct lbl_font *f);

/* Of the font height: where the baseline sits under a line's top, as the
 * printer's font 0 puts it, whatever font Pango falls back to. */
#define LBL_BASELINE 0.85

/* zpl_graphic.c: lines font 0 cannot print, as ^GF graphics drawn by Pango.
 * The cache owns the strings it returns until lbl_gf_cache_free. */
struct lbl_gf_cache;
struct lbl_gf_cache *lbl_gf_cache_new(void);
void lbl_gf_cache_free(struct lbl_gf_cache *c);
/* True when every byte is printable ASCII, which font 0 prints itself. */
bool lbl_text_is_plain(const char *s);
/* "^GFA,..." for s drawn at size dots, the line's top `top` rows down. */
const char *lbl_gf_line(struct lbl_gf_cache *c, struct lbl_font *font, const char *s, int size,
                        bool bold, int top);

/* printer.c: a monotonic clock, and poll(2) on one descriptor until a deadline
 * on it (false on timeout or error). */
long long lbl_now_ms(void);
bool lbl_wait_fd(int fd, short events, long long deadline);

/* zpl_status.c: of a ~HS answer (three <STX>...<ETX> strings) in text[0..len),
 * what keeps the printer from printing ("paper out, paused"; "" when it can
 * print) in state: 1 when the answer is whole, 0 while it is still short,
 * -1 when it is not a ~HS answer. */
int lbl_zpl_status_parse(const char *text, size_t len, char *state, size_t cap);
/* Asks the printer on fd (connected) for its status: BB_OK when it can print,
 * BB_ECONFLICT naming what is wrong, BB_EIO when it does not answer (within
 * timeout_ms) or answers something else. */
enum bb_err lbl_zpl_status(int fd, const char *host, const char *port, int timeout_ms,
                           char why[LBL_WHY_MAX]);

/* The renderers append to out only on success; font is the run's (renderer.c),
 * of the family of the stock the labels are drawn on. */
enum bb_err lbl_render_zpl(const struct lbl_job *job, struct lbl_font *font,
                           const struct lbl_data *labels, size_t n, struct bb_buf *out,
                           char why[LBL_WHY_MAX]);
/* render_cairo.c: *canvas keeps a PNG's surface for the run's next label (NULL
 * at first; lbl_canvas_free at the end). */
struct lbl_canvas;
struct _cairo_surface;
enum bb_err lbl_render_cairo(const struct lbl_job *job, struct lbl_font *font,
                             struct lbl_canvas **canvas, const struct lbl_data *labels, size_t n,
                             struct bb_buf *out, char why[LBL_WHY_MAX]);
void lbl_canvas_free(struct lbl_canvas *c);
/* line_cache.c: a PNG run's lines, each drawn by Pango once per text and
 * place and then copied where the label is white (the same dots). */
struct lbl_line_cache;
struct _cairo;
struct lbl_line_cache *lbl_line_cache_new(void);
void lbl_line_cache_free(struct lbl_line_cache *c);
void lbl_line_draw(struct lbl_line_cache *c, struct _cairo *cr, struct _cairo_surface *surface,
                   struct lbl_font *font, const struct lbl_line *l);
/* png_write.c: the drawn surface (RGB24, grey) as an 8-bit grey PNG with a pHYs
 * chunk; a struct lbl_png is the encoder a run's labels share. */
struct _cairo_surface;
struct lbl_png;
struct lbl_png *lbl_png_new(void);
void lbl_png_free(struct lbl_png *p);
enum bb_err lbl_png_write(struct lbl_png *p, struct _cairo_surface *surface, int dpi,
                          struct bb_buf *out, char why[LBL_WHY_MAX]);

/* png_deflate.c: the zlib stream of raw[0..len), rows of row bytes (a PNG's
 * filter byte and pixels); the bytes returned are the encoder's, valid until
 * its next call. A struct lbl_deflate keeps its buffers for a run's labels. */
struct lbl_deflate;
struct lbl_deflate *lbl_deflate_new(void);
void lbl_deflate_free(struct lbl_deflate *z);
const unsigned char *lbl_deflate_rows(struct lbl_deflate *z, const unsigned char *raw, size_t len,
                                      size_t row, size_t *out_len);

#endif
