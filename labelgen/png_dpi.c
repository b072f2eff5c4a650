/*
 * png_dpi.c — cairo writes PNGs without a resolution; a pHYs chunk tells
 * printers and viewers that a 256-pixel-wide label is 1.28 in at 200 dpi,
 * not 3.5 in at 72.
 */
#include "lbl_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { SIG_LEN = 8, IHDR_END = SIG_LEN + 4 + 4 + 13 + 4, PHYS_LEN = 4 + 4 + 9 + 4 };

/* CRC-32 as PNG (and zlib) define it; bitwise, as the chunk is 13 bytes. */
static uint32_t
crc32_png(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
	}
	return c ^ 0xFFFFFFFFu;
}

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

enum bb_err
lbl_png_set_dpi(struct bb_buf *png, size_t start, int dpi)
{
	unsigned char chunk[PHYS_LEN];
	uint32_t ppm = (uint32_t)lround(dpi / 0.0254);
	size_t at = start + IHDR_END, tail;

	if (png->len < at || memcmp(png->data + start + SIG_LEN + 4, "IHDR", 4) != 0)
		return BB_EINTERNAL;
	put_be32(chunk, 9);
	memcpy(chunk + 4, "pHYs", 4);
	put_be32(chunk + 8, ppm);
	put_be32(chunk + 12, ppm);
	chunk[16] = 1; /* unit: metre */
	put_be32(chunk + 17, crc32_png(chunk + 4, 4 + 9));

	tail = png->len - at;
	bb_buf_append(png, chunk, sizeof(chunk)); /* grows the buffer */
	memmove(png->data + at + sizeof(chunk), png->data + at, tail);
	memcpy(png->data + at, chunk, sizeof(chunk));
	return BB_OK;
}
