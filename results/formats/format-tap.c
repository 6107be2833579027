/*
 * summary.tap: TAP version 14, one test point per strategy, for harnesses
 * that read TAP (prove, tappy, CI plugins). A strategy the scenario expects
 * to be safe is "not ok" when it corrupted; the figures follow each point
 * as a YAML block (strings double-quoted with JSON escapes, which YAML
 * reads the same way).
 */
#include "format.h"

#include "common.h"

#include <inttypes.h>

/* In a description, '#' would start a directive and '\' escapes: escape
 * both, and keep it on one line. */
static void put_description(FILE *f, const char *text)
{
	const char *p;

	for (p = text; *p; p++) {
		if (*p == '#' || *p == '\\')
			(void)fputc('\\', f);
		(void)fputc(*p == '\n' || *p == '\r' ? ' ' : *p, f);
	}
}

static void put_yaml_outcomes(FILE *f, const uint64_t *outcomes)
{
	int o, first = 1;

	(void)fputs("  outcomes: {", f);
	for (o = 0; o < OUTCOME_COUNT; o++) {
		if (!outcomes[o])
			continue;
		(void)fprintf(f, "%s%s: %" PRIu64, first ? "" : ", ", outcome_name((enum outcome)o),
			      outcomes[o]);
		first = 0;
	}
	(void)fputs("}\n", f);
}

static void put_yaml(FILE *f, const struct summary *s, const struct strategy_result *r,
		     const struct result_figures *g)
{
	int o;

	(void)fputs("  ---\n  strategy: ", f);
	json_put_string(f, r->strategy);
	(void)fputs("\n  scenario: ", f);
	json_put_string(f, s->scenario ? s->scenario : "");
	(void)fprintf(f, "\n  seed: %" PRIu64 "\n  expect_safe: %s\n  cycles: %" PRIu64
			 "\n  reads: %" PRIu64 "\n  corrupt: %" PRIu64 "\n  corrupt_rate: %.6g\n"
			 "  corrupt_ci95: [%.6g, %.6g]\n",
		      s->seed, r->expect_safe ? "true" : "false", g->cycles, g->reads, g->corrupt,
		      g->corrupt_rate, g->ci_lo, g->ci_hi);
	put_yaml_outcomes(f, g->outcomes);
	(void)fprintf(f, "  write_us: {p50: %.3f, p99: %.3f}\n  read_us: {p50: %.3f, p99: %.3f}\n",
		      (double)hist_quantile(&g->write_latency, 0.5) / 1e3,
		      (double)hist_quantile(&g->write_latency, 0.99) / 1e3,
		      (double)hist_quantile(&g->read_latency, 0.5) / 1e3,
		      (double)hist_quantile(&g->read_latency, 0.99) / 1e3);
	for (o = 0; o < OUTCOME_COUNT; o++) {
		if (!r->first_error[o])
			continue;
		(void)fprintf(f, "  first_%s: ", outcome_name((enum outcome)o));
		json_put_string(f, r->first_error[o]);
		(void)fputc('\n', f);
	}
	(void)fputs("  ...\n", f);
}

static int write_tap(FILE *f, const struct summary *s)
{
	struct result_figures fig;
	char rate[32];
	size_t i;
	int failed;

	(void)fprintf(f, "TAP version 14\n# pycstorm: scenario ");
	put_description(f, s->scenario ? s->scenario : "?");
	(void)fprintf(f, ", seed %" PRIu64 "\n", s->seed);
	if (s->nresults == 0)
		(void)fputs("1..0 # SKIP no strategies in this summary\n", f);
	else
		(void)fprintf(f, "1..%zu\n", s->nresults);
	for (i = 0; i < s->nresults; i++) {
		summary_figures(s, &s->results[i], &fig);
		format_rate(rate, sizeof(rate), fig.corrupt, fig.reads, fig.ci_hi);
		failed = s->results[i].expect_safe && fig.corrupt;
		(void)fprintf(f, "%s %zu - ", failed ? "not ok" : "ok", i + 1);
		put_description(f, s->results[i].strategy);
		(void)fprintf(f, ": %" PRIu64 " corrupt in %" PRIu64 " reads (%s)%s\n", fig.corrupt,
			      fig.reads, rate, failed ? ", expected to be safe" : "");
		put_yaml(f, s, &s->results[i], &fig);
	}
	return ferror(f) ? -1 : 0;
}

const struct format_info format_tap = {
	.name = "tap",
	.filename = "summary.tap",
	.summary = "summary.tap: TAP 14, not ok for an expected-safe strategy that corrupted",
	.by_default = 0,
	.write = write_tap,
};
