/*
 * fiu: one of libfiu's own POSIX failure points (posix/io/rw/write/reduce,
 * posix/io/rw/write, ...), armed in the worker with libfiu's
 * fiu_posix_preload.so loaded after ours. libfiu wraps every descriptor,
 * not only the cache directory's, so this fault is as blunt as fiu-run.
 */
#include "fault.h"

#include <stddef.h>

static const struct fault_param params[] = {
	{ "point", P_NAME, offsetof(struct fault_spec, u.fiu.point), NULL, NULL,
	  "the libfiu point, e.g. posix/io/rw/write/reduce" },
	{ "p", P_PROB, offsetof(struct fault_spec, p), "0.05", NULL,
	  "probability that the point fires" },
};

const struct fault_info fault_fiu = {
	.name = "fiu",
	.point = NULL,      /* the point is the one named in the spec */
	.summary = "arm one of libfiu's own POSIX points (fiu_posix_preload.so)",
	.detail = "Decisions are seeded like ours and each firing is logged, but libfiu "
		  "applies them to every file the worker touches, not only the cache.",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.hooks = NULL,
};
