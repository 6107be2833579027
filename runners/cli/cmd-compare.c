/*
 * pycstorm compare BASE CAND [--tolerance T]: has a candidate (a new Python,
 * a patched write path) made anything worse? For each strategy in both
 * runs and each outcome class: both rates, Newcombe's 95% interval on the
 * difference (candidate - base), and a verdict.
 *
 * Rates: corruption (bad_marshal, eof, interpreter_crash, code_error) per
 * read, as everywhere; every
 * other class per cycle (compile + import + recover). A difference whose
 * whole interval lies above the tolerance is a regression, below minus the
 * tolerance an improvement, anything else no significant change. Only
 * classes a user would meet as a failure gate the exit status: corruption,
 * permission_error, module_not_found, other_error, worker_crash and
 * worker_timeout; stale and missing (cache misses) are shown, not gated.
 *
 * Exit status: 1 on a regression, 0 otherwise, 2 bad input.
 */
#include "cli.h"

#include "common.h"
#include "strbuf.h"
#include "markup.h"
#include "summary.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define ROW_CORRUPT (-1)

struct verdict_row {
	const char *label;
	uint64_t k1, n1, k2, n2;
	int gated;
};

static const char compare_usage[] =
	"usage: pycstorm compare BASE CAND [--tolerance RATE]\n\n"
	"BASE and CAND are run folders or summary.json files. For every strategy in\n"
	"both and every outcome class: both rates, the 95%% Newcombe interval on the\n"
	"difference, and a verdict. Exit 1 when a failure class regressed by more\n"
	"than RATE (default 0), else 0.\n";

static int gated_class(int o)
{
	return o == OUTCOME_PERMISSION_ERROR || o == OUTCOME_MODULE_NOT_FOUND ||
	       o == OUTCOME_OTHER_ERROR || o == OUTCOME_WORKER_CRASH || o == OUTCOME_WORKER_TIMEOUT;
}

/* Print one row; returns 1 when it is a gated regression. */
static int print_row(FILE *out, const char *strategy, const struct verdict_row *row,
		     double tolerance)
{
	double p1 = row->n1 ? (double)row->k1 / (double)row->n1 : 0.0;
	double p2 = row->n2 ? (double)row->k2 / (double)row->n2 : 0.0;
	double lo, hi;
	const char *verdict;
	int regressed;

	stats_newcombe(row->k1, row->n1, row->k2, row->n2, STATS_Z95, &lo, &hi);
	regressed = lo > tolerance;
	verdict = regressed ? "regressed" : hi < -tolerance ? "improved" : "no significant change";
	(void)fprintf(out, "| %-15s | %-16s | %" PRIu64 "/%-9" PRIu64 " %-9.3g | %" PRIu64 "/%-9" PRIu64
		      " %-9.3g | [%+.3g, %+.3g] | %s%s |\n",
		     strategy, row->label, row->k1, row->n1, p1, row->k2, row->n2, p2, lo, hi, verdict,
		     regressed && !row->gated ? " (not gated)" : "");
	return regressed && row->gated;
}

static int compare_result(FILE *out, const struct summary *bs, const struct strategy_result *b,
			  const struct summary *cs, const struct strategy_result *c,
			  double tolerance)
{
	struct result_figures fb, fc;
	struct verdict_row row = { .label = "corruption", .gated = 1 };
	char *name = md_text(b->strategy);
	int o, regressions = 0;

	summary_figures(bs, b, &fb);
	summary_figures(cs, c, &fc);
	row.k1 = fb.corrupt;
	row.n1 = fb.reads;
	row.k2 = fc.corrupt;
	row.n2 = fc.reads;
	regressions += print_row(out, name, &row, tolerance);
	for (o = 1; o < OUTCOME_COUNT; o++) {
		if (outcome_is_corrupt((enum outcome)o) || (!fb.outcomes[o] && !fc.outcomes[o]))
			continue;
		row.label = outcome_name((enum outcome)o);
		row.k1 = fb.outcomes[o];
		row.n1 = fb.cycles;
		row.k2 = fc.outcomes[o];
		row.n2 = fc.cycles;
		row.gated = gated_class(o);
		regressions += print_row(out, name, &row, tolerance);
	}
	free(name);
	return regressions;
}

static const struct strategy_result *find_result(const struct summary *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nresults; i++)
		if (!strcmp(s->results[i].strategy, name))
			return &s->results[i];
	return NULL;
}

static uint64_t cycles_of(const struct summary *s, const struct strategy_result *r)
{
	struct result_figures f;

	summary_figures(s, r, &f);
	return f.cycles;
}

/* "a, b (no cycles)": the strategies of s, for a message; malloc'd. */
static char *strategy_list(const struct summary *s)
{
	struct strbuf list = STRBUF_INIT;
	size_t i;

	for (i = 0; i < s->nresults; i++)
		strbuf_addf(&list, "%s%s%s", i ? ", " : "", s->results[i].strategy,
			    cycles_of(s, &s->results[i]) ? "" : " (no cycles)");
	return strbuf_detach(&list);
}

void compare_require_common(const char *command, const char *base_label,
			    const struct summary *base, const char *cand_label,
			    const struct summary *cand)
{
	const struct strategy_result *other;
	size_t i, compared = 0;

	for (i = 0; i < base->nresults; i++) {
		other = find_result(cand, base->results[i].strategy);
		compared += other && cycles_of(base, &base->results[i]) && cycles_of(cand, other);
	}
	if (!compared)
		die(EXIT_USAGE, "%s: nothing to compare: no strategy has cycles in both "
				"(%s: %s; %s: %s)", command, base_label,
		    base->nresults ? strategy_list(base) : "none", cand_label,
		    cand->nresults ? strategy_list(cand) : "none");
}

static void load_or_die(const char *arg, struct summary *s)
{
	char err[1024], *path = summary_path(arg);

	if (summary_load(path, s, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "compare: %s", err);
	free(path);
}

int compare_summaries(FILE *out, const char *base_name, const struct summary *base,
		      const char *cand_name, const struct summary *cand, double tolerance)
{
	const struct strategy_result *other;
	char *name;
	size_t i;
	int regressions = 0;

	(void)fputs("## pycstorm compare: ", out);
	md_put_text(out, base_name);
	(void)fprintf(out, " (seed %" PRIu64 ") -> ", base->seed);
	md_put_text(out, cand_name);
	(void)fprintf(out, " (seed %" PRIu64 ")\n\n", cand->seed);
	(void)fprintf(out, "| %-15s | %-16s | %-20s | %-20s | %-18s | %s |\n", "strategy", "outcome",
		      "base k/n rate", "candidate k/n rate", "difference, 95% CI", "verdict");
	(void)fprintf(out, "|---|---|---|---|---|---|\n");
	for (i = 0; i < base->nresults; i++) {
		other = find_result(cand, base->results[i].strategy);
		name = md_text(base->results[i].strategy);
		if (other)
			regressions += compare_result(out, base, &base->results[i], cand, other,
						      tolerance);
		else
			(void)fprintf(out, "| %-15s | (only in base: not compared) | | | | |\n", name);
		free(name);
	}
	for (i = 0; i < cand->nresults; i++) {
		if (find_result(base, cand->results[i].strategy))
			continue;
		name = md_text(cand->results[i].strategy);
		(void)fprintf(out, "| %-15s | (only in candidate: not compared) | | | | |\n", name);
		free(name);
	}
	(void)fprintf(out, "\n%d regression%s beyond a tolerance of %g\n", regressions,
		      regressions == 1 ? "" : "s", tolerance);
	return regressions;
}

static int compare_main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "tolerance", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct summary base, cand;
	double tolerance = 0.0;
	int c, regressions;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_double(optarg, &tolerance) < 0 || tolerance < 0 || tolerance > 1)
				die(EXIT_USAGE, "compare: --tolerance '%s' is not a rate from 0 to 1", optarg);
			break;
		case 'h':
			(void)printf(compare_usage);
			return EXIT_OK;
		default:
			if (optopt)
				die(EXIT_USAGE, "compare: option '%s' needs a value", argv[optind - 1]);
			cli_bad_option("compare", argv[optind - 1], "--tolerance, -h/--help");
		}
	}
	if (optind + 2 != argc)
		die(EXIT_USAGE, "compare: give two runs: BASE CAND");
	load_or_die(argv[optind], &base);
	load_or_die(argv[optind + 1], &cand);
	compare_require_common("compare", "base", &base, "candidate", &cand);
	regressions = compare_summaries(stdout, argv[optind], &base, argv[optind + 1], &cand,
					tolerance);
	summary_free(&base);
	summary_free(&cand);
	return regressions ? EXIT_FAILED : EXIT_OK;
}

const struct command_info command_compare = {
	.name = "compare",
	.summary = "compare two runs: per strategy and outcome, with Newcombe intervals",
	.main = compare_main,
};
