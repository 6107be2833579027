/*
 * pycstorm matrix [--python PATH]... [STRATEGY...]: the deterministic fault
 * matrix of a write path.
 *
 * For each interpreter (each --python, or the embedded worker) and each
 * strategy (default: native, the interpreter's own importlib):
 * 1. A cache holds an old, durable .pyc (version 1) beside the new source
 *    (version 2), as in `crashpoints`.
 * 2. One worker writes the new .pyc with the exact fault in trace mode
 *    (inject/faults/fault-exact.c): every call on the cache folder, in
 *    order, is the trace. The power-cut journal records the same write
 *    with its bytes, as `crashpoints` does.
 * 3. For every call of the trace and every fault that applies to it (short
 *    writes, ENOSPC/EIO/EDQUOT on write, close and fsync, EACCES/EPERM on
 *    rename, a crash just before and just after it), the old cache is put
 *    back and the write replayed with exactly that one fault at exactly
 *    that call. What is left is recorded: whether the writer raised,
 *    swallowed the error or reported success, the cache file's bytes
 *    against the old and the new image, leftover temporary files, and the
 *    class the next import gets, from `pycstorm classify` with the same
 *    interpreter (results/model/matrix.h).
 * 4. Every power-cut state of the journal (crash-states.c: crashpoints'
 *    states, writeback model, 512-byte sectors) is built and judged the
 *    same way, a cell at the call the cut follows.
 *
 * No timing and no chance enter a cell: two runs give the same
 * matrix.json byte for byte. matrix_run() is what `gate` calls.
 *
 * Exit status: 0 the matrix was made, 2 bad usage, 77 cannot run.
 */
#include "cli.h"

#include "common.h"
#include "crash-states.h"
#include "event.h"
#include "fault.h"
#include "inject-env.h"
#include "matrix.h"
#include "owned.h"
#include "proc.h"
#include "pythons.h"
#include "rundir.h"
#include "strategy.h"
#include "worker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MX_MAX_CALLS 64
#define MX_MODULE "small"
#define MX_MAX_JUDGED 32

static const char matrix_usage[] =
	"usage: pycstorm matrix [--python PATH]... [-o DIR] [STRATEGY...]\n\n"
	"Record one real cache write of each STRATEGY (default: native) by each\n"
	"interpreter (default: the embedded one), then replay it once per call and\n"
	"fault with exactly that fault at exactly that call. Writes DIR/matrix.json,\n"
	"matrix.md and matrix.html (a heat map) and prints one line per write path.\n"
	"Exit status: 0 made, 2 bad usage, 77 cannot run.\n";

/* One call of the recorded write. */
struct mx_call {
	char op[16];              /* open, write, close, fsync, rename, unlink */
	char what[96];            /* "write temp": no names or sizes that vary */
	size_t bytes;             /* write: bytes asked */
	char *path;               /* its file, relative to the cache root */
};

/* Shared by every write path of one command. */
struct mx_env {
	struct owned own;         /* scratch root, removed at the end */
	char *root, *state, *modules_dir, *worker, *driver, *stratlib, *self, *inject;
	unsigned seq;             /* write paths made so far: their folder names */
};

/* One write path: a strategy run by one interpreter (or the embedded worker). */
struct mx_path {
	struct mx_env *env;
	const char *python;
	const char *strategy;
	char *dir;                /* <root>/<n>: the module's folder, its __pycache__ */
	char *pycache;
	char *pyc, *pyc_name;
	char *old, *img;          /* the old durable image and the new one */
	size_t oldlen, imglen;
	struct mx_call calls[MX_MAX_CALLS];
	size_t ncalls;
	struct mx_judged {        /* classes already given, by the file's bytes */
		char *data, *cls;
		size_t len;
	} judged[MX_MAX_JUDGED];
	size_t njudged;
	struct crash_write cut;   /* the write under the power-cut journal */
	unsigned *cut_call;       /* the call each journalled operation was */
	struct matrix cuts;       /* its power-cut cells, merged in by call */
};

/* Start one worker writing version (index) 1 or 0; faults may be NULL.
 * 0 it exited 0, 1 it was killed, -1 anything else. */
static int mx_worker(struct mx_path *p, unsigned worker_index, const char *faults,
		     const char *trace, int journal)
{
	struct mx_env *e = p->env;
	struct inject_env ie = INJECT_ENV_INIT;
	struct worker_args a = { 0 };
	char **inner, **argv, **base, **env, *module;
	int status = -1;
	size_t n = 0;

	module = xasprintf(MX_MODULE ":%s/" MX_MODULE "/v1.py,%s/" MX_MODULE "/v2.py",
			   e->modules_dir, e->modules_dir);
	worker_args_one_write(&a, p->strategy, p->dir, module, worker_index);
	a.trace = trace;
	if (p->python) {
		a.strategies_lib = e->stratlib;
		inner = worker_build_argv(e->driver, &a);
		while (inner[n])
			n++;
		argv = xcalloc(n + 3, sizeof(char *));
		argv[0] = xstrdup(p->python);
		argv[1] = xstrdup("-I");
		memcpy(argv + 2, inner, (n + 1) * sizeof(char *));
		free(inner);
	} else {
		argv = worker_build_argv(e->worker, &a);
	}
	ie.library = e->inject;
	ie.faults = faults;
	ie.dirs = p->dir;
	ie.cache_root = p->dir;
	ie.state_dir = e->state;
	ie.trace = journal;
	base = inject_env_fixed_base();
	env = inject_env_build(base, &ie);
	inject_env_free(base);
	status = inject_env_run_quiet(argv, env, 1);
	inject_env_free(env);
	worker_free_argv(argv);
	free(module);
	if (status >= 0 && WIFSIGNALED(status))
		return 1;
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The cache folder as the old durable state: only the old pyc in it. */
static int mx_restore(struct mx_path *p)
{
	char *calls = xasprintf("%s/" EXACT_TRACE_FILE, p->env->state);
	int rc, fd;

	(void)unlink(calls);
	free(calls);
	(void)remove_tree(p->pycache);
	rc = mkdir_p(p->pycache, 0755);
	if (rc == 0 && p->old) {
		fd = open(p->pyc, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		rc = fd < 0 ? -errno : write_all(fd, p->old, p->oldlen);
		if (fd >= 0 && close(fd) < 0 && rc == 0)
			rc = -errno;
	}
	return rc;
}

/* The one .pyc of the module in __pycache__ (its name has the cache tag). */
static char *mx_find_pyc(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *found = NULL;
	size_t n = strlen(MX_MODULE), len;

	while (d && (de = readdir(d)) != NULL && !found) {
		len = strlen(de->d_name);
		if (!strncmp(de->d_name, MX_MODULE ".", n + 1) && len > 4 &&
		    !strcmp(de->d_name + len - 4, ".pyc"))
			found = xstrdup(de->d_name);
	}
	if (d)
		(void)closedir(d);
	return found;
}

/* Files in __pycache__ other than the pyc: temporary files left behind. */
static unsigned mx_leftovers(const struct mx_path *p, const char *pycache)
{
	DIR *d = opendir(pycache);
	struct dirent *de;
	unsigned n = 0;

	while (d && (de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		     strcmp(de->d_name, p->pyc_name);
	if (d)
		(void)closedir(d);
	return n;
}

/* The class the next import gets, from `pycstorm classify` (with the
 * interpreter under test when there is one). */
static char *mx_classify(const struct mx_path *p, const char *pyc)
{
	char *report = xasprintf("%s/verdict", p->env->state), *cls;

	cls = classify_class_of(p->python, pyc, report);
	free(report);
	return cls;
}

/* mx_classify, asked once per distinct file: the same bytes beside the
 * same source get the same class, so most replays (the old or the new
 * image left in place) need no judge of their own. */
static char *mx_judge(struct mx_path *p, const char *pyc)
{
	char *data = NULL, *cls;
	size_t len = 0, i;

	if (read_file(pyc, &data, &len) < 0) {
		/* no file at all: one key of its own */
		free(data);
		data = NULL;
		len = SIZE_MAX;
	}
	for (i = 0; i < p->njudged; i++)
		if (p->judged[i].len == len && (!data || !memcmp(p->judged[i].data, data, len))) {
			free(data);
			return xstrdup(p->judged[i].cls);
		}
	cls = mx_classify(p, pyc);
	if (p->njudged < MX_MAX_JUDGED) {
		p->judged[p->njudged].data = data;
		p->judged[p->njudged].len = len;
		p->judged[p->njudged++].cls = xstrdup(cls);
	} else {
		free(data);
	}
	return cls;
}

/* The cache file against the old and the new image. */
static char *mx_cache_state(const struct mx_path *p, const char *pyc)
{
	char *data = NULL, *state;
	size_t len = 0;
	int rc = read_file(pyc, &data, &len);

	if (rc == -ENOENT)
		state = xstrdup("missing");
	else if (rc < 0)
		state = xasprintf("unreadable (%s)", read_file_error(rc));
	else if (len == p->imglen && !memcmp(data, p->img, len))
		state = xstrdup("new");
	else if (len == p->oldlen && !memcmp(data, p->old, len))
		state = xstrdup("old");
	else if (len < p->imglen && !memcmp(data, p->img, len))
		state = xasprintf("truncated (%zu of %zu bytes)", len, p->imglen);
	else
		state = xasprintf("other (%zu bytes)", len);
	free(data);
	return state;
}

/* What the writer said, from the worker's --trace line for the cycle. */
static char *mx_writer(const char *trace, int rc)
{
	char *text = NULL, *w, *last;
	size_t len;

	if (rc == 1)
		return xstrdup("killed");
	if (rc < 0 || read_file(trace, &text, &len) < 0 || !len) {
		free(text);
		return xstrdup("worker failed");
	}
	text[strcspn(text, "\n")] = '\0';
	last = strrchr(text, ' ');
	last = last ? last + 1 : text;
	w = xstrdup(!strcmp(last, "ok") ? "success" : !strcmp(last, "stale") ? "swallowed"
		    : "raised");
	free(text);
	return w;
}

/* "temp", "cache" or "folder" for a path relative to the cache root. */
static const char *mx_target(const struct mx_path *p, const char *rel)
{
	const char *base = strrchr(rel, '/');

	base = base ? base + 1 : rel;
	if (!strcmp(base, p->pyc_name))
		return "cache";
	if (!strcmp(rel, "__pycache__") || !strcmp(rel, "."))
		return "folder";
	return strncmp(rel, "__pycache__/", 12) ? "other file" : "temp";
}

/* Read calls.trace into p->calls, labelled without names that vary. */
static int mx_load_calls(struct mx_path *p)
{
	char *path = xasprintf("%s/" EXACT_TRACE_FILE, p->env->state), *text = NULL, *line, *save;
	char op[16], a[4096], b[4096];
	size_t len;
	unsigned n;
	int rc = read_file(path, &text, &len), k;

	p->ncalls = 0;
	for (line = rc == 0 ? strtok_r(text, "\n", &save) : NULL; line && p->ncalls < MX_MAX_CALLS;
	     line = strtok_r(NULL, "\n", &save)) {
		struct mx_call *c = &p->calls[p->ncalls];
		b[0] = '\0';
		k = sscanf(line, "%u %15s %4095s %4095s", &n, op, a, b);
		if (k < 3 || n != p->ncalls + 1)
			continue;
		(void)snprintf(c->op, sizeof(c->op), "%s", op);
		c->bytes = 0;
		c->path = xstrdup(a);
		if (!strcmp(op, "write") && k == 4) {
			c->bytes = (size_t)strtoull(b, NULL, 10);
			(void)snprintf(c->what, sizeof(c->what), "write %s", mx_target(p, a));
		} else if (!strcmp(op, "rename") && k == 4) {
			(void)snprintf(c->what, sizeof(c->what), "rename %s -> %s", mx_target(p, a),
				       mx_target(p, b));
		} else {
			(void)snprintf(c->what, sizeof(c->what), "%s %s%s", op, mx_target(p, a),
				       k == 4 && !strcmp(b, "create") ? " (create)" : "");
		}
		p->ncalls++;
	}
	free(text);
	free(path);
	return rc < 0 ? rc : p->ncalls ? 0 : -ENODATA;
}

/* The kind of call a journalled operation is. */
static const char *mx_journal_call(char op)
{
	switch (op) {
	case 'C': case 'T': return "open";
	case 'W': return "write";
	case 'S': case 'D': return "fsync";
	case 'R': return "rename";
	default: return "unlink";
	}
}

/* The power-cut journal of the traced write (crashpoints' trace), and the
 * call of the exact trace each of its operations was: the next call of
 * its kind on its file, since both logs follow the writer's order. */
static int mx_cut_load(struct mx_path *p)
{
	const struct journal *j = &p->cut.trace;
	int rc = crash_write_load(&p->cut);
	size_t i, n = 0;

	p->cut_call = xcalloc(j->n + 1, sizeof(*p->cut_call));
	for (i = 0; rc == 0 && i < j->n; i++) {
		while (n < p->ncalls && (strcmp(p->calls[n].op, mx_journal_call(j->e[i].op)) ||
					 !j->e[i].path || strcmp(p->calls[n].path, j->e[i].path)))
			n++;
		if (n == p->ncalls)
			rc = -EPROTO;
		else
			p->cut_call[i] = (unsigned)++n;
	}
	return rc;
}

/* One power-cut state: a cell at the call the cut follows (before the
 * first call when nothing was done yet), judged like every other cell. */
static void mx_cut_cell(const struct crash_state *s, void *ctx)
{
	struct mx_path *p = ctx;
	unsigned n = s->after ? p->cut_call[s->after - 1] : 1;
	char *fault = xasprintf(MATRIX_POWER_CUT " %s, metadata %ld/%ld kept, %s",
				s->after ? "after" : "before", s->kept, s->pending, s->data);
	struct matrix_cell c = { .call = n, .op = p->calls[n - 1].what, .fault = fault,
				 .writer = (char *)"power cut" };

	c.cache = mx_cache_state(p, s->pyc);
	c.import = mx_judge(p, s->pyc);
	c.leftover = mx_leftovers(p, s->pycache);
	c.verdict = matrix_verdict_of(c.import);
	matrix_add(&p->cuts, &c);
	free(c.cache);
	free(c.import);
	free(fault);
}

/* Every power-cut state of the traced write into p->cuts, built in a
 * folder beside the write path's own. */
static void mx_power_cuts(struct mx_path *p)
{
	char *work = xasprintf("%s.cut", p->dir);
	int rc = write_file_atomic(p->cut.old_pyc, p->old, p->oldlen);

	if (rc < 0)
		die(EXIT_SKIP, "matrix: cannot write '%s': %s", p->cut.old_pyc, strerror(-rc));
	(void)crash_states_walk(&p->cut, work, mx_cut_cell, p);
	(void)remove_tree(work);
	free(work);
}

/* The power-cut cells that follow call n, after its other cells. */
static void mx_merge_cuts(const struct mx_path *p, struct matrix *m, unsigned n)
{
	size_t i;

	for (i = 0; i < p->cuts.ncells; i++)
		if (p->cuts.cells[i].call == n)
			matrix_add(m, &p->cuts.cells[i]);
}

/* Steps 1 and 2: the old pyc, the new image and the trace. */
static int mx_prepare(struct mx_path *p)
{
	struct mx_env *e = p->env;
	char *src = xasprintf("%s/" MX_MODULE "/v2.py", e->modules_dir);
	char *dst = xasprintf("%s/" MX_MODULE ".py", p->dir);
	char *data = NULL, *spec = xasprintf("%s:do=trace;%s", fault_exact.name, fault_power_cut.name);
	struct timespec t[2] = { { worker_source_mtime(1), 0 }, { worker_source_mtime(1), 0 } };
	size_t len;
	int rc = mkdir_p(p->pycache, 0755), fd;

	if (rc == 0)
		rc = read_file(src, &data, &len);
	if (rc == 0) {
		fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		rc = fd < 0 ? -errno : write_all(fd, data, len);
		if (fd >= 0 && (close(fd) < 0 || utimensat(AT_FDCWD, dst, t, 0) < 0) && rc == 0)
			rc = -errno;
	}
	free(data);
	if (rc == 0 && (mx_worker(p, 0, NULL, NULL, 0) != 0 || !(p->pyc_name = mx_find_pyc(p->pycache))))
		rc = -EIO;
	if (rc == 0) {
		p->pyc = xasprintf("%s/%s", p->pycache, p->pyc_name);
		rc = read_file(p->pyc, &p->old, &p->oldlen);
	}
	if (rc == 0)
		rc = mx_restore(p);
	rollback_clear(e->state);
	if (rc == 0 && mx_worker(p, 1, spec, NULL, 1) != 0)
		rc = -EIO;
	if (rc == 0)
		rc = read_file(p->pyc, &p->img, &p->imglen);
	if (rc == 0)
		rc = mx_load_calls(p);
	if (rc == 0)
		rc = mx_cut_load(p);
	free(src);
	free(dst);
	free(spec);
	return rc;
}

/* One replay: restore, fault call n with spec_tail, record the cell. */
static void mx_cell(struct mx_path *p, struct matrix *m, unsigned n, const char *fault,
		    const char *spec_tail)
{
	char *trace = xasprintf("%s/cycles.trace", p->env->state);
	char *spec = xasprintf("%s:call=%u,%s", fault_exact.name, n, spec_tail);
	struct matrix_cell c = { .call = n, .op = p->calls[n - 1].what, .fault = (char *)fault };
	int rc;

	(void)unlink(trace);
	if (mx_restore(p) < 0)
		die(EXIT_SKIP, "matrix: cannot restore the old cache in '%s'", p->dir);
	rc = mx_worker(p, 1, spec, trace, 0);
	c.writer = mx_writer(trace, rc);
	c.cache = mx_cache_state(p, p->pyc);
	c.import = mx_judge(p, p->pyc);
	c.leftover = mx_leftovers(p, p->pycache);
	c.verdict = matrix_verdict_of(c.import);
	matrix_add(m, &c);
	free(c.writer);
	free(c.cache);
	free(c.import);
	free(trace);
	free(spec);
}

/* The faults that apply to one call, each replayed. */
static void mx_call_cells(struct mx_path *p, struct matrix *m, unsigned n)
{
	static const char *const keeps[] = { "0", "1", "16", "half", "one-short" };
	static const char *const disk_errors[] = { "ENOSPC", "EIO", "EDQUOT" };
	const struct mx_call *c = &p->calls[n - 1];
	size_t i, kept, seen[5], nseen = 0, j;
	char fault[64], tail[64];

	if (!strcmp(c->op, "write")) {
		for (i = 0; i < 5; i++) {
			kept = i < 3 ? (size_t)atoi(keeps[i]) : i == 3 ? c->bytes / 2 : c->bytes - 1;
			for (j = 0; j < nseen && seen[j] != kept; j++)
				;
			if (kept >= c->bytes || j < nseen)
				continue;   /* not shorter, or the same cut as another */
			seen[nseen++] = kept;
			(void)snprintf(fault, sizeof(fault), "short write keep=%s", keeps[i]);
			(void)snprintf(tail, sizeof(tail), "do=short,keep=%s", keeps[i]);
			mx_cell(p, m, n, fault, tail);
		}
	}
	if (!strcmp(c->op, "write") || !strcmp(c->op, "close") || !strcmp(c->op, "fsync")) {
		for (i = 0; i < 3; i++) {
			(void)snprintf(tail, sizeof(tail), "do=%s", disk_errors[i]);
			mx_cell(p, m, n, disk_errors[i], tail);
		}
	}
	if (!strcmp(c->op, "rename")) {
		mx_cell(p, m, n, "EACCES (held destination)", "do=EACCES");
		mx_cell(p, m, n, "EPERM (held destination)", "do=EPERM");
	}
	mx_cell(p, m, n, "crash before", "do=crash-before");
	mx_cell(p, m, n, "crash after", "do=crash-after");
}

/* The interpreter's version, "3.11.2", or "embedded". */
static char *mx_version(const struct mx_env *e, const char *python)
{
	char *out = xasprintf("%s/version", e->state), *text = NULL;
	size_t len;
	int fd, status = -1;
	pid_t pid;

	if (!python) {
		free(out);
		return xstrdup("embedded");
	}
	pid = proc_fork();
	if (pid == 0) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		(void)dup2(fd, 1);
		proc_unblock();
		execl(python, python, "-I", "-c", "import sys; print(sys.version.split()[0])",
		      (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		(void)waitpid(pid, &status, 0);
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) || read_file(out, &text, &len) < 0)
		die(EXIT_SKIP, "matrix: --python '%s' does not run", python);
	text[strcspn(text, "\n")] = '\0';
	(void)unlink(out);
	free(out);
	return text;
}

/* One write path's matrix into m. */
static void mx_one(struct mx_env *e, const char *python, const char *strategy, struct matrix *m)
{
	struct mx_path p = { .env = e, .python = python, .strategy = strategy };
	char *old_pyc, *pyc_rel;
	size_t n;
	int rc;

	p.dir = xasprintf("%s/%u", e->root, ++e->seq);
	p.pycache = xasprintf("%s/__pycache__", p.dir);
	p.cut = (struct crash_write){
		.root = p.dir, .scope = "", .source_rel = MX_MODULE ".py",
		.old_pyc = old_pyc = xasprintf("%s/old.pyc", e->state), .state_dir = e->state,
		/* crashpoints' defaults */
		.model = MODEL_WRITEBACK, .sector = 512, .data_fd = -1,
	};
	rc = mx_prepare(&p);
	if (rc < 0)
		die(EXIT_SKIP, "matrix: the recorded write of %s under %s failed: %s", strategy,
		    python ? python : "the embedded worker", strerror(-rc));
	memset(m, 0, sizeof(*m));
	m->strategy = xstrdup(strategy);
	m->python = xstrdup(python ? python : "embedded");
	m->version = mx_version(e, python);
	(void)mx_restore(&p);
	(void)mx_worker(&p, 1, NULL, NULL, 0);
	m->baseline_import = mx_judge(&p, p.pyc);
	p.cut.pyc_rel = pyc_rel = xasprintf("__pycache__/%s", p.pyc_name);
	mx_power_cuts(&p);
	for (n = 1; n <= p.ncalls; n++) {
		mx_call_cells(&p, m, (unsigned)n);
		mx_merge_cuts(&p, m, (unsigned)n);
	}
	(void)remove_tree(p.dir);
	crash_write_free(&p.cut);
	matrix_free(&p.cuts);
	free(p.cut_call);
	free(old_pyc);
	free(pyc_rel);
	for (n = 0; n < p.ncalls; n++)
		free(p.calls[n].path);
	free(p.dir);
	free(p.pycache);
	free(p.pyc);
	free(p.pyc_name);
	free(p.old);
	free(p.img);
	for (n = 0; n < p.njudged; n++) {
		free(p.judged[n].data);
		free(p.judged[n].cls);
	}
}

int matrix_run(const char *const *pythons, size_t npythons, const char *const *strategies,
	       size_t nstrategies, struct matrix_set *out)
{
	struct mx_env e = { 0 };
	char *scenarios;
	size_t i, k, np = npythons ? npythons : 1;

	scenarios = cli_scenarios_dir();
	e.modules_dir = xasprintf("%s/modules", scenarios);
	free(scenarios);
	e.worker = cli_worker_program();
	e.driver = cli_program_file("pycstorm-driver.py");
	e.stratlib = cli_program_file("libpycstorm-strategies.so");
	e.self = cli_self_program();
	e.inject = cli_inject_library();
	e.root = cli_scratch_folder("matrix", &e.own);
	e.state = xasprintf("%s/.state", e.root);
	if (mkdir_p(e.state, 0755) < 0)
		die(EXIT_SKIP, "matrix: cannot make '%s': %s", e.state, strerror(errno));
	out->m = xcalloc(np * nstrategies + 1, sizeof(*out->m));
	out->n = 0;
	for (i = 0; i < np; i++)
		for (k = 0; k < nstrategies; k++)
			mx_one(&e, npythons ? pythons[i] : NULL, strategies[k], &out->m[out->n++]);
	(void)owned_remove(&e.own);
	free(e.root);
	free(e.state);
	free(e.modules_dir);
	free(e.worker);
	free(e.driver);
	free(e.stratlib);
	free(e.self);
	free(e.inject);
	return 0;
}

/* A strategy matrix can run: a built-in writer of cache files, or native. */
void matrix_check_strategy(const char *command, const char *name)
{
	const struct strategy_info *s = strategy_find(name);
	char *names;

	if (!s || s->workload) {
		names = cli_strategy_names();
		die(EXIT_USAGE, "%s: unknown strategy '%s' (valid: %s, except merge-*)", command, name,
		    names);
	}
}

static int matrix_main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "python", required_argument, NULL, 'Y' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char **pythons = xcalloc((size_t)argc + 1, sizeof(char *)), *out_dir = NULL;
	const char *const default_strategies[] = { "native" };
	const char *const *strategies = default_strategies;
	size_t npythons = 0, nstrategies = 1, i;
	struct matrix_set set;
	struct owned own;
	char *dir, *id = NULL;
	int ch, rc;

	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "ho:", longs, NULL)) != -1) {
		switch (ch) {
		case 'Y':
			if (access(optarg, X_OK) != 0)
				die(EXIT_SKIP, "matrix: --python '%s': %s", optarg, strerror(errno));
			pythons[npythons++] = optarg;
			break;
		case 'o': out_dir = optarg; break;
		case 'h':
			(void)fputs(matrix_usage, stdout);
			free(pythons);
			return EXIT_OK;
		default:
			cli_bad_option("matrix", argv[optind - 1], "--python, -o/--out, -h/--help");
		}
	}
	if (optind < argc) {
		strategies = (const char *const *)argv + optind;
		nstrategies = (size_t)(argc - optind);
	}
	for (i = 0; i < nstrategies; i++)
		matrix_check_strategy("matrix", strategies[i]);
	(void)matrix_run(pythons, npythons, strategies, nstrategies, &set);
	dir = rundir_create("matrix", out_dir, 0, &id, &own);
	rundir_own("matrix", &own, "matrix.json");
	rundir_own("matrix", &own, "matrix.md");
	rundir_own("matrix", &own, "matrix.html");
	rc = matrix_write_files(dir, &set);
	if (rc < 0)
		die(EXIT_SKIP, "matrix: cannot write the matrix into '%s': %s", dir, strerror(-rc));
	for (i = 0; i < set.n; i++)
		matrix_summary_line(stdout, &set.m[i]);
	(void)printf("matrix: %s/matrix.json, matrix.md, matrix.html\n", dir);
	owned_release(&own);
	rundir_point_latest(id);
	matrix_set_free(&set);
	free(dir);
	free(id);
	free(pythons);
	return EXIT_OK;
}

const struct command_info command_matrix = {
	.name = "matrix",
	.summary = "the deterministic fault matrix of a write path: every call, every fault",
	.main = matrix_main,
};
