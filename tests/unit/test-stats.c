/*
 * Unit tests for results/model/stats.c: the Wilson score interval (known values
 * and the edge cases n == 0, k == 0, k == n), Newcombe's hybrid score
 * interval against the worked example of Newcombe (1998), and the
 * log-linear histogram: bucket bounds, quantile accuracy, exact merging,
 * and a checked merge that refuses to wrap past 2^64-1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "stats.h"

/* Fail with both numbers shown when |got - want| > tol. */
#define assert_near(got, want, tol)                                          \
	do {                                                                 \
		double g_ = (got), w_ = (want);                              \
		if (!(fabs(g_ - w_) <= (tol)))                               \
			fail_msg("%s = %.6f, expected %.6f (+/- %g)", #got,  \
				 g_, w_, (double)(tol));                     \
	} while (0)

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
		cmocka_unit_test(hist_bucket_bounds),
		cmocka_unit_test(hist_buckets_contiguous),
		cmocka_unit_test(hist_quantiles_accurate),
		cmocka_unit_test(hist_merge_exact),
		cmocka_unit_test(hist_merge_checked_refuses_wrap),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
