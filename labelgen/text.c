/*
 * text.c — fitting a line of UTF-8 into a width: shortened at a character
 * boundary with a visible ellipsis, never cut inside a glyph or separated from
 * its combining marks.
 */
#include "lbl_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
lbl_why(char why[LBL_WHY_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, LBL_WHY_MAX, fmt, ap);
	va_end(ap);
}

void
lbl_why_label(char why[LBL_WHY_MAX], size_t index, size_t n)
{
	char inner[LBL_WHY_MAX];

	if (n < 2)
		return;
	memcpy(inner, why, LBL_WHY_MAX);
	lbl_why(why, "label %zu: %s", index + 1, inner);
}

/* The code point starting at s[i] (input already validated as UTF-8). */
static unsigned long
code_point(const unsigned char *s, size_t i)
{
	unsigned char c = s[i];

	if (c < 0x80)
		return c;
	if (c < 0xE0)
		return ((unsigned long)(c & 0x1F) << 6) | (s[i + 1] & 0x3F);
	if (c < 0xF0)
		return ((unsigned long)(c & 0x0F) << 12) | ((unsigned long)(s[i + 1] & 0x3F) << 6) |
		       (s[i + 2] & 0x3F);
	return ((unsigned long)(c & 0x07) << 18) | ((unsigned long)(s[i + 1] & 0x3F) << 12) |
	       ((unsigned long)(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
}

/* Marks that draw onto the previous character: cutting before them would
 * print the base letter without its accent. */
static bool
attaches_to_previous(unsigned long cp)
{
	return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
	       (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
	       (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xFE20 && cp <= 0xFE2F) || cp == 0x200D;
}

static bool
is_cut_point(const char *str, size_t i)
{
	const unsigned char *s = (const unsigned char *)str;

	if (s[i] == '\0')
		return true;
	if ((s[i] & 0xC0) == 0x80)
		return false;
	return !attaches_to_previous(code_point(s, i));
}

bool
lbl_fit_text(const struct lbl_measure *m, const char *s, double size, bool bold, double maxw,
             bool force_ellipsis, char *out, size_t cap)
{
	size_t len = strlen(s), elen = strlen(m->ellipsis);

	if (!force_ellipsis && len < cap && m->width(m->ctx, s, len, size, bold) <= maxw) {
		memcpy(out, s, len + 1);
		return true;
	}
	for (size_t cut = force_ellipsis ? len : len - 1; cut + 1 > 0; cut--) {
		size_t keep = cut;

		if (!is_cut_point(s, cut))
			continue;
		while (keep > 0 && s[keep - 1] == ' ')
			keep--;
		if (keep == 0 && cut > 0)
			continue;
		if (keep + elen >= cap)
			continue;
		memcpy(out, s, keep);
		memcpy(out + keep, m->ellipsis, elen + 1);
		if (m->width(m->ctx, out, keep + elen, size, bold) <= maxw)
			return true;
	}
	out[0] = '\0';
	return false;
}

/*
 * The printer draws text with its own font 0 (a condensed sans), which we
 * cannot measure here. These advances, in font heights, are at least as wide
 * as that font's, so what fits by this estimate fits on the label.
 */
double
lbl_zpl_text_width(void *ctx, const char *str, size_t len, double size, bool bold)
{
	const unsigned char *s = (const unsigned char *)str;
	double em = 0;

	(void)ctx;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if ((c & 0xC0) == 0x80)
			continue; /* counted with its lead byte */
		if (c >= 0x80)
			em += 0.7;
		else if (strchr("MWmw@", c))
			em += 0.85;
		else if (strchr("il.,:;'|!ijtf ()[]", c))
			em += 0.35;
		else if (c >= 'A' && c <= 'Z')
			em += 0.62;
		else
			em += 0.56;
	}
	return em * size * (bold ? 1.08 : 1.0);
}

static double
text_width(void *ctx, const char *s, size_t len, double size, bool bold)
{
	double drawn = lbl_font_width(ctx, s, len, size, bold);
	double printer = lbl_zpl_text_width(NULL, s, len, size, bold);

	return drawn > printer ? drawn : printer;
}

void
lbl_measure_init(struct lbl_measure *m, struct lbl_font *f)
{
	/* Three dots, not U+2026: the printer's font 0 has no ellipsis. */
	*m = (struct lbl_measure){ text_width, f, "...", f };
}
