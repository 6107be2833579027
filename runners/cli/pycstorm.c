/*
 * pycstorm: the entry point. Dispatches to a subcommand from the command
 * table and finds the project's own files relative to the executable.
 */
#include "cli.h"

#include "common.h"
#include "owned.h"
#include "strbuf.h"
#include "strategy.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PYTHON_EXE
#define PYTHON_EXE "python3"
#endif
#ifndef PYTHON_BUILD_VERSION
#define PYTHON_BUILD_VERSION "?"
#endif
#ifndef SHAREDIR
#define SHAREDIR "/usr/local/share/pycstorm"
#endif
#ifndef LIBEXECDIR
#define LIBEXECDIR "/usr/local/lib/pycstorm"
#endif
#ifndef FIU_POSIX_PRELOAD
#define FIU_POSIX_PRELOAD "/usr/lib/fiu/fiu_posix_preload.so"
#endif

#define X(id) &command_##id,
REGISTRY_DEFINE(command_info, command, COMMAND_LIST(X))
#undef X

static char *exe_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n <= 0)
		return xstrdup(".");
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	return xstrdup(buf);
}

/*
 * A file of the checkout if there is one: $PYCSTORM_HOME/rel, else rel in
 * a folder above the executable (bin/ and build/sanitize/bin/ both work);
 * otherwise the installed one.
 */
static char *project_path(const char *rel, const char *installed)
{
	const char *home = getenv("PYCSTORM_HOME");
	char *dir = exe_dir(), *path = NULL, *real = NULL;
	int up;

	if (home && *home) {
		path = xasprintf("%s/%s", home, rel);
		if (access(path, F_OK) == 0)
			real = realpath(path, NULL);
		free(path);
	}
	for (up = 1; up <= 3 && !real; up++) {
		path = xasprintf("%s/%.*s%s", dir, 3 * up, "../../../", rel);
		if (access(path, F_OK) == 0)
			real = realpath(path, NULL);
		free(path);
	}
	free(dir);
	return real ? real : xstrdup(installed);
}

char *cli_scenarios_dir(void)
{
	return project_path("scenarios", SHAREDIR "/scenarios");
}

char *cli_worker_program(void)
{
	char *dir = exe_dir(), *path = xasprintf("%s/pycstorm-worker", dir);

	free(dir);
	if (access(path, X_OK) == 0)
		return path;
	free(path);
	return xstrdup(LIBEXECDIR "/pycstorm-worker");
}

char *cli_program_file(const char *name)
{
	char *dir = cli_worker_program(), *slash = strrchr(dir, '/'), *path;

	if (slash)
		*slash = '\0';
	path = slash ? xasprintf("%s/%s", dir, name) : xstrdup(name);
	free(dir);
	return path;
}

/*
 * ld.so skips a preload it cannot load (libfiu missing, a broken build)
 * with a warning per process, and the faults silently do not happen. Load
 * it once here instead: its constructor does nothing without
 * PYCSTORM_FAULTS, and RTLD_LOCAL keeps its symbols out of our way.
 * Returns its path, or NULL with why: dlerror's words, or NULL when the
 * file is not there at all.
 */
static char *load_inject_library(const char **why)
{
	char *path = cli_program_file("libpycstorm-inject.so");
	void *handle = NULL;

	*why = NULL;
	if (access(path, R_OK) == 0 && (handle = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
		*why = dlerror();
	if (handle) {
		(void)dlclose(handle);
	} else {
		free(path);
		path = NULL;
	}
	return path;
}

char *cli_inject_library(void)
{
	const char *why;
	char *path = load_inject_library(&why);

	if (!path && !why)
		die(EXIT_SKIP, "the inject library '%s' is missing: run 'make' first",
		    cli_program_file("libpycstorm-inject.so"));
	if (!path)
		die(EXIT_SKIP, "cannot load the inject library: %s (is libfiu installed? "
			       "Debian: libfiu0)", why);
	return path;
}

/* The inject library where it loads, else NULL: for exec with nothing
 * armed, which then only goes without the write records. */
char *cli_inject_library_if_usable(void)
{
	const char *why;

	return load_inject_library(&why);
}

/*
 * A scratch folder of its own for command (crashpoints, matrix), under
 * $TMPDIR or /tmp, marked temporary so a later command removes it when
 * this one is killed; the ones such commands left behind go first.
 */
char *cli_scratch_folder(const char *command, struct owned *own)
{
	const char *tmp = getenv("TMPDIR"), *parent = tmp && *tmp ? tmp : "/tmp";
	char *prefix = xasprintf("pycstorm-%s-", command), why[256];
	int rc;

	(void)owned_sweep(parent, prefix);
	rc = owned_make_temp(own, parent, prefix, OWNED_CACHE, OWNED_TEMPORARY);
	if (rc < 0)
		die(EXIT_SKIP, "%s: cannot make a scratch folder: %s", command,
		    owned_problem(own, rc, why, sizeof(why)));
	free(prefix);
	return xstrdup(own->path);
}

const char *cli_fiu_preload(void)
{
	if (access(FIU_POSIX_PRELOAD, R_OK) != 0)
		die(EXIT_SKIP, "the fiu fault needs libfiu's preload '%s' (Debian: libfiu0)",
		    FIU_POSIX_PRELOAD);
	return FIU_POSIX_PRELOAD;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

char *cli_scenario_names(void)
{
	struct strbuf list = STRBUF_INIT;
	char *dir = cli_scenarios_dir();
	struct dirent **entries = NULL;
	int n, i;

	n = scandir(dir, &entries, NULL, alphasort);
	for (i = 0; i < n; i++) {
		if (has_suffix(entries[i]->d_name, ".scn")) {
			if (list.len)
				strbuf_add(&list, ", ");
			strbuf_addn(&list, entries[i]->d_name, strlen(entries[i]->d_name) - 4);
		}
		free(entries[i]);
	}
	free(entries);
	free(dir);
	return strbuf_detach(&list);
}

char *cli_strategy_names(void)
{
	struct strbuf list = STRBUF_INIT;

	STRBUF_ADD_NAMES(&list, strategy_table, strategy_count, ", ");
	return strbuf_detach(&list);
}

char *cli_find_scenario(const char *name, char *err, size_t errlen)
{
	char *dir, *path, *names;

	if (strchr(name, '/') || has_suffix(name, ".scn")) {
		if (access(name, R_OK) == 0)
			return xstrdup(name);
		(void)snprintf(err, errlen, "cannot read scenario file '%s'", name);
		return NULL;
	}
	dir = cli_scenarios_dir();
	path = xasprintf("%s/%s.scn", dir, name);
	free(dir);
	if (access(path, R_OK) == 0)
		return path;
	free(path);
	names = cli_scenario_names();
	(void)snprintf(err, errlen, "unknown scenario '%s' (valid: %s)", name, names);
	free(names);
	return NULL;
}

void cli_bad_option(const char *command, const char *arg, const char *valid)
{
	die(EXIT_USAGE, "%s: unknown option '%s' (valid: %s)", command, arg, valid);
}

static void usage(FILE *out)
{
	size_t i;

	(void)fprintf(out,
		      "usage: pycstorm [--version] [--help] <command> [<args>]\n\n"
		      "Reproduce Python bytecode-cache corruption on demand and score\n"
		      "write strategies by corruption rate and latency.\n\ncommands:\n");
	for (i = 0; i < command_count; i++)
		(void)fprintf(out, "  %-10s %s\n", command_table[i]->name, command_table[i]->summary);
	(void)fprintf(out, "\n'pycstorm <command> --help' describes one command.\n"
			   "Exit codes: 0 ok, 1 regression or not reproduced, 2 bad usage or input,\n"
			   "77 environment cannot run, 99 internal error, 130 interrupted.\n");
}

int main(int argc, char **argv)
{
	struct strbuf names = STRBUF_INIT;
	const struct command_info *cmd;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		(void)printf("pycstorm %s (embedded worker built against Python %s, %s)\n",
			     PYCSTORM_VERSION, PYTHON_BUILD_VERSION, PYTHON_EXE);
		return EXIT_OK;
	}
	if ((cmd = command_find(argv[1])) != NULL)
		return cmd->main(argc - 1, argv + 1);
	STRBUF_ADD_NAMES(&names, command_table, command_count, ", ");
	die(EXIT_USAGE, "unknown command '%s' (valid: %s)", argv[1], names.buf);
}
