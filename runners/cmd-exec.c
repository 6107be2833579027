/*
 * pycstorm exec [options] -- CMD [ARGS]: run a real program under the fault
 * catalogue, the way fiu-run does, but aimed at its caches and scored.
 *
 * A round starts N copies of CMD at once (exec-round.c) against the shared
 * caches; afterwards every cache file the round touched is found from two
 * snapshots (exec-cache.c) and every touched .pyc goes through the
 * classifier (exec-check.c): the damage a round leaves counts even when
 * every copy exited 0. One round is the plain mode, which passes on CMD's
 * exit status; --until-failure / --runs K repeat rounds until one fails
 * (stress mode) and keep that round's evidence and the command replaying it.
 *
 * Results go into a run folder as summary.json and summary.md through the
 * same results API as `run`: one result named "exec" whose compile cycles
 * are runs of CMD and whose import cycles are the .pyc files checked.
 */
#include "cli.h"

#include "common.h"
#include "exec-cache.h"
#include "exec-check.h"
#include "exec-round.h"
#include "fault.h"
#include "format.h"
#include "fsinfo.h"
#include "summary.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FIU_POSIX_PRELOAD
#define FIU_POSIX_PRELOAD "/usr/lib/fiu/fiu_posix_preload.so"
#endif

#define STRESS_TIMEOUT_NS (600ull * 1000000000ull)
#define MAX_JOBS 256
/* Touched files copied into the run folder, at most. */
#define MAX_KEPT_FILES 10000
/* Fault lines and damaged files printed, at most; the rest are in the folder. */
#define MAX_PRINTED 10

extern char **environ;

struct exec_options {
	const char *faults[FAULT_MAX_SPECS];
	size_t nfaults;
	const char *cache_dirs[EXEC_MAX_DIRS];
	size_t ncache_dirs;
	uint64_t seed;
	int seed_given;
	unsigned jobs;
	int until_failure;
	uint64_t runs;               /* stress: at most this many rounds */
	uint64_t timeout_ns;
	const char *timeout_text;    /* as given, for the replay command */
	const char *out_dir;
	int quiet;
	char **cmd;
};

/* Everything one `pycstorm exec` keeps between rounds. */
struct exec_run {
	const struct exec_options *o;
	int stress;
	struct exec_scope scope;
	char *cwd;
	char *worker;
	char *fault_env;             /* the specs joined with ';', or NULL */
	struct fault_spec faults[FAULT_MAX_SPECS];
	size_t nfaults;
	char *preload;
	char *inject_dirs, *inject_names;
	char **env;
	char *run_dir, *run_dir_abs, *id, *state_dir, *output_dir;
	FILE *events;
	struct summary s;
	struct strategy_result *res;
	uint64_t start_ns;
	uint64_t runs, failed_runs;
	uint64_t exit_counts[256 + 65 + 1];   /* by exit status, then by signal, then timeouts */
	unsigned round;
	int progress;
};

/* One round's facts, kept until it is judged and, if it matters, kept. */
struct round {
	unsigned number;
	uint64_t seed;
	struct exec_copy *copies;
	int outcome[MAX_JOBS];
	char *error[MAX_JOBS];
	struct exec_snapshot before, after;
	const struct exec_cache_file **touched;
	size_t ntouched;
	const char **pycs;           /* the touched .pyc files */
	struct exec_verdict *verdicts;
	size_t npycs;
	size_t damaged;
	int copy_failed;             /* the first copy that failed, or -1 */
	int failed;
	int start_error;             /* -errno: a copy could not be started */
};

static volatile sig_atomic_t interrupts;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupts++;
}

/* ---- options -------------------------------------------------------------- */

static const char exec_usage[] =
	"usage: pycstorm exec [options] [--] CMD [ARGS...]\n\n"
	"Run CMD with the inject library preloaded and faults aimed at its caches,\n"
	"then check every .pyc it touched with the real interpreter. Prints the\n"
	"faults that fired and the files an import would fail on, and exits with\n"
	"CMD's status. Results go into a run folder like `run`'s.\n\n"
	"  -f, --fault SPEC       inject a fault (repeatable), e.g. short-write:p=0.05\n"
	"                         (see 'pycstorm list faults')\n"
	"      --cache-dir DIR    faults hit every file below DIR (repeatable); default:\n"
	"                         files in any __pycache__, .mypy_cache, .pytest_cache\n"
	"                         folder or named dropin.cache below the current folder\n"
	"      --seed N           seed every fault decision (default: random, printed)\n"
	"  -j, --jobs N           run N copies of CMD at once (default: 1)\n"
	"      --until-failure    stress: run rounds of N copies until one fails\n"
	"      --runs K           stress: run at most K rounds, stop at a failure\n"
	"      --timeout TIME     kill a copy still running after TIME (stress: 10m)\n"
	"  -o, --out DIR          run folder (default: results/runs/<id>)\n"
	"  -q, --quiet            print nothing but errors\n"
	"  -h, --help             this text\n\n"
	"A round fails when a copy exits non-zero, dies or times out, or when a\n"
	"touched .pyc would fail to import. Stress mode keeps the failing round's\n"
	"output, fault logs and touched files and prints the command replaying it.\n"
	"Exit status: CMD's (one round); 1 a round failed, 0 none did (stress);\n"
	"2 bad usage, 77 cannot run, 130 interrupted.\n";

static const char exec_valid[] =
	"-f/--fault, --cache-dir, --seed, -j/--jobs, --until-failure, --runs, --timeout, "
	"-o/--out, -q/--quiet, -h/--help";

static void bad_value(const char *option, const char *value, const char *want)
{
	die(EXIT_USAGE, "exec: %s '%s' is not %s", option, value, want);
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
		o->cache_dirs[o->ncache_dirs++] = optarg;
		break;
	case 'S':
		if (parse_u64(optarg, &o->seed) < 0)
			bad_value("--seed", optarg, "a whole number");
		o->seed_given = 1;
		break;
	case 'j':
		if (parse_u64(optarg, &n) < 0 || n < 1 || n > MAX_JOBS)
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
	case 'o': o->out_dir = optarg; break;
	case 'q': o->quiet = 1; break;
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
		{ "out", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
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
		if (c == '?' && optopt && strchr("fjoCSRT", optopt))
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
	char err[1024], *joined = NULL, *next;
	struct fault_spec spec;
	size_t i;

	for (i = 0; i < x->o->nfaults; i++) {
		if (fault_parse(x->o->faults[i], &spec, err, sizeof(err)) < 0)
			die(EXIT_USAGE, "exec: %s", err);
		next = xasprintf("%s%s%s", joined ? joined : "", joined ? ";" : "", x->o->faults[i]);
		free(joined);
		joined = next;
	}
	if (joined && fault_parse_list(joined, x->faults, FAULT_MAX_SPECS, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "exec: %s", err);
	x->nfaults = x->o->nfaults;
	x->fault_env = joined;
}

static const struct fault_spec *armed(const struct exec_run *x, const struct fault_info *info)
{
	size_t i;

	for (i = 0; i < x->nfaults; i++)
		if (x->faults[i].info == info)
			return &x->faults[i];
	return NULL;
}

static char *absolute_dir(const char *cwd, const char *dir)
{
	char *real = realpath(dir, NULL);

	if (real)
		return real;
	return dir[0] == '/' ? xstrdup(dir) : xasprintf("%s/%s", cwd, dir);
}

static char *joined(char *const *items, size_t n, const char *sep)
{
	char *s = xstrdup(""), *next;
	size_t i;

	for (i = 0; i < n; i++) {
		next = xasprintf("%s%s%s", s, i ? sep : "", items[i]);
		free(s);
		s = next;
	}
	return s;
}

/* Where faults apply and what is scanned: the folders given, or the named
 * caches below the current folder. Our own run folders are never scanned. */
static void make_scope(struct exec_run *x)
{
	struct exec_scope *sc = &x->scope;
	char *runs = realpath("results/runs", NULL);
	size_t i;

	for (i = 0; i < x->o->ncache_dirs; i++)
		sc->dirs[sc->ndirs++] = absolute_dir(x->cwd, x->o->cache_dirs[i]);
	if (!sc->ndirs) {
		sc->dirs[sc->ndirs++] = xstrdup(x->cwd);
		sc->names = exec_default_names;
		sc->nnames = exec_default_nnames;
	}
	if (runs)
		sc->skip[sc->nskip++] = runs;
	sc->skip[sc->nskip++] = xstrdup(x->run_dir_abs);
	x->inject_dirs = joined(sc->dirs, sc->ndirs, ":");
	x->inject_names = sc->names ? joined((char *const *)sc->names, sc->nnames, ":") : NULL;
}

/* Our environment, less what would stop caches being written or move them
 * (our machines set PYTHONDONTWRITEBYTECODE=1), and less the variables of
 * an exec we may be running inside. LD_PRELOAD is put back by us. */
static char **command_environment(void)
{
	static const char *const drop[] = {
		"PYTHONDONTWRITEBYTECODE=", "PYTHONPYCACHEPREFIX=", "LD_PRELOAD=",
		INJECT_ENV_FAULTS "=", INJECT_ENV_DIRS "=", INJECT_ENV_NAMES "=",
		INJECT_ENV_ROOT "=", INJECT_ENV_SEED "=", INJECT_ENV_WORKER "=",
		INJECT_ENV_STATE "=", EVENT_FD_ENV "=",
	};
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
	}
	return env;
}

/* Ours first, then libfiu's for the fiu fault, then what the user had. */
static char *preload_list(const struct exec_run *x)
{
	const char *theirs = getenv("LD_PRELOAD");
	char *ours = NULL, *both;

	if (x->nfaults) {
		char *lib = cli_worker_program(), *slash = strrchr(lib, '/');
		if (slash)
			*slash = '\0';
		ours = xasprintf("%s/libpycstorm-inject.so", slash ? lib : ".");
		free(lib);
		if (access(ours, R_OK) != 0)
			die(EXIT_SKIP, "the inject library '%s' is missing: run 'make' first", ours);
		if (armed(x, &fault_fiu)) {
			if (access(FIU_POSIX_PRELOAD, R_OK) != 0)
				die(EXIT_SKIP, "the fiu fault needs libfiu's preload '%s' (Debian: libfiu0)",
				    FIU_POSIX_PRELOAD);
			both = xasprintf("%s:%s", ours, FIU_POSIX_PRELOAD);
			free(ours);
			ours = both;
		}
	}
	if (!ours)
		return theirs && *theirs ? xstrdup(theirs) : NULL;
	if (theirs && *theirs) {
		both = xasprintf("%s:%s", ours, theirs);
		free(ours);
		ours = both;
	}
	return ours;
}

static uint64_t random_seed(void)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = wall_ns() ^ ((uint64_t)getpid() << 32);
	return seed % 10000000000ull;   /* short enough to type */
}

/* results/runs/<stamp>-<seed>, as `run` names its folders, or -o DIR. */
static void make_run_dir(struct exec_run *x)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	int rc = 0, k;

	if (x->o->out_dir) {
		x->run_dir = xstrdup(x->o->out_dir);
		rc = mkdir_p(x->run_dir, 0755);
	} else {
		(void)gmtime_r(&t, &tm);
		(void)strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		rc = mkdir_p("results/runs", 0755);
		for (k = 1; rc == 0; k++) {
			free(x->id);
			free(x->run_dir);
			x->id = k == 1 ? xasprintf("%s-%" PRIu64, stamp, x->s.seed)
				       : xasprintf("%s-%" PRIu64 "-%d", stamp, x->s.seed, k);
			x->run_dir = xasprintf("results/runs/%s", x->id);
			if (mkdir(x->run_dir, 0755) == 0)
				break;
			rc = errno == EEXIST ? 0 : -errno;
		}
	}
	if (rc < 0)
		die(EXIT_SKIP, "cannot create run folder '%s': %s",
		    x->run_dir ? x->run_dir : "results/runs", strerror(-rc));
	x->run_dir_abs = realpath(x->run_dir, NULL);
	if (!x->run_dir_abs)
		die(EXIT_SKIP, "cannot find run folder '%s': %s", x->run_dir, strerror(errno));
}

static void point_latest(const char *id)
{
	if (!id)
		return;
	(void)unlink("results/runs/latest.new");
	if (symlink(id, "results/runs/latest.new") == 0 &&
	    rename("results/runs/latest.new", "results/runs/latest") < 0)
		(void)unlink("results/runs/latest.new");
}

static char *iso_now(void)
{
	char buf[32];
	time_t t = time(NULL);
	struct tm tm;

	(void)gmtime_r(&t, &tm);
	(void)strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(buf);
}

/* A word as the shell reads it back: bare when safe, else single-quoted. */
static char *shell_word(const char *w)
{
	size_t n = strlen(w), i, k = 0;
	char *q;

	if (n && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789@%+=:,./_-") == n)
		return xstrdup(w);
	q = xmalloc(4 * n + 3);
	q[k++] = '\'';
	for (i = 0; i < n; i++) {
		if (w[i] == '\'') {
			memcpy(q + k, "'\\''", 4);
			k += 4;
		} else {
			q[k++] = w[i];
		}
	}
	q[k++] = '\'';
	q[k] = '\0';
	return q;
}

static void append_word(char **line, const char *prefix, const char *word)
{
	char *w = shell_word(word), *next = xasprintf("%s%s%s", *line, prefix, w);

	free(w);
	free(*line);
	*line = next;
}

/* The command that runs one round again with this seed: same copies,
 * caches, faults and command. */
static char *replay_command(const struct exec_run *x, uint64_t seed)
{
	char *line = xasprintf("pycstorm exec --seed %" PRIu64 " -j %u", seed, x->o->jobs), *next;
	size_t i;

	for (i = 0; i < x->o->ncache_dirs; i++)
		append_word(&line, " --cache-dir ", x->o->cache_dirs[i]);
	for (i = 0; i < x->o->nfaults; i++)
		append_word(&line, " --fault ", x->o->faults[i]);
	if (x->o->timeout_text)
		append_word(&line, " --timeout ", x->o->timeout_text);
	next = xasprintf("%s --", line);
	free(line);
	line = next;
	for (i = 0; x->o->cmd[i]; i++)
		append_word(&line, " ", x->o->cmd[i]);
	return line;
}

static void fill_metadata(struct exec_run *x, int argc, char **argv)
{
	struct summary *s = &x->s;
	char host[256] = "", *args;
	size_t i;

	s->tool = xstrdup("pycstorm " PYCSTORM_VERSION);
	s->scenario = xstrdup("exec");
	s->description = joined(x->o->cmd, (size_t)(argc - (x->o->cmd - argv)), " ");
	args = joined(argv + 1, (size_t)argc - 1, " ");
	s->command = xasprintf("pycstorm exec%s%s", *args ? " " : "", args);
	free(args);
	s->started = iso_now();
	s->runner = xstrdup("exec");
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
	x->o = o;
	x->stress = o->until_failure || o->runs;
	x->worker = cli_worker_program();
	if (access(x->worker, X_OK) != 0)
		die(EXIT_SKIP, "the worker '%s' is missing: run 'make' first", x->worker);
	resolve_faults(x);
	x->preload = preload_list(x);
	x->cwd = getcwd(NULL, 0);
	if (!x->cwd)
		die(EXIT_SKIP, "exec: cannot tell the current folder: %s", strerror(errno));
	x->s.seed = o->seed_given ? o->seed : random_seed();
	make_run_dir(x);
	make_scope(x);
	x->state_dir = xasprintf("%s/.state", x->run_dir_abs);
	rc = mkdir_p(x->state_dir, 0755);
	/* Several copies cannot share a terminal sensibly: their output is kept. */
	if (rc == 0 && (x->stress || o->jobs > 1)) {
		x->output_dir = xasprintf("%s/output", x->run_dir_abs);
		rc = mkdir_p(x->output_dir, 0755);
	}
	if (rc < 0)
		die(EXIT_SKIP, "cannot create folders in '%s': %s", x->run_dir, strerror(-rc));
	x->env = command_environment();
	fill_metadata(x, argc, argv);
	path = xasprintf("%s/events.jsonl", x->run_dir_abs);
	x->events = fopen(path, "we");
	if (!x->events)
		die(EXIT_SKIP, "cannot create '%s': %s", path, strerror(errno));
	free(path);
	x->progress = !o->quiet && x->stress && isatty(2) && !getenv("CI");
	x->start_ns = now_ns();
}

/* ---- judging a round --------------------------------------------------------- */

static const char *relative_path(const struct exec_run *x, const char *path)
{
	size_t n = strlen(x->cwd);

	if (!strncmp(path, x->cwd, n) && path[n] == '/')
		return path + n + 1;
	return path[0] == '/' ? path + 1 : path;
}

static double since_start_s(const struct exec_run *x)
{
	return (double)(now_ns() - x->start_ns) / 1e9;
}

/* A fault line from a copy: counted at once, so an interrupted stress run
 * still reports every fault that fired. */
static void count_fault(void *ctx, const struct exec_copy *copy, const char *line, size_t len)
{
	struct exec_run *x = ctx;
	const char *p = memmem(line, len, "point=", 6), *end;
	char *point;

	(void)copy;
	if (!p)
		return;
	p += 6;
	end = memchr(p, ' ', len - (size_t)(p - line));
	point = xstrndup(p, end ? (size_t)(end - p) : len - (size_t)(p - line));
	summary_count_fault(x->res, point, 1);
	free(point);
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.';
}

/* Does line look like Python's last traceback line, "SomeError: text"? */
static int exception_line(const char *line)
{
	size_t n = 0;

	while (is_name_char(line[n]))
		n++;
	return n >= 5 && line[n] == ':' &&
	       ((n >= 5 && !strncmp(line + n - 5, "Error", 5)) ||
		(n >= 9 && !strncmp(line + n - 9, "Exception", 9)));
}

/* The last exception a copy printed on stderr, or NULL. */
static char *last_exception(const char *stderr_path)
{
	char *text = NULL, *line, *save = NULL, *found = NULL;
	size_t len = 0;

	if (stderr_path && read_file(stderr_path, &text, &len) == 0)
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (exception_line(line))
				found = line;
	found = found ? xstrdup(found) : NULL;
	free(text);
	return found;
}

static enum outcome exception_class(const char *line)
{
	const char *colon = strchr(line, ':'), *dot;

	/* "builtins.EOFError: ..." (Twisted's log) is an EOFError too. */
	for (dot = line; colon && (dot = memchr(line, '.', (size_t)(colon - line))) != NULL;)
		line = dot + 1;
	if (!strncmp(line, "EOFError:", 9))
		return OUTCOME_EOF;
	if (strstr(line, "bad marshal data"))
		return OUTCOME_BAD_MARSHAL;
	if (!strncmp(line, "PermissionError:", 16))
		return OUTCOME_PERMISSION_ERROR;
	if (!strncmp(line, "ModuleNotFoundError:", 20) || !strncmp(line, "ImportError:", 12))
		return OUTCOME_MODULE_NOT_FOUND;
	return OUTCOME_OTHER_ERROR;
}

/* How a copy ended, as an outcome class and one line of text. */
static enum outcome copy_outcome(const struct exec_run *x, const struct exec_copy *c, char **text)
{
	char *path = x->output_dir ? xasprintf("%s/copy-%u.err", x->output_dir, c->index) : NULL;
	char *out = x->output_dir ? xasprintf("%s/copy-%u.out", x->output_dir, c->index) : NULL;
	char *exc = NULL;
	enum outcome o = OUTCOME_OK;

	*text = NULL;
	if (c->timed_out) {
		o = OUTCOME_WORKER_TIMEOUT;
		*text = xasprintf("killed after running longer than the timeout");
	} else if (WIFSIGNALED(c->status)) {
		o = OUTCOME_WORKER_CRASH;
		*text = c->crash_injected && WTERMSIG(c->status) == SIGKILL
				? xstrdup("killed by the crash fault")
				: xasprintf("killed by signal %d (%s)", WTERMSIG(c->status),
					    strsignal(WTERMSIG(c->status)));
	} else if (WEXITSTATUS(c->status) != 0) {
		/* Some tools report on stdout: compileall prints "PermissionError: ..." there. */
		exc = last_exception(path);
		exc = exc ? exc : last_exception(out);
		o = exc ? exception_class(exc) : OUTCOME_OTHER_ERROR;
		*text = exc ? exc : xasprintf("exit status %d", WEXITSTATUS(c->status));
	}
	free(path);
	free(out);
	return o;
}

/* Does this copy's end make the round a failure? A copy the crash fault
 * killed on purpose does not: what it left in the cache is what counts. */
static int copy_fails(const struct exec_copy *c, enum outcome o)
{
	return o != OUTCOME_OK &&
	       !(c->crash_injected && !c->timed_out && WIFSIGNALED(c->status) &&
		 WTERMSIG(c->status) == SIGKILL);
}

static size_t status_slot(const struct exec_copy *c)
{
	if (c->timed_out)
		return 256 + 65;
	if (WIFSIGNALED(c->status))
		return 256 + (size_t)(WTERMSIG(c->status) & 63);
	return (size_t)WEXITSTATUS(c->status);
}

static void event_copy(struct exec_run *x, const struct round *rd, const struct exec_copy *c,
		       enum outcome o, const char *text)
{
	size_t slot = status_slot(c);

	(void)fprintf(x->events, "{\"t\": %.6f, \"type\": \"exit\", \"worker\": %u, "
				 "\"strategy\": \"exec\", \"seed\": %" PRIu64 ", \"round\": %u, "
				 "\"round_seed\": %" PRIu64 ", \"pid\": %ld, ",
		      since_start_s(x), c->index, c->seed, rd->number, rd->seed, (long)c->pid);
	if (slot < 256)
		(void)fprintf(x->events, "\"exit_status\": %zu, \"signal\": null, ", slot);
	else
		(void)fprintf(x->events, "\"exit_status\": null, \"signal\": %d, ",
			      c->timed_out ? SIGKILL : WTERMSIG(c->status));
	(void)fprintf(x->events, "\"timed_out\": %s, \"outcome\": \"%s\", \"latency_ns\": %" PRIu64
				 ", \"faults\": %s, \"error\": ",
		      c->timed_out ? "true" : "false", outcome_name(o), c->end_ns - c->start_ns,
		      c->fault_log_len ? "true" : "false");
	json_put_string(x->events, text ? text : "");
	(void)fputs("}\n", x->events);
}

/* Count each copy as one compile cycle: its outcome, its wall time. */
static void judge_copies(struct exec_run *x, struct round *rd)
{
	unsigned k;

	rd->copy_failed = -1;
	for (k = 0; k < x->o->jobs; k++) {
		struct exec_copy *c = &rd->copies[k];
		enum outcome o;
		if (c->pid <= 0)
			continue;
		o = copy_outcome(x, c, &rd->error[k]);
		rd->outcome[k] = (int)o;
		x->res->counts[OP_COMPILE][o]++;
		hist_add(&x->res->latency[OP_COMPILE], c->end_ns - c->start_ns);
		x->res->workers_started++;
		x->runs++;
		x->exit_counts[status_slot(c)]++;
		if (o != OUTCOME_OK && !x->res->first_error[o] && rd->error[k])
			x->res->first_error[o] = xstrdup(rd->error[k]);
		if (copy_fails(c, o)) {
			x->failed_runs++;
			if (rd->copy_failed < 0)
				rd->copy_failed = (int)k;
		}
		if (c->garbled)
			warn("exec: copy %u sent something that is not a fault record; "
			     "its later faults were not counted", k);
		event_copy(x, rd, c, o, rd->error[k]);
	}
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Check every touched .pyc; each is one import cycle in the summary. */
static void check_damage(struct exec_run *x, struct round *rd)
{
	char err[512];
	size_t i;

	rd->pycs = xcalloc(rd->ntouched + 1, sizeof(char *));
	for (i = 0; i < rd->ntouched; i++)
		if (ends_with(rd->touched[i]->path, ".pyc"))
			rd->pycs[rd->npycs++] = rd->touched[i]->path;
	rd->verdicts = xcalloc(rd->npycs + 1, sizeof(*rd->verdicts));
	if (rd->npycs && exec_check_pycs(x->worker, rd->pycs, rd->npycs, rd->verdicts, err,
					 sizeof(err)) < 0)
		warn("exec: %s; the damage check is incomplete", err);
	for (i = 0; i < rd->npycs; i++) {
		const struct exec_verdict *v = &rd->verdicts[i];
		if (v->outcome < 0)
			continue;   /* gone, or unreadable, by the time we looked */
		x->res->counts[OP_IMPORT][v->outcome]++;
		if (v->outcome != OUTCOME_OK && v->error && !x->res->first_error[v->outcome])
			x->res->first_error[v->outcome] = xstrdup(v->error);
		rd->damaged += exec_verdict_fails(v->outcome);
	}
}

static void event_damage(struct exec_run *x, const struct round *rd, const char *path,
			 const struct exec_verdict *v)
{
	char *evidence = xasprintf("touched/%s", relative_path(x, path));

	(void)fprintf(x->events, "{\"t\": %.6f, \"type\": \"damage\", \"strategy\": \"exec\", "
				 "\"round\": %u, \"round_seed\": %" PRIu64 ", \"file\": ",
		      since_start_s(x), rd->number, rd->seed);
	json_put_string(x->events, relative_path(x, path));
	(void)fprintf(x->events, ", \"outcome\": \"%s\", \"error\": ", outcome_name(v->outcome));
	json_put_string(x->events, v->error ? v->error : "");
	(void)fputs(", \"evidence\": ", x->events);
	json_put_string(x->events, evidence);
	(void)fputs("}\n", x->events);
	free(evidence);
}

static void run_round(struct exec_run *x, unsigned number, uint64_t seed, struct round *rd)
{
	struct exec_round_plan plan = {
		.argv = x->o->cmd, .env = x->env, .copies = x->o->jobs, .seed = seed,
		.fault_env = x->fault_env, .preload = x->preload,
		.inject_dirs = x->inject_dirs, .inject_names = x->inject_names,
		.cache_root = x->cwd, .state_dir = x->state_dir, .output_dir = x->output_dir,
		.timeout_ns = x->o->timeout_ns ? x->o->timeout_ns
					       : (x->stress ? STRESS_TIMEOUT_NS : 0),
		.held_lock = armed(x, &fault_held_lock), .scope = &x->scope,
		.on_fault = count_fault, .ctx = x,
	};
	size_t i;

	memset(rd, 0, sizeof(*rd));
	rd->number = number;
	rd->seed = seed;
	rd->copies = xcalloc(x->o->jobs, sizeof(*rd->copies));
	exec_snapshot_take(&x->scope, &rd->before);
	rd->start_error = exec_round(&plan, rd->copies, &interrupts);
	exec_snapshot_take(&x->scope, &rd->after);
	if (rd->after.truncated)
		warn("exec: more than %s entries below the cache folders; only part was checked",
		     "400000");
	rd->touched = exec_snapshot_touched(&rd->before, &rd->after, &rd->ntouched);
	judge_copies(x, rd);
	check_damage(x, rd);
	for (i = 0; i < rd->npycs; i++)
		if (exec_verdict_fails(rd->verdicts[i].outcome))
			event_damage(x, rd, rd->pycs[i], &rd->verdicts[i]);
	(void)fflush(x->events);
	rd->failed = rd->copy_failed >= 0 || rd->damaged > 0;
	x->s.iterations = number;
}

static void release_round(struct exec_run *x, struct round *rd)
{
	unsigned k;
	size_t i;

	for (k = 0; k < x->o->jobs; k++) {
		exec_copy_release(&rd->copies[k]);
		free(rd->error[k]);
	}
	for (i = 0; i < rd->npycs; i++)
		exec_verdict_free(&rd->verdicts[i]);
	free(rd->verdicts);
	free(rd->pycs);
	free(rd->touched);
	free(rd->copies);
	exec_snapshot_free(&rd->before);
	exec_snapshot_free(&rd->after);
	memset(rd, 0, sizeof(*rd));
}

/* ---- keeping a round's evidence ------------------------------------------------ */

/* X/__pycache__/NAME.TAG.pyc -> X/NAME.py, X/NAME.pyc -> X/NAME.py; malloc'd. */
static char *source_of(const char *pyc)
{
	const char *base = strrchr(pyc, '/') ? strrchr(pyc, '/') + 1 : pyc;
	size_t dir = (size_t)(base - pyc), name = strcspn(base, ".");
	const char *cache = "__pycache__/";
	size_t clen = strlen(cache);

	if (dir >= clen && !strncmp(base - clen, cache, clen))
		dir -= clen;
	return xasprintf("%.*s%.*s.py", (int)dir, pyc, (int)name, base);
}

static void keep_file(const struct exec_run *x, const char *path, size_t *kept)
{
	char *dest = xasprintf("%s/touched/%s", x->run_dir_abs, relative_path(x, path));

	if (*kept < MAX_KEPT_FILES && exec_copy_file(path, dest) == 0)
		(*kept)++;
	free(dest);
}

static void keep_fault_logs(const struct exec_run *x, const struct round *rd)
{
	char *dir = xasprintf("%s/faults", x->run_dir_abs), *path;
	unsigned k;

	if (mkdir_p(dir, 0755) < 0)
		warn("exec: cannot create '%s'", dir);
	for (k = 0; k < x->o->jobs; k++) {
		const struct exec_copy *c = &rd->copies[k];
		path = xasprintf("%s/exec-w%u.log", dir, k);
		if (write_file_atomic(path, c->fault_log ? c->fault_log : "", c->fault_log_len) < 0)
			warn("exec: cannot write '%s'", path);
		free(path);
	}
	free(dir);
}

/* The damaged files' classifier reports, and each one's source beside its
 * copy, so `python3 -c 'import NAME'` in the copy fails as it did here. */
static void keep_damage(struct exec_run *x, const struct round *rd, size_t *kept)
{
	char *path = xasprintf("%s/damage.txt", x->run_dir_abs), *text = NULL, *src;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	for (i = 0; i < rd->npycs && f; i++) {
		const struct exec_verdict *v = &rd->verdicts[i];
		if (!exec_verdict_fails(v->outcome))
			continue;
		(void)fprintf(f, "%s\n", v->report ? v->report : "");
		src = source_of(rd->pycs[i]);
		if (access(src, R_OK) == 0)
			keep_file(x, src, kept);
		free(src);
		if (x->res->nevidence < SUMMARY_MAX_EVIDENCE)
			x->res->evidence[x->res->nevidence++] =
				xasprintf("touched/%s", relative_path(x, rd->pycs[i]));
	}
	if (f && fclose(f) == 0 && rd->damaged && write_file_atomic(path, text, len) < 0)
		warn("exec: cannot write '%s'", path);
	free(text);
	free(path);
}

/* Keep what a round left: fault logs, a copy of every touched file,
 * the damage report. (Its output is already in output/.) */
static void keep_round(struct exec_run *x, const struct round *rd)
{
	size_t i, kept = 0;

	keep_fault_logs(x, rd);
	for (i = 0; i < rd->ntouched; i++)
		keep_file(x, rd->touched[i]->path, &kept);
	keep_damage(x, rd, &kept);
	if (rd->ntouched > MAX_KEPT_FILES)
		warn("exec: kept %d of the %zu touched files", MAX_KEPT_FILES, rd->ntouched);
}

/* ---- telling the user --------------------------------------------------------- */

static void say(const struct exec_run *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Our own lines go to stderr: stdout belongs to CMD. */
static void say(const struct exec_run *x, const char *fmt, ...)
{
	va_list ap;

	if (x->o->quiet)
		return;
	va_start(ap, fmt);
	(void)fputs("pycstorm exec: ", stderr);
	(void)vfprintf(stderr, fmt, ap);
	(void)fputc('\n', stderr);
	va_end(ap);
}

static void announce(const struct exec_run *x)
{
	char *scope = joined(x->scope.dirs, x->scope.ndirs, ", ");
	char *names = x->scope.names ? joined((char *const *)x->scope.names, x->scope.nnames, ", ")
				     : NULL;

	char rounds[64] = "";

	if (x->stress && x->o->runs)
		(void)snprintf(rounds, sizeof(rounds), ", up to %" PRIu64 " rounds until one fails",
			       x->o->runs);
	else if (x->stress)
		(void)snprintf(rounds, sizeof(rounds), ", rounds until one fails");
	say(x, "seed %" PRIu64 "; %u cop%s%s; faults: %s", x->s.seed, x->o->jobs,
	    x->o->jobs == 1 ? "y" : "ies at once", rounds, x->fault_env ? x->fault_env : "none");
	say(x, "caches: %s%s%s; results: %s", names ? names : "every file", " below ", scope,
	    x->run_dir);
	free(scope);
	free(names);
}

static void report_faults(const struct exec_run *x, const struct round *rd)
{
	char *counts = xstrdup(""), *next, *line, *save = NULL, *copy;
	size_t i, printed = 0, total = 0;
	unsigned k;

	for (i = 0; i < x->res->nfaults; i++) {
		next = xasprintf("%s%s%s %" PRIu64, counts, i ? ", " : "", x->res->faults[i].point,
				 x->res->faults[i].count);
		free(counts);
		counts = next;
		total += x->res->faults[i].count;
	}
	say(x, "faults fired: %zu%s%s%s", total, total ? " (" : "", counts, total ? ")" : "");
	for (k = 0; k < x->o->jobs; k++) {
		copy = rd->copies[k].fault_log ? xstrdup(rd->copies[k].fault_log) : NULL;
		for (line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save))
			if (printed++ < MAX_PRINTED)
				say(x, "  %s", line);
		free(copy);
	}
	if (printed > MAX_PRINTED)
		say(x, "  ... %zu more in %s/faults/", printed - MAX_PRINTED, x->run_dir);
	free(counts);
}

static void report_damage(const struct exec_run *x, const struct round *rd)
{
	size_t i, printed = 0;

	say(x, "touched %zu cache file%s; checked %zu .pyc: %zu would fail to import", rd->ntouched,
	    rd->ntouched == 1 ? "" : "s", rd->npycs, rd->damaged);
	for (i = 0; i < rd->npycs; i++) {
		const struct exec_verdict *v = &rd->verdicts[i];
		if (exec_verdict_fails(v->outcome) && printed++ < MAX_PRINTED)
			say(x, "  %-12s %s: %s", outcome_name(v->outcome),
			    relative_path(x, rd->pycs[i]), v->error ? v->error : "");
	}
	if (printed > MAX_PRINTED)
		say(x, "  ... %zu more in %s/damage.txt", printed - MAX_PRINTED, x->run_dir);
}

static void report_copies(const struct exec_run *x, const struct round *rd)
{
	unsigned k;

	for (k = 0; k < x->o->jobs; k++) {
		const struct exec_copy *c = &rd->copies[k];
		char what[64];
		if (c->pid <= 0)
			continue;
		if (c->timed_out)
			(void)snprintf(what, sizeof(what), "was killed at the timeout");
		else if (WIFSIGNALED(c->status))
			(void)snprintf(what, sizeof(what), "was killed by signal %d",
				       WTERMSIG(c->status));
		else
			(void)snprintf(what, sizeof(what), "exited with status %d",
				       WEXITSTATUS(c->status));
		say(x, "copy %u %s after %.2f s%s%s", k, what, (double)(c->end_ns - c->start_ns) / 1e9,
		    rd->error[k] ? ": " : "", rd->error[k] ? rd->error[k] : "");
	}
}

/* "13 exit 0, 1 exit 1, 1 signal 9" */
static char *status_counts(const struct exec_run *x)
{
	char *s = xstrdup(""), *next;
	size_t i;

	for (i = 0; i < sizeof(x->exit_counts) / sizeof(x->exit_counts[0]); i++) {
		if (!x->exit_counts[i])
			continue;
		if (i < 256)
			next = xasprintf("%s%s%" PRIu64 " exit %zu", s, *s ? ", " : "", x->exit_counts[i], i);
		else if (i < 256 + 65)
			next = xasprintf("%s%s%" PRIu64 " signal %zu", s, *s ? ", " : "", x->exit_counts[i],
					 i - 256);
		else
			next = xasprintf("%s%s%" PRIu64 " timeout", s, *s ? ", " : "", x->exit_counts[i]);
		free(s);
		s = next;
	}
	return s;
}

/* ---- the two modes -------------------------------------------------------------- */

/* What a shell would say CMD exited with: the first copy that failed. */
static int command_status(const struct exec_run *x, const struct round *rd)
{
	unsigned k;
	int rc = EXIT_OK;

	for (k = 0; k < x->o->jobs && rc == EXIT_OK; k++) {
		const struct exec_copy *c = &rd->copies[k];
		if (c->timed_out)
			rc = 128 + SIGKILL;
		else if (WIFSIGNALED(c->status))
			rc = 128 + WTERMSIG(c->status);
		else
			rc = WEXITSTATUS(c->status);
	}
	return rc;
}

static int single_round(struct exec_run *x)
{
	struct round rd;
	int rc;

	run_round(x, 1, x->s.seed, &rd);
	keep_round(x, &rd);
	x->s.replay = replay_command(x, rd.seed);
	report_faults(x, &rd);
	report_damage(x, &rd);
	report_copies(x, &rd);
	say(x, "results in %s; replay: %s", x->run_dir, x->s.replay);
	rc = rd.start_error < 0 ? EXIT_SKIP : command_status(x, &rd);
	if (rd.start_error < 0)
		warn("exec: cannot start '%s': %s", x->o->cmd[0], strerror(-rd.start_error));
	release_round(x, &rd);
	return rc;
}

static uint64_t round_seed(uint64_t seed, unsigned number)
{
	return derive_seed(seed, 0x726f756e64ull /* "round" */, number, 0) % 10000000000ull;
}

static void draw_progress(const struct exec_run *x, const struct round *rd)
{
	if (x->progress)
		(void)fprintf(stderr, "\r\033[K[%6.1fs] round %u passed, %" PRIu64 " runs", since_start_s(x),
			      rd->number, x->runs);
}

static void report_stress(struct exec_run *x, const struct round *rd)
{
	char *statuses = status_counts(x);

	if (x->progress)
		(void)fputs("\r\033[K", stderr);
	if (rd->failed)
		say(x, "round %u (seed %" PRIu64 ") failed: %s%s", rd->number, rd->seed,
		    rd->copy_failed >= 0 ? "a copy failed" : "every copy exited 0",
		    rd->damaged ? ", and it left cache files an import would fail on" : "");
	report_copies(x, rd);
	report_damage(x, rd);
	report_faults(x, rd);
	say(x, "%u round%s, %" PRIu64 " runs (%s), %" PRIu64 " failed, in %.1f s", rd->number,
	    rd->number == 1 ? "" : "s", x->runs, statuses, x->failed_runs, since_start_s(x));
	say(x, "kept round %u in %s: output/, faults/, touched/%s", rd->number, x->run_dir,
	    rd->damaged ? ", damage.txt" : "");
	if (rd->failed)
		say(x, "replay: %s", x->s.replay);
	else
		say(x, "no round failed");
	free(statuses);
}

static int stress_rounds(struct exec_run *x)
{
	struct round rd;
	unsigned number;
	int last = 0, rc;

	for (number = 1; !last; number++) {
		run_round(x, number, round_seed(x->s.seed, number), &rd);
		last = rd.failed || rd.start_error < 0 || interrupts ||
		       (x->o->runs && number >= x->o->runs);
		if (!last) {
			draw_progress(x, &rd);
			release_round(x, &rd);
		}
	}
	keep_round(x, &rd);
	x->s.replay = replay_command(x, rd.seed);
	report_stress(x, &rd);
	rc = rd.start_error < 0 ? EXIT_SKIP : interrupts ? 130 : rd.failed ? EXIT_FAILED : EXIT_OK;
	if (rd.start_error < 0)
		warn("exec: cannot start '%s': %s", x->o->cmd[0], strerror(-rd.start_error));
	release_round(x, &rd);
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

	x->s.elapsed_s = since_start_s(x);
	x->s.interrupted = interrupts > 0;
	rc = format_write_defaults(x->run_dir_abs, &x->s);
	if (rc < 0)
		warn("cannot write the results into '%s': %s", x->run_dir, strerror(-rc));
	point_latest(x->id);
	(void)remove_tree(x->state_dir);
	(void)fclose(x->events);
	summary_free(&x->s);
	for (i = 0; i < x->scope.ndirs; i++)
		free(x->scope.dirs[i]);
	for (i = 0; i < x->scope.nskip; i++)
		free(x->scope.skip[i]);
	free(x->env);
	free(x->fault_env);
	free(x->preload);
	free(x->inject_dirs);
	free(x->inject_names);
	free(x->cwd);
	free(x->worker);
	free(x->run_dir);
	free(x->run_dir_abs);
	free(x->id);
	free(x->state_dir);
	free(x->output_dir);
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
