/*
 * Unit tests for results/model/race-check.c: a race check judged on
 * effective counts (figures of a real gate of Debian's python3 against the
 * gh-126606 checked fixture), the quantiles shared out over the checks of
 * one gate (Bonferroni), both sides taking the larger design effect when
 * both corrupt, a stored baseline taking the new run's, and a side that
 * corrupted in a single block left unjudged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "unit-helpers.h"

#include <math.h>
#include <string.h>

#include "race-check.h"
#include "stats.h"


static struct race_side side(uint64_t corrupt, uint64_t reads, double deff, unsigned df,
			     size_t blocks)
{
	struct race_side s;

	memset(&s, 0, sizeof(s));
	s.corrupt = corrupt;
	s.reads = reads;
	s.deff = s.deff_own = deff;
	s.df = df;
	s.blocks = blocks;
	return s;
}

/* 0/2774 against 49/3439 in bursts (deff 30.865 on 4 df): one check at
 * 95%: Wilson of 0/2774 with z, of 1.588/111.4 with t(4) = 2.776. */
static void starts_corrupting_is_caught(void **state)
{
	struct race_checks rc = { 0 };
	struct race_side o = side(0, 2774, 1.0, 0, 5), n = side(49, 3439, 30.865, 4, 5);

	(void)state;
	race_checks_add(&rc, "gh126606", "native", &o, &n);
	assert_int_equal(race_checks_judge(&rc, 0.05, 0.0), 1);
	assert_true(rc.c[0].regressed);
	assert_near(rc.c[0].lo, 0.00205, 2e-5);
	assert_near(rc.c[0].hi, 0.0892, 2e-4);
	assert_near(rc.c[0].old_side.z, 1.959964, 1e-6);
	assert_near(rc.c[0].new_side.z, 2.776445, 1e-6);
	assert_string_equal(race_check_verdict(&rc.c[0], 0.0), "regressed");
	/* a tolerance above the lower bound lets it pass */
	assert_int_equal(race_checks_judge(&rc, 0.05, 0.01), 0);
	race_checks_free(&rc);
}

/* Four checks: each interval at 1 - 0.05/4, one-sided quantile 0.99375. */
static void bonferroni_over_the_checks(void **state)
{
	struct race_checks rc = { 0 };
	struct race_side o = side(0, 2774, 1.0, 0, 5), n = side(49, 3439, 30.865, 4, 5);
	struct race_side quiet = side(0, 5000, 1.0, 0, 5);

	(void)state;
	race_checks_add(&rc, "gh126606", "native", &o, &n);
	race_checks_add(&rc, "enospc", "native", &quiet, &quiet);
	race_checks_add(&rc, "mypy3215", "native", &quiet, &quiet);
	race_checks_add(&rc, "upgrade", "native", &quiet, &quiet);
	(void)race_checks_judge(&rc, 0.05, 0.0);
	assert_near(rc.c[0].old_side.z, stats_normal_quantile(1.0 - 0.05 / 8), 1e-9);
	assert_near(rc.c[0].new_side.z, stats_t_quantile(1.0 - 0.05 / 8, 4), 1e-9);
	assert_near(rc.c[0].new_side.z, 4.3147, 1e-3);
	/* wider than with one check, still above zero here */
	assert_true(rc.c[0].lo < 0.00205 && rc.c[0].lo > 0.0);
	assert_false(rc.c[1].regressed);
	assert_string_equal(race_check_verdict(&rc.c[1], 0.0), "no significant change");
	race_checks_free(&rc);
}

/* A self-gate's figures: 103/3164 (deff 7.3) and 6/3061 (evenly spread,
 * deff 1). Alone, the quiet side's interval is narrow enough to call a
 * change; sharing the larger deff it is none, either way round. */
static void both_corrupt_share_the_larger_deff(void **state)
{
	struct race_checks rc = { 0 };
	struct race_side busy = side(103, 3164, 7.3, 4, 5), calm = side(6, 3061, 1.0, 4, 5);
	const double q = 1.0 - 0.05 / 4;
	const struct stats_side alone_calm = { 6, 3061, stats_t_quantile(q, 4) };
	const struct stats_side alone_busy = { 103 / 7.3, 3164 / 7.3, stats_t_quantile(q, 4) };
	double lo, hi;

	(void)state;
	/* each with its own deff: a regression from calm to busy */
	stats_newcombe_sides(&alone_calm, &alone_busy, &lo, &hi);
	assert_true(lo > 0.0);
	race_checks_add(&rc, "gh126606", "native", &calm, &busy);
	race_checks_add(&rc, "gh126606", "native", &busy, &calm);
	assert_int_equal(race_checks_judge(&rc, 0.05, 0.0), 0);
	assert_near(rc.c[0].old_side.deff, 7.3, 0);
	assert_near(rc.c[0].old_side.deff_own, 1.0, 0);
	assert_near(rc.c[1].new_side.deff, 7.3, 0);
	assert_true(rc.c[0].lo < 0.0 && rc.c[1].hi > 0.0);
	race_checks_free(&rc);
}

static void stored_baseline_takes_the_new_runs_deff(void **state)
{
	struct race_checks rc = { 0 };
	struct race_side o = side(20, 3000, 1.0, 0, 0), n = side(30, 3000, 12.5, 6, 7);

	(void)state;
	o.deff_assumed = 1;
	race_checks_add(&rc, "gh126606", "native", &o, &n);
	assert_near(rc.c[0].old_side.deff, 12.5, 0);
	assert_int_equal(rc.c[0].old_side.df, 6);
	race_checks_free(&rc);
}

static void one_block_is_not_judged(void **state)
{
	struct race_checks rc = { 0 };
	struct race_side o = side(0, 900, 1.0, 0, 1), n = side(300, 900, 1.0, 0, 1);

	(void)state;
	n.too_few_blocks = 1;
	race_checks_add(&rc, "gh126606", "native", &o, &n);
	assert_int_equal(race_checks_judge(&rc, 0.05, 0.0), 0);
	assert_non_null(strstr(race_check_verdict(&rc.c[0], 0.0), "not judged"));
	race_checks_free(&rc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(starts_corrupting_is_caught),
		cmocka_unit_test(bonferroni_over_the_checks),
		cmocka_unit_test(both_corrupt_share_the_larger_deff),
		cmocka_unit_test(stored_baseline_takes_the_new_runs_deff),
		cmocka_unit_test(one_block_is_not_judged),
	};

	return cmocka_run_group_tests_name("race-check", tests, NULL, NULL);
}
