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
#include "proc.h"
#include "rundir.h"
#include "summary.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char gate_usage[] =
	"usage: pycstorm gate --baseline FILE [--tolerance RATE] [-o DIR] [run options...]\n\n"
	"Run (as 'pycstorm run [run options] -o DIR -q'), compare with the baseline\n"
	"summary.json, and write DIR/gate.md and DIR/gate.xml. Exit 0 no regression,\n"
	"1 regression, 2 bad input, 77 cannot run, 130 interrupted.\n";

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

static int gate_main(int argc, char **argv)
{
	const char *baseline = NULL, *out = NULL;
	char **rest = xcalloc((size_t)argc + 1, sizeof(char *)), err[1024], *path, *stamp_dir = NULL;
	struct summary base, cand;
	struct owned own;
	double tolerance = 0.0;
	int i, nrest = 0, rc, regressions;
	FILE *md;

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
