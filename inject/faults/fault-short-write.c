/*
 * short-write: write() and pwrite() on a cache file return fewer bytes than
 * asked, having written only that many, as a full disk, a signal or a
 * network filesystem may. The gh-126606 bug: importlib's unchecked write
 * then renames a truncated file into place.
 */
#include "fault.h"

#include <stddef.h>

#ifdef PYCSTORM_PRELOAD
#include "inject.h"

static void short_write_before(const struct fault_spec *spec, struct inject_call *call)
{
	size_t keep;

	if (call->op != IOP_WRITE || call->count < 2 || !inject_decide(spec, spec->info->point))
		return;
	if (spec->u.short_write.fraction < 0)
		keep = 1 + (size_t)(inject_random() % (call->count - 1));
	else
		keep = (size_t)((double)call->count * spec->u.short_write.fraction);
	if (keep < 1)
		keep = 1;
	if (keep >= call->count)
		keep = call->count - 1;
	inject_fired(spec->info->point, call, "kept=%zu/%zu", keep, call->count);
	call->count = keep;
}

static const struct fault_hooks hooks = { .before = short_write_before };
#define HOOKS (&hooks)
#else
#define HOOKS NULL
#endif

static const struct fault_param params[] = {
	{ "p", P_PROB, offsetof(struct fault_spec, p), "0.05", NULL,
	  "probability that a write to a cache file comes back short" },
	{ "fraction", P_FRACTION, offsetof(struct fault_spec, u.short_write.fraction), "random", NULL,
	  "share of the bytes kept: a number between 0 and 1, or random" },
};

const struct fault_info fault_short_write = {
	.name = "short-write",
	.point = "pycstorm/write/short",
	.summary = "write()/pwrite() on cache files return fewer bytes than asked",
	.detail = "Only that many bytes reach the file; the caller must loop or fail. "
		  "Writes of fewer than 2 bytes are left alone.",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.hooks = HOOKS,
};
