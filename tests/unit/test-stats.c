/*
 * Unit tests for results/model/stats.c: the Wilson score interval (known values
 * and the edge cases n == 0, k == 0, k == n), Newcombe's hybrid score
 * interval against the worked example of Newcombe (1998), the same on
 * effective counts with a design effect, the design effect of blocks,
 * normal and Student's t quantiles against table values, and the
 * log-linear histogram: bucket bounds, quantile accuracy, exact merging,
 * and a checked merge that refuses to wrap past 2^64-1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "unit-helpers.h"

#include <math.h>
#include <string.h>

#include "stats.h"

/* Fail with both numbers shown when |got - want| > tol. */

/* ---- Wilson ------------------------------------------------------------ */

static void wilson_zero_events(void **state)
{
	double lo = -1, hi = -1;

	(void)state;
	stats_wilson(0, 100, STATS_Z95, &lo, &hi);
	assert_true(lo == 0.0);
	/* z^2 / (n + z^2) = 3.8415 / 103.8415 */
	assert_near(hi, 0.036993, 5e-5);
}

static void wilson_five_in_hundred(void **state)
{
	double lo, hi;

	(void)state;
	stats_wilson(5, 100, STATS_Z95, &lo, &hi);
	assert_near(lo, 0.021544, 5e-5);
	assert_near(hi, 0.111750, 5e-5);
}

static void wilson_no_trials(void **state)
{
	double lo = -1, hi = -1;

	(void)state;
	stats_wilson(0, 0, STATS_Z95, &lo, &hi);
	assert_true(lo == 0.0);
	assert_true(hi == 1.0);
}

static void wilson_all_events(void **state)
{
	double lo, hi;

	(void)state;
	stats_wilson(100, 100, STATS_Z95, &lo, &hi);
	assert_true(hi == 1.0);
	/* mirror image of k = 0: 1 - 0.036993 */
	assert_near(lo, 1.0 - 0.036993, 5e-5);

	stats_wilson(1, 1, STATS_Z95, &lo, &hi);
	assert_true(hi == 1.0);
	assert_near(lo, 0.206543, 5e-5);
}

/* The interval always holds the point estimate and stays inside [0, 1]. */
static void wilson_contains_estimate(void **state)
{
	static const uint64_t ns[] = { 1, 2, 7, 30, 1000, 123457 };
	double lo, hi, p;
	size_t i;
	uint64_t k;

	(void)state;
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		for (k = 0; k <= ns[i]; k += 1 + ns[i] / 13) {
			stats_wilson(k, ns[i], STATS_Z95, &lo, &hi);
			p = (double)k / (double)ns[i];
			assert_true(lo >= 0.0 && hi <= 1.0);
			assert_true(lo <= p && p <= hi);
		}
	}
}

/* ---- Newcombe ---------------------------------------------------------- */

/*
 * Newcombe, Statistics in Medicine 17:873-890 (1998), Table II example (a):
 * 56/70 vs 48/80, method 10 gives 0.0524 to 0.3339 for p1 - p2 = 0.2.
 * stats_newcombe returns the interval for p2 - p1, so it is mirrored.
 */
static void newcombe_worked_example(void **state)
{
	double lo, hi;

	(void)state;
	stats_newcombe(56, 70, 48, 80, STATS_Z95, &lo, &hi);
	assert_near(lo, -0.3339, 1e-4);
	assert_near(hi, -0.0524, 1e-4);

	/* Swapping the pairs mirrors the interval. */
	stats_newcombe(48, 80, 56, 70, STATS_Z95, &lo, &hi);
	assert_near(lo, 0.0524, 1e-4);
	assert_near(hi, 0.3339, 1e-4);
}

static void newcombe_equal_rates(void **state)
{
	double lo, hi;

	(void)state;
	stats_newcombe(10, 100, 10, 100, STATS_Z95, &lo, &hi);
	assert_true(lo < 0.0 && hi > 0.0);
	assert_near(lo, -hi, 1e-12);
}

/* ---- dependent trials ------------------------------------------------- */

/* Four times the worked example's counts with a design effect of 4 carry
 * the information of the example itself: the same interval. */
static void newcombe_effective_counts(void **state)
{
	const struct stats_side s1 = { 224.0 / 4, 280.0 / 4, STATS_Z95 };
	const struct stats_side s2 = { 192.0 / 4, 320.0 / 4, STATS_Z95 };
	double lo, hi, plain_lo, plain_hi;

	(void)state;
	stats_newcombe_sides(&s1, &s2, &lo, &hi);
	assert_near(lo, -0.3339, 1e-4);
	assert_near(hi, -0.0524, 1e-4);
	/* the same counts taken as independent give a narrower interval */
	stats_newcombe(224, 280, 192, 320, STATS_Z95, &plain_lo, &plain_hi);
	assert_true(plain_lo > lo && plain_hi < hi);
}

/* A wider quantile on one side widens only that side's share. */
static void newcombe_sides_own_z(void **state)
{
	const struct stats_side a = { 10, 100, STATS_Z95 }, wide = { 10, 100, 4.0 };
	double lo1, hi1, lo2, hi2;

	(void)state;
	stats_newcombe_sides(&a, &a, &lo1, &hi1);
	stats_newcombe(10, 100, 10, 100, STATS_Z95, &lo2, &hi2);
	assert_near(lo1, lo2, 1e-12);
	assert_near(hi1, hi2, 1e-12);
	stats_newcombe_sides(&a, &wide, &lo2, &hi2);
	assert_true(lo2 < lo1 && hi2 > hi1);
}

static void design_effect_known_values(void **state)
{
	const uint64_t even_k[] = { 5, 5, 5, 5 }, n100[] = { 100, 100, 100, 100 };
	const uint64_t burst_k[] = { 0, 10 }, spread_k[] = { 2, 8, 5 };
	unsigned df = 99;

	(void)state;
	/* every block at the pooled rate: X^2 = 0, floored at 1 */
	assert_near(stats_design_effect(even_k, n100, 4, &df), 1.0, 1e-12);
	assert_int_equal(df, 3);
	/* p = 0.05, residuals -5 and +5: X^2 = 50 / 4.75 on 1 df */
	assert_near(stats_design_effect(burst_k, n100, 2, &df), 50.0 / 4.75, 1e-9);
	assert_int_equal(df, 1);
	/* residuals -3, +3, 0: X^2 = 18 / 4.75 on 2 df */
	assert_near(stats_design_effect(spread_k, n100, 3, &df), 18.0 / 4.75 / 2.0, 1e-9);
	assert_int_equal(df, 2);
}

static void design_effect_not_estimable(void **state)
{
	const uint64_t none[] = { 0, 0, 0 }, n[] = { 50, 0, 70 }, all[] = { 50, 0, 70 };
	const uint64_t one_k[] = { 3 }, one_n[] = { 40 };
	unsigned df = 99;

	(void)state;
	assert_near(stats_design_effect(none, n, 3, &df), 1.0, 0);
	assert_int_equal(df, 0);
	assert_near(stats_design_effect(all, n, 3, &df), 1.0, 0);
	assert_int_equal(df, 0);
	assert_near(stats_design_effect(one_k, one_n, 1, &df), 1.0, 0);
	assert_int_equal(df, 0);
	/* an empty block is no block: one df from the two with trials */
	stats_design_effect((const uint64_t[]){ 1, 0, 4 }, n, 3, &df);
	assert_int_equal(df, 1);
}

/* Table values of the standard normal and Student's t distributions. */
static void quantiles_known_values(void **state)
{
	(void)state;
	assert_near(stats_normal_quantile(0.975), 1.959964, 1e-6);
	assert_near(stats_normal_quantile(0.995), 2.575829, 1e-6);
	assert_near(stats_normal_quantile(0.5), 0.0, 1e-12);
	assert_near(stats_normal_quantile(0.025), -1.959964, 1e-6);
	assert_near(stats_t_quantile(0.975, 1), 12.706205, 1e-5);
	assert_near(stats_t_quantile(0.95, 2), 2.919986, 1e-6);
	assert_near(stats_t_quantile(0.975, 4), 2.776445, 1e-6);
	assert_near(stats_t_quantile(0.995, 10), 3.169273, 1e-6);
	assert_near(stats_t_quantile(0.975, 30), 2.042272, 1e-6);
	assert_near(stats_t_quantile(0.025, 4), -2.776445, 1e-6);
	/* df 0: the normal quantile; many df: close to it */
	assert_near(stats_t_quantile(0.975, 0), 1.959964, 1e-6);
	assert_near(stats_t_quantile(0.975, 2000), 1.961151, 1e-5);
}

/* ---- histogram --------------------------------------------------------- */

static void hist_bucket_bounds(void **state)
{
	static const uint64_t values[] = {
		0, 1, 2, 31, 32, 33, 63, 64, 65, 100, 1000, 1023, 1024, 4095,
		1000000, 123456789, 1000000000, 1ull << 40, (1ull << 40) + 1,
		UINT64_MAX / 2, UINT64_MAX / 2 + 1, UINT64_MAX - 1, UINT64_MAX,
	};
	size_t i, idx;
	uint64_t v, lo, hi;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		v = values[i];
		idx = hist_index(v);
		assert_true(idx < HIST_BUCKETS);
		lo = hist_bucket_low(idx);
		hi = hist_bucket_high(idx);
		if (!(lo <= v && v <= hi))
			fail_msg("value %llu in bucket %zu [%llu, %llu]",
				 (unsigned long long)v, idx,
				 (unsigned long long)lo, (unsigned long long)hi);
	}
	/* Values below HIST_SUB are exact. */
	for (v = 0; v < HIST_SUB; v++) {
		assert_int_equal(hist_index(v), v);
		assert_int_equal(hist_bucket_low(v), v);
		assert_int_equal(hist_bucket_high(v), v);
	}
	assert_int_equal(hist_index(UINT64_MAX), HIST_BUCKETS - 1);
	assert_true(hist_bucket_high(HIST_BUCKETS - 1) == UINT64_MAX);
}

/* Buckets tile the number line: each starts right after the previous. */
static void hist_buckets_contiguous(void **state)
{
	size_t i;

	(void)state;
	assert_int_equal(hist_bucket_low(0), 0);
	for (i = 0; i + 1 < HIST_BUCKETS; i++) {
		assert_true(hist_bucket_low(i) <= hist_bucket_high(i));
		assert_true(hist_bucket_high(i) + 1 == hist_bucket_low(i + 1));
		assert_int_equal(hist_index(hist_bucket_low(i)), i);
		assert_int_equal(hist_index(hist_bucket_high(i)), i);
	}
}

static void hist_quantiles_accurate(void **state)
{
	static const double qs[] = { 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9,
				     0.99, 0.999, 1.0 };
	struct hist h;
	uint64_t v, exact, got;
	size_t i;

	(void)state;
	hist_init(&h);
	for (v = 1; v <= 10000; v++)
		hist_add(&h, v);
	assert_int_equal(h.count, 10000);
	assert_int_equal(h.sum, 50005000);
	assert_int_equal(h.min, 1);
	assert_int_equal(h.max, 10000);
	for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		exact = (uint64_t)ceil(qs[i] * 10000.0);
		got = hist_quantile(&h, qs[i]);
		/* The upper bound of the bucket: never below, < 1/32 above. */
		if (got < exact || (double)(got - exact) > (double)exact / 32.0)
			fail_msg("q=%g: got %llu, exact %llu", qs[i],
				 (unsigned long long)got, (unsigned long long)exact);
	}
	assert_int_equal(hist_quantile(&h, 1.0), 10000);
	assert_int_equal(hist_quantile(&h, 0.0), 1);

	hist_init(&h);
	assert_int_equal(hist_quantile(&h, 0.5), 0);
	hist_add_n(&h, 777, 5);
	assert_int_equal(hist_quantile(&h, 0.5), 777);   /* clamped to max */
}

static void hist_merge_exact(void **state)
{
	struct hist all, a, b;
	struct hist empty;
	uint64_t v, x = 12345;
	size_t i;

	(void)state;
	hist_init(&all);
	hist_init(&a);
	hist_init(&b);
	for (i = 0; i < 20000; i++) {
		/* spread over many magnitudes */
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		v = (x >> 33) >> (x & 31);
		hist_add(&all, v);
		hist_add(i % 2 ? &a : &b, v);
	}
	hist_merge(&a, &b);
	assert_int_equal(a.count, all.count);
	assert_int_equal(a.sum, all.sum);
	assert_int_equal(a.min, all.min);
	assert_int_equal(a.max, all.max);
	for (i = 0; i < HIST_BUCKETS; i++)
		if (a.buckets[i] != all.buckets[i])
			fail_msg("bucket %zu: %llu != %llu", i,
				 (unsigned long long)a.buckets[i],
				 (unsigned long long)all.buckets[i]);
	assert_true(memcmp(&a, &all, sizeof(a)) == 0);

	/* Merging an empty histogram changes nothing, either way round. */
	hist_init(&empty);
	hist_merge(&a, &empty);
	assert_true(memcmp(&a, &all, sizeof(a)) == 0);
	hist_merge(&empty, &all);
	assert_true(memcmp(&empty, &all, sizeof(all)) == 0);
}

/* A merge that would wrap names the field and leaves dst as it was. */
static void hist_merge_checked_refuses_wrap(void **state)
{
	struct hist dst, src, before;

	(void)state;
	hist_init(&dst);
	hist_init(&src);
	hist_add_n(&dst, 1000, UINT64_MAX - 5);
	hist_add_n(&src, 1000, 5);
	assert_null(hist_merge_checked(&dst, &src));   /* exactly 2^64-1: fits */
	assert_int_equal(dst.count, UINT64_MAX);
	before = dst;
	hist_init(&src);
	hist_add(&src, 7);
	assert_string_equal(hist_merge_checked(&dst, &src), "count");
	assert_true(memcmp(&dst, &before, sizeof(dst)) == 0);

	hist_init(&dst);
	hist_init(&src);
	hist_add(&dst, UINT64_MAX - 1);
	hist_add(&src, 2);
	assert_string_equal(hist_merge_checked(&dst, &src), "sum");
	assert_int_equal(dst.count, 1);

	/* A bucket can wrap on its own in a hand-made histogram. */
	hist_init(&dst);
	hist_init(&src);
	dst.buckets[3] = UINT64_MAX;
	src.buckets[3] = 1;
	assert_string_equal(hist_merge_checked(&dst, &src), "buckets");
	assert_int_equal(dst.buckets[3], UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wilson_zero_events),
		cmocka_unit_test(wilson_five_in_hundred),
		cmocka_unit_test(wilson_no_trials),
		cmocka_unit_test(wilson_all_events),
		cmocka_unit_test(wilson_contains_estimate),
		cmocka_unit_test(newcombe_worked_example),
		cmocka_unit_test(newcombe_equal_rates),
		cmocka_unit_test(newcombe_effective_counts),
		cmocka_unit_test(newcombe_sides_own_z),
		cmocka_unit_test(design_effect_known_values),
		cmocka_unit_test(design_effect_not_estimable),
		cmocka_unit_test(quantiles_known_values),
		cmocka_unit_test(hist_bucket_bounds),
		cmocka_unit_test(hist_buckets_contiguous),
		cmocka_unit_test(hist_quantiles_accurate),
		cmocka_unit_test(hist_merge_exact),
		cmocka_unit_test(hist_merge_checked_refuses_wrap),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
