/*
 * summary.xml: JUnit XML for CI dashboards. One testsuite per run, one
 * testcase per scenario x strategy. A strategy the scenario expects to be
 * safe fails when it corrupted; the others pass whatever their rate, since
 * reproducing corruption is what they are there for.
 */
#include "format.h"

#include "markup.h"

#include <inttypes.h>

static void put_property(FILE *f, const char *name, const char *value)
{
	(void)fprintf(f, "      <property name=\"%s\" value=\"", name);
	xml_put_text(f, value ? value : "");
	(void)fputs("\"/>\n", f);
}

static void put_properties(FILE *f, const struct summary *s)
{
	char seed[32], faults[1024];
	size_t i, used = 0;

	(void)snprintf(seed, sizeof(seed), "%" PRIu64, s->seed);
	faults[0] = '\0';
	for (i = 0; i < s->nfaults && used < sizeof(faults); i++)
		used += (size_t)snprintf(faults + used, sizeof(faults) - used, "%s%s", i ? "; " : "",
					 s->faults[i]);
	(void)fputs("    <properties>\n", f);
	put_property(f, "seed", seed);
	put_property(f, "python", s->python_version);
	put_property(f, "python_executable", s->python_executable);
	put_property(f, "runner", s->runner);
	put_property(f, "filesystem", s->cache_fs);
	put_property(f, "kernel", s->kernel);
	put_property(f, "faults", faults);
	put_property(f, "replay", s->replay);
	if (s->shard)
		put_property(f, "shard", s->shard);
	(void)fputs("    </properties>\n", f);
}

static void put_case(FILE *f, const struct summary *s, const struct strategy_result *r)
{
	struct result_figures fig;
	char rate[32];

	summary_figures(s, r, &fig);
	format_rate(rate, sizeof(rate), fig.corrupt, fig.reads, fig.ci_hi);
	(void)fputs("    <testcase classname=\"pycstorm.", f);
	xml_put_text(f, r->scenario && *r->scenario ? r->scenario : s->scenario);
	(void)fputs("\" name=\"", f);
	xml_put_text(f, r->strategy);
	(void)fprintf(f, "\" time=\"%.3f\">\n", s->elapsed_s);
	if (r->expect_safe && fig.corrupt) {
		(void)fprintf(f, "      <failure type=\"corruption\" message=\"expected to be safe, but %"
				 PRIu64 " corrupt reads in %" PRIu64 " (rate %s, 95%% interval "
				 "[%.3g, %.3g])\">", fig.corrupt, fig.reads, rate, fig.ci_lo, fig.ci_hi);
		xml_put_text(f, r->first_error[OUTCOME_EOF] ? r->first_error[OUTCOME_EOF]
							    : r->first_error[OUTCOME_BAD_MARSHAL]);
		(void)fputs("</failure>\n", f);
	}
	/* the rate of a zero reads "< 0.0007": text, so escaped */
	(void)fprintf(f, "      <system-out>%" PRIu64 " cycles, %" PRIu64 " reads, %" PRIu64
			 " corrupt (rate ", fig.cycles, fig.reads, fig.corrupt);
	xml_put_text(f, rate);
	(void)fprintf(f, ", 95%% interval [%.3g, %.3g])</system-out>\n", fig.ci_lo, fig.ci_hi);
	(void)fputs("    </testcase>\n", f);
}

static int write_junit(FILE *f, const struct summary *s)
{
	struct result_figures fig;
	size_t i, failures = 0;

	for (i = 0; i < s->nresults; i++) {
		summary_figures(s, &s->results[i], &fig);
		failures += s->results[i].expect_safe && fig.corrupt;
	}
	(void)fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<testsuites name=\"pycstorm\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
			 "time=\"%.3f\">\n  <testsuite name=\"pycstorm.",
		      s->nresults, failures, s->elapsed_s);
	xml_put_text(f, s->scenario);
	(void)fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"%.3f\"",
		      s->nresults, failures, s->elapsed_s);
	if (s->started) {
		(void)fputs(" timestamp=\"", f);
		xml_put_text(f, s->started);
		(void)fputs("\"", f);
	}
	if (s->host) {
		(void)fputs(" hostname=\"", f);
		xml_put_text(f, s->host);
		(void)fputs("\"", f);
	}
	(void)fputs(">\n", f);
	put_properties(f, s);
	for (i = 0; i < s->nresults; i++)
		put_case(f, s, &s->results[i]);
	(void)fputs("  </testsuite>\n</testsuites>\n", f);
	return ferror(f) ? -1 : 0;
}

const struct format_info format_junit = {
	.name = "junit",
	.filename = "summary.xml",
	.summary = "summary.xml: JUnit XML, a failure per expected-safe strategy that corrupted",
	.by_default = 0,
	.write = write_junit,
};
