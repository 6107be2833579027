/*
 * pycstorm exec [options] -- CMD [ARGS]: run a real program under the fault
 * catalogue, the way fiu-run does, but aimed at its caches and scored.
 *
 * A round starts N copies of CMD at once (exec-round.c) against the shared
 * caches; afterwards every cache file the round touched is found from two
 * snapshots (exec-cache.c) and every touched .pyc goes through the
 * classifier (exec-check.c): the damage a round leaves counts even when
 * every copy exited 0 (exec-judge.c). One round is the plain mode, which
 * passes on CMD's exit status; --until-failure / --runs K repeat rounds
 * until one fails (stress mode) and keep that round's evidence and the
 * command replaying it (exec-report.c). This file parses, sets up and runs
 * the two modes.
 *
 * Results go into a run folder as summary.json and summary.md through the
 * same results API as `run`: one result named "exec" whose compile cycles
 * are runs of CMD and whose import cycles are the .pyc files checked.
 */
#include "cli.h"
#include "rundir.h"

#include "common.h"
#include "exec-run.h"
#include "format.h"
#include "fsinfo.h"
#include "proc.h"
#include "pythons.h"
#include "scope.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


extern char **environ;

static volatile sig_atomic_t interrupts;

/* Stress rounds in a row with nothing written or fired before we say so. */
#define IDLE_ROUNDS_WARNING 50

static void on_interrupt(int sig)
{
	(void)sig;
	interrupts++;
}

/* ---- options -------------------------------------------------------------- */

static const char exec_usage[] =
	"usage: pycstorm exec [options] [--] CMD [ARGS...]\n\n"
	"Run CMD with the inject library preloaded and faults aimed at its caches,\n"
	"then judge every cache file it touched the way its reader reads it (.pyc,\n"
	"JSON, pickle, SQLite), with the interpreter that ran. Prints the faults\n"
	"that fired, the damaged files and the temporary files left, and exits\n"
	"with the verdict. Results go into a run folder like `run`'s.\n\n"
	"  -f, --fault SPEC       inject a fault (repeatable), e.g. short-write:p=0.05\n"
	"                         (see 'pycstorm list faults')\n"
	"      --cache-dir DIR    faults hit every file below DIR (repeatable); default:\n"
	"                         files in any __pycache__, .mypy_cache, .pytest_cache\n"
	"                         folder or named dropin.cache below the current folder\n"
	"      --seed N           seed every fault decision (default: random, printed)\n"
	"  -j, --jobs N           run N copies of CMD at once (default: 1); with the\n"
	"                         lock holders, at most 16 per CPU (at least 64)\n"
	"      --until-failure    stress: run rounds of N copies until one fails\n"
	"      --runs K           stress: run at most K rounds, stop at a failure\n"
	"      --timeout TIME     kill a copy still running after TIME (stress: 10m)\n"
	"      --ok-exit LIST     CMD's exit statuses that are fine, e.g. 0,1; any\n"
	"                         other fails the round (default: its status is\n"
	"                         reported, not counted)\n"
	"      --read-back        the judge also reads back .pyc files that are their\n"
	"                         writer's intact complete write (default: their\n"
	"                         header is checked, their body is not)\n"
	"  -o, --out DIR          run folder (default: $XDG_STATE_HOME/pycstorm/runs/<id>,\n"
	"                         else ~/.local/state/pycstorm/runs/<id>)\n"
	"  -q, --quiet            print nothing but errors\n"
	"  -h, --help             this text\n\n"
	"A round fails when a copy dies or times out (or exits outside --ok-exit),\n"
	"or when it left a damaged cache file or a temporary file. Stress mode\n"
	"keeps the failing round's output, fault logs and touched files and prints\n"
	"the command replaying it. Exit status: 0 clean, 1 a round failed, 2 bad\n"
	"usage or a refused scope, 77 cannot run, 130 interrupted.\n";

static const char exec_valid[] =
	"-f/--fault, --cache-dir, --seed, -j/--jobs, --until-failure, --runs, --timeout, "
	"--ok-exit, --read-back, -o/--out, -q/--quiet, -h/--help";

static void bad_value(const char *option, const char *value, const char *want)
{
	die(EXIT_USAGE, "exec: %s '%s' is not %s", option, value, want);
}

/* --ok-exit 0,1: the statuses that are CMD's success. */
static void parse_ok_exit(struct exec_options *o, const char *list)
{
	char *copy = xstrdup(list), *word, *save = NULL;
	uint64_t n;

	o->ok_exit_given = 1;
	for (word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
		if (parse_u64(word, &n) < 0 || n > 255)
			bad_value("--ok-exit", list, "a list of exit statuses from 0 to 255, like 0,1");
		o->ok_exit[n] = 1;
	}
	if (!*list || list[strlen(list) - 1] == ',')
		bad_value("--ok-exit", list, "a list of exit statuses from 0 to 255, like 0,1");
	free(copy);
}

static void take_option(int c, struct exec_options *o)
{
	uint64_t n;

	switch (c) {
	case 'f':
		if (o->nfaults == FAULT_MAX_SPECS)
			die(EXIT_USAGE, "exec: more than %d --fault options", FAULT_MAX_SPECS);
		o->faults[o->nfaults++] = optarg;
		break;
	case 'C':
		if (o->ncache_dirs == EXEC_MAX_DIRS)
			die(EXIT_USAGE, "exec: more than %d --cache-dir options", EXEC_MAX_DIRS);
		if (!*optarg || strchr(optarg, ':'))
			bad_value("--cache-dir", optarg, "a folder name without ':'");
		for (n = 0; n < o->ncache_dirs; n++)
			if (!strcmp(o->cache_dirs[n], optarg))
				die(EXIT_USAGE, "exec: --cache-dir '%s' is given twice", optarg);
		o->cache_dirs[o->ncache_dirs++] = optarg;
		break;
	case 'S':
		if (parse_u64(optarg, &o->seed) < 0)
			bad_value("--seed", optarg, "a whole number");
		o->seed_given = 1;
		break;
	case 'j':
		if (parse_u64(optarg, &n) < 0 || n < 1 || n > EXEC_MAX_JOBS)
			bad_value("--jobs", optarg, "a number from 1 to 256");
		o->jobs = (unsigned)n;
		break;
	case 'U': o->until_failure = 1; break;
	case 'R':
		if (parse_u64(optarg, &o->runs) < 0 || !o->runs)
			bad_value("--runs", optarg, "a positive whole number");
		break;
	case 'T':
		if (parse_duration_ns(optarg, &o->timeout_ns) < 0 || !o->timeout_ns)
			bad_value("--timeout", optarg, "a duration like 30s or 10m");
		o->timeout_text = optarg;
		break;
	case 'K': parse_ok_exit(o, optarg); break;
	case 'o': o->out_dir = optarg; break;
	case 'q': o->quiet = 1; break;
	case 'B': o->read_back = 1; break;
	default: break;
	}
}

static void parse_options(int argc, char **argv, struct exec_options *o)
{
	static const struct option longs[] = {
		{ "fault", required_argument, NULL, 'f' },
		{ "cache-dir", required_argument, NULL, 'C' },
		{ "seed", required_argument, NULL, 'S' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "until-failure", no_argument, NULL, 'U' },
		{ "runs", required_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "ok-exit", required_argument, NULL, 'K' },
		{ "out", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "read-back", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->jobs = 1;
	opterr = 0;
	optind = 0;
	/* '+': the first word that is not our option starts CMD, whose own
	 * options are not ours to parse. */
	while ((c = getopt_long(argc, argv, "+f:j:o:qh", longs, NULL)) != -1) {
		if (c == 'h') {
			(void)fputs(exec_usage, stdout);
			exit(EXIT_OK);
		}
		if (c == '?' && optopt && strchr("fjoCSRTK", optopt))
			die(EXIT_USAGE, "exec: option '%s' needs a value", argv[optind - 1]);
		if (c == '?' || c == ':')
			cli_bad_option("exec", argv[optind - 1], exec_valid);
		take_option(c, o);
	}
	if (o->until_failure && o->runs)
		die(EXIT_USAGE, "exec: give --until-failure or --runs, not both");
	if (optind >= argc)
		die(EXIT_USAGE, "exec: no command given (usage: pycstorm exec [options] -- CMD [ARGS])");
	o->cmd = argv + optind;
}

/* ---- setting up ------------------------------------------------------------ */

/* Parse every --fault; one spec per fault, as in a scenario. */
static void resolve_faults(struct exec_run *x)
{
	char err[1024], *joined = NULL;
	struct fault_spec spec;
	size_t i;

	for (i = 0; i < x->o->nfaults; i++)
		if (fault_parse(x->o->faults[i], &spec, err, sizeof(err)) < 0)
			die(EXIT_USAGE, "exec: %s", err);
	if (x->o->nfaults)
		joined = strbuf_join(x->o->faults, x->o->nfaults, ";");
	if (joined && fault_parse_list(joined, x->faults, FAULT_MAX_SPECS, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "exec: %s", err);
	x->nfaults = x->o->nfaults;
	x->fault_env = joined;
}

/* Copies and lock holders run at once: within the caps, or bad input. */
static void check_caps(const struct exec_run *x)
{
	const struct fault_spec *held = exec_armed(x, &fault_held_lock);
	struct proc_budget b = { .per_group_what = "copies", .groups = 1,
				 .per_group = x->o->jobs, .holders = held ? held->u.held_lock.holders : 0,
				 .grabbers = held ? 1 : 0 };
	char err[256];

	if (proc_check_caps(&b, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "exec: %s", err);
}

/* Can a file be created in folder, or in its nearest ancestor that exists
 * when it does not exist yet? 0 or -errno. */
static int can_write_below(const char *folder)
{
	char *path = xstrdup(folder), *slash;
	int rc = access(path, W_OK | X_OK) < 0 ? -errno : 0;

	while (rc == -ENOENT && strcmp(path, "/") && (slash = strrchr(path, '/')) != NULL) {
		slash[slash == path] = '\0';
		rc = access(path, W_OK | X_OK) < 0 ? -errno : 0;
	}
	free(path);
	return rc;
}

/*
 * A --cache-dir resolved as the inject library resolves it (scope.c), so a
 * trailing '/', '..', a symbolic link or a folder not created yet match
 * what the command writes. A name below which no file can ever be faulted
 * is refused before anything runs: armed faults that could never fire
 * would make a passing round mean nothing.
 */
static char *scope_dir(const struct exec_run *x, const char *dir)
{
	char real[PATH_MAX];
	struct stat st;
	int rc = scope_resolve(dir, real, sizeof(real));

	if (rc < 0)
		die(EXIT_USAGE, "exec: cannot resolve --cache-dir '%s': %s", dir, strerror(-rc));
	if (!strcmp(real, "/"))
		die(EXIT_USAGE, "exec: --cache-dir '%s' is the root folder: faults would reach "
				"every file on the machine", dir);
	if (rc == 0 && stat(real, &st) == 0 && !S_ISDIR(st.st_mode))
		die(EXIT_USAGE, "exec: --cache-dir '%s' is not a folder: no file below it can be "
				"faulted", dir);
	rc = x->nfaults ? can_write_below(real) : 0;
	if (rc < 0)
		die(EXIT_USAGE, "exec: --cache-dir '%s': nothing can be written there (%s), so no "
				"fault could fire", dir, strerror(-rc));
	return xstrdup(real);
}

/* Where faults apply and what is scanned: the folders given, or the named
 * caches below the current folder, which must not be the root: from there
 * they would reach every cache on the machine. Decided before anything is
 * created. */
static void make_scope(struct exec_run *x)
{
	struct exec_scope *sc = &x->scope;
	size_t i;

	for (i = 0; i < x->o->ncache_dirs; i++)
		sc->dirs[sc->ndirs++] = scope_dir(x, x->o->cache_dirs[i]);
	if (!sc->ndirs && !strcmp(x->cwd, "/"))
		die(EXIT_USAGE, "exec: the current folder is '/': the default scope would reach "
				"every cache on the machine; give --cache-dir DIR");
	if (!sc->ndirs) {
		sc->dirs[sc->ndirs++] = xstrdup(x->cwd);
		sc->names = exec_default_names;
		sc->nnames = exec_default_nnames;
	}
	x->inject_dirs = strbuf_join((const char *const *)sc->dirs, sc->ndirs, ":");
	x->inject_names = sc->names ? strbuf_join(sc->names, sc->nnames, ":") : NULL;
}

/* Our own run folders are never scanned. */
static void skip_run_folders(struct exec_run *x)
{
	struct exec_scope *sc = &x->scope;
	char *runs = realpath("results/runs", NULL);

	if (runs)
		sc->skip[sc->nskip++] = runs;
	sc->skip[sc->nskip++] = xstrdup(x->run_dir_abs);
	if (x->runs_dir && (runs = realpath(x->runs_dir, NULL)) != NULL)
		sc->skip[sc->nskip++] = runs;
}

/* Our environment, less what would stop caches being written or move them
 * (our machines set PYTHONDONTWRITEBYTECODE=1). The variables of an exec we
 * may be running inside, and LD_PRELOAD, are the inject environment's
 * (inject-env.h) to replace. */
static char **command_environment(int *dropped_dontwrite)
{
	static const char *const drop[] = { "PYTHONDONTWRITEBYTECODE=", "PYTHONPYCACHEPREFIX=" };
	size_t n = 0, i, k = 0, d;
	char **env;
	int keep;

	while (environ[n])
		n++;
	env = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		for (d = 0, keep = 1; d < sizeof(drop) / sizeof(drop[0]) && keep; d++)
			keep = strncmp(environ[i], drop[d], strlen(drop[d])) != 0;
		if (keep)
			env[k++] = environ[i];
		else if (!strncmp(environ[i], drop[0], strlen(drop[0])))
			*dropped_dontwrite = 1;
	}
	return env;
}

/* The executable file argv0 runs: itself when it has a '/', else the
 * first one on PATH. NULL when there is none. malloc'd. */
static char *on_path(const char *argv0)
{
	const char *path = getenv("PATH"), *p, *end;
	char *found = NULL;

	if (strchr(argv0, '/'))
		return access(argv0, X_OK) == 0 ? xstrdup(argv0) : NULL;
	for (p = path ? path : "/usr/bin:/bin"; p && !found; p = *end ? end + 1 : NULL) {
		end = p + strcspn(p, ":");
		found = xasprintf("%.*s/%s", (int)(end - p), end > p ? p : ".", argv0);
		if (access(found, X_OK) != 0) {
			free(found);
			found = NULL;
		}
	}
	return found;
}

static int python_name(const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	return !strncmp(base, "python", 6) && strspn(base + 6, "0123456789.") == strlen(base + 6);
}

/* The interpreter a script's "#!" line names, directly or through env. */
static char *shebang_python(const char *script)
{
	char line[256] = "", *interp, *arg, *found = NULL;
	FILE *f = fopen(script, "re");

	if (f && fgets(line, sizeof(line), f) && !strncmp(line, "#!", 2)) {
		interp = line + 2 + strspn(line + 2, " \t");
		interp[strcspn(interp, "\r\n")] = '\0';
		arg = interp + strcspn(interp, " \t");
		if (*arg)
			*arg++ = '\0';
		arg += strspn(arg, " \t");
		arg[strcspn(arg, " \t")] = '\0';
		if (python_name(interp))
			found = xstrdup(interp);
		else if (!strcmp(strrchr(interp, '/') ? strrchr(interp, '/') + 1 : interp, "env") &&
			 *arg && python_name(arg))
			found = on_path(arg);
	}
	if (f)
		(void)fclose(f);
	return found;
}

/* What the interpreter at python says it is (pythons.c's probe, the one
 * classify and list pythons use). */
static int probe_python(const char *python, struct exec_python *out)
{
	struct python py;
	int rc = pythons_probe(python, &py);

	if (rc == 0) {
		out->path = py.path;
		out->version = py.version;
		out->release = py.release;
		out->magic = py.magic;
		out->cache_tag = py.cache_tag;
	}
	return rc;
}

/* The interpreter that runs CMD, so its caches are judged by it: argv[0]
 * when that is one (python3, python3.12, a path to one, `python3.12 -m
 * compileall`), else the one its "#!" line names (mypy, pytest-3). When
 * neither, files are judged by the release their magic number names. */
static void find_python(struct exec_run *x)
{
	char *exe = on_path(x->o->cmd[0]), *python = NULL;

	if (exe && python_name(exe)) {
		python = xstrdup(exe);
		x->python.how = "the command";
	} else if (exe && (python = shebang_python(exe)) != NULL) {
		x->python.how = "the command's #! line";
	}
	if (python && probe_python(python, &x->python) < 0)
		x->python.how = NULL;
	free(python);
	free(exe);
}

/*
 * What the copies preload (inject-env.h puts the user's after these). With
 * no fault armed the inject library only records what the copies write
 * (written.h), which saves the judge work: one that cannot be loaded then
 * costs only that. A sanitizer's build of it cannot go into a plain
 * interpreter at all.
 */
static void find_preloads(struct exec_run *x)
{
	if (x->nfaults)
		x->inject_library = cli_inject_library();
#ifndef __SANITIZE_ADDRESS__
	else
		x->inject_library = cli_inject_library_if_usable();
#endif
	if (exec_armed(x, &fault_fiu))
		x->fiu_preload = cli_fiu_preload();
}

/*
 * exec's runs live outside the project it runs in: a run folder in it would
 * be scanned by its tools (pytest collects, compileall compiles). The
 * default is $XDG_STATE_HOME/pycstorm/runs, else ~/.local/state/...; a
 * folder that cannot be had there falls back to the temporary folder.
 */
static char *default_runs_dir(void)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	const char *tmp = getenv("TMPDIR");
	char *dir = NULL;

	if (state && *state == '/')
		dir = xasprintf("%s/pycstorm/runs", state);
	else if (home && *home == '/')
		dir = xasprintf("%s/.local/state/pycstorm/runs", home);
	if (dir && mkdir_p(dir, 0755) < 0) {
		free(dir);
		dir = NULL;
	}
	if (!dir) {
		dir = xasprintf("%s/pycstorm-runs-%ld", tmp && *tmp == '/' ? tmp : "/tmp",
				(long)getuid());
		if (mkdir_p(dir, 0700) < 0)
			die(EXIT_SKIP, "exec: cannot create a folder for the results ('%s'); give -o DIR",
			    dir);
	}
	return dir;
}

/* The run folder: -o DIR, else a new one below the default runs folder,
 * named as `run` names its own. */
static void make_run_dir(struct exec_run *x)
{
	char stamp[32], *dir = NULL;
	time_t t = time(NULL);
	struct tm tm;
	int k;

	if (!x->o->out_dir) {
		x->runs_dir = default_runs_dir();
		(void)gmtime_r(&t, &tm);
		(void)strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		for (k = 1; !dir || access(dir, F_OK) == 0; k++) {
			free(dir);
			dir = k == 1 ? xasprintf("%s/%s-%" PRIu64, x->runs_dir, stamp, x->s.seed)
				     : xasprintf("%s/%s-%" PRIu64 "-%d", x->runs_dir, stamp, x->s.seed, k);
		}
		x->default_out = dir;
	}
	x->run_dir = rundir_create("exec", x->o->out_dir ? x->o->out_dir : x->default_out,
				   x->s.seed, &x->id, &x->run_own);
	x->run_dir_abs = realpath(x->run_dir, NULL);
	if (!x->run_dir_abs)
		die(EXIT_SKIP, "cannot find run folder '%s': %s", x->run_dir, strerror(errno));
}

static void append_word(struct strbuf *line, const char *prefix, const char *word)
{
	strbuf_add(line, prefix);
	strbuf_add_shell_word(line, word);
}

/* The command that runs one round again with this seed: same copies,
 * caches, faults and command. */
static char *replay_command(const struct exec_run *x, uint64_t seed)
{
	struct strbuf line = STRBUF_INIT;
	size_t i;

	strbuf_addf(&line, "pycstorm exec --seed %" PRIu64 " -j %u", seed, x->o->jobs);
	for (i = 0; i < x->o->ncache_dirs; i++)
		append_word(&line, " --cache-dir ", x->o->cache_dirs[i]);
	for (i = 0; i < x->o->nfaults; i++)
		append_word(&line, " --fault ", x->o->faults[i]);
	if (x->o->timeout_text)
		append_word(&line, " --timeout ", x->o->timeout_text);
	strbuf_add(&line, " --");
	for (i = 0; x->o->cmd[i]; i++)
		append_word(&line, " ", x->o->cmd[i]);
	return strbuf_detach(&line);
}

static void fill_metadata(struct exec_run *x, int argc, char **argv)
{
	struct summary *s = &x->s;
	char host[256] = "", *args;
	size_t i;

	s->tool = xstrdup("pycstorm " PYCSTORM_VERSION);
	s->scenario = xstrdup("exec");
	args = strbuf_join((const char *const *)x->o->cmd, (size_t)(argc - (x->o->cmd - argv)), " ");
	s->description = x->dropped_dontwrite
				 ? xasprintf("%s (run without PYTHONDONTWRITEBYTECODE, which was set)",
					     args)
				 : xstrdup(args);
	free(args);
	args = strbuf_join((const char *const *)argv + 1, (size_t)argc - 1, " ");
	s->command = xasprintf("pycstorm exec%s%s", *args ? " " : "", args);
	free(args);
	s->started = rundir_iso_now();
	s->runner = xstrdup("exec");
	if (x->python.path) {
		s->python_executable = xstrdup(x->python.path);
		s->python_version = xstrdup(x->python.version);
	}
	s->cache_dir = xstrdup(x->scope.dirs[0]);
	s->cache_fs = xstrdup(fs_type_name(x->scope.dirs[0]));
	s->kernel = kernel_description();
	(void)gethostname(host, sizeof(host) - 1);
	s->host = xstrdup(host);
	s->cpus = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	s->jobs = s->compile_jobs = x->o->jobs;
	for (i = 0; i < x->nfaults && i < sizeof(s->faults) / sizeof(s->faults[0]); i++)
		s->faults[s->nfaults++] = xstrdup(x->faults[i].text);
	x->res = summary_result(s, "exec");
}

static void prepare(const struct exec_options *o, struct exec_run *x, int argc, char **argv)
{
	char *path;
	int rc;

	memset(x, 0, sizeof(*x));
	x->judge = (struct exec_prejudge)EXEC_PREJUDGE_NONE;
	x->o = o;
	x->stress = o->until_failure || o->runs;
	x->worker = cli_worker_program();
	if (access(x->worker, X_OK) != 0)
		die(EXIT_SKIP, "the worker '%s' is missing: run 'make' first", x->worker);
	resolve_faults(x);
	check_caps(x);
	find_preloads(x);
	x->cwd = getcwd(NULL, 0);
	if (!x->cwd)
		die(EXIT_SKIP, "exec: cannot tell the current folder: %s", strerror(errno));
	x->s.seed = o->seed_given ? o->seed : rundir_random_seed();
	x->env = command_environment(&x->dropped_dontwrite);
	find_python(x);
	make_scope(x);
	make_run_dir(x);
	skip_run_folders(x);
	/* The faults' shared state (delete-pending markers, journals) lives in
	 * a folder of exec's own inside the run folder, never in the user's
	 * tree; all of it is ours, and it goes at the end. With no fault armed
	 * there is none. */
	if (x->nfaults) {
		x->state_dir = xasprintf("%s/.state", x->run_dir_abs);
		rundir_claim("exec", "state folder", x->state_dir, OWNED_STATE,
			     OWNED_CREATE | OWNED_CLEAR, &x->state_own);
		rundir_own("exec", &x->state_own, "*");
	}
	/* The inject library's records of complete writes (written.h) stay
	 * with the run: `pycstorm classify --written RUN/written` reads them. */
	if (x->inject_library) {
		x->written_dir = xasprintf("%s/written", x->run_dir_abs);
		rc = mkdir_p(x->written_dir, 0755);
		if (rc < 0)
			die(EXIT_SKIP, "exec: cannot create '%s': %s", x->written_dir, strerror(-rc));
	}
	/* The copies' output is always kept (and, in one round, passed on as
	 * it comes), so how a copy ended is read from the same place always. */
	x->output_dir = xasprintf("%s/output", x->run_dir_abs);
	rc = mkdir_p(x->output_dir, 0755);
	if (rc < 0)
		die(EXIT_SKIP, "exec: cannot create '%s': %s", x->output_dir, strerror(-rc));
	fill_metadata(x, argc, argv);
	path = xasprintf("%s/events.jsonl", x->run_dir_abs);
	x->events = fopen(path, "we");
	if (!x->events)
		die(EXIT_SKIP, "cannot create '%s': %s", path, strerror(errno));
	free(path);
	x->progress = !o->quiet && x->stress && isatty(2) && !getenv("CI");
	/* exec's results are one program's run, written at its end: without
	 * fsync (still replaced whole). Their fsyncs took 4-7 ms here, more
	 * than the rest of exec's writing; `run`'s results, minutes of
	 * measuring, stay durable. */
	write_files_durable(0);
	x->start_ns = now_ns();
}

static void announce(const struct exec_run *x)
{
	char *scope = exec_scope_text(x), rounds[64] = "";

	if (x->stress && x->o->runs)
		(void)snprintf(rounds, sizeof(rounds), ", up to %" PRIu64 " round%s until one fails",
			       x->o->runs, x->o->runs == 1 ? "" : "s");
	else if (x->stress)
		(void)snprintf(rounds, sizeof(rounds), ", rounds until one fails");
	exec_say(x, "seed %" PRIu64 "; %u cop%s%s; faults: %s", x->s.seed, x->o->jobs,
	    x->o->jobs == 1 ? "y" : "ies at once", rounds, x->fault_env ? x->fault_env : "none");
	exec_say(x, "caches: %s; results: %s", scope, x->run_dir);
	if (x->python.path)
		exec_say(x, "python: %s %s (from %s): it judges the caches", x->python.path,
			 x->python.version, x->python.how);
	else
		exec_say(x, "python: none found from the command; a .pyc is judged by the release "
			    "its magic number names, other caches by python3");
	if (x->dropped_dontwrite)
		exec_say(x, "PYTHONDONTWRITEBYTECODE was set: removed for the command, so its "
			    "caches are written");
	free(scope);
}

/* ---- the two modes -------------------------------------------------------------- */

static void say_start_failed(const struct exec_run *x, const struct round_facts *rd)
{
	char why[256];

	warn("exec: cannot start '%s': %s", x->o->cmd[0],
	     proc_start_error(-rd->start_error, why, sizeof(why)));
}

/* The verdict as an exit status: 77 a copy could not start, 130
 * interrupted, 1 the round failed, 0 clean. */
static int verdict_status(const struct round_facts *rd)
{
	return rd->start_error < 0 ? EXIT_SKIP : rd->interrupted || interrupts ? EXIT_INTERRUPTED
					       : rd->failed ? EXIT_FAILED : EXIT_OK;
}

static int single_round(struct exec_run *x)
{
	struct round_facts rd;
	int rc;

	exec_run_round(x, 1, x->s.seed, &rd, &interrupts);
	exec_keep_round(x, &rd);
	exec_rerun_after_cut(x, &rd, &interrupts);
	x->s.replay = replay_command(x, rd.seed);
	exec_report_single(x, &rd);
	/* Stopped by us, the copy's own status (143 for the SIGTERM we passed
	 * on) is not CMD's answer: an interrupted exec exits 130, as run does. */
	rc = verdict_status(&rd);
	if (rd.start_error < 0)
		say_start_failed(x, &rd);
	exec_release_round(x, &rd);
	return rc;
}

static uint64_t round_seed(uint64_t seed, unsigned number)
{
	return derive_seed(seed, 0x726f756e64ull /* "round" */, number, 0) % 10000000000ull;
}

static int stress_rounds(struct exec_run *x)
{
	struct round_facts rd;
	unsigned number;
	int last = 0, rc;

	for (number = 1; !last; number++) {
		exec_run_round(x, number, round_seed(x->s.seed, number), &rd, &interrupts);
		last = rd.failed || rd.start_error < 0 || interrupts ||
		       (x->o->runs && number >= x->o->runs);
		x->idle_rounds = rd.ntouched || rd.faults_fired ? 0 : x->idle_rounds + 1;
		if (x->idle_rounds == IDLE_ROUNDS_WARNING)
			warn("exec: %u rounds in a row wrote no cache file and fired no fault: this "
			     "run may never fail (give --runs K, or a command that writes)",
			     IDLE_ROUNDS_WARNING);
		if (!last) {
			exec_draw_progress(x, &rd);
			exec_release_round(x, &rd);
		}
	}
	exec_keep_round(x, &rd);
	exec_rerun_after_cut(x, &rd, &interrupts);
	x->s.replay = replay_command(x, rd.seed);
	exec_report_stress(x, &rd);
	rc = verdict_status(&rd);
	if (rd.start_error < 0)
		say_start_failed(x, &rd);
	exec_release_round(x, &rd);
	return rc;
}

/* ---- the command ------------------------------------------------------------------ */

static void install_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_interrupt };

	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
}

static void finish(struct exec_run *x)
{
	size_t i;
	int rc;

	exec_prejudge_stop(&x->judge);
	x->s.elapsed_s = exec_elapsed_s(x);
	x->s.interrupted = interrupts > 0;
	rc = format_write_defaults(x->run_dir_abs, &x->s);
	if (rc < 0)
		warn("cannot write the results into '%s': %s", x->run_dir, strerror(-rc));
	rundir_point_latest(x->id);
	if (x->state_dir)
		(void)owned_remove(&x->state_own);
	owned_release(&x->run_own);
	(void)fclose(x->events);
	summary_free(&x->s);
	for (i = 0; i < x->scope.ndirs; i++)
		free(x->scope.dirs[i]);
	for (i = 0; i < x->scope.nskip; i++)
		free(x->scope.skip[i]);
	free(x->env);
	free(x->fault_env);
	free(x->inject_library);
	free(x->inject_dirs);
	free(x->inject_names);
	free(x->cwd);
	free(x->worker);
	free(x->run_dir);
	free(x->run_dir_abs);
	free(x->id);
	free(x->state_dir);
	free(x->written_dir);
	free(x->output_dir);
	free(x->runs_dir);
	free(x->default_out);
	free(x->python.path);
	free(x->python.version);
	free(x->python.release);
	free(x->python.cache_tag);
}

static int exec_main(int argc, char **argv)
{
	struct exec_options o;
	struct exec_run x;
	int rc;

	parse_options(argc, argv, &o);
	prepare(&o, &x, argc, argv);
	install_handlers();
	announce(&x);
	rc = x.stress ? stress_rounds(&x) : single_round(&x);
	finish(&x);
	return rc;
}

const struct command_info command_exec = {
	.name = "exec",
	.summary = "run a real program under the faults, aimed at its caches",
	.main = exec_main,
};
