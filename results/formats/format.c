/* The format registry; see format.h. */
#include "format.h"

#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define X(id) &format_##id,
REGISTRY_DEFINE(format_info, format, FORMAT_LIST(X))
#undef X

int format_render(const struct format_info *fmt, const struct summary *s,
		  char **text, size_t *len)
{
	FILE *f = open_memstream(text, len);
	int rc;

	if (!f)
		return -errno;
	rc = fmt->write(f, s);
	if (fclose(f) != 0 && rc == 0)
		rc = -EIO;
	if (rc != 0) {
		free(*text);
		*text = NULL;
	}
	return rc;
}

int format_write_defaults(const char *dir, const struct summary *s)
{
	struct summary shown = *s;   /* shallow: only bench may differ */
	char *text = NULL, *path, err[512];
	size_t i, len = 0;
	int rc = 0, one;

	/* A run folder that hyperfine timed has hyperfine.json: show it. A
	 * broken one is left out here; `pycstorm report` names the problem. */
	if (!s->nbench && summary_load_bench(dir, &shown, err, sizeof(err)) < 0)
		shown.nbench = 0;
	for (i = 0; i < format_count; i++) {
		if (!format_table[i]->by_default)
			continue;
		one = format_render(format_table[i], &shown, &text, &len);
		path = xasprintf("%s/%s", dir, format_table[i]->filename);
		if (one == 0)
			one = write_file_atomic(path, text, len);
		if (one != 0 && rc == 0)
			rc = one;
		free(path);
		free(text);
		text = NULL;
	}
	if (shown.bench != s->bench)
		summary_free_bench(&shown);
	return rc;
}
