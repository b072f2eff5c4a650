/*
 * test_png.c — the PNG writer's own deflate (labelgen/png_deflate.c) read
 * back by libpng and zlib, which check every code, length, CRC and the
 * Adler-32: the pixels read are the pixels drawn, for what a label holds
 * and for what a label never does (noise that leaves no run, one colour
 * over rows longer than a copy can reach back, frequencies whose Huffman
 * codes would be longer than deflate allows, images that take several
 * blocks, a single pixel). And a real label's file stays small.
 */
#include "harness.h"
#include "ids.h"
#include "label.h"
#include "../../labelgen/lbl_int.h"

#include <cairo.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The grey level the surface holds at (x, y) (R = G = B). */
static unsigned char
grey_at(cairo_surface_t *s, int x, int y)
{
	const unsigned char *row =
	    cairo_image_surface_get_data(s) + (size_t)y * (size_t)cairo_image_surface_get_stride(s);
	uint32_t px;

	memcpy(&px, row + (size_t)x * 4, 4);
	return (unsigned char)(px >> 8);
}

static void
set_grey(cairo_surface_t *s, int x, int y, unsigned char g)
{
	unsigned char *row =
	    cairo_image_surface_get_data(s) + (size_t)y * (size_t)cairo_image_surface_get_stride(s);
	uint32_t px = 0xFF000000u | (uint32_t)g << 16 | (uint32_t)g << 8 | g;

	memcpy(row + (size_t)x * 4, &px, 4);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/*
 * Writes the surface as a PNG, reads it back with libpng and compares every
 * pixel; *len gets the file's size.
 */
static bool
round_trip(struct lbl_png *p, cairo_surface_t *s, size_t *len)
{
	const int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
	struct bb_buf out = { 0 };
	char why[LBL_WHY_MAX];
	png_image img;
	unsigned char *px;
	bool same = true;

	cairo_surface_mark_dirty(s);
	if (lbl_png_write(p, s, 300, &out, why) != BB_OK) {
		tap_diag("lbl_png_write: %s", why);
		return false;
	}
	*len = out.len;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&img, out.data, out.len)) {
		tap_diag("libpng: %s", img.message);
		bb_buf_free(&out);
		return false;
	}
	img.format = PNG_FORMAT_GRAY;
	px = bb_malloc(PNG_IMAGE_SIZE(img));
	if ((int)img.width != w || (int)img.height != h ||
	    !png_image_finish_read(&img, NULL, px, 0, NULL)) {
		tap_diag("libpng: %ux%u, %s", img.width, img.height, img.message);
		same = false;
	}
	for (int y = 0; same && y < h; y++) {
		for (int x = 0; same && x < w; x++) {
			if (px[(size_t)y * (size_t)w + (size_t)x] != grey_at(s, x, y)) {
				tap_diag("pixel (%d, %d): read %d, drawn %d", x, y,
				         px[(size_t)y * (size_t)w + (size_t)x], grey_at(s, x, y));
				same = false;
			}
		}
	}
	png_image_free(&img);
	free(px);
	bb_buf_free(&out);
	return same;
}

static cairo_surface_t *
filled(int w, int h, unsigned char g)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);

	cairo_surface_flush(s);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			set_grey(s, x, y, g);
	return s;
}

static void
test_shapes(void)
{
	struct lbl_png *p = lbl_png_new();
	cairo_surface_t *s;
	size_t len;

	bool same;

	s = filled(1, 1, 0);
	same = round_trip(p, s, &len);
	ok(same, "one black pixel (%zu bytes)", len);
	cairo_surface_destroy(s);
	s = filled(1, 1, 255);
	same = round_trip(p, s, &len);
	ok(same, "one white pixel (%zu bytes)", len);
	cairo_surface_destroy(s);

	/* A blank label: every row a run, then copies of the row above; the
	 * file is mostly its chunks and the block's code lengths. */
	s = filled(260, 102, 255);
	same = round_trip(p, s, &len);
	ok(same && len < 300, "a blank label: %zu bytes for its 26,622 bytes of rows", len);
	cairo_surface_destroy(s);

	/* Black from edge to edge: the runs cross the rows' filter bytes. */
	s = filled(1000, 40, 0);
	same = round_trip(p, s, &len);
	ok(same, "1000 x 40 black (%zu bytes)", len);
	cairo_surface_destroy(s);

	/* Noise: no run and no copy, every grey level a literal; over 65,536
	 * of them, so several blocks, each with codes of its own. */
	s = filled(400, 400, 0);
	for (int y = 0; y < 400; y++)
		for (int x = 0; x < 400; x++)
			set_grey(s, x, y, (unsigned char)next_rand());
	same = round_trip(p, s, &len);
	ok(same, "400 x 400 of noise (%zu bytes, several blocks)", len);
	cairo_surface_destroy(s);

	/* Stripes a module tall, as a DataMatrix's rows are: copies of the
	 * row above, and runs of 3 to 5 between them. */
	s = filled(300, 90, 255);
	for (int y = 0; y < 90; y++)
		for (int x = 0; x < 300; x++)
			if (((x / (3 + y / 30)) + (y / 3)) % 2)
				set_grey(s, x, y, 0);
	same = round_trip(p, s, &len);
	ok(same, "modules of 3 to 5 dots (%zu bytes)", len);
	cairo_surface_destroy(s);

	/* The widest surface cairo makes: its rows (with the filter byte) are
	 * exactly as far back as a copy can reach. */
	s = filled(32767, 3, 255);
	for (int x = 0; x < 32767; x += 7)
		set_grey(s, x, 1, (unsigned char)(x % 251));
	same = round_trip(p, s, &len);
	ok(same, "rows of 32,767 dots (%zu bytes)", len);
	cairo_surface_destroy(s);
	lbl_png_free(p);
}

/*
 * Grey levels at Fibonacci frequencies, none equal to the dot before it or
 * above it (so each is a literal, no run or copy): Huffman's code for the
 * rarest would be longer than the 15 bits deflate allows, so the writer must
 * shorten it and still make a whole code.
 */
static void
test_long_codes(void)
{
	enum { LEVELS = 26, W = 600 };
	struct lbl_png *p = lbl_png_new();
	uint32_t count[LEVELS], total = 0, fa = 1, fb = 1;
	unsigned char *seq;
	cairo_surface_t *s;
	size_t len, n = 0;
	int h;

	for (int i = 0; i < LEVELS; i++) {
		count[i] = fa;
		total += fa;
		fb += fa;
		fa = fb - fa;
	}
	seq = bb_malloc(total);
	/* Drawn at random in proportion to what is left of each level. */
	while (n < total) {
		int left = n % W ? seq[n - 1] : -1, above = n >= W ? seq[n - W] : -1, pick = -1;
		uint32_t room = 0, r;

		for (int i = 0; i < LEVELS; i++)
			if (i * 9 + 1 != left && i * 9 + 1 != above)
				room += count[i];
		if (room == 0)
			break;
		r = next_rand() % room;
		for (int i = 0; i < LEVELS && pick < 0; i++) {
			if (i * 9 + 1 == left || i * 9 + 1 == above)
				continue;
			if (r < count[i])
				pick = i;
			else
				r -= count[i];
		}
		count[pick]--;
		seq[n++] = (unsigned char)(pick * 9 + 1);
	}
	h = (int)(n / W);
	s = filled(W, h, 255);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < W; x++)
			set_grey(s, x, y, seq[(size_t)y * W + (size_t)x]);
	bool same = round_trip(p, s, &len);

	ok(same, "%d grey levels at Fibonacci frequencies, %d x %d (%zu bytes)", LEVELS, W, h, len);
	cairo_surface_destroy(s);
	free(seq);
	lbl_png_free(p);
}

/* Rows longer than a copy reaches back (32 KB), given to the encoder
 * itself (cairo makes no surface that wide): runs only, read by zlib. */
static void
test_wide_rows(void)
{
	enum { ROW = 40001, ROWS = 3 };
	struct lbl_deflate *z = lbl_deflate_new();
	unsigned char *raw = bb_malloc((size_t)ROW * ROWS), *back = bb_malloc((size_t)ROW * ROWS);
	uLongf back_len = (uLongf)ROW * ROWS;
	const unsigned char *packed;
	size_t len;

	memset(raw, 0xFF, (size_t)ROW * ROWS);
	for (size_t i = 0; i < (size_t)ROW * ROWS; i += ROW)
		raw[i] = 0; /* each row's filter byte */
	for (size_t i = ROW + 1; i < 2 * (size_t)ROW; i += 5)
		raw[i] = (unsigned char)(i % 253);
	packed = lbl_deflate_rows(z, raw, (size_t)ROW * ROWS, ROW, &len);
	ok(uncompress(back, &back_len, packed, (uLong)len) == Z_OK &&
	       back_len == (uLongf)ROW * ROWS && memcmp(back, raw, back_len) == 0,
	   "rows of %d bytes (beyond a copy's reach): zlib reads back every byte (%zu bytes)", ROW,
	   len);
	free(raw);
	free(back);
	lbl_deflate_free(z);
}

/* A label of the benchmark's kind, drawn: its pixels read back, and a file
 * no larger than zlib's run-length deflate made it (3.9 KB). */
static void
test_label(void)
{
	char id[BB_ID_LEN + 1];
	struct lbl_data d = { .id = id,
		              .type = "serum",
		              .participant = "MASC/P00017",
		              .timepoint = "month3",
		              .collected = "2001-06-11" };
	struct lbl_job job = { lbl_template_find("cryo-1.28x0.5in"), 203, 1, LBL_FMT_PNG };
	struct bb_buf out = { 0 };
	char why[LBL_WHY_MAX];
	png_image img;

	bb_id_from_serial(1234, id);
	is_int(lbl_render(&job, &d, 1, &out, why), BB_OK, "a cryo label as PNG");
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	bool read = png_image_begin_read_from_memory(&img, out.data, out.len);

	ok(read && img.width == 260 && img.height == 102, "  libpng reads it: %ux%u", img.width,
	   img.height);
	png_image_free(&img);
	ok(out.len < 3900, "  in %zu bytes (zlib's Z_RLE made about 3,900)", out.len);
	bb_buf_free(&out);
}

int
main(void)
{
	test_shapes();
	test_long_codes();
	test_wide_rows();
	test_label();
	return tap_done();
}
