/*
 * crash: the worker is killed with SIGKILL at a chosen point of its write
 * sequence, leaving exactly what a crashed process leaves: a partial
 * temporary file, a renamed file whose writer never finished the cycle, or
 * an in-place file cut off after its Nth write.
 */
#include "fault.h"

#include <stddef.h>

#ifdef PYCSTORM_PRELOAD
#include "inject.h"

static void crash_before(const struct fault_spec *spec, struct inject_call *call)
{
	if (spec->u.crash.at == CRASH_BEFORE_RENAME && call->op == IOP_RENAME &&
	    inject_decide(spec, spec->info->point)) {
		inject_fired(spec->info->point, call, "at=before-rename");
		inject_crash();
	}
}

/* Writes counted per open cache file, since its open: at=after-write,n=N
 * gives every file a program writes its own Nth write, not only the first
 * file of the process (a worker's cycle writes one file, so there the two
 * agree). */
#define CRASH_MAX_FDS 4096
static unsigned writes_since_open[CRASH_MAX_FDS];

static unsigned nth_write_to_file(const struct inject_call *call, long result)
{
	if (call->op == IOP_OPEN && result >= 0 && result < CRASH_MAX_FDS)
		writes_since_open[result] = 0;
	if (call->op != IOP_WRITE || call->fd < 0)
		return 0;
	if (call->fd >= CRASH_MAX_FDS)
		return inject_nth(IOP_WRITE);   /* beyond the table: per process */
	return ++writes_since_open[call->fd];
}

static void crash_after(const struct fault_spec *spec, struct inject_call *call, long result)
{
	const struct crash_params *c = &spec->u.crash;
	unsigned nth = nth_write_to_file(call, result);

	if (c->at == CRASH_AFTER_WRITE && call->op == IOP_WRITE &&
	    nth == c->n && inject_decide(spec, spec->info->point)) {
		inject_fired(spec->info->point, call, "at=after-write n=%u", c->n);
		inject_crash();
	}
	if (c->at == CRASH_AFTER_RENAME && call->op == IOP_RENAME && result == 0 &&
	    inject_decide(spec, spec->info->point)) {
		inject_fired(spec->info->point, call, "at=after-rename");
		inject_crash();
	}
}

static const struct fault_hooks hooks = { .before = crash_before, .after = crash_after };
#define HOOKS (&hooks)
#else
#define HOOKS NULL
#endif

static const struct fault_choice at_choices[] = {
	{ "after-write", CRASH_AFTER_WRITE },
	{ "before-rename", CRASH_BEFORE_RENAME },
	{ "after-rename", CRASH_AFTER_RENAME },
	{ NULL, 0 },
};

static const struct fault_param params[] = {
	{ "p", P_PROB, offsetof(struct fault_spec, p), "0.01", NULL,
	  "probability of dying at each matching point" },
	{ "at", P_CHOICE, offsetof(struct fault_spec, u.crash.at), "before-rename", at_choices,
	  "where: after the Nth write of a cycle, or just before or after a rename" },
	{ "n", P_COUNT, offsetof(struct fault_spec, u.crash.n), "1", NULL,
	  "at=after-write: which write to each file since its open (1 = the first)" },
};

const struct fault_info fault_crash = {
	.name = "crash",
	.point = "pycstorm/crash",
	.summary = "the worker is SIGKILLed at a point of its write sequence",
	.detail = "The orchestrator counts it under faults_fired, not as a worker_crash, "
		  "and starts a replacement worker.",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.hooks = HOOKS,
};
