/*
 * exact: one fault at exactly one call, for `pycstorm matrix`. The calls
 * a worker makes on cache files in a cycle are numbered from 1 in the
 * order the preload library sees them (open, write, close, fsync, rename,
 * unlink alike); call=N picks the Nth, and do= says what happens there:
 * a short write, an error, or SIGKILL just before or after it. Nothing
 * depends on time or chance, so the same write path fails the same way
 * on every run and every machine. do=trace fails nothing and appends one
 * line per call to the state folder's calls.trace, which is how the
 * matrix learns what the calls are.
 *
 * An error on rename (EACCES, EPERM) is what a held destination gives
 * (the held-lock fault's Windows semantics) without the holder process
 * and its timing. A failed close still closes, as on Linux.
 */
#include "fault.h"

#include <stddef.h>

#ifdef PYCSTORM_PRELOAD
#include "inject.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const op_names[] = { "open", "write", "close", "fsync", "rename", "unlink" };

/* "N op path [dst] [bytes] [create]", one line per call on a cache file. */
static void trace_call(const struct inject_call *call)
{
	char path[4200], line[9000];
	int fd, n;

	(void)snprintf(path, sizeof(path), "%s/" EXACT_TRACE_FILE, inject_state_dir());
	fd = inject_real_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%u %s %s", inject_call_number(), op_names[call->op],
		     inject_relative(call->path));
	if (call->op == IOP_RENAME && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %s", inject_relative(call->dst));
	if (call->op == IOP_WRITE && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %zu", call->count);
	if (call->op == IOP_OPEN && (call->open_flags & O_CREAT) && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, " create");
	if (n > 0 && (size_t)n < sizeof(line) - 1) {
		line[n++] = '\n';
		(void)!write(fd, line, (size_t)n);
	}
	(void)inject_real_close(fd);
}

/* Bytes a short write keeps of count; count itself when it cannot be shorter. */
static size_t kept(int keep, size_t count)
{
	size_t k = keep == EXACT_KEEP_HALF ? count / 2
		   : keep == EXACT_KEEP_ONE_SHORT ? (count ? count - 1 : 0) : (size_t)keep;

	return k < count ? k : count;
}

static void exact_before(const struct fault_spec *spec, struct inject_call *call)
{
	static const int errnos[] = {
		[EXACT_ENOSPC] = ENOSPC, [EXACT_EIO] = EIO, [EXACT_EDQUOT] = EDQUOT,
		[EXACT_EACCES] = EACCES, [EXACT_EPERM] = EPERM,
	};
	const struct exact_params *x = &spec->u.exact;
	size_t k;

	if (x->what == EXACT_TRACE) {
		trace_call(call);
		return;
	}
	if (inject_call_number() != x->call || x->what == EXACT_CRASH_AFTER)
		return;
	switch (x->what) {
	case EXACT_SHORT:
		k = kept(x->keep, call->count);
		if (call->op != IOP_WRITE || k >= call->count || !inject_decide(spec, spec->info->point))
			return;
		inject_fired(spec->info->point, call, "call=%u kept=%zu/%zu", x->call, k, call->count);
		call->count = k;
		break;
	case EXACT_CRASH_BEFORE:
		if (!inject_decide(spec, spec->info->point))
			return;
		inject_fired(spec->info->point, call, "call=%u crash before", x->call);
		inject_crash();
	default:
		if (!inject_decide(spec, spec->info->point))
			return;
		call->fail_errno = errnos[x->what];
		inject_fired(spec->info->point, call, "call=%u errno=%s", x->call,
			     strerrorname_np(call->fail_errno));
		break;
	}
}

static void exact_after(const struct fault_spec *spec, struct inject_call *call, long result)
{
	(void)result;
	if (spec->u.exact.what == EXACT_CRASH_AFTER && inject_call_number() == spec->u.exact.call &&
	    inject_decide(spec, spec->info->point)) {
		inject_fired(spec->info->point, call, "call=%u crash after", spec->u.exact.call);
		inject_crash();
	}
}

static const struct fault_hooks hooks = { .before = exact_before, .after = exact_after };
#define HOOKS (&hooks)
#else
#define HOOKS NULL
#endif

static const struct fault_choice do_choices[] = {
	{ "trace", EXACT_TRACE },
	{ "short", EXACT_SHORT },
	{ "ENOSPC", EXACT_ENOSPC },
	{ "EIO", EXACT_EIO },
	{ "EDQUOT", EXACT_EDQUOT },
	{ "EACCES", EXACT_EACCES },
	{ "EPERM", EXACT_EPERM },
	{ "crash-before", EXACT_CRASH_BEFORE },
	{ "crash-after", EXACT_CRASH_AFTER },
	{ NULL, 0 },
};

static const struct fault_choice keep_choices[] = {
	{ "0", 0 },
	{ "1", 1 },
	{ "16", 16 },
	{ "half", EXACT_KEEP_HALF },
	{ "one-short", EXACT_KEEP_ONE_SHORT },
	{ NULL, 0 },
};

static const struct fault_param params[] = {
	{ "p", P_PROB, offsetof(struct fault_spec, p), "1", NULL,
	  "probability that the chosen call fails (1: always; the matrix's setting)" },
	{ "call", P_COUNT, offsetof(struct fault_spec, u.exact.call), "1", NULL,
	  "which call on a cache file in the cycle, counting every kind from 1" },
	{ "do", P_CHOICE, offsetof(struct fault_spec, u.exact.what), "trace", do_choices,
	  "what happens there: an error, a short write, a crash; trace records the calls" },
	{ "keep", P_CHOICE, offsetof(struct fault_spec, u.exact.keep), "half", keep_choices,
	  "do=short: the bytes the write keeps" },
};

const struct fault_info fault_exact = {
	.name = "exact",
	.point = "pycstorm/exact",
	.summary = "one fault at exactly the Nth call on a cache file of each cycle",
	.detail = "What `pycstorm matrix` replays: a short write, ENOSPC/EIO/EDQUOT, "
		  "EACCES/EPERM or a crash before or after one numbered call, no timing, no chance. "
		  "do=trace fails nothing and writes the calls to calls.trace in the state folder.",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.hooks = HOOKS,
};
