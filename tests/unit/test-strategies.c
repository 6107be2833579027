/*
 * Unit tests for the write strategies (runners/strategies/):
 * without faults every strategy but "native" puts the exact image in place
 * and leaves no temporary file, also when it replaces an earlier file; a
 * missing folder is raised or swallowed with ENOENT; "native" without an
 * interpreter raises ENOSYS; a rename onto a folder fails without leaving a
 * temporary file; under a file-size limit (a real short write, then EFBIG)
 * each protocol fails in its own documented way; the registry is well
 * formed; strategy_oserror formats Python's OSError text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "pyc.h"
#include "strategy.h"

#define IMAGE_LEN 40000
#define PYC_NAME "m.cpython-311.pyc"

struct fixture {
	char dir[64];          /* the mkdtemp folder */
	char cache[128];       /* DIR/__pycache__ */
	char path[192];        /* DIR/__pycache__/m.cpython-311.pyc */
};

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));

	(void)snprintf(fx->dir, sizeof(fx->dir), "/tmp/pycstorm-test-strategies-XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	(void)snprintf(fx->cache, sizeof(fx->cache), "%s/__pycache__", fx->dir);
	(void)snprintf(fx->path, sizeof(fx->path), "%s/" PYC_NAME, fx->cache);
	if (mkdir(fx->cache, 0755) < 0) {
		(void)remove_tree(fx->dir);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	int rc = remove_tree(fx->dir);

	free(fx);
	return rc == 0 ? 0 : -1;
}

/* A valid 3.11 header for a source, then a pseudo-random body. */
static uint8_t *make_image(uint64_t seed, uint32_t mtime)
{
	struct pyc_source src = { .mtime = mtime, .size = 4321 };
	uint8_t *img = xmalloc(IMAGE_LEN);
	struct rng r;
	size_t i;

	pyc_build_header(img, 3495u | 0x0a0d0000u, PYC_TIMESTAMP, &src);
	rng_init(&r, seed);
	for (i = PYC_HEADER_SIZE; i < IMAGE_LEN; i++)
		img[i] = (uint8_t)rng_next(&r);
	return img;
}

static void init_req(struct write_req *req, const char *path,
		     const uint8_t *data, struct rng *r)
{
	memset(req, 0, sizeof(*req));
	req->path = path;
	req->data = data;
	req->len = IMAGE_LEN;
	req->mode = 0644;
	req->tmp_id = 1234;
	req->rng = r;
	req->retry_budget_ns = 100000000ull;
}

/* The folder holds exactly one entry, named only. */
static void assert_only_entry(const char *dir, const char *only,
			      const char *strategy)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (strcmp(e->d_name, only) != 0) {
			closedir(d);
			fail_msg("%s: unexpected file '%s' left in %s", strategy,
				 e->d_name, dir);
		}
		n++;
	}
	closedir(d);
	if (n != 1)
		fail_msg("%s: %zu entries in %s, expected only %s", strategy, n,
			 dir, only);
}

static void assert_file_is(const char *path, const uint8_t *img,
			   const char *strategy)
{
	char *data = NULL;
	size_t len = 0, i;

	assert_int_equal(read_file(path, &data, &len), 0);
	if (len != IMAGE_LEN) {
		free(data);
		fail_msg("%s: file has %zu bytes, expected %d", strategy, len, IMAGE_LEN);
	}
	for (i = 0; i < len; i++) {
		if ((uint8_t)data[i] != img[i]) {
			free(data);
			fail_msg("%s: byte %zu differs", strategy, i);
		}
	}
	free(data);
}

/* native needs an interpreter; package workloads merge instead of writing. */
static int is_native(const struct strategy_info *s)
{
	return strcmp(s->name, "native") == 0 || s->workload != NULL;
}

/* Write once with strategy s and check the result; the file is removed. */
static void write_and_check(const struct fixture *fx,
			    const struct strategy_info *s, uint64_t seed)
{
	uint8_t *img = make_image(seed, 1700000000u);
	struct write_req req;
	struct rng r;
	enum write_status st;

	rng_init(&r, seed);
	init_req(&req, fx->path, img, &r);
	st = s->write(&req);
	if (st != WRITE_DONE)
		fail_msg("%s: status %d, err %d: %s", s->name, (int)st, req.err, req.error);
	assert_int_equal(req.err, 0);
	assert_file_is(fx->path, img, s->name);
	assert_only_entry(fx->cache, PYC_NAME, s->name);
	free(img);
}

static void every_strategy_writes_image(void **state)
{
	const struct fixture *fx = *state;
	size_t i, tested = 0;

	for (i = 0; i < strategy_count; i++) {
		if (is_native(strategy_table[i]))
			continue;
		write_and_check(fx, strategy_table[i], 1000 + i);
		assert_int_equal(unlink(fx->path), 0);
		tested++;
	}
	/* every strategy but the ones that need an interpreter or merge packages */
	assert_int_equal(tested, strategy_count - 3);
	assert_true(tested >= 9);
}

/* A second write replaces the first, for every strategy. */
static void every_strategy_replaces(void **state)
{
	const struct fixture *fx = *state;
	const struct strategy_info *s;
	uint8_t *first, *second;
	struct write_req req;
	struct rng r;
	size_t i;

	for (i = 0; i < strategy_count; i++) {
		s = strategy_table[i];
		if (is_native(s))
			continue;
		first = make_image(1, 1700000000u);
		second = make_image(2, 1700086400u);
		rng_init(&r, i);

		init_req(&req, fx->path, first, &r);
		if (s->write(&req) != WRITE_DONE)
			fail_msg("%s: first write: %s", s->name, req.error);
		assert_file_is(fx->path, first, s->name);

		init_req(&req, fx->path, second, &r);
		if (s->write(&req) != WRITE_DONE)
			fail_msg("%s: second write: %s", s->name, req.error);
		assert_int_equal(req.err, 0);
		assert_file_is(fx->path, second, s->name);
		assert_only_entry(fx->cache, PYC_NAME, s->name);

		assert_int_equal(unlink(fx->path), 0);
		free(first);
		free(second);
	}
}

/* Writing into a folder that does not exist: ENOENT, raised or swallowed. */
static void missing_folder(void **state)
{
	const struct fixture *fx = *state;
	const struct strategy_info *s;
	uint8_t *img = make_image(3, 1700000000u);
	char path[256];
	struct write_req req;
	struct rng r;
	enum write_status st, want;
	size_t i;

	(void)snprintf(path, sizeof(path), "%s/missing/__pycache__/" PYC_NAME, fx->dir);
	for (i = 0; i < strategy_count; i++) {
		s = strategy_table[i];
		if (is_native(s))
			continue;
		want = !strcmp(s->name, "py27-import") || !strcmp(s->name, "skip-on-error")
		       ? WRITE_SWALLOWED : WRITE_RAISED;
		rng_init(&r, i);
		init_req(&req, path, img, &r);
		st = s->write(&req);
		if (st != want)
			fail_msg("%s: status %d, expected %d (%s)", s->name,
				 (int)st, (int)want, req.error);
		if (req.err != ENOENT)
			fail_msg("%s: err %d, expected ENOENT", s->name, req.err);
		if (strncmp(req.error, "FileNotFoundError: [Errno 2] ", 29) != 0)
			fail_msg("%s: error text '%s'", s->name, req.error);
		assert_non_null(strstr(req.error, "/missing/__pycache__/" PYC_NAME));
	}
	/* Nothing was created anywhere. */
	assert_only_entry(fx->dir, "__pycache__", "missing_folder");
	free(img);
}

/*
 * The cache path is a non-empty folder, so the final step fails (rename:
 * EISDIR; py27-pycompile's open: EISDIR; py27-import's O_EXCL: EEXIST).
 * Whatever the failure, no temporary file may be left behind.
 */
static void destination_is_a_folder(void **state)
{
	const struct fixture *fx = *state;
	const struct strategy_info *s;
	uint8_t *img = make_image(5, 1700000000u);
	char inner[256];
	struct write_req req;
	struct rng r;
	enum write_status st, want;
	int want_err;
	size_t i;

	assert_int_equal(mkdir(fx->path, 0755), 0);
	(void)snprintf(inner, sizeof(inner), "%s/keep", fx->path);
	assert_int_equal(write_file_atomic(inner, "k", 1), 0);
	for (i = 0; i < strategy_count; i++) {
		s = strategy_table[i];
		if (is_native(s))
			continue;
		want = WRITE_RAISED;
		want_err = EISDIR;
		if (!strcmp(s->name, "py27-import")) {
			want = WRITE_SWALLOWED;
			want_err = EEXIST;
		} else if (!strcmp(s->name, "skip-on-error")) {
			want = WRITE_SWALLOWED;
		}
		rng_init(&r, i);
		init_req(&req, fx->path, img, &r);
		st = s->write(&req);
		if (st != want || req.err != want_err)
			fail_msg("%s: status %d err %d, expected %d err %d (%s)", s->name,
				 (int)st, req.err, (int)want, want_err, req.error);
		assert_only_entry(fx->cache, PYC_NAME, s->name);
		assert_only_entry(fx->path, "keep", s->name);
	}
	free(img);
}

/* What each protocol does when write() comes up short and then fails. */
struct short_expect {
	const char *name;
	enum write_status status;
	int err;
	long size;            /* the cache file afterwards; -1: gone */
	int old_kept;         /* the previous image is still there, intact */
};

static const struct short_expect short_expect[] = {
	/* unlinks first, then fails mid-body and unlinks again, silently */
	{ "py27-import", WRITE_SWALLOWED, EFBIG, -1, 0 },
	/* truncated in place: the zero magic and a partial body stay */
	{ "py27-pycompile", WRITE_RAISED, EFBIG, 20000, 0 },
	/* gh-126606: the short count is ignored, the truncated file renamed in */
	{ "py33-atomic", WRITE_DONE, 0, 20000, 0 },
	{ "checked-atomic", WRITE_RAISED, EIO, IMAGE_LEN, 1 },
	{ "loop-atomic", WRITE_RAISED, EFBIG, IMAGE_LEN, 1 },
	{ "fsync-atomic", WRITE_RAISED, EFBIG, IMAGE_LEN, 1 },
	{ "replace-retry", WRITE_RAISED, EFBIG, IMAGE_LEN, 1 },
	{ "skip-on-error", WRITE_SWALLOWED, EFBIG, IMAGE_LEN, 1 },
	/* the temporary sibling fails before the destination is unlinked */
	{ "unlink-rename", WRITE_RAISED, EFBIG, IMAGE_LEN, 1 },
};

static void short_write_protocols(void **state)
{
	const struct fixture *fx = *state;
	const struct strategy_info *s;
	const struct short_expect *x;
	uint8_t *old = make_image(6, 1700000000u), *img = make_image(7, 1700086400u);
	struct rlimit saved, limit;
	struct write_req req;
	struct rng r;
	enum write_status st;
	struct stat sb;
	char *data = NULL;
	size_t i, j, len;
	void (*prev)(int);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	limit = saved;
	limit.rlim_cur = 20000;
	prev = signal(SIGXFSZ, SIG_IGN);
	for (i = 0; i < strategy_count; i++) {
		s = strategy_table[i];
		if (is_native(s))
			continue;
		x = NULL;
		for (j = 0; j < sizeof(short_expect) / sizeof(short_expect[0]); j++)
			if (!strcmp(short_expect[j].name, s->name))
				x = &short_expect[j];
		if (!x)
			fail_msg("%s: no short-write expectation; add one", s->name);

		rng_init(&r, i);
		init_req(&req, fx->path, old, &r);
		assert_int_equal(s->write(&req), WRITE_DONE);

		init_req(&req, fx->path, img, &r);
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
		st = s->write(&req);
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
		if (st != x->status || req.err != x->err)
			fail_msg("%s: status %d err %d, expected %d err %d (%s)", s->name,
				 (int)st, req.err, (int)x->status, x->err, req.error);
		if (x->err == EIO) {
			assert_non_null(strstr(req.error, "OSError: short write to "));
			assert_non_null(strstr(req.error, ": 20000 of 40000 bytes"));
		}

		if (x->size < 0) {
			assert_int_equal(lstat(fx->path, &sb), -1);
			assert_only_entry(fx->dir, "__pycache__", s->name);
			continue;
		}
		assert_only_entry(fx->cache, PYC_NAME, s->name);
		if (x->old_kept) {
			assert_file_is(fx->path, old, s->name);
		} else {
			assert_int_equal(read_file(fx->path, &data, &len), 0);
			if ((long)len != x->size)
				fail_msg("%s: %zu bytes, expected %ld", s->name, len, x->size);
			/* the new image's prefix, except a zero magic if unpatched */
			if (!strcmp(s->name, "py27-pycompile")) {
				assert_int_equal(pyc_le32((uint8_t *)data), 0);
				assert_memory_equal(data + 4, img + 4, len - 4);
			} else {
				assert_memory_equal(data, img, len);
			}
			free(data);
		}
		assert_int_equal(unlink(fx->path), 0);
	}
	(void)signal(SIGXFSZ, prev);
	free(old);
	free(img);
}

static void native_without_interpreter(void **state)
{
	const struct strategy_info *s = strategy_find("native");
	const struct fixture *fx = *state;
	uint8_t *img = make_image(4, 1700000000u);
	struct write_req req;
	struct rng r;

	assert_non_null(s);
	assert_ptr_equal(s, &strategy_native);
	assert_null(strategy_native_impl);
	rng_init(&r, 4);
	init_req(&req, fx->path, img, &r);
	assert_int_equal(s->write(&req), WRITE_RAISED);
	assert_int_equal(req.err, ENOSYS);
	assert_true(req.error[0] != '\0');
	assert_int_equal(access(fx->path, F_OK), -1);
	free(img);
}

static enum write_status fake_native(struct write_req *req)
{
	req->err = 0;
	return WRITE_SWALLOWED;
}

/* With an implementation installed, native hands the request over. */
static void native_delegates(void **state)
{
	struct write_req req;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.err = -1;
	strategy_native_impl = fake_native;
	assert_int_equal(strategy_native.write(&req), WRITE_SWALLOWED);
	strategy_native_impl = NULL;
	assert_int_equal(req.err, 0);
}

static void registry(void **state)
{
	size_t i, j;

	(void)state;
	assert_null(strategy_find("nope"));
	assert_null(strategy_find(""));
	assert_null(strategy_find("NATIVE"));
	for (i = 0; i < strategy_count; i++) {
		const struct strategy_info *s = strategy_table[i];

		assert_non_null(s);
		assert_non_null(s->name);
		assert_non_null(s->summary);
		assert_non_null(s->source);
		if (!s->workload)
			assert_non_null(s->write);
		else
			assert_null(s->write);
		assert_true(s->name[0] && s->summary[0] && s->source[0]);
		assert_ptr_equal(strategy_find(s->name), s);
		for (j = i + 1; j < strategy_count; j++)
			if (!strcmp(s->name, strategy_table[j]->name))
				fail_msg("strategy name '%s' appears twice", s->name);
	}
	assert_ptr_equal(strategy_find("py33-atomic"), &strategy_py33_atomic);
	assert_ptr_equal(strategy_find("native"), &strategy_native);
}

static void oserror_text(void **state)
{
	struct write_req req;

	(void)state;
	memset(&req, 0, sizeof(req));
	strategy_oserror(&req, EACCES, "a", "b");
	assert_int_equal(req.err, EACCES);
	assert_string_equal(req.error, "PermissionError: [Errno 13] Permission denied: 'a' -> 'b'");

	strategy_oserror(&req, ENOENT, "a", NULL);
	assert_int_equal(req.err, ENOENT);
	assert_string_equal(req.error, "FileNotFoundError: [Errno 2] No such file or directory: 'a'");

	strategy_oserror(&req, EPERM, "x", NULL);
	assert_string_equal(req.error, "PermissionError: [Errno 1] Operation not permitted: 'x'");
	strategy_oserror(&req, EEXIST, "x", NULL);
	assert_string_equal(req.error, "FileExistsError: [Errno 17] File exists: 'x'");
	strategy_oserror(&req, ENOSPC, "x", NULL);
	assert_string_equal(req.error, "OSError: [Errno 28] No space left on device: 'x'");
}

static void tmp_name(void **state)
{
	char buf[64];

	(void)state;
	strategy_tmp_name(buf, sizeof(buf), "/c/m.pyc", 140234567890ull);
	assert_string_equal(buf, "/c/m.pyc.140234567890");
	strategy_tmp_name(buf, 8, "/c/m.pyc", 1);
	assert_string_equal(buf, "/c/m.py");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_strategy_writes_image, setup, teardown),
		cmocka_unit_test_setup_teardown(every_strategy_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(destination_is_a_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(short_write_protocols, setup, teardown),
		cmocka_unit_test_setup_teardown(native_without_interpreter, setup, teardown),
		cmocka_unit_test(native_delegates),
		cmocka_unit_test(registry),
		cmocka_unit_test(oserror_text),
		cmocka_unit_test(tmp_name),
	};

	return cmocka_run_group_tests_name("strategies", tests, NULL, NULL);
}
