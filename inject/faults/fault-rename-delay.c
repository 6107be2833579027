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

static unsigned op_bit(enum inject_op op)
{
	return op == IOP_RENAME ? DELAY_RENAME : op == IOP_UNLINK ? DELAY_UNLINK : 0u;
}

static void delay(const struct fault_spec *spec, struct inject_call *call, const char *when)
{
	const struct ns_range *r = &spec->u.rename_delay.delay;
	uint64_t ns;

	if (!(op_bit(call->op) & spec->u.rename_delay.ops) ||
	    !inject_decide(spec, spec->info->point))
		return;
	ns = r->lo + (r->hi > r->lo ? inject_random() % (r->hi - r->lo + 1) : 0);
	inject_fired(spec->info->point, call, "%s delay=%.3fms", when, (double)ns / 1e6);
	sleep_ns(ns);
}

static void rename_delay_before(const struct fault_spec *spec, struct inject_call *call)
{
	if (spec->u.rename_delay.when & DELAY_BEFORE)
		delay(spec, call, "before");
}

static void rename_delay_after(const struct fault_spec *spec, struct inject_call *call, long result)
{
	(void)result;
	if (spec->u.rename_delay.when & DELAY_AFTER)
		delay(spec, call, "after");
}

static const struct fault_hooks hooks = { .before = rename_delay_before,
					  .after = rename_delay_after };
#define HOOKS (&hooks)
#else
#define HOOKS NULL
#endif

static const struct fault_choice when_choices[] = {
	{ "before", DELAY_BEFORE },
	{ "after", DELAY_AFTER },
	{ "both", DELAY_BOTH },
	{ NULL, 0 },
};

static const struct fault_choice ops_choices[] = {
	{ "rename", DELAY_RENAME },
	{ "unlink", DELAY_UNLINK },
	{ NULL, 0 },
};

static const struct fault_param params[] = {
	{ "p", P_PROB, offsetof(struct fault_spec, p), "1", NULL,
	  "probability that a matching call is delayed" },
	{ "delay", P_RANGE, offsetof(struct fault_spec, u.rename_delay.delay), "1ms..20ms", NULL,
	  "how long to sleep: a duration or a range, drawn uniformly" },
	{ "when", P_CHOICE, offsetof(struct fault_spec, u.rename_delay.when), "before", when_choices,
	  "sleep before the real call, after it, or both" },
	{ "ops", P_MASK, offsetof(struct fault_spec, u.rename_delay.ops), "rename|unlink", ops_choices,
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
