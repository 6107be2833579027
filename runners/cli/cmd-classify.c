/*
 * pycstorm classify [--source FILE.py] FILE.pyc...: what is wrong with a
 * cache file from the field. The work is done by the worker binary, which
 * hosts the interpreter, so the verdict is the real marshal module's.
 */
#include "cli.h"

#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char classify_usage[] =
	"usage: pycstorm classify [--source FILE.py] FILE.pyc...\n\n"
	"For each file: the header (magic and the Python release it means, flags,\n"
	"mtime and size or hash), whether importlib accepts the header against the\n"
	"source beside it (X/__pycache__/NAME.TAG.pyc -> X/NAME.py, or --source),\n"
	"whether the body unmarshals, the exact error and the outcome class.\n\n"
	"Exit status: 0 every file would import, 1 one would fail, 2 unreadable.\n";

static int classify_main_cli(int argc, char **argv)
{
	char *worker = cli_worker_program();
	char **args;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			(void)fputs(classify_usage, stdout);
			return EXIT_OK;
		}
		if (argv[i][0] == '-' && strcmp(argv[i], "--source"))
			cli_bad_option("classify", argv[i], "--source, -h/--help");
		if (!strcmp(argv[i], "--source") && (i != 1 || i + 1 >= argc))
			die(EXIT_USAGE, "classify: --source FILE.py comes first, followed by the files");
		if (!strcmp(argv[i], "--source"))
			i++;
	}
	if (argc < 2 || (argc == 3 && !strcmp(argv[1], "--source")))
		die(EXIT_USAGE, "classify: no files given (usage: pycstorm classify FILE.pyc...)");
	if (access(worker, X_OK) != 0)
		die(EXIT_SKIP, "the worker '%s' is missing: run 'make' first", worker);
	args = xcalloc((size_t)argc + 2, sizeof(char *));
	args[0] = worker;
	args[1] = "--classify";
	for (i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	(void)fflush(stdout);
	execv(worker, args);
	die(EXIT_SKIP, "cannot run '%s': %s", worker, strerror(errno));
}

const struct command_info command_classify = {
	.name = "classify",
	.summary = "explain what is wrong with a .pyc file",
	.main = classify_main_cli,
};
