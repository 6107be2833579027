/*
 * write-error: a disk that is full (ENOSPC), failing (EIO) or over quota
 * (EDQUOT), reported by write(), close() or fsync() on a cache file. A
 * failed close still closes the descriptor, as Linux does.
 */
#include "fault.h"

#include <errno.h>
#include <stddef.h>

/* The errors it may return, by bit of write_error_params.errnos. */
static const struct fault_choice errno_choices[] = {
	{ "ENOSPC", 1 << 0 },
	{ "EIO", 1 << 1 },
	{ "EDQUOT", 1 << 2 },
	{ NULL, 0 },
};

#ifdef PYCSTORM_PRELOAD
#include "inject.h"

/* The errno of each of errno_choices, in its order. */
static const int errno_values[] = { ENOSPC, EIO, EDQUOT };

static unsigned op_bit(enum inject_op op)
{
	return op == IOP_WRITE ? WRITE_ERROR_ON_WRITE : op == IOP_CLOSE ? WRITE_ERROR_ON_CLOSE
		: op == IOP_FSYNC ? WRITE_ERROR_ON_FSYNC : 0u;
}

static void write_error_before(const struct fault_spec *spec, struct inject_call *call)
{
	const struct write_error_params *w = &spec->u.write_error;
	unsigned picks[3], n = 0, b;
	static const char *const names[] = { "write", "close", "fsync" };

	if (!(op_bit(call->op) & w->on) || !inject_decide(spec, spec->info->point))
		return;
	for (b = 0; b < 3; b++)
		if (w->errnos & (1u << b))
			picks[n++] = b;
	b = picks[inject_random() % n];
	call->fail_errno = errno_values[b];
	inject_fired(spec->info->point, call, "errno=%s op=%s", errno_choices[b].word,
		     names[call->op == IOP_WRITE ? 0 : call->op == IOP_CLOSE ? 1 : 2]);
}

static const struct fault_hooks hooks = { .before = write_error_before };
#define HOOKS (&hooks)
#else
#define HOOKS NULL
#endif

static const struct fault_choice on_choices[] = {
	{ "write", WRITE_ERROR_ON_WRITE },
	{ "close", WRITE_ERROR_ON_CLOSE },
	{ "fsync", WRITE_ERROR_ON_FSYNC },
	{ NULL, 0 },
};

static const struct fault_param params[] = {
	{ "p", P_PROB, offsetof(struct fault_spec, p), "0.01", NULL,
	  "probability that a matching call on a cache file fails" },
	{ "errno", P_MASK, offsetof(struct fault_spec, u.write_error.errnos), "ENOSPC", errno_choices,
	  "the error(s) to return, one picked at random each time" },
	{ "on", P_MASK, offsetof(struct fault_spec, u.write_error.on), "write", on_choices,
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
