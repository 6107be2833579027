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
	struct journal trace;
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

static int copy_file(const char *from, const char *to)
{
	char *data = NULL;
	size_t len;
	struct stat st;
	struct timespec times[2];
	int rc = read_file(from, &data, &len);

	if (rc == 0 && stat(from, &st) == 0) {
		int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		rc = fd < 0 ? -errno : write_all(fd, data, len);
		times[0] = st.st_atim;
		times[1] = st.st_mtim;
		if (fd >= 0) {
			(void)futimens(fd, times);
			(void)close(fd);
		}
	}
	free(data);
	return rc;
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
		rc = copy_file(src, dst);
	if (rc == 0 && utimensat(AT_FDCWD, dst, times, 0) < 0)
		rc = -errno;
	if (rc == 0 && (run_worker(c, 0, 0) < 0 || find_pyc(c, dir) < 0))
		rc = -EIO;
	if (rc == 0) {
		/* the old cache, as every crash state starts from it */
		char *pyc = xasprintf("%s/%s", c->root, c->pyc_rel);
		c->baseline = xasprintf("%s/baseline.pyc", c->root);
		rc = copy_file(pyc, c->baseline);
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

/* Replay one traced operation for real under root, keeping backups as the
 * preload library does; the entry's inode is updated to the replayed file's. */
static void replay(struct cp *c, const char *root, struct journal_entry *e, int data_fd)
{
	char *abs = e->path ? xasprintf("%s/%s", root, e->path) : NULL;
	char *dst = e->dst ? xasprintf("%s/%s", root, e->dst) : NULL;
	char backup[4200], *buf;
	struct stat st;
	int fd;

	switch (e->op) {
	case 'C': case 'T':
		fd = open(abs, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0 && fstat(fd, &st) == 0)
			e->ino = (unsigned long long)st.st_ino;
		if (fd >= 0)
			(void)close(fd);
		break;
	case 'W':
		buf = xmalloc((size_t)e->len);
		fd = open(abs, O_WRONLY);
		if (fd >= 0 && pread(data_fd, buf, (size_t)e->len, e->data) == e->len)
			(void)!pwrite(fd, buf, (size_t)e->len, e->off);
		if (fd >= 0 && fstat(fd, &st) == 0)
			e->ino = (unsigned long long)st.st_ino;
		if (fd >= 0)
			(void)close(fd);
		free(buf);
		break;
	case 'R':
		e->replaced = 0;
		if (lstat(dst, &st) == 0) {
			e->replaced = (unsigned long long)st.st_ino;
			rollback_backup_path(backup, sizeof(backup), c->state, e->replaced);
			(void)link(dst, backup);
		}
		if (lstat(abs, &st) == 0)
			e->ino = (unsigned long long)st.st_ino;
		(void)rename(abs, dst);
		break;
	case 'S': case 'D':
		if (abs && lstat(abs, &st) == 0)
			e->ino = (unsigned long long)st.st_ino;
		break;
	case 'U':
		if (lstat(abs, &st) == 0) {
			e->ino = (unsigned long long)st.st_ino;
			rollback_backup_path(backup, sizeof(backup), c->state, e->ino);
			(void)link(abs, backup);
		}
		(void)unlink(abs);
		break;
	default:
		break;
	}
	free(abs);
	free(dst);
}

/* W and S entries name the file by inode only: give them its path. */
static void name_writes(struct journal *j)
{
	size_t i, k;

	for (i = 0; i < j->n; i++) {
		if ((j->e[i].op != 'W' && j->e[i].op != 'S') || j->e[i].path)
			continue;
		for (k = 0; k < i; k++)
			if ((j->e[k].op == 'C' || j->e[k].op == 'T') && j->e[k].ino == j->e[i].ino)
				j->e[i].path = xstrdup(j->e[k].path);
	}
}

/* Build one crash state in folder `state_dir`/<strategy>; returns the pyc path. */
static char *build_state(struct cp *c, const char *state_root, size_t k, long keep_meta,
			 enum data_policy data, int data_fd, struct rollback_report *rep)
{
	struct journal prefix = { .e = xcalloc(k + 1, sizeof(struct journal_entry)), .n = k };
	char *dir = xasprintf("%s/%s/__pycache__", state_root, c->strategy->name);
	char *src = xstrdup(c->baseline), *dst = xasprintf("%s/%s", state_root, c->pyc_rel);
	char *srcpy = xasprintf("%s/%s/%s.py", c->root, c->strategy->name, c->module);
	char *dstpy = xasprintf("%s/%s/%s.py", state_root, c->strategy->name, c->module);
	struct rollback_plan plan = {
		.cache_root = state_root, .state_dir = c->state, .scope = c->strategy->name,
		.model = c->model, .sector = c->sector, .persist = 0.5, .seed = 1,
		.keep_meta = keep_meta, .data = data,
	};
	size_t i;

	(void)remove_tree(state_root);
	(void)mkdir_p(dir, 0755);
	(void)copy_file(src, dst);
	(void)copy_file(srcpy, dstpy);
	rollback_clear(c->state);
	for (i = 0; i < k; i++) {
		prefix.e[i] = c->trace.e[i];
		replay(c, state_root, &prefix.e[i], data_fd);
	}
	memset(rep, 0, sizeof(*rep));
	(void)rollback_apply(&plan, &prefix, rep);
	free(prefix.e);      /* its strings belong to the trace */
	free(dir);
	free(src);
	free(srcpy);
	free(dstpy);
	return dst;
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

/* Walk every crash state; print a line each; return the number corrupt. */
static unsigned walk(struct cp *c)
{
	static const struct { enum data_policy data; const char *name; } variants[] = {
		{ DATA_ALL_LOST, "unsynced lost" }, { DATA_TORN, "torn" },
		{ DATA_ALL_KEPT, "unsynced kept" },
	};
	char *data_path = xasprintf("%s/" ROLLBACK_TRACE_DATA, c->state), *pyc, *cls, what[160];
	int data_fd = open(data_path, O_RDONLY);
	struct rollback_report rep;
	unsigned corrupt = 0, states = 0, missing = 0;
	size_t k, v;
	long keep, pending;

	(void)printf("%-4s %-52s %-9s %-14s %s\n", "op", "crash after", "metadata", "data", "cache");
	for (k = 0; k <= c->trace.n; k++) {
		/* a first build only counts the uncommitted metadata */
		free(build_state(c, c->work, k, -1, DATA_ALL_KEPT, data_fd, &rep));
		pending = rep.meta_pending;
		for (keep = 0; keep <= pending; keep++) {
			for (v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
				pyc = build_state(c, c->work, k, keep, variants[v].data, data_fd, &rep);
				cls = judge(c, pyc);
				states++;
				corrupt += is_corrupt_class(cls);
				missing += !strcmp(cls, "missing");
				(void)printf("%-4zu %-52.52s %ld/%-7ld %-14s %s%s\n", k,
					     k ? op_text(&c->trace.e[k - 1], what, sizeof(what)) : "(nothing yet)",
					     keep, pending, variants[v].name, cls,
					     is_corrupt_class(cls) ? "   <- CORRUPT" : "");
				free(cls);
				free(pyc);
			}
		}
	}
	(void)printf("\n%s under %s: %zu operations, %u crash states: %u corrupt, %u missing\n",
		     c->strategy->name, crash_model_name(c->model), c->trace.n, states, corrupt, missing);
	if (data_fd >= 0)
		(void)close(data_fd);
	free(data_path);
	return corrupt;
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
	char *scenarios, *names, *tmp = getenv("TMPDIR"), why[256];
	const char *parent;
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
	/* Scratch folders of crashpoints that were killed go first. */
	parent = tmp && *tmp ? tmp : "/tmp";
	(void)owned_sweep(parent, "pycstorm-crashpoints-");
	rc = owned_make_temp(&c.own, parent, "pycstorm-crashpoints-", OWNED_CACHE, OWNED_TEMPORARY);
	if (rc < 0)
		die(EXIT_SKIP, "crashpoints: cannot make a scratch folder: %s",
		    owned_problem(&c.own, rc, why, sizeof(why)));
	c.root = xstrdup(c.own.path);
	c.state = xasprintf("%s/.state", c.root);
	c.work = xasprintf("%s/.crash", c.root);
	rc = prepare(&c);
	if (rc < 0)
		die(EXIT_SKIP, "crashpoints: cannot set up the old cache in '%s': %s", c.root, strerror(-rc));
	if (run_worker(&c, 1, 1) < 0 || rollback_load(c.state, &c.trace) < 0 || c.trace.n == 0)
		die(EXIT_SKIP, "crashpoints: the traced write of %s recorded nothing", c.strategy->name);
	name_writes(&c.trace);
	(void)printf("%s: %zu operations traced writing %s (version 2 over version 1), model %s\n\n",
		     c.strategy->name, c.trace.n, c.module, crash_model_name(c.model));
	rc = walk(&c) ? EXIT_FAILED : EXIT_OK;
	rollback_free(&c.trace);
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
