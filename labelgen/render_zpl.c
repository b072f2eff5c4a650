/*
 * render_zpl.c — ZPL II for Zebra-class printers. The printer draws the
 * barcodes with its own ^BX and ^BC so they come out at the head's true
 * resolution; we only place them where the layout reserved room, quiet zones
 * included, and pin every setting a printer might have been left with.
 * Text goes in the printer's font 0 when it is printable ASCII, else as a
 * ^GF graphic drawn as the preview draws it (zpl_graphic.c); the ^FX after
 * a graphic says, for people reading spooled ZPL, what it shows.
 */
#include "lbl_int.h"

#include <stdio.h>
#include <string.h>

/* ^BX reads escape sequences after this character; IDs never contain it
 * (see lbl_check), and the default differs between firmware versions. */
#define DM_ESCAPE '_'

/* ^FH_ turns _XX into a byte, so ^ and ~ (command prefixes) and _ itself
 * travel as hex and the field cannot end early or start a command. */
static void
put_escaped(struct bb_buf *b, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		if (*s != '^' && *s != '~' && *s != '_')
			continue;
		bb_buf_append(b, run, (size_t)(s - run));
		bb_buf_printf(b, "_%02X", (unsigned char)*s);
		run = s + 1;
	}
	bb_buf_append(b, run, (size_t)(s - run));
}

/* A comment cannot hold ^ or ~, which would start a command. */
static void
put_comment(struct bb_buf *b, const char *s)
{
	for (; *s; s++)
		bb_buf_append(b, (*s == '^' || *s == '~') ? "?" : s, 1);
}

static void
put_label(struct bb_buf *b, const struct lbl_layout *lo, const char *id, int copies,
          struct lbl_gf_cache *gfc, struct lbl_font *font)
{
	/* ^CI28: UTF-8 text; ^LH0,0 and ^FWN undo a previous job's home and rotation. */
	bb_buf_printf(b, "^XA\n^CI28\n^PW%d\n^LL%d\n^LH0,0\n^FWN\n", lo->w, lo->h);
	bb_buf_printf(b, "^FO%d,%d^BXN,%d,200,%d,%d,,%c^FD%s^FS\n", lo->dm_x, lo->dm_y, lo->dm_mod,
	              lo->dm_size, lo->dm_size, DM_ESCAPE, id);
	if (lo->bar) {
		/* Mode N with >: (start in subset B) prints exactly the symbol zint
		 * measured; the printer's automatic mode could come out wider. */
		bb_buf_printf(b, "^FO%d,%d^BY%d^BCN,%d,N,N,N,N^FD>:%s^FS\n", lo->bar_x, lo->bar_y,
		              lo->bar_mod, lo->bar_h, id);
	}
	for (size_t i = 0; i < lo->nlines; i++) {
		const struct lbl_line *l = &lo->line[i];

		if (!lbl_text_is_plain(l->text)) {
			/* Room above the line for accents on capitals. */
			int top = l->y < l->size / 4 ? l->y : l->size / 4;

			bb_buf_printf(b, "^FO%d,%d%s^FS\n^FX%d,%d,%d ", l->x, l->y - top,
			              lbl_gf_line(gfc, font, l->text, l->size, l->bold, top), l->x,
			              l->y, l->size);
			put_comment(b, l->text);
			bb_buf_puts(b, "\n");
			continue;
		}
		bb_buf_printf(b, "^FO%d,%d^A0N,%d,%d^FH_^FD", l->x, l->y, l->size, l->size);
		put_escaped(b, l->text);
		bb_buf_puts(b, "^FS\n");
	}
	bb_buf_printf(b, "^PQ%d\n^XZ\n", copies);
}

enum bb_err
lbl_render_zpl(const struct lbl_job *job, struct lbl_font *font, const struct lbl_data *labels,
               size_t n, struct bb_buf *out, char why[LBL_WHY_MAX])
{
	struct lbl_gf_cache *gfc = lbl_gf_cache_new();
	struct lbl_measure meas;
	size_t start = out->len;
	enum bb_err err = BB_OK;

	/* The preview's measure: the printer gets the lines the screen shows. */
	lbl_measure_init(&meas, font);
	for (size_t i = 0; i < n && err == BB_OK; i++) {
		struct lbl_layout lo;

		if ((err = lbl_layout(&lo, job->tpl, job->dpi, &labels[i], &meas, why))) {
			lbl_why_label(why, i, n);
			/* Nothing half-written: the caller's buffer is as it was. */
			out->len = start;
			if (out->data)
				out->data[start] = '\0';
			break;
		}
		put_label(out, &lo, labels[i].id, job->copies, gfc, font);
		lbl_layout_free(&lo);
	}
	lbl_gf_cache_free(gfc);
	return err;
}
