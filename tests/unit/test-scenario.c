/*
 * Unit tests for runners/orchestrator/scenario.c: a scenario using every key parses to
 * the right values ('#' inside a value is kept, a line starting with '#' is
 * a comment) and keeps the lines of its strategies, modules and faults;
 * defaults are set; each kind of error is reported as exactly
 * "FILE:LINE: problem" with the right line (a key given twice, a CRLF line
 * end, an empty or repeated list item, a module that is not an identifier
 * among them); a failed parse leaves nothing to free; scenario_load reads
 * a file from disk and refuses what is not a regular file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "scenario.h"

static const char full_text[] =
	"# A comment line; the next line is blank.\n"
	"\n"
	"name = lp1010077\n"
	"description = two writers, one cache # not a comment\n"
	"report = LP #1010077\n"
	"   # an indented comment\n"
	"strategies = py27-import, py33-atomic ,loop-atomic, native\n"
	"expect-safe = loop-atomic\n"
	"modules = small, large\n"
	"versions = 3\n"
	"jobs = 16\n"
	"compile-share = 0.25\n"
	"duration = 1500ms\n"
	"iterations = 5000\n"
	"pyc = checked-hash\n"
	"import-writes = no\n"
	"tmp-id = shared\n"
	"retry-budget = 250ms\n"
	"reproduced = stale, permission_error\n"
	"fault = pycstorm/write/short:p=0.1\n"
	"fault = pycstorm/rename/eacces\n";

static char err[1024];

/* Parse text (a C string); returns scenario_parse's result. */
static int parse(const char *text, struct scenario *sc)
{
	err[0] = '\0';
	return scenario_parse("t.scn", text, strlen(text), sc, err, sizeof(err));
}

static void assert_failed(int rc, const struct scenario *sc)
{
	assert_int_equal(rc, -1);
	/* The parser freed everything and cleared the structure. */
	assert_null(sc->name);
	assert_null(sc->path);
	assert_null(sc->description);
	assert_int_equal(sc->nstrategies, 0);
	assert_int_equal(sc->nmodules, 0);
	assert_int_equal(sc->nfaults, 0);
}

static void parse_all_keys(void **state)
{
	struct scenario sc;

	(void)state;
	assert_int_equal(parse(full_text, &sc), 0);
	assert_string_equal(err, "");

	assert_string_equal(sc.name, "lp1010077");
	assert_string_equal(sc.path, "t.scn");
	assert_string_equal(sc.description, "two writers, one cache # not a comment");
	assert_string_equal(sc.report, "LP #1010077");
	assert_int_equal(sc.nstrategies, 4);
	assert_string_equal(sc.strategies[0], "py27-import");
	assert_string_equal(sc.strategies[1], "py33-atomic");
	assert_string_equal(sc.strategies[2], "loop-atomic");
	assert_string_equal(sc.strategies[3], "native");
	assert_int_equal(sc.strategies_line, 7);
	assert_int_equal(sc.nexpect_safe, 1);
	assert_int_equal(sc.expect_safe_line, 8);
	assert_string_equal(sc.expect_safe[0], "loop-atomic");
	assert_int_equal(sc.nmodules, 2);
	assert_string_equal(sc.modules[0], "small");
	assert_string_equal(sc.modules[1], "large");
	assert_int_equal(sc.modules_line, 9);
	assert_int_equal(sc.nfaults, 2);
	assert_string_equal(sc.faults[0], "pycstorm/write/short:p=0.1");
	assert_string_equal(sc.faults[1], "pycstorm/rename/eacces");
	assert_int_equal(sc.fault_lines[0], 20);
	assert_int_equal(sc.fault_lines[1], 21);
	assert_int_equal(sc.versions, 3);
	assert_int_equal(sc.jobs, 16);
	assert_true(sc.compile_share == 0.25);
	assert_int_equal(sc.duration_ns, 1500000000ull);
	assert_int_equal(sc.iterations, 5000);
	assert_int_equal(sc.pyc_mode, PYC_CHECKED_HASH);
	assert_int_equal(sc.import_writes, 0);
	assert_int_equal(sc.shared_tmp_id, 1);
	assert_int_equal(sc.retry_budget_ns, 250000000ull);
	assert_true(sc.reproduced[OUTCOME_STALE]);
	assert_true(sc.reproduced[OUTCOME_PERMISSION_ERROR]);
	assert_false(sc.reproduced[OUTCOME_OK]);
	assert_false(sc.reproduced[OUTCOME_MISSING]);
	assert_false(sc.reproduced[OUTCOME_WORKER_CRASH]);
	scenario_free(&sc);
	assert_null(sc.name);
}

static void parse_defaults(void **state)
{
	struct scenario sc;

	(void)state;
	assert_int_equal(parse("name = x\nmodules = small\n", &sc), 0);
	assert_string_equal(sc.name, "x");
	assert_null(sc.description);
	assert_null(sc.report);
	assert_int_equal(sc.nstrategies, 0);
	assert_int_equal(sc.versions, 2);
	assert_int_equal(sc.jobs, 4);
	assert_true(sc.compile_share == 0.5);
	assert_int_equal(sc.duration_ns, 20000000000ull);
	assert_int_equal(sc.iterations, 0);
	assert_int_equal(sc.pyc_mode, PYC_TIMESTAMP);
	assert_int_equal(sc.import_writes, 1);
	assert_int_equal(sc.shared_tmp_id, 0);
	assert_int_equal(sc.retry_budget_ns, 100000000ull);
	assert_true(sc.reproduced[OUTCOME_BAD_MARSHAL]);
	assert_true(sc.reproduced[OUTCOME_EOF]);
	assert_false(sc.reproduced[OUTCOME_STALE]);
	scenario_free(&sc);
}

/* Other spellings the value parsers take. */
static void parse_variants(void **state)
{
	struct scenario sc;

	(void)state;
	assert_int_equal(parse("name=x\nmodules=a,b_2\t\npyc = unchecked-hash\n"
			       "import-writes = true\ntmp-id = per-worker\n"
			       "duration = 2m\njobs = 256\nversions = 1\n", &sc), 0);
	assert_string_equal(sc.name, "x");
	assert_int_equal(sc.nmodules, 2);
	assert_string_equal(sc.modules[0], "a");
	assert_string_equal(sc.modules[1], "b_2");
	assert_int_equal(sc.pyc_mode, PYC_UNCHECKED_HASH);
	assert_int_equal(sc.import_writes, 1);
	assert_int_equal(sc.shared_tmp_id, 0);
	assert_int_equal(sc.duration_ns, 120000000000ull);
	assert_int_equal(sc.jobs, 256);
	assert_int_equal(sc.versions, 1);
	scenario_free(&sc);
}

/* Each key once, but fault: the second is an error naming both lines, and
 * the first value is not leaked. */
static void error_duplicate_key(void **state)
{
	struct scenario sc;

	(void)state;
	assert_failed(parse("name = a\nmodules = m\n# c\nname = b\n", &sc), &sc);
	assert_string_equal(err, "t.scn:4: 'name' is given twice, on lines 1 and 4");
	assert_failed(parse("name = a\nstrategies = py33-atomic\nmodules = m\n"
			    "strategies = native\n", &sc), &sc);
	assert_string_equal(err, "t.scn:4: 'strategies' is given twice, on lines 2 and 4");
	/* An empty second one is still a second one. */
	assert_failed(parse("name = a\nmodules = m\nmodules =\n", &sc), &sc);
	assert_string_equal(err, "t.scn:3: 'modules' is given twice, on lines 2 and 3");
}

/* CRLF line ends are refused at the first one, before any key is read. */
static void error_crlf(void **state)
{
	struct scenario sc;

	(void)state;
	assert_failed(parse("name = x\r\nmodules = m\r\n", &sc), &sc);
	assert_string_equal(err, "t.scn:1: a carriage return (CRLF line ends): save the file "
				 "with LF line ends");
	assert_failed(parse("name = x\nmodules = m\n# c\r\njobs = 0\n", &sc), &sc);
	assert_string_equal(err, "t.scn:3: a carriage return (CRLF line ends): save the file "
				 "with LF line ends");
	/* The first of a NUL and a CR is the one named. */
	assert_int_equal(scenario_parse("t.scn", "a\nb\0\r\n", 6, &sc, err, sizeof(err)), -1);
	assert_string_equal(err, "t.scn:2: not a text file (NUL byte)");
}

/* A list names each item once, none of them empty. */
static void error_list_items(void **state)
{
	struct scenario sc;

	(void)state;
	assert_failed(parse("name = x\nmodules = a,,b\n", &sc), &sc);
	assert_string_equal(err, "t.scn:2: 'a,,b' has an empty item");
	assert_failed(parse("name = x\nmodules = a, b,\n", &sc), &sc);
	assert_string_equal(err, "t.scn:2: 'a, b,' has an empty item");
	assert_failed(parse("name = x\nmodules = m\nstrategies = native, py33-atomic, native\n",
			    &sc), &sc);
	assert_string_equal(err, "t.scn:3: 'native' is listed twice");
	assert_failed(parse("name = x\nmodules = m\nreproduced = eof, eof\n", &sc), &sc);
	assert_string_equal(err, "t.scn:3: 'eof' is listed twice");
	assert_failed(parse("name = x\nmodules = m\ncache = ,pyc\n", &sc), &sc);
	assert_string_equal(err, "t.scn:3: ',pyc' has an empty item");
}

/* A module name becomes a path and an import: an identifier only. */
static void error_module_name(void **state)
{
	static const char *const bad[] = { "../x", "a/b", "1a", "a-b", "a.b", "a b" };
	struct scenario sc;
	char text[128], want[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(text, sizeof(text), "name = x\nmodules = small, %s\n", bad[i]);
		(void)snprintf(want, sizeof(want), "t.scn:2: module '%s' is not a Python identifier",
			       bad[i]);
		assert_failed(parse(text, &sc), &sc);
		assert_string_equal(err, want);
	}
}

static void error_unknown_key(void **state)
{
	struct scenario sc;
	char want[1024];

	(void)state;
	assert_failed(parse("name = x\nmodules = m\n\ncolour = blue\n", &sc), &sc);
	(void)snprintf(want, sizeof(want), "t.scn:4: unknown key 'colour' (valid: %s)",
		       scenario_keys());
	assert_string_equal(err, want);
	/* The list names every key. */
	assert_non_null(strstr(scenario_keys(), "name, description, report"));
	assert_non_null(strstr(scenario_keys(), "retry-budget"));
	assert_non_null(strstr(scenario_keys(), "reproduced, cache, fault"));
}

static void error_missing_equals(void **state)
{
	struct scenario sc;

	(void)state;
	assert_failed(parse("name = x\n# c\njobs 4\nmodules = m\n", &sc), &sc);
	assert_string_equal(err, "t.scn:3: expected 'key = value', got 'jobs 4'");
}

static void error_empty_value(void **state)
{
	struct scenario sc;

	(void)state;
	assert_failed(parse("name = x\nmodules =   \n", &sc), &sc);
	assert_string_equal(err, "t.scn:2: 'modules' has no value");
}

static void error_bad_jobs(void **state)
{
	struct scenario sc;

	(void)state;
	assert_failed(parse("name = x\nmodules = m\njobs = four\n", &sc), &sc);
	assert_string_equal(err, "t.scn:3: 'four' is not a whole number from 1 to 256");
	assert_failed(parse("jobs = 0\nname = x\nmodules = m\n", &sc), &sc);
	assert_string_equal(err, "t.scn:1: '0' is not a whole number from 1 to 256");
	assert_failed(parse("jobs = 257\n", &sc), &sc);
	assert_string_equal(err, "t.scn:1: '257' is not a whole number from 1 to 256");
	assert_failed(parse("jobs = -1\n", &sc), &sc);
	assert_string_equal(err, "t.scn:1: '-1' is not a whole number from 1 to 256");
}

static void error_bad_duration(void **state)
{
	struct scenario sc;

	(void)state;
	assert_failed(parse("name = x\nmodules = m\nduration = 5x\n", &sc), &sc);
	assert_string_equal(err, "t.scn:3: '5x' is not a duration (like 20s or 500ms)");
	assert_failed(parse("name = x\nduration = 0\n", &sc), &sc);
	assert_string_equal(err, "t.scn:2: '0' is not a duration (like 20s or 500ms)");
}

static void error_bad_pyc_mode(void **state)
{
	struct scenario sc;

	(void)state;
	assert_failed(parse("name = x\npyc = hash\nmodules = m\n", &sc), &sc);
	assert_string_equal(err, "t.scn:2: 'hash' is not timestamp, checked-hash or unchecked-hash");
}

static void error_unknown_outcome(void **state)
{
	struct scenario sc;

	(void)state;
	assert_failed(parse("name = x\nmodules = m\nreproduced = eof, broken\n", &sc), &sc);
	assert_string_equal(err, "t.scn:3: 'broken' is not an outcome class");
}

static void error_no_name(void **state)
{
	struct scenario sc;

	(void)state;
	/* No trailing newline: the last line is line 2. */
	assert_failed(parse("modules = m\njobs = 2", &sc), &sc);
	assert_string_equal(err, "t.scn:2: no 'name = ...' line");
}

static void error_no_modules(void **state)
{
	struct scenario sc;

	(void)state;
	assert_failed(parse("name = x\n# only a comment\njobs = 2", &sc), &sc);
	assert_string_equal(err, "t.scn:3: no 'modules = ...' line");
}

static void reproduced_replaces_default(void **state)
{
	struct scenario sc;

	(void)state;
	assert_int_equal(parse("name = x\nmodules = m\nreproduced = stale\n", &sc), 0);
	assert_true(sc.reproduced[OUTCOME_STALE]);
	assert_false(sc.reproduced[OUTCOME_EOF]);
	assert_false(sc.reproduced[OUTCOME_BAD_MARSHAL]);
	scenario_free(&sc);
}

static void missing_name_counts_real_lines(void **state)
{
	struct scenario sc;

	(void)state;
	assert_failed(parse("modules = m\njobs = 2\n", &sc), &sc);
	assert_string_equal(err, "t.scn:2: no 'name = ...' line");
}

static void error_nul_bytes(void **state)
{
	static const char text[] = "name = x\nmodules = m\0\n";
	struct scenario sc;

	(void)state;
	err[0] = '\0';
	assert_failed(scenario_parse("t.scn", text, sizeof(text) - 1, &sc, err,
				     sizeof(err)), &sc);
	assert_string_equal(err, "t.scn:2: not a text file (NUL byte)");
}

static void error_too_many_items(void **state)
{
	struct scenario sc;
	char text[1024];
	size_t used, i;

	(void)state;
	used = (size_t)snprintf(text, sizeof(text), "name = x\nmodules = ");
	for (i = 0; i <= SCENARIO_MAX_LIST; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "m%zu,", i);
	assert_true(used < sizeof(text));
	assert_failed(parse(text, &sc), &sc);
	assert_string_equal(err, "t.scn:2: more than 32 items");
}

/* A small error buffer gets a truncated but terminated message. */
static void error_small_buffer(void **state)
{
	struct scenario sc;
	char small[8];

	(void)state;
	memset(small, 'X', sizeof(small));
	assert_int_equal(scenario_parse("t.scn", "jobs = 0", 8, &sc, small,
					sizeof(small)), -1);
	assert_string_equal(small, "t.scn:1");
}

static void load_from_file(void **state)
{
	char dir[] = "/tmp/pycstorm-test-scenario-XXXXXX";
	char path[256];
	struct scenario sc;
	static const char text[] = "name = on-disk\nmodules = small\njobs = 8\n";

	(void)state;
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/a.scn", dir);
	assert_int_equal(write_file_atomic(path, text, strlen(text)), 0);
	assert_int_equal(scenario_load(path, &sc, err, sizeof(err)), 0);
	assert_string_equal(sc.name, "on-disk");
	assert_string_equal(sc.path, path);
	assert_int_equal(sc.jobs, 8);
	scenario_free(&sc);

	(void)snprintf(path, sizeof(path), "%s/missing.scn", dir);
	assert_int_equal(scenario_load(path, &sc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file or directory"));

	/* A FIFO is refused without waiting for a writer. */
	(void)snprintf(path, sizeof(path), "%s/fifo.scn", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(scenario_load(path, &sc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "': not a regular file"));
	assert_int_equal(remove_tree(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_all_keys),
		cmocka_unit_test(parse_defaults),
		cmocka_unit_test(parse_variants),
		cmocka_unit_test(error_unknown_key),
		cmocka_unit_test(error_missing_equals),
		cmocka_unit_test(error_empty_value),
		cmocka_unit_test(error_bad_jobs),
		cmocka_unit_test(error_bad_duration),
		cmocka_unit_test(error_bad_pyc_mode),
		cmocka_unit_test(error_unknown_outcome),
		cmocka_unit_test(error_no_name),
		cmocka_unit_test(error_no_modules),
		cmocka_unit_test(error_nul_bytes),
		cmocka_unit_test(reproduced_replaces_default),
		cmocka_unit_test(missing_name_counts_real_lines),
		cmocka_unit_test(error_too_many_items),
		cmocka_unit_test(error_small_buffer),
		cmocka_unit_test(error_duplicate_key),
		cmocka_unit_test(error_crlf),
		cmocka_unit_test(error_list_items),
		cmocka_unit_test(error_module_name),
		cmocka_unit_test(load_from_file),
	};

	return cmocka_run_group_tests_name("scenario", tests, NULL, NULL);
}
