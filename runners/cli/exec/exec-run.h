/*
 * What the parts of `pycstorm exec` share: the options, the state one exec
 * keeps between rounds, and the facts of one round. cmd-exec.c parses and
 * sets up and runs the modes; exec-judge.c runs a round and judges it
 * (how each copy ended, which touched .pyc files an import would fail on,
 * the counts in the summary); exec-report.c keeps a round's evidence in the
 * run folder and tells the user.
 */
#ifndef PYCSTORM_EXEC_RUN_H
#define PYCSTORM_EXEC_RUN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "exec-cache.h"
#include "exec-check.h"
#include "exec-kinds.h"
#include "exec-precheck.h"
#include "exec-round.h"
#include "fault.h"
#include "owned.h"
#include "summary.h"

#define EXEC_MAX_JOBS 256
/* Kept copies of cache files end in this, so no importer, compiler or test
 * collector run in the project picks them up (conftest.py.kept). */
#define EXEC_KEPT_SUFFIX ".kept"

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
	int read_back;               /* --read-back: the judge reads intact .pyc files too */
	int ok_exit_given;           /* --ok-exit: other exit statuses fail a round */
	unsigned char ok_exit[256];  /* the statuses --ok-exit accepts */
	char **cmd;
};

/* The interpreter that ran the command, when it can be told from it. */
struct exec_python {
	char *path;                  /* sys.executable, or NULL: not found */
	char *version;               /* "3.12.1" */
	char *release;               /* "3.12" */
	uint32_t magic;              /* its magic word */
	char *cache_tag;             /* "cpython-312" */
	const char *how;             /* "argv[0]", "the shebang of ...", ... */
};

/* Everything one `pycstorm exec` keeps between rounds. */
struct exec_run {
	const struct exec_options *o;
	int stress;
	struct exec_scope scope;
	struct exec_python python;
	char *cwd;
	char *worker;
	char *fault_env;             /* the specs joined with ';', or NULL */
	struct fault_spec faults[FAULT_MAX_SPECS];
	size_t nfaults;
	char *inject_library;        /* preloaded (faults, or only recording writes), or NULL */
	const char *fiu_preload;     /* after it, for the fiu fault, or NULL */
	char *inject_dirs, *inject_names;
	char **env;
	char *run_dir, *run_dir_abs, *id, *output_dir;
	char *state_dir;             /* the faults' shared state, or NULL: none armed */
	char *written_dir;           /* the inject library's records, or NULL: not preloaded */
	char *runs_dir, *default_out;   /* the default's folder and run folder, or NULL */
	int dropped_dontwrite;       /* PYTHONDONTWRITEBYTECODE was taken out for CMD */
	struct owned run_own;        /* the run folder, held for the whole exec */
	struct owned state_own;      /* state_dir, inside it: removed at the end */
	struct exec_prejudge judge;  /* the program's interpreter judging, kept between rounds */
	FILE *events;
	struct summary s;
	struct strategy_result *res;
	uint64_t start_ns;
	uint64_t runs, failed_runs, failed_rounds, interrupted_runs;
	unsigned idle_rounds;        /* rounds in a row with nothing written or fired */
	uint64_t exit_counts[256 + 65 + 1];   /* by exit status, then by signal, then timeouts */
	int progress;
};

/* A touched cache file and what its judge said. */
struct exec_judged {
	const char *path;            /* into the after snapshot */
	const struct exec_kind *kind;
	int is_new;                  /* not there before the round */
	struct exec_verdict v;       /* outcome -1: not judged */
	int fails;                   /* damaged, and counted */
	int tolerated;               /* damaged, and its reader copes */
	int leftover;                /* a temporary file the round left */
};

/* One round's facts, kept until it is judged and, if it matters, kept. */
struct round_facts {
	unsigned number;
	uint64_t seed;
	struct exec_copy *copies;
	struct exec_precheck precheck;   /* intact files found while it ran */
	int outcome[EXEC_MAX_JOBS];
	char *error[EXEC_MAX_JOBS];
	struct exec_snapshot before, after;
	const struct exec_cache_file **touched;
	size_t ntouched;
	struct exec_judged *files;   /* one per touched file */
	size_t npycs, nread;         /* judged by classify, by a reader's judge */
	size_t damaged, tolerated, leftovers, unjudged, cannot_judge;
	uint64_t faults_fired;
	int interrupted;
	int cut;                     /* power-cut: the copies were cut and rolled back */
	struct exec_copy rerun;      /* after a cut: the command run once more, plainly */
	int rerun_outcome;           /* -1: not run */
	char *rerun_error;
	int copy_failed;             /* the first copy that failed, or -1 */
	int failed;
	int start_error;             /* -errno: a copy could not be started */
};

/* exec-judge.c */
const struct fault_spec *exec_armed(const struct exec_run *x, const struct fault_info *info);
/* Does this copy's end fail the round? */
int exec_copy_fails(const struct exec_run *x, const struct exec_copy *c, int outcome);
/* path relative to the current folder (absolute ones lose their '/'). */
const char *exec_relative_path(const struct exec_run *x, const char *path);
double exec_elapsed_s(const struct exec_run *x);
/* Run round number with seed, judge it and count it into the summary. */
void exec_run_round(struct exec_run *x, unsigned number, uint64_t seed, struct round_facts *rd,
		    volatile sig_atomic_t *interrupts);
void exec_release_round(struct exec_run *x, struct round_facts *rd);
/* After a power cut: run the command once more without faults, as after
 * the reboot, and count how it meets what the cut left. */
void exec_rerun_after_cut(struct exec_run *x, struct round_facts *rd,
			  volatile sig_atomic_t *interrupts);

/* exec-report.c */
void exec_keep_round(struct exec_run *x, const struct round_facts *rd);
/* "__pycache__, ... below DIR" or "every file below DIR, DIR2"; malloc'd. */
char *exec_scope_text(const struct exec_run *x);
/* One line of ours on stderr (stdout belongs to CMD), unless quiet. */
void exec_say(const struct exec_run *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void exec_report_single(const struct exec_run *x, const struct round_facts *rd);
void exec_report_stress(struct exec_run *x, const struct round_facts *rd);
void exec_draw_progress(const struct exec_run *x, const struct round_facts *rd);
/* Before a line of ours: end a line the command left open on our terminal. */
void exec_end_line(void);

#endif
