/*
 * pycstorm crashpoints STRATEGY [--model M]: every crash point of one write
 * sequence, the way ALICE and CrashMonkey walk a trace.
 *
 * 1. A cache holds an old, durable .pyc (version 1) beside the new source
 *    (version 2): an upgrade has just replaced the source.
 * 2. One worker writes the new .pyc through STRATEGY under the power-cut
 *    journal in trace mode, so every create, write (with its bytes),
 *    fsync, rename and unlink is recorded in order.
 * 3. For every prefix of that trace (a crash after operation k), for every
 *    number of uncommitted metadata operations the disk may have kept, and
 *    for each data outcome (all unsynced sectors lost, all kept, torn), the
 *    old cache is restored, the prefix replayed for real, the crash model
 *    applied (inject/faults/rollback.c), and the resulting file judged by the real
 *    interpreter's classifier.
 *
 * Exit status: 0 when no crash state leaves a corrupt cache, 1 when one
 * does, 2 bad usage, 77 cannot run.
 */
#include "cli.h"

#include "common.h"
#include "crash-states.h"
#include "event.h"
#include "proc.h"
#include "fault.h"
#include "inject-env.h"
#include "outcome.h"
#include "owned.h"
#include "pythons.h"
#include "rollback.h"
#include "strategy.h"
#include "worker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct cp {
	const struct strategy_info *strategy;
	enum crash_model model;
	const char *module;
	struct owned own;      /* root, marked as a cache folder, removed at the end */
	char *root;            /* scratch root: <root>/<strategy>/ is the cache */
	char *state;           /* journals, backups, trace data */
	char *work;            /* where crash states are built and judged */
	char *modules_dir;
	char *worker;
	char *inject;
	char *pyc_rel;         /* <strategy>/__pycache__/<module>.<tag>.pyc */
	char *baseline;        /* the old, durable pyc */
	unsigned sector;
	struct crash_write write; /* the traced write, its crash states */
	unsigned corrupt, missing;
};

static const char crashpoints_usage[] =
	"usage: pycstorm crashpoints STRATEGY [--model ext4-ordered|writeback] [--module NAME]\n"
	"                            [--sector 512|4096]\n\n"
	"Enumerate every crash point of STRATEGY's write sequence for one module\n"
	"(default: small) and print which leave a corrupt, stale or missing cache.\n"
	"Exit status: 0 no corrupt crash state, 1 some, 2 bad usage.\n";

/* Start the worker for one cycle; trace turns on the journal with data. */
static int run_worker(struct cp *c, unsigned worker_index, int trace)
{
	struct inject_env ie = INJECT_ENV_INIT;
	struct worker_args a = { 0 };
	char **argv, **base, **env, *dirs = NULL, *cache_dir, *module;
	int status = -1;

	cache_dir = xasprintf("%s/%s", c->root, c->strategy->name);
	module = xasprintf("%s:%s/%s/v1.py,%s/%s/v2.py", c->module, c->modules_dir, c->module,
			   c->modules_dir, c->module);
	worker_args_one_write(&a, c->strategy->name, cache_dir, module, worker_index);
	argv = worker_build_argv(c->worker, &a);
	if (trace) {
		dirs = xasprintf("%s/%s", c->root, c->strategy->name);
		ie.library = c->inject;
		ie.faults = "power-cut";
		ie.dirs = dirs;
		ie.cache_root = c->root;
		ie.state_dir = c->state;
		ie.trace = 1;
	}
	/* a fixed environment, with a sanitizer build's settings */
	base = inject_env_fixed_base();
	env = inject_env_build(base, &ie);
	inject_env_free(base);
	free(dirs);
	status = inject_env_run_quiet(argv, env, 0);
	inject_env_free(env);
	worker_free_argv(argv);
	free(cache_dir);
	free(module);
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The pyc the worker wrote names the cache tag of the Python it embeds. */
static int find_pyc(struct cp *c, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = strlen(c->module);

	while (d && (e = readdir(d)) != NULL && !c->pyc_rel)
		if (!strncmp(e->d_name, c->module, n) && e->d_name[n] == '.' &&
		    strlen(e->d_name) > 4 && !strcmp(e->d_name + strlen(e->d_name) - 4, ".pyc"))
			c->pyc_rel = xasprintf("%s/__pycache__/%s", c->strategy->name, e->d_name);
	if (d)
		(void)closedir(d);
	return c->pyc_rel ? 0 : -1;
}

/* Step 1: the strategy's folder with the new source and the old, durable pyc. */
static int prepare(struct cp *c)
{
	char *dir = xasprintf("%s/%s/__pycache__", c->root, c->strategy->name);
	char *src = xasprintf("%s/%s/v2.py", c->modules_dir, c->module);
	char *dst = xasprintf("%s/%s/%s.py", c->root, c->strategy->name, c->module);
	struct timespec times[2] = { { worker_source_mtime(1), 0 }, { worker_source_mtime(1), 0 } };
	int rc = mkdir_p(dir, 0755);

	if (rc == 0)
		rc = mkdir_p(c->state, 0755);
	if (rc == 0)
		rc = crash_copy_file(src, dst);
	if (rc == 0 && utimensat(AT_FDCWD, dst, times, 0) < 0)
		rc = -errno;
	if (rc == 0 && (run_worker(c, 0, 0) < 0 || find_pyc(c, dir) < 0))
		rc = -EIO;
	if (rc == 0) {
		/* the old cache, as every crash state starts from it */
		char *pyc = xasprintf("%s/%s", c->root, c->pyc_rel);
		c->baseline = xasprintf("%s/baseline.pyc", c->root);
		rc = crash_copy_file(pyc, c->baseline);
		free(pyc);
	}
	free(dir);
	free(src);
	free(dst);
	return rc;
}

static const char *op_text(const struct journal_entry *e, char *buf, size_t size)
{
	const char *base = e->path ? strrchr(e->path, '/') : NULL;
	const char *dbase = e->dst ? strrchr(e->dst, '/') : NULL;

	base = base ? base + 1 : (e->path ? e->path : "?");
	dbase = dbase ? dbase + 1 : "";
	switch (e->op) {
	case 'C': (void)snprintf(buf, size, "create %s", base); break;
	case 'T': (void)snprintf(buf, size, "truncate %s", base); break;
	case 'W': (void)snprintf(buf, size, "write %lld bytes at %lld", e->len, e->off); break;
	case 'S': (void)snprintf(buf, size, "fsync %s", base); break;
	case 'D': (void)snprintf(buf, size, "fsync directory"); break;
	case 'R': (void)snprintf(buf, size, "rename %s -> %s", base, dbase); break;
	case 'U': (void)snprintf(buf, size, "unlink %s", base); break;
	default: (void)snprintf(buf, size, "?");
	}
	return buf;
}

/* The class of the pyc at path, from `pycstorm classify`: judged by an
 * interpreter of the release that reads it, the code run when it differs
 * from its source's. */
static char *judge(struct cp *c, const char *path)
{
	char *report = xasprintf("%s.verdict", c->work), *cls;

	cls = classify_class_of(NULL, path, report);
	free(report);
	return cls;
}

static int is_corrupt_class(const char *cls)
{
	int o = outcome_from_name(cls);

	return (o >= 0 && outcome_is_corrupt((enum outcome)o)) || o == OUTCOME_OTHER_ERROR;
}

/* One crash state: judged, counted, printed. */
static void print_state(const struct crash_state *s, void *ctx)
{
	struct cp *c = ctx;
	char *cls = judge(c, s->pyc), what[160];

	c->corrupt += is_corrupt_class(cls);
	c->missing += !strcmp(cls, "missing");
	(void)printf("%-4zu %-52.52s %ld/%-7ld %-14s %s%s\n", s->after,
		     s->after ? op_text(&c->write.trace.e[s->after - 1], what, sizeof(what))
			      : "(nothing yet)",
		     s->kept, s->pending, s->data, cls, is_corrupt_class(cls) ? "   <- CORRUPT" : "");
	free(cls);
}

/* Walk every crash state; print a line each; return the number corrupt. */
static unsigned walk(struct cp *c)
{
	size_t states;

	(void)printf("%-4s %-52s %-9s %-14s %s\n", "op", "crash after", "metadata", "data", "cache");
	states = crash_states_walk(&c->write, c->work, print_state, c);
	(void)printf("\n%s under %s: %zu operations, %zu crash states: %u corrupt, %u missing\n",
		     c->strategy->name, crash_model_name(c->model), c->write.trace.n, states,
		     c->corrupt, c->missing);
	return c->corrupt;
}

static int crashpoints_main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "module", required_argument, NULL, 'M' },
		{ "sector", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cp c = { .model = MODEL_WRITEBACK, .module = "small", .sector = 512 };
	char *scenarios, *names, *source_rel;
	int ch, rc, model, sector;

	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case 'm':
			/* the power-cut fault's own words for its models */
			model = fault_choice_value(&fault_power_cut, "model", optarg);
			if (model >= 0)
				c.model = (enum crash_model)model;
			else
				die(EXIT_USAGE, "crashpoints: unknown model '%s' (valid: ext4-ordered, writeback)",
				    optarg);
			break;
		case 'M': c.module = optarg; break;
		case 's':
			sector = fault_choice_value(&fault_power_cut, "sector", optarg);
			if (sector < 0)
				die(EXIT_USAGE, "crashpoints: --sector '%s' is not 512 or 4096", optarg);
			c.sector = (unsigned)sector;
			break;
		case 'h':
			(void)fputs(crashpoints_usage, stdout);
			return EXIT_OK;
		default:
			cli_bad_option("crashpoints", argv[optind - 1], "--model, --module, --sector, -h/--help");
		}
	}
	if (optind >= argc || optind + 1 < argc)
		die(EXIT_USAGE, "crashpoints: name one strategy (see 'pycstorm list strategies')");
	c.strategy = strategy_find(argv[optind]);
	if (!c.strategy || c.strategy->workload) {
		names = cli_strategy_names();
		die(EXIT_USAGE, "crashpoints: unknown strategy '%s' (valid: %s, except merge-*)",
		    argv[optind], names);
	}
	scenarios = cli_scenarios_dir();
	c.modules_dir = xasprintf("%s/modules", scenarios);
	free(scenarios);
	{
		char *probe = xasprintf("%s/%s/v2.py", c.modules_dir, c.module);
		if (access(probe, R_OK) != 0)
			die(EXIT_USAGE, "crashpoints: module '%s' has no fixture (%s)", c.module, probe);
		free(probe);
	}
	c.worker = cli_worker_program();
	c.inject = cli_program_file("libpycstorm-inject.so");
	c.root = cli_scratch_folder("crashpoints", &c.own);
	c.state = xasprintf("%s/.state", c.root);
	c.work = xasprintf("%s/.crash", c.root);
	rc = prepare(&c);
	if (rc < 0)
		die(EXIT_SKIP, "crashpoints: cannot set up the old cache in '%s': %s", c.root, strerror(-rc));
	c.write = (struct crash_write){
		.root = c.root, .scope = c.strategy->name, .pyc_rel = c.pyc_rel,
		.old_pyc = c.baseline, .state_dir = c.state, .model = c.model, .sector = c.sector,
		.data_fd = -1,
	};
	c.write.source_rel = source_rel = xasprintf("%s/%s.py", c.strategy->name, c.module);
	if (run_worker(&c, 1, 1) < 0 || crash_write_load(&c.write) < 0)
		die(EXIT_SKIP, "crashpoints: the traced write of %s recorded nothing", c.strategy->name);
	(void)printf("%s: %zu operations traced writing %s (version 2 over version 1), model %s\n\n",
		     c.strategy->name, c.write.trace.n, c.module, crash_model_name(c.model));
	rc = walk(&c) ? EXIT_FAILED : EXIT_OK;
	crash_write_free(&c.write);
	free(source_rel);
	(void)owned_remove(&c.own);
	free(c.root);
	free(c.state);
	free(c.work);
	free(c.modules_dir);
	free(c.worker);
	free(c.inject);
	free(c.pyc_rel);
	free(c.baseline);
	return rc;
}

const struct command_info command_crashpoints = {
	.name = "crashpoints",
	.summary = "enumerate every crash point of a strategy's write sequence",
	.main = crashpoints_main,
};
