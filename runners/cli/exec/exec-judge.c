/*
 * Running and judging one round of `pycstorm exec`; see exec-run.h.
 *
 * Each copy is one compile cycle of the "exec" result (its outcome, its
 * wall time), each touched .pyc one import cycle (the classifier's class).
 * A copy's non-zero exit is classed by the last "SomeError: text" line it
 * printed, the way a user reads a traceback.
 */
#include "exec-run.h"

#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define STRESS_TIMEOUT_NS (600ull * 1000000000ull)
/* The end of a copy's output searched for its last exception. */
#define OUTPUT_TAIL (256u << 10)

const struct fault_spec *exec_armed(const struct exec_run *x, const struct fault_info *info)
{
	const struct fault_spec *found = NULL;
	size_t i;

	for (i = 0; i < x->nfaults && !found; i++)
		if (x->faults[i].info == info)
			found = &x->faults[i];
	return found;
}

/* ---- judging a round --------------------------------------------------------- */

const char *exec_relative_path(const struct exec_run *x, const char *path)
{
	size_t n = strlen(x->cwd);

	if (!strncmp(path, x->cwd, n) && path[n] == '/')
		path += n + 1;
	else if (path[0] == '/')
		path++;
	return path;
}

double exec_elapsed_s(const struct exec_run *x)
{
	return (double)(now_ns() - x->start_ns) / 1e9;
}

/* A fault line from a copy: counted at once, so an interrupted stress run
 * still reports every fault that fired. */
static void count_fault(void *ctx, const struct exec_copy *copy, const char *line, size_t len)
{
	struct exec_run *x = ctx;
	const char *p = memmem(line, len, "point=", 6), *end;
	char *point;

	(void)copy;
	if (!p)
		return;
	p += 6;
	end = memchr(p, ' ', len - (size_t)(p - line));
	point = xstrndup(p, end ? (size_t)(end - p) : len - (size_t)(p - line));
	(void)summary_count_fault(x->res, point, 1);
	free(point);
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.';
}

/* Does line look like Python's last traceback line, "SomeError: text"? */
static int exception_line(const char *line)
{
	size_t n = 0;

	while (is_name_char(line[n]))
		n++;
	return n >= 5 && line[n] == ':' &&
	       ((n >= 5 && !strncmp(line + n - 5, "Error", 5)) ||
		(n >= 9 && !strncmp(line + n - 9, "Exception", 9)));
}

/* The last exception a copy printed on stderr, or NULL. Only the end of
 * what it printed is read: a program may have written gigabytes. */
static char *last_exception(const char *stderr_path)
{
	char *text = NULL, *line, *save = NULL, *found = NULL;
	size_t len = 0;

	if (stderr_path && read_file_tail(stderr_path, OUTPUT_TAIL, &text, &len) == 0)
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (exception_line(line))
				found = line;
	found = found ? xstrdup(found) : NULL;
	free(text);
	return found;
}

/* How the last line of a traceback maps onto the outcome classes. */
static const struct { const char *text; int anywhere; enum outcome outcome; } exception_classes[] = {
	{ "EOFError:", 0, OUTCOME_EOF },
	{ "bad marshal data", 1, OUTCOME_BAD_MARSHAL },
	{ "PermissionError:", 0, OUTCOME_PERMISSION_ERROR },
	{ "ModuleNotFoundError:", 0, OUTCOME_MODULE_NOT_FOUND },
	{ "ImportError:", 0, OUTCOME_MODULE_NOT_FOUND },
};

static enum outcome exception_class(const char *line)
{
	const char *colon = strchr(line, ':'), *dot;
	enum outcome o = OUTCOME_OTHER_ERROR;
	size_t i, n = sizeof(exception_classes) / sizeof(exception_classes[0]);

	/* "builtins.EOFError: ..." (Twisted's log) is an EOFError too. */
	for (dot = line; colon && (dot = memchr(line, '.', (size_t)(colon - line))) != NULL;)
		line = dot + 1;
	for (i = 0; i < n && o == OUTCOME_OTHER_ERROR; i++)
		if (exception_classes[i].anywhere
			    ? strstr(line, exception_classes[i].text) != NULL
			    : !strncmp(line, exception_classes[i].text, strlen(exception_classes[i].text)))
			o = exception_classes[i].outcome;
	return o;
}

/* How a copy ended, as an outcome class and one line of text. */
static enum outcome copy_outcome(const struct exec_run *x, const struct exec_copy *c, char **text)
{
	char *path = x->output_dir ? xasprintf("%s/copy-%u.err", x->output_dir, c->index) : NULL;
	char *out = x->output_dir ? xasprintf("%s/copy-%u.out", x->output_dir, c->index) : NULL;
	char *exc = NULL;
	enum outcome o = OUTCOME_OK;

	*text = NULL;
	if (c->timed_out) {
		o = OUTCOME_WORKER_TIMEOUT;
		*text = xasprintf("killed after running longer than the timeout");
	} else if (WIFSIGNALED(c->status)) {
		o = OUTCOME_WORKER_CRASH;
		*text = c->crash_injected && WTERMSIG(c->status) == SIGKILL
				? xstrdup("killed by the crash fault")
				: xasprintf("killed by signal %d (%s)", WTERMSIG(c->status),
					    strsignal(WTERMSIG(c->status)));
	} else if (WEXITSTATUS(c->status) != 0) {
		/* Some tools report on stdout: compileall prints "PermissionError: ..." there. */
		exc = last_exception(path);
		exc = exc ? exc : last_exception(out);
		o = exc ? exception_class(exc) : OUTCOME_OTHER_ERROR;
		*text = exc ? exc : xasprintf("exit status %d", WEXITSTATUS(c->status));
	}
	free(path);
	free(out);
	return o;
}

/* Does this copy's end make the round a failure? A copy the crash fault
 * killed on purpose does not: what it left in the cache is what counts. */
static int copy_fails(const struct exec_copy *c, enum outcome o)
{
	return o != OUTCOME_OK &&
	       !(c->crash_injected && !c->timed_out && WIFSIGNALED(c->status) &&
		 WTERMSIG(c->status) == SIGKILL);
}

static size_t status_slot(const struct exec_copy *c)
{
	return c->timed_out	       ? 256 + 65
	       : WIFSIGNALED(c->status) ? 256 + (size_t)(WTERMSIG(c->status) & 63)
					: (size_t)WEXITSTATUS(c->status);
}

static void event_copy(struct exec_run *x, const struct round_facts *rd, const struct exec_copy *c,
		       enum outcome o, const char *text)
{
	size_t slot = status_slot(c);

	(void)fprintf(x->events, "{\"t\": %.6f, \"type\": \"exit\", \"worker\": %u, "
				 "\"strategy\": \"exec\", \"seed\": %" PRIu64 ", \"round\": %u, "
				 "\"round_seed\": %" PRIu64 ", \"pid\": %ld, ",
		      exec_elapsed_s(x), c->index, c->seed, rd->number, rd->seed, (long)c->pid);
	if (slot < 256)
		(void)fprintf(x->events, "\"exit_status\": %zu, \"signal\": null, ", slot);
	else
		(void)fprintf(x->events, "\"exit_status\": null, \"signal\": %d, ",
			      c->timed_out ? SIGKILL : WTERMSIG(c->status));
	(void)fprintf(x->events, "\"timed_out\": %s, \"outcome\": \"%s\", \"latency_ns\": %" PRIu64
				 ", \"faults\": %s, \"error\": ",
		      c->timed_out ? "true" : "false", outcome_name(o), c->end_ns - c->start_ns,
		      c->fault_log_len ? "true" : "false");
	json_put_string(x->events, text ? text : "");
	(void)fputs("}\n", x->events);
}

/* Count each copy as one compile cycle: its outcome, its wall time. */
static void judge_copies(struct exec_run *x, struct round_facts *rd)
{
	unsigned k;

	rd->copy_failed = -1;
	for (k = 0; k < x->o->jobs; k++) {
		struct exec_copy *c = &rd->copies[k];
		enum outcome o;
		if (c->pid <= 0)
			continue;
		o = copy_outcome(x, c, &rd->error[k]);
		rd->outcome[k] = (int)o;
		x->res->counts[OP_COMPILE][o]++;
		hist_add(&x->res->latency[OP_COMPILE], c->end_ns - c->start_ns);
		x->res->workers_started++;
		x->runs++;
		x->exit_counts[status_slot(c)]++;
		if (o != OUTCOME_OK && !x->res->first_error[o] && rd->error[k])
			x->res->first_error[o] = xstrdup(rd->error[k]);
		if (copy_fails(c, o)) {
			x->failed_runs++;
			if (rd->copy_failed < 0)
				rd->copy_failed = (int)k;
		}
		if (c->garbled)
			warn("exec: copy %u sent something that is not a fault record; "
			     "its later faults were not counted", k);
		event_copy(x, rd, c, o, rd->error[k]);
	}
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Check every touched .pyc; each is one import cycle in the summary. */
static void check_damage(struct exec_run *x, struct round_facts *rd)
{
	char err[512];
	size_t i;

	rd->pycs = xcalloc(rd->ntouched + 1, sizeof(char *));
	for (i = 0; i < rd->ntouched; i++)
		if (ends_with(rd->touched[i]->path, ".pyc"))
			rd->pycs[rd->npycs++] = rd->touched[i]->path;
	rd->verdicts = xcalloc(rd->npycs + 1, sizeof(*rd->verdicts));
	if (rd->npycs && exec_check_pycs(rd->pycs, rd->npycs, rd->verdicts, err,
					 sizeof(err)) < 0)
		warn("exec: %s; the damage check is incomplete", err);
	for (i = 0; i < rd->npycs; i++) {
		const struct exec_verdict *v = &rd->verdicts[i];
		if (v->outcome < 0)
			continue;   /* gone, or unreadable, by the time we looked */
		x->res->counts[OP_IMPORT][v->outcome]++;
		if (v->outcome != OUTCOME_OK && v->error && !x->res->first_error[v->outcome])
			x->res->first_error[v->outcome] = xstrdup(v->error);
		rd->damaged += exec_verdict_fails(v->outcome);
	}
}

static void event_damage(struct exec_run *x, const struct round_facts *rd, const char *path,
			 const struct exec_verdict *v)
{
	char *evidence = xasprintf("touched/%s", exec_relative_path(x, path));

	(void)fprintf(x->events, "{\"t\": %.6f, \"type\": \"damage\", \"strategy\": \"exec\", "
				 "\"round\": %u, \"round_seed\": %" PRIu64 ", \"file\": ",
		      exec_elapsed_s(x), rd->number, rd->seed);
	json_put_string(x->events, exec_relative_path(x, path));
	(void)fprintf(x->events, ", \"outcome\": \"%s\", \"error\": ", outcome_name(v->outcome));
	json_put_string(x->events, v->error ? v->error : "");
	(void)fputs(", \"evidence\": ", x->events);
	json_put_string(x->events, evidence);
	(void)fputs("}\n", x->events);
	free(evidence);
}

void exec_run_round(struct exec_run *x, unsigned number, uint64_t seed, struct round_facts *rd,
		    volatile sig_atomic_t *interrupts)
{
	struct exec_round_plan plan = {
		.argv = x->o->cmd, .env = x->env, .copies = x->o->jobs, .seed = seed,
		.fault_env = x->fault_env, .library = x->inject_library,
		.fiu_preload = x->fiu_preload,
		.inject_dirs = x->inject_dirs, .inject_names = x->inject_names,
		.cache_root = x->cwd, .state_dir = x->state_dir, .output_dir = x->output_dir,
		.timeout_ns = x->o->timeout_ns ? x->o->timeout_ns
					       : (x->stress ? STRESS_TIMEOUT_NS : 0),
		.held_lock = exec_armed(x, &fault_held_lock), .scope = &x->scope,
		.on_fault = count_fault, .ctx = x,
	};
	size_t i;

	memset(rd, 0, sizeof(*rd));
	rd->number = number;
	rd->seed = seed;
	rd->copies = xcalloc(x->o->jobs, sizeof(*rd->copies));
	exec_snapshot_take(&x->scope, &rd->before);
	rd->start_error = exec_round(&plan, rd->copies, interrupts);
	exec_snapshot_take(&x->scope, &rd->after);
	if (rd->after.truncated)
		warn("exec: more than %s entries below the cache folders; only part was checked",
		     "400000");
	rd->touched = exec_snapshot_touched(&rd->before, &rd->after, &rd->ntouched);
	judge_copies(x, rd);
	check_damage(x, rd);
	for (i = 0; i < rd->npycs; i++)
		if (exec_verdict_fails(rd->verdicts[i].outcome))
			event_damage(x, rd, rd->pycs[i], &rd->verdicts[i]);
	(void)fflush(x->events);
	rd->failed = rd->copy_failed >= 0 || rd->damaged > 0;
	x->s.iterations = number;
}

void exec_release_round(struct exec_run *x, struct round_facts *rd)
{
	unsigned k;
	size_t i;

	for (k = 0; k < x->o->jobs; k++) {
		exec_copy_release(&rd->copies[k]);
		free(rd->error[k]);
	}
	for (i = 0; i < rd->npycs; i++)
		exec_verdict_free(&rd->verdicts[i]);
	free(rd->verdicts);
	free(rd->pycs);
	free(rd->touched);
	free(rd->copies);
	exec_snapshot_free(&rd->before);
	exec_snapshot_free(&rd->after);
	memset(rd, 0, sizeof(*rd));
}
