/*
 * The run loop: start the workers (fork + exec, before any interpreter
 * exists in this process), read their records, keep the counts, replace
 * workers that die, stop on time, on Ctrl-C or when workers keep dying.
 */
#ifndef PYCSTORM_ORCHESTRATOR_H
#define PYCSTORM_ORCHESTRATOR_H

#include <stddef.h>
#include <stdint.h>

#include "fault.h"
#include "scenario.h"
#include "strategy.h"
#include "summary.h"

#define PLAN_MAX_STRATEGIES 32
#define PLAN_MAX_PYTHONS 8

/* A --strategy-file as one more strategy: info's name, source and file
 * point into path, which the plan owns. */
struct plan_strategy_file {
	struct strategy_info info;
	char *path;                  /* the file's real path */
};

/*
 * What to run. Ownership: whoever builds the plan (cmd-run.c) owns the
 * non-const strings and the strategy files, and releases them after the
 * run; the const ones point at memory the builder keeps for as long.
 * orchestrate only reads the plan.
 */
struct run_plan {
	const struct scenario *sc;
	const struct strategy_info *strategies[PLAN_MAX_STRATEGIES];
	size_t nstrategies;
	struct plan_strategy_file files[PLAN_MAX_STRATEGIES];   /* strategies[] points here too */
	size_t nfiles;
	unsigned jobs;               /* workers per strategy */
	unsigned compile_jobs;       /* of which compile */
	uint64_t duration_ns;        /* 0 when iterations is set */
	uint64_t iterations;         /* cycles per worker */
	uint64_t seed;
	uint64_t cycle_timeout_ns;   /* a worker silent this long is hung */
	const char *cache_root;      /* one folder per strategy below it */
	const char *run_dir;
	char *worker_program;
	char *modules_dir;           /* scenarios/modules */
	int progress;                /* draw the live line on stderr */
	struct fault_spec faults[FAULT_MAX_SPECS];
	size_t nfaults;
	char *fault_env;             /* the specs joined with ';', for the workers */
	char *inject_library;        /* preloaded when faults are armed or preload is set, else NULL */
	const char *fiu_preload;     /* libfiu's POSIX preload, for the fiu fault */
	int preload;                 /* preload the inject library even with no faults */
	const char *python;          /* interpreter runner: this binary runs driver.py */
	int python_legacy;           /* it is 2.7: -E -s, for it has no -I */
	/* A shared cache (run --shared-cache, pythons = shared | upgrade): the
	 * interpreters that split each strategy's workers, one cache folder for
	 * all; shared[0] is python. 0 when each run has one interpreter. */
	const char *shared[PLAN_MAX_PYTHONS];
	size_t nshared;
	int shared_by_role;          /* upgrade: shared[0] compiles, the others import */
	char *driver;                /* pycstorm-driver.py */
	char *strategies_lib;        /* libpycstorm-strategies.so, for the driver */
	int trace;                   /* workers write trace/<strategy>-w<k>.log */
	int until_reproduced;        /* stop at the first outcome the scenario calls reproduced */
	unsigned shard_index;        /* 0-based: this run is slice shard_index of shard_count */
	unsigned shard_count;        /* 1 when not sharded */
};

enum run_status {
	RUN_COMPLETE,
	RUN_REPRODUCED,              /* until_reproduced, and it was */
	RUN_INTERRUPTED,             /* Ctrl-C or SIGTERM: results are partial */
	RUN_ABORTED,                 /* workers could not run: see message */
	RUN_REFUSED,                 /* what the run was given is bad input: see message */
};

/* Run the plan, filling s (which the caller has set up with its metadata). */
enum run_status orchestrate(const struct run_plan *plan, struct summary *s,
			    char *message, size_t message_len);

#endif
