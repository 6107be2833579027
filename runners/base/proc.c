/*
 * Processes; see proc.h.
 *
 * pycstorm is single-threaded, so the mask saved across a fork belongs to
 * the one thread there is, and the death signal a child sets is tied to
 * that thread's life, which is the process's.
 */
#include "proc.h"

#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Between proc_fork and proc_unblock in a child: the mask to go back to. */
static sigset_t mask_before_fork;

unsigned proc_cap(void)
{
	cpu_set_t set;
	long cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
								 : sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t cap = cpus > 0 ? (uint64_t)cpus * PROC_CAP_PER_CPU : PROC_CAP_FLOOR;

	if (cap < PROC_CAP_FLOOR)
		cap = PROC_CAP_FLOOR;
	if (cap > PROC_CAP_CEILING)
		cap = PROC_CAP_CEILING;
	return (unsigned)cap;
}

int proc_check_caps(const struct proc_budget *b, char *err, size_t len)
{
	unsigned cap = proc_cap();
	uint64_t total = (uint64_t)b->groups * ((uint64_t)b->per_group + b->holders) + b->grabbers;

	if (b->per_group > cap)
		(void)snprintf(err, len, "%u %s is over the cap of %u (%u per CPU, at least %u)",
			       b->per_group, b->per_group_what, cap, PROC_CAP_PER_CPU,
			       PROC_CAP_FLOOR);
	else if (b->holders > PROC_HOLDERS_MAX)
		(void)snprintf(err, len, "held-lock:holders=%u is over the cap of %u lock holders",
			       b->holders, PROC_HOLDERS_MAX);
	else if (total > cap)
		(void)snprintf(err, len, "%" PRIu64 " processes at once (%u x (%u %s + %u lock "
					 "holders)%s) is over the cap of %u (%u per CPU, at least %u)",
			       total, b->groups, b->per_group, b->per_group_what, b->holders,
			       b->grabbers ? " + 1 holder of new files" : "", cap,
			       PROC_CAP_PER_CPU, PROC_CAP_FLOOR);
	else
		return 0;
	return -1;
}

/* A handler we installed means nothing in the child: back to the default.
 * An ignored signal stays ignored, as exec would leave it. */
static void reset_caught(int sig)
{
	struct sigaction old;

	if (sigaction(sig, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
		(void)signal(sig, SIG_DFL);
}

pid_t proc_fork(void)
{
	pid_t parent = getpid(), pid;
	sigset_t block;
	int saved;

	(void)sigemptyset(&block);
	(void)sigaddset(&block, SIGINT);
	(void)sigaddset(&block, SIGTERM);
	(void)sigprocmask(SIG_BLOCK, &block, &mask_before_fork);
	pid = fork();
	if (pid == 0) {
		/* A parent that dies from here on takes us with it; one that died
		 * before the death signal took hold has handed us to another
		 * process, which getppid shows. Either way we go as it would
		 * have made us go. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(128 + SIGKILL);
		reset_caught(SIGINT);
		reset_caught(SIGTERM);
		return 0;
	}
	saved = errno;
	(void)sigprocmask(SIG_SETMASK, &mask_before_fork, NULL);
	errno = saved;
	return pid;
}

void proc_unblock(void)
{
	(void)sigprocmask(SIG_SETMASK, &mask_before_fork, NULL);
}

int proc_signal(pid_t pid, int sig)
{
	if (pid <= 0)
		return -EINVAL;   /* 0 is our own group, -1 every process we may signal */
	return kill(pid, sig) < 0 ? -errno : 0;
}

int proc_signal_group(pid_t leader, int sig)
{
	if (leader <= 1 || leader == getpgrp())
		return -EINVAL;
	return killpg(leader, sig) < 0 ? -errno : 0;
}

/* Reap what has exited of pids (waiting for each when block is set);
 * how many are left. */
static size_t reap(pid_t *pids, size_t n, int block)
{
	size_t i, left = 0;
	pid_t got;

	for (i = 0; i < n; i++) {
		if (pids[i] <= 0) {
			pids[i] = 0;   /* never started, or reaped already */
			continue;
		}
		do
			got = waitpid(pids[i], NULL, block ? 0 : WNOHANG);
		while (got < 0 && errno == EINTR);
		if (got == pids[i] || (got < 0 && errno == ECHILD))
			pids[i] = 0;
		else
			left++;
	}
	return left;
}

void proc_stop(pid_t *pids, size_t n)
{
	uint64_t until = now_ns() + PROC_STOP_GRACE_NS;
	size_t i;

	for (i = 0; i < n; i++)
		(void)proc_signal(pids[i], SIGTERM);
	while (reap(pids, n, 0) && now_ns() < until)
		sleep_ns(5000000);
	for (i = 0; i < n; i++)
		(void)proc_signal(pids[i], SIGKILL);
	(void)reap(pids, n, 1);
}

/* "NAME is N" for a resource limit, "unlimited" spelled out. */
static void describe_limit(char *buf, size_t len, const char *what, const char *name,
			   int resource)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		(void)snprintf(buf, len, "%s (%s is unlimited: a limit of the system)", what, name);
	else
		(void)snprintf(buf, len, "%s (%s is %llu)", what, name,
			       (unsigned long long)rl.rlim_cur);
}

const char *proc_start_error(int err, char *buf, size_t len)
{
	if (err == EMFILE)
		describe_limit(buf, len, "too many open files", "ulimit -n", RLIMIT_NOFILE);
	else if (err == EAGAIN)
		describe_limit(buf, len, "process limit reached", "ulimit -u", RLIMIT_NPROC);
	else if (err == ENFILE)
		(void)snprintf(buf, len, "too many open files in the system (fs.file-max)");
	else
		(void)snprintf(buf, len, "%s", strerror(err));
	return buf;
}
