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
#include "exec-intact.h"
#include "rollback.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

static uint64_t count_lines(const char *text, size_t len)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; text && i < len; i++)
		n += text[i] == '\n';
	return n;
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

/* How a copy ended, as an outcome class and one line of text. Its output
 * is always in output/, so the class never depends on where it went. */
static enum outcome copy_outcome(const struct exec_run *x, const struct round_facts *rd,
				 const struct exec_copy *c, char **text)
{
	char *path = xasprintf("%s/copy-%u.err", x->output_dir, c->index);
	char *out = xasprintf("%s/copy-%u.out", x->output_dir, c->index);
	char *exc = NULL;
	enum outcome o = OUTCOME_OK;

	*text = NULL;
	if (c->timed_out) {
		o = OUTCOME_WORKER_TIMEOUT;
		*text = xasprintf("killed after running longer than the timeout");
	} else if (rd->interrupted && (WIFSIGNALED(c->status) || WEXITSTATUS(c->status))) {
		/* Stopped by us: not the program's answer, nor a crash. */
		o = OUTCOME_INTERRUPTED;
		*text = xstrdup("stopped: exec was interrupted");
	} else if (c->cut) {
		o = OUTCOME_OK;   /* the cut is the fault; what it left is judged */
		*text = xstrdup("killed by the power cut");
	} else if (c->crash_injected && WIFSIGNALED(c->status) && WTERMSIG(c->status) == SIGKILL) {
		/* A run the crash fault ended, as in `run`: counted under
		 * faults_fired, the run itself a write like any other. */
		o = OUTCOME_OK;
		*text = xstrdup("killed by the crash fault");
	} else if (WIFSIGNALED(c->status)) {
		o = OUTCOME_WORKER_CRASH;
		*text = xasprintf("killed by signal %d (%s)", WTERMSIG(c->status),
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
 * killed on purpose does not: what it left in the cache is what counts;
 * nor one we stopped. A non-zero exit counts when the copy met a damaged
 * cache (its last exception is EOFError or bad marshal data); any other
 * only when --ok-exit was given and does not list it: mypy exits 1 for a
 * type error, which is the program's business. */
int exec_copy_fails(const struct exec_run *x, const struct exec_copy *c, int outcome)
{
	if (outcome == OUTCOME_OK || outcome == OUTCOME_INTERRUPTED)
		return 0;
	if (c->timed_out)
		return 1;
	if (WIFSIGNALED(c->status))
		return !(c->crash_injected && WTERMSIG(c->status) == SIGKILL);
	if (x->o->ok_exit_given)
		return !x->o->ok_exit[WEXITSTATUS(c->status)];
	return outcome_is_corrupt((enum outcome)outcome);
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
		o = copy_outcome(x, rd, c, &rd->error[k]);
		rd->outcome[k] = (int)o;
		x->res->workers_started++;
		if (o == OUTCOME_INTERRUPTED) {
			/* Not a run of the program: out of every rate. */
			x->interrupted_runs++;
			event_copy(x, rd, c, o, rd->error[k]);
			continue;
		}
		x->res->counts[OP_COMPILE][o]++;
		hist_add(&x->res->latency[OP_COMPILE], c->end_ns - c->start_ns);
		x->runs++;
		x->exit_counts[status_slot(c)]++;
		if (o != OUTCOME_OK && !x->res->first_error[o] && rd->error[k])
			x->res->first_error[o] = xstrdup(rd->error[k]);
		if (exec_copy_fails(x, c, (int)o)) {
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

/* Where the inject library records the copies' complete write streams
 * (written.h): the run folder's written/, when the library is preloaded. */
static const char *written_dir(const struct exec_run *x)
{
	return x->written_dir;
}

/* A round's judge reads only its own round's records; the kept round's
 * stay in the run folder. */
static void forget_written(const struct exec_run *x)
{
	DIR *d = written_dir(x) ? opendir(x->written_dir) : NULL;
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL)
		if (exec_streams_file(e->d_name))
			(void)unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		(void)closedir(d);
}

/* Does the intact check (exec-intact.h) apply, and for which writer? Not
 * when --read-back asks the judge for every file, nor when the
 * interpreter that ran is not known, nor without the records. */
static int intact_writer(const struct exec_run *x, struct exec_writer *w)
{
	w->magic = x->python.magic;
	w->cache_tag = x->python.cache_tag;
	w->version = x->python.version;
	return !x->o->read_back && x->python.path && x->python.cache_tag && written_dir(x);
}

/* The .pyc files the intact check settles get their verdict here: from
 * the check made while the round ran when the file is still the one it
 * saw (exec-precheck.h), else from a check now. */
static void settle_intact(const struct exec_run *x, struct round_facts *rd)
{
	struct exec_writer w;
	struct exec_streams streams = { 0 };
	struct exec_buffer buf = { 0 };
	int loaded = 0;
	size_t i;

	if (!intact_writer(x, &w))
		return;
	for (i = 0; i < rd->ntouched; i++) {
		struct exec_judged *f = &rd->files[i];
		if (f->kind->how != EXEC_JUDGE_CLASSIFY ||
		    exec_precheck_take(&rd->precheck, rd->touched[i], &f->v))
			continue;
		if (!loaded)
			exec_streams_load(written_dir(x), &streams);
		loaded = 1;
		(void)exec_intact_pyc(&streams, &w, f->path, &buf, &f->v);
	}
	free(buf.data);
	exec_streams_free(&streams);
}

/* Start the judge when none runs (it stays for the rounds after), and say
 * so in events.jsonl: which interpreter, which process. */
static void start_judge(struct exec_run *x)
{
	if (x->judge.pid > 0 ||
	    exec_prejudge_start(&x->judge, x->python.path, x->python.release) < 0)
		return;
	(void)fprintf(x->events, "{\"t\": %.6f, \"type\": \"judge\", \"pid\": %ld, \"python\": ",
		      exec_elapsed_s(x), (long)x->judge.pid);
	json_put_string(x->events, x->python.path);
	(void)fputs("}\n", x->events);
}

/* Should the judge start with the round? When faults are armed (a file
 * then often needs it, and its start overlaps the run) or every file is
 * to be read back; else only once a file needs it, after the round. */
static int judge_early(const struct exec_run *x)
{
	return x->nfaults > 0 || x->o->read_back;
}

/* Judge every touched file by its kind (exec-kinds.c): .pyc files by the
 * classifier, the other caches by their reader's judge, both with the
 * interpreter that ran; a temporary file the round created is a leftover.
 * Each judged file is one import cycle in the summary; a damaged file
 * whose reader copes counts as stale (the reader rebuilds it). */
static void judge_files(struct exec_run *x, struct round_facts *rd)
{
	const char **pycs = xcalloc(rd->ntouched + 1, sizeof(char *));
	const char **paths = xcalloc(rd->ntouched + 1, sizeof(char *));
	const char **kinds = xcalloc(rd->ntouched + 1, sizeof(char *));
	struct exec_verdict *pv = xcalloc(rd->ntouched + 1, sizeof(*pv));
	struct exec_verdict *rv = xcalloc(rd->ntouched + 1, sizeof(*rv));
	const char *reader_python = x->python.path ? x->python.path : "python3";
	size_t i, np = 0, nr = 0;
	char err[512];

	rd->files = xcalloc(rd->ntouched + 1, sizeof(*rd->files));
	for (i = 0; i < rd->ntouched; i++) {
		struct exec_judged *f = &rd->files[i];
		f->path = rd->touched[i]->path;
		f->kind = exec_kind_of(f->path);
		f->is_new = !exec_snapshot_has(&rd->before, f->path);
		f->v.outcome = -1;
	}
	settle_intact(x, rd);
	for (i = 0; i < rd->ntouched; i++) {
		struct exec_judged *f = &rd->files[i];
		if (f->kind->how == EXEC_JUDGE_CLASSIFY && !f->v.intact)
			pycs[np++] = f->path;
		if (f->kind->how == EXEC_JUDGE_READER) {
			kinds[nr] = f->kind->name;
			paths[nr++] = f->path;
		}
	}
	/* Other releases' files go to classify, which runs their own readers;
	 * a judge already running needs no look at the files. */
	if (x->judge.pid <= 0 && exec_any_of_release(pycs, np, x->python.release))
		start_judge(x);
	if (np && exec_check_pycs(&x->judge, x->python.path, written_dir(x), pycs, np, pv, err,
				  sizeof(err)) < 0)
		warn("exec: %s; the damage check is incomplete", err);
	if (nr && exec_check_readers(reader_python, x->cwd, kinds, paths, nr, rv, err,
				     sizeof(err)) < 0)
		warn("exec: %s; the damage check is incomplete", err);
	rd->nread = nr;
	for (i = 0, np = 0, nr = 0; i < rd->ntouched; i++) {
		struct exec_judged *f = &rd->files[i];
		int o;
		rd->npycs += f->kind->how == EXEC_JUDGE_CLASSIFY;
		if (f->kind->how == EXEC_JUDGE_CLASSIFY && !f->v.intact)
			f->v = pv[np++];
		else if (f->kind->how == EXEC_JUDGE_READER)
			f->v = rv[nr++];
		f->leftover = f->kind->how == EXEC_JUDGE_TEMP && f->is_new;
		rd->leftovers += (size_t)f->leftover;
		if (f->leftover)
			x->res->counts[OP_WRITE][OUTCOME_LEFTOVER_TEMP]++;
		rd->unjudged += f->kind->how == EXEC_JUDGE_NONE;
		rd->cannot_judge += (size_t)f->v.cannot_judge;
		o = f->v.outcome;
		if (o < 0)
			continue;   /* gone, unreadable or unjudgeable by the time we looked */
		f->fails = exec_verdict_fails(o) && !f->kind->tolerant;
		f->tolerated = exec_verdict_fails(o) && f->kind->tolerant;
		x->res->counts[OP_IMPORT][f->tolerated ? OUTCOME_STALE : o]++;
		if (f->fails && f->v.error && !x->res->first_error[o])
			x->res->first_error[o] = xstrdup(f->v.error);
		rd->damaged += (size_t)f->fails;
		rd->tolerated += (size_t)f->tolerated;
	}
	free(pycs);
	free(paths);
	free(kinds);
	free(pv);
	free(rv);
}

/* A damaged file or a leftover temporary one. */
static void event_damage(struct exec_run *x, const struct round_facts *rd,
			 const struct exec_judged *f)
{
	const char *path = f->path;
	const struct exec_verdict *v = &f->v;
	char *evidence = xasprintf("touched/%s" EXEC_KEPT_SUFFIX, exec_relative_path(x, path));
	int o = f->leftover ? OUTCOME_LEFTOVER_TEMP : v->outcome;

	(void)fprintf(x->events, "{\"t\": %.6f, \"type\": \"damage\", \"strategy\": \"exec\", "
				 "\"round\": %u, \"round_seed\": %" PRIu64 ", \"file\": ",
		      exec_elapsed_s(x), rd->number, rd->seed);
	json_put_string(x->events, exec_relative_path(x, path));
	(void)fprintf(x->events, ", \"outcome\": \"%s\", \"error\": ", outcome_name(o));
	json_put_string(x->events, f->leftover ? "a temporary file the round left" :
				   v->error ? v->error : "");
	(void)fputs(", \"evidence\": ", x->events);
	json_put_string(x->events, evidence);
	(void)fputs("}\n", x->events);
	free(evidence);
}

/* The power goes: every copy was killed at the cut (or had ended before
 * it), and the cache is rolled to a state a real filesystem may be in
 * afterwards, from the journal the inject library kept (rollback.h). */
static void cut_power(struct exec_run *x, struct round_facts *rd, const struct fault_spec *power)
{
	struct rollback_plan p = {
		.cache_root = x->cwd, .state_dir = x->state_dir, .scope = "",
		.model = power->u.power_cut.model, .sector = power->u.power_cut.sector,
		.persist = power->u.power_cut.persist,
		.seed = derive_seed(rd->seed, 0x726f6c6cull /* "roll" */, 0, 0),
		.keep_meta = -1, .data = DATA_RANDOM,
	};
	struct rollback_report rep = { 0 };
	struct journal j;

	if (rollback_load(x->state_dir, &j) < 0)
		memset(&j, 0, sizeof(j));
	(void)rollback_apply(&p, &j, &rep);
	rollback_free(&j);
	rollback_clear(x->state_dir);
	rd->cut = 1;
	rd->faults_fired++;
	(void)summary_count_fault(x->res, "pycstorm/power/cut", 1);
	(void)fprintf(x->events, "{\"t\": %.6f, \"type\": \"power-cut\", \"round\": %u, "
				 "\"model\": \"%s\", \"metadata_pending\": %u, \"metadata_undone\": %u, "
				 "\"sectors_lost\": %u, \"files_cut\": %u}\n",
		      exec_elapsed_s(x), rd->number, crash_model_name(p.model), rep.meta_pending,
		      rep.meta_undone, rep.sectors_lost, rep.files_cut);
	exec_say(x, "power cut: %u metadata operations pending, %u undone; %u sectors lost, "
		    "%u files cut back (%s)", rep.meta_pending, rep.meta_undone, rep.sectors_lost,
		 rep.files_cut, crash_model_name(p.model));
}

void exec_rerun_after_cut(struct exec_run *x, struct round_facts *rd,
			  volatile sig_atomic_t *interrupts)
{
	struct exec_round_plan plan = {
		.argv = x->o->cmd, .env = x->env, .copies = 1, .first_index = x->o->jobs,
		.seed = rd->seed,
		.cache_root = x->cwd, .state_dir = x->state_dir, .output_dir = x->output_dir,
		.timeout_ns = x->o->timeout_ns ? x->o->timeout_ns : STRESS_TIMEOUT_NS,
		.tee = !x->stress, .scope = &x->scope,
	};
	struct exec_copy *c = &rd->rerun;
	enum outcome o;

	if (!rd->cut || rd->interrupted)
		return;
	exec_say(x, "after the cut: running the command once more, without faults");
	if (exec_round(&plan, c, interrupts) < 0 || *interrupts) {
		rd->interrupted = *interrupts > 0;
		return;
	}
	/* Its output is output/copy-J.out and .err, J the number of copies. */
	o = copy_outcome(x, rd, c, &rd->rerun_error);
	rd->rerun_outcome = (int)o;
	x->res->counts[OP_COMPILE][o]++;
	x->runs++;
	x->exit_counts[status_slot(c)]++;
	if (exec_copy_fails(x, c, (int)o)) {
		x->failed_runs++;
		if (!rd->failed)
			x->failed_rounds++;
		rd->failed = 1;
	}
	exec_say(x, "after the cut the command %s%s%s", o == OUTCOME_OK ? "ran cleanly" : "failed",
		 rd->rerun_error ? ": " : "", rd->rerun_error ? rd->rerun_error : "");
}

void exec_run_round(struct exec_run *x, unsigned number, uint64_t seed, struct round_facts *rd,
		    volatile sig_atomic_t *interrupts)
{
	struct exec_round_plan plan = {
		.argv = x->o->cmd, .env = x->env, .copies = x->o->jobs, .seed = seed,
		.fault_env = x->fault_env, .library = x->inject_library,
		.written_dir = written_dir(x), .fiu_preload = x->fiu_preload,
		.inject_dirs = x->inject_dirs, .inject_names = x->inject_names,
		.cache_root = x->cwd, .state_dir = x->state_dir, .output_dir = x->output_dir,
		.tee = !x->stress,
		.timeout_ns = x->o->timeout_ns ? x->o->timeout_ns
					       : (x->stress ? STRESS_TIMEOUT_NS : 0),
		.held_lock = exec_armed(x, &fault_held_lock), .scope = &x->scope,
		.on_fault = count_fault, .ctx = x,
	};
	struct exec_writer writer;
	size_t i;

	const struct fault_spec *power = exec_armed(x, &fault_power_cut);
	struct rng rng;

	memset(rd, 0, sizeof(*rd));
	rd->number = number;
	rd->seed = seed;
	rd->rerun_outcome = -1;
	rd->rerun.fd = rd->rerun.tee_fd[0] = rd->rerun.tee_fd[1] = -1;
	rd->rerun.file_fd[0] = rd->rerun.file_fd[1] = -1;
	if (power) {
		rng_init(&rng, derive_seed(seed, 0x637574ull /* "cut" */, 0, 0));
		plan.cut_after_ns = rng_range(&rng, power->u.power_cut.at.lo,
					      power->u.power_cut.at.hi);
		plan.cut_after_ns += !plan.cut_after_ns;
	}
	rd->copies = xcalloc(x->o->jobs, sizeof(*rd->copies));
	forget_written(x);
	/* With a fault armed the judge's interpreter starts while the first
	 * round's program runs, not after; with none, only when a file needs
	 * it. Either way it stays for the rounds after. */
	if (judge_early(x))
		start_judge(x);
	if (intact_writer(x, &writer)) {
		exec_precheck_start(&rd->precheck, written_dir(x), &writer);
		plan.on_turn = exec_precheck_turn;
		plan.turn_ctx = &rd->precheck;
	}
	exec_snapshot_take(&x->scope, &rd->before);
	rd->start_error = exec_round(&plan, rd->copies, interrupts);
	rd->interrupted = *interrupts > 0;
	if (power && rd->start_error == 0 && !rd->interrupted)
		cut_power(x, rd, power);
	for (i = 0; i < x->o->jobs; i++)
		rd->faults_fired += count_lines(rd->copies[i].fault_log, rd->copies[i].fault_log_len);
	exec_snapshot_take(&x->scope, &rd->after);
	if (rd->after.truncated)
		warn("exec: more than %s entries below the cache folders; only part was checked",
		     "400000");
	rd->touched = exec_snapshot_touched(&rd->before, &rd->after, &rd->ntouched);
	judge_copies(x, rd);
	judge_files(x, rd);
	for (i = 0; i < rd->ntouched; i++)
		if (rd->files[i].fails || rd->files[i].leftover)
			event_damage(x, rd, &rd->files[i]);
	(void)fflush(x->events);
	rd->failed = rd->copy_failed >= 0 || rd->damaged > 0 || rd->leftovers > 0;
	x->failed_rounds += (uint64_t)rd->failed;
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
	for (i = 0; i < rd->ntouched && rd->files; i++)
		exec_verdict_free(&rd->files[i].v);
	exec_copy_release(&rd->rerun);
	free(rd->rerun_error);
	free(rd->files);
	free(rd->touched);
	free(rd->copies);
	exec_snapshot_free(&rd->before);
	exec_snapshot_free(&rd->after);
	exec_precheck_free(&rd->precheck);
	memset(rd, 0, sizeof(*rd));
}
