/*
 * The run loop; see orchestrator.h.
 *
 * Ownership: this process owns the run folder, events.jsonl, the fault logs
 * and the counts; each worker owns its pipe's write end and the cache files
 * it touches. Workers never learn about each other. A worker that dies has
 * already delivered every record it sent, because records are written whole.
 */
#include "orchestrator.h"

#include "common.h"
#include "event.h"
#include "holder.h"
#include "inject-env.h"
#include "rollback.h"
#include "outcome.h"
#include "proc.h"
#include "record.h"
#include "strbuf.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define BATCH_LINE_NS 1000000000ull
/* A strategy whose workers die this many times in a row without finishing
 * a cycle is broken, not unlucky. */
#define MAX_CRASH_STREAK 20
/* Before its hello a worker is starting its interpreter, which a loaded
 * machine can stretch past a short --cycle-timeout: until then it is hung
 * only after this long (or the cycle timeout, when that is longer). */
#define STARTUP_TIMEOUT_NS (60ull * 1000000000ull)

struct slot {
	size_t strategy;             /* index into plan->strategies */
	unsigned worker;             /* index within the strategy */
	enum worker_role role;
	unsigned generation;         /* how many times it was replaced */
	uint64_t seed;
	pid_t pid;
	int fd;                      /* read end of its pipe, -1 when closed */
	int exited;                  /* reaped */
	int status;                  /* from waitpid */
	int said_bye;
	int killed_as_hung;
	int garbled;                 /* sent something that is not a record */
	int plain;                   /* start it without the inject library (after a cut) */
	int ready;                   /* said hello: its interpreter is up */
	enum worker_role usual_role;
	unsigned workers_run;        /* power-cut rounds this slot has had */
	int crash_injected;          /* it reported a crash fault before dying */
	uint64_t cycles;             /* compile + import cycles received */
	uint64_t last_heard_ns;
	uint64_t deadline_ns;        /* -d: its hello + the duration; 0 until then */
	struct record_stream stream;
	FILE *fault_log;
	/* ok cycles are summarised in events.jsonl once a second */
	uint64_t batch[OP_COUNT][OUTCOME_COUNT];
	uint64_t batch_start_ns;
	uint64_t batch_cycles;
};

struct run {
	const struct run_plan *plan;
	struct summary *s;
	struct strategy_result *results[PLAN_MAX_STRATEGIES];
	unsigned crash_streak[PLAN_MAX_STRATEGIES];
	struct slot *slots;
	size_t nslots;
	FILE *events;
	uint64_t start_ns;
	uint64_t deadline_ns;        /* nonzero: -d is on (each slot has its own) */
	int have_hello;
	char *fatal;                 /* why workers cannot run */
	enum record_fatal fatal_reason;
	char **env;
	uint64_t last_progress_ns;
	uint64_t last_flush_ns;
	int reproduced;
	int no_restart;              /* power-cut rounds start and stop workers themselves */
	const struct fault_spec *power;
	uint64_t run_deadline_ns;
	pid_t *holders;
	size_t nholders;
};

static volatile sig_atomic_t interrupts;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupts++;
}

/* ---- events.jsonl ---------------------------------------------------- */

static double run_time_s(const struct run *r)
{
	return (double)(now_ns() - r->start_ns) / 1e9;
}

/*
 * The interpreter a slot's worker runs: plan->python, or with a shared
 * cache one of plan->shared: by role for an upgrade (compile workers the
 * first, import workers the others in turn), else worker k the k-th in
 * turn. Recover readers keep their slot's usual interpreter.
 */
static const char *slot_python(const struct run_plan *plan, const struct slot *sl)
{
	unsigned w = sl->worker % plan->jobs;

	if (plan->nshared < 2)
		return plan->python;
	if (!plan->shared_by_role)
		return plan->shared[w % plan->nshared];
	if (sl->usual_role == ROLE_COMPILE)
		return plan->shared[0];
	return plan->shared[1 + (w - plan->compile_jobs) % (plan->nshared - 1)];
}

static void event_prefix(struct run *r, const struct slot *sl, const char *type)
{
	(void)fprintf(r->events, "{\"t\": %.6f, \"type\": \"%s\", \"worker\": %u, "
				 "\"strategy\": \"%s\", \"seed\": %" PRIu64,
		      run_time_s(r), type, sl->worker,
		      r->plan->strategies[sl->strategy]->name, sl->seed);
}

static void flush_batch_line(struct run *r, struct slot *sl)
{
	int op, o, first = 1;

	if (!sl->batch_cycles)
		return;
	event_prefix(r, sl, "batch");
	(void)fputs(", \"counts\": {", r->events);
	for (op = 0; op < OP_COUNT; op++)
		for (o = 0; o < OUTCOME_COUNT; o++) {
			if (!sl->batch[op][o])
				continue;
			(void)fprintf(r->events, "%s\"%s/%s\": %" PRIu64, first ? "" : ", ",
				      op_name((enum op)op), outcome_name((enum outcome)o),
				      sl->batch[op][o]);
			first = 0;
		}
	(void)fputs("}}\n", r->events);
	memset(sl->batch, 0, sizeof(sl->batch));
	sl->batch_cycles = 0;
	sl->batch_start_ns = now_ns();
}

/* ---- counting --------------------------------------------------------- */

static void count(struct run *r, struct slot *sl, unsigned op, unsigned outcome,
		  uint64_t latency)
{
	struct strategy_result *res = r->results[sl->strategy];

	if (op >= OP_COUNT || outcome >= OUTCOME_COUNT)
		return;
	res->counts[op][outcome]++;
	hist_add(&res->latency[op], latency);
	/* Refused writes and misses count as reproduced when they happen;
	 * failures that leave a file only once that file is kept (on_cycle). */
	if (r->plan->sc->reproduced[outcome] && !outcome_leaves_evidence((enum outcome)outcome) &&
	    (op == OP_IMPORT) != (outcome == OUTCOME_PERMISSION_ERROR))
		r->reproduced = 1;
	if (op != OP_WRITE) {
		sl->cycles++;
		r->crash_streak[sl->strategy] = 0;
	}
}

static void on_samples(struct run *r, struct slot *sl, const struct event_hdr *h,
		       const uint8_t *body, size_t len)
{
	struct event_sample sm;
	size_t i, n = len / sizeof(sm);

	if (n > h->count)
		n = h->count;
	for (i = 0; i < n; i++) {
		/* Records are packed back to back: copy, do not cast. */
		memcpy(&sm, body + i * sizeof(sm), sizeof(sm));
		count(r, sl, sm.op, sm.outcome,
		      (uint64_t)sm.latency_lo | (uint64_t)sm.latency_hi << 32);
		if (sm.op < OP_COUNT && sm.outcome < OUTCOME_COUNT) {
			sl->batch[sm.op][sm.outcome]++;
			sl->batch_cycles++;
		}
	}
	if (now_ns() - sl->batch_start_ns >= BATCH_LINE_NS)
		flush_batch_line(r, sl);
}

static void on_cycle(struct run *r, struct slot *sl, const struct record *rec)
{
	struct strategy_result *res = r->results[sl->strategy];
	const struct event_hdr *h = &rec->h;
	struct record_cycle c;

	record_cycle_text(rec, &c);
	count(r, sl, h->op, h->outcome, h->latency_ns);
	if (c.evidence_len && h->outcome < OUTCOME_COUNT && r->plan->sc->reproduced[h->outcome])
		r->reproduced = 1;
	if (h->outcome < OUTCOME_COUNT && !res->first_error[h->outcome])
		res->first_error[h->outcome] = xstrndup(c.error, c.error_len);
	if (c.evidence_len && res->nevidence < SUMMARY_MAX_EVIDENCE)
		res->evidence[res->nevidence++] = xasprintf("evidence/%.*s", (int)c.evidence_len,
							    c.evidence);
	event_prefix(r, sl, "cycle");
	(void)fprintf(r->events, ", \"cycle\": %" PRIu64 ", \"op\": \"%s\", \"outcome\": \"%s\", "
				 "\"latency_ns\": %" PRIu64 ", \"error\": ",
		      h->cycle, op_name((enum op)h->op), outcome_name((enum outcome)h->outcome),
		      h->latency_ns);
	{
		char *e = xstrndup(c.error, c.error_len);
		json_put_string(r->events, e);
		free(e);
	}
	if (c.evidence_len) {
		char *v = xstrndup(c.evidence, c.evidence_len);
		(void)fputs(", \"evidence\": ", r->events);
		json_put_string(r->events, v);
		free(v);
	}
	(void)fputs("}\n", r->events);
}

/* "key=value" lines from a worker's hello: the first one names the Python. */
static void on_hello(struct run *r, struct slot *sl, const char *text, size_t len)
{
	char *copy = xstrndup(text, len), *line, *save = NULL, *eq;

	sl->ready = 1;
	/* The worker counts -d from its hello (worker.c); so does its slot. */
	if (r->deadline_ns && !sl->deadline_ns)
		sl->deadline_ns = now_ns() + r->plan->duration_ns;
	event_prefix(r, sl, "start");
	(void)fprintf(r->events, ", \"pid\": %ld, \"role\": \"%s\", \"generation\": %u",
		      (long)sl->pid, sl->role == ROLE_COMPILE ? "compile"
				     : sl->role == ROLE_IMPORT ? "import" : "recover",
		      sl->generation);
	if (r->plan->nshared) {
		(void)fputs(", \"python\": ", r->events);
		json_put_string(r->events, slot_python(r->plan, sl));
		(void)fputs(", \"cache_dir\": ", r->events);
		{
			char *dir = xasprintf("%s/%s", r->plan->cache_root,
					      r->plan->strategies[sl->strategy]->name);
			json_put_string(r->events, dir);
			free(dir);
		}
	}
	(void)fputs("}\n", r->events);
	for (line = strtok_r(copy, "\n", &save); line && !r->have_hello;
	     line = strtok_r(NULL, "\n", &save)) {
		eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq++ = '\0';
		if (!strcmp(line, "runner"))
			r->s->runner = xstrdup(eq);
		else if (!strcmp(line, "python_version"))
			r->s->python_version = xstrdup(eq);
		else if (!strcmp(line, "python_executable"))
			r->s->python_executable = xstrdup(eq);
		else if (!strcmp(line, "cache_tag"))
			r->s->cache_tag = xstrdup(eq);
		else if (!strcmp(line, "magic"))
			r->s->magic = (uint32_t)strtoul(eq, NULL, 10);
	}
	r->have_hello = r->have_hello || r->s->python_version != NULL;
	free(copy);
}

/* A fault line from the inject library: counted, and kept per worker. */
static void on_fault(struct run *r, struct slot *sl, const struct record *rec)
{
	const char *point;
	size_t len;
	char *name;

	if (sl->fault_log)
		(void)fprintf(sl->fault_log, "%.*s\n", (int)rec->len, (const char *)rec->body);
	if (!record_fault_point(rec, &point, &len))
		return;
	name = xstrndup(point, len);
	(void)summary_count_fault(r->results[sl->strategy], name, 1);
	free(name);
	if (record_fault_is(rec, fault_crash.point))
		sl->crash_injected = 1;
}

/* The first EV_FATAL stops the run; a worker that blames its input says
 * so in its own words, anything else is named by strategy and worker. */
static void on_fatal(struct run *r, struct slot *sl, const struct record *rec)
{
	const char *text;
	size_t len;

	if (r->fatal)
		return;
	r->fatal_reason = record_fatal_reason(rec, &text, &len);
	if (r->fatal_reason == FATAL_BAD_INPUT)
		r->fatal = xstrndup(text, len);
	else
		r->fatal = xasprintf("%s worker %u: %.*s", r->plan->strategies[sl->strategy]->name,
				     sl->worker, (int)len, text);
}

struct delivery {
	struct run *r;
	struct slot *sl;
};

static void on_record(void *ctx, const struct record *rec)
{
	struct delivery *d = ctx;
	struct run *r = d->r;
	struct slot *sl = d->sl;

	switch (rec->h.kind) {
	case EV_HELLO:
		on_hello(r, sl, (const char *)rec->body, rec->len);
		break;
	case EV_SAMPLES:
		on_samples(r, sl, &rec->h, rec->body, rec->len);
		break;
	case EV_CYCLE:
		on_cycle(r, sl, rec);
		break;
	case EV_FAULT:
		on_fault(r, sl, rec);
		break;
	case EV_BYE:
		sl->said_bye = 1;
		break;
	case EV_FATAL:
		on_fatal(r, sl, rec);
		break;
	default:
		break;
	}
}

/* Read what is waiting on a worker's pipe; 0 when the stream has ended.
 * A garbled stream ends it (record.h), and its worker is stopped and
 * counted as crashed. */
static int drain(struct run *r, struct slot *sl)
{
	struct delivery d = { r, sl };
	enum record_status st = record_drain(&sl->stream, sl->fd, on_record, &d);

	if (st == RECORD_DATA)
		sl->last_heard_ns = now_ns();
	if (sl->stream.garbled && !sl->garbled) {
		sl->garbled = 1;
		(void)proc_signal(sl->pid, SIGKILL);
	}
	return st != RECORD_END;
}

/* ---- workers ----------------------------------------------------------- */

/* The environment workers get: ours, minus what would stop caches being
 * written or move them elsewhere. */
static char **worker_environment(void)
{
	static const char *const drop[] = { "PYTHONDONTWRITEBYTECODE=", "PYTHONPYCACHEPREFIX=",
					    "PYTHONHOME=", "PYTHONPATH=", "PYTHONSTARTUP=" };
	size_t n = 0, i, k;
	char **env;
	int keep;

	while (environ[n])
		n++;
	env = xcalloc(n + 1, sizeof(char *));
	for (i = 0, k = 0; i < n; i++) {
		keep = 1;
		for (size_t d = 0; d < sizeof(drop) / sizeof(drop[0]); d++)
			if (!strncmp(environ[i], drop[d], strlen(drop[d])))
				keep = 0;
		if (keep)
			env[k++] = environ[i];
	}
	env[k] = NULL;
	return env;
}

static int has_fault(const struct run_plan *plan, const struct fault_info *info)
{
	size_t i;

	for (i = 0; i < plan->nfaults; i++)
		if (plan->faults[i].info == info)
			return 1;
	return 0;
}

/* The base environment plus what the inject library reads (inject-env.h);
 * a plain slot (a reader after a cut) gets none of it. Free with
 * inject_env_free. */
static char **worker_env(struct run *r, const struct slot *sl)
{
	const struct run_plan *plan = r->plan;
	struct inject_env ie = INJECT_ENV_INIT;
	char *dirs = NULL, *state = NULL, **env;

	if (!sl->plain && (plan->nfaults || plan->preload)) {
		ie.library = plan->inject_library;
		ie.fiu_preload = has_fault(plan, &fault_fiu) ? plan->fiu_preload : NULL;
	}
	if (!sl->plain && plan->nfaults) {
		dirs = xasprintf("%s/%s", plan->cache_root, plan->strategies[sl->strategy]->name);
		state = xasprintf("%s/.state", plan->cache_root);
		ie.faults = plan->fault_env;
		ie.dirs = dirs;
		ie.cache_root = plan->cache_root;
		ie.state_dir = state;
		ie.has_seed = 1;
		ie.seed = sl->seed;
		ie.worker = (int)sl->worker;
		ie.event_fd = EVENT_FD;
	}
	env = inject_env_build(r->env, &ie);
	free(dirs);
	free(state);
	return env;
}

static char *module_spec(const struct run_plan *plan, const char *name)
{
	struct strbuf spec = STRBUF_INIT;
	unsigned v;

	strbuf_addf(&spec, "%s:", name);
	for (v = 1; v <= plan->sc->versions; v++)
		strbuf_addf(&spec, "%s%s/%s/v%u.py", v > 1 ? "," : "", plan->modules_dir, name, v);
	return strbuf_detach(&spec);
}

/* python -I -s driver.py <the worker's options, --strategies-lib among them> */
static char **interpreter_argv(const struct run_plan *plan, const char *python,
			       const struct worker_args *a)
{
	struct worker_args d = *a;
	char **inner, **argv;
	size_t n = 0;

	d.strategies_lib = plan->strategies_lib;
	inner = worker_build_argv(plan->driver, &d);
	while (inner[n])
		n++;
	argv = xcalloc(n + 4, sizeof(char *));
	argv[0] = xstrdup(python);
	/* no environment, no user site, no cwd on the path; 2.7 has no -I */
	argv[1] = xstrdup(plan->python_legacy ? "-E" : "-I");
	argv[2] = xstrdup("-s");
	memcpy(argv + 3, inner, n * sizeof(char *));
	argv[n + 3] = NULL;
	free(inner);
	return argv;
}

static uint64_t name_hash(const char *name)
{
	return hash_fnv1a(HASH_FNV1A_INIT, name, strlen(name));
}

/* In the child: fd EVENT_FD is the pipe; everything else closes on exec. Ctrl-C
 * is the orchestrator's to handle. A worker that cannot be run says why
 * over the pipe, and the run stops with that line. */
static void become_worker(char **argv, char **env, int pipe_fd)
{
	struct event_hdr h = { .magic = EVENT_MAGIC, .kind = EV_FATAL };
	char record[512];
	size_t room = sizeof(record) - sizeof(h);
	int n;

	if (dup2(pipe_fd, EVENT_FD) < 0)
		_exit(EXIT_INTERNAL);
	(void)signal(SIGINT, SIG_IGN);
	proc_unblock();
	execve(argv[0], argv, env);
	n = snprintf(record + sizeof(h), room, "cannot run '%s': %s", argv[0], strerror(errno));
	if (n < 0)
		n = 0;
	h.size = (uint16_t)(sizeof(h) + ((size_t)n < room ? (size_t)n : room - 1));
	memcpy(record, &h, sizeof(h));
	(void)event_send(EVENT_FD, record, h.size);
	_exit(EXIT_SKIP);
}

/* Start the worker of slot sl; 0 or -errno (from pipe2 or fork). */
static int spawn(struct run *r, struct slot *sl)
{
	const struct run_plan *plan = r->plan;
	const struct strategy_info *st = plan->strategies[sl->strategy];
	struct worker_args a = { 0 };
	/* The strings a points at, ours until the argv is built. */
	char *strategy_arg, *cache_dir, *evidence_dir, *trace, *modules[WORKER_MAX_MODULES];
	char **argv, **env;
	int fds[2], rc = 0;
	size_t i;
	pid_t pid;

	/* Seeds depend on the strategy's name, not its place in the list, so a
	 * subset of strategies replays with the same per-worker seeds. */
	sl->seed = derive_seed(plan->seed, name_hash(st->name), sl->worker, sl->generation);
	strategy_arg = st->file ? xasprintf("file:%s", st->file) : xstrdup(st->name);
	cache_dir = xasprintf("%s/%s", plan->cache_root, st->name);
	evidence_dir = xasprintf("%s/evidence", plan->run_dir);
	trace = plan->trace ? xasprintf("%s/trace/%s-w%u.log", plan->run_dir, st->name, sl->worker)
			    : NULL;

	a.strategy = strategy_arg;
	a.role = sl->role;
	a.cache_kind = plan->sc->cache_kind;
	a.cache_dir = cache_dir;
	for (i = 0; i < plan->sc->nmodules && i < WORKER_MAX_MODULES; i++)
		a.modules[a.nmodules++] = modules[i] = module_spec(plan, plan->sc->modules[i]);
	a.pyc_mode = plan->sc->pyc_mode;
	a.seed = sl->seed;
	a.worker = sl->worker;
	a.iterations = plan->iterations ? plan->iterations - sl->cycles : 0;
	/* A first worker runs -d from its hello; its replacement only for
	 * what is left of that time. */
	a.deadline_ns = sl->deadline_ns;
	a.duration_ns = r->deadline_ns && !sl->deadline_ns ? r->plan->duration_ns : 0;
	a.import_writes = plan->sc->import_writes;
	/* id(path) is an address; forked workers share theirs. */
	a.tmp_id = 0x7f0000000000ull +
		   ((plan->sc->shared_tmp_id ? plan->seed : sl->seed) & 0xffffffull) * 16;
	a.retry_budget_ns = plan->sc->retry_budget_ns;
	a.evidence_dir = evidence_dir;
	a.trace = trace;
	a.evidence_max = WORKER_EVIDENCE_MAX;
	a.event_fd = EVENT_FD;
	argv = plan->python ? interpreter_argv(plan, slot_python(plan, sl), &a)
			    : worker_build_argv(plan->worker_program, &a);
	env = worker_env(r, sl);
	free(cache_dir);
	free(evidence_dir);
	free(trace);
	free(strategy_arg);
	for (i = 0; i < a.nmodules; i++)
		free(modules[i]);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out;
	}
	pid = proc_fork();
	if (pid < 0) {
		rc = -errno;
		(void)close(fds[0]);
		(void)close(fds[1]);
		goto out;
	}
	if (pid == 0)
		become_worker(argv, env, fds[1]);
	(void)close(fds[1]);
	(void)fcntl(fds[0], F_SETFL, O_NONBLOCK);
	sl->pid = pid;
	sl->fd = fds[0];
	sl->exited = sl->said_bye = sl->killed_as_hung = sl->crash_injected = sl->garbled = 0;
	sl->ready = 0;
	record_stream_reset(&sl->stream);
	sl->last_heard_ns = now_ns();
	sl->batch_start_ns = now_ns();
	r->results[sl->strategy]->workers_started++;
out:
	inject_env_free(env);
	worker_free_argv(argv);
	return rc;
}

/* Start slot sl's worker; when it cannot be, the run stops, and the
 * line says which worker and which limit was hit. */
static void start(struct run *r, struct slot *sl)
{
	char why[256];
	int rc = spawn(r, sl);

	if (rc < 0 && !r->fatal)
		r->fatal = xasprintf("cannot start %s %zu of %zu: %s",
				     sl->role == ROLE_RECOVER ? "reader" : "worker",
				     (size_t)(sl - r->slots) + 1, r->nslots,
				     proc_start_error(-rc, why, sizeof(why)));
}

static int slot_done(const struct slot *sl)
{
	return sl->exited && sl->fd < 0;
}

static void record_death(struct run *r, struct slot *sl)
{
	enum outcome o = sl->killed_as_hung ? OUTCOME_WORKER_TIMEOUT : OUTCOME_WORKER_CRASH;
	struct strategy_result *res = r->results[sl->strategy];
	char why[128];

	if (sl->garbled)
		(void)snprintf(why, sizeof(why), "worker sent a garbled record and was stopped");
	else if (WIFSIGNALED(sl->status))
		(void)snprintf(why, sizeof(why), "%s: killed by signal %d (%s)",
			       sl->killed_as_hung ? "no record within the cycle timeout"
						  : "worker died",
			       WTERMSIG(sl->status), strsignal(WTERMSIG(sl->status)));
	else
		(void)snprintf(why, sizeof(why), "worker exited with status %d without finishing",
			       WEXITSTATUS(sl->status));
	res->counts[OP_IMPORT][o]++;
	if (!res->first_error[o])
		res->first_error[o] = xstrdup(why);
	event_prefix(r, sl, "exit");
	(void)fprintf(r->events, ", \"outcome\": \"%s\", \"error\": ", outcome_name(o));
	json_put_string(r->events, why);
	(void)fputs("}\n", r->events);
	r->crash_streak[sl->strategy]++;
}

/* -d is over for every worker by more than grace: each counts its own from
 * its hello, and one never heard from is left to kill_hung. */
static int past_deadlines(const struct run *r, uint64_t grace)
{
	uint64_t now = now_ns();
	size_t i;
	int over = 1;

	for (i = 0; i < r->nslots && over; i++)
		if (!r->slots[i].exited && (!r->slots[i].deadline_ns ||
					    now <= r->slots[i].deadline_ns + grace))
			over = 0;
	return over;
}

/* A worker is gone: count how it went, and replace it if the run goes on. */
static void finish_slot(struct run *r, struct slot *sl, int stopping)
{
	/* A worker that died before its hello has all its time left. */
	int time_left = !r->deadline_ns ? sl->cycles < r->plan->iterations
		      : !sl->deadline_ns || now_ns() + 100000000ull < sl->deadline_ns;

	flush_batch_line(r, sl);
	if (sl->said_bye) {
		event_prefix(r, sl, "exit");
		(void)fputs(", \"outcome\": \"ok\"}\n", r->events);
		return;
	}
	if (sl->crash_injected) {
		event_prefix(r, sl, "exit");
		(void)fputs(", \"outcome\": \"crash-injected\"}\n", r->events);
	} else if (sl->garbled || !(stopping && WIFSIGNALED(sl->status) && !sl->killed_as_hung)) {
		record_death(r, sl);
	}
	if (r->fatal || stopping || !time_left || r->no_restart)
		return;
	if (r->crash_streak[sl->strategy] >= MAX_CRASH_STREAK) {
		r->fatal = xasprintf("%s: workers keep dying (%u in a row without a cycle): %s",
				     r->plan->strategies[sl->strategy]->name,
				     r->crash_streak[sl->strategy],
				     r->results[sl->strategy]->first_error[OUTCOME_WORKER_CRASH]
					     ? r->results[sl->strategy]->first_error[OUTCOME_WORKER_CRASH]
					     : "?");
		return;
	}
	sl->generation++;
	start(r, sl);
}

static void reap(struct run *r)
{
	int status;
	pid_t pid;
	size_t i;

	for (i = 0; i < r->nslots; i++) {
		struct slot *sl = &r->slots[i];
		if (sl->pid <= 0 || sl->exited)
			continue;
		pid = waitpid(sl->pid, &status, WNOHANG);
		if (pid == sl->pid) {
			sl->exited = 1;
			sl->status = status;
		}
	}
}

static void signal_all(struct run *r, int sig)
{
	size_t i;

	for (i = 0; i < r->nslots; i++)
		if (!r->slots[i].exited)
			(void)proc_signal(r->slots[i].pid, sig);
}

/* How long a worker may take to say hello. */
static uint64_t startup_allowed_ns(const struct run *r)
{
	uint64_t cycle = r->plan->cycle_timeout_ns;

	return cycle > STARTUP_TIMEOUT_NS ? cycle : STARTUP_TIMEOUT_NS;
}

/* How long a worker may stay silent before it is hung. */
static uint64_t silence_allowed_ns(const struct run *r, const struct slot *sl)
{
	return sl->ready ? r->plan->cycle_timeout_ns : startup_allowed_ns(r);
}

static void kill_hung(struct run *r)
{
	uint64_t now = now_ns();
	size_t i;

	for (i = 0; i < r->nslots; i++) {
		struct slot *sl = &r->slots[i];
		if (!sl->exited && sl->pid > 0 && !sl->killed_as_hung &&
		    now - sl->last_heard_ns > silence_allowed_ns(r, sl)) {
			sl->killed_as_hung = 1;
			(void)proc_signal(sl->pid, SIGKILL);
		}
	}
}

static void draw_progress(struct run *r, int final)
{
	uint64_t cycles = 0, corrupt;
	char line[512];
	size_t i, used;
	double t = run_time_s(r), total = r->plan->duration_ns / 1e9;

	if (!r->plan->progress || (!final && now_ns() - r->last_progress_ns < 250000000ull))
		return;
	r->last_progress_ns = now_ns();
	for (i = 0; i < r->nslots; i++)
		cycles += r->slots[i].cycles;
	used = (size_t)snprintf(line, sizeof(line), "\r\033[K[%5.1fs", t);
	if (total > 0)
		used += (size_t)snprintf(line + used, sizeof(line) - used, " / %.0fs", total);
	used += (size_t)snprintf(line + used, sizeof(line) - used, "] %.0f cycles/s; corrupt:",
				 t > 0 ? (double)cycles / t : 0.0);
	for (i = 0; i < r->plan->nstrategies && used < sizeof(line); i++) {
		corrupt = r->results[i]->counts[OP_IMPORT][OUTCOME_BAD_MARSHAL] +
			  r->results[i]->counts[OP_IMPORT][OUTCOME_EOF];
		if (corrupt)
			used += (size_t)snprintf(line + used, sizeof(line) - used, " %s %" PRIu64,
						 r->plan->strategies[i]->name, corrupt);
	}
	(void)fputs(line, stderr);
	if (final)
		(void)fputs("\r\033[K", stderr);
}

/* One pass of the loop: wait for records, then tend to the workers. */
static void step(struct run *r, struct pollfd *pfd, size_t *map, int stopping)
{
	size_t i, n = 0;

	for (i = 0; i < r->nslots; i++) {
		if (r->slots[i].fd < 0)
			continue;
		pfd[n].fd = r->slots[i].fd;
		pfd[n].events = POLLIN;
		map[n++] = i;
	}
	if (poll(pfd, n, 50) > 0) {
		for (i = 0; i < n; i++) {
			struct slot *sl = &r->slots[map[i]];
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (!drain(r, sl)) {
				(void)close(sl->fd);
				sl->fd = -1;
			}
		}
	}
	reap(r);
	for (i = 0; i < r->nslots; i++) {
		struct slot *sl = &r->slots[i];
		if (sl->exited && sl->fd < 0 && sl->pid > 0) {
			sl->pid = 0;
			finish_slot(r, sl, stopping);
		}
	}
	kill_hung(r);
	draw_progress(r, 0);
	/* Someone may be watching events.jsonl: keep it a fifth of a second fresh. */
	if (now_ns() - r->last_flush_ns > 200000000ull) {
		(void)fflush(r->events);
		r->last_flush_ns = now_ns();
	}
}

static int all_done(const struct run *r)
{
	size_t i;

	for (i = 0; i < r->nslots; i++)
		if (r->slots[i].pid > 0 || !slot_done(&r->slots[i]))
			return 0;
	return 1;
}

/*
 * name inside the folder parent, created when missing, opened without
 * following a symbolic link: a strategy folder that is a link (or not a
 * folder) would send our sources and the workers' faults to files that are
 * not ours. A descriptor, or -errno with message filled (and *refused set
 * when the name is there but not a folder of ours: bad input).
 */
static int own_folder(int parent, const char *name, const char *path, char *message, size_t len,
		      int *refused)
{
	int fd = -1, rc = 0;
	struct stat st;

	if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
		rc = -errno;
	if (rc == 0 && (fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		rc = -errno;
	*refused = rc == -ELOOP || rc == -ENOTDIR;
	if (*refused)
		(void)snprintf(message, len, "run: '%s' is %s: refusing to write through it",
			       path, fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			       S_ISLNK(st.st_mode) ? "a symbolic link" : "not a folder");
	else if (rc < 0)
		(void)snprintf(message, len, "cannot create '%s': %s", path, strerror(-rc));
	return rc < 0 ? rc : fd;
}

/* A module's first version as the source in folder dirfd, with the mtime
 * the workers expect; never written through a link (*refused). 0 or -errno. */
static int write_source(const struct run_plan *plan, int dirfd, const char *module,
			const char *shown, char *message, size_t len, int *refused)
{
	char *path = xasprintf("%s/%s/v1.py", plan->modules_dir, module), *name, *text = NULL;
	struct timespec times[2] = { { .tv_sec = worker_source_mtime(0) },
				     { .tv_sec = worker_source_mtime(0) } };
	size_t tlen = 0;
	int rc = read_file(path, &text, &tlen), fd = -1;

	if (rc < 0) {
		(void)snprintf(message, len, "cannot read module fixture '%s': %s", path,
			       read_file_error(rc));
		goto out;
	}
	name = xasprintf("%s.py", module);
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	free(name);
	rc = fd < 0 ? -errno : write_all(fd, text, tlen);
	if (rc == 0 && futimens(fd, times) < 0)
		rc = -errno;
	*refused = rc == -ELOOP;
	if (*refused)
		(void)snprintf(message, len, "run: '%s/%s.py' is a symbolic link: "
			       "refusing to write through it", shown, module);
	else if (rc < 0)
		(void)snprintf(message, len, "cannot write '%s/%s.py': %s", shown, module,
			       strerror(-rc));
out:
	if (fd >= 0)
		(void)close(fd);
	free(text);
	free(path);
	return rc;
}

/* The cache root's folders and sources, before any worker runs; *refused
 * when one of them is in the way as something not ours. */
static int prepare_cache(const struct run_plan *plan, char *message, size_t len, int *refused)
{
	int root = open(plan->cache_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), state = -1;
	int sdir = -1, pdir = -1, rc = root < 0 ? -errno : 0;
	char *shown = xasprintf("%s/.state", plan->cache_root), *cache;
	size_t i, m;

	if (rc < 0)
		(void)snprintf(message, len, "cannot open '%s': %s", plan->cache_root, strerror(-rc));
	if (rc == 0) {
		state = own_folder(root, ".state", shown, message, len, refused);
		rc = state < 0 ? state : 0;
	}
	for (i = 0; i < plan->nstrategies && rc == 0; i++) {
		free(shown);
		shown = xasprintf("%s/%s", plan->cache_root, plan->strategies[i]->name);
		cache = xasprintf("%s/__pycache__", shown);
		sdir = own_folder(root, plan->strategies[i]->name, shown, message, len, refused);
		pdir = sdir < 0 ? sdir : own_folder(sdir, "__pycache__", cache, message, len, refused);
		rc = pdir < 0 ? pdir : 0;
		for (m = 0; m < plan->sc->nmodules && rc == 0; m++)
			rc = write_source(plan, sdir, plan->sc->modules[m], shown, message, len,
					  refused);
		if (pdir >= 0)
			(void)close(pdir);
		if (sdir >= 0)
			(void)close(sdir);
		free(cache);
	}
	if (state >= 0)
		(void)close(state);
	if (root >= 0)
		(void)close(root);
	free(shown);
	return rc;
}

static int open_logs(struct run *r, char *message, size_t len)
{
	char *path = xasprintf("%s/events.jsonl", r->plan->run_dir), *dir;
	size_t i;
	int rc = 0;

	r->events = fopen(path, "we");
	if (!r->events) {
		rc = -errno;
		(void)snprintf(message, len, "cannot create '%s': %s", path, strerror(errno));
	}
	free(path);
	dir = xasprintf("%s/faults", r->plan->run_dir);
	if (rc == 0 && (rc = mkdir_p(dir, 0755)) < 0)
		(void)snprintf(message, len, "cannot create '%s': %s", dir, strerror(-rc));
	for (i = 0; i < r->nslots && rc == 0; i++) {
		path = xasprintf("%s/%s-w%u.log", dir,
				 r->plan->strategies[r->slots[i].strategy]->name, r->slots[i].worker);
		r->slots[i].fault_log = fopen(path, "we");
		free(path);
	}
	free(dir);
	dir = xasprintf("%s/trace", r->plan->run_dir);
	if (rc == 0 && r->plan->trace && (rc = mkdir_p(dir, 0755)) < 0)
		(void)snprintf(message, len, "cannot create '%s': %s", dir, strerror(-rc));
	free(dir);
	dir = xasprintf("%s/evidence/.slots", r->plan->run_dir);
	if (rc == 0 && (rc = mkdir_p(dir, 0755)) < 0)
		(void)snprintf(message, len, "cannot create '%s': %s", dir, strerror(-rc));
	free(dir);
	return rc;
}

static void close_logs(struct run *r)
{
	size_t i;

	for (i = 0; i < r->nslots; i++)
		if (r->slots[i].fault_log)
			(void)fclose(r->slots[i].fault_log);
	if (r->events)
		(void)fclose(r->events);
}

static void make_slots(struct run *r)
{
	const struct run_plan *plan = r->plan;
	size_t i;
	unsigned w;

	r->nslots = plan->nstrategies * plan->jobs;
	r->slots = xcalloc(r->nslots, sizeof(struct slot));
	for (i = 0; i < plan->nstrategies; i++) {
		r->results[i] = summary_result(r->s, plan->strategies[i]->name);
		for (w = 0; w < plan->jobs; w++) {
			struct slot *sl = &r->slots[i * plan->jobs + w];
			sl->strategy = i;
			/* A shard runs its own slice of a virtual shard_count * jobs
			 * worker run: indices (and so seeds) never repeat across
			 * shards, and every shard has compile and import workers. */
			sl->worker = plan->shard_index * plan->jobs + w;
			sl->role = w < plan->compile_jobs ? ROLE_COMPILE : ROLE_IMPORT;
			sl->usual_role = sl->role;
			sl->fd = -1;
			sl->exited = 1;   /* until it is started */
		}
	}
}

/* Lock holders for held-lock: `holders` per strategy, each on its folder,
 * all of them taking the new files the workers hand over (holder.h).
 * When one cannot be started the run stops; Ctrl-C or SIGTERM stops the
 * starting, and the run then winds down as usual. */
static void start_holders(struct run *r)
{
	const struct run_plan *plan = r->plan;
	const struct fault_spec *spec = NULL;
	struct holder_plan hp;
	size_t i, j, total;
	unsigned h;
	pid_t pid;
	int grab;
	char *dir, *state, why[256];

	for (j = 0; j < plan->nfaults; j++)
		if (plan->faults[j].info == &fault_held_lock)
			spec = &plan->faults[j];
	if (!spec)
		return;
	total = plan->nstrategies * spec->u.held_lock.holders;
	r->holders = xcalloc(total, sizeof(pid_t));
	state = xasprintf("%s/.state", plan->cache_root);
	grab = holder_grab_socket(state);
	for (i = 0; i < plan->nstrategies && !r->fatal && !interrupts; i++) {
		for (h = 0; h < spec->u.held_lock.holders && !r->fatal && !interrupts; h++) {
			dir = xasprintf("%s/%s", plan->cache_root, plan->strategies[i]->name);
			hp = (struct holder_plan){ .dir = dir, .state_dir = state, .grab_fd = grab,
				.seed = derive_seed(plan->seed, name_hash(plan->strategies[i]->name),
						    PROC_HOLDER_SEED_BASE + h, 0),
				.hold_lo_ns = spec->u.held_lock.hold.lo,
				.hold_hi_ns = spec->u.held_lock.hold.hi,
				.gap_lo_ns = spec->u.held_lock.gap.lo,
				.gap_hi_ns = spec->u.held_lock.gap.hi };
			pid = proc_fork();
			if (pid == 0)
				holder_run(&hp);
			if (pid < 0)
				r->fatal = xasprintf("cannot start lock holder %zu of %zu: %s",
						     r->nholders + 1, total,
						     proc_start_error(errno, why, sizeof(why)));
			else
				r->holders[r->nholders++] = pid;
			free(dir);
		}
	}
	if (grab >= 0)
		(void)close(grab);   /* the holders have it */
	free(state);
}

static void stop_holders(struct run *r)
{
	proc_stop(r->holders, r->nholders);
	free(r->holders);
	r->holders = NULL;
	r->nholders = 0;
}

static void install_handlers(struct sigaction *old_int, struct sigaction *old_term)
{
	struct sigaction sa = { .sa_handler = on_interrupt };

	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, old_int);
	(void)sigaction(SIGTERM, &sa, old_term);
	(void)signal(SIGPIPE, SIG_IGN);
}

/* ---- power cuts ------------------------------------------------------------- */

static int all_ready(const struct run *r)
{
	size_t i;

	for (i = 0; i < r->nslots; i++)
		if (!r->slots[i].ready && !r->slots[i].exited)
			return 0;
	return 1;
}

/* Writers run until the cut, which kills every one of them at once. The
 * round's length counts from the moment all of them are up. */
static void writers_round(struct run *r, struct pollfd *pfd, size_t *map, uint64_t length)
{
	uint64_t until = now_ns() + startup_allowed_ns(r);
	size_t i;

	for (i = 0; i < r->nslots && !r->fatal && !interrupts; i++) {
		r->slots[i].role = r->slots[i].usual_role;
		r->slots[i].plain = 0;
		/* a new life each round: a new seed, so new temporary names */
		if (r->slots[i].workers_run++)
			r->slots[i].generation++;
		start(r, &r->slots[i]);
	}
	while (!all_ready(r) && now_ns() < until && !interrupts && !r->fatal)
		step(r, pfd, map, 0);
	until = now_ns() + length;
	while (now_ns() < until && !interrupts && !r->fatal)
		step(r, pfd, map, 0);
	signal_all(r, SIGKILL);
	while (!all_done(r))
		step(r, pfd, map, 1);
}

/* Roll every strategy's folder to a post-crash state. */
static void apply_cut(struct run *r, uint64_t round, uint64_t seed)
{
	const struct power_cut_params *cut = &r->power->u.power_cut;
	char *state = xasprintf("%s/.state", r->plan->cache_root);
	struct rollback_report rep;
	struct journal j;
	size_t i;

	if (rollback_load(state, &j) < 0)
		memset(&j, 0, sizeof(j));
	for (i = 0; i < r->plan->nstrategies; i++) {
		struct rollback_plan p = {
			.cache_root = r->plan->cache_root, .state_dir = state,
			.scope = r->plan->strategies[i]->name,
			.model = cut->model, .sector = cut->sector, .persist = cut->persist,
			.seed = derive_seed(seed, i, 0, 0), .keep_meta = -1, .data = DATA_RANDOM,
		};
		memset(&rep, 0, sizeof(rep));
		(void)rollback_apply(&p, &j, &rep);
		(void)summary_count_fault(r->results[i], "pycstorm/power/cut", 1);
		(void)fprintf(r->events, "{\"t\": %.6f, \"type\": \"power-cut\", \"round\": %" PRIu64
					 ", \"strategy\": \"%s\", \"model\": \"%s\", "
					 "\"metadata_pending\": %u, \"metadata_undone\": %u, "
					 "\"sectors_lost\": %u, \"files_cut\": %u}\n",
			      run_time_s(r), round, p.scope, crash_model_name(p.model),
			      rep.meta_pending, rep.meta_undone, rep.sectors_lost, rep.files_cut);
	}
	rollback_free(&j);
	rollback_clear(state);
	free(state);
}

/* After the reboot: one plain reader per strategy reads every file once. */
static void recover_round(struct run *r, struct pollfd *pfd, size_t *map)
{
	size_t i;

	for (i = 0; i < r->plan->nstrategies && !r->fatal && !interrupts; i++) {
		struct slot *sl = &r->slots[i * r->plan->jobs];
		sl->role = ROLE_RECOVER;
		sl->plain = 1;
		sl->generation++;
		start(r, sl);
	}
	while (!all_done(r) && !interrupts && !r->fatal)
		step(r, pfd, map, 0);
}

/* With power-cut armed the run is rounds: write, cut, roll back, read. -n
 * counts rounds; otherwise they go on until the duration is spent. */
static void power_rounds(struct run *r, struct pollfd *pfd, size_t *map)
{
	const struct run_plan *plan = r->plan;
	struct rng rng;
	uint64_t round;

	rng_init(&rng, derive_seed(plan->seed, 0x706f776572ull, 0, 0));
	r->no_restart = 1;
	r->deadline_ns = 0;          /* writers run until the cut kills them */
	for (round = 0; !interrupts && !r->fatal && !(plan->until_reproduced && r->reproduced);
	     round++) {
		if (plan->iterations ? round >= plan->iterations : now_ns() >= r->run_deadline_ns)
			break;
		writers_round(r, pfd, map, rng_range(&rng, r->power->u.power_cut.at.lo, r->power->u.power_cut.at.hi));
		if (interrupts || r->fatal)
			break;
		apply_cut(r, round, rng_next(&rng));
		recover_round(r, pfd, map);
	}
}

/* Ask the workers to stop, then insist. */
static void wind_down(struct run *r, struct pollfd *pfd, size_t *map)
{
	uint64_t until = now_ns() + 3000000000ull;

	signal_all(r, SIGTERM);
	while (!all_done(r) && now_ns() < until && interrupts < 2)
		step(r, pfd, map, 1);
	signal_all(r, SIGKILL);
	while (!all_done(r))
		step(r, pfd, map, 1);
}

enum run_status orchestrate(const struct run_plan *plan, struct summary *s,
			    char *message, size_t message_len)
{
	struct run r = { .plan = plan, .s = s };
	struct sigaction old_int, old_term;
	struct pollfd *pfd;
	size_t *map, i;
	enum run_status status = RUN_COMPLETE;
	int rc, refused = 0;

	message[0] = '\0';
	make_slots(&r);
	pfd = xcalloc(r.nslots + 1, sizeof(*pfd));
	map = xcalloc(r.nslots + 1, sizeof(*map));
	rc = prepare_cache(plan, message, message_len, &refused);
	if (rc == 0)
		rc = open_logs(&r, message, message_len);
	if (rc < 0) {
		status = refused ? RUN_REFUSED : RUN_ABORTED;
		goto out;
	}
	r.env = worker_environment();
	interrupts = 0;
	install_handlers(&old_int, &old_term);
	start_holders(&r);
	r.start_ns = now_ns();
	r.deadline_ns = plan->duration_ns ? r.start_ns + plan->duration_ns : 0;
	r.run_deadline_ns = r.deadline_ns;
	for (i = 0; i < plan->nfaults; i++)
		if (plan->faults[i].info == &fault_power_cut)
			r.power = &plan->faults[i];
	if (r.power) {
		power_rounds(&r, pfd, map);
	} else {
		/* Ctrl-C or SIGTERM while starting: what started is stopped below. */
		for (i = 0; i < r.nslots && !r.fatal && !interrupts; i++)
			start(&r, &r.slots[i]);
	}
	while (!r.power && !all_done(&r) && !interrupts && !r.fatal &&
	       !(plan->until_reproduced && r.reproduced)) {
		step(&r, pfd, map, 0);
		if (r.deadline_ns && past_deadlines(&r, plan->cycle_timeout_ns))
			break;   /* stragglers past the deadline are killed below */
	}
	if (interrupts)
		status = RUN_INTERRUPTED;
	else if (plan->until_reproduced && r.reproduced)
		status = RUN_REPRODUCED;
	wind_down(&r, pfd, map);
	stop_holders(&r);
	if (r.fatal) {
		status = r.fatal_reason == FATAL_BAD_INPUT ? RUN_REFUSED : RUN_ABORTED;
		(void)snprintf(message, message_len, "%s", r.fatal);
	}
	draw_progress(&r, 1);
	s->elapsed_s = run_time_s(&r);
	(void)sigaction(SIGINT, &old_int, NULL);
	(void)sigaction(SIGTERM, &old_term, NULL);
out:
	close_logs(&r);
	free(r.fatal);
	free(r.env);
	free(r.slots);
	free(pfd);
	free(map);
	return status;
}
