/* Escaping for markup; see markup.h. */
#include "markup.h"

#include "common.h"

#include <stdlib.h>
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

/* A control character as it is shown in Markdown: "\\n", "\\x1b". */
static void md_control(FILE *f, unsigned char c)
{
	if (c == '\n')
		(void)fputs("\\n", f);
	else if (c == '\r')
		(void)fputs("\\r", f);
	else if (c == '\t')
		(void)fputs("\\t", f);
	else
		(void)fprintf(f, "\\x%02x", c);
}

char *md_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		die(EXIT_INTERNAL, "out of memory escaping a Markdown cell");
	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			md_control(f, *p);
		else if (*p == '|' || *p == '\\' || *p == '<')
			(void)fprintf(f, "\\%c", *p);
		else
			(void)fputc(*p, f);
	}
	if (fclose(f) != 0)
		die(EXIT_INTERNAL, "out of memory escaping a Markdown cell");
	return text;
}

void md_put_text(FILE *f, const char *s)
{
	char *text = md_text(s);

	(void)fputs(text, f);
	free(text);
}

void md_put_code(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t run = 0, longest = 0, i;
	int pad;

	for (; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		longest = run > longest ? run : longest;
	}
	p = (const unsigned char *)(s ? s : "");
	/* A span that starts or ends with a backtick needs a space inside
	 * its fence, which the reader strips again. */
	pad = *p == '`' || (*p && p[strlen((const char *)p) - 1] == '`');
	for (i = 0; i <= longest; i++)
		(void)fputc('`', f);
	(void)fputs(pad ? " " : "", f);
	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			md_control(f, *p);
		else
			(void)fputc(*p, f);
	}
	(void)fputs(pad ? " " : "", f);
	for (i = 0; i <= longest; i++)
		(void)fputc('`', f);
}
