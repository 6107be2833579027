/*
 * Unit tests for runners/base/pyc.c: headers built for the three invalidation
 * modes pass the check and name the right source version; each rejection
 * verdict carries importlib's exact message, in importlib's order (magic
 * first, then length, then flags, then staleness); pyc_magic_release maps
 * magic words to releases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "pyc.h"

#define MAGIC_311 (3495u | 0x0a0d0000u)   /* bytes a7 0d 0d 0a */
#define MAGIC_312 (3531u | 0x0a0d0000u)

/* Two versions of the source, as during a package upgrade. */
static const struct pyc_source versions[2] = {
	{ .mtime = 1700000000u, .size = 1234,
	  .hash = { 1, 2, 3, 4, 5, 6, 7, 8 } },
	{ .mtime = 1700086400u, .size = 1240,
	  .hash = { 9, 10, 11, 12, 13, 14, 15, 16 } },
};

/* A source that is neither of them. */
static const struct pyc_source other = {
	.mtime = 1600000000u, .size = 99, .hash = { 0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0, 0 },
};

static void check(const uint8_t *data, size_t len, struct pyc_check *out)
{
	memset(out, 0x5a, sizeof(*out));
	pyc_check_header(data, len, MAGIC_311, versions, 2, "mod", out);
}

static void le32_roundtrip(void **state)
{
	uint8_t b[4];

	(void)state;
	pyc_put_le32(b, MAGIC_311);
	assert_int_equal(b[0], 0xa7);
	assert_int_equal(b[1], 0x0d);
	assert_int_equal(b[2], 0x0d);
	assert_int_equal(b[3], 0x0a);
	assert_int_equal(pyc_le32(b), MAGIC_311);
}

static void build_timestamp(void **state)
{
	uint8_t h[PYC_HEADER_SIZE];
	struct pyc_check c;
	size_t v;

	(void)state;
	pyc_build_header(h, MAGIC_311, PYC_TIMESTAMP, &versions[1]);
	assert_int_equal(pyc_le32(h), MAGIC_311);
	assert_int_equal(pyc_le32(h + 4), 0);
	assert_int_equal(pyc_le32(h + 8), versions[1].mtime);
	assert_int_equal(pyc_le32(h + 12), versions[1].size);

	for (v = 0; v < 2; v++) {
		pyc_build_header(h, MAGIC_311, PYC_TIMESTAMP, &versions[v]);
		check(h, sizeof(h), &c);
		assert_int_equal(c.verdict, PYC_VALID);
		assert_int_equal(c.version, (int)v);
		assert_int_equal(c.magic, MAGIC_311);
		assert_int_equal(c.flags, 0);
		assert_string_equal(c.why, "");
	}
}

static void build_checked_hash(void **state)
{
	uint8_t h[PYC_HEADER_SIZE];
	struct pyc_check c;
	size_t v;

	(void)state;
	pyc_build_header(h, MAGIC_311, PYC_CHECKED_HASH, &versions[0]);
	assert_int_equal(pyc_le32(h + 4), PYC_FLAG_HASH | PYC_FLAG_CHECK_SOURCE);
	assert_memory_equal(h + 8, versions[0].hash, 8);

	for (v = 0; v < 2; v++) {
		pyc_build_header(h, MAGIC_311, PYC_CHECKED_HASH, &versions[v]);
		check(h, sizeof(h), &c);
		assert_int_equal(c.verdict, PYC_VALID);
		assert_int_equal(c.version, (int)v);
		assert_int_equal(c.flags, 3);
	}

	/* A checked hash that matches no version is stale. */
	pyc_build_header(h, MAGIC_311, PYC_CHECKED_HASH, &other);
	check(h, sizeof(h), &c);
	assert_int_equal(c.verdict, PYC_STALE);
	assert_int_equal(c.version, -1);
	assert_string_equal(c.why, "hash in bytecode doesn't match hash of source 'mod'");
}

static void build_unchecked_hash(void **state)
{
	uint8_t h[PYC_HEADER_SIZE];
	struct pyc_check c;

	(void)state;
	pyc_build_header(h, MAGIC_311, PYC_UNCHECKED_HASH, &versions[1]);
	assert_int_equal(pyc_le32(h + 4), PYC_FLAG_HASH);
	assert_memory_equal(h + 8, versions[1].hash, 8);
	check(h, sizeof(h), &c);
	assert_int_equal(c.verdict, PYC_VALID);
	assert_int_equal(c.version, 1);
	assert_int_equal(c.flags, 1);

	/* Unchecked: trusted even when the hash names no version. */
	pyc_build_header(h, MAGIC_311, PYC_UNCHECKED_HASH, &other);
	check(h, sizeof(h), &c);
	assert_int_equal(c.verdict, PYC_VALID);
	assert_int_equal(c.version, -1);
}

static void verdict_bad_magic(void **state)
{
	uint8_t h[PYC_HEADER_SIZE];
	struct pyc_check c;

	(void)state;
	pyc_build_header(h, MAGIC_311, PYC_TIMESTAMP, &versions[0]);
	memset(h, 0, 4);
	check(h, sizeof(h), &c);
	assert_int_equal(c.verdict, PYC_BAD_MAGIC);
	assert_int_equal(c.magic, 0);
	assert_string_equal(c.why, "bad magic number in 'mod': b'\\x00\\x00\\x00\\x00'");

	/* Another release's magic: printable bytes appear as themselves. */
	pyc_build_header(h, MAGIC_312, PYC_TIMESTAMP, &versions[0]);
	check(h, sizeof(h), &c);
	assert_int_equal(c.verdict, PYC_BAD_MAGIC);
	assert_int_equal(c.magic, MAGIC_312);
	assert_string_equal(c.why, "bad magic number in 'mod': b'\\xcb\\r\\r\\n'");

	h[0] = 'a', h[1] = '\\', h[2] = '\t', h[3] = 0x7f;
	check(h, sizeof(h), &c);
	assert_int_equal(c.verdict, PYC_BAD_MAGIC);
	assert_string_equal(c.why, "bad magic number in 'mod': b'a\\\\\\t\\x7f'");
}

/* Magic is checked before length: a short file of the wrong magic. */
static void verdict_bad_magic_before_short(void **state)
{
	uint8_t h[10] = { 0 };
	struct pyc_check c;

	(void)state;
	check(h, sizeof(h), &c);
	assert_int_equal(c.verdict, PYC_BAD_MAGIC);
	assert_string_equal(c.why, "bad magic number in 'mod': b'\\x00\\x00\\x00\\x00'");
}

/* Fewer than 4 bytes: the shown bytes are only those that exist. */
static void verdict_tiny_file(void **state)
{
	uint8_t h[PYC_HEADER_SIZE];
	struct pyc_check c;

	(void)state;
	pyc_put_le32(h, MAGIC_311);
	check(h, 2, &c);
	assert_int_equal(c.verdict, PYC_BAD_MAGIC);
	assert_string_equal(c.why, "bad magic number in 'mod': b'\\xa7\\r'");

	check(h, 3, &c);
	assert_int_equal(c.verdict, PYC_BAD_MAGIC);
	assert_string_equal(c.why, "bad magic number in 'mod': b'\\xa7\\r\\r'");

	check(h, 0, &c);
	assert_int_equal(c.verdict, PYC_BAD_MAGIC);
	assert_string_equal(c.why, "bad magic number in 'mod': b''");
}

static void verdict_short(void **state)
{
	uint8_t h[PYC_HEADER_SIZE];
	struct pyc_check c;
	size_t len;

	(void)state;
	pyc_build_header(h, MAGIC_311, PYC_TIMESTAMP, &versions[0]);
	check(h, 10, &c);
	assert_int_equal(c.verdict, PYC_SHORT);
	assert_string_equal(c.why, "reached EOF while reading pyc header of 'mod'");

	/* Every length from 4 to 15 with the right magic is short. */
	for (len = 4; len < PYC_HEADER_SIZE; len++) {
		check(h, len, &c);
		assert_int_equal(c.verdict, PYC_SHORT);
	}
}

static void verdict_bad_flags(void **state)
{
	uint8_t h[PYC_HEADER_SIZE];
	struct pyc_check c;

	(void)state;
	pyc_build_header(h, MAGIC_311, PYC_TIMESTAMP, &versions[0]);
	pyc_put_le32(h + 4, 4);
	check(h, sizeof(h), &c);
	assert_int_equal(c.verdict, PYC_BAD_FLAGS);
	assert_int_equal(c.flags, 4);
	assert_string_equal(c.why, "invalid flags 4 in 'mod'");

	pyc_put_le32(h + 4, 0x80000003u);
	check(h, sizeof(h), &c);
	assert_int_equal(c.verdict, PYC_BAD_FLAGS);
	assert_string_equal(c.why, "invalid flags 2147483651 in 'mod'");
}

static void verdict_stale(void **state)
{
	uint8_t h[PYC_HEADER_SIZE];
	struct pyc_check c;
	struct pyc_source s = versions[0];

	(void)state;
	pyc_build_header(h, MAGIC_311, PYC_TIMESTAMP, &other);
	check(h, sizeof(h), &c);
	assert_int_equal(c.verdict, PYC_STALE);
	assert_int_equal(c.version, -1);
	assert_string_equal(c.why, "bytecode is stale for 'mod'");

	/* The right mtime with another size is stale too. */
	s.size += 1;
	pyc_build_header(h, MAGIC_311, PYC_TIMESTAMP, &s);
	check(h, sizeof(h), &c);
	assert_int_equal(c.verdict, PYC_STALE);
	assert_string_equal(c.why, "bytecode is stale for 'mod'");

	/* No versions at all: nothing can match. */
	pyc_build_header(h, MAGIC_311, PYC_TIMESTAMP, &versions[0]);
	pyc_check_header(h, sizeof(h), MAGIC_311, versions, 0, "mod", &c);
	assert_int_equal(c.verdict, PYC_STALE);
}

static void assert_release(uint32_t magic, const char *want)
{
	const char *got = pyc_magic_release(magic);

	if (!got || strcmp(got, want) != 0)
		fail_msg("magic %u: got %s, expected %s", (unsigned)(magic & 0xffff),
			 got ? got : "NULL", want);
}

static void magic_release(void **state)
{
	(void)state;
	assert_release(3495u | 0x0a0d0000u, "3.11");
	assert_release(62211u | 0x0a0d0000u, "2.7");
	assert_release(3531u | 0x0a0d0000u, "3.12");
	assert_release(3439u | 0x0a0d0000u, "3.10");
	assert_null(pyc_magic_release(3495u));
	assert_null(pyc_magic_release(3495u | 0x0d0a0000u));
	assert_null(pyc_magic_release(0));
	assert_null(pyc_magic_release(1u | 0x0a0d0000u));
}

/* Python's bytes repr switches to double quotes for a ' without a ". */
static void magic_repr_quotes_like_python(void **state)
{
	static const uint8_t quote_magic[16] = { 0x27, 0x0d, 0x0d, 0x0a };
	struct pyc_check c;

	(void)state;
	pyc_check_header(quote_magic, sizeof(quote_magic), 3495u | 0x0a0d0000u, NULL, 0, "mod", &c);
	assert_int_equal(c.verdict, PYC_BAD_MAGIC);
	assert_string_equal(c.why, "bad magic number in 'mod': b\"'\\r\\r\\n\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(magic_repr_quotes_like_python),
		cmocka_unit_test(le32_roundtrip),
		cmocka_unit_test(build_timestamp),
		cmocka_unit_test(build_checked_hash),
		cmocka_unit_test(build_unchecked_hash),
		cmocka_unit_test(verdict_bad_magic),
		cmocka_unit_test(verdict_bad_magic_before_short),
		cmocka_unit_test(verdict_tiny_file),
		cmocka_unit_test(verdict_short),
		cmocka_unit_test(verdict_bad_flags),
		cmocka_unit_test(verdict_stale),
		cmocka_unit_test(magic_release),
	};

	return cmocka_run_group_tests_name("pyc", tests, NULL, NULL);
}
