/*
 * The results of a run, as counts and histograms only: everything derived
 * (rates, intervals, percentiles) is computed from these when a report is
 * written, so merged shards and single runs go through the same code.
 */
#ifndef PYCSTORM_SUMMARY_H
#define PYCSTORM_SUMMARY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "outcome.h"
#include "stats.h"

#define SUMMARY_SCHEMA_VERSION 1
#define SUMMARY_MAX_EVIDENCE 64
#define SUMMARY_MAX_FAULT_POINTS 32
/* Fault specs a summary names (a scenario's and the command line's). */
#define SUMMARY_MAX_FAULTS 32

struct fault_count {
	char *point;            /* e.g. pycstorm/write/short */
	uint64_t count;
};

struct strategy_result {
	char *strategy;
	char *scenario;
	int expect_safe;        /* the scenario says this one must not corrupt */
	uint64_t counts[OP_COUNT][OUTCOME_COUNT];
	struct hist latency[OP_COUNT];
	char *first_error[OUTCOME_COUNT];      /* first exact text per class */
	char *evidence[SUMMARY_MAX_EVIDENCE];  /* kept files, relative to the run */
	size_t nevidence;
	struct fault_count faults[SUMMARY_MAX_FAULT_POINTS];
	size_t nfaults;
	uint64_t workers_started;
	/* A merge: the sum of its parts' cycles per second (they ran side by
	 * side). 0 for a single run: cycles / elapsed_s. */
	double cycles_per_s;
};

/* One run folded into a merged summary, in the order `merge` was given. */
struct summary_part {
	char *source;           /* the summary.json it came from */
	char *shard;            /* "I/N", or NULL */
	uint64_t seed;
	double elapsed_s;
	char *replay;
};

/* One command timed by hyperfine: hyperfine.json in the run folder. Shown
 * by the HTML report, never written to summary.json. */
struct bench_entry {
	char *command;
	char *parameters;       /* "strategy=py33-atomic", comma separated */
	double mean_s, stddev_s, median_s, min_s, max_s;
	size_t runs;
};

struct summary {
	char *tool;
	char *scenario;
	char *scenario_file;
	char *description;
	uint64_t seed;
	char *command;          /* how it was run */
	char *replay;           /* the command that runs it again */
	char *started;          /* ISO 8601, UTC */
	double elapsed_s;
	int interrupted;
	char *runner;           /* embedded | interpreter */
	char *python_version;
	char *python_executable;
	char *cache_tag;
	uint32_t magic;
	char *shared_cache;     /* the interpreters that shared one cache, "EXE (VERSION, ROLE); ...", or NULL */
	char *cache_dir;
	char *cache_fs;
	char *kernel;
	char *host;
	unsigned cpus;
	unsigned jobs;
	unsigned compile_jobs;
	uint64_t iterations;
	double duration_target_s;
	char *pyc_mode;
	char *faults[SUMMARY_MAX_FAULTS];
	size_t nfaults;
	char *shard;            /* "I/N", or NULL */
	struct strategy_result *results;
	size_t nresults;
	struct summary_part *parts;   /* what a merge was made of */
	size_t nparts;
	struct bench_entry *bench;    /* hyperfine figures, when there are any */
	size_t nbench;
};

/* Derived figures for one strategy. */
struct result_figures {
	uint64_t cycles;        /* compile + import cycles */
	uint64_t reads;         /* import cycles */
	uint64_t writes;        /* compile cycles + writes done by imports */
	uint64_t outcomes[OUTCOME_COUNT];
	uint64_t corrupt;
	double corrupt_rate;
	double ci_lo, ci_hi;
	struct hist write_latency;   /* compile + write ops */
	struct hist read_latency;    /* import ops */
	double cycles_per_s;
};

/* worker_crash and worker_timeout: outcomes, but not cycles of any op. */
int outcome_is_death(enum outcome o);
void summary_figures(const struct summary *s, const struct strategy_result *r,
		     struct result_figures *f);
struct strategy_result *summary_result(struct summary *s, const char *strategy);
/* Add n to point's count: 0, or -1 (nothing added) when it would pass
 * 2^64-1. Past SUMMARY_MAX_FAULT_POINTS points, a new one is not kept. */
int summary_count_fault(struct strategy_result *r, const char *point, uint64_t n);
/* Would summary_figures wrap adding up r (all its counts, all its
 * histograms)? NULL, or the field that is too large. Summaries read back
 * and merges are checked with it, so figures never wrap. */
const char *summary_result_overflows(const struct strategy_result *r);
void summary_free(struct summary *s);
void summary_free_bench(struct summary *s);

/*
 * Read a summary.json (schema_version SUMMARY_SCHEMA_VERSION) into s, which
 * it initialises. 0, or -1 with one line in err naming the file, where in
 * it and the problem; s is then empty. See summary-load.c.
 */
int summary_load(const char *path, struct summary *s, char *err, size_t errlen);
/* path itself if it is a file, else path/summary.json. Malloc'd. */
char *summary_path(const char *file_or_run_dir);
/*
 * Read dir/hyperfine.json into s->bench when it exists: 0 (also when it
 * does not), or -1 with a message when it is there but unreadable.
 */
int summary_load_bench(const char *dir, struct summary *s, char *err, size_t errlen);

/* "1.2e-05" style, and "< 1.9e-05" for a zero with its upper bound. */
void format_rate(char *buf, size_t size, uint64_t k, uint64_t n, double hi);

#endif
