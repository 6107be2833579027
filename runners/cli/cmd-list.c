/*
 * pycstorm list [strategies|scenarios]: what can be run, with the
 * historical source each strategy mirrors and the report each scenario
 * reproduces.
 */
#include "cli.h"

#include "common.h"
#include "fault.h"
#include "pythons.h"
#include "scenario.h"
#include "strategy.h"

#include <stdlib.h>
#include <string.h>

static void list_strategies(void)
{
	size_t i;

	(void)printf("%-15s %s\n", "STRATEGY", "WHAT IT DOES / WHERE IT COMES FROM");
	for (i = 0; i < strategy_count; i++)
		(void)printf("%-15s %s%s\n%-15s   mirrors: %s\n", strategy_table[i]->name,
			     strategy_table[i]->workload ? "[package workload] " : "",
			     strategy_table[i]->summary, "", strategy_table[i]->source);
}

static void list_faults(void)
{
	static const char *const kinds[] = { "probability", "fraction|random", "duration[..duration]",
					     "count", "one of", "any of (a|b)", "name" };
	const struct fault_param *prm;
	char words[256];
	size_t i, k;

	(void)printf("usage: --fault NAME[:KEY=VALUE,...]   e.g. --fault short-write:p=0.05\n\n");
	for (i = 0; i < fault_count; i++) {
		(void)printf("%-13s %s\n", fault_table[i]->name, fault_table[i]->summary);
		(void)printf("%-13s   point: %s%s%s\n", "",
			     fault_table[i]->point ? fault_table[i]->point : "(libfiu's, named by point=)",
			     fault_table[i]->extra_point ? ", " : "",
			     fault_table[i]->extra_point ? fault_table[i]->extra_point : "");
		(void)printf("%-13s   %s\n", "", fault_table[i]->detail);
		for (k = 0; k < fault_table[i]->nparams; k++) {
			prm = &fault_table[i]->params[k];
			fault_choice_words(prm, words, sizeof(words));
			(void)printf("%-13s   %-9s %s%s%s (%s%s%s; default %s)\n", "", prm->name, prm->help,
				     "", "", kinds[prm->kind], words[0] ? " " : "", words,
				     prm->fallback ? prm->fallback : "none, required");
		}
		(void)printf("\n");
	}
}

static int list_scenarios(void)
{
	char *names = cli_scenario_names(), *save = NULL, *name, *path;
	char err[1024];
	struct scenario sc;
	int rc = EXIT_OK;

	(void)printf("%-15s %s\n", "SCENARIO", "DESCRIPTION / REPORT");
	for (name = strtok_r(names, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
		path = cli_find_scenario(name, err, sizeof(err));
		if (path && scenario_load(path, &sc, err, sizeof(err)) == 0) {
			(void)printf("%-15s %s\n", sc.name, sc.description ? sc.description : "");
			if (sc.report)
				(void)printf("%-15s   reproduces: %s\n", "", sc.report);
			scenario_free(&sc);
		} else {
			warn("%s", err);
			rc = EXIT_USAGE;
		}
		free(path);
	}
	free(names);
	return rc;
}

/* pythons [--python PATH]...: what would judge each release, in the order
 * pycstorm searches; the first of a release is the one that judges it. */
static int list_pythons(int argc, char **argv)
{
	struct python_list found;
	const char **given = xcalloc((size_t)argc, sizeof(char *));
	const struct python *py;
	char err[512];
	size_t n = 0, i;
	int k, rc = EXIT_OK;

	for (k = 2; k < argc && rc == EXIT_OK; k++) {
		if (!strcmp(argv[k], "--python") && k + 1 < argc)
			given[n++] = argv[++k];
		else
			die(EXIT_USAGE, "list pythons: unknown argument '%s' (valid: --python PATH)",
			    argv[k]);
	}
	if (pythons_find(&found, given, n, err, sizeof(err)) < 0)
		die(EXIT_SKIP, "list pythons: %s", err);
	(void)printf("%-8s %-9s %-6s %-12s %-16s %s\n", "RELEASE", "VERSION", "MAGIC", "CACHE TAG",
		     "FOUND BY", "PATH");
	for (i = 0; i < found.count; i++) {
		py = &found.items[i];
		(void)printf("%-8s %-9s %-6u %-12s %-16s %s%s\n", py->release, py->version,
			     py->magic & 0xffff, *py->cache_tag ? py->cache_tag : "(none)",
			     py->found_by, py->path,
			     pythons_for_release(&found, py->release) == py ? "" : "  (not used: "
			     "an earlier one judges this release)");
	}
	if (found.count == 0) {
		(void)fprintf(stderr, "pycstorm: list pythons: no interpreter found (pass --python, "
			      "set PYCSTORM_PYTHONS, or put pythonX.Y on PATH)\n");
		rc = EXIT_SKIP;
	}
	pythons_free(&found);
	free(given);
	return rc;
}

static int list_main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "strategies";
	int rc = EXIT_OK;

	if (!strcmp(what, "--help") || !strcmp(what, "-h")) {
		(void)printf("usage: pycstorm list [strategies|scenarios|faults|pythons [--python PATH]...]\n\n"
			     "strategies  the write strategies, each with the code it mirrors\n"
			     "scenarios   the scenarios, each with the report it reproduces\n"
			     "faults      the faults --fault takes, with their parameters\n"
			     "pythons     the interpreters that judge each release's caches\n");
	} else if (!strcmp(what, "pythons")) {
		rc = list_pythons(argc, argv);
	} else if (argc > 2) {
		die(EXIT_USAGE, "list: too many arguments (valid: strategies, scenarios, faults, pythons)");
	} else if (!strcmp(what, "strategies")) {
		list_strategies();
	} else if (!strcmp(what, "scenarios")) {
		rc = list_scenarios();
	} else if (!strcmp(what, "faults")) {
		list_faults();
	} else {
		die(EXIT_USAGE, "list: unknown list '%s' (valid: strategies, scenarios, faults, pythons)", what);
	}
	return rc;
}

const struct command_info command_list = {
	.name = "list",
	.summary = "list strategies, scenarios, faults or pythons",
	.main = list_main,
};
