/*
 * Text inside markup (HTML, SVG, JUnit XML): the escaping every format
 * that writes tags shares, so no string from a summary can open a tag,
 * close an attribute or make the XML ill-formed.
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

#endif
