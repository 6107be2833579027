/*
 * The processes pycstorm starts, and only those.
 *
 * Every fork in pycstorm goes through proc_fork, so every child dies with
 * the process that started it, even one killed with SIGKILL. Every signal
 * goes through proc_signal or proc_signal_group, which refuse anything but
 * a process (or the group of a process) we started. Every wait for a child
 * to stop is bounded (proc_stop). How many processes one command may start
 * is capped (proc_check_caps), in proportion to the machine.
 */
#ifndef PYCSTORM_PROC_H
#define PYCSTORM_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* The caps, as README.md ("Safety") and the man page state them. */
#define PROC_CAP_PER_CPU 16u
#define PROC_CAP_FLOOR 64u
#define PROC_CAP_CEILING 4096u
/* Lock holders per strategy (run) or in all (exec). */
#define PROC_HOLDERS_MAX 64u
/* Lock holder k's seed is derived with index PROC_HOLDER_SEED_BASE + k,
 * apart from the indices workers and copies use. */
#define PROC_HOLDER_SEED_BASE 1000u
/* How long a child asked to stop with SIGTERM has before SIGKILL. */
#define PROC_STOP_GRACE_NS 2000000000ull

/* Processes one command may run at once: 16 per CPU this process may run
 * on (as nproc counts them), at least 64 and at most 4096. */
unsigned proc_cap(void);

/* What one command is about to start: groups x (per_group + holders). */
struct proc_budget {
	const char *per_group_what;   /* "workers per strategy", "copies" */
	unsigned groups;              /* strategies; 1 for exec */
	unsigned per_group;
	unsigned holders;             /* lock holders per group */
	unsigned grabbers;            /* holders of new files outside the groups (exec's one) */
};

/* 0 when the budget is within every cap; otherwise -1 and one line (no
 * command prefix) in err naming the cap that was passed. */
int proc_check_caps(const struct proc_budget *b, char *err, size_t len);

/*
 * fork() for a child that must not outlive us. SIGINT and SIGTERM are
 * blocked across the fork. The child returns with its death signal set to
 * SIGKILL (and exits at once if we died before that took hold), with the
 * handlers it inherited from us reset to the default (an ignored signal
 * stays ignored, as exec would leave it), and with SIGINT and SIGTERM
 * still blocked: it installs its own handlers, if any, then calls
 * proc_unblock, before exec. The parent returns with its mask as before.
 */
pid_t proc_fork(void);
/* In a child of proc_fork: restore the signal mask of before the fork. */
void proc_unblock(void);

/* kill(pid, sig) for one process we started; -EINVAL for pid <= 0. */
int proc_signal(pid_t pid, int sig);
/* The same for the process group a child of ours leads (pgid == its pid);
 * -EINVAL for a leader <= 1 or for our own group. */
int proc_signal_group(pid_t leader, int sig);

/* Stop the children pids[0..n): SIGTERM, reap for up to
 * PROC_STOP_GRACE_NS, then SIGKILL and reap. Entries <= 0 are skipped;
 * every entry is 0 afterwards. */
void proc_stop(pid_t *pids, size_t n);

/* Why a child could not be started (err from pipe2 or fork), naming the
 * limit that was hit: "too many open files (ulimit -n is 64)". */
const char *proc_start_error(int err, char *buf, size_t len);

#endif
