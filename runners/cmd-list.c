/*
 * pycstorm list [strategies|scenarios]: what can be run, with the
 * historical source each strategy mirrors and the report each scenario
 * reproduces.
 */
#include "cli.h"

#include "common.h"
#include "scenario.h"
#include "strategy.h"

#include <stdlib.h>
#include <string.h>

static void list_strategies(void)
{
	size_t i;

	(void)printf("%-15s %s\n", "STRATEGY", "WHAT IT DOES / WHERE IT COMES FROM");
	for (i = 0; i < strategy_count; i++)
		(void)printf("%-15s %s\n%-15s   mirrors: %s\n", strategy_table[i]->name,
			     strategy_table[i]->summary, "", strategy_table[i]->source);
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

static int list_main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "strategies";
	int rc = EXIT_OK;

	if (!strcmp(what, "--help") || !strcmp(what, "-h")) {
		(void)printf("usage: pycstorm list [strategies|scenarios]\n\n"
			     "strategies  the write strategies, each with the code it mirrors\n"
			     "scenarios   the scenarios, each with the report it reproduces\n");
	} else if (argc > 2) {
		die(EXIT_USAGE, "list: too many arguments (valid: strategies, scenarios)");
	} else if (!strcmp(what, "strategies")) {
		list_strategies();
	} else if (!strcmp(what, "scenarios")) {
		rc = list_scenarios();
	} else {
		die(EXIT_USAGE, "list: unknown list '%s' (valid: strategies, scenarios)", what);
	}
	return rc;
}

const struct command_info command_list = {
	.name = "list",
	.summary = "list strategies or scenarios",
	.main = list_main,
};
