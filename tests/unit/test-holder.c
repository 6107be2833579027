/*
 * Unit tests for the lock holder's handed-over files (inject/faults/holder.c
 * and lockstate.c), with a real holder process in a mkdtemp folder: one run
 * per socket; a file handed over stays held after the sender closes it and
 * is let go after its hold; a pending delete of a file renamed while held
 * completes under its new name; with no holder, handing over fails and
 * nothing stays held.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "unit-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "holder.h"
#include "lockstate.h"
#include "proc.h"

/* Long enough to look twice while held, short enough for a unit test. */
#define HOLD_NS 300000000ull
/* The most we wait for a release that is due: a bound, never a speed claim. */
#define RELEASE_BOUND_NS 10000000000ull

struct fixture {
	char dir[64];
	char *state;
	char *file;
	pid_t holder;
};

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));

	if (unit_scratch_dir(fx->dir, sizeof(fx->dir), "/tmp/pycstorm-test-holder-XXXXXX") < 0)
		return -1;
	fx->state = xasprintf("%s/.state", fx->dir);
	fx->file = xasprintf("%s/mod.cpython-311.pyc.123", fx->dir);
	if (mkdir(fx->state, 0755) < 0 || write_file_atomic(fx->file, "pyc", 3) < 0)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	int rc;

	if (fx->holder > 0)
		proc_stop(&fx->holder, 1);
	rc = remove_tree(fx->dir);
	free(fx->state);
	free(fx->file);
	free(fx);
	return rc;
}

/* A holder that picks no files of its own and takes the handed-over ones. */
static void start_holder(struct fixture *fx)
{
	struct holder_plan hp = { .dir = NULL, .state_dir = fx->state, .seed = 1,
				  .hold_lo_ns = HOLD_NS, .hold_hi_ns = HOLD_NS };

	hp.grab_fd = holder_grab_socket(fx->state);
	assert_true(hp.grab_fd >= 0);
	fx->holder = proc_fork();
	assert_true(fx->holder >= 0);
	if (fx->holder == 0)
		holder_run(&hp);
	(void)close(hp.grab_fd);
}

/* As the inject library does at close: lock a second description, send it. */
static int hand_over(const char *path, const char *state_dir)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc;

	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
	rc = lockstate_hand_over(fd, path, state_dir);
	(void)close(fd);
	return rc;
}

/* Does another open file description hold path? -1 when it cannot be opened. */
static int held(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), h;

	if (fd < 0)
		return -1;
	h = lockstate_fd_held(fd);
	(void)close(fd);
	return h;
}

/* Wait, within the bound, until path is no longer held (or gone). */
static int let_go(const char *path)
{
	uint64_t until = now_ns() + RELEASE_BOUND_NS;

	while (held(path) == 1 && now_ns() < until)
		sleep_ns(10000000);
	return held(path) != 1;
}

static void one_socket_per_run(void **state)
{
	struct fixture *fx = *state;
	int a = holder_grab_socket(fx->state), b;

	assert_true(a >= 0);
	b = holder_grab_socket(fx->state);
	assert_int_equal(b, -1);
	assert_int_equal(errno, EADDRINUSE);
	(void)close(a);
	/* closed, the next run of the same folder binds it again */
	b = holder_grab_socket(fx->state);
	assert_true(b >= 0);
	(void)close(b);
}

static void handed_over_file_is_held_then_let_go(void **state)
{
	struct fixture *fx = *state;

	start_holder(fx);
	assert_int_equal(held(fx->file), 0);
	assert_int_equal(hand_over(fx->file, fx->state), 0);
	/* our descriptor is closed: the lock is the holder's now */
	assert_int_equal(held(fx->file), 1);
	assert_true(let_go(fx->file));
	assert_int_equal(held(fx->file), 0);
}

static void pending_delete_completes_under_the_new_name(void **state)
{
	struct fixture *fx = *state;
	char *final = xasprintf("%s/mod.cpython-311.pyc", fx->dir), marker[4200];
	struct stat st;
	int fd;

	start_holder(fx);
	assert_int_equal(hand_over(fx->file, fx->state), 0);
	/* the program renames its new file, then someone deletes it while held
	 * (share=delete): the name stays, marked delete-pending */
	assert_int_equal(rename(fx->file, final), 0);
	assert_int_equal(held(final), 1);
	lockstate_marker(marker, sizeof(marker), fx->state, final);
	fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	(void)close(fd);
	assert_true(let_go(final));
	assert_int_equal(lstat(final, &st), -1);
	assert_int_equal(lstat(marker, &st), -1);
	free(final);
}

static void no_holder_no_lock(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(hand_over(fx->file, fx->state), -1);
	assert_int_equal(held(fx->file), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(one_socket_per_run, setup, teardown),
		cmocka_unit_test_setup_teardown(handed_over_file_is_held_then_let_go, setup, teardown),
		cmocka_unit_test_setup_teardown(pending_delete_completes_under_the_new_name, setup,
						teardown),
		cmocka_unit_test_setup_teardown(no_holder_no_lock, setup, teardown),
	};

	return cmocka_run_group_tests_name("holder", tests, NULL, NULL);
}
