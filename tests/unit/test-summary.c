/*
 * Unit tests for results/model/summary.c's arithmetic guards: a strategy whose
 * counts or histograms would add up past 2^64-1 is named, and a fault
 * count that would wrap is refused and left as it was, so no merge or
 * figure ever shows a wrapped number.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "summary.h"

static void overflows_names_the_field(void **state)
{
	struct summary s = { 0 };
	struct strategy_result *r;

	(void)state;
	r = summary_result(&s, "a");
	assert_null(summary_result_overflows(r));
	r->counts[OP_COMPILE][OUTCOME_OK] = UINT64_MAX - 1;
	r->counts[OP_IMPORT][OUTCOME_EOF] = 1;
	assert_null(summary_result_overflows(r));        /* 2^64-1 in all: fits */
	r->counts[OP_IMPORT][OUTCOME_WORKER_CRASH] = 1;   /* deaths count too */
	assert_string_equal(summary_result_overflows(r), "by_op counts");

	memset(r->counts, 0, sizeof(r->counts));
	r->latency[OP_COMPILE].count = UINT64_MAX;
	r->latency[OP_WRITE].count = 1;
	assert_string_equal(summary_result_overflows(r), "latency_hist_ns counts");
	r->latency[OP_WRITE].count = 0;
	r->latency[OP_IMPORT].sum = UINT64_MAX;
	r->latency[OP_RECOVER].sum = 1;
	assert_string_equal(summary_result_overflows(r), "latency_hist_ns sums");
	summary_free(&s);
}

static void fault_count_refuses_wrap(void **state)
{
	struct summary s = { 0 };
	struct strategy_result *r;

	(void)state;
	r = summary_result(&s, "a");
	assert_int_equal(summary_count_fault(r, "pycstorm/write/short", UINT64_MAX - 1), 0);
	assert_int_equal(summary_count_fault(r, "pycstorm/write/short", 1), 0);
	assert_int_equal(summary_count_fault(r, "pycstorm/write/short", 1), -1);
	assert_int_equal(r->nfaults, 1);
	assert_int_equal(r->faults[0].count, UINT64_MAX);
	/* Another point is its own count. */
	assert_int_equal(summary_count_fault(r, "pycstorm/crash", 3), 0);
	assert_int_equal(r->nfaults, 2);
	assert_string_equal(r->faults[0].point, "pycstorm/crash");
	summary_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(overflows_names_the_field),
		cmocka_unit_test(fault_count_refuses_wrap),
	};

	return cmocka_run_group_tests_name("summary", tests, NULL, NULL);
}
