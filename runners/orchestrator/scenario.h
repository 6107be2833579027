/*
 * Scenarios: one declarative file per field report (scenarios/NAME.scn).
 * "key = value" lines (LF line ends), '#' comments; each key once, but
 * "fault", one spec a line. Lists name each item once, none empty. A file
 * that does not parse is rejected with "file:line: problem"; the lines of
 * what only the run can check (strategy, fault and module names) are kept
 * for its messages.
 */
#ifndef PYCSTORM_SCENARIO_H
#define PYCSTORM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "outcome.h"
#include "pyc.h"

#define SCENARIO_MAX_LIST 32

struct scenario {
	char *name;
	char *path;                /* the file it came from */
	char *description;
	char *report;              /* the field report it reproduces */
	char *strategies[SCENARIO_MAX_LIST];
	size_t nstrategies;
	unsigned strategies_line;
	char *expect_safe[SCENARIO_MAX_LIST];  /* strategies that must show 0 corruption */
	size_t nexpect_safe;
	unsigned expect_safe_line;
	char *modules[SCENARIO_MAX_LIST];      /* fixture names (identifiers) under scenarios/modules */
	size_t nmodules;
	unsigned modules_line;
	char *faults[SCENARIO_MAX_LIST];       /* fault specs, as --fault takes them */
	unsigned fault_lines[SCENARIO_MAX_LIST];
	size_t nfaults;
	unsigned versions;         /* source versions per module (v1..vN) */
	unsigned jobs;             /* workers per strategy */
	double compile_share;      /* fraction of the jobs that compile */
	uint64_t duration_ns;
	uint64_t iterations;
	enum pyc_mode pyc_mode;
	int import_writes;
	int shared_tmp_id;         /* all workers use one "id(path)", as forked ones do */
	int pythons_mode;          /* with several --python: SCENARIO_PYTHONS_* */
	uint64_t retry_budget_ns;
	int reproduced[OUTCOME_COUNT];  /* outcomes that count as reproduced */
	char *cache_kind;          /* "pyc", or a comma list of pyc, json, pickle; or package */
};

/*
 * pythons = separate (each interpreter runs the plan in turn, the version
 * matrix), shared (every strategy's workers split between the
 * interpreters, one cache) or upgrade (shared: the first interpreter's
 * workers compile, the others' import, as during an apt upgrade).
 */
enum { SCENARIO_PYTHONS_SEPARATE, SCENARIO_PYTHONS_SHARED, SCENARIO_PYTHONS_UPGRADE };

/* Parse path; on error fill err ("file:line: problem") and return -1. */
int scenario_load(const char *path, struct scenario *sc, char *err, size_t errlen);
/* Parse text already in memory (used by scenario_load and the fuzzer). */
int scenario_parse(const char *path, const char *text, size_t len,
		   struct scenario *sc, char *err, size_t errlen);
void scenario_free(struct scenario *sc);
/* The keys a scenario may hold, space separated, for messages and docs. */
const char *scenario_keys(void);

#endif
