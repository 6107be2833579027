/*
 * Unit tests for runners/base/common.c: duration and number parsing, JSON
 * escaping (including truncation into a small buffer), seed derivation and
 * the generator's determinism, and the file helpers (mkdir_p,
 * write_file_atomic, read_file, remove_tree) in a mkdtemp folder: read_file
 * refuses a FIFO, a device, a folder and a file over READ_FILE_MAX without
 * reading (or waiting), and read_file_tail reads only the end of any size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

/* ---- parsing ----------------------------------------------------------- */

static void duration_accepts(void **state)
{
	static const struct { const char *text; uint64_t ns; } ok[] = {
		{ "20s", 20000000000ull },  { "500ms", 500000000ull },
		{ "1.5s", 1500000000ull },  { "250us", 250000ull },
		{ "10", 10000000000ull },   { "2m", 120000000000ull },
		{ "7ns", 7 },               { "0", 0 },
		{ ".5s", 500000000ull },    { "0.001ms", 1000 },
	};
	uint64_t out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		out = 12345;
		if (parse_duration_ns(ok[i].text, &out) != 0)
			fail_msg("'%s' rejected", ok[i].text);
		if (out != ok[i].ns)
			fail_msg("'%s' -> %llu, expected %llu", ok[i].text,
				 (unsigned long long)out, (unsigned long long)ok[i].ns);
	}
}

static void duration_rejects(void **state)
{
	static const char *const bad[] = {
		"", "abc", "-1s", "5x", "1e400", "s", " 5s", "5 s", "5S", "0x10", "1e1s",
		"inf", "nan", "1e30s", "5ms ", "+5s",
	};
	uint64_t out = 42;
	size_t i;

	(void)state;
	assert_int_equal(parse_duration_ns(NULL, &out), -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_duration_ns(bad[i], &out) != -1)
			fail_msg("'%s' accepted as %llu ns", bad[i],
				 (unsigned long long)out);
	assert_int_equal(out, 42);   /* untouched on failure */
}

static void u64_parse(void **state)
{
	static const char *const bad[] = {
		"", "-1", "12a", "18446744073709551616", "99999999999999999999",
		" 1", "+1", "1 ", "0x10", "a",
	};
	uint64_t out = 0;
	size_t i;

	(void)state;
	assert_int_equal(parse_u64("0", &out), 0);
	assert_int_equal(out, 0);
	assert_int_equal(parse_u64("12", &out), 0);
	assert_int_equal(out, 12);
	assert_int_equal(parse_u64("18446744073709551615", &out), 0);
	assert_true(out == UINT64_MAX);
	out = 7;
	assert_int_equal(parse_u64(NULL, &out), -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_u64(bad[i], &out) != -1)
			fail_msg("'%s' accepted as %llu", bad[i], (unsigned long long)out);
	assert_int_equal(out, 7);
}

static void double_parse(void **state)
{
	double d = 0;

	(void)state;
	assert_int_equal(parse_double("0.25", &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(parse_double("", &d), -1);
	assert_int_equal(parse_double("1.5x", &d), -1);
	assert_int_equal(parse_double("inf", &d), -1);
	assert_int_equal(parse_double("1e400", &d), -1);
}

/* ---- JSON -------------------------------------------------------------- */

static void json_escapes(void **state)
{
	char buf[128];
	size_t n;

	(void)state;
	n = json_escape(buf, sizeof(buf), "plain");
	assert_int_equal(n, 5);
	assert_string_equal(buf, "plain");

	n = json_escape(buf, sizeof(buf), "say \"hi\"");
	assert_string_equal(buf, "say \\\"hi\\\"");
	assert_int_equal(n, strlen(buf));

	n = json_escape(buf, sizeof(buf), "C:\\dir");
	assert_string_equal(buf, "C:\\\\dir");
	assert_int_equal(n, 7);

	n = json_escape(buf, sizeof(buf), "a\nb\rc\td");
	assert_string_equal(buf, "a\\nb\\rc\\td");

	n = json_escape(buf, sizeof(buf), "x\001y\037z\177");
	assert_string_equal(buf, "x\\u0001y\\u001fz\\u007f");
	assert_int_equal(n, strlen(buf));

	/* UTF-8 passes through untouched. */
	n = json_escape(buf, sizeof(buf), "caf\xc3\xa9");
	assert_string_equal(buf, "caf\xc3\xa9");
	assert_int_equal(n, 5);

	n = json_escape(buf, sizeof(buf), "");
	assert_int_equal(n, 0);
	assert_string_equal(buf, "");
}

static void json_truncates(void **state)
{
	char buf[6];
	size_t n;

	(void)state;
	memset(buf, 'X', sizeof(buf));
	n = json_escape(buf, sizeof(buf), "abcdefghij");
	assert_int_equal(n, 10);           /* the length it needed */
	assert_string_equal(buf, "abcde"); /* what fitted, terminated */

	memset(buf, 'X', sizeof(buf));
	n = json_escape(buf, sizeof(buf), "ab\ncdefg");
	assert_int_equal(n, 9);
	assert_string_equal(buf, "ab\\nc");

	/* size 0: nothing written, length still reported */
	buf[0] = 'X';
	/* An escape that does not fit is dropped whole, never half written. */
	{
		char small[4];
		n = json_escape(small, sizeof(small), "ab\"c");
		assert_int_equal(n, 5);
		assert_string_equal(small, "ab");
	}
	n = json_escape(buf, 0, "\"q\"");
	assert_int_equal(n, 5);
	assert_int_equal(buf[0], 'X');
}

static void json_to_stream(void **state)
{
	char *text = NULL;
	size_t len = 0, i;
	char big[2000];
	FILE *f;

	(void)state;
	/* Longer than json_put_string's stack buffer once escaped. */
	for (i = 0; i + 1 < sizeof(big); i++)
		big[i] = i % 2 ? '"' : 'a';
	big[sizeof(big) - 1] = '\0';
	f = open_memstream(&text, &len);
	assert_non_null(f);
	json_put_string(f, "a\"b");
	json_put_string(f, big);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(len, 6 + 2 + 1000 + 999 * 2);
	assert_memory_equal(text, "\"a\\\"b\"\"a\\\"a\\\"", 13);
	assert_int_equal(text[len - 1], '"');
	free(text);
}

/* ---- seeds and the generator ------------------------------------------ */

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return (a > b) - (a < b);
}

/* FNV-1a's published test vectors; a chained call continues the hash. */
static void fnv1a_known_values(void **state)
{
	(void)state;
	assert_true(hash_fnv1a(HASH_FNV1A_INIT, "", 0) == HASH_FNV1A_INIT);
	assert_true(hash_fnv1a(HASH_FNV1A_INIT, "a", 1) == 0xaf63dc4c8601ec8cull);
	assert_true(hash_fnv1a(HASH_FNV1A_INIT, "foobar", 6) == 0x85944171f73967e8ull);
	assert_true(hash_fnv1a(hash_fnv1a(HASH_FNV1A_INIT, "foo", 3), "bar", 3) ==
		    0x85944171f73967e8ull);
}

static void seeds_deterministic(void **state)
{
	struct rng a, b;
	uint64_t s0, s1, s2, x, seq[1000];
	double u;
	int i, differ = 0, high = 0;

	(void)state;
	s0 = derive_seed(42, 7, 0, 0);
	assert_true(s0 == derive_seed(42, 7, 0, 0));
	s1 = derive_seed(42, 7, 1, 0);   /* another worker index */
	s2 = derive_seed(42, 7, 0, 1);   /* another generation */
	assert_true(s0 != s1);
	assert_true(s0 != s2);
	assert_true(s1 != s2);
	assert_true(derive_seed(43, 7, 0, 0) != s0);
	assert_true(derive_seed(42, 8, 0, 0) != s0);
	/* The arguments are not interchangeable. */
	assert_true(derive_seed(42, 0, 7, 0) != s0);

	rng_init(&a, s0);
	rng_init(&b, s0);
	for (i = 0; i < 1000; i++)
		assert_true(rng_next(&a) == rng_next(&b));
	rng_init(&a, s0);
	rng_init(&b, s1);
	for (i = 0; i < 100; i++)
		differ += rng_next(&a) != rng_next(&b);
	assert_true(differ > 95);

	/* Seed 0 is a seed like any other: its stream repeats after a new
	 * rng_init, differs from seed 1's, never repeats a value within 1000
	 * draws (a generator stuck at a fixed point would), and its top bit
	 * is set about half of the time. */
	rng_init(&a, 0);
	for (i = 0; i < 1000; i++)
		seq[i] = rng_next(&a);
	rng_init(&a, 0);
	rng_init(&b, 1);
	differ = 0;
	for (i = 0; i < 1000; i++) {
		assert_true(rng_next(&a) == seq[i]);
		differ += rng_next(&b) != seq[i];
		high += (int)(seq[i] >> 63);
	}
	assert_int_equal(differ, 1000);
	assert_in_range(high, 400, 600);
	qsort(seq, 1000, sizeof(seq[0]), cmp_u64);
	for (i = 1; i < 1000; i++)
		assert_true(seq[i - 1] != seq[i]);

	rng_init(&a, 99);
	for (i = 0; i < 10000; i++) {
		u = rng_unit(&a);
		assert_true(u >= 0.0 && u < 1.0);
		x = rng_range(&a, 10, 20);
		assert_in_range(x, 10, 20);
	}
	assert_int_equal(rng_range(&a, 5, 5), 5);
	assert_int_equal(rng_range(&a, 9, 3), 9);
}

/* ---- files ------------------------------------------------------------- */

static char *path_in(const char *dir, const char *rel)
{
	return xasprintf("%s/%s", dir, rel);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void files_roundtrip(void **state)
{
	char dir[] = "/tmp/pycstorm-test-common-XXXXXX";
	char *deep, *file, *data = NULL, *big;
	struct stat st;
	size_t len = 0, i, big_len = 200000;

	(void)state;
	assert_non_null(mkdtemp(dir));
	deep = path_in(dir, "a/b/c");
	file = path_in(dir, "a/b/c/f.txt");

	assert_int_equal(mkdir_p(deep, 0755), 0);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(mkdir_p(deep, 0755), 0);   /* already there */

	assert_int_equal(write_file_atomic(file, "hello\n", 6), 0);
	assert_int_equal(read_file(file, &data, &len), 0);
	assert_int_equal(len, 6);
	assert_string_equal(data, "hello\n");
	free(data);
	assert_int_equal(count_entries(deep), 1);   /* no temporary left */

	/* Replace with something larger than read_file's first buffer. */
	big = xmalloc(big_len);
	for (i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	assert_int_equal(write_file_atomic(file, big, big_len), 0);
	assert_int_equal(read_file(file, &data, &len), 0);
	assert_int_equal(len, big_len);
	assert_memory_equal(data, big, big_len);
	assert_int_equal(data[len], '\0');
	free(data);
	free(big);
	assert_int_equal(count_entries(deep), 1);

	/* An empty file reads as an empty string. */
	assert_int_equal(write_file_atomic(file, "", 0), 0);
	assert_int_equal(read_file(file, &data, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	free(data);

	/* A file in the way of mkdir_p is an error. */
	free(deep);
	deep = path_in(dir, "a/b/c/f.txt/sub");
	assert_int_equal(mkdir_p(deep, 0755), -ENOTDIR);

	assert_int_equal(remove_tree(dir), 0);
	assert_int_equal(lstat(dir, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(read_file(file, &data, &len), -ENOENT);
	assert_int_equal(write_file_atomic(file, "x", 1), -ENOENT);
	/* Removing what is not there is not an error. */
	assert_int_equal(remove_tree(dir), 0);
	free(deep);
	free(file);
}

/* remove_tree does not follow a symbolic link out of the tree. */
static void remove_tree_keeps_link_target(void **state)
{
	char dir[] = "/tmp/pycstorm-test-common-XXXXXX";
	char outside[] = "/tmp/pycstorm-test-common-XXXXXX";
	char *link, *kept;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(outside));
	kept = path_in(outside, "kept");
	assert_int_equal(write_file_atomic(kept, "k", 1), 0);
	link = path_in(dir, "link");
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(remove_tree(dir), 0);
	assert_int_equal(stat(kept, &st), 0);
	assert_int_equal(remove_tree(outside), 0);
	free(link);
	free(kept);
}

/* Anything but a regular file, and anything over the limit, is refused
 * before a byte is read: a FIFO with no writer does not block. */
static void read_file_refuses(void **state)
{
	char dir[] = "/tmp/pycstorm-test-common-XXXXXX";
	char *fifo, *big, *data = (char *)"unset";
	size_t len = 7;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	fifo = path_in(dir, "fifo");
	big = path_in(dir, "big.pyc");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(read_file(fifo, &data, &len), READ_NOT_REGULAR);
	assert_int_equal(read_file_check(fifo), READ_NOT_REGULAR);
	assert_int_equal(read_file_tail(fifo, 16, &data, &len), READ_NOT_REGULAR);
	assert_int_equal(read_file("/dev/zero", &data, &len), READ_NOT_REGULAR);
	assert_int_equal(read_file(dir, &data, &len), READ_NOT_REGULAR);
	/* Untouched on a refusal. */
	assert_string_equal(data, "unset");
	assert_int_equal(len, 7);

	fd = open(big, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)READ_FILE_MAX + 1), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(read_file(big, &data, &len), READ_TOO_LARGE);
	assert_int_equal(read_file_check(big), READ_TOO_LARGE);

	assert_string_equal(read_file_error(READ_NOT_REGULAR), "not a regular file");
	assert_string_equal(read_file_error(READ_TOO_LARGE), "larger than the 64 MiB limit");
	assert_string_equal(read_file_error(-ENOENT), "No such file or directory");
	assert_int_equal(read_file_check(dir), READ_NOT_REGULAR);
	free(fifo);
	fifo = path_in(dir, "missing");
	assert_int_equal(read_file_check(fifo), -ENOENT);
	assert_int_equal(remove_tree(dir), 0);
	free(fifo);
	free(big);
}

/* The tail of a file of any size, whole when it is short. */
static void read_file_tail_reads_the_end(void **state)
{
	char dir[] = "/tmp/pycstorm-test-common-XXXXXX";
	char *file, *data = NULL;
	size_t len = 0;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	file = path_in(dir, "out");
	assert_int_equal(write_file_atomic(file, "0123456789", 10), 0);
	assert_int_equal(read_file_tail(file, 4, &data, &len), 0);
	assert_int_equal(len, 4);
	assert_string_equal(data, "6789");
	free(data);
	assert_int_equal(read_file_tail(file, 64, &data, &len), 0);
	assert_string_equal(data, "0123456789");
	free(data);

	/* 1 GiB, sparse, ending in "end\n": only the end is read. */
	fd = open(file, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "end\n", 4, (off_t)1 << 30), 4);
	assert_int_equal(close(fd), 0);
	assert_int_equal(read_file_tail(file, 6, &data, &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(data, "\0\0end\n", 6);
	free(data);
	assert_int_equal(remove_tree(dir), 0);
	free(file);
}

/* remove_tree does not cross into another filesystem mounted in the tree
 * (when this process may mount one). */
static void remove_tree_stops_at_a_mount(void **state)
{
	char dir[] = "/tmp/pycstorm-test-common-XXXXXX";
	char *mnt, *kept;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	mnt = path_in(dir, "a/mnt");
	kept = path_in(dir, "a/mnt/kept");
	assert_int_equal(mkdir_p(mnt, 0755), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0) {
		assert_int_equal(remove_tree(dir), 0);
		free(mnt);
		free(kept);
		skip();
	}
	assert_int_equal(write_file_atomic(kept, "k", 1), 0);
	assert_int_equal(remove_tree(dir), -EXDEV);
	assert_int_equal(stat(kept, &st), 0);
	assert_int_equal(umount(mnt), 0);
	assert_int_equal(remove_tree(dir), 0);
	free(mnt);
	free(kept);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fnv1a_known_values),
		cmocka_unit_test(duration_accepts),
		cmocka_unit_test(duration_rejects),
		cmocka_unit_test(u64_parse),
		cmocka_unit_test(double_parse),
		cmocka_unit_test(json_escapes),
		cmocka_unit_test(json_truncates),
		cmocka_unit_test(json_to_stream),
		cmocka_unit_test(seeds_deterministic),
		cmocka_unit_test(files_roundtrip),
		cmocka_unit_test(remove_tree_keeps_link_target),
		cmocka_unit_test(read_file_refuses),
		cmocka_unit_test(read_file_tail_reads_the_end),
		cmocka_unit_test(remove_tree_stops_at_a_mount),
	};

	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
