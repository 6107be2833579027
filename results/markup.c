/* Escaping for markup; see markup.h. */
#include "markup.h"

#include <string.h>

#define REPLACEMENT "\xEF\xBF\xBD"

/* Bytes in the well-formed UTF-8 sequence at p (lead byte >= 0x80), else 0. */
static size_t utf8_sequence(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n, i;

	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xE0)
		lo = 0xA0;
	else if (p[0] == 0xED)
		hi = 0x9F;
	else if (p[0] == 0xF0)
		lo = 0x90;
	else if (p[0] == 0xF4)
		hi = 0x8F;
	if (p[1] < lo || p[1] > hi)
		return 0;
	/* The string's NUL stops this loop before it reads past the end. */
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

void xml_put_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n;

	while (*p) {
		switch (*p) {
		case '&': (void)fputs("&amp;", f); break;
		case '<': (void)fputs("&lt;", f); break;
		case '>': (void)fputs("&gt;", f); break;
		case '"': (void)fputs("&quot;", f); break;
		case '\'': (void)fputs("&#39;", f); break;
		case '\t': case '\n': case '\r': (void)fputc(*p, f); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				(void)fputs(REPLACEMENT, f);
			} else if (*p < 0x80) {
				(void)fputc(*p, f);
			} else {
				n = utf8_sequence(p);
				if (n == 0) {
					(void)fputs(REPLACEMENT, f);
				} else {
					(void)fwrite(p, 1, n, f);
					p += n - 1;
				}
			}
		}
		p++;
	}
}
