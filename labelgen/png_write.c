/*
 * png_write.c — a drawn label as an 8-bit grey PNG carrying its resolution.
 * A label is black on white: one grey channel holds all of it (a quarter
 * of cairo's 32-bit pixels), and a pHYs chunk tells printers and viewers
 * that a 384-pixel-wide label is 1.28 in at 300 dpi, not 5.3 in at 72.
 *
 * The file is written here with zlib, not through libpng: a PNG of one
 * grey image is four chunks, and a run of labels then keeps one deflate
 * stream (reset, not made anew: its allocation and the clearing of its
 * tables cost more than a small label's rows) and one rows buffer.
 */
#include "lbl_int.h"

#include <cairo.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct lbl_png {
	z_stream z;
	unsigned char *rows, *packed; /* filter byte and grey bytes a row; the deflated rows */
	size_t rows_cap, packed_cap;
};

static const unsigned char SIGNATURE[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };

struct lbl_png *
lbl_png_new(void)
{
	struct lbl_png *p = bb_calloc(1, sizeof(*p));

	/* Flat black and white compresses as well with run lengths and no filter
	 * as with adaptive filters and a full match search, at a fraction of the
	 * work; with Z_RLE the level changes nothing. */
	if (deflateInit2(&p->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15, 8, Z_RLE) != Z_OK) {
		free(p);
		return NULL;
	}
	return p;
}

void
lbl_png_free(struct lbl_png *p)
{
	if (p == NULL)
		return;
	deflateEnd(&p->z);
	free(p->rows);
	free(p->packed);
	free(p);
}

static void
put_u32(unsigned char *at, uint32_t v)
{
	at[0] = (unsigned char)(v >> 24);
	at[1] = (unsigned char)(v >> 16);
	at[2] = (unsigned char)(v >> 8);
	at[3] = (unsigned char)v;
}

static void
put_chunk(struct bb_buf *out, const char type[4], const unsigned char *data, size_t len)
{
	unsigned char head[8], crc[4];
	uLong c = crc32(0L, (const Bytef *)type, 4);

	put_u32(head, (uint32_t)len);
	memcpy(head + 4, type, 4);
	if (len > 0)
		c = crc32(c, data, (uInt)len);
	put_u32(crc, (uint32_t)c);
	bb_buf_append(out, head, sizeof(head));
	if (len > 0)
		bb_buf_append(out, data, len);
	bb_buf_append(out, crc, sizeof(crc));
}

static void
grow(unsigned char **buf, size_t *cap, size_t need)
{
	if (*cap < need) {
		free(*buf);
		*buf = bb_malloc(need);
		*cap = need;
	}
}

enum bb_err
lbl_png_write(struct lbl_png *p, cairo_surface_t *surface, int dpi, struct bb_buf *out,
              char why[LBL_WHY_MAX])
{
	const int w = cairo_image_surface_get_width(surface);
	const int h = cairo_image_surface_get_height(surface);
	const int stride = cairo_image_surface_get_stride(surface);
	const unsigned char *pixels = cairo_image_surface_get_data(surface);
	const size_t row_len = (size_t)w + 1, raw = row_len * (size_t)h;
	const uint32_t ppm = (uint32_t)(dpi / 0.0254 + 0.5);
	unsigned char ihdr[13], phys[9];

	if (pixels == NULL || w <= 0 || h <= 0) {
		lbl_why(why, "PNG: no image to write");
		return BB_EINTERNAL;
	}
	grow(&p->rows, &p->rows_cap, raw);
	for (int y = 0; y < h; y++) {
		const uint32_t *src =
		    (const uint32_t *)(const void *)(pixels + (size_t)y * (size_t)stride);
		unsigned char *dst = p->rows + (size_t)y * row_len;

		dst[0] = 0; /* filter type None */
		/* RGB24 is a native-endian 0x00RRGGBB word; grey drawing has R = G = B. */
		for (int x = 0; x < w; x++)
			dst[x + 1] = (unsigned char)(src[x] >> 8);
	}
	grow(&p->packed, &p->packed_cap, deflateBound(&p->z, (uLong)raw));
	if (deflateReset(&p->z) != Z_OK) {
		lbl_why(why, "PNG: cannot restart the encoder");
		return BB_EINTERNAL;
	}
	p->z.next_in = p->rows;
	p->z.avail_in = (uInt)raw;
	p->z.next_out = p->packed;
	p->z.avail_out = (uInt)p->packed_cap;
	if (deflate(&p->z, Z_FINISH) != Z_STREAM_END) {
		lbl_why(why, "PNG: compression failed");
		return BB_EINTERNAL;
	}

	put_u32(ihdr, (uint32_t)w);
	put_u32(ihdr + 4, (uint32_t)h);
	ihdr[8] = 8;  /* bits a sample */
	ihdr[9] = 0;  /* grey */
	ihdr[10] = 0; /* deflate */
	ihdr[11] = 0; /* adaptive filtering (each row's filter byte) */
	ihdr[12] = 0; /* not interlaced */
	put_u32(phys, ppm);
	put_u32(phys + 4, ppm);
	phys[8] = 1; /* the unit is the metre */
	bb_buf_append(out, SIGNATURE, sizeof(SIGNATURE));
	put_chunk(out, "IHDR", ihdr, sizeof(ihdr));
	put_chunk(out, "pHYs", phys, sizeof(phys));
	put_chunk(out, "IDAT", p->packed, p->z.total_out);
	put_chunk(out, "IEND", NULL, 0);
	return BB_OK;
}
