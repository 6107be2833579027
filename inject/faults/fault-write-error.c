/*
 * write-error: a disk that is full (ENOSPC), failing (EIO) or over quota
 * (EDQUOT), reported by write(), close() or fsync() on a cache file. A
 * failed close still closes the descriptor, as Linux does.
 */
#include "fault.h"

#include <errno.h>
#include <stddef.h>

#ifdef PYCSTORM_PRELOAD
#include "inject.h"

#include <string.h>

static unsigned op_bit(enum inject_op op)
{
	return op == IOP_WRITE ? 1u : op == IOP_CLOSE ? 2u : op == IOP_FSYNC ? 4u : 0u;
}

static void write_error_before(const struct fault_spec *spec, struct inject_call *call)
{
	unsigned bits[3], n = 0, b;
	static const char *const names[] = { "write", "close", "fsync" };

	if (!(op_bit(call->op) & spec->mask) || !inject_decide(spec, spec->info->point))
		return;
	for (b = 0; b < 3; b++)
		if (spec->errno_mask & (1u << b))
			bits[n++] = b;
	call->fail_errno = fault_errno_from_bit(bits[inject_random() % n]);
	inject_fired(spec->info->point, call, "errno=%s op=%s",
		     call->fail_errno == ENOSPC ? "ENOSPC" : call->fail_errno == EIO ? "EIO" : "EDQUOT",
		     names[call->op == IOP_WRITE ? 0 : call->op == IOP_CLOSE ? 1 : 2]);
}

static const struct fault_hooks hooks = { .before = write_error_before };
#define HOOKS (&hooks)
#else
#define HOOKS NULL
#endif

static const struct fault_param params[] = {
	{ "p", P_PROB, offsetof(struct fault_spec, p), "0.01", NULL,
	  "probability that a matching call on a cache file fails" },
	{ "errno", P_MASK, offsetof(struct fault_spec, errno_mask), "ENOSPC", ERRNO_CHOICES,
	  "the error(s) to return, one picked at random each time" },
	{ "on", P_MASK, offsetof(struct fault_spec, mask), "write", "write|close|fsync",
	  "which calls fail" },
};

const struct fault_info fault_write_error = {
	.name = "write-error",
	.point = "pycstorm/write/error",
	.summary = "ENOSPC, EIO or EDQUOT from write, close or fsync on cache files",
	.detail = "The call fails before doing anything, except close, which still closes.",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.hooks = HOOKS,
};
