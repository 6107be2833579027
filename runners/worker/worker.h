/*
 * What a worker is told on its command line. The orchestrator builds the
 * argument vector (worker_build_argv) and the worker parses it
 * (worker_parse_args), so both sides share one definition of the options.
 * The embedded worker and the interpreter worker's driver take the same
 * options.
 */
#ifndef PYCSTORM_WORKER_H
#define PYCSTORM_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "pyc.h"

/* recover: after a power cut, read every cache file once and write nothing. */
enum worker_role { ROLE_COMPILE, ROLE_IMPORT, ROLE_RECOVER };

#define WORKER_MAX_MODULES 64
/* Source versions of one module (a scenario's `versions`). */
#define WORKER_MAX_VERSIONS 8
/* Files a worker keeps per strategy and class when told nothing else. */
#define WORKER_EVIDENCE_MAX 5

struct worker_args {
	const char *strategy;
	const char *cache_kind;          /* "pyc" or a list with json, pickle, package */
	enum worker_role role;
	const char *cache_dir;           /* this strategy's cache folder */
	const char *modules[WORKER_MAX_MODULES];  /* "name:v1path,v2path" */
	size_t nmodules;
	enum pyc_mode pyc_mode;
	uint64_t seed;
	unsigned worker;                 /* index within the strategy */
	uint64_t iterations;             /* 0: run until the deadline */
	uint64_t deadline_ns;            /* CLOCK_MONOTONIC; 0: none */
	int import_writes;               /* an import that misses writes the cache */
	uint64_t tmp_id;                 /* "id(path)" for temporary names */
	uint64_t retry_budget_ns;
	const char *evidence_dir;        /* where corrupt files are kept */
	unsigned evidence_max;           /* files kept per strategy and class */
	int event_fd;
};

/* mtime of source version v, the same on every side and in every run. */
static inline uint32_t worker_source_mtime(size_t v)
{
	return 1700000000u + 86400u * (uint32_t)v;
}

int worker_parse_args(int argc, char **argv, struct worker_args *out);
/* A NULL-terminated argv (program first) for args; free with worker_free_argv. */
char **worker_build_argv(const char *program, const struct worker_args *args);
void worker_free_argv(char **argv);

const char *pyc_mode_name(enum pyc_mode mode);
int pyc_mode_from_name(const char *name);

#endif
