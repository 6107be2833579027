/*
 * rename-delay: rename() and unlink() in the cache directory sleep before
 * or after the real call, as a slow or busy filesystem does. Nothing fails;
 * every race window between a writer's steps and a reader just gets wider.
 */
#include "fault.h"

#include <stddef.h>

#ifdef PYCSTORM_PRELOAD
#include "common.h"
#include "inject.h"

enum { WHEN_BEFORE, WHEN_AFTER, WHEN_BOTH };

static unsigned op_bit(enum inject_op op)
{
	return op == IOP_RENAME ? 1u : op == IOP_UNLINK ? 2u : 0u;
}

static void delay(const struct fault_spec *spec, struct inject_call *call, const char *when)
{
	uint64_t ns;

	if (!(op_bit(call->op) & spec->mask) || !inject_decide(spec, spec->info->point))
		return;
	ns = spec->lo_ns + (spec->hi_ns > spec->lo_ns
				    ? inject_random() % (spec->hi_ns - spec->lo_ns + 1) : 0);
	inject_fired(spec->info->point, call, "%s delay=%.3fms", when, (double)ns / 1e6);
	sleep_ns(ns);
}

static void rename_delay_before(const struct fault_spec *spec, struct inject_call *call)
{
	if (spec->choice != WHEN_AFTER)
		delay(spec, call, "before");
}

static void rename_delay_after(const struct fault_spec *spec, struct inject_call *call, long result)
{
	(void)result;
	if (spec->choice != WHEN_BEFORE)
		delay(spec, call, "after");
}

static const struct fault_hooks hooks = { .before = rename_delay_before,
					  .after = rename_delay_after };
#define HOOKS (&hooks)
#else
#define HOOKS NULL
#endif

static const struct fault_param params[] = {
	{ "p", P_PROB, offsetof(struct fault_spec, p), "1", NULL,
	  "probability that a matching call is delayed" },
	{ "delay", P_RANGE, offsetof(struct fault_spec, lo_ns), "1ms..20ms", NULL,
	  "how long to sleep: a duration or a range, drawn uniformly" },
	{ "when", P_CHOICE, offsetof(struct fault_spec, choice), "before", "before|after|both",
	  "sleep before the real call, after it, or both" },
	{ "ops", P_MASK, offsetof(struct fault_spec, mask), "rename|unlink", "rename|unlink",
	  "which calls are delayed" },
};

const struct fault_info fault_rename_delay = {
	.name = "rename-delay",
	.point = "pycstorm/rename/delay",
	.summary = "rename()/unlink() in the cache sleep before or after the real call",
	.detail = "Widens every window between a writer's steps; nothing fails.",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.hooks = HOOKS,
};
