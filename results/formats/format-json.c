/*
 * summary.json: the machine-readable results. Counts and sparse latency
 * histograms are stored, not only percentiles, so `pycstorm merge` can add
 * shards exactly; the derived figures are stored too, for readers that do
 * not want to recompute them.
 */
#include "format.h"

#include "common.h"

#include <inttypes.h>

static void put_key_string(FILE *f, const char *key, const char *value, int comma)
{
	(void)fprintf(f, "  \"%s\": ", key);
	if (value)
		json_put_string(f, value);
	else
		(void)fputs("null", f);
	(void)fputs(comma ? ",\n" : "\n", f);
}

static void put_latency(FILE *f, const char *key, const struct hist *h)
{
	(void)fprintf(f,
		      "      \"%s\": {\"count\": %" PRIu64 ", \"p50\": %.3f, \"p90\": %.3f, "
		      "\"p99\": %.3f, \"max\": %.3f, \"mean\": %.3f},\n",
		      key, h->count, hist_quantile(h, 0.50) / 1e3, hist_quantile(h, 0.90) / 1e3,
		      hist_quantile(h, 0.99) / 1e3, h->count ? h->max / 1e3 : 0.0,
		      h->count ? (double)h->sum / (double)h->count / 1e3 : 0.0);
}

static void put_outcomes(FILE *f, const uint64_t *counts, const char *indent)
{
	int o, first = 1;

	(void)fputc('{', f);
	for (o = 0; o < OUTCOME_COUNT; o++) {
		if (!counts[o])
			continue;
		(void)fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ",
			      outcome_name((enum outcome)o), counts[o]);
		first = 0;
	}
	(void)fputc('}', f);
	(void)indent;
}

static void put_hist(FILE *f, const struct hist *h)
{
	size_t i;
	int first = 1;

	(void)fprintf(f, "{\"count\": %" PRIu64 ", \"sum\": %" PRIu64 ", \"min\": %" PRIu64
			 ", \"max\": %" PRIu64 ", \"buckets\": [",
		      h->count, h->sum, h->count ? h->min : 0, h->max);
	for (i = 0; i < HIST_BUCKETS; i++) {
		if (!h->buckets[i])
			continue;
		(void)fprintf(f, "%s[%zu, %" PRIu64 "]", first ? "" : ", ", i, h->buckets[i]);
		first = 0;
	}
	(void)fputs("]}", f);
}

/* "merged": the runs a merge was made of, so it can be traced and each
 * part replayed. Only merges have it. */
static void put_parts(FILE *f, const struct summary *s)
{
	const struct summary_part *p;
	size_t i;

	if (!s->nparts)
		return;
	(void)fputs("  \"merged\": [\n", f);
	for (i = 0; i < s->nparts; i++) {
		p = &s->parts[i];
		(void)fputs("    {\"source\": ", f);
		json_put_string(f, p->source ? p->source : "");
		(void)fputs(", \"shard\": ", f);
		if (p->shard)
			json_put_string(f, p->shard);
		else
			(void)fputs("null", f);
		(void)fprintf(f, ", \"seed\": %" PRIu64 ", \"elapsed_s\": %.3f, \"replay\": ",
			      p->seed, p->elapsed_s);
		if (p->replay)
			json_put_string(f, p->replay);
		else
			(void)fputs("null", f);
		(void)fputs(i + 1 < s->nparts ? "},\n" : "}\n", f);
	}
	(void)fputs("  ],\n", f);
}

static void put_result(FILE *f, const struct summary *s, const struct strategy_result *r)
{
	struct result_figures fig;
	size_t i;
	int op, o, first;

	summary_figures(s, r, &fig);
	(void)fputs("    {\n      \"strategy\": ", f);
	json_put_string(f, r->strategy);
	(void)fputs(",\n      \"scenario\": ", f);
	json_put_string(f, r->scenario);
	(void)fprintf(f, ",\n      \"expect_safe\": %s,\n", r->expect_safe ? "true" : "false");
	(void)fprintf(f, "      \"cycles\": %" PRIu64 ",\n      \"reads\": %" PRIu64
			 ",\n      \"writes\": %" PRIu64 ",\n",
		      fig.cycles, fig.reads, fig.writes);
	(void)fputs("      \"outcomes\": ", f);
	put_outcomes(f, fig.outcomes, "");
	(void)fputs(",\n      \"by_op\": {", f);
	for (op = 0; op < OP_COUNT; op++) {
		(void)fprintf(f, "%s\"%s\": ", op ? ", " : "", op_name((enum op)op));
		put_outcomes(f, r->counts[op], "");
	}
	(void)fprintf(f, "},\n      \"corrupt\": %" PRIu64 ",\n      \"corrupt_rate\": %.6g,\n"
			 "      \"corrupt_ci95\": [%.6g, %.6g],\n",
		      fig.corrupt, fig.corrupt_rate, fig.ci_lo, fig.ci_hi);
	put_latency(f, "write_latency_us", &fig.write_latency);
	put_latency(f, "read_latency_us", &fig.read_latency);
	(void)fprintf(f, "      \"cycles_per_s\": %.1f,\n", fig.cycles_per_s);
	(void)fprintf(f, "      \"workers_started\": %" PRIu64 ",\n", r->workers_started);
	(void)fputs("      \"faults_fired\": {", f);
	for (i = 0; i < r->nfaults; i++) {
		(void)fputs(i ? ", " : "", f);
		json_put_string(f, r->faults[i].point);
		(void)fprintf(f, ": %" PRIu64, r->faults[i].count);
	}
	(void)fputs("},\n      \"first_errors\": {", f);
	for (o = 0, first = 1; o < OUTCOME_COUNT; o++) {
		if (!r->first_error[o])
			continue;
		(void)fprintf(f, "%s\"%s\": ", first ? "" : ", ", outcome_name((enum outcome)o));
		json_put_string(f, r->first_error[o]);
		first = 0;
	}
	(void)fputs("},\n      \"evidence\": [", f);
	for (i = 0; i < r->nevidence; i++) {
		(void)fputs(i ? ", " : "", f);
		json_put_string(f, r->evidence[i]);
	}
	(void)fputs("],\n      \"latency_hist_ns\": {", f);
	for (op = 0; op < OP_COUNT; op++) {
		(void)fprintf(f, "%s\"%s\": ", op ? ", " : "", op_name((enum op)op));
		put_hist(f, &r->latency[op]);
	}
	(void)fputs("}\n    }", f);
}

static int write_json(FILE *f, const struct summary *s)
{
	size_t i;

	(void)fprintf(f, "{\n  \"schema_version\": %d,\n", SUMMARY_SCHEMA_VERSION);
	put_key_string(f, "tool", s->tool, 1);
	put_key_string(f, "scenario", s->scenario, 1);
	put_key_string(f, "scenario_file", s->scenario_file, 1);
	put_key_string(f, "description", s->description, 1);
	(void)fprintf(f, "  \"seed\": %" PRIu64 ",\n", s->seed);
	put_key_string(f, "command", s->command, 1);
	put_key_string(f, "replay", s->replay, 1);
	put_key_string(f, "started", s->started, 1);
	(void)fprintf(f, "  \"elapsed_s\": %.3f,\n  \"interrupted\": %s,\n", s->elapsed_s,
		      s->interrupted ? "true" : "false");
	put_key_string(f, "runner", s->runner, 1);
	(void)fputs("  \"python\": {\"version\": ", f);
	json_put_string(f, s->python_version ? s->python_version : "");
	(void)fputs(", \"executable\": ", f);
	json_put_string(f, s->python_executable ? s->python_executable : "");
	(void)fputs(", \"cache_tag\": ", f);
	json_put_string(f, s->cache_tag ? s->cache_tag : "");
	(void)fprintf(f, ", \"magic\": %u},\n", s->magic);
	put_key_string(f, "shared_cache", s->shared_cache, 1);
	put_key_string(f, "cache_dir", s->cache_dir, 1);
	put_key_string(f, "cache_fs", s->cache_fs, 1);
	put_key_string(f, "kernel", s->kernel, 1);
	put_key_string(f, "host", s->host, 1);
	(void)fprintf(f, "  \"cpus\": %u,\n  \"jobs\": %u,\n  \"compile_jobs\": %u,\n"
			 "  \"iterations\": %" PRIu64 ",\n  \"duration_target_s\": %.3f,\n",
		      s->cpus, s->jobs, s->compile_jobs, s->iterations, s->duration_target_s);
	put_key_string(f, "pyc", s->pyc_mode, 1);
	put_key_string(f, "shard", s->shard, 1);
	put_parts(f, s);
	(void)fputs("  \"faults\": [", f);
	for (i = 0; i < s->nfaults; i++) {
		(void)fputs(i ? ", " : "", f);
		json_put_string(f, s->faults[i]);
	}
	(void)fprintf(f, "],\n  \"latency_hist_scheme\": \"log2-linear, %u sub-buckets\",\n",
		      HIST_SUB);
	(void)fputs("  \"results\": [\n", f);
	for (i = 0; i < s->nresults; i++) {
		put_result(f, s, &s->results[i]);
		(void)fputs(i + 1 < s->nresults ? ",\n" : "\n", f);
	}
	(void)fputs("  ]\n}\n", f);
	return ferror(f) ? -1 : 0;
}

const struct format_info format_json = {
	.name = "json",
	.filename = "summary.json",
	.summary = "summary.json: counts, rates, intervals, histograms (schema_version 1)",
	.by_default = 1,
	.write = write_json,
};
