/*
 * Unit tests for runners/base/proc.c: signals go only to processes of ours, a
 * child of proc_fork starts with SIGINT/SIGTERM blocked and our handlers
 * gone and dies with its parent, proc_stop reaps even a child that ignores
 * SIGTERM, the caps refuse what is past them, and a start error names the
 * limit that was hit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

static void on_signal(int sig)
{
	(void)sig;
}

/* ---- signals ------------------------------------------------------------ */

static void signal_refuses_what_is_not_ours(void **state)
{
	(void)state;
	/* Signal 0 checks without sending: were it not refused, each of these
	 * would succeed (our own group, every process we may signal). */
	assert_int_equal(proc_signal(0, 0), -EINVAL);
	assert_int_equal(proc_signal(-1, 0), -EINVAL);
	assert_int_equal(proc_signal(-getpgrp(), 0), -EINVAL);
	assert_int_equal(proc_signal_group(0, 0), -EINVAL);
	assert_int_equal(proc_signal_group(1, 0), -EINVAL);
	assert_int_equal(proc_signal_group(getpgrp(), 0), -EINVAL);
	assert_int_equal(proc_signal(getpid(), 0), 0);
}

/* ---- proc_fork ------------------------------------------------------------- */

/* The child reports what it started with in its exit status: bit 0 SIGTERM
 * blocked, bit 1 SIGINT blocked, bit 2 our SIGTERM handler gone. */
static void child_starts_blocked_and_unhandled(void **state)
{
	struct sigaction sa = { .sa_handler = on_signal }, old, now;
	sigset_t mask;
	int status, bits;
	pid_t pid;

	(void)state;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGTERM, &sa, &old), 0);
	pid = proc_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, NULL, &mask);
		sigaction(SIGTERM, NULL, &now);
		bits = sigismember(&mask, SIGTERM) | sigismember(&mask, SIGINT) << 1 |
		       (now.sa_handler == SIG_DFL) << 2;
		_exit(bits);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
	/* and the parent's own mask is as it was */
	sigprocmask(SIG_SETMASK, NULL, &mask);
	assert_false(sigismember(&mask, SIGTERM));
	sigaction(SIGTERM, &old, NULL);
}

/* A middle process starts a grandchild with proc_fork and dies; as its
 * subreaper we see the grandchild end, not left running. */
static void child_dies_with_parent(void **state)
{
	int fds[2], status;
	pid_t middle, grandchild = 0;

	(void)state;
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	assert_int_equal(pipe(fds), 0);
	middle = fork();
	assert_true(middle >= 0);
	if (middle == 0) {
		pid_t g = proc_fork();
		if (g == 0) {
			proc_unblock();
			for (;;)
				pause();
		}
		(void)write(fds[1], &g, sizeof(g));
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &grandchild, sizeof(grandchild)), sizeof(grandchild));
	close(fds[0]);
	assert_true(grandchild > 0);
	assert_int_equal(waitpid(middle, &status, 0), middle);
	assert_int_equal(waitpid(grandchild, &status, 0), grandchild);
	/* killed by the death signal, or (when the middle was already gone
	 * before the signal was set) gone by itself as that signal would */
	assert_true((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
		    (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL));
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

/* ---- proc_stop ---------------------------------------------------------------- */

static void stop_reaps_even_who_ignores_sigterm(void **state)
{
	pid_t pids[3] = { 0, 0, -1 };
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		pids[i] = proc_fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			if (i == 0)
				signal(SIGTERM, SIG_IGN);
			proc_unblock();
			for (;;)
				pause();
		}
	}
	proc_stop(pids, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(pids[i], 0);
	/* both were reaped: no child of ours is left */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* ---- caps and errors ------------------------------------------------------------ */

static void caps_refuse_what_is_past_them(void **state)
{
	unsigned cap = proc_cap();
	struct proc_budget b = { .per_group_what = "workers per strategy", .groups = 1 };
	char err[256];

	(void)state;
	assert_true(cap >= PROC_CAP_FLOOR && cap <= PROC_CAP_CEILING);
	b.per_group = cap;
	assert_int_equal(proc_check_caps(&b, err, sizeof(err)), 0);
	b.per_group = cap + 1;
	assert_int_equal(proc_check_caps(&b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "workers per strategy is over the cap of"));
	b.per_group = 1;
	b.holders = PROC_HOLDERS_MAX + 1;
	assert_int_equal(proc_check_caps(&b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "held-lock:holders="));
	b.holders = 1;
	b.groups = 2;
	b.per_group = cap / 2;
	assert_int_equal(proc_check_caps(&b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "processes at once"));
	b.holders = 0;
	assert_int_equal(proc_check_caps(&b, err, sizeof(err)), 0);
}

static void start_error_names_the_limit(void **state)
{
	struct rlimit rl;
	char buf[256], want[64];

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	snprintf(want, sizeof(want), "(ulimit -n is %llu)", (unsigned long long)rl.rlim_cur);
	assert_non_null(strstr(proc_start_error(EMFILE, buf, sizeof(buf)), want));
	assert_non_null(strstr(proc_start_error(EAGAIN, buf, sizeof(buf)), "ulimit -u"));
	assert_string_equal(proc_start_error(ENOENT, buf, sizeof(buf)), strerror(ENOENT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(signal_refuses_what_is_not_ours),
		cmocka_unit_test(child_starts_blocked_and_unhandled),
		cmocka_unit_test(child_dies_with_parent),
		cmocka_unit_test(stop_reaps_even_who_ignores_sigterm),
		cmocka_unit_test(caps_refuse_what_is_past_them),
		cmocka_unit_test(start_error_names_the_limit),
	};

	return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
