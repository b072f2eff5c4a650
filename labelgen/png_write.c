/*
 * png_write.c — a drawn label as an 8-bit grey PNG carrying its resolution.
 * A label is black on white: one grey channel holds all of it (a quarter
 * of cairo's 32-bit pixels), and a pHYs chunk tells printers and viewers
 * that a 384-pixel-wide label is 1.28 in at 300 dpi, not 5.3 in at 72.
 * Compressing four times fewer bytes is most of a PNG's cost here.
 */
#include "lbl_int.h"

#include <cairo.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void
on_write(png_structp png, png_bytep data, png_size_t n)
{
	bb_buf_append(png_get_io_ptr(png), data, n);
}

static void
on_flush(png_structp png)
{
	(void)png;
}

static void
on_error(png_structp png, png_const_charp msg)
{
	lbl_why(png_get_error_ptr(png), "PNG: %s", msg);
	png_longjmp(png, 1);
}

static void
on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

enum bb_err
lbl_png_write(cairo_surface_t *surface, int dpi, struct bb_buf *out, char why[LBL_WHY_MAX])
{
	const int w = cairo_image_surface_get_width(surface);
	const int h = cairo_image_surface_get_height(surface);
	const int stride = cairo_image_surface_get_stride(surface);
	const unsigned char *pixels = cairo_image_surface_get_data(surface);
	const size_t start = out->len;
	unsigned char *row = bb_malloc((size_t)w);
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, why, on_error, on_warning);
	png_infop info = png != NULL ? png_create_info_struct(png) : NULL;

	if (png == NULL || info == NULL || pixels == NULL) {
		png_destroy_write_struct(&png, &info);
		free(row);
		lbl_why(why, "PNG: cannot start the encoder");
		return BB_EINTERNAL;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		free(row);
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return BB_EINTERNAL;
	}
	png_set_write_fn(png, out, on_write, on_flush);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_GRAY,
	             PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_uint_32 ppm = (png_uint_32)(dpi / 0.0254 + 0.5);
	png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
	/* Flat black and white compresses as well with run lengths and no filter, at a
	 * fraction of the work of adaptive filtering and a full deflate search. */
	png_set_filter(png, 0, PNG_FILTER_NONE);
	png_set_compression_strategy(png, Z_RLE);
	png_write_info(png, info);
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			uint32_t v;

			/* RGB24 is a native-endian 0x00RRGGBB word; grey drawing has R = G = B. */
			memcpy(&v, pixels + (size_t)y * (size_t)stride + (size_t)x * 4, sizeof(v));
			row[x] = (unsigned char)(v >> 8);
		}
		png_write_row(png, row);
	}
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	free(row);
	return BB_OK;
}
