/*
 * What several unit tests need alike: a tolerance check for computed
 * figures, and a scratch folder named by its resolved path (the inject
 * library and owned.c answer with resolved paths, so the tests must too).
 * Include after cmocka.h.
 */
#ifndef PYCSTORM_UNIT_HELPERS_H
#define PYCSTORM_UNIT_HELPERS_H

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define assert_near(got, want, tol)                                          \
	do {                                                                 \
		double g_ = (got), w_ = (want);                              \
		if (!(fabs(g_ - w_) <= (tol)))                               \
			fail_msg("%s = %.6f, expected %.6f (+/- %g)", #got,  \
				 g_, w_, (double)(tol));                     \
	} while (0)

/* Make a folder from template (ending in XXXXXX) and leave its resolved
 * path in dir (size bytes). 0, or -1 when it cannot. */
static inline int unit_scratch_dir(char *dir, size_t size, const char *template)
{
	char *real;
	int rc = -1;

	if (strlen(template) < size) {
		strcpy(dir, template);
		real = mkdtemp(dir) ? realpath(dir, NULL) : NULL;
		if (real && strlen(real) < size) {
			strcpy(dir, real);
			rc = 0;
		}
		free(real);
	}
	return rc;
}

#endif
