/*
 * pycstorm repro TARGET: a field report on the user's own screen. Runs the
 * scenario that matches the report until its error appears (bounded by
 * --timeout), then proves it: the kept file is imported by a real
 * interpreter in a fresh process, whose own traceback is printed, together
 * with the seed and the command that replays the run.
 *
 * Exit status: 0 reproduced and confirmed, 1 not reproduced in time (or
 * not confirmed by the real interpreter), 2 bad usage, 77 cannot run.
 */
#include "cli.h"

#include "common.h"
#include "proc.h"
#include "fault.h"
#include "inject-env.h"
#include "summary.h"
#include "pythons.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PYTHON_EXE
#define PYTHON_EXE "python3"
#endif

struct target {
	const char *name;          /* as the user types it */
	const char *scenario;      /* the scenario that reproduces it */
	const char *strategies;    /* the ones that can show it (NULL: all of the scenario's);
				      the safe controls would only slow the reproduction */
	enum outcome outcome;
	const char *error;         /* the error as the report quotes it */
	const char *scenario_py27; /* the scenario under --python 2.7 (its modules in 2.7 syntax) */
};

static const struct target targets[] = {
	{ "bad-marshal", "lp1010077", "py27-import,py27-pycompile", OUTCOME_BAD_MARSHAL,
	  "ValueError: bad marshal data (unknown type code)", "lp1010077-py27" },
	{ "eof", "gh126606", "py33-atomic,native", OUTCOME_EOF, "EOFError: marshal data too short" },
	{ "permission-error", "mypy3215", NULL, OUTCOME_PERMISSION_ERROR,
	  "PermissionError: [WinError 5] Access is denied (here: [Errno 13])" },
	{ "module-not-found", "portage663324", "merge-direct", OUTCOME_MODULE_NOT_FOUND,
	  "ModuleNotFoundError: No module named '...'" },
	{ "interpreter-crash", "zero-block", "py33-atomic,native", OUTCOME_INTERPRETER_CRASH,
	  "Fatal Python error: Segmentation fault (a zero block in the bytecode)" },
};

#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

struct repro_options {
	const struct target *target;
	const char *scenario;      /* the target's, or its 2.7 one */
	const char *python;
	const char *timeout;
	const char *seed;
	const char *out;
	const char *jobs;
};

static const char repro_usage[] =
	"usage: pycstorm repro TARGET [--python PATH] [--timeout TIME] [--seed N] [-j N] [-o DIR]\n\n"
	"Run the scenario behind a field report until its error appears, then\n"
	"import the kept file with a real interpreter and show its traceback.\n\n"
	"targets:\n"
	"  bad-marshal       ValueError: bad marshal data (scenario lp1010077)\n"
	"  eof               EOFError: marshal data too short (scenario gh126606)\n"
	"  permission-error  PermissionError on os.replace (scenario mypy3215)\n"
	"  module-not-found  ModuleNotFoundError during a merge (scenario portage663324)\n"
	"  interpreter-crash a segfault from a zero block in the bytecode (scenario zero-block)\n\n"
	"  --python PATH   run the workers as that interpreter and prove with it\n"
	"                  (default: the embedded worker, proved with %s)\n"
	"  --timeout TIME  give up after TIME of cycling, from each worker's start (default 60s)\n"
	"  --seed N        the seed (default: random, printed)\n"
	"  -j N            workers per strategy (default: the scenario's)\n"
	"  -o DIR          run folder (default: results/runs/<id>)\n\n"
	"Exit status: 0 reproduced and confirmed, 1 not reproduced in time.\n";

static void parse_repro(int argc, char **argv, struct repro_options *o)
{
	static const struct option longs[] = {
		{ "python", required_argument, NULL, 'Y' },
		{ "timeout", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 'S' },
		{ "out", required_argument, NULL, 'o' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n;
	size_t i;
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout = "60s";
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:j:h", longs, NULL)) != -1) {
		switch (c) {
		case 'Y': o->python = optarg; break;
		case 't':
			if (parse_duration_ns(optarg, &n) < 0 || n == 0)
				die(EXIT_USAGE, "repro: --timeout '%s' is not a duration like 60s", optarg);
			o->timeout = optarg;
			break;
		case 'S': o->seed = optarg; break;
		case 'o': o->out = optarg; break;
		case 'j': o->jobs = optarg; break;
		case 'h':
			(void)printf(repro_usage, PYTHON_EXE);
			exit(EXIT_OK);
		default:
			if (optopt)
				die(EXIT_USAGE, "repro: option '%s' needs a value", argv[optind - 1]);
			cli_bad_option("repro", argv[optind - 1],
				       "--python, --timeout, --seed, -j/--jobs, -o/--out, -h/--help");
		}
	}
	if (optind >= argc)
		die(EXIT_USAGE, "repro: which report? (valid: bad-marshal, eof, permission-error, "
				"module-not-found, interpreter-crash)");
	for (i = 0; i < NTARGETS; i++)
		if (!strcmp(argv[optind], targets[i].name))
			o->target = &targets[i];
	if (!o->target)
		die(EXIT_USAGE, "repro: unknown target '%s' (valid: bad-marshal, eof, "
				"permission-error, module-not-found, interpreter-crash)", argv[optind]);
	if (optind + 1 < argc)
		die(EXIT_USAGE, "repro: unexpected argument '%s'", argv[optind + 1]);
}

/* Run the scenario with --until-reproduced; the summary comes back. */
static int run_until_reproduced(const struct repro_options *o, struct summary *s, char **run_dir)
{
	const char *argv[24];
	int argc = 0;

	argv[argc++] = "run";
	argv[argc++] = o->scenario;
	argv[argc++] = "--until-reproduced";
	argv[argc++] = "-q";
	argv[argc++] = "-d";
	argv[argc++] = o->timeout;
	if (o->seed) {
		argv[argc++] = "--seed";
		argv[argc++] = o->seed;
	}
	if (o->python) {
		argv[argc++] = "--python";
		argv[argc++] = o->python;
	}
	if (o->out) {
		argv[argc++] = "-o";
		argv[argc++] = o->out;
	}
	if (o->jobs) {
		argv[argc++] = "-j";
		argv[argc++] = o->jobs;
	}
	if (o->target->strategies) {
		argv[argc++] = "-s";
		argv[argc++] = o->target->strategies;
	}
	argv[argc] = NULL;
	optind = 0;
	return cmd_run_with(argc, (char **)argv, s, run_dir);
}

/* Run python with `statement` in dir; its stderr into *err (malloc'd). */
static int run_python(const char *python, const char *dir, const char *statement,
		      char **err, char *const *env)
{
	char *code = xasprintf("import sys; sys.path.insert(0, '.'); %s", statement);
	char *const argv[] = { (char *)python, "-B", "-c", code, NULL };
	char *path = xasprintf("%s/.pycstorm-stderr", dir);
	size_t len;
	int status = -1, fd;
	pid_t pid = proc_fork();

	if (pid == 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || chdir(dir) < 0)
			_exit(127);
		(void)dup2(fd, 2);
		fd = open("/dev/null", O_WRONLY);
		(void)dup2(fd, 1);
		proc_unblock();
		if (env)
			execve(python, argv, env);
		else
			execv(python, argv);
		_exit(127);
	}
	if (pid > 0)
		(void)waitpid(pid, &status, 0);
	*err = NULL;
	/* Its last lines are what is shown; it may have printed far more. */
	if (read_file_tail(path, 256u << 10, err, &len) < 0)
		*err = xstrdup("");
	(void)unlink(path);
	free(path);
	free(code);
	return status;
}

static char *readme_field(const char *folder, const char *key)
{
	char *path = xasprintf("%s/README", folder), *text = NULL, *line, *save = NULL, *found = NULL;
	size_t len, klen = strlen(key);

	if (read_file(path, &text, &len) == 0)
		for (line = strtok_r(text, "\n", &save); line && !found;
		     line = strtok_r(NULL, "\n", &save))
			if (!strncmp(line, key, klen) && line[klen] == ':' && line[klen + 1] == ' ')
				found = xstrdup(line + klen + 2);
	free(text);
	free(path);
	return found;
}

static const char *last_line(char *text)
{
	char *end = text + strlen(text), *start;

	while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	start = strrchr(text, '\n');
	return start ? start + 1 : text;
}

/*
 * The same error names the file where it was met: the run's cache there,
 * the evidence folder here. Compare messages with every absolute path cut
 * to its last component.
 */
static char *without_folders(const char *text)
{
	char *out = xmalloc(strlen(text) + 1), *o = out;
	const char *p = text, *end, *slash;

	while (*p) {
		if (*p == '/' && (p == text || strchr(" ('\"", p[-1]))) {
			end = p + strcspn(p, " )'\",");
			for (slash = p; slash < end; slash++)
				if (*slash == '/')
					p = slash + 1;
		}
		*o++ = *p++;
	}
	*o = '\0';
	return out;
}

static int same_error(const char *a, const char *b)
{
	char *x = without_folders(a), *y = without_folders(b);
	int same = strcmp(x, y) == 0;

	free(x);
	free(y);
	return same;
}

static void print_indented(const char *text)
{
	const char *p = text, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		(void)printf("    %.*s\n", (int)(nl ? nl - p : (long)strlen(p)), p);
		p = nl ? nl + 1 : p + strlen(p);
	}
}

/* Import one kept file in a fresh real interpreter: 0 if it fails the same
 * way (for a crash: if a signal ends it, whatever it managed to print). */
static int confirm_evidence(const char *python, const char *folder, enum outcome outcome)
{
	char *check = readme_field(folder, "check"), *want = readme_field(folder, "error");
	char *err = NULL;
	int rc = -1, status;

	if (check && want) {
		(void)printf("  $ cd %s && %s -B -c \"import sys; sys.path.insert(0, '.'); %s\"\n",
			     folder, python, check);
		status = run_python(python, folder, check, &err, NULL);
		print_indented(err);
		if (outcome == OUTCOME_INTERPRETER_CRASH) {
			if (status != -1 && WIFSIGNALED(status))
				(void)printf("    (killed by signal %d)\n", WTERMSIG(status));
			rc = status != -1 && WIFSIGNALED(status) ? 0 : -1;
		} else
			rc = same_error(last_line(err), want) ? 0 : -1;
		if (rc < 0)
			(void)printf("  (the interpreter's error differs from the one recorded: %s)\n",
				     want);
	}
	free(check);
	free(want);
	free(err);
	return rc;
}

/*
 * A refused rename leaves no file to keep. The proof is the error itself:
 * the real interpreter's os.replace onto a file this process holds, under
 * the same inject library and the same Windows rules.
 */
static int confirm_permission_error(const char *python)
{
	char *dir = xasprintf("%s/pycstorm-repro-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	char *lib = cli_program_file("libpycstorm-inject.so"), *target, *err = NULL, *state;
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	struct inject_env ie = INJECT_ENV_INIT;
	char **base, **env;
	int fd = -1, rc = -1;

	if (!mkdtemp(dir))
		goto out_nodir;
	target = xasprintf("%s/mod.cpython-311.pyc", dir);
	state = xasprintf("%s/.state", dir);
	(void)mkdir(state, 0755);
	/* Read-write: an OFD read lock needs a descriptor open for reading. */
	fd = open(target, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0 && write(fd, "old", 3) == 3 && fcntl(fd, F_OFD_SETLK, &fl) == 0) {
		ie.library = lib;
		ie.faults = "held-lock:holders=1,p=1";
		ie.dirs = dir;
		ie.state_dir = state;
		ie.cache_root = dir;
		/* a fixed environment, with a sanitizer build's settings */
		base = inject_env_fixed_base();
		env = inject_env_build(base, &ie);
		inject_env_free(base);
		(void)printf("  $ %s -B -c \"open('new.tmp', 'wb').write(b'new'); "
			     "os.replace('new.tmp', 'mod.cpython-311.pyc')\"\n"
			     "    (the destination held open by another process, as a scanner would)\n",
			     python);
		(void)run_python(python, dir,
				 "import os; open('new.tmp', 'wb').write(b'new'); "
				 "os.replace('new.tmp', 'mod.cpython-311.pyc')", &err, env);
		print_indented(err);
		rc = strncmp(last_line(err), "PermissionError: [Errno 13] Permission denied", 45) == 0
			     ? 0 : -1;
		inject_env_free(env);
	}
	if (fd >= 0)
		(void)close(fd);
	free(err);
	free(target);
	free(state);
	(void)remove_tree(dir);
out_nodir:
	free(lib);
	free(dir);
	return rc;
}

/* The evidence folders of strategy r for the target's class, in order. */
static int confirm_any(const struct repro_options *o, const char *python, const char *run_dir,
		       const struct strategy_result *r)
{
	const char *cls = outcome_name(o->target->outcome);
	char *folder;
	size_t i;
	int rc = -1;

	for (i = 0; i < r->nevidence && rc < 0; i++) {
		if (!strstr(r->evidence[i], cls))
			continue;
		folder = xasprintf("%s/%s", run_dir, r->evidence[i]);
		rc = confirm_evidence(python, folder, o->target->outcome);
		free(folder);
	}
	return rc;
}

/*
 * Did strategy r reproduce the target, as the orchestrator counts it? A
 * class that leaves evidence counts only once a file of it was kept: a
 * half-merged package the merge completed before the worker could copy it
 * was seen, but there is nothing to hand to the real interpreter.
 */
static int reproduced_by(const struct target *t, const struct summary *s,
			 const struct strategy_result *r, uint64_t *seen_unkept)
{
	struct result_figures fig;
	const char *cls = outcome_name(t->outcome);
	size_t i;
	int kept = !outcome_leaves_evidence(t->outcome);

	summary_figures(s, r, &fig);
	for (i = 0; i < r->nevidence && !kept; i++)
		kept = strstr(r->evidence[i], cls) != NULL;
	if (fig.outcomes[t->outcome] && !kept)
		*seen_unkept += fig.outcomes[t->outcome];
	return fig.outcomes[t->outcome] && kept;
}

/* Is python a 2.7, whose scenarios need modules in 2.7 syntax? */
static int is_python27(const char *python)
{
	struct python_list list;
	char err[512];
	int found = pythons_find_release(&list, &python, 1, "2.7", err, sizeof(err)) == 0 &&
		    list.count && !strcmp(list.items[0].release, "2.7");

	pythons_free(&list);
	return found;
}

static int repro_main(int argc, char **argv)
{
	struct repro_options o;
	struct summary s = { 0 };
	char *run_dir = NULL;
	const char *python;
	const struct strategy_result *hit = NULL;
	uint64_t seen_unkept = 0;
	size_t i;
	int rc;

	parse_repro(argc, argv, &o);
	python = o.python ? o.python : PYTHON_EXE;
	o.scenario = o.target->scenario;
	if (o.python && o.target->scenario_py27 && is_python27(o.python))
		o.scenario = o.target->scenario_py27;
	(void)printf("pycstorm repro %s: scenario %s, up to %s%s%s\n", o.target->name,
		     o.scenario, o.timeout, o.python ? ", workers run as " : "",
		     o.python ? o.python : "");
	(void)fflush(stdout);
	rc = run_until_reproduced(&o, &s, &run_dir);
	if (rc != EXIT_OK) {
		summary_free(&s);
		free(run_dir);
		return rc;
	}
	for (i = 0; i < s.nresults && !hit; i++)
		if (reproduced_by(o.target, &s, &s.results[i], &seen_unkept))
			hit = &s.results[i];
	(void)printf("seed %" PRIu64 "; run folder %s\n", s.seed, run_dir);
	if (!hit) {
		if (seen_unkept)
			(void)printf("seen %" PRIu64 " time%s, but no copy of it was kept\n",
				     seen_unkept, seen_unkept == 1 ? "" : "s");
		(void)printf("not reproduced within %s (%.1f s); try a longer --timeout or more -j\n",
			     o.timeout, s.elapsed_s);
		rc = EXIT_FAILED;
	} else {
		(void)printf("reproduced after %.1f s by strategy %s: %s\n\n"
			     "the real interpreter (%s), in a fresh process:\n", s.elapsed_s,
			     hit->strategy, hit->first_error[o.target->outcome]
				     ? hit->first_error[o.target->outcome] : o.target->error, python);
		rc = o.target->outcome == OUTCOME_PERMISSION_ERROR ? confirm_permission_error(python)
								   : confirm_any(&o, python, run_dir, hit);
		if (rc == 0)
			(void)printf("\nconfirmed. Hand it on:\n  pycstorm repro %s --seed %" PRIu64
				     "%s%s\n  pycstorm replay %s\n", o.target->name, s.seed,
				     o.python ? " --python " : "", o.python ? o.python : "", run_dir);
		else
			(void)printf("\nthe harness saw it, but no kept file failed the same way in "
				     "the real interpreter\n");
		rc = rc == 0 ? EXIT_OK : EXIT_FAILED;
	}
	summary_free(&s);
	free(run_dir);
	return rc;
}

const struct command_info command_repro = {
	.name = "repro",
	.summary = "reproduce a field report and confirm it with a real interpreter",
	.main = repro_main,
};
