/*
 * What a worker is told on its command line. The orchestrator builds the
 * argument vector (worker_build_argv) and the worker parses it
 * (worker_parse_args), so both sides share one definition of the options.
 * The embedded worker and the interpreter worker's driver take the same
 * options, all listed in WORKER_OPTIONS.
 */
#ifndef PYCSTORM_WORKER_H
#define PYCSTORM_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "pyc.h"

/* recover: after a power cut, read every cache file once and write nothing. */
#define WORKER_ROLE_LIST(X)                                                  \
	X(COMPILE, "compile")                                                \
	X(IMPORT, "import")                                                  \
	X(RECOVER, "recover")

enum worker_role {
#define X(id, name) ROLE_##id,
	WORKER_ROLE_LIST(X)
#undef X
	ROLE_COUNT
};

/*
 * Limits and constants both runners share. driver.py does not restate
 * them: the make rule for pycstorm-driver.py writes them into it
 * (gen-driver-tables.c), together with the option table below.
 */
#define WORKER_MAX_MODULES 64
#define WORKER_MAX_VERSIONS 8            /* source versions per module */
#define WORKER_EVIDENCE_MAX 5            /* files kept per strategy and class */
#define WORKER_FLUSH_NS 20000000ull      /* send a sample batch at least this often */
#define WORKER_HEARTBEAT_MS 1000         /* a sign of life while waiting on the judge */
#define WORKER_MTIME_BASE 1700000000u    /* mtime of source version 1 */
#define WORKER_MTIME_STEP 86400u         /* and one day more per version */

#define WORKER_STR_(x) #x
#define WORKER_STR(x) WORKER_STR_(x)

/*
 * Every worker option, once: X(name, kind, field, default, required).
 * worker-args.c expands it into the parser and the builder, and
 * gen-driver-tables.c into the driver's table, so the embedded worker,
 * the driver and the orchestrator cannot disagree on a name or a default.
 * kind says how the text maps to the field of struct worker_args:
 *   STR text, LIST repeatable text, ROLE and PYC a name from their lists,
 *   U64 / UINT / INT a decimal number, BOOL 0 or 1.
 * A default is the text the option would be given (NULL: none). Options
 * are "--name value" pairs only, so parsing stays a table walk.
 */
#define WORKER_OPTIONS(X)                                                    \
	X("strategy", STR, strategy, NULL, 1)                                \
	X("role", ROLE, role, "compile", 0)                                  \
	X("cache", STR, cache_dir, NULL, 1)                                  \
	X("cache-kind", STR, cache_kind, "pyc", 0)                           \
	X("module", LIST, modules, NULL, 1)                                  \
	X("pyc", PYC, pyc_mode, "timestamp", 0)                              \
	X("seed", U64, seed, "0", 0)                                         \
	X("worker", UINT, worker, "0", 0)                                    \
	X("iterations", U64, iterations, "0", 0)                             \
	X("deadline-ns", U64, deadline_ns, "0", 0)                           \
	X("duration-ns", U64, duration_ns, "0", 0)                           \
	X("import-writes", BOOL, import_writes, "1", 0)                      \
	X("tmp-id", U64, tmp_id, "0", 0)                                     \
	X("retry-budget-ns", U64, retry_budget_ns, "100000000", 0)           \
	X("evidence", STR, evidence_dir, NULL, 0)                            \
	X("evidence-max", UINT, evidence_max, WORKER_STR(WORKER_EVIDENCE_MAX), 0) \
	X("event-fd", INT, event_fd, NULL, 1)                                \
	X("trace", STR, trace, NULL, 0)                                      \
	X("runner", STR, runner, "interpreter", 0)                           \
	X("strategies-lib", STR, strategies_lib, NULL, 0)

struct worker_args {
	const char *strategy;            /* a name, or "file:PATH" for --strategy-file */
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
	uint64_t duration_ns;            /* else: run this long from hello on */
	int import_writes;               /* an import that misses writes the cache */
	uint64_t tmp_id;                 /* "id(path)" for temporary names */
	uint64_t retry_budget_ns;
	const char *evidence_dir;        /* where corrupt files are kept */
	unsigned evidence_max;           /* files kept per strategy and class */
	int event_fd;                    /* the records' pipe (EVENT_FD) */
	const char *trace;               /* a file to append one line per cycle to */
	const char *runner;              /* the driver's: who runs it (embedded, interpreter) */
	const char *strategies_lib;      /* the driver's: libpycstorm-strategies.so */
};

/* mtime of source version v, the same on every side and in every run. */
static inline uint32_t worker_source_mtime(size_t v)
{
	return WORKER_MTIME_BASE + WORKER_MTIME_STEP * (uint32_t)v;
}

/* Every option at its default (required ones unset, event_fd -1). */
void worker_args_defaults(struct worker_args *args);
/* The defaults plus one compile cycle of module_spec through strategy into
 * cache_dir, seed 1, records on EVENT_FD: the single write crashpoints and
 * matrix trace and replay (worker 0 writes version 1, worker 1 version 2). */
void worker_args_one_write(struct worker_args *a, const char *strategy, const char *cache_dir,
			   const char *module_spec, unsigned worker_index);
/* Defaults, then argv (program first); 0, or -1 with a line on stderr. */
int worker_parse_args(int argc, char **argv, struct worker_args *out);
/* A NULL-terminated argv (program first) for args; free with worker_free_argv. */
char **worker_build_argv(const char *program, const struct worker_args *args);
void worker_free_argv(char **argv);

const char *worker_role_name(enum worker_role role);
const char *pyc_mode_name(enum pyc_mode mode);
int pyc_mode_from_name(const char *name);

#endif
