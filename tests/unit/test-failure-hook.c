/*
 * Unit tests for the base helpers' failure hook (runners/base/common.h):
 * a program that links die.c dies on a failed allocation, with exit code
 * 99 and one line; with a hook that returns (the inject library's kind)
 * the helpers return NULL or -ENOMEM instead, call the hook once per
 * failure, and never exit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* Under AddressSanitizer a huge malloc returns NULL, as glibc's does. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static unsigned calls;
static int last_code;
static char last_message[512];

static void record(int code, const char *message)
{
	calls++;
	last_code = code;
	(void)snprintf(last_message, sizeof(last_message), "%s", message);
}

static void programs_die_by_default(void **state)
{
	static const char want[] = "pycstorm: out of memory allocating 18446744073709551615 bytes\n";
	int fds[2], status;
	char out[4096] = "";
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		(void)dup2(fds[1], 2);
		(void)xmalloc(SIZE_MAX);
		_exit(0);   /* not reached while die.c's hook is in */
	}
	(void)close(fds[1]);
	while (used < sizeof(out) - 1 && (n = read(fds[0], out + used, sizeof(out) - 1 - used)) > 0)
		used += (size_t)n;
	(void)close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), EXIT_INTERNAL);
	out[used] = '\0';
	/* Our line ends the output; AddressSanitizer warns first about the
	 * allocation it refused, under SANITIZE=address. */
	assert_true(used >= strlen(want));
	assert_string_equal(out + used - strlen(want), want);
}

static void a_returning_hook_gets_null(void **state)
{
	failure_hook old = set_failure_hook(record);
	char *p;

	(void)state;
	assert_non_null(old);   /* die.c's */
	calls = 0;
	assert_null(xmalloc(SIZE_MAX));
	assert_int_equal(calls, 1);
	assert_int_equal(last_code, EXIT_INTERNAL);
	assert_string_equal(last_message, "out of memory allocating 18446744073709551615 bytes");
	assert_null(xcalloc(SIZE_MAX / 2, 4));
	assert_int_equal(calls, 2);
	assert_string_equal(last_message,
			    "out of memory allocating 9223372036854775807 x 4 bytes");
	assert_null(xrealloc(NULL, SIZE_MAX));
	assert_int_equal(calls, 3);
	/* what works still works, and calls nothing */
	p = xstrndup("abcdef", 3);
	assert_string_equal(p, "abc");
	free(p);
	assert_int_equal(calls, 3);
	assert_ptr_equal(set_failure_hook(old), record);
}

static void no_hook_is_a_quiet_failure(void **state)
{
	failure_hook old = set_failure_hook(NULL);

	(void)state;
	calls = 0;
	assert_null(xmalloc(SIZE_MAX));
	base_fail(EXIT_INTERNAL, "nobody listens");
	assert_int_equal(calls, 0);
	assert_null(set_failure_hook(old));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(programs_die_by_default),
		cmocka_unit_test(a_returning_hook_gets_null),
		cmocka_unit_test(no_hook_is_a_quiet_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
