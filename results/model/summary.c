/* The results model; see summary.h. */
#include "summary.h"

#include "common.h"

#include <stdlib.h>
#include <string.h>

void summary_figures(const struct summary *s, const struct strategy_result *r,
		     struct result_figures *f)
{
	int op, o;

	memset(f, 0, sizeof(*f));
	for (op = 0; op < OP_COUNT; op++)
		for (o = 0; o < OUTCOME_COUNT; o++)
			f->outcomes[o] += r->counts[op][o];
	/* Worker deaths are not cycles of any op, but they are outcomes (the
	 * orchestrator files them under import). */
	for (o = 0; o < OUTCOME_COUNT; o++) {
		if (outcome_is_death((enum outcome)o))
			continue;
		/* a recover read (after a power cut) is a read like an import's */
		f->reads += r->counts[OP_IMPORT][o] + r->counts[OP_RECOVER][o];
		f->writes += r->counts[OP_COMPILE][o] + r->counts[OP_WRITE][o];
		f->cycles += r->counts[OP_COMPILE][o] + r->counts[OP_IMPORT][o] +
			     r->counts[OP_RECOVER][o];
	}
	f->corrupt = 0;
	for (o = 0; o < OUTCOME_COUNT; o++)
		if (outcome_is_corrupt((enum outcome)o))
			f->corrupt += r->counts[OP_IMPORT][o] + r->counts[OP_RECOVER][o];
	f->corrupt_rate = f->reads ? (double)f->corrupt / (double)f->reads : 0.0;
	stats_wilson(f->corrupt, f->reads, STATS_Z95, &f->ci_lo, &f->ci_hi);
	hist_init(&f->write_latency);
	hist_merge(&f->write_latency, &r->latency[OP_COMPILE]);
	hist_merge(&f->write_latency, &r->latency[OP_WRITE]);
	hist_init(&f->read_latency);
	hist_merge(&f->read_latency, &r->latency[OP_IMPORT]);
	hist_merge(&f->read_latency, &r->latency[OP_RECOVER]);
	if (r->cycles_per_s > 0)
		f->cycles_per_s = r->cycles_per_s;
	else
		f->cycles_per_s = s->elapsed_s > 0 ? (double)f->cycles / s->elapsed_s : 0.0;
}

int outcome_is_death(enum outcome o)
{
	return o == OUTCOME_WORKER_CRASH || o == OUTCOME_WORKER_TIMEOUT;
}

struct strategy_result *summary_result(struct summary *s, const char *strategy)
{
	struct strategy_result *r;
	size_t i;
	int op;

	for (i = 0; i < s->nresults; i++)
		if (strcmp(s->results[i].strategy, strategy) == 0)
			return &s->results[i];
	s->results = xrealloc(s->results, (s->nresults + 1) * sizeof(*s->results));
	r = &s->results[s->nresults++];
	memset(r, 0, sizeof(*r));
	r->strategy = xstrdup(strategy);
	r->scenario = xstrdup(s->scenario ? s->scenario : "");
	for (op = 0; op < OP_COUNT; op++)
		hist_init(&r->latency[op]);
	return r;
}

const char *summary_result_overflows(const struct strategy_result *r)
{
	uint64_t counts = 0, hist_count = 0, hist_sum = 0;
	const char *what = NULL;
	int op, o;

	for (op = 0; op < OP_COUNT && !what; op++) {
		for (o = 0; o < OUTCOME_COUNT && !what; o++)
			if (__builtin_add_overflow(counts, r->counts[op][o], &counts))
				what = "by_op counts";
		if (!what && __builtin_add_overflow(hist_count, r->latency[op].count, &hist_count))
			what = "latency_hist_ns counts";
		if (!what && __builtin_add_overflow(hist_sum, r->latency[op].sum, &hist_sum))
			what = "latency_hist_ns sums";
	}
	return what;
}

int summary_count_fault(struct strategy_result *r, const char *point, uint64_t n)
{
	uint64_t sum;
	size_t i;
	int rc = 0;

	for (i = 0; i < r->nfaults && strcmp(r->faults[i].point, point) != 0; i++)
		;
	if (i < r->nfaults) {
		if (__builtin_add_overflow(r->faults[i].count, n, &sum))
			rc = -1;
		else
			r->faults[i].count = sum;
	} else if (r->nfaults < SUMMARY_MAX_FAULT_POINTS) {
		/* Kept sorted by name, so the same counts always read the same. */
		for (i = r->nfaults; i > 0 && strcmp(r->faults[i - 1].point, point) > 0; i--)
			r->faults[i] = r->faults[i - 1];
		r->faults[i].point = xstrdup(point);
		r->faults[i].count = n;
		r->nfaults++;
	}
	return rc;
}

static void free_result(struct strategy_result *r)
{
	size_t i;

	free(r->strategy);
	free(r->scenario);
	for (i = 0; i < OUTCOME_COUNT; i++)
		free(r->first_error[i]);
	for (i = 0; i < r->nevidence; i++)
		free(r->evidence[i]);
	for (i = 0; i < r->nfaults; i++)
		free(r->faults[i].point);
}

void summary_free_bench(struct summary *s)
{
	size_t i;

	for (i = 0; i < s->nbench; i++) {
		free(s->bench[i].command);
		free(s->bench[i].parameters);
	}
	free(s->bench);
	s->bench = NULL;
	s->nbench = 0;
}

void summary_free(struct summary *s)
{
	size_t i;

	for (i = 0; i < s->nresults; i++)
		free_result(&s->results[i]);
	free(s->results);
	for (i = 0; i < s->nparts; i++) {
		free(s->parts[i].source);
		free(s->parts[i].shard);
		free(s->parts[i].replay);
	}
	free(s->parts);
	summary_free_bench(s);
	for (i = 0; i < s->nfaults; i++)
		free(s->faults[i]);
	free(s->tool);
	free(s->scenario);
	free(s->scenario_file);
	free(s->description);
	free(s->command);
	free(s->replay);
	free(s->started);
	free(s->runner);
	free(s->python_version);
	free(s->python_executable);
	free(s->cache_tag);
	free(s->shared_cache);
	free(s->cache_dir);
	free(s->cache_fs);
	free(s->kernel);
	free(s->host);
	free(s->pyc_mode);
	free(s->shard);
	memset(s, 0, sizeof(*s));
}

void format_rate(char *buf, size_t size, uint64_t k, uint64_t n, double hi)
{
	if (n == 0)
		(void)snprintf(buf, size, "n/a");
	else if (k == 0)
		(void)snprintf(buf, size, "< %.2g", hi);
	else
		(void)snprintf(buf, size, "%.3g", (double)k / (double)n);
}
