/*
 * The pycstorm command: subcommands are one file each (cmd-*.c), listed
 * once in COMMAND_LIST, the way git's command table works.
 */
#ifndef PYCSTORM_CLI_H
#define PYCSTORM_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "registry.h"

struct command_info {
	const char *name;
	const char *summary;
	int (*main)(int argc, char **argv);
};

#define COMMAND_LIST(X)                                                      \
	X(run)                                                               \
	X(list)                                                              \
	X(replay)                                                             \
	X(repro)                                                              \
	X(crashpoints)                                                        \
	X(matrix)                                                             \
	X(classify)                                                          \
	X(report)                                                            \
	X(compare)                                                           \
	X(merge)                                                             \
	X(gate)                                                              \
	X(exec)

#define X(id) extern const struct command_info command_##id;
COMMAND_LIST(X)
#undef X

REGISTRY_DECLARE(command_info, command)

/* Where pycstorm's own files are, found from the running executable:
 * <prefix>/bin/pycstorm next to <prefix>/scenarios (a checkout) or
 * <prefix>/share/pycstorm/scenarios (installed). Malloc'd. */
char *cli_scenarios_dir(void);
char *cli_worker_program(void);
/* A file that lives next to the worker program (the inject library, the
 * driver, the strategies library). Malloc'd. */
char *cli_program_file(const char *name);
/* The inject library, for a command about to arm faults: exit 77 with one
 * line when it is missing or cannot be loaded (no libfiu). Malloc'd. */
char *cli_inject_library(void);
/* The same, or NULL when it is missing or cannot be loaded. */
char *cli_inject_library_if_usable(void);
/* libfiu's POSIX preload, for the fiu fault: exit 77 with one line when it
 * is missing. */
const char *cli_fiu_preload(void);
/* A fresh scratch folder for command, marked as a temporary cache folder
 * and held in own (owned_remove it at the end); its path, malloc'd. Exit
 * 77 with one line when it cannot be made. */
struct owned;
char *cli_scratch_folder(const char *command, struct owned *own);
/* Resolve a scenario name or file to a path; NULL with a message if unknown. */
char *cli_find_scenario(const char *name_or_path, char *err, size_t errlen);
/* "a, b, c": the scenario names in the scenarios folder. Malloc'd. */
char *cli_scenario_names(void);
/* "a, b, c": the built-in strategy names. Malloc'd. */
char *cli_strategy_names(void);
/* `pycstorm run` with argv; see cmd-run.c. */
struct summary;
int cmd_run_with(int argc, char **argv, struct summary *out, char **run_dir_out);
/* The comparison table into out; returns the number of gated regressions. */
int compare_summaries(FILE *out, const char *base_name, const struct summary *base,
		      const char *cand_name, const struct summary *cand, double tolerance);
/* Exit 2 with one line naming the strategies on each side when no
 * strategy has cycles in both: a comparison of nothing passes nothing. */
void compare_require_common(const char *command, const char *base_label,
			    const struct summary *base, const char *cand_label,
			    const struct summary *cand);
/* The fault matrix of each strategy under each interpreter (none: the
 * embedded worker), in that order; see cmd-matrix.c. Dies with 77 when a
 * write cannot be recorded. */
struct matrix_set;
int matrix_run(const char *const *pythons, size_t npythons, const char *const *strategies,
	       size_t nstrategies, struct matrix_set *out);
/* Exit 2 naming command when name is not a strategy matrix can replay. */
void matrix_check_strategy(const char *command, const char *name);
/* Fail with one line naming the valid options, exit 2. */
void cli_bad_option(const char *command, const char *arg, const char *valid)
	__attribute__((noreturn));

#endif
