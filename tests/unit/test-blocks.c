/*
 * Unit tests for results/model/blocks.c: a run's reads cut into blocks at
 * each worker's batch lines, failed cycles (their own lines) counted into
 * the block they fell in, other strategies and compile cycles left out,
 * and a line that is not an event refused with its file named.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blocks.h"

static char *write_events(const char *text)
{
	char *path = strdup("/tmp/pycstorm-test-blocks-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
	return path;
}

static const char two_workers[] =
	"{\"t\": 0.9, \"type\": \"start\", \"worker\": 1, \"strategy\": \"native\", \"seed\": 1}\n"
	"{\"t\": 1.0, \"type\": \"batch\", \"worker\": 0, \"strategy\": \"native\", \"seed\": 2, "
	"\"counts\": {\"compile/ok\": 46}}\n"
	"{\"t\": 1.1, \"type\": \"cycle\", \"worker\": 1, \"strategy\": \"native\", \"seed\": 1, "
	"\"cycle\": 5, \"op\": \"import\", \"outcome\": \"eof\", \"latency_ns\": 9, \"error\": \"x\"}\n"
	"{\"t\": 1.2, \"type\": \"cycle\", \"worker\": 3, \"strategy\": \"py33-atomic\", \"seed\": 3, "
	"\"cycle\": 5, \"op\": \"import\", \"outcome\": \"eof\", \"latency_ns\": 9, \"error\": \"x\"}\n"
	"{\"t\": 1.3, \"type\": \"batch\", \"worker\": 1, \"strategy\": \"native\", \"seed\": 1, "
	"\"counts\": {\"import/ok\": 78, \"import/missing\": 3, \"write/ok\": 3}}\n"
	"{\"t\": 1.4, \"type\": \"cycle\", \"worker\": 1, \"strategy\": \"native\", \"seed\": 1, "
	"\"cycle\": 90, \"op\": \"import\", \"outcome\": \"bad_marshal\", \"latency_ns\": 9, \"error\": \"x\"}\n"
	"{\"t\": 1.5, \"type\": \"cycle\", \"worker\": 1, \"strategy\": \"native\", \"seed\": 1, "
	"\"cycle\": 91, \"op\": \"import\", \"outcome\": \"permission_error\", \"latency_ns\": 9, \"error\": \"x\"}\n"
	"{\"t\": 2.3, \"type\": \"batch\", \"worker\": 1, \"strategy\": \"native\", \"seed\": 1, "
	"\"counts\": {\"import/ok\": 100}}\n"
	"{\"t\": 2.4, \"type\": \"cycle\", \"worker\": 1, \"strategy\": \"native\", \"seed\": 1, "
	"\"cycle\": 200, \"op\": \"import\", \"outcome\": \"eof\", \"latency_ns\": 9, \"error\": \"x\"}\n"
	"{\"t\": 2.5, \"type\": \"exit\", \"worker\": 1, \"strategy\": \"native\", \"seed\": 1, "
	"\"outcome\": \"worker_crash\"}\n";

static void blocks_follow_batch_lines(void **state)
{
	char *path = write_events(two_workers), err[256] = "";
	struct read_blocks b;

	(void)state;
	assert_int_equal(read_blocks_load(path, "native", &b, err, sizeof(err)), 0);
	/* worker 0 only compiles: no block; worker 1: two batches and a tail */
	assert_int_equal(b.n, 3);
	assert_int_equal(b.corrupt[0], 1);
	assert_int_equal(b.reads[0], 1 + 78 + 3);
	assert_int_equal(b.corrupt[1], 1);
	assert_int_equal(b.reads[1], 2 + 100);
	assert_int_equal(b.corrupt[2], 1);
	assert_int_equal(b.reads[2], 1);
	read_blocks_free(&b);

	assert_int_equal(read_blocks_load(path, "py33-atomic", &b, err, sizeof(err)), 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.corrupt[0], 1);
	read_blocks_free(&b);

	assert_int_equal(read_blocks_load(path, "fsync-atomic", &b, err, sizeof(err)), 0);
	assert_int_equal(b.n, 0);
	read_blocks_free(&b);
	(void)unlink(path);
	free(path);
}

static void blocks_refuse_what_is_not_an_event(void **state)
{
	char *path = write_events("{\"type\": \"batch\", \"worker\": 0}\nnot json\n"), err[256] = "";
	struct read_blocks b;

	(void)state;
	assert_int_equal(read_blocks_load(path, "native", &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_int_equal(b.n, 0);
	(void)unlink(path);
	strcpy(err, "");
	assert_int_equal(read_blocks_load(path, "native", &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot read"));
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(blocks_follow_batch_lines),
		cmocka_unit_test(blocks_refuse_what_is_not_an_event),
	};

	return cmocka_run_group_tests_name("blocks", tests, NULL, NULL);
}
