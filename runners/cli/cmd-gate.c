/*
 * pycstorm gate --baseline FILE [--tolerance T] [run options]: what a
 * distro's CI calls to gate a Python update. It runs `pycstorm run` with the
 * given options as a child (so the gate itself never hosts workers),
 * compares the run with the stored baseline, and writes gate.md (the
 * comparison) and gate.xml (JUnit: one testcase per strategy, failing where
 * it regressed) into the run folder.
 *
 * Exit status: 0 no regression, 1 a regression, 2 bad input (options, the
 * baseline), 77 the run could not be made, 99 internal error, 130
 * interrupted.
 */
#include "cli.h"

#include "common.h"
#include "format.h"
#include "markup.h"
#include "matrix.h"
#include "proc.h"
#include "pythons.h"
#include "race-check.h"
#include "scenario.h"
#include "rundir.h"
#include "strbuf.h"
#include "summary.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char gate_usage[] =
	"usage: pycstorm gate --python NEW (--against OLD | --baseline DIR|matrix.json)\n"
	"                     [--races SCENARIOS | --no-races] [--no-matrix] [--race-duration D]\n"
	"                     [--tolerance RATE] [-o DIR] [STRATEGY...]\n"
	"       pycstorm gate --baseline summary.json [--tolerance RATE] [-o DIR] [run options...]\n\n"
	"The first form gates on the fault matrix of each STRATEGY (default: native),\n"
	"exact cell by cell: a cell that turns corrupt or leaves a temporary file is a\n"
	"regression, one that gets better a fix, safe -> stale a note. Then the race\n"
	"scenarios (default gh126606,enospc,mypy3215,upgrade) run with their faults, NEW\n"
	"and OLD side by side (--no-matrix: the races alone); each strategy's corrupt rate\n"
	"is compared by the Newcombe interval on effective counts (divided by the run's\n"
	"design effect, measured from its blocks: cycles of a race come in bursts; the\n"
	"larger of the two when both corrupt), all race checks sharing a 5% false-alarm\n"
	"chance (Bonferroni); an upgrade scenario\n"
	"(pythons = upgrade) runs NEW compiling and OLD importing on one shared cache,\n"
	"compared with OLD alone, and only with --against and one cache tag. --baseline DIR holds a\n"
	"matrix.json and race-SCENARIO.json summaries. Writes DIR/gate.md, gate.xml and\n"
	"gate.json. The second form runs one 'pycstorm run' and compares it with a\n"
	"stored summary.json. Exit 0 no regression, 1 regression, 2 bad input or\n"
	"nothing compared, 77 cannot run, 130 interrupted.\n";

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* Wait for the run. It dies with us, so we must outlast it: a Ctrl-C
 * reaches it from the terminal as it reaches us, and a SIGTERM sent to us
 * is passed on (looked for every 20 ms: a blocking wait could miss one
 * that came just before it). Either way the run writes what it counted
 * and exits 130, which we pass on. -1 and errno when the wait fails. */
static int wait_run(pid_t pid, int *status)
{
	int forwarded = 0;
	pid_t got;

	while ((got = waitpid(pid, status, WNOHANG)) == 0 || (got < 0 && errno == EINTR)) {
		if (stop_signal == SIGTERM && !forwarded)
			forwarded = proc_signal(pid, SIGTERM) == 0;
		sleep_ns(20000000);
	}
	return got < 0 ? -1 : 0;
}

/* Run `pycstorm run` as a child; its exit status. */
static int run_child(int argc, char **argv, const char *out)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char **args = xcalloc((size_t)argc + 6, sizeof(char *));
	struct sigaction sa = { .sa_handler = on_stop }, old_int, old_term;
	int i, k = 0, status = -1, rc;
	char why[256];
	pid_t pid;

	self[n > 0 ? n : 0] = '\0';
	args[k++] = self;
	args[k++] = "run";
	for (i = 0; i < argc; i++)
		args[k++] = argv[i];
	args[k++] = "-o";
	args[k++] = (char *)out;
	args[k++] = "-q";
	args[k] = NULL;
	/* Caught from before the fork, so no signal finds us unprepared. */
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, &old_int);
	(void)sigaction(SIGTERM, &sa, &old_term);
	pid = proc_fork();
	if (pid == 0) {
		proc_unblock();
		execv(self, args);
		_exit(EXIT_INTERNAL);
	}
	if (pid < 0)
		die(EXIT_SKIP, "gate: cannot start the run: %s",
		    proc_start_error(errno, why, sizeof(why)));
	rc = wait_run(pid, &status);
	(void)sigaction(SIGINT, &old_int, NULL);
	(void)sigaction(SIGTERM, &old_term, NULL);
	if (rc < 0)
		die(EXIT_INTERNAL, "gate: cannot wait for the run: %s", strerror(errno));
	free(args);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* gate.xml: each strategy a testcase, failing when it regressed. */
static int write_junit(const char *path, const struct summary *base, const struct summary *cand,
		       double tolerance)
{
	FILE *f = fopen(path, "we");
	struct summary one_base = *base, one_cand = *cand;
	FILE *sink = fopen("/dev/null", "we");
	size_t i;
	int failures = 0, bad;

	if (!f || !sink) {
		if (f)
			(void)fclose(f);
		if (sink)
			(void)fclose(sink);
		return -1;
	}
	(void)fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"pycstorm gate\">\n"
			 "  <testsuite name=\"pycstorm.gate.");
	xml_put_text(f, cand->scenario ? cand->scenario : "?");
	(void)fprintf(f, "\" tests=\"%zu\">\n", cand->nresults);
	for (i = 0; i < cand->nresults; i++) {
		one_cand.results = &cand->results[i];
		one_cand.nresults = 1;
		bad = compare_summaries(sink, "", &one_base, "", &one_cand, tolerance) > 0;
		failures += bad;
		(void)fputs("    <testcase classname=\"pycstorm.gate\" name=\"", f);
		xml_put_text(f, cand->results[i].strategy);
		(void)fputs(bad ? "\"><failure message=\"regressed against the baseline (see gate.md)\"/>"
				  "</testcase>\n" : "\"/>\n", f);
	}
	(void)fprintf(f, "  </testsuite>\n</testsuites>\n");
	(void)fclose(sink);
	return fclose(f) == 0 ? failures : -1;
}

/* ---- the matrix gate ------------------------------------------------------ */

#define GATE_RACES_DEFAULT "gh126606,enospc,mypy3215,upgrade"
#define GATE_MAX_RACES 8

/* What the matrix gate found, cell by cell and race by race. */
struct gate_result {
	FILE *md, *xml_cases, *json_items;
	size_t compared, regressions, fixes, notes, races_compared, race_regressions, findings;
	size_t not_compared;      /* cells of the new matrix the old one does not have */
	size_t junit_cases, junit_failures;
	int first_item;
	struct race_checks races;       /* judged together once all have run */
};

static void gate_json_item(struct gate_result *g, const char *kind, const struct matrix *m,
			   const struct matrix_cell *old, const struct matrix_cell *cell,
			   const char *what)
{
	(void)fprintf(g->json_items, "%s\n    {\"kind\": \"%s\", \"strategy\": ",
		      g->first_item ? "" : ",", kind);
	g->first_item = 0;
	json_put_string(g->json_items, m->strategy);
	(void)fprintf(g->json_items, ", \"call\": %u, \"op\": ", cell->call);
	json_put_string(g->json_items, cell->op);
	(void)fputs(", \"fault\": ", g->json_items);
	json_put_string(g->json_items, cell->fault);
	(void)fputs(", \"was\": ", g->json_items);
	json_put_string(g->json_items, old->import);
	(void)fputs(", \"now\": ", g->json_items);
	json_put_string(g->json_items, cell->import);
	(void)fputs(", \"what\": ", g->json_items);
	json_put_string(g->json_items, what);
	(void)fputs("}", g->json_items);
}

static void gate_junit_case(struct gate_result *g, const char *classname, const char *name,
			    const char *failure)
{
	(void)fputs("    <testcase classname=\"", g->xml_cases);
	xml_put_text(g->xml_cases, classname);
	(void)fputs("\" name=\"", g->xml_cases);
	xml_put_text(g->xml_cases, name);
	if (failure) {
		(void)fputs("\"><failure message=\"", g->xml_cases);
		xml_put_text(g->xml_cases, failure);
		(void)fputs("\"/></testcase>\n", g->xml_cases);
		g->junit_failures++;
	} else {
		(void)fputs("\"/>\n", g->xml_cases);
	}
	g->junit_cases++;
}

/* One write path, new against old, cell by cell. */
static void gate_compare_matrix(struct gate_result *g, const struct matrix *old,
				const struct matrix *new)
{
	const struct matrix_cell *o, *c;
	char *classname = xasprintf("pycstorm.gate.matrix.%s", new->strategy), *name, *why;
	struct matrix_cut_counts old_cuts;
	size_t k, cuts_unmatched = 0;

	(void)fprintf(g->md, "\n### Matrix: %s, %s %s against %s %s\n\n", new->strategy, new->python,
		      new->version, old->python, old->version);
	matrix_cut_counts(old, &old_cuts);
	for (k = 0; k < new->ncells; k++) {
		c = &new->cells[k];
		o = matrix_find(old, c);
		name = xasprintf("call %u %s / %s", c->call, c->op, c->fault);
		why = NULL;
		if (!o) {
			g->not_compared++;
			/* a baseline from before power cuts were cells: one line for them all */
			if (matrix_is_power_cut(c) && !old_cuts.cells)
				cuts_unmatched++;
			else
				(void)fprintf(g->md, "- not compared (only in the new trace): %s\n", name);
			free(name);
			continue;
		}
		g->compared++;
		if (c->verdict == VERDICT_CORRUPT && o->verdict != VERDICT_CORRUPT) {
			why = xasprintf("regression: %s -> %s (next import %s -> %s)",
					matrix_verdict_name(o->verdict), matrix_verdict_name(c->verdict),
					o->import, c->import);
			g->regressions++;
			gate_json_item(g, "regression", new, o, c, why);
		} else if (c->leftover && !o->leftover) {
			why = xasprintf("regression: leftover temporary file (%u, was none)", c->leftover);
			g->regressions++;
			gate_json_item(g, "regression", new, o, c, why);
		} else if (c->verdict < o->verdict || (!c->leftover && o->leftover)) {
			char *fix = xasprintf("fix: %s -> %s%s", matrix_verdict_name(o->verdict),
					      matrix_verdict_name(c->verdict),
					      !c->leftover && o->leftover ? ", no leftover temporary file" : "");
			(void)fprintf(g->md, "- **%s**: %s\n", name, fix);
			gate_json_item(g, "fix", new, o, c, fix);
			g->fixes++;
			free(fix);
		} else if (c->verdict > o->verdict) {
			(void)fprintf(g->md, "- note: %s: %s -> %s\n", name, matrix_verdict_name(o->verdict),
				      matrix_verdict_name(c->verdict));
			gate_json_item(g, "note", new, o, c, "safe -> stale");
			g->notes++;
		}
		if (why) {
			(void)fprintf(g->md, "- **REGRESSION** %s: %s\n", name, why);
			(void)printf("gate: regression in %s: call %u (%s), fault %s: %s\n", new->strategy,
				     c->call, c->op, c->fault, why);
		}
		gate_junit_case(g, classname, name, why);
		free(why);
		free(name);
	}
	if (cuts_unmatched) {
		(void)fprintf(g->md, "- note: %zu power-cut cells not compared: %s %s has none (a "
			      "matrix made before power cuts were cells)\n", cuts_unmatched, old->python,
			      old->version);
		(void)printf("gate: note: %s: %zu power-cut cells not compared (the baseline has none)\n",
			     new->strategy, cuts_unmatched);
	}
	free(classname);
}

/* Start `pycstorm run ARGS -o out -q` as a child; its pid. */
static pid_t gate_start_run(const char *const *args, size_t nargs, const char *out)
{
	char self[PATH_MAX], why[256];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char **argv = xcalloc(nargs + 6, sizeof(char *));
	size_t i, k = 0;
	pid_t pid;

	self[n > 0 ? n : 0] = '\0';
	argv[k++] = self;
	argv[k++] = "run";
	for (i = 0; i < nargs; i++)
		argv[k++] = (char *)args[i];
	argv[k++] = "-o";
	argv[k++] = (char *)out;
	argv[k++] = "-q";
	pid = proc_fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		(void)dup2(devnull, 1);
		proc_unblock();
		execv(self, argv);
		_exit(EXIT_INTERNAL);
	}
	if (pid < 0)
		die(EXIT_SKIP, "gate: cannot start a race run: %s",
		    proc_start_error(errno, why, sizeof(why)));
	free(argv);
	return pid;
}

/* The strategies of the gate that scenario runs, ','-joined, or NULL. */
static char *gate_race_strategies(const char *scenario, const char *const *strategies, size_t n)
{
	char err[512], *path = cli_find_scenario(scenario, err, sizeof(err)), *text = NULL, *line;
	struct strbuf sb = STRBUF_INIT;
	size_t len, i;

	if (!path)
		die(EXIT_USAGE, "gate: --races: %s", err);
	if (read_file(path, &text, &len) < 0)
		die(EXIT_USAGE, "gate: cannot read the scenario '%s'", path);
	line = strstr(text, "\nstrategies =");
	for (i = 0; line && i < n; i++) {
		const char *hit = strstr(line, strategies[i]);
		size_t sl = strlen(strategies[i]), eol = strcspn(line + 1, "\n") + 1;
		if (hit && hit < line + eol && (hit[sl] == ',' || hit[sl] == '\n' || hit[sl] == ' '))
			strbuf_addf(&sb, "%s%s", sb.len ? "," : "", strategies[i]);
	}
	free(text);
	free(path);
	if (!sb.len) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}

static const struct strategy_result *race_result(const struct summary *s, const char *strategy)
{
	size_t i;

	for (i = 0; i < s->nresults; i++)
		if (!strcmp(s->results[i].strategy, strategy))
			return &s->results[i];
	return NULL;
}

/* Does the scenario share one cache between interpreters (pythons =
 * shared or upgrade)? */
static int gate_race_shared(const char *scenario)
{
	char err[1024], *path = cli_find_scenario(scenario, err, sizeof(err));
	struct scenario sc;
	int shared;

	if (!path)
		die(EXIT_USAGE, "gate: --races: %s", err);
	if (scenario_load(path, &sc, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "gate: %s", err);
	shared = sc.pythons_mode != SCENARIO_PYTHONS_SEPARATE;
	scenario_free(&sc);
	free(path);
	return shared;
}

/* Why NEW and OLD cannot share one cache (a missing OLD, differing cache
 * tags), or NULL when they can. Malloc'd. */
static char *gate_cannot_share(const char *new_py, const char *old_py)
{
	struct python n, o;
	char *why = NULL;

	if (!old_py)
		return xstrdup("it needs two interpreters (--against OLD), not a stored baseline");
	if (pythons_probe(new_py, &n) < 0)
		return xasprintf("cannot read the cache tag of %s", new_py);
	if (pythons_probe(old_py, &o) < 0)
		why = xasprintf("cannot read the cache tag of %s", old_py);
	else if (strcmp(n.cache_tag, o.cache_tag) != 0)
		why = xasprintf("the cache tags differ (%s, %s): nothing is shared", n.cache_tag,
				o.cache_tag);
	if (!why) {
		free(o.path);
		free(o.version);
		free(o.release);
		free(o.cache_tag);
	}
	free(n.path);
	free(n.version);
	free(n.release);
	free(n.cache_tag);
	return why;
}

/* A race check of one strategy: both sides measured (counts from the
 * summaries, bursts from the runs' events), judged once all have run. */
static void gate_race_measure(struct gate_result *g, const char *scenario,
			      const struct summary *base, const struct strategy_result *old_r,
			      const char *old_out, const struct summary *cand,
			      const struct strategy_result *new_r, const char *new_out)
{
	char *old_events = old_out ? xasprintf("%s/events.jsonl", old_out) : NULL;
	char *new_events = xasprintf("%s/events.jsonl", new_out), err[1024];
	struct race_side old_side, new_side;

	if (race_side_measure(&old_side, base, old_r, old_events, err, sizeof(err)) < 0 ||
	    race_side_measure(&new_side, cand, new_r, new_events, err, sizeof(err)) < 0)
		die(EXIT_INTERNAL, "gate: the race run's own events: %s", err);
	race_checks_add(&g->races, scenario, new_r->strategy, &old_side, &new_side);
	free(old_events);
	free(new_events);
}

/* Judge the race checks together (their level is shared out over all of
 * them) and put them in gate.md, gate.xml and on stdout. */
static void gate_judge_races(struct gate_result *g, double tolerance)
{
	const struct race_check *c;
	char *name;
	size_t i;

	g->races_compared = g->races.n;
	g->race_regressions = race_checks_judge(&g->races, RACE_CHECK_ALPHA, tolerance);
	if (!g->races.n)
		return;
	race_checks_md(g->md, &g->races);
	for (i = 0; i < g->races.n; i++) {
		c = &g->races.c[i];
		name = xasprintf("%s / %s", c->scenario, c->strategy);
		if (c->regressed)
			(void)printf("gate: race regression: %s: corrupt %" PRIu64 "/%" PRIu64 " -> %"
				     PRIu64 "/%" PRIu64 ", corrected interval of the difference "
				     "[%+.3g, %+.3g]\n", name, c->old_side.corrupt, c->old_side.reads,
				     c->new_side.corrupt, c->new_side.reads, c->lo, c->hi);
		gate_junit_case(g, "pycstorm.gate.race", name,
				c->regressed ? "the corrupt rate grew beyond chance and bursts (see gate.md)"
					     : NULL);
		free(name);
	}
}

/* One race scenario: NEW (and OLD, at the same time) run with its faults;
 * compared with OLD's run or the stored race-SCENARIO.json. A shared
 * scenario (upgrade) runs NEW and OLD together on one cache, NEW first
 * (it compiles), compared with OLD run alone. */
static void gate_race(struct gate_result *g, const char *out, const char *scenario,
		      const char *strategies, const char *new_py, const char *old_py,
		      const char *baseline_dir, const char *duration, double tolerance)
{
	char *new_out = xasprintf("%s/race-%s-new", out, scenario), *base_path = NULL;
	char *old_out = old_py ? xasprintf("%s/race-%s-old", out, scenario) : NULL, err[1024];
	const char *args[] = { scenario, "-s", strategies, "-d", duration, "-j", "2", "--seed",
			       "20261201", "--python", new_py, "--python", old_py };
	const size_t nargs = 11;
	struct summary base, cand;
	const struct strategy_result *other;
	pid_t pids[2];
	int status[2] = { 0, 0 }, shared = gate_race_shared(scenario);
	size_t i;
	char *label = shared ? xasprintf("%s compiling, %s importing, one cache", new_py, old_py)
			     : xstrdup(new_py);

	/* Both at once, so the machine's load hits both alike. */
	pids[0] = gate_start_run(args, shared ? nargs + 2 : nargs, new_out);
	if (old_py) {
		args[10] = old_py;
		pids[1] = gate_start_run(args, nargs, old_out);
	}
	if (wait_run(pids[0], &status[0]) < 0 || (old_py && wait_run(pids[1], &status[1]) < 0))
		die(EXIT_INTERNAL, "gate: cannot wait for a race run: %s", strerror(errno));
	for (i = 0; i < (old_py ? 2u : 1u); i++)
		if (!WIFEXITED(status[i]) || (WEXITSTATUS(status[i]) != 0 && WEXITSTATUS(status[i]) != 1))
			die(WIFEXITED(status[i]) ? WEXITSTATUS(status[i]) : EXIT_INTERNAL,
			    "gate: the race run of %s under %s failed (exit %d)", scenario,
			    i ? old_py : label, WIFEXITED(status[i]) ? WEXITSTATUS(status[i]) : -1);
	base_path = old_py ? xasprintf("%s/summary.json", old_out)
			   : xasprintf("%s/race-%s.json", baseline_dir, scenario);
	if (!old_py && access(base_path, R_OK) != 0) {
		(void)fprintf(g->md, "\n### Race %s: no stored figures (%s): not compared\n", scenario,
			      base_path);
		free(base_path);
		free(new_out);
		return;
	}
	if (summary_load(base_path, &base, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "gate: race baseline: %s", err);
	free(base_path);
	base_path = xasprintf("%s/summary.json", new_out);
	if (summary_load(base_path, &cand, err, sizeof(err)) < 0)
		die(EXIT_INTERNAL, "gate: the race run's own summary: %s", err);
	(void)fprintf(g->md, "\n### Race %s (with its faults)%s\n\n", scenario,
		      shared ? ": an upgrade in progress, against the old interpreter alone" : "");
	(void)compare_summaries(g->md, old_py ? old_py : "baseline", &base, label, &cand, tolerance);
	(void)fputs("\nThe table is the plain Newcombe test on the raw counts, for reference only "
		    "(its verdicts gate nothing here): cycles under a race are not independent "
		    "trials, so its intervals are too narrow. The gate's verdict on each corrupt "
		    "rate is under Race verdicts.\n", g->md);
	for (i = 0; i < cand.nresults; i++) {
		other = race_result(&base, cand.results[i].strategy);
		if (other)
			gate_race_measure(g, scenario, &base, other, old_out, &cand, &cand.results[i],
					  new_out);
	}
	summary_free(&base);
	summary_free(&cand);
	free(base_path);
	free(new_out);
	free(old_out);
	free(label);
}

/* The interpreter's magic number and cache tag, "3495 cpython-311". */
static char *gate_magic(const char *python, const char *scratch)
{
	char *out = xasprintf("%s/.magic", scratch), *text = NULL;
	size_t len;
	int fd, status = -1;
	pid_t pid = proc_fork();

	if (pid == 0) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		(void)dup2(fd, 1);
		proc_unblock();
		execl(python, python, "-I", "-c",
		      "import sys, importlib.util as u; "
		      "print(int.from_bytes(u.MAGIC_NUMBER[:2], 'little'), sys.implementation.cache_tag)",
		      (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		(void)waitpid(pid, &status, 0);
	if (read_file(out, &text, &len) < 0)
		text = xstrdup("? ?");
	text[strcspn(text, "\n")] = '\0';
	(void)unlink(out);
	free(out);
	return text;
}

/* .pyc files of cache tag under dir, recursively. */
static size_t gate_count_pyc(const char *dir, const char *tag, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0, len, tl = strlen(tag);
	char *sub;

	while (d && depth < 32 && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		len = strlen(e->d_name);
		if (e->d_type == DT_DIR) {
			sub = xasprintf("%s/%s", dir, e->d_name);
			n += gate_count_pyc(sub, tag, depth + 1);
			free(sub);
		} else if (len > tl + 5 && !strcmp(e->d_name + len - 4, ".pyc") &&
			   !strncmp(e->d_name + len - 4 - tl, tag, tl)) {
			n++;
		}
	}
	if (d)
		(void)closedir(d);
	return n;
}

/* A point release whose magic differs invalidates every installed .pyc. */
static void gate_magic_finding(struct gate_result *g, const char *new_py, const char *old_py,
			       const char *scratch, FILE *json)
{
	static const char dist[] = "/usr/lib/python3/dist-packages";
	char *nm = gate_magic(new_py, scratch), *om = gate_magic(old_py, scratch);
	char ntag[64] = "", otag[64] = "";
	unsigned nmagic = 0, omagic = 0;
	size_t count = 0;

	(void)sscanf(nm, "%u %63s", &nmagic, ntag);
	(void)sscanf(om, "%u %63s", &omagic, otag);
	(void)fprintf(g->md, "\n### Magic number\n\n%s: magic %u, cache tag %s; %s: magic %u, "
		      "cache tag %s\n", new_py, nmagic, ntag, old_py, omagic, otag);
	(void)fprintf(json, "  \"magic\": {\"new\": %u, \"old\": %u, \"same_tag\": %s",
		      nmagic, omagic, strcmp(ntag, otag) ? "false" : "true");
	if (nmagic != omagic && !strcmp(ntag, otag)) {
		if (access(dist, R_OK) == 0)
			count = gate_count_pyc(dist, otag, 0);
		g->findings++;
		(void)fprintf(g->md, "\n**Finding**: the magic number changes within cache tag %s: "
			      "every installed .pyc is invalidated (%zu under %s)\n", otag, count, dist);
		(void)printf("gate: finding: magic %u -> %u within %s invalidates %zu .pyc under %s\n",
			     omagic, nmagic, otag, count, dist);
		(void)fprintf(json, ", \"invalidated_pyc\": %zu", count);
	}
	(void)fputs("},\n", json);
	free(nm);
	free(om);
}

/* The matrix set's write path for strategy, or NULL. */
static const struct matrix *gate_find_matrix(const struct matrix_set *set, const char *strategy,
					     size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to && i < set->n; i++)
		if (!strcmp(set->m[i].strategy, strategy))
			return &set->m[i];
	return NULL;
}

static int gate_matrix_main(int argc, char **argv)
{
	const char *new_py = NULL, *old_py = NULL, *baseline = NULL, *out_dir = NULL;
	const char *races = GATE_RACES_DEFAULT, *duration = "4s";
	const char **strategies = xcalloc((size_t)argc + 1, sizeof(char *));
	const char *const default_strategies[] = { "native" };
	const char *pythons[2];
	size_t nstrategies = 0, i, nbase;
	struct matrix_set run = { 0 }, stored = { 0 };
	const struct matrix_set *old_set;
	struct gate_result g = { .first_item = 1 };
	char *dir, *id = NULL, *path, *baseline_dir = NULL, err[1024], *items = NULL, *cases = NULL;
	char *list, *tok, *save, *strats, *why;
	size_t items_len = 0, cases_len = 0;
	struct owned own;
	struct stat st;
	double tolerance = 0.0;
	FILE *json, *xml;
	int i_arg, rc, no_matrix = 0;

	for (i_arg = 1; i_arg < argc; i_arg++) {
		const char *a = argv[i_arg], *v = i_arg + 1 < argc ? argv[i_arg + 1] : NULL;
		if (!strcmp(a, "--python") && v)
			new_py = argv[++i_arg];
		else if (!strcmp(a, "--against") && v)
			old_py = argv[++i_arg];
		else if (!strcmp(a, "--baseline") && v)
			baseline = argv[++i_arg];
		else if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && v)
			out_dir = argv[++i_arg];
		else if (!strcmp(a, "--races") && v)
			races = argv[++i_arg];
		else if (!strcmp(a, "--no-races"))
			races = "";
		else if (!strcmp(a, "--no-matrix"))
			no_matrix = 1;
		else if (!strcmp(a, "--race-duration") && v)
			duration = argv[++i_arg];
		else if (!strcmp(a, "--tolerance") && v) {
			if (parse_double(argv[++i_arg], &tolerance) < 0 || tolerance < 0 || tolerance > 1)
				die(EXIT_USAGE, "gate: --tolerance '%s' is not a rate from 0 to 1", argv[i_arg]);
		} else if (a[0] == '-')
			cli_bad_option("gate", a, "--python, --against, --baseline, --races, --no-races, "
				       "--no-matrix, --race-duration, --tolerance, -o/--out, -h/--help");
		else
			strategies[nstrategies++] = a;
	}
	if (!new_py)
		die(EXIT_USAGE, "gate: --python NEW is required with --against");
	if (!old_py == !baseline)
		die(EXIT_USAGE, "gate: give one of --against OLD and --baseline DIR");
	if (!nstrategies) {
		strategies[0] = default_strategies[0];
		nstrategies = 1;
	}
	for (i = 0; i < nstrategies; i++)
		matrix_check_strategy("gate", strategies[i]);
	if (access(new_py, X_OK) != 0 || (old_py && access(old_py, X_OK) != 0))
		die(EXIT_SKIP, "gate: cannot run '%s': %s", access(new_py, X_OK) ? new_py : old_py,
		    strerror(errno));
	if (baseline) {
		/* a folder (matrix.json and race-*.json) or a matrix.json */
		if (stat(baseline, &st) == 0 && S_ISDIR(st.st_mode)) {
			baseline_dir = xstrdup(baseline);
			path = xasprintf("%s/matrix.json", baseline);
		} else {
			path = xstrdup(baseline);
			baseline_dir = xstrdup(baseline);
			*(strrchr(baseline_dir, '/') ? strrchr(baseline_dir, '/') : baseline_dir) = '\0';
			if (!*baseline_dir) {
				free(baseline_dir);
				baseline_dir = xstrdup(".");
			}
		}
		if (matrix_load(path, &stored, err, sizeof(err)) < 0)
			die(EXIT_USAGE, "gate: baseline: %s", err);
		free(path);
	}
	/* the matrices: NEW first, then OLD */
	pythons[0] = new_py;
	pythons[1] = old_py;
	if (!no_matrix)
		(void)matrix_run(pythons, old_py ? 2 : 1, strategies, nstrategies, &run);
	old_set = old_py ? &run : &stored;
	nbase = old_py ? nstrategies : 0;
	dir = rundir_create("gate", out_dir, 0, &id, &own);
	rundir_own("gate", &own, "gate.md");
	rundir_own("gate", &own, "gate.xml");
	rundir_own("gate", &own, "gate.json");
	if (!no_matrix) {
		rundir_own("gate", &own, "matrix.json");
		rundir_own("gate", &own, "matrix.md");
		rundir_own("gate", &own, "matrix.html");
	}
	rc = no_matrix ? 0 : matrix_write_files(dir, &run);
	if (rc < 0)
		die(EXIT_SKIP, "gate: cannot write the matrix into '%s': %s", dir, strerror(-rc));
	path = xasprintf("%s/gate.md", dir);
	g.md = fopen(path, "we");
	if (!g.md)
		die(EXIT_SKIP, "gate: cannot write '%s': %s", path, strerror(errno));
	free(path);
	g.json_items = open_memstream(&items, &items_len);
	g.xml_cases = open_memstream(&cases, &cases_len);
	if (!g.json_items || !g.xml_cases)
		die(EXIT_INTERNAL, "gate: out of memory");
	(void)fprintf(g.md, "# pycstorm gate: %s against %s\n", new_py, old_py ? old_py : baseline);
	if (no_matrix)
		(void)fputs("\n### Matrix: not run (--no-matrix)\n", g.md);
	for (i = 0; i < nstrategies && !no_matrix; i++) {
		const struct matrix *n = gate_find_matrix(&run, strategies[i], 0, nstrategies);
		const struct matrix *o = gate_find_matrix(old_set, strategies[i], nbase,
							  old_py ? 2 * nstrategies : stored.n);
		if (n && o)
			gate_compare_matrix(&g, o, n);
		else
			(void)fprintf(g.md, "\n### Matrix: %s: not in the baseline, not compared\n",
				      strategies[i]);
	}
	/* the races, with their faults */
	list = xstrdup(races);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		strats = gate_race_strategies(tok, strategies, nstrategies);
		if (!strats) {
			(void)fprintf(g.md, "\n### Race %s: runs none of the gated strategies\n", tok);
			continue;
		}
		if (gate_race_shared(tok) && (why = gate_cannot_share(new_py, old_py)) != NULL) {
			(void)fprintf(g.md, "\n### Race %s: not run: %s\n", tok, why);
			(void)printf("gate: race %s not run: %s\n", tok, why);
			free(why);
			free(strats);
			continue;
		}
		path = xasprintf("race-%s-new", tok);
		rundir_own("gate", &own, path);
		free(path);
		if (old_py) {
			path = xasprintf("race-%s-old", tok);
			rundir_own("gate", &own, path);
			free(path);
		}
		gate_race(&g, dir, tok, strats, new_py, old_py, baseline_dir, duration, tolerance);
		free(strats);
	}
	free(list);
	gate_judge_races(&g, tolerance);
	(void)fclose(g.json_items);
	(void)fclose(g.xml_cases);
	/* Before gate.json and gate.xml: a CI reading those would see a pass. */
	if (!g.compared && !g.races_compared) {
		(void)fclose(g.md);
		path = xasprintf("%s/gate.md", dir);
		(void)unlink(path);
		die(EXIT_USAGE, "gate: nothing compared: no cell and no race check in both %s and %s",
		    new_py, old_py ? old_py : baseline);
	}
	/* gate.json */
	path = xasprintf("%s/gate.json", dir);
	json = fopen(path, "we");
	if (!json)
		die(EXIT_SKIP, "gate: cannot write '%s': %s", path, strerror(errno));
	free(path);
	(void)fputs("{\n  \"schema\": \"pycstorm-gate/1\",\n  \"python\": ", json);
	json_put_string(json, new_py);
	(void)fputs(",\n  \"against\": ", json);
	json_put_string(json, old_py ? old_py : baseline);
	(void)fputs(",\n", json);
	if (old_py)
		gate_magic_finding(&g, new_py, old_py, dir, json);
	(void)fprintf(json, "  \"cells_compared\": %zu,\n  \"cells_not_compared\": %zu,\n"
			    "  \"regressions\": %zu,\n  \"fixes\": %zu,\n"
			    "  \"notes\": %zu,\n  \"race_checks\": %zu,\n  \"race_regressions\": %zu,\n"
			    "  \"findings\": %zu,\n  \"items\": [%s\n  ],\n  \"race_alpha\": %g,\n"
			    "  \"races\": ", g.compared, g.not_compared, g.regressions, g.fixes, g.notes,
		      g.races_compared, g.race_regressions, g.findings, items ? items : "",
		      RACE_CHECK_ALPHA);
	race_checks_json(json, &g.races, "  ");
	(void)fputs("\n}\n", json);
	(void)fclose(json);
	/* gate.xml */
	path = xasprintf("%s/gate.xml", dir);
	xml = fopen(path, "we");
	if (!xml)
		die(EXIT_SKIP, "gate: cannot write '%s': %s", path, strerror(errno));
	(void)fprintf(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"pycstorm "
			   "gate\">\n  <testsuite name=\"pycstorm.gate\" tests=\"%zu\" failures=\"%zu\">\n"
			   "%s  </testsuite>\n</testsuites>\n", g.junit_cases, g.junit_failures,
		      cases ? cases : "");
	(void)fclose(xml);
	free(path);
	(void)fprintf(g.md, "\n## Verdict\n\n%zu cells compared: %zu regressions, %zu fixes, %zu notes; "
			    "%zu race checks: %zu regressions\n", g.compared, g.regressions, g.fixes,
		      g.notes, g.races_compared, g.race_regressions);
	(void)fclose(g.md);
	for (i = 0; i < nstrategies && !no_matrix; i++) {
		matrix_summary_line(stdout, &run.m[i]);
		if (old_py)
			matrix_summary_line(stdout, &run.m[nstrategies + i]);
	}
	(void)printf("gate: %zu cells compared: %zu regression%s, %zu fix%s, %zu note%s; %zu race "
		     "checks: %zu regression%s; see %s/gate.md\n", g.compared, g.regressions,
		     g.regressions == 1 ? "" : "s", g.fixes, g.fixes == 1 ? "" : "es", g.notes,
		     g.notes == 1 ? "" : "s", g.races_compared, g.race_regressions,
		     g.race_regressions == 1 ? "" : "s", dir);
	owned_release(&own);
	rundir_point_latest(id);
	matrix_set_free(&run);
	matrix_set_free(&stored);
	race_checks_free(&g.races);
	free(items);
	free(cases);
	free(dir);
	free(id);
	free(baseline_dir);
	free(strategies);
	return g.regressions || g.race_regressions ? EXIT_FAILED : EXIT_OK;
}

/* The matrix gate: --against, or a baseline that is a folder holding a
 * matrix.json or is one; a summary.json baseline is the run gate. */
static int gate_wants_matrix(int argc, char **argv)
{
	struct stat st;
	char *text = NULL, *m;
	size_t len;
	int i, yes = 0;

	for (i = 1; i < argc && !yes; i++) {
		if (!strcmp(argv[i], "--against"))
			yes = 1;
		if (strcmp(argv[i], "--baseline") || i + 1 >= argc)
			continue;
		if (stat(argv[i + 1], &st) == 0 && S_ISDIR(st.st_mode)) {
			m = xasprintf("%s/matrix.json", argv[i + 1]);
			yes = access(m, F_OK) == 0;
			free(m);
		} else if (read_file(argv[i + 1], &text, &len) == 0) {
			yes = strstr(text, "\"" MATRIX_SCHEMA "\"") != NULL;
		}
		free(text);
		text = NULL;
	}
	return yes;
}

static int gate_main(int argc, char **argv)
{
	const char *baseline = NULL, *out = NULL;
	char **rest = xcalloc((size_t)argc + 1, sizeof(char *)), err[1024], *path, *stamp_dir = NULL;
	struct summary base, cand;
	struct owned own;
	double tolerance = 0.0;
	int i, nrest = 0, rc, regressions;
	FILE *md;

	if (gate_wants_matrix(argc, argv)) {
		free(rest);
		return gate_matrix_main(argc, argv);
	}
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			(void)fputs(gate_usage, stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--baseline") && i + 1 < argc) {
			baseline = argv[++i];
		} else if (!strcmp(argv[i], "--tolerance") && i + 1 < argc) {
			if (parse_double(argv[++i], &tolerance) < 0 || tolerance < 0 || tolerance > 1)
				die(EXIT_USAGE, "gate: --tolerance '%s' is not a rate from 0 to 1", argv[i]);
		} else if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && i + 1 < argc) {
			out = argv[++i];
		} else {
			rest[nrest++] = argv[i];
		}
	}
	if (!baseline)
		die(EXIT_USAGE, "gate: --baseline FILE is required (a summary.json to compare with)");
	path = summary_path(baseline);
	if (summary_load(path, &base, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "gate: baseline: %s", err);
	if (!out) {
		stamp_dir = xasprintf("results/runs/gate-%ld-%ld", (long)time(NULL), (long)getpid());
		out = stamp_dir;
	}
	rc = run_child(nrest, rest, out);
	if (rc != EXIT_OK) {
		/* the run said why, in one line */
		summary_free(&base);
		free(path);
		free(stamp_dir);
		free(rest);
		return rc;
	}
	free(path);
	/* The run has let go of its folder; hold it again while gate.md and
	 * gate.xml go in, and only if it is still a pycstorm run folder. */
	rundir_claim("gate", "-o", out, OWNED_RUN, 0, &own);
	path = xasprintf("%s/summary.json", out);
	if (summary_load(path, &cand, err, sizeof(err)) < 0)
		die(EXIT_INTERNAL, "gate: the run's own summary: %s", err);
	free(path);
	/* Before gate.md and gate.xml: a CI reading those would see a pass. */
	compare_require_common("gate", "baseline", &base, "run", &cand);
	path = xasprintf("%s/gate.md", out);
	md = fopen(path, "we");
	if (!md)
		die(EXIT_SKIP, "gate: cannot write '%s': %s", path, strerror(errno));
	regressions = compare_summaries(md, baseline, &base, out, &cand, tolerance);
	(void)fclose(md);
	free(path);
	path = xasprintf("%s/gate.xml", out);
	if (write_junit(path, &base, &cand, tolerance) < 0)
		die(EXIT_SKIP, "gate: cannot write '%s'", path);
	if (regressions)
		(void)printf("gate: %d regression%s against %s; see %s/gate.md\n", regressions,
			     regressions == 1 ? "" : "s", baseline, out);
	owned_release(&own);
	summary_free(&base);
	summary_free(&cand);
	free(path);
	free(stamp_dir);
	free(rest);
	return regressions ? EXIT_FAILED : EXIT_OK;
}

const struct command_info command_gate = {
	.name = "gate",
	.summary = "run, compare with a baseline, write gate.md and gate.xml; exit 1 on a regression",
	.main = gate_main,
};
