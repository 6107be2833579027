/*
 * One round of `pycstorm exec`: N copies of a command started at once with
 * the inject library preloaded, each with its own seed and its own pipe
 * for the fault records, plus the lock holders of held-lock; the round
 * ends when every copy has exited (or was killed for running too long).
 *
 * The copies are the command's, not ours: they may start children, which
 * inherit the pipe (records are written whole, so any number of processes
 * can share it), and they may outlive the copy; we stop listening a short
 * while after the copy itself exits.
 */
#ifndef PYCSTORM_EXEC_ROUND_H
#define PYCSTORM_EXEC_ROUND_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "record.h"
#include "exec-cache.h"
#include "fault.h"

struct exec_copy {
	unsigned index;
	uint64_t seed;               /* PYCSTORM_INJECT_SEED */
	pid_t pid;
	int fd;                      /* read end of its record pipe, -1 once closed */
	int tee_fd[2];               /* read ends of its stdout, stderr pipes (tee), or -1 */
	int file_fd[2];              /* output/copy-K.out, .err while teeing, or -1 */
	int pidfd;                   /* readable once it exits; -1 (none, or reaped) */
	int exited;
	int status;                  /* from waitpid */
	int timed_out;               /* killed for running past the timeout */
	int crash_injected;          /* the crash fault fired in it */
	int cut;                     /* killed by the power cut */
	int garbled;                 /* something not a record came down its pipe */
	uint64_t start_ns, end_ns;
	uint64_t listen_until_ns;    /* after it exits: its children's last records */
	char *fault_log;             /* its fault lines, one per line */
	size_t fault_log_len;
	FILE *fault_stream;
	struct record_stream stream;
};

struct exec_round_plan {
	char *const *argv;           /* the command */
	char *const *env;            /* its environment, without the variables below */
	unsigned copies;
	unsigned first_index;        /* copy k is numbered first_index + k */
	uint64_t seed;               /* the round's; each copy's derives from it */
	const char *fault_env;       /* PYCSTORM_FAULTS, or NULL: nothing injected */
	const char *library;         /* the inject library, or NULL */
	const char *written_dir;     /* it records complete write streams there, or NULL */
	const char *fiu_preload;     /* libfiu's preload after it, or NULL */
	const char *inject_dirs;
	const char *inject_names;    /* or NULL: every path below inject_dirs */
	const char *cache_root;      /* logged paths are relative to it */
	const char *state_dir;       /* delete-pending markers */
	const char *output_dir;      /* copy-K.out/.err go here */
	int tee;                     /* also pass the output on to ours, as it comes;
					the copies then share our terminal and group */
	uint64_t timeout_ns;         /* 0: none */
	uint64_t cut_after_ns;       /* power-cut: SIGKILL every copy this long after the
					start (0: no cut); the caller rolls back */
	const struct fault_spec *held_lock;   /* start lock holders, or NULL */
	const struct exec_scope *scope;       /* where holders find cache folders */
	/* Called for every fault line, as it arrives. */
	void (*on_fault)(void *ctx, const struct exec_copy *copy, const char *line, size_t len);
	void *ctx;
	/* Called on every turn of the round's loop (at least every 10 ms), or NULL. */
	void (*on_turn)(void *turn_ctx);
	void *turn_ctx;
};

/* The seed copy k of a round with this seed runs with. */
uint64_t exec_copy_seed(uint64_t round_seed, unsigned k);
/* Run one round; copies[] (plan->copies of them) is filled. 0, or -errno
 * when a copy could not be started (the others are stopped). A raised
 * *interrupts asks the copies to stop. */
int exec_round(const struct exec_round_plan *plan, struct exec_copy *copies,
	       volatile sig_atomic_t *interrupts);
void exec_copy_release(struct exec_copy *copy);
/* Is a line the copies' output left on our stdout or stderr not ended
 * yet? 1 stdout, 2 stderr, 0 no. */
extern int exec_open_line;

#endif
