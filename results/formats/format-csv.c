/*
 * summary.csv: one row per strategy with the main figures and every
 * outcome count, for a spreadsheet or for concatenating many runs (each
 * row names its scenario and seed). RFC 4180 quoting.
 */
#include "format.h"

#include <inttypes.h>
#include <string.h>

static void put_field(FILE *f, const char *text)
{
	const char *p;

	if (!strpbrk(text, ",\"\r\n")) {
		(void)fputs(text, f);
		return;
	}
	(void)fputc('"', f);
	for (p = text; *p; p++) {
		if (*p == '"')
			(void)fputc('"', f);
		(void)fputc(*p, f);
	}
	(void)fputc('"', f);
}

static double micros(const struct hist *h, double q)
{
	return h->count ? (double)hist_quantile(h, q) / 1e3 : 0.0;
}

static void put_header(FILE *f)
{
	int o;

	(void)fputs("scenario,seed,strategy,expect_safe,cycles,reads,writes,corrupt,corrupt_rate,"
		    "corrupt_ci95_lo,corrupt_ci95_hi,write_us_p50,write_us_p99,read_us_p50,"
		    "read_us_p99,cycles_per_s,workers_started", f);
	for (o = 0; o < OUTCOME_COUNT; o++)
		(void)fprintf(f, ",%s", outcome_name((enum outcome)o));
	(void)fputs("\r\n", f);
}

static void put_row(FILE *f, const struct summary *s, const struct strategy_result *r)
{
	struct result_figures fig;
	int o;

	summary_figures(s, r, &fig);
	put_field(f, s->scenario ? s->scenario : "");
	(void)fprintf(f, ",%" PRIu64 ",", s->seed);
	put_field(f, r->strategy);
	(void)fprintf(f, ",%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.6g,%.6g,%.6g",
		      r->expect_safe, fig.cycles, fig.reads, fig.writes, fig.corrupt,
		      fig.corrupt_rate, fig.ci_lo, fig.ci_hi);
	(void)fprintf(f, ",%.3f,%.3f,%.3f,%.3f,%.1f,%" PRIu64, micros(&fig.write_latency, 0.5),
		      micros(&fig.write_latency, 0.99), micros(&fig.read_latency, 0.5),
		      micros(&fig.read_latency, 0.99), fig.cycles_per_s, r->workers_started);
	for (o = 0; o < OUTCOME_COUNT; o++)
		(void)fprintf(f, ",%" PRIu64, fig.outcomes[o]);
	(void)fputs("\r\n", f);
}

static int write_csv(FILE *f, const struct summary *s)
{
	size_t i;

	put_header(f);
	for (i = 0; i < s->nresults; i++)
		put_row(f, s, &s->results[i]);
	return ferror(f) ? -1 : 0;
}

const struct format_info format_csv = {
	.name = "csv",
	.filename = "summary.csv",
	.summary = "summary.csv: one row per strategy, main figures and every outcome count",
	.by_default = 0,
	.write = write_csv,
};
