/*
 * pycstorm run [SCENARIO]: run a scenario, score the strategies, write the
 * run folder (summary.json, summary.md, events.jsonl, fault logs, evidence)
 * and print the table.
 */
#include "cli.h"

#include "fault.h"

#include "common.h"
#include "format.h"
#include "fsinfo.h"
#include "orchestrator.h"
#include "proc.h"
#include "pythons.h"
#include "rundir.h"
#include "scenario.h"
#include "strbuf.h"
#include "strategy.h"
#include "worker.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#ifndef PYTHON_EXE
#define PYTHON_EXE "python3"
#endif

struct run_options {
	const char *scenario;
	const char *strategies;      /* -s, comma separated */
	unsigned jobs;
	uint64_t duration_ns;
	uint64_t iterations;
	uint64_t seed;
	int seed_given;
	const char *cache_dir;
	const char *out_dir;
	uint64_t cycle_timeout_ns;
	int keep_cache;
	int quiet;
	int preload;
	int trace;
	int until_reproduced;
	unsigned shard_index, shard_count;     /* --shard I/N, 0-based index */
	const char *python;                    /* --python: the interpreter runner (the last) */
	const char *pythons[PLAN_MAX_PYTHONS]; /* every --python, in order */
	size_t npythons;
	int shared_cache;                      /* --shared-cache */
	const char *strategy_files[PLAN_MAX_STRATEGIES];   /* --strategy-file */
	size_t nstrategy_files;
	const char *faults[FAULT_MAX_SPECS];   /* --fault, in order */
	size_t nfaults;
};

static const char run_usage[] =
	"usage: pycstorm run [SCENARIO|FILE.scn] [options]\n\n"
	"Run a scenario (default: 'default') and score each strategy.\n\n"
	"  -s, --strategy A,B,...   strategies to run, each once (default: the scenario's)\n"
	"      --strategy-file F.py a candidate fix: a file defining write(path, data),\n"
	"                           run as one more strategy (repeatable)\n"
	"  -j, --jobs N             workers per strategy (default: the scenario's); with\n"
	"                           the lock holders, at most 16 per CPU (at least 64)\n"
	"  -d, --duration TIME      each worker cycles for TIME (20s, 500ms, 2m), from its start\n"
	"  -n, --iterations N       run N cycles per worker instead\n"
	"      --seed N             seed every random choice (default: random, printed)\n"
	"      --cache-dir DIR      where the caches go (default: a fresh folder on\n"
	"                           tmpfs if there is one, else under $TMPDIR)\n"
	"  -o, --out DIR            run folder (default: results/runs/<id>); DIR and\n"
	"                           --cache-dir DIR must be new, empty or pycstorm's\n"
	"      --cycle-timeout TIME a worker silent this long is hung (default: 10s;\n"
	"                           one still starting has 60s, or TIME if longer)\n"
	"  -f, --fault SPEC         inject a fault (repeatable): NAME[:KEY=VALUE,...],\n"
	"                           e.g. short-write:p=0.05 (see 'pycstorm list faults')\n"
	"      --preload            load the inject library even with no fault armed\n"
	"      --until-reproduced   stop at the first outcome the scenario's 'reproduced' names\n"
	"      --python PATH        run the workers as that interpreter (2.7, 3.6+); repeat: a matrix\n"
	"                           (default: the embedded worker, built against %s)\n"
	"      --shared-cache       with two or more --python of one cache tag: each strategy's\n"
	"                           workers are split between them, all at once, on one cache\n"
	"                           (the scenario's 'pythons = upgrade': the first compiles)\n"
	"      --shard I/N          run slice I of N of the worker space (default: from\n"
	"                           CI_NODE_INDEX / CI_NODE_TOTAL); merge with 'pycstorm merge'\n"
	"      --keep-cache         do not delete the fresh cache folder afterwards\n"
	"      --trace              each worker writes its cycles to trace/STRATEGY-wK.log\n"
	"                           in the run folder (cycle op module version outcome)\n"
	"  -q, --quiet              print nothing but errors\n"
	"  -h, --help               this text\n";

static const char run_valid[] =
	"-s/--strategy, --strategy-file, -j/--jobs, -d/--duration, -n/--iterations, --seed, "
	"--cache-dir, -o/--out, -f/--fault, --preload, --until-reproduced, --python, --shared-cache, --shard, --cycle-timeout, --keep-cache, "
	"--trace, -q/--quiet, -h/--help";

static void bad_value(const char *option, const char *value, const char *want)
{
	die(EXIT_USAGE, "run: %s '%s' is not %s", option, value, want);
}

/* "I/N", 1-based as CI systems number their nodes. */
static int parse_shard(const char *text, unsigned *index, unsigned *count)
{
	const char *slash = strchr(text, '/');
	char *first;
	uint64_t i, n;
	int rc;

	if (!slash)
		return -1;
	first = xstrndup(text, (size_t)(slash - text));
	rc = parse_u64(first, &i) < 0 || parse_u64(slash + 1, &n) < 0 || i < 1 || n < 1 ||
			     i > n || n > 10000 ? -1 : 0;
	free(first);
	if (rc == 0) {
		*index = (unsigned)(i - 1);
		*count = (unsigned)n;
	}
	return rc;
}

/* CI_NODE_INDEX / CI_NODE_TOTAL (GitLab's parallel jobs, 1-based). */
static void shard_from_environment(struct run_options *o)
{
	const char *index = getenv("CI_NODE_INDEX"), *total = getenv("CI_NODE_TOTAL");
	char *text;

	if (o->shard_count || !index || !total || !*index || !*total)
		return;
	text = xasprintf("%s/%s", index, total);
	if (parse_shard(text, &o->shard_index, &o->shard_count) < 0)
		die(EXIT_USAGE, "run: CI_NODE_INDEX/CI_NODE_TOTAL '%s' is not I/N with 1 <= I <= N", text);
	free(text);
}

static void parse_options(int argc, char **argv, struct run_options *o)
{
	static const struct option longs[] = {
		{ "strategy", required_argument, NULL, 's' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "duration", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 'S' },
		{ "cache-dir", required_argument, NULL, 'C' },
		{ "out", required_argument, NULL, 'o' },
		{ "cycle-timeout", required_argument, NULL, 'T' },
		{ "keep-cache", no_argument, NULL, 'K' },
		{ "fault", required_argument, NULL, 'f' },
		{ "preload", no_argument, NULL, 'P' },
		{ "shard", required_argument, NULL, 'H' },
		{ "python", required_argument, NULL, 'Y' },
		{ "shared-cache", no_argument, NULL, 'X' },
		{ "strategy-file", required_argument, NULL, 'F' },
		{ "until-reproduced", no_argument, NULL, 'U' },
		{ "trace", no_argument, NULL, 'R' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n;
	int c;

	memset(o, 0, sizeof(*o));
	o->cycle_timeout_ns = 10000000000ull;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "s:j:d:n:o:f:qh", longs, NULL)) != -1) {
		switch (c) {
		case 's': o->strategies = optarg; break;
		case 'j':
			if (parse_u64(optarg, &n) < 0 || n < 1 || n > 256)
				bad_value("--jobs", optarg, "a number from 1 to 256");
			o->jobs = (unsigned)n;
			break;
		case 'd':
			if (parse_duration_ns(optarg, &o->duration_ns) < 0 || !o->duration_ns)
				bad_value("--duration", optarg, "a duration like 20s or 500ms");
			break;
		case 'n':
			if (parse_u64(optarg, &o->iterations) < 0 || !o->iterations)
				bad_value("--iterations", optarg, "a positive whole number");
			break;
		case 'S':
			if (parse_u64(optarg, &o->seed) < 0)
				bad_value("--seed", optarg, "a whole number");
			o->seed_given = 1;
			break;
		case 'C': o->cache_dir = optarg; break;
		case 'o': o->out_dir = optarg; break;
		case 'T':
			if (parse_duration_ns(optarg, &o->cycle_timeout_ns) < 0 || !o->cycle_timeout_ns)
				bad_value("--cycle-timeout", optarg, "a duration like 10s");
			break;
		case 'K': o->keep_cache = 1; break;
		case 'P': o->preload = 1; break;
		case 'Y':
			if (o->npythons == PLAN_MAX_PYTHONS)
				die(EXIT_USAGE, "run: more than %d --python options", PLAN_MAX_PYTHONS);
			o->pythons[o->npythons++] = optarg;
			o->python = optarg;
			break;
		case 'X': o->shared_cache = 1; break;
		case 'U': o->until_reproduced = 1; break;
		case 'R': o->trace = 1; break;
		case 'F':
			if (o->nstrategy_files == PLAN_MAX_STRATEGIES)
				die(EXIT_USAGE, "run: too many --strategy-file options");
			o->strategy_files[o->nstrategy_files++] = optarg;
			break;
		case 'H':
			if (parse_shard(optarg, &o->shard_index, &o->shard_count) < 0)
				bad_value("--shard", optarg, "I/N with 1 <= I <= N (like 2/4)");
			break;
		case 'f':
			if (o->nfaults == FAULT_MAX_SPECS)
				die(EXIT_USAGE, "run: more than %d --fault options", FAULT_MAX_SPECS);
			o->faults[o->nfaults++] = optarg;
			break;
		case 'q': o->quiet = 1; break;
		case 'h':
			(void)printf(run_usage, PYTHON_EXE);
			exit(EXIT_OK);
		default:
			if (optopt && strchr("sjdnoSTfHYF", optopt))
				die(EXIT_USAGE, "run: option '%s' needs a value", argv[optind - 1]);
			cli_bad_option("run", argv[optind - 1], run_valid);
		}
	}
	if (o->duration_ns && o->iterations)
		die(EXIT_USAGE, "run: give --duration or --iterations, not both");
	shard_from_environment(o);
	if (!o->shard_count)
		o->shard_count = 1;
	if (optind < argc)
		o->scenario = argv[optind++];
	if (optind < argc)
		die(EXIT_USAGE, "run: unexpected argument '%s' (one scenario per run)", argv[optind]);
}

/* Package strategies merge packages; the others write cache files. */
static int fits_workload(const struct strategy_info *st, const struct scenario *sc)
{
	int package = !strcmp(sc->cache_kind, "package");

	return package == (st->workload != NULL);
}

/* -s A,B: each name known, given once, none empty (a stray comma must not
 * fall back to every strategy, nor a repeat double one's workers). */
static void strategies_from_option(const char *list, struct run_plan *plan)
{
	char *copy = xstrdup(list), *rest = copy, *tok, *names;
	const struct strategy_info *st;
	size_t i;

	if (!*list)
		die(EXIT_USAGE, "run: -s/--strategy is empty: name one or more strategies");
	while ((tok = strsep(&rest, ",")) != NULL) {
		if (!*tok)
			die(EXIT_USAGE, "run: -s/--strategy '%s' has an empty name", list);
		st = strategy_find(tok);
		if (!st) {
			names = cli_strategy_names();
			die(EXIT_USAGE, "run: unknown strategy '%s' (valid: %s)", tok, names);
		}
		for (i = 0; i < plan->nstrategies; i++)
			if (plan->strategies[i] == st)
				die(EXIT_USAGE, "run: -s/--strategy '%s' names '%s' twice", list, tok);
		if (plan->nstrategies == PLAN_MAX_STRATEGIES)
			die(EXIT_USAGE, "run: -s/--strategy names more than %d strategies",
			    PLAN_MAX_STRATEGIES);
		plan->strategies[plan->nstrategies++] = st;
	}
	free(copy);
}

/* The scenario's strategies; a wrong one is the scenario's error, at its line. */
static void strategies_from_scenario(const struct scenario *sc, struct run_plan *plan)
{
	const struct strategy_info *st;
	char *names;
	size_t i;

	for (i = 0; i < sc->nstrategies; i++) {
		st = strategy_find(sc->strategies[i]);
		if (!st) {
			names = cli_strategy_names();
			die(EXIT_USAGE, "%s:%u: unknown strategy '%s' (valid: %s)", sc->path,
			    sc->strategies_line, sc->strategies[i], names);
		}
		if (!fits_workload(st, sc))
			die(EXIT_USAGE, "%s:%u: strategy '%s' %s, but the scenario has cache = %s",
			    sc->path, sc->strategies_line, st->name,
			    st->workload ? "merges packages" : "writes cache files, not packages",
			    sc->cache_kind);
		plan->strategies[plan->nstrategies++] = st;
	}
	for (i = 0; i < sc->nexpect_safe; i++)
		if (!strategy_find(sc->expect_safe[i])) {
			names = cli_strategy_names();
			die(EXIT_USAGE, "%s:%u: expect-safe names unknown strategy '%s' (valid: %s)",
			    sc->path, sc->expect_safe_line, sc->expect_safe[i], names);
		}
}

static void resolve_strategies(const struct run_options *o, const struct scenario *sc,
			       struct run_plan *plan)
{
	size_t i;

	strategies_from_scenario(sc, plan);
	if (o->strategies) {
		plan->nstrategies = 0;
		strategies_from_option(o->strategies, plan);
	}
	/* A scenario that names none compares all that fit its workload. */
	if (plan->nstrategies == 0)
		for (i = 0; i < strategy_count; i++)
			if (fits_workload(strategy_table[i], sc))
				plan->strategies[plan->nstrategies++] = strategy_table[i];
	for (i = 0; i < plan->nstrategies; i++)
		if (!fits_workload(plan->strategies[i], sc))
			die(EXIT_USAGE, "run: strategy '%s' %s; scenario '%s' has cache = %s",
			    plan->strategies[i]->name,
			    plan->strategies[i]->workload ? "merges packages (cache = package)"
							  : "writes cache files, not packages",
			    sc->name, sc->cache_kind);
}

/* Every module the scenario names must have v1..vN fixtures. */
static void check_modules(const struct scenario *sc, const char *modules_dir)
{
	char *path;
	size_t i;
	unsigned v;
	int e;

	for (i = 0; i < sc->nmodules; i++) {
		for (v = 1; v <= sc->versions; v++) {
			path = xasprintf("%s/%s/v%u.py", modules_dir, sc->modules[i], v);
			e = read_file_check(path);
			if (e < 0)
				die(EXIT_USAGE, "%s:%u: module '%s' has no version %u ('%s': %s)",
				    sc->path, sc->modules_line, sc->modules[i], v, path,
				    read_file_error(e));
			free(path);
		}
	}
}

/*
 * The cache root, held in own: the user's --cache-dir (taken as run folders
 * are: new, empty or ours), or a fresh folder in the default parent, which
 * goes at the end, or, if this run is killed, at the start of a later run
 * (unless --keep-cache). The marker lists .state and the strategy
 * folders, so a reused --cache-dir starts cold and keeps what else is in it.
 */
static char *make_cache_root(const struct run_options *o, const struct run_plan *plan,
			     struct owned *own)
{
	const char *parent = default_cache_parent();
	char why[256];
	size_t i;
	int rc;

	if (o->cache_dir) {
		rundir_claim("run", "--cache-dir", o->cache_dir, OWNED_CACHE,
			     OWNED_CREATE | OWNED_CLEAR, own);
	} else {
		(void)owned_sweep(parent, "pycstorm-");
		rc = owned_make_temp(own, parent, "pycstorm-", OWNED_CACHE,
				     o->keep_cache ? 0 : OWNED_TEMPORARY);
		if (rc < 0)
			die(EXIT_SKIP, "run: cannot create a cache folder in '%s': %s", parent,
			    owned_problem(own, rc, why, sizeof(why)));
	}
	rundir_own("run", own, ".state");
	for (i = 0; i < plan->nstrategies; i++)
		rundir_own("run", own, plan->strategies[i]->name);
	return xstrdup(own->path);
}

/* A duration as run reads it back, exactly: "20s", "500ms", "250us", "7ns". */
static void add_duration(struct strbuf *sb, uint64_t ns)
{
	static const struct { uint64_t ns; const char *unit; } units[] = {
		{ 1000000000u, "s" }, { 1000000u, "ms" }, { 1000u, "us" }, { 1u, "ns" },
	};
	size_t i = 0;

	while (i + 1 < sizeof(units) / sizeof(units[0]) && (!ns || ns % units[i].ns))
		i++;
	strbuf_addf(sb, "%" PRIu64 "%s", ns / units[i].ns, units[i].unit);
}

/* The run arguments that run this again, one word at a time. */
struct replay_words {
	char **v;
	size_t n;
};

static void word(struct replay_words *w, char *text)
{
	w->v = xrealloc(w->v, (w->n + 2) * sizeof(char *));
	w->v[w->n++] = text;
	w->v[w->n] = NULL;
}

static void option(struct replay_words *w, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void option(struct replay_words *w, const char *name, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	word(w, xstrdup(name));
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	word(w, strbuf_detach(&sb));
}

static void free_words(struct replay_words *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
}

/*
 * The one replay writer: the scenario, then every effective setting as
 * `run` options, each from the plan (not from what was typed), so the
 * replay runs the same strategies, strategy files, jobs, length, faults,
 * shard, interpreter and seed. replay.args and the summary's replay line
 * are both this list; only the scenario word differs (a file there, the
 * name as given here). Every option written is one replay.args accepts.
 */
static struct replay_words replay_words(const char *scenario, const struct run_plan *plan)
{
	struct replay_words w = { 0 };
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	word(&w, xstrdup(scenario));
	option(&w, "--seed", "%" PRIu64, plan->seed);
	option(&w, "-j", "%u", plan->jobs);
	if (plan->iterations) {
		option(&w, "-n", "%" PRIu64, plan->iterations);
	} else {
		add_duration(&sb, plan->duration_ns);
		option(&w, "-d", "%s", sb.buf);
		strbuf_release(&sb);
	}
	/* Built-in strategies by name; strategy files by path (-s would not
	 * know their names). */
	for (i = 0; i < plan->nstrategies; i++)
		if (!plan->strategies[i]->file)
			strbuf_add_item(&sb, ",", plan->strategies[i]->name);
	if (sb.len)
		option(&w, "-s", "%s", sb.buf);
	strbuf_release(&sb);
	for (i = 0; i < plan->nstrategies; i++)
		if (plan->strategies[i]->file)
			option(&w, "--strategy-file", "%s", plan->strategies[i]->file);
	add_duration(&sb, plan->cycle_timeout_ns);
	option(&w, "--cycle-timeout", "%s", sb.buf);
	strbuf_release(&sb);
	for (i = 0; i < plan->nfaults; i++)
		option(&w, "--fault", "%s", plan->faults[i].text);
	if (plan->preload)
		word(&w, xstrdup("--preload"));
	if (plan->shard_count > 1)
		option(&w, "--shard", "%u/%u", plan->shard_index + 1, plan->shard_count);
	if (plan->nshared) {
		for (i = 0; i < plan->nshared; i++)
			option(&w, "--python", "%s", plan->shared[i]);
		word(&w, xstrdup("--shared-cache"));
	} else if (plan->python) {
		option(&w, "--python", "%s", plan->python);
	}
	return w;
}

/* The command line that runs this again, as a shell reads it. A named
 * scenario stays a name; a scenario file is named by its real path. */
static char *replay_command(const char *scenario_arg, const char *scenario_path,
			    const struct run_plan *plan)
{
	int named = !strchr(scenario_arg, '/') && !strstr(scenario_arg, ".scn");
	char *real = named ? NULL : realpath(scenario_path, NULL);
	struct replay_words w = replay_words(named ? scenario_arg : real ? real : scenario_path, plan);
	struct strbuf line = STRBUF_INIT;
	size_t i;

	strbuf_add(&line, "pycstorm run");
	for (i = 0; i < w.n; i++) {
		strbuf_add(&line, " ");
		strbuf_add_shell_word(&line, w.v[i]);
	}
	free_words(&w);
	free(real);
	return strbuf_detach(&line);
}

/*
 * replay.args: the same words, one a line, so `pycstorm replay RUNDIR`
 * runs the same scenario file, strategies, jobs, length, faults and seed
 * again. 0 or -errno.
 */
static int write_replay_args(const char *run_dir, const char *scenario_path,
			     const struct run_plan *plan)
{
	char *path = xasprintf("%s/replay.args", run_dir), *real = realpath(scenario_path, NULL);
	struct replay_words w = replay_words(real ? real : scenario_path, plan);
	struct strbuf text = STRBUF_INIT;
	size_t i;
	int rc;

	for (i = 0; i < w.n; i++) {
		strbuf_add(&text, w.v[i]);
		strbuf_add(&text, "\n");
	}
	rc = write_file_atomic(path, text.buf, text.len);
	strbuf_release(&text);
	free_words(&w);
	free(real);
	free(path);
	return rc;
}

static char *joined_argv(int argc, char **argv)
{
	struct strbuf s = STRBUF_INIT;
	int i;

	strbuf_add(&s, "pycstorm");
	for (i = 0; i < argc; i++)
		strbuf_add_item(&s, " ", argv[i]);
	return strbuf_detach(&s);
}

static void fill_metadata(struct summary *s, const struct scenario *sc,
			  const struct run_plan *plan, const char *cache_root)
{
	char host[256] = "";
	size_t i, j;

	s->tool = xstrdup("pycstorm " PYCSTORM_VERSION);
	s->scenario = xstrdup(sc->name);
	s->scenario_file = xstrdup(sc->path);
	s->description = sc->description ? xstrdup(sc->description) : NULL;
	s->seed = plan->seed;
	s->started = rundir_iso_now();
	s->cache_dir = xstrdup(cache_root);
	s->cache_fs = xstrdup(fs_type_name(cache_root));
	s->kernel = kernel_description();
	(void)gethostname(host, sizeof(host) - 1);
	s->host = xstrdup(host);
	s->cpus = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	s->jobs = plan->jobs;
	s->compile_jobs = plan->compile_jobs;
	s->iterations = plan->iterations;
	s->duration_target_s = (double)plan->duration_ns / 1e9;
	s->pyc_mode = xstrdup(pyc_mode_name(sc->pyc_mode));
	if (plan->shard_count > 1)
		s->shard = xasprintf("%u/%u", plan->shard_index + 1, plan->shard_count);
	for (i = 0; i < plan->nfaults && i < SUMMARY_MAX_FAULTS; i++)
		s->faults[s->nfaults++] = xstrdup(plan->faults[i].text);
	for (i = 0; i < plan->nstrategies; i++) {
		struct strategy_result *r = summary_result(s, plan->strategies[i]->name);
		for (j = 0; j < sc->nexpect_safe; j++)
			if (!strcmp(sc->expect_safe[j], r->strategy))
				r->expect_safe = 1;
	}
}

/* The scenario's faults, then --fault ones; a fault given on the command
 * line replaces the scenario's fault of the same name. Each name once in
 * the scenario, and once on the command line. */
static void resolve_faults(const struct run_options *o, const struct scenario *sc,
			   struct run_plan *plan)
{
	const char *texts[SCENARIO_MAX_LIST + FAULT_MAX_SPECS];
	const struct fault_info *infos[SCENARIO_MAX_LIST + FAULT_MAX_SPECS];
	char err[1024], *joined;
	struct fault_spec spec;
	size_t n = 0, i, j, nscenario;
	int replaced;

	for (i = 0; i < sc->nfaults; i++) {
		if (fault_parse(sc->faults[i], &spec, err, sizeof(err)) < 0)
			die(EXIT_USAGE, "%s:%u: %s", sc->path, sc->fault_lines[i], err);
		for (j = 0; j < n; j++)
			if (infos[j] == spec.info)
				die(EXIT_USAGE, "%s:%u: fault '%s' is given twice, on lines %u and %u",
				    sc->path, sc->fault_lines[i], spec.info->name,
				    sc->fault_lines[j], sc->fault_lines[i]);
		infos[n] = spec.info;
		texts[n++] = sc->faults[i];
	}
	nscenario = n;
	for (i = 0; i < o->nfaults; i++) {
		if (fault_parse(o->faults[i], &spec, err, sizeof(err)) < 0)
			die(EXIT_USAGE, "run: %s", err);
		for (j = 0, replaced = 0; j < n && !replaced; j++) {
			if (infos[j] != spec.info)
				continue;
			/* Still the scenario's own text: this replaces it. */
			if (j >= nscenario || texts[j] != sc->faults[j])
				die(EXIT_USAGE, "run: fault '%s' is given twice (--fault '%s' and "
						"--fault '%s')", spec.info->name, texts[j],
				    o->faults[i]);
			texts[j] = o->faults[i];
			replaced = 1;
		}
		if (!replaced) {
			infos[n] = spec.info;
			texts[n++] = o->faults[i];
		}
	}
	joined = strbuf_join(texts, n, ";");
	if (n && fault_parse_list(joined, plan->faults, FAULT_MAX_SPECS, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "run: %s", err);
	plan->nfaults = n;
	plan->fault_env = joined;
}

/*
 * The interpreter runner needs a Python that can run the driver (2.7, or
 * 3.6 and later): check once, up front, so a wrong path is one clear line
 * and not dying workers. Returns 1 for 2.7, which has no -I.
 */
static int check_python(const char *python)
{
	static const char probe[] =
		"import sys, ctypes, marshal\n"
		"if sys.version_info[0] == 2:\n"
		"    import imp; imp.load_source\n"
		"else:\n"
		"    import importlib._bootstrap_external as b; b._compile_bytecode\n"
		"if sys.version_info[:2] == (2, 7) or sys.version_info >= (3, 6):\n"
		"    sys.stdout.write('pycstorm-driver-ready %d\\n' % sys.version_info[0])\n";
	char *const argv[] = { (char *)python, (char *)"-E", (char *)"-s", (char *)"-c",
			       (char *)probe, NULL };
	char answer[64] = "", why[256];
	int status = -1, devnull, fds[2];
	ssize_t n = 0;
	pid_t pid;

	if (access(python, X_OK) != 0)
		die(EXIT_SKIP, "run: --python '%s': %s", python, strerror(errno));
	if (pipe2(fds, O_CLOEXEC) < 0)
		die(EXIT_SKIP, "run: cannot make a pipe: %s", proc_start_error(errno, why, sizeof(why)));
	pid = proc_fork();
	if (pid < 0)
		die(EXIT_SKIP, "run: cannot start '%s': %s", python,
		    proc_start_error(errno, why, sizeof(why)));
	if (pid == 0) {
		devnull = open("/dev/null", O_WRONLY);
		(void)dup2(fds[1], 1);
		if (devnull >= 0)
			(void)dup2(devnull, 2);
		proc_unblock();
		execv(python, argv);
		_exit(127);
	}
	(void)close(fds[1]);
	n = read(fds[0], answer, sizeof(answer) - 1);
	(void)close(fds[0]);
	answer[n > 0 ? n : 0] = '\0';
	/* Exiting 0 is not enough (/bin/true does): it must say it is ready. */
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || strncmp(answer, "pycstorm-driver-ready", 21) != 0)
		die(EXIT_SKIP, "run: --python '%s' is not a Python 2.7, or 3.6 or later, that can "
			       "run the driver (ctypes, marshal, imp or importlib)", python);
	return strncmp(answer + 21, " 2", 2) == 0;
}

/* Does this run share one cache between its interpreters? */
static int run_shares_cache(const struct run_options *o, const struct scenario *sc)
{
	return o->shared_cache || (o->npythons > 1 && sc->pythons_mode != SCENARIO_PYTHONS_SEPARATE);
}

/*
 * A shared cache: every --python runs workers of every strategy at once on
 * one cache folder. They must share a cache tag, or each would read and
 * write only its own NAME.<tag>.pyc and nothing would be shared: refused,
 * exit 2. Each must get a worker (an upgrade needs a compile worker and an
 * import worker per old interpreter).
 */
static void shared_plan(const struct run_options *o, const struct scenario *sc,
			struct run_plan *plan)
{
	struct python first = { 0 }, py;
	unsigned imports = plan->jobs - plan->compile_jobs;
	size_t i;

	if (!run_shares_cache(o, sc))
		return;
	if (o->npythons < 2)
		die(EXIT_USAGE, "run: --shared-cache needs two or more --python (the interpreters "
				"that share the cache)");
	plan->python = o->pythons[0];
	plan->python_legacy = check_python(o->pythons[0]);
	plan->shared_by_role = sc->pythons_mode == SCENARIO_PYTHONS_UPGRADE;
	for (i = 0; i < o->npythons; i++) {
		if (check_python(o->pythons[i]))
			die(EXIT_USAGE, "run: --shared-cache: '%s' is a Python 2.7, which has no cache "
					"tag and no __pycache__ to share", o->pythons[i]);
		if (pythons_probe(o->pythons[i], i ? &py : &first) < 0)
			die(EXIT_SKIP, "run: --shared-cache: cannot read the cache tag of '%s'",
			    o->pythons[i]);
		if (i && strcmp(py.cache_tag, first.cache_tag) != 0)
			die(EXIT_USAGE, "run: --shared-cache: '%s' has cache tag %s but '%s' has %s: "
					"they would not share one cache file", o->pythons[i],
			    py.cache_tag, o->pythons[0], first.cache_tag);
		if (i) {
			free(py.path);
			free(py.version);
			free(py.release);
			free(py.cache_tag);
		}
		plan->shared[plan->nshared++] = o->pythons[i];
	}
	free(first.path);
	free(first.version);
	free(first.release);
	free(first.cache_tag);
	if (plan->shared_by_role && (!plan->compile_jobs || imports < o->npythons - 1))
		die(EXIT_USAGE, "run: scenario '%s' (pythons = upgrade) with %u compile and %u import "
				"workers cannot give the first --python a compile worker and each other "
				"an import worker: raise -j", sc->name, plan->compile_jobs, imports);
	if (!plan->shared_by_role && plan->jobs < o->npythons)
		die(EXIT_USAGE, "run: --shared-cache with %zu interpreters needs -j %zu or more (a "
				"worker each)", o->npythons, o->npythons);
}

/* Which interpreters shared the cache, for the summary and its reports:
 * "EXE (VERSION, compile); EXE (VERSION, import)", or NULL. */
static char *shared_description(const struct run_plan *plan)
{
	struct strbuf sb = STRBUF_INIT;
	struct python py;
	size_t i;

	for (i = 0; i < plan->nshared; i++) {
		const char *role = !plan->shared_by_role ? "compile and import"
				   : i ? "import" : "compile";
		if (pythons_probe(plan->shared[i], &py) == 0) {
			strbuf_addf(&sb, "%s%s (%s, %s)", i ? "; " : "", plan->shared[i], py.version,
				    role);
			free(py.path);
			free(py.version);
			free(py.release);
			free(py.cache_tag);
		} else {
			strbuf_addf(&sb, "%s%s (%s)", i ? "; " : "", plan->shared[i], role);
		}
	}
	return sb.len ? strbuf_detach(&sb) : NULL;
}

/* Each --strategy-file becomes one more strategy, named after its file. */
static void add_strategy_files(const struct run_options *o, struct run_plan *plan)
{
	struct plan_strategy_file *pf;
	char *real;
	const char *base;
	size_t i, j;
	int e;

	for (i = 0; i < o->nstrategy_files; i++) {
		real = realpath(o->strategy_files[i], NULL);
		/* The workers run it: a FIFO would hang each one in its open. */
		e = real ? read_file_check(real) : -errno;
		if (e < 0)
			die(EXIT_USAGE, "run: --strategy-file '%s': %s", o->strategy_files[i],
			    read_file_error(e));
		/* replay.args holds one argument a line (and the path is not
		 * printed: it would break this message's one line too). */
		if (strpbrk(real, "\n\r"))
			die(EXIT_USAGE, "run: --strategy-file: a path with a line break cannot be "
					"replayed");
		base = strrchr(real, '/') + 1;
		if (strlen(base) < 4 || strcmp(base + strlen(base) - 3, ".py") != 0)
			die(EXIT_USAGE, "run: --strategy-file '%s' is not a .py file", o->strategy_files[i]);
		for (j = 0; j < plan->nstrategies; j++)
			if (!strcmp(plan->strategies[j]->name, base))
				die(EXIT_USAGE, "run: two strategies are named '%s'", base);
		if (plan->nstrategies == PLAN_MAX_STRATEGIES)
			die(EXIT_USAGE, "run: more than %d strategies", PLAN_MAX_STRATEGIES);
		pf = &plan->files[plan->nfiles++];
		pf->path = real;
		pf->info.name = base;
		pf->info.summary = "a candidate fix from a Python file";
		pf->info.source = real;
		pf->info.file = real;
		plan->strategies[plan->nstrategies++] = &pf->info;
	}
}

/* What build_plan and cmd_run_with gave the plan. */
static void release_plan(struct run_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->nfiles; i++)
		free(plan->files[i].path);   /* also its strategy's name and source */
	plan->nfiles = 0;
	free(plan->worker_program);
	free(plan->modules_dir);
	free(plan->inject_library);
	free(plan->driver);
	free(plan->strategies_lib);
	free(plan->fault_env);
}

/* Workers and lock holders run at once: within the caps, or bad input
 * (whether -j, a fault or the scenario asked for them). */
static void check_caps(const struct run_plan *plan)
{
	struct proc_budget b = { .per_group_what = "workers per strategy",
				 .groups = (unsigned)plan->nstrategies, .per_group = plan->jobs };
	char err[256];
	size_t i;

	for (i = 0; i < plan->nfaults; i++)
		if (plan->faults[i].info == &fault_held_lock)
			b.holders = plan->faults[i].u.held_lock.holders;
	if (proc_check_caps(&b, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "run: %s", err);
}

static void build_plan(const struct run_options *o, const struct scenario *sc,
		       struct run_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->sc = sc;
	resolve_strategies(o, sc, plan);
	add_strategy_files(o, plan);
	plan->jobs = o->jobs ? o->jobs : sc->jobs;
	plan->compile_jobs = (unsigned)(plan->jobs * sc->compile_share + 0.5);
	if (plan->compile_jobs > plan->jobs)
		plan->compile_jobs = plan->jobs;
	plan->iterations = o->iterations ? o->iterations : (o->duration_ns ? 0 : sc->iterations);
	plan->duration_ns = plan->iterations ? 0 : (o->duration_ns ? o->duration_ns : sc->duration_ns);
	plan->seed = o->seed_given ? o->seed : rundir_random_seed();
	plan->cycle_timeout_ns = o->cycle_timeout_ns;
	plan->worker_program = cli_worker_program();
	resolve_faults(o, sc, plan);
	check_caps(plan);
	plan->preload = o->preload;
	plan->until_reproduced = o->until_reproduced;
	plan->trace = o->trace;
	if (o->python) {
		plan->python_legacy = check_python(o->python);
		plan->python = o->python;
		shared_plan(o, sc, plan);
		plan->driver = cli_program_file("pycstorm-driver.py");
		plan->strategies_lib = cli_program_file("libpycstorm-strategies.so");
		if (access(plan->driver, R_OK) != 0 || access(plan->strategies_lib, R_OK) != 0)
			die(EXIT_SKIP, "the interpreter runner's '%s' or '%s' is missing: run 'make' first",
			    plan->driver, plan->strategies_lib);
	}
	plan->shard_index = o->shard_index;
	plan->shard_count = o->shard_count;
	if (plan->nfaults || plan->preload)
		plan->inject_library = cli_inject_library();
	for (size_t i = 0; i < plan->nfaults; i++)
		if (plan->faults[i].info == &fault_fiu)
			plan->fiu_preload = cli_fiu_preload();
	plan->progress = !o->quiet && isatty(2) && !getenv("CI");
}

/*
 * Run as `pycstorm run argv...`. With out, the summary is handed over
 * instead of freed and *run_dir_out names the run folder (for repro).
 */
int cmd_run_with(int argc, char **argv, struct summary *out, char **run_dir_out)
{
	struct run_options o;
	struct run_plan plan;
	struct scenario sc;
	struct summary s = { 0 };
	char err[2048], message[1024], *scenario_path, *run_dir, *id = NULL, *table = NULL;
	char *scenarios_dir, *cache_root;
	struct owned run_own, cache_own;
	size_t table_len = 0;
	enum run_status status;
	int rc = EXIT_OK, wrc;

	parse_options(argc, argv, &o);
	{
		char *worker = cli_worker_program();
		if (access(worker, X_OK) != 0)
			die(EXIT_SKIP, "the worker '%s' is missing: run 'make' first", worker);
		free(worker);
	}
	scenario_path = cli_find_scenario(o.scenario ? o.scenario : "default", err, sizeof(err));
	if (!scenario_path)
		die(EXIT_USAGE, "run: %s", err);
	if (scenario_load(scenario_path, &sc, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "%s", err);
	build_plan(&o, &sc, &plan);
	scenarios_dir = cli_scenarios_dir();
	plan.modules_dir = xasprintf("%s/modules", scenarios_dir);
	check_modules(&sc, plan.modules_dir);
	run_dir = rundir_create("run", o.out_dir, plan.seed, &id, &run_own);
	cache_root = make_cache_root(&o, &plan, &cache_own);
	plan.cache_root = cache_root;
	plan.run_dir = run_dir;
	fill_metadata(&s, &sc, &plan, cache_root);
	s.shared_cache = shared_description(&plan);
	s.command = joined_argv(argc, argv);
	s.replay = replay_command(o.scenario ? o.scenario : "default", scenario_path, &plan);
	if (!o.quiet) {
		(void)printf("pycstorm %s: scenario %s, %zu strategies x %u workers (%u compile, %u import), ",
			     PYCSTORM_VERSION, sc.name, plan.nstrategies, plan.jobs,
			     plan.compile_jobs, plan.jobs - plan.compile_jobs);
		if (plan.iterations)
			(void)printf("%" PRIu64 " cycles per worker\n", plan.iterations);
		else
			(void)printf("%g s\n", (double)plan.duration_ns / 1e9);
		(void)printf("seed %" PRIu64 "; cache %s (%s); results %s\n", plan.seed, cache_root,
			     s.cache_fs, run_dir);
		(void)fflush(stdout);
	}
	if (write_replay_args(run_dir, scenario_path, &plan) < 0)
		warn("cannot write '%s/replay.args'", run_dir);
	status = orchestrate(&plan, &s, message, sizeof(message));
	s.interrupted = status == RUN_INTERRUPTED;
	wrc = format_write_defaults(run_dir, &s);
	if (wrc < 0)
		warn("cannot write the results into '%s': %s", run_dir, strerror(-wrc));
	rundir_point_latest(id);
	if (!o.quiet && format_render(&format_md, &s, &table, &table_len) == 0) {
		(void)printf("\n%s\nResults: %s\n", table, run_dir);
		free(table);
	}
	if (status == RUN_REFUSED) {
		/* What the run was given is wrong, not the machine. */
		(void)fprintf(stderr, "%s: %s\n", progname, message);
		rc = EXIT_USAGE;
	} else if (status == RUN_ABORTED) {
		warn("run stopped: %s", message);
		rc = EXIT_SKIP;
	} else if (status == RUN_INTERRUPTED) {
		warn("interrupted: partial results written to %s", run_dir);
		rc = EXIT_INTERRUPTED;
	} else if (wrc < 0) {
		rc = EXIT_SKIP;
	}
	if (!o.cache_dir && !o.keep_cache)
		(void)owned_remove(&cache_own);
	owned_release(&cache_own);
	owned_release(&run_own);
	if (out) {
		*out = s;
		memset(&s, 0, sizeof(s));
	}
	if (run_dir_out) {
		*run_dir_out = run_dir;
		run_dir = NULL;
	}
	summary_free(&s);
	scenario_free(&sc);
	free(scenario_path);
	free(scenarios_dir);
	release_plan(&plan);
	free(run_dir);
	free(cache_root);
	free(id);
	return rc;
}

/* The option at argv[i] and its value: "--python X" or "--python=X". */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
	size_t len = strlen(name);

	if (!strncmp(argv[*i], name, len) && argv[*i][len] == '=')
		return argv[*i] + len + 1;
	if (!strcmp(argv[*i], name) && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

/*
 * run --python A --python B ...: the version matrix. Each interpreter runs
 * the whole plan with the same seed, one after the other (they never
 * compete for the cores), in a run folder of its own inside this one
 * (py-1/, py-2/, ...: its evidence, events and replay). This folder's
 * summary holds every strategy once per interpreter, named
 * STRATEGY@VERSION, so every report format has a row per interpreter.
 */
static int run_matrix(int argc, char **argv, size_t npythons)
{
	const char **pythons = xcalloc(npythons, sizeof(*pythons)), *out = NULL, *seed_text = NULL;
	char **sub = xcalloc((size_t)argc + 8, sizeof(*sub)), *top, *id = NULL, *seed_buf, *table = NULL;
	struct summary *sums = xcalloc(npythons, sizeof(*sums)), all;
	struct strbuf versions = STRBUF_INIT, exes = STRBUF_INIT;
	struct owned own;
	size_t i, j, k, nsub = 0, np = 0, total = 0, table_len = 0;
	uint64_t seed;
	int a, rc = EXIT_OK, quiet = 0;
	const char *v;

	for (a = 0; a < argc; a++) {
		if ((v = option_value(argc, argv, &a, "--python")) != NULL)
			pythons[np++] = v;
		else if ((v = option_value(argc, argv, &a, "--out")) || (v = option_value(argc, argv, &a, "-o")))
			out = v;
		else {
			if ((v = option_value(argc, argv, &a, "--seed")) != NULL) {
				seed_text = v;
				sub[nsub++] = (char *)"--seed";
			} else if (!strcmp(argv[a], "-q") || !strcmp(argv[a], "--quiet"))
				quiet = 1;
			sub[nsub++] = seed_text == v && v ? (char *)v : argv[a];
		}
	}
	if (seed_text && parse_u64(seed_text, &seed) < 0)
		die(EXIT_USAGE, "run: --seed '%s' is not a number", seed_text);
	if (!seed_text)
		seed = rundir_random_seed();
	seed_buf = xasprintf("%" PRIu64, seed);
	if (!seed_text) {
		sub[nsub++] = (char *)"--seed";
		sub[nsub++] = seed_buf;
	}
	top = rundir_create("run", out, seed, &id, &own);
	for (i = 0; i < npythons && rc == EXIT_OK; i++) {
		char *dir = xasprintf("%s/py-%zu", top, i + 1), *sub_dir = NULL;
		/* a copy each time: getopt reorders the vector it is given */
		char **one = xcalloc(nsub + 5, sizeof(*one));

		memcpy(one, sub, nsub * sizeof(*one));
		one[nsub] = (char *)"--python";
		one[nsub + 1] = (char *)pythons[i];
		one[nsub + 2] = (char *)"-o";
		one[nsub + 3] = dir;
		if (!quiet)
			(void)printf("pycstorm run: interpreter %zu of %zu, %s\n", i + 1, npythons, pythons[i]);
		(void)fflush(stdout);
		optind = 0;
		rc = cmd_run_with((int)nsub + 4, one, &sums[i], &sub_dir);
		free(sub_dir);
		free(one);
		free(dir);
		total += sums[i].nresults;
	}
	if (rc == EXIT_OK) {
		all = sums[0];
		all.results = xcalloc(total ? total : 1, sizeof(*all.results));
		all.nresults = 0;
		for (i = 0; i < npythons; i++) {
			const char *ver = sums[i].python_version ? sums[i].python_version : "?";
			char *version = xstrndup(ver, strcspn(ver, " "));

			strbuf_addf(&versions, "%s%s", i ? ", " : "", version);
			strbuf_addf(&exes, "%s%s", i ? ", " : "",
				    sums[i].python_executable ? sums[i].python_executable : pythons[i]);
			for (j = 0; j < sums[i].nresults; j++) {
				struct strategy_result *r = &all.results[all.nresults++];
				char *name;

				*r = sums[i].results[j];
				name = xasprintf("%s@%s", r->strategy, version);
				free(r->strategy);
				r->strategy = name;
				for (k = 0; k < r->nevidence; k++) {
					name = xasprintf("py-%zu/%s", i + 1, r->evidence[k]);
					free(r->evidence[k]);
					r->evidence[k] = name;
				}
			}
			free(sums[i].results);
			sums[i].results = NULL;
			sums[i].nresults = 0;
			free(version);
		}
		free(all.python_version);
		free(all.python_executable);
		all.python_version = strbuf_detach(&versions);
		all.python_executable = strbuf_detach(&exes);
		free(all.command);
		all.command = joined_argv(argc, argv);
		free(all.replay);
		all.replay = xasprintf("%s --seed %" PRIu64, all.command, seed);
		memset(&sums[0], 0, sizeof(sums[0]));
		if (format_write_defaults(top, &all) < 0) {
			warn("cannot write the results into '%s'", top);
			rc = EXIT_SKIP;
		}
		rundir_point_latest(id);
		if (!quiet && format_render(&format_md, &all, &table, &table_len) == 0) {
			(void)printf("\n%s\nResults: %s\n", table, top);
			free(table);
		}
		summary_free(&all);
	}
	for (i = 0; i < npythons; i++)
		summary_free(&sums[i]);
	strbuf_release(&versions);
	strbuf_release(&exes);
	owned_release(&own);
	free(sums);
	free(sub);
	free(pythons);
	free(seed_buf);
	free(top);
	free(id);
	return rc;
}

/* With several --python: --shared-cache, or a scenario that says pythons =
 * shared or upgrade, runs them on one cache; otherwise the version matrix. */
static int run_args_share_cache(int argc, char **argv)
{
	char **copy = xcalloc((size_t)argc + 1, sizeof(*copy)), *path, err[2048];
	struct run_options o;
	struct scenario sc;
	int shares;

	memcpy(copy, argv, (size_t)argc * sizeof(*copy));
	optind = 0;
	parse_options(argc, copy, &o);
	optind = 0;
	free(copy);
	if (o.shared_cache)
		return 1;
	path = cli_find_scenario(o.scenario ? o.scenario : "default", err, sizeof(err));
	if (!path)
		die(EXIT_USAGE, "run: %s", err);
	if (scenario_load(path, &sc, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "%s", err);
	shares = run_shares_cache(&o, &sc);
	scenario_free(&sc);
	free(path);
	return shares;
}

static int run_main(int argc, char **argv)
{
	size_t npythons = 0;
	int a;

	for (a = 0; a < argc; a++)
		if (option_value(argc, argv, &a, "--python"))
			npythons++;
	if (npythons > 1 && !run_args_share_cache(argc, argv))
		return run_matrix(argc, argv, npythons);
	return cmd_run_with(argc, argv, NULL, NULL);
}

const struct command_info command_run = {
	.name = "run",
	.summary = "run a scenario and score each strategy",
	.main = run_main,
};

static const char replay_usage[] =
	"usage: pycstorm replay RUNDIR [-o DIR] [-q]\n\n"
	"Run again what RUNDIR ran: the same scenario file, strategies, jobs,\n"
	"length, faults and seed (from RUNDIR/replay.args). With -n, each worker\n"
	"meets the same fault decisions; with -d, as many cycles as time allows.\n"
	"It prints the interpreter the workers will run before it starts them.\n";

/* replay.args is a few hundred bytes; anything this large is not ours. */
#define REPLAY_ARGS_MAX (64u << 10)

/*
 * What replay.args may hold: the options write_replay_args writes, and
 * nothing else. The folders a run writes in (-o, --cache-dir) are the
 * user's choice: replay.args naming one is refused unless the command line
 * names its own, which then wins.
 */
static const struct replay_option {
	const char *name;
	int value;           /* its value is the next line */
	int folder;          /* it names a folder to write in */
} replay_options[] = {
	{ "--seed", 1, 0 }, { "-j", 1, 0 }, { "-n", 1, 0 }, { "-d", 1, 0 }, { "-s", 1, 0 },
	{ "--strategy-file", 1, 0 }, { "--cycle-timeout", 1, 0 }, { "--fault", 1, 0 },
	{ "--preload", 0, 0 }, { "--shard", 1, 0 }, { "--python", 1, 0 }, { "--shared-cache", 0, 0 },
	{ "-o", 1, 1 }, { "--out", 1, 1 }, { "--cache-dir", 1, 1 },
};

static const struct replay_option *replay_option(const char *word)
{
	size_t i;

	for (i = 0; i < sizeof(replay_options) / sizeof(replay_options[0]); i++)
		if (!strcmp(word, replay_options[i].name))
			return &replay_options[i];
	return NULL;
}

/* Does word give option on a command line ("--out", "--out=D", "-oD")? */
static int gives(const char *word, const char *option)
{
	size_t n = strlen(option);

	return !strncmp(word, option, n) &&
	       (word[n] == '\0' || (n == 2 ? 1 : word[n] == '='));
}

/* The user's own value of option (or of its other spelling) on the replay
 * command line, or NULL. */
static const char *user_value(int argc, char **argv, const char *option, const char *other)
{
	const char *value = NULL, *name;
	int i;

	for (i = 2; i < argc; i++) {
		name = gives(argv[i], option) ? option : other && gives(argv[i], other) ? other : NULL;
		if (!name)
			continue;
		if (argv[i][strlen(name)])
			value = argv[i] + strlen(name) + (argv[i][strlen(name)] == '=');
		else if (i + 1 < argc)
			value = argv[++i];
	}
	return value;
}

static int user_gives_folder(int argc, char **argv, const char *option)
{
	if (!strcmp(option, "--cache-dir"))
		return user_value(argc, argv, "--cache-dir", NULL) != NULL;
	return user_value(argc, argv, "-o", "--out") != NULL;
}

struct replay_plan {
	char **args;
	int n;
	const char *python;      /* replay.args' --python */
	struct strbuf files;     /* its --strategy-file values, joined */
};

/* Check replay.args line by line into p->args; dies, exit 2, on anything
 * write_replay_args would not have written. */
static void check_replay_args(const char *path, char *text, int argc, char **argv,
			      struct replay_plan *p)
{
	const struct replay_option *opt;
	char *line, *value, *save = NULL;

	line = strtok_r(text, "\n", &save);
	if (!line || line[0] == '-')
		die(EXIT_USAGE, "replay: '%s' does not start with a scenario file", path);
	p->args[p->n++] = line;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		opt = replay_option(line);
		if (!opt)
			die(EXIT_USAGE, "replay: '%s' holds '%.60s', which is not an option replay.args has",
			    path, line);
		value = opt->value ? strtok_r(NULL, "\n", &save) : NULL;
		if (opt->value && !value)
			die(EXIT_USAGE, "replay: '%s' ends in '%s' without its value", path, line);
		if (opt->folder && !user_gives_folder(argc, argv, opt->name))
			die(EXIT_USAGE, "replay: '%s' names a folder to write in (%s '%.200s'); give %s "
					"on the command line to choose one", path, line, value, line);
		if (opt->folder)
			continue;
		if (!strcmp(opt->name, "--python"))
			p->python = value;
		if (!strcmp(opt->name, "--strategy-file"))
			strbuf_add_item(&p->files, ", ", value);
		p->args[p->n++] = line;
		if (value)
			p->args[p->n++] = value;
	}
}

/* One line before anything runs: which interpreter the workers will be. */
static void announce_replay(const char *path, const struct replay_plan *p, int argc, char **argv)
{
	const char *python = user_value(argc, argv, "--python", NULL);
	int i, quiet = 0;

	for (i = 2; i < argc; i++)
		quiet |= !strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet");
	if (quiet)
		return;
	if (python)
		(void)printf("pycstorm replay: the workers run %s", python);
	else if (p->python)
		(void)printf("pycstorm replay: the workers run %s (named in %s)", p->python, path);
	else
		(void)printf("pycstorm replay: the workers run the embedded interpreter (built "
			     "against %s)", PYTHON_EXE);
	if (p->files.len)
		(void)printf(", with the strategy files %s", p->files.buf);
	(void)printf("\n");
	(void)fflush(stdout);
}

static int replay_main(int argc, char **argv)
{
	struct replay_plan p = { .files = STRBUF_INIT };
	char *path, *text = NULL;
	size_t len = 0;
	int i, e;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		(void)fputs(replay_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	path = xasprintf("%s/replay.args", argv[1]);
	e = read_file(path, &text, &len);
	if (e < 0)
		die(EXIT_USAGE, "replay: cannot read '%s': %s (is '%s' a run folder?)", path,
		    read_file_error(e), argv[1]);
	if (len > REPLAY_ARGS_MAX)
		die(EXIT_USAGE, "replay: '%s' is larger than 64 KiB: not a replay.args pycstorm wrote",
		    path);
	if (memchr(text, '\0', len))
		die(EXIT_USAGE, "replay: '%s' is not text", path);
	p.args = xcalloc(len + (size_t)argc + 2, sizeof(char *));
	p.args[p.n++] = "run";
	check_replay_args(path, text, argc, argv, &p);
	for (i = 2; i < argc; i++)
		p.args[p.n++] = argv[i];
	p.args[p.n] = NULL;
	announce_replay(path, &p, argc, argv);
	optind = 0;
	e = cmd_run_with(p.n, p.args, NULL, NULL);
	free(p.args);
	strbuf_release(&p.files);
	free(text);
	free(path);
	return e;
}

const struct command_info command_replay = {
	.name = "replay",
	.summary = "run a run folder's scenario again with its seed and settings",
	.main = replay_main,
};
