/*
 * Unit tests for inject/preload/written.c, runners/cli/exec/exec-intact.c
 * and exec-precheck.c: the digest matches Python's binascii.crc32 over the
 * even and the odd bytes (the values below were computed with it),
 * however a stream is split into writes; a closed plain stream leaves one
 * record; the intact check says yes only for a fresh timestamp .pyc of the
 * writer's tag and magic whose bytes are one recorded stream, and no for
 * each thing that should send the file to the judge instead; and a
 * verdict found while a round runs is given back only for the very file
 * it was found on, with the same source.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "exec-intact.h"
#include "exec-precheck.h"
#include "fsinfo.h"
#include "pyc.h"
#include "unit-helpers.h"
#include "written.h"

#define TAG "cpython-311"
#define MAGIC 0x0a0d0da7u   /* 3.11's 3495 */

/* The test buffer: a 64-bit LCG's top bytes, as the Python check made it. */
static void lcg_bytes(unsigned char *buf, size_t n)
{
	uint64_t x = 1;
	size_t i;

	for (i = 0; i < n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		buf[i] = (unsigned char)(x >> 56);
	}
}

static void test_digest_known_values(void **state)
{
	unsigned char buf[1001];
	uint32_t crc[2];

	(void)state;
	written_digest("123456789", 9, crc);
	assert_int_equal(crc[0], 0x555f3e23u);   /* binascii.crc32(b"13579") */
	assert_int_equal(crc[1], 0xf91a8b91u);   /* binascii.crc32(b"2468") */
	lcg_bytes(buf, sizeof(buf));
	written_digest(buf, sizeof(buf), crc);
	assert_int_equal(crc[0], 0x960a888du);
	assert_int_equal(crc[1], 0x74737cb9u);
}

/* Writes of every size from 1 to 13, so each starts at either parity. */
static void test_stream_split_anyhow(void **state)
{
	unsigned char buf[1001];
	struct written_stream w;
	size_t at = 0, step = 1;
	uint32_t whole[2];

	(void)state;
	lcg_bytes(buf, sizeof(buf));
	written_digest(buf, sizeof(buf), whole);
	written_open(&w, O_WRONLY | O_CREAT | O_TRUNC);
	for (; at < sizeof(buf); at += step, step = step % 13 + 1)
		written_add(&w, buf + at, at + step > sizeof(buf) ? sizeof(buf) - at : step);
	assert_int_equal(w.length, sizeof(buf));
	assert_int_equal(~w.crc[0], whole[0]);
	assert_int_equal(~w.crc[1], whole[1]);
}

struct fixture {
	char dir[256], state[300], source[300], pyc[340];
	unsigned char image[64];
};

static void write_bytes(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* pkg/mod.py, and pkg/__pycache__/mod.cpython-311.pyc fresh for it,
 * written the way importlib does: to a temporary name, then renamed,
 * through a recorded stream. */
static void make_fixture(struct fixture *fx, int record)
{
	char tmp[360], folder[300];
	struct pyc_source src = { 0 };
	struct written_stream w;
	struct stat st;

	assert_int_equal(unit_scratch_dir(fx->dir, sizeof(fx->dir), "/tmp/pycstorm-written-XXXXXX"), 0);
	(void)snprintf(fx->state, sizeof(fx->state), "%s/state", fx->dir);
	(void)snprintf(folder, sizeof(folder), "%s/pkg/__pycache__", fx->dir);
	assert_int_equal(mkdir_p(folder, 0755), 0);
	assert_int_equal(mkdir(fx->state, 0700), 0);
	(void)snprintf(fx->source, sizeof(fx->source), "%s/pkg/mod.py", fx->dir);
	(void)snprintf(fx->pyc, sizeof(fx->pyc), "%s/mod." TAG ".pyc", folder);
	write_bytes(fx->source, "x = 1\n", 6);
	assert_int_equal(stat(fx->source, &st), 0);
	src.mtime = (uint32_t)st.st_mtim.tv_sec;
	src.size = (uint32_t)st.st_size;
	pyc_build_header(fx->image, MAGIC, PYC_TIMESTAMP, &src);
	lcg_bytes(fx->image + PYC_HEADER_SIZE, sizeof(fx->image) - PYC_HEADER_SIZE);
	(void)snprintf(tmp, sizeof(tmp), "%s.140234", fx->pyc);
	write_bytes(tmp, fx->image, sizeof(fx->image));
	written_open(&w, O_WRONLY | O_CREAT | O_EXCL);
	written_add(&w, fx->image, 20);
	written_add(&w, fx->image + 20, sizeof(fx->image) - 20);
	if (record)
		written_close(&w, fx->state, tmp);
	assert_int_equal(rename(tmp, fx->pyc), 0);
}

static void drop_fixture(struct fixture *fx)
{
	char cmd[400];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
}

/* Is the fixture's .pyc intact for a writer of tag and magic? */
static int intact(const struct fixture *fx, const char *tag, uint32_t magic)
{
	const struct exec_writer wr = { magic, tag, "3.11.2" };
	struct exec_streams s;
	struct exec_buffer buf = { 0 };
	struct exec_verdict v = { .outcome = -1 };
	int yes;

	exec_streams_load(fx->state, &s);
	yes = exec_intact_pyc(&s, &wr, fx->pyc, &buf, &v);
	if (yes) {
		assert_int_equal(v.outcome, 0);
		assert_true(v.intact && v.own_image);
		assert_non_null(strstr(v.report, "not read back"));
	} else {
		assert_int_equal(v.outcome, -1);   /* untouched: the judge's */
	}
	free(v.report);
	free(buf.data);
	exec_streams_free(&s);
	return yes;
}

static void test_intact_yes(void **state)
{
	struct fixture fx;

	(void)state;
	make_fixture(&fx, 1);
	assert_true(intact(&fx, TAG, MAGIC));
	drop_fixture(&fx);
}

static void test_intact_no_record(void **state)
{
	struct fixture fx;

	(void)state;
	make_fixture(&fx, 0);
	assert_false(intact(&fx, TAG, MAGIC));
	drop_fixture(&fx);
}

/* One byte of the bytecode changed after the write, the length the same. */
static void change_byte(const struct fixture *fx)
{
	int fd = open(fx->pyc, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\x00", 1, 40), 1);
	assert_int_equal(close(fd), 0);
}

static void test_intact_no_changed_byte(void **state)
{
	struct fixture fx;

	(void)state;
	make_fixture(&fx, 1);
	change_byte(&fx);
	assert_false(intact(&fx, TAG, MAGIC));
	drop_fixture(&fx);
}

static void test_intact_no_other_writer(void **state)
{
	struct fixture fx;

	(void)state;
	make_fixture(&fx, 1);
	assert_false(intact(&fx, "cpython-312", MAGIC));
	assert_false(intact(&fx, TAG, 0x0a0d0dcbu));   /* 3.12's magic */
	drop_fixture(&fx);
}

/* The source edited after the compile: stale, which the judge says. */
static void test_intact_no_stale(void **state)
{
	struct fixture fx;

	(void)state;
	make_fixture(&fx, 1);
	write_bytes(fx.source, "x = 12\n", 7);
	assert_false(intact(&fx, TAG, MAGIC));
	drop_fixture(&fx);
}

/* A record the disk cut short (no newline) is not trusted. */
static void test_intact_no_cut_record(void **state)
{
	struct fixture fx;
	char path[320], *text = NULL;
	size_t len = 0;

	(void)state;
	make_fixture(&fx, 1);
	(void)snprintf(path, sizeof(path), "%s/written-%ld", fx.state, (long)getpid());
	assert_int_equal(read_file(path, &text, &len), 0);
	assert_true(len > 1 && text[len - 1] == '\n');
	write_bytes(path, text, len - 1);
	free(text);
	assert_false(intact(&fx, TAG, MAGIC));
	drop_fixture(&fx);
}

static void pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };

	(void)nanosleep(&ts, NULL);
}

/* The file as a snapshot would list it. */
static void snapshot_entry(const char *path, struct exec_cache_file *f)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	f->path = (char *)path;
	exec_identity_of(&st, &f->id);
}

/* A round's turns: the records read, the settled .pyc checked. The pause
 * lets the file settle (two ticks of the file clock) and the turn's own
 * pacing pass; it waits, it measures nothing. */
static int precheck_then_take(const struct fixture *fx, void (*meanwhile)(const struct fixture *))
{
	const struct exec_writer wr = { MAGIC, TAG, "3.11.2" };
	struct exec_precheck p;
	struct exec_cache_file f;
	struct exec_verdict v = { .outcome = -1 };
	int taken;

	exec_precheck_start(&p, fx->state, &wr);
	pause_ms(50);
	exec_precheck_turn(&p);
	if (meanwhile)
		meanwhile(fx);
	snapshot_entry(fx->pyc, &f);
	taken = exec_precheck_take(&p, &f, &v);
	if (taken)
		assert_true(v.intact && v.outcome == 0);
	else
		assert_int_equal(v.outcome, -1);
	free(v.report);
	exec_precheck_free(&p);
	return taken;
}

static int local_tmp(void)
{
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY), local = fd >= 0 && fs_stamps_locally(fd);

	if (fd >= 0)
		(void)close(fd);
	return local;
}

static void change_source(const struct fixture *fx)
{
	write_bytes(fx->source, "x = 2\n", 6);   /* same size, later mtime */
}

static void test_precheck(void **state)
{
	struct fixture fx;

	(void)state;
	if (!local_tmp())
		skip();   /* /tmp's filesystem is not stamped locally: no early check there */
	make_fixture(&fx, 1);
	assert_true(precheck_then_take(&fx, NULL));
	drop_fixture(&fx);
	/* Changed after the check, its length kept: not given back. */
	make_fixture(&fx, 1);
	assert_false(precheck_then_take(&fx, change_byte));
	drop_fixture(&fx);
	/* Its source rewritten after the check: not given back either. */
	make_fixture(&fx, 1);
	assert_false(precheck_then_take(&fx, change_source));
	drop_fixture(&fx);
	/* No record of the stream: never intact. */
	make_fixture(&fx, 0);
	assert_false(precheck_then_take(&fx, NULL));
	drop_fixture(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_known_values),
		cmocka_unit_test(test_stream_split_anyhow),
		cmocka_unit_test(test_intact_yes),
		cmocka_unit_test(test_intact_no_record),
		cmocka_unit_test(test_intact_no_changed_byte),
		cmocka_unit_test(test_intact_no_other_writer),
		cmocka_unit_test(test_intact_no_stale),
		cmocka_unit_test(test_intact_no_cut_record),
		cmocka_unit_test(test_precheck),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
