/*
 * pycstorm merge DIR... -o OUT: shards (or any runs of one scenario) added
 * into one summary. Counts and latency histograms add exactly (the buckets
 * are the same everywhere), so the merged rates, intervals and percentiles
 * are recomputed from the sums, never averaged. A merge's cycles per
 * second is the sum of its parts' (they ran side by side), and its elapsed
 * time the longest part's. The parts, with their seeds, shards and replay
 * commands, are listed in the merged summary.json.
 *
 * Exit status: 0, or 2 when an input cannot be read or the inputs are not
 * runs of one scenario.
 */
#include "cli.h"

#include "common.h"
#include "format.h"
#include "rundir.h"
#include "summary.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char merge_usage[] =
	"usage: pycstorm merge RUNDIR|summary.json... -o OUT\n\n"
	"Add the runs' counts and latency histograms per strategy and write the\n"
	"default reports (summary.json, summary.md, report.html) into OUT.\n";

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* The merge starts as the first part's metadata, with no results. */
static void start_from(struct summary *m, const struct summary *first)
{
	size_t i;

	m->tool = dup_or_null(first->tool);
	m->scenario = dup_or_null(first->scenario);
	m->scenario_file = dup_or_null(first->scenario_file);
	m->description = dup_or_null(first->description);
	m->seed = first->seed;
	m->command = xstrdup("pycstorm merge");
	m->started = dup_or_null(first->started);
	m->runner = dup_or_null(first->runner);
	m->python_version = dup_or_null(first->python_version);
	m->python_executable = dup_or_null(first->python_executable);
	m->cache_tag = dup_or_null(first->cache_tag);
	m->magic = first->magic;
	m->cache_dir = dup_or_null(first->cache_dir);
	m->cache_fs = dup_or_null(first->cache_fs);
	m->kernel = dup_or_null(first->kernel);
	m->host = dup_or_null(first->host);
	m->cpus = first->cpus;
	m->jobs = first->jobs;
	m->compile_jobs = first->compile_jobs;
	m->iterations = first->iterations;
	m->duration_target_s = first->duration_target_s;
	m->pyc_mode = dup_or_null(first->pyc_mode);
	for (i = 0; i < first->nfaults; i++)
		m->faults[m->nfaults++] = xstrdup(first->faults[i]);
}

/* Where a part's numbers come from, for the one line that refuses a sum
 * past 2^64-1: wrapped counts would be believed. */
struct origin {
	const char *path;
	const char *strategy;
};

static void overflow(const struct origin *from, const char *field) __attribute__((noreturn));

static void overflow(const struct origin *from, const char *field)
{
	die(EXIT_USAGE, "merge: '%s': strategy '%s': %s: the sum with the runs before it "
			"passes 2^64-1", from->path, from->strategy, field);
}

static void add_u64(uint64_t *dst, uint64_t n, const struct origin *from, const char *field)
{
	if (__builtin_add_overflow(*dst, n, dst))
		overflow(from, field);
}

static void add_counts(struct strategy_result *t, const struct strategy_result *r,
		       const struct origin *from)
{
	char field[96];
	const char *what;
	int op, o;

	for (op = 0; op < OP_COUNT; op++) {
		for (o = 0; o < OUTCOME_COUNT; o++) {
			(void)snprintf(field, sizeof(field), "by_op.%s.%s", op_name((enum op)op),
				       outcome_name((enum outcome)o));
			add_u64(&t->counts[op][o], r->counts[op][o], from, field);
		}
		what = hist_merge_checked(&t->latency[op], &r->latency[op]);
		(void)snprintf(field, sizeof(field), "latency_hist_ns.%s.%s", op_name((enum op)op),
			       what ? what : "");
		if (what)
			overflow(from, field);
	}
	if ((what = summary_result_overflows(t)) != NULL)
		overflow(from, what);
}

static void add_result(struct summary *m, const struct summary *part,
		       const struct strategy_result *r, const char *path)
{
	struct strategy_result *t = summary_result(m, r->strategy);
	const struct origin from = { path, r->strategy };
	struct result_figures fig;
	char field[96];
	size_t i;
	int o;

	summary_figures(part, r, &fig);
	t->expect_safe |= r->expect_safe;
	add_counts(t, r, &from);
	for (o = 0; o < OUTCOME_COUNT; o++)
		if (!t->first_error[o] && r->first_error[o])
			t->first_error[o] = xstrdup(r->first_error[o]);
	for (i = 0; i < r->nevidence && t->nevidence < SUMMARY_MAX_EVIDENCE; i++)
		t->evidence[t->nevidence++] = xasprintf("%s", r->evidence[i]);
	for (i = 0; i < r->nfaults; i++) {
		(void)snprintf(field, sizeof(field), "faults_fired.%.60s", r->faults[i].point);
		if (summary_count_fault(t, r->faults[i].point, r->faults[i].count) < 0)
			overflow(&from, field);
	}
	add_u64(&t->workers_started, r->workers_started, &from, "workers_started");
	t->cycles_per_s += fig.cycles_per_s;
	if (!isfinite(t->cycles_per_s))
		die(EXIT_USAGE, "merge: '%s': strategy '%s': cycles_per_s: the sum with the runs "
				"before it is not a finite number", path, r->strategy);
}

static void add_part(struct summary *m, const struct summary *part, const char *source)
{
	struct summary_part *p;
	size_t i;

	m->parts = xrealloc(m->parts, (m->nparts + 1) * sizeof(*m->parts));
	p = &m->parts[m->nparts++];
	p->source = xstrdup(source);
	p->shard = dup_or_null(part->shard);
	p->seed = part->seed;
	p->elapsed_s = part->elapsed_s;
	p->replay = dup_or_null(part->replay);
	if (part->elapsed_s > m->elapsed_s)
		m->elapsed_s = part->elapsed_s;
	m->interrupted |= part->interrupted;
	for (i = 0; i < part->nresults; i++)
		add_result(m, part, &part->results[i], source);
}

/* One file given twice (as a folder and as its summary.json, say) would
 * be counted twice. reals[n] is the newest part's resolved path. */
static void check_once(char **reals, size_t n, const struct summary *m, const char *path)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (!strcmp(reals[j], reals[n]))
			die(EXIT_USAGE, "merge: '%s' is given twice (as '%s' too): it would count "
					"twice", path, m->parts[j].source);
}

static int merge_main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct summary m = { 0 }, part;
	const char *out = NULL;
	char err[1024], *path, **reals, *dir, *id;
	struct owned own;
	size_t k;
	int c, i, rc;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:h", longs, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'h':
			(void)fputs(merge_usage, stdout);
			return EXIT_OK;
		default:
			if (optopt)
				die(EXIT_USAGE, "merge: option '%s' needs a value", argv[optind - 1]);
			cli_bad_option("merge", argv[optind - 1], "-o/--out, -h/--help");
		}
	}
	if (!out || optind >= argc)
		die(EXIT_USAGE, "merge: give the runs to merge and -o OUT");
	reals = xcalloc((size_t)argc, sizeof(char *));
	for (i = optind; i < argc; i++) {
		path = summary_path(argv[i]);
		if (summary_load(path, &part, err, sizeof(err)) < 0)
			die(EXIT_USAGE, "merge: %s", err);
		/* It was read, so it resolves (unless renamed since). */
		reals[m.nparts] = realpath(path, NULL);
		if (!reals[m.nparts])
			reals[m.nparts] = xstrdup(path);
		check_once(reals, m.nparts, &m, path);
		if (i == optind)
			start_from(&m, &part);
		else if (strcmp(part.scenario ? part.scenario : "", m.scenario ? m.scenario : ""))
			die(EXIT_USAGE, "merge: '%s' ran scenario '%s', not '%s': only runs of one "
					"scenario add up", path, part.scenario ? part.scenario : "?",
			    m.scenario ? m.scenario : "?");
		add_part(&m, &part, path);
		summary_free(&part);
		free(path);
	}
	dir = rundir_create("merge", out, m.seed, &id, &own);
	rc = format_write_defaults(dir, &m);
	if (rc < 0)
		die(EXIT_SKIP, "merge: cannot write into '%s': %s", out, strerror(-rc));
	(void)printf("merged %zu runs of %s into %s\n", m.nparts, m.scenario ? m.scenario : "?", out);
	for (k = 0; k < m.nparts; k++)
		free(reals[k]);
	free(reals);
	owned_release(&own);
	summary_free(&m);
	free(id);
	free(dir);
	return EXIT_OK;
}

const struct command_info command_merge = {
	.name = "merge",
	.summary = "add shards (runs of one scenario) into one summary",
	.main = merge_main,
};
