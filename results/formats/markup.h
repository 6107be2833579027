/*
 * Text inside markup (HTML, SVG, JUnit XML, Markdown): the escaping every
 * format shares, so no string from a summary can open a tag, close an
 * attribute, make the XML ill-formed or end a Markdown table's row or cell.
 */
#ifndef PYCSTORM_MARKUP_H
#define PYCSTORM_MARKUP_H

#include <stdio.h>

/*
 * Write s escaped for XML text and attribute values (& < > " '). Bytes
 * that are not well-formed UTF-8, and control characters XML 1.0 forbids,
 * become U+FFFD, so the output always parses.
 */
void xml_put_text(FILE *f, const char *s);

/*
 * s as text for a GFM table cell or a line of Markdown: '|' (a cell's
 * end), '\\' (so no escape is made or undone) and '<' (raw HTML) get a
 * backslash; a line break or another control character, which would end
 * the row, is shown as \n, \r, \t or \xNN. Malloc'd.
 */
char *md_text(const char *s);
/* fputs of md_text(s). */
void md_put_text(FILE *f, const char *s);
/* s as one Markdown code span: fenced by more backticks than it holds in
 * a row, control characters shown as in md_text. */
void md_put_code(FILE *f, const char *s);

#endif
