/*
 * summary.md: the table a maintainer pastes into a bug report, and the
 * table `pycstorm run` prints. Columns are padded so it also reads well
 * in a terminal. Every name and text from the summary goes through
 * md_text: a strategy file called 'a|b.py' must not add a column.
 */
#include "format.h"
#include "markup.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void latency_pair(char *buf, size_t size, const struct hist *h)
{
	if (!h->count)
		(void)snprintf(buf, size, "-");
	else
		(void)snprintf(buf, size, "%.0f / %.0f", hist_quantile(h, 0.5) / 1e3,
			       hist_quantile(h, 0.99) / 1e3);
}

static void outcome_list(char *buf, size_t size, const uint64_t *outcomes)
{
	size_t used = 0;
	int o;

	buf[0] = '\0';
	for (o = 1; o < OUTCOME_COUNT && used < size; o++)   /* ok is implied */
		if (outcomes[o])
			used += (size_t)snprintf(buf + used, size - used, "%s%s %" PRIu64,
						 used ? ", " : "", outcome_name((enum outcome)o),
						 outcomes[o]);
	if (!buf[0])
		(void)snprintf(buf, size, "-");
}

static int write_md(FILE *f, const struct summary *s)
{
	struct result_figures fig;
	char rate[32], ci[48], wl[32], rl[32], other[256], *name;
	size_t i;

	(void)fputs("## pycstorm: ", f);
	md_put_text(f, s->scenario ? s->scenario : "?");
	(void)fprintf(f, "\n\nseed %" PRIu64 " | python ", s->seed);
	md_put_text(f, s->python_version ? s->python_version : "?");
	(void)fputs(" (", f);
	md_put_text(f, s->runner ? s->runner : "?");
	(void)fputs(", ", f);
	md_put_text(f, s->python_executable ? s->python_executable : "?");
	(void)fputs(") | cache ", f);
	md_put_text(f, s->cache_fs ? s->cache_fs : "?");
	if (s->shared_cache) {
		(void)fputs(" | one cache shared by ", f);
		md_put_text(f, s->shared_cache);
	}
	(void)fprintf(f, " | %.1f s%s\n\n", s->elapsed_s, s->interrupted ? " | INTERRUPTED" : "");
	(void)fprintf(f, "| %-15s | %9s | %9s | %7s | %-10s | %-21s | %-16s | %-15s | %8s | %s |\n",
		      "strategy", "cycles", "reads", "corrupt", "rate", "95% CI",
		      "write us p50/p99", "read us p50/p99", "cycles/s", "other outcomes");
	(void)fprintf(f, "|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", "-----------------",
		      "----------:", "----------:", "--------:", "------------",
		      "-----------------------", "------------------", "-----------------",
		      "---------:", "----------------");
	for (i = 0; i < s->nresults; i++) {
		summary_figures(s, &s->results[i], &fig);
		format_rate(rate, sizeof(rate), fig.corrupt, fig.reads, fig.ci_hi);
		(void)snprintf(ci, sizeof(ci), "[%.2g, %.2g]", fig.ci_lo, fig.ci_hi);
		latency_pair(wl, sizeof(wl), &fig.write_latency);
		latency_pair(rl, sizeof(rl), &fig.read_latency);
		outcome_list(other, sizeof(other), fig.outcomes);
		name = md_text(s->results[i].strategy);
		(void)fprintf(f,
			      "| %-15s | %9" PRIu64 " | %9" PRIu64 " | %7" PRIu64
			      " | %-10s | %-21s | %-16s | %-15s | %8.0f | %s |\n",
			      name, fig.cycles, fig.reads, fig.corrupt, rate, ci, wl, rl,
			      fig.cycles_per_s, other);
		free(name);
	}
	(void)fprintf(f, "\nCorruption = bad_marshal, eof, interpreter_crash and code_error seen by an import "
			 "whose header check "
			 "passed; rate = corrupt / reads, 95%% Wilson interval.\n");
	if (s->replay) {
		(void)fputs("\nReplay: ", f);
		md_put_code(f, s->replay);
		(void)fputs("\n", f);
	}
	return ferror(f) ? -1 : 0;
}

const struct format_info format_md = {
	.name = "md",
	.filename = "summary.md",
	.summary = "summary.md: the Markdown table that run prints",
	.by_default = 1,
	.write = write_md,
};
