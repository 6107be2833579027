/*
 * What `pycstorm exec` keeps of a round and what it tells the user; see
 * exec-run.h. The kept round goes into the run folder: the fault logs, a
 * copy of every touched cache file, and for each damaged .pyc its source
 * beside the copy and the judges' reports in damage.txt. Every kept copy
 * ends in ".kept", so nothing run in the project imports or collects it.
 */
#include "exec-run.h"

#include "common.h"
#include "strbuf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Touched files copied into the run folder, at most. */
#define MAX_KEPT_FILES 10000
/* Fault lines and damaged files printed, at most; the rest are in the folder. */
#define MAX_PRINTED 10

/* ---- keeping a round's evidence ------------------------------------------------ */

/* X/__pycache__/NAME.TAG.pyc -> X/NAME.py, X/NAME.pyc -> X/NAME.py; malloc'd. */
static char *source_of(const char *pyc)
{
	const char *base = strrchr(pyc, '/') ? strrchr(pyc, '/') + 1 : pyc;
	size_t dir = (size_t)(base - pyc), name = strcspn(base, ".");
	const char *cache = "__pycache__/";
	size_t clen = strlen(cache);

	if (dir >= clen && !strncmp(base - clen, cache, clen))
		dir -= clen;
	return xasprintf("%.*s%.*s.py", (int)dir, pyc, (int)name, base);
}

static void keep_file(const struct exec_run *x, const char *path, size_t *kept)
{
	char *dest = xasprintf("%s/touched/%s" EXEC_KEPT_SUFFIX, x->run_dir_abs,
			       exec_relative_path(x, path));

	if (*kept < MAX_KEPT_FILES && exec_copy_file(path, dest) == 0)
		(*kept)++;
	free(dest);
}

static void keep_fault_logs(const struct exec_run *x, const struct round_facts *rd)
{
	char *dir = xasprintf("%s/faults", x->run_dir_abs), *path;
	unsigned k;

	if (mkdir_p(dir, 0755) < 0)
		warn("exec: cannot create '%s'", dir);
	for (k = 0; k < x->o->jobs; k++) {
		const struct exec_copy *c = &rd->copies[k];
		path = xasprintf("%s/exec-w%u.log", dir, k);
		if (write_file_atomic(path, c->fault_log ? c->fault_log : "", c->fault_log_len) < 0)
			warn("exec: cannot write '%s'", path);
		free(path);
	}
	free(dir);
}

/* The damaged files' judges' reports, each damaged .pyc's source beside
 * its copy (drop ".kept" from both and `python3 -c 'import NAME'` fails as
 * it did here), and the leftover temporary files' names. */
static void keep_damage(struct exec_run *x, const struct round_facts *rd, size_t *kept)
{
	char *path = xasprintf("%s/damage.txt", x->run_dir_abs), *text = NULL, *src;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	for (i = 0; i < rd->ntouched && f; i++) {
		const struct exec_judged *j = &rd->files[i];
		if (j->leftover)
			(void)fprintf(f, "file: %s\nclass: leftover_temp\nerror: a temporary file "
					 "the round left\n\n", j->path);
		if (!j->fails && !j->tolerated)
			continue;
		(void)fprintf(f, "%s%s%s%s\n", j->v.report ? j->v.report : "",
			      j->tolerated ? "tolerated: " : "", j->tolerated ? j->kind->tolerant : "",
			      j->tolerated ? "\n" : "");
		if (j->kind->how == EXEC_JUDGE_CLASSIFY) {
			src = source_of(j->path);
			if (access(src, R_OK) == 0)
				keep_file(x, src, kept);
			free(src);
		}
		if (j->fails && x->res->nevidence < SUMMARY_MAX_EVIDENCE)
			x->res->evidence[x->res->nevidence++] =
				xasprintf("touched/%s" EXEC_KEPT_SUFFIX, exec_relative_path(x, j->path));
	}
	if (f && fclose(f) == 0 && (rd->damaged || rd->tolerated || rd->leftovers) &&
	    write_file_atomic(path, text, len) < 0)
		warn("exec: cannot write '%s'", path);
	free(text);
	free(path);
}

/* Is a touched file worth a copy? In a failed round every one is: what
 * the round left is the evidence. In a clean round only those that are not
 * plainly fine: damaged, tolerated, left over, not judged. A clean round
 * of a big project would otherwise copy its whole cache every time. */
static int worth_keeping(const struct round_facts *rd, const struct exec_judged *f)
{
	return rd->failed || f->fails || f->tolerated || f->leftover || f->v.outcome != OUTCOME_OK;
}

/* The class of a touched file, as touched.txt gives it. */
static const char *file_class(const struct exec_judged *f)
{
	if (f->leftover)
		return outcome_name(OUTCOME_LEFTOVER_TEMP);
	if (f->v.cannot_judge)
		return "cannot_judge";
	if (f->v.outcome < 0)
		return "not_judged";
	return f->tolerated ? "tolerated" : outcome_name((enum outcome)f->v.outcome);
}

/* touched.txt: every file the round touched, its class and whether a copy
 * of it is under touched/, so a clean round that kept no copy still says
 * what it wrote. */
static void list_touched(const struct exec_run *x, const struct round_facts *rd)
{
	char *path = xasprintf("%s/touched.txt", x->run_dir_abs), *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	for (i = 0; i < rd->ntouched && f; i++)
		(void)fprintf(f, "%s\t%s\t%s\n", file_class(&rd->files[i]),
			      worth_keeping(rd, &rd->files[i]) ? "kept" : "-",
			      exec_relative_path(x, rd->files[i].path));
	if (f && fclose(f) == 0 && write_file_atomic(path, text, len) < 0)
		warn("exec: cannot write '%s'", path);
	free(text);
	free(path);
}

/* Keep what a round left: fault logs, the list of touched files and a copy
 * of those worth one, the damage report. (Its output is already in output/.) */
void exec_keep_round(struct exec_run *x, const struct round_facts *rd)
{
	size_t i, kept = 0, worth = 0;

	/* With no fault armed there is no fault line to keep. */
	if (x->nfaults)
		keep_fault_logs(x, rd);
	for (i = 0; i < rd->ntouched && rd->files; i++)
		if (worth_keeping(rd, &rd->files[i])) {
			worth++;
			keep_file(x, rd->files[i].path, &kept);
		}
	list_touched(x, rd);
	keep_damage(x, rd, &kept);
	if (worth > MAX_KEPT_FILES)
		warn("exec: kept copies of %d of the %zu touched files worth one", MAX_KEPT_FILES,
		     worth);
}

/* ---- telling the user --------------------------------------------------------- */

void exec_say(const struct exec_run *x, const char *fmt, ...)
{
	va_list ap;

	if (x->o->quiet)
		return;
	exec_end_line();
	va_start(ap, fmt);
	(void)fputs("pycstorm exec: ", stderr);
	(void)vfprintf(stderr, fmt, ap);
	(void)fputc('\n', stderr);
	va_end(ap);
}

char *exec_scope_text(const struct exec_run *x)
{
	char *dirs = strbuf_join((const char *const *)x->scope.dirs, x->scope.ndirs, ", ");
	char *names = x->scope.names ? strbuf_join(x->scope.names, x->scope.nnames, ", ") : NULL;
	char *text = xasprintf("%s below %s", names ? names : "every file", dirs);

	free(dirs);
	free(names);
	return text;
}

static void report_faults(const struct exec_run *x, const struct round_facts *rd)
{
	struct strbuf sb = STRBUF_INIT;
	char *counts, *line, *save = NULL, *copy;
	size_t i, printed = 0, total = 0;
	unsigned k;

	for (i = 0; i < x->res->nfaults; i++) {
		strbuf_addf(&sb, "%s%s %" PRIu64, i ? ", " : "", x->res->faults[i].point,
			    x->res->faults[i].count);
		total += x->res->faults[i].count;
	}
	counts = strbuf_detach(&sb);
	exec_say(x, "faults fired: %zu%s%s%s", total, total ? " (" : "", counts, total ? ")" : "");
	/* Even with -q: a pass under faults that never fired means nothing. */
	if (x->nfaults && !total) {
		char *scope = exec_scope_text(x);
		const struct fault_spec *held = exec_armed(x, &fault_held_lock);
		/* held-lock alone may well have reached the caches: say why it
		 * still did nothing, and what would. */
		if (x->nfaults == 1 && held)
			warn("exec: no armed fault fired: nothing the command did in %s met a held "
			     "file%s", scope, held->u.held_lock.share == SHARE_DELETE
			     ? " (with share=delete a new file's own rename goes through, as on "
			       "Windows; share=none refuses it)" : "");
		else if (rd->ntouched)
			warn("exec: no armed fault fired, though the command wrote %zu cache file%s "
			     "in %s: the faults' chances never came up (raise p=, or run more rounds)",
			     rd->ntouched, rd->ntouched == 1 ? "" : "s", scope);
		else
			warn("exec: no armed fault fired: nothing the command did reached %s", scope);
		free(scope);
	}
	for (k = 0; k < x->o->jobs; k++) {
		copy = rd->copies[k].fault_log ? xstrdup(rd->copies[k].fault_log) : NULL;
		for (line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save))
			if (printed++ < MAX_PRINTED)
				exec_say(x, "  %s", line);
		free(copy);
	}
	if (printed > MAX_PRINTED)
		exec_say(x, "  ... %zu more in %s/faults/", printed - MAX_PRINTED, x->run_dir);
	free(counts);
}

static void say_file(const struct exec_run *x, const struct exec_judged *f)
{
	const char *cls = f->leftover ? "leftover" : f->v.cannot_judge ? "cannot_judge"
						     : outcome_name(f->v.outcome);

	if (f->tolerated)
		exec_say(x, "  %-12s %s (%s): damaged, and %s: %s", cls, exec_relative_path(x, f->path),
			 f->kind->what, f->kind->tolerant, f->v.error ? f->v.error : "");
	else if (f->leftover)
		exec_say(x, "  %-12s %s", cls, exec_relative_path(x, f->path));
	else
		exec_say(x, "  %-12s %s (%s): %s", cls, exec_relative_path(x, f->path), f->kind->what,
			 f->v.error ? f->v.error : "");
}

/* Print up to MAX_PRINTED files that pass test. */
static void say_files(const struct exec_run *x, const struct round_facts *rd,
		      int (*test)(const struct exec_judged *), const char *where)
{
	size_t i, printed = 0;

	for (i = 0; i < rd->ntouched; i++)
		if (test(&rd->files[i]) && printed++ < MAX_PRINTED)
			say_file(x, &rd->files[i]);
	if (printed > MAX_PRINTED)
		exec_say(x, "  ... %zu more in %s/%s", printed - MAX_PRINTED, x->run_dir, where);
}

/* Other caches first: a program has few, and .pyc files many. */
static int is_damaged_other(const struct exec_judged *f)
{
	return f->fails && f->kind->how != EXEC_JUDGE_CLASSIFY;
}
static int is_damaged_pyc(const struct exec_judged *f)
{
	return f->fails && f->kind->how == EXEC_JUDGE_CLASSIFY;
}
static int is_tolerated(const struct exec_judged *f) { return f->tolerated; }
static int is_leftover(const struct exec_judged *f) { return f->leftover; }
static int is_unjudged(const struct exec_judged *f) { return f->v.cannot_judge; }

static size_t count_own_images(const struct round_facts *rd, int intact)
{
	size_t i, n = 0;

	for (i = 0; i < rd->ntouched; i++)
		n += (size_t)(rd->files[i].v.own_image && rd->files[i].v.intact == intact);
	return n;
}

static void report_damage(const struct exec_run *x, const struct round_facts *rd)
{
	size_t own = count_own_images(rd, 0), intact = count_own_images(rd, 1);

	exec_say(x, "touched %zu cache file%s; judged %zu .pyc and %zu other: %zu damaged, "
		    "%zu damaged but tolerated by their reader; %zu temporary file%s left; "
		    "%zu not judged", rd->ntouched, rd->ntouched == 1 ? "" : "s", rd->npycs, rd->nread,
		 rd->damaged, rd->tolerated, rd->leftovers, rd->leftovers == 1 ? "" : "s",
		 rd->unjudged + rd->cannot_judge);
	if (intact)
		exec_say(x, "%zu of the .pyc files are the very bytes their writer, %s, wrote in one "
			    "complete write, and fresh: header checked, body not read back "
			    "(--read-back reads it)", intact, x->python.path);
	if (own)
		exec_say(x, "%zu of the .pyc files are the very bytes their writer wrote in one "
			    "complete write: header and body checked, not compiled to compare", own);
	say_files(x, rd, is_damaged_other, "damage.txt");
	say_files(x, rd, is_damaged_pyc, "damage.txt");
	say_files(x, rd, is_tolerated, "damage.txt");
	say_files(x, rd, is_leftover, "damage.txt");
	if (rd->cannot_judge)
		warn("exec: %zu file%s could not be judged (no interpreter of the release that "
		     "reads them); pass the interpreter as the command, or install it",
		     rd->cannot_judge, rd->cannot_judge == 1 ? "" : "s");
	say_files(x, rd, is_unjudged, "damage.txt");
}

/* What a copy's non-zero exit means for the verdict. */
static const char *own_failure(const struct exec_run *x, const struct round_facts *rd, unsigned k)
{
	const struct exec_copy *c = &rd->copies[k];

	if (rd->outcome[k] == OUTCOME_INTERRUPTED || c->timed_out || WIFSIGNALED(c->status) ||
	    !WEXITSTATUS(c->status))
		return "";
	if (!x->o->ok_exit_given && exec_copy_fails(x, c, rd->outcome[k]))
		return " (it met a damaged cache: counted)";
	if (!x->o->ok_exit_given)
		return " (its own exit status: reported, not counted; --ok-exit counts it)";
	return exec_copy_fails(x, c, rd->outcome[k]) ? " (not in --ok-exit: counted)"
						     : " (accepted by --ok-exit)";
}

static void report_copies(const struct exec_run *x, const struct round_facts *rd)
{
	unsigned k;

	for (k = 0; k < x->o->jobs; k++) {
		const struct exec_copy *c = &rd->copies[k];
		char what[64];
		if (c->pid <= 0)
			continue;
		if (c->timed_out)
			(void)snprintf(what, sizeof(what), "was killed at the timeout");
		else if (WIFSIGNALED(c->status))
			(void)snprintf(what, sizeof(what), "was killed by signal %d",
				       WTERMSIG(c->status));
		else
			(void)snprintf(what, sizeof(what), "exited with status %d",
				       WEXITSTATUS(c->status));
		exec_say(x, "copy %u %s after %.2f s%s%s%s", k, what,
			 (double)(c->end_ns - c->start_ns) / 1e9, rd->error[k] ? ": " : "",
			 rd->error[k] ? rd->error[k] : "", own_failure(x, rd, k));
	}
}

/* What the kept round left in the run folder: "output/, touched/, ...". */
static char *kept_parts(const struct exec_run *x, const struct round_facts *rd)
{
	char *copies = xasprintf("%s/touched", x->run_dir_abs);
	struct strbuf sb = STRBUF_INIT;

	strbuf_add(&sb, "output/");
	if (x->nfaults)
		strbuf_add(&sb, ", faults/");
	if (access(copies, F_OK) == 0)
		strbuf_add(&sb, ", touched/");
	strbuf_add(&sb, ", touched.txt");
	if (x->written_dir)
		strbuf_add(&sb, ", written/");
	if (rd->damaged || rd->tolerated || rd->leftovers)
		strbuf_add(&sb, ", damage.txt");
	free(copies);
	return strbuf_detach(&sb);
}

/* "13 exit 0, 1 exit 1, 1 signal 9" */
static char *status_counts(const struct exec_run *x)
{
	struct strbuf s = STRBUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(x->exit_counts) / sizeof(x->exit_counts[0]); i++) {
		if (!x->exit_counts[i])
			continue;
		strbuf_addf(&s, "%s%" PRIu64, s.len ? ", " : "", x->exit_counts[i]);
		if (i < 256)
			strbuf_addf(&s, " exit %zu", i);
		else if (i < 256 + 65)
			strbuf_addf(&s, " signal %zu", i - 256);
		else
			strbuf_add(&s, " timeout");
	}
	return strbuf_detach(&s);
}

void exec_draw_progress(const struct exec_run *x, const struct round_facts *rd)
{
	if (x->progress)
		(void)fprintf(stderr, "\r\033[K[%6.1fs] round %u passed, %" PRIu64 " runs", exec_elapsed_s(x),
			      rd->number, x->runs);
}

/* Why a round failed, in a few words. */
static const char *why_failed(const struct round_facts *rd)
{
	if (rd->copy_failed >= 0)
		return rd->damaged ? "a copy failed, and it left damaged cache files"
				   : rd->leftovers ? "a copy failed, and it left temporary files"
						   : "a copy failed";
	return rd->damaged ? "no copy failed, but it left damaged cache files"
			   : "no copy failed, but it left temporary files";
}

void exec_report_stress(struct exec_run *x, const struct round_facts *rd)
{
	char *statuses = status_counts(x), *kept;

	if (x->progress)
		(void)fputs("\r\033[K", stderr);
	if (rd->interrupted)
		exec_say(x, "round %u (seed %" PRIu64 ") was interrupted", rd->number, rd->seed);
	else if (rd->failed)
		exec_say(x, "round %u (seed %" PRIu64 ") failed: %s", rd->number, rd->seed,
			 why_failed(rd));
	report_copies(x, rd);
	report_damage(x, rd);
	report_faults(x, rd);
	exec_say(x, "%u round%s, %" PRIu64 " failed; %" PRIu64 " run%s (%s), %" PRIu64
		    " failed, %" PRIu64 " interrupted; in %.1f s", rd->number,
		 rd->number == 1 ? "" : "s", x->failed_rounds, x->runs, x->runs == 1 ? "" : "s",
		 statuses, x->failed_runs, x->interrupted_runs, exec_elapsed_s(x));
	kept = kept_parts(x, rd);
	exec_say(x, "kept round %u in %s: %s", rd->number, x->run_dir, kept);
	free(kept);
	if (rd->failed && !rd->interrupted)
		exec_say(x, "replay: %s", x->s.replay);
	else if (!rd->interrupted)
		exec_say(x, "no round failed");
	free(statuses);
}

/* One round, the plain mode: what fired, what it left, how each copy ended. */
void exec_report_single(const struct exec_run *x, const struct round_facts *rd)
{
	report_faults(x, rd);
	report_damage(x, rd);
	report_copies(x, rd);
	exec_say(x, "verdict: %s", rd->interrupted ? "interrupted" : !rd->failed ? "clean"
				  : why_failed(rd));
	if (rd->interrupted)
		exec_say(x, "results in %s", x->run_dir);
	else
		exec_say(x, "results in %s; replay: %s", x->run_dir, x->s.replay);
}

void exec_end_line(void)
{
	if (exec_open_line)
		(void)write_all(exec_open_line, "\n", 1);
	exec_open_line = 0;
}
