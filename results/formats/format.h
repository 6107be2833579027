/*
 * Report formats: one file each (format-*.c) exporting one
 * `const struct format_info`, listed once in FORMAT_LIST.
 */
#ifndef PYCSTORM_FORMAT_H
#define PYCSTORM_FORMAT_H

#include <stdio.h>

#include "registry.h"
#include "summary.h"

struct format_info {
	const char *name;        /* as --format takes it */
	const char *filename;    /* the file a run writes, in the run folder */
	const char *summary;     /* one line for --help */
	int by_default;          /* every run writes it */
	int (*write)(FILE *out, const struct summary *s);
};

#define FORMAT_LIST(X)                                                       \
	X(json)                                                              \
	X(md)                                                                \
	X(html)                                                              \
	X(csv)                                                               \
	X(junit)                                                             \
	X(tap)

#define X(id) extern const struct format_info format_##id;
FORMAT_LIST(X)
#undef X

REGISTRY_DECLARE(format_info, format)

/* Write every by-default format into dir, atomically; 0 or -errno. The
 * HTML report shows dir/hyperfine.json when there is one. */
int format_write_defaults(const char *dir, const struct summary *s);
/* Render one format into a malloc'd buffer; 0 or -errno. */
int format_render(const struct format_info *fmt, const struct summary *s,
		  char **text, size_t *len);

#endif
