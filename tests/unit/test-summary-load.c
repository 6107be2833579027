/*
 * Unit tests for reading summary.json back (results/model/summary-load.c):
 * a good file gives back every count; a truncated file, a wrong type, a
 * number too large for its field and a missing key are each refused with
 * one line naming the file, the place and the problem, and nothing of a
 * refused file is kept.
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

#include "common.h"
#include "stats.h"
#include "summary.h"

/* One strategy, every optional part present. %s: the histogram scheme. */
static const char good_fmt[] =
	"{\"schema_version\": 1, \"tool\": \"pycstorm 0.1.0\", \"scenario\": \"default\",\n"
	" \"seed\": 5, \"elapsed_s\": 1.5, \"interrupted\": false, \"cpus\": 2, \"jobs\": 2,\n"
	" \"iterations\": 300, \"runner\": \"embedded\",\n"
	" \"python\": {\"version\": \"3.11.7\", \"cache_tag\": \"cpython-311\", \"magic\": 3495},\n"
	" \"faults\": [\"short-write:p=0.2\"], \"latency_hist_scheme\": \"%s\",\n"
	" \"results\": [{\"strategy\": \"py33-atomic\", \"expect_safe\": true,\n"
	"  \"workers_started\": 2, \"cycles\": 999, \"corrupt_rate\": 0.9,\n"
	"  \"by_op\": {\"compile\": {\"ok\": 300}, \"import\": {\"ok\": 129, \"eof\": 171}},\n"
	"  \"latency_hist_ns\": {\"write\": {\"count\": 3, \"sum\": 600, \"min\": 100,\n"
	"    \"max\": 300, \"buckets\": [[10, 2], [20, 1]]}},\n"
	"  \"faults_fired\": {\"pycstorm/write/short\": 62},\n"
	"  \"first_errors\": {\"eof\": \"EOFError: marshal data too short\"},\n"
	"  \"evidence\": [\"evidence/a\"]}]}\n";

static char dir[256], path[300], good[4096], err[1024];
static struct summary s;

static int setup(void **state)
{
	const char *t = getenv("TMPDIR");
	char scheme[64];

	(void)state;
	(void)snprintf(dir, sizeof(dir), "%s/pycstorm-summary.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	(void)snprintf(path, sizeof(path), "%s/summary.json", dir);
	(void)snprintf(scheme, sizeof(scheme), "log2-linear, %u sub-buckets", HIST_SUB);
	(void)snprintf(good, sizeof(good), good_fmt, scheme);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return remove_tree(dir);
}

/* Load text as summary.json: 0, or -1 with err filled. */
static int load_text(const char *text, size_t len)
{
	int rc;

	assert_int_equal(write_file_atomic(path, text, len), 0);
	err[0] = '\0';
	rc = summary_load(path, &s, err, sizeof(err));
	if (rc == 0)
		summary_free(&s);
	return rc;
}

/* One bad document: the good one with `from` replaced by `to`. */
struct change {
	const char *from, *to, *why;
};

/* good with the first `from` replaced by `to` is refused with a message
 * that names the file and says `why`. */
static void refused(const char *from, const char *to, const char *why)
{
	char text[8192], *at = strstr(good, from);

	if (!at)
		fail_msg("'%s' is not in the good document", from);
	(void)snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good, to,
		       at + strlen(from));
	if (load_text(text, strlen(text)) == 0)
		fail_msg("accepted with '%s' for '%s'", to, from);
	assert_null(strchr(err, '\n'));
	assert_true(strncmp(err, path, strlen(path)) == 0);
	if (!strstr(err, why))
		fail_msg("'%s' does not say '%s'", err, why);
	/* nothing of a refused file is kept */
	assert_null(s.scenario);
	assert_null(s.results);
	assert_int_equal(s.nresults, 0);
}

static void good_file(void **state)
{
	const struct strategy_result *r;

	(void)state;
	assert_int_equal(write_file_atomic(path, good, strlen(good)), 0);
	if (summary_load(path, &s, err, sizeof(err)) < 0)
		fail_msg("refused: %s", err);
	assert_string_equal(s.scenario, "default");
	assert_string_equal(s.tool, "pycstorm 0.1.0");
	assert_int_equal(s.seed, 5);
	assert_true(s.elapsed_s == 1.5);
	assert_int_equal(s.cpus, 2);
	assert_int_equal(s.iterations, 300);
	assert_string_equal(s.cache_tag, "cpython-311");
	assert_int_equal(s.magic, 3495);
	assert_int_equal(s.nfaults, 1);
	assert_string_equal(s.faults[0], "short-write:p=0.2");
	assert_null(s.shard);
	assert_int_equal(s.nresults, 1);
	r = &s.results[0];
	assert_string_equal(r->strategy, "py33-atomic");
	assert_true(r->expect_safe);
	assert_int_equal(r->workers_started, 2);
	assert_int_equal(r->counts[OP_COMPILE][OUTCOME_OK], 300);
	assert_int_equal(r->counts[OP_IMPORT][OUTCOME_OK], 129);
	assert_int_equal(r->counts[OP_IMPORT][OUTCOME_EOF], 171);
	assert_int_equal(r->latency[OP_WRITE].count, 3);
	assert_int_equal(r->latency[OP_WRITE].sum, 600);
	assert_int_equal(r->latency[OP_WRITE].buckets[10], 2);
	assert_int_equal(r->latency[OP_WRITE].buckets[20], 1);
	assert_int_equal(r->latency[OP_IMPORT].count, 0);
	assert_int_equal(r->nfaults, 1);
	assert_int_equal(r->faults[0].count, 62);
	assert_string_equal(r->first_error[OUTCOME_EOF], "EOFError: marshal data too short");
	assert_int_equal(r->nevidence, 1);
	assert_string_equal(r->evidence[0], "evidence/a");
	summary_free(&s);
}

static void truncated_files(void **state)
{
	size_t cut;

	(void)state;
	/* every cut of the document is refused, none is half read */
	for (cut = 0; cut < strlen(good) - 2; cut += 7) {
		if (load_text(good, cut) == 0)
			fail_msg("accepted the first %zu bytes", cut);
		assert_null(strchr(err, '\n'));
		assert_true(strncmp(err, path, strlen(path)) == 0);
		assert_null(s.results);
	}
}

static void a_missing_file(void **state)
{
	(void)state;
	(void)unlink(path);
	assert_int_equal(summary_load(path, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file or directory"));
}

static void wrong_types(void **state)
{
	static const struct change cases[] = {
		{ "\"seed\": 5", "\"seed\": \"5\"", "'seed' is a string, not a number" },
		{ "\"scenario\": \"default\"", "\"scenario\": 7", "'scenario' is a number, not a string" },
		{ "\"interrupted\": false", "\"interrupted\": \"no\"",
		  "'interrupted' is a string, not a boolean" },
		{ "\"python\": {", "\"python\": 3, \"x\": {", "'python' is a number, not an object" },
		{ "\"faults\": [\"short-write:p=0.2\"]", "\"faults\": [1]",
		  "faults: an entry is a number, not a string" },
		{ "\"results\": [", "\"results\": {\"a\": 1}, \"x\": [",
		  "'results' is an object, not an array" },
		{ "\"by_op\": {", "\"by_op\": [], \"x\": {", "results[0]: 'by_op' is an array, not an object" },
		{ "\"import\": {\"ok\": 129", "\"import\": {\"ok\": \"129\"",
		  "results[0].by_op.import: 'ok' is not a whole number" },
		{ "[[10, 2], [20, 1]]", "[[10, 2], [20]]", "a bucket is not [index, count]" },
		{ "\"evidence\": [\"evidence/a\"]", "\"evidence\": [null]",
		  "results[0].evidence: an entry is null, not a string" },
		{ "{\"strategy\"", "7, {\"strategy\"", "results[0]: a number, not an object" },
		{ "\"eof\": \"EOFError", "\"eof\": 1, \"x\": \"EOFError",
		  "'eof' is a number, not a string" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i].from, cases[i].to, cases[i].why);
}

static void huge_numbers(void **state)
{
	static const struct change cases[] = {
		{ "\"seed\": 5", "\"seed\": 18446744073709551616",
		  "'seed' is not a whole number from 0 to 18446744073709551615" },
		{ "\"seed\": 5", "\"seed\": -1", "'seed' is not a whole number" },
		{ "\"seed\": 5", "\"seed\": 1e30", "'seed' is not a whole number" },
		{ "\"cpus\": 2", "\"cpus\": 4294967296",
		  "'cpus' is not a whole number from 0 to 4294967295" },
		{ "\"magic\": 3495", "\"magic\": 4294967296",
		  "'magic' is not a whole number from 0 to 4294967295" },
		{ "\"elapsed_s\": 1.5", "\"elapsed_s\": -1.5", "'elapsed_s' is not a finite number" },
		{ "\"elapsed_s\": 1.5", "\"elapsed_s\": 1e999", "'elapsed_s' is not a finite number" },
		{ "[[10, 2]", "[[100000, 2]", "bucket index 100000 is not below" },
		{ "\"count\": 3", "\"count\": 4", "the buckets hold 3 values but count is 4" },
		{ "[[10, 2], [20, 1]]", "[[10, 18446744073709551615], [20, 1]]",
		  "bucket counts overflow" },
		{ "\"min\": 100", "\"min\": 1000", "min 1000 is above max 300" },
		/* counts that are each fine but add up past 2^64-1 */
		{ "\"import\": {\"ok\": 129", "\"import\": {\"ok\": 18446744073709551615",
		  "results[0]: the by_op counts add up past 2^64-1" },
		{ "\"schema_version\": 1", "\"schema_version\": 2",
		  "schema_version 2 is not supported (this pycstorm reads 1)" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i].from, cases[i].to, cases[i].why);
}

static void missing_keys(void **state)
{
	static const struct change cases[] = {
		{ "\"schema_version\": 1, ", "", "missing key 'schema_version'" },
		{ "\"scenario\": \"default\",", "", "missing key 'scenario'" },
		{ "\"seed\": 5, ", "", "missing key 'seed'" },
		{ "\"results\": [{", "\"other\": [{", "missing key 'results'" },
		{ "\"strategy\": \"py33-atomic\", ", "", "results[0]: missing key 'strategy'" },
		{ "\"by_op\": {", "\"by_opx\": {", "results[0]: missing key 'by_op'" },
		{ "\"latency_hist_ns\": {", "\"latency\": {",
		  "results[0]: missing key 'latency_hist_ns'" },
		{ "\"sum\": 600, ", "", "results[0].latency_hist_ns.write: missing key 'sum'" },
		{ ", \"buckets\": [[10, 2], [20, 1]]", "",
		  "results[0].latency_hist_ns.write: missing key 'buckets'" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i].from, cases[i].to, cases[i].why);
}

static void unknown_names_are_refused(void **state)
{
	static const struct change cases[] = {
		{ "\"compile\": {\"ok\"", "\"link\": {\"ok\"", "unknown op 'link'" },
		{ "\"eof\": 171", "\"gone\": 171", "unknown outcome class 'gone'" },
		{ "\"strategy\": \"py33-atomic\"", "\"strategy\": \"\"", "the strategy name is empty" },
		{ "log2-linear", "linear", "latency_hist_scheme 'linear, " },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i].from, cases[i].to, cases[i].why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_file),
		cmocka_unit_test(truncated_files),
		cmocka_unit_test(a_missing_file),
		cmocka_unit_test(wrong_types),
		cmocka_unit_test(huge_numbers),
		cmocka_unit_test(missing_keys),
		cmocka_unit_test(unknown_names_are_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
