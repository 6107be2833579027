/*
 * Unit tests for runners/worker/worker-args.c: worker_build_argv and
 * worker_parse_args are inverses. A worker_args with every option away from
 * its default, built and parsed again, gives back the same values, field
 * for field; so does one at its defaults. The comparison and the coverage
 * check walk WORKER_OPTIONS, so an option added to the list is checked
 * without touching this file. The defaults are the documented ones, and
 * the parser refuses unknown options, missing values, bad numbers and
 * names, a missing required option, and one module too many.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "event.h"
#include "worker.h"

static int count_argv(char **argv)
{
	int n = 0;

	while (argv[n])
		n++;
	return n;
}

/* ---- one comparison per option kind ------------------------------------ */

static void eq_STR(const char *const *a, const char *const *b, const struct worker_args *wa,
		   const char *name)
{
	(void)wa;
	if (!*a || !*b) {
		if (*a != *b)
			fail_msg("--%s: '%s' came back as '%s'", name, *a ? *a : "(none)",
				 *b ? *b : "(none)");
		return;
	}
	if (strcmp(*a, *b) != 0)
		fail_msg("--%s: '%s' came back as '%s'", name, *a, *b);
}

static void eq_LIST(const char *const (*a)[WORKER_MAX_MODULES],
		    const char *const (*b)[WORKER_MAX_MODULES], const struct worker_args *wa,
		    const char *name)
{
	size_t i;

	for (i = 0; i < wa->nmodules; i++)
		if (strcmp((*a)[i], (*b)[i]) != 0)
			fail_msg("--%s #%zu: '%s' came back as '%s'", name, i, (*a)[i], (*b)[i]);
}

#define EQ_NUMBER(kind, type)                                                 \
	static void eq_##kind(const type *a, const type *b, const struct worker_args *wa, \
			      const char *name)                               \
	{                                                                     \
		(void)wa;                                                     \
		if (*a != *b)                                                 \
			fail_msg("--%s: %llu came back as %llu", name,        \
				 (unsigned long long)*a, (unsigned long long)*b); \
	}
EQ_NUMBER(ROLE, enum worker_role)
EQ_NUMBER(PYC, enum pyc_mode)
EQ_NUMBER(U64, uint64_t)
EQ_NUMBER(UINT, unsigned)
EQ_NUMBER(INT, int)
EQ_NUMBER(BOOL, int)

static void assert_same_args(const struct worker_args *a, const struct worker_args *b)
{
	assert_int_equal(a->nmodules, b->nmodules);
#define X(name, kind, field, def, required) eq_##kind(&a->field, &b->field, a, name);
	WORKER_OPTIONS(X)
#undef X
}

/* Build a's argv, parse it into *b; the argv is returned for freeing. */
static char **round_trip(const struct worker_args *a, struct worker_args *b)
{
	char **argv = worker_build_argv("pycstorm-worker", a);

	assert_string_equal(argv[0], "pycstorm-worker");
	assert_int_equal(worker_parse_args(count_argv(argv), argv, b), 0);
	return argv;
}

/* Every field away from its default. */
static void fill_everything(struct worker_args *a)
{
	worker_args_defaults(a);
	a->strategy = "file:/some/where/fix.py";
	a->cache_kind = "json,pickle";
	a->role = ROLE_RECOVER;
	a->cache_dir = "/cache root/with space";
	a->modules[a->nmodules++] = "small:/m/small/v1.py,/m/small/v2.py";
	a->modules[a->nmodules++] = "medium:/m/medium/v1.py";
	a->modules[a->nmodules++] = "large:/m/large/v1.py";
	a->pyc_mode = PYC_UNCHECKED_HASH;
	a->seed = UINT64_MAX;
	a->worker = 255;
	a->iterations = 123456789012ull;
	a->deadline_ns = 1ull << 62;
	a->duration_ns = 3000000000ull;
	a->import_writes = !a->import_writes;
	a->tmp_id = 0x7f0000001230ull;
	a->retry_budget_ns = 250000000ull;
	a->evidence_dir = "/run/evidence";
	a->evidence_max = WORKER_EVIDENCE_MAX + 7;
	a->event_fd = EVENT_FD + 4;
	a->trace = "/run/trace/fix.py-w255.log";
	a->runner = "embedded";
	a->strategies_lib = "/lib/pycstorm/libpycstorm-strategies.so";
}

static void round_trip_everything(void **state)
{
	struct worker_args a, b, d;
	char **argv;
	int i, seen;

	(void)state;
	fill_everything(&a);
	argv = round_trip(&a, &b);
	assert_same_args(&a, &b);
	/* every field really was away from its default, and every option was
	 * written: a new option the filler misses fails here */
	worker_args_defaults(&d);
#define X(name, kind, field, def, required)                                   \
	assert_int_not_equal(memcmp(&a.field, &d.field, sizeof(a.field)), 0);  \
	for (seen = 0, i = 1; argv[i]; i += 2)                                 \
		seen |= !strcmp(argv[i], "--" name);                           \
	if (!seen)                                                             \
		fail_msg("worker_build_argv wrote no --%s", name);
	WORKER_OPTIONS(X)
#undef X
	worker_free_argv(argv);
}

static void round_trip_defaults(void **state)
{
	struct worker_args a, b;
	char **argv;

	(void)state;
	worker_args_defaults(&a);
	a.strategy = "py33-atomic";
	a.cache_dir = "/c";
	a.modules[a.nmodules++] = "small:/m/v1.py";
	a.event_fd = EVENT_FD;
	argv = round_trip(&a, &b);
	assert_same_args(&a, &b);
	worker_free_argv(argv);
}

/* What a worker gets when the orchestrator leaves an option out. */
static void defaults(void **state)
{
	struct worker_args a;

	(void)state;
	worker_args_defaults(&a);
	assert_int_equal(a.import_writes, 1);      /* an import that misses writes, as importlib */
	assert_int_equal(a.evidence_max, WORKER_EVIDENCE_MAX);
	assert_int_equal(a.retry_budget_ns, 100000000ull);
	assert_string_equal(a.cache_kind, "pyc");
	assert_string_equal(a.runner, "interpreter");
	assert_int_equal(a.role, ROLE_COMPILE);
	assert_int_equal(a.pyc_mode, PYC_TIMESTAMP);
	assert_int_equal(a.event_fd, -1);
	assert_null(a.strategy);
	assert_null(a.evidence_dir);
	assert_null(a.trace);
	assert_int_equal(a.nmodules, 0);
}

static int parse_list(const char *const *words)
{
	char *argv[64];
	struct worker_args a;
	int n = 0;

	argv[n++] = "pycstorm-worker";
	while (*words)
		argv[n++] = (char *)*words++;
	argv[n] = NULL;
	return worker_parse_args(n, argv, &a);
}

#define REQUIRED "--strategy", "py33-atomic", "--cache", "/c", "--module", "m:/v1.py", \
	"--event-fd", "3"

static void refusals(void **state)
{
	static const char *const good[] = { REQUIRED, NULL };
	static const char *const unknown[] = { REQUIRED, "--colour", "red", NULL };
	static const char *const no_dashes[] = { REQUIRED, "seed", "1", NULL };
	static const char *const no_value[] = { REQUIRED, "--seed", NULL };
	static const char *const bad_number[] = { REQUIRED, "--seed", "12x", NULL };
	static const char *const negative[] = { REQUIRED, "--worker", "-1", NULL };
	static const char *const too_big[] = { REQUIRED, "--worker", "4294967296", NULL };
	static const char *const bad_role[] = { REQUIRED, "--role", "reader", NULL };
	static const char *const bad_pyc[] = { REQUIRED, "--pyc", "hash", NULL };
	static const char *const no_strategy[] = { "--cache", "/c", "--module", "m:/v1.py",
						   "--event-fd", "3", NULL };
	static const char *const no_fd[] = { "--strategy", "s", "--cache", "/c", "--module",
					     "m:/v1.py", NULL };

	(void)state;
	assert_int_equal(parse_list(good), 0);
	assert_int_equal(parse_list(unknown), -1);
	assert_int_equal(parse_list(no_dashes), -1);
	assert_int_equal(parse_list(no_value), -1);
	assert_int_equal(parse_list(bad_number), -1);
	assert_int_equal(parse_list(negative), -1);
	assert_int_equal(parse_list(too_big), -1);
	assert_int_equal(parse_list(bad_role), -1);
	assert_int_equal(parse_list(bad_pyc), -1);
	assert_int_equal(parse_list(no_strategy), -1);
	assert_int_equal(parse_list(no_fd), -1);
}

static void too_many_modules(void **state)
{
	char *argv[2 * WORKER_MAX_MODULES + 16];
	struct worker_args a;
	int n = 0, i;

	(void)state;
	argv[n++] = "pycstorm-worker";
	argv[n++] = "--strategy";
	argv[n++] = "py33-atomic";
	argv[n++] = "--cache";
	argv[n++] = "/c";
	argv[n++] = "--event-fd";
	argv[n++] = "3";
	for (i = 0; i < WORKER_MAX_MODULES; i++) {
		argv[n++] = "--module";
		argv[n++] = "m:/v1.py";
	}
	argv[n] = NULL;
	assert_int_equal(worker_parse_args(n, argv, &a), 0);
	assert_int_equal(a.nmodules, WORKER_MAX_MODULES);
	argv[n++] = "--module";
	argv[n++] = "m:/v1.py";
	argv[n] = NULL;
	assert_int_equal(worker_parse_args(n, argv, &a), -1);
}

static void role_and_mode_names(void **state)
{
	(void)state;
	assert_string_equal(worker_role_name(ROLE_COMPILE), "compile");
	assert_string_equal(worker_role_name(ROLE_IMPORT), "import");
	assert_string_equal(worker_role_name(ROLE_RECOVER), "recover");
	assert_string_equal(worker_role_name(ROLE_COUNT), "?");
	assert_int_equal(pyc_mode_from_name(pyc_mode_name(PYC_CHECKED_HASH)), PYC_CHECKED_HASH);
	assert_int_equal(pyc_mode_from_name("nonsense"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_everything),
		cmocka_unit_test(round_trip_defaults),
		cmocka_unit_test(defaults),
		cmocka_unit_test(refusals),
		cmocka_unit_test(too_many_modules),
		cmocka_unit_test(role_and_mode_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
