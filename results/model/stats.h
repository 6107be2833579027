/*
 * Scoring arithmetic: Wilson score intervals for a rate, Newcombe's hybrid
 * score interval for a difference of two rates, and a log-linear latency
 * histogram that merges by adding counts, so shards and workers combine
 * exactly and percentiles are recomputed from the merged buckets.
 */
#ifndef PYCSTORM_STATS_H
#define PYCSTORM_STATS_H

#include <stddef.h>
#include <stdint.h>

#define STATS_Z95 1.959963984540054

/* Wilson interval for k events in n trials; n == 0 gives [0, 1]. */
void stats_wilson(uint64_t k, uint64_t n, double z, double *lo, double *hi);
/* Newcombe (method 10) interval for p2 - p1. */
void stats_newcombe(uint64_t k1, uint64_t n1, uint64_t k2, uint64_t n2,
		    double z, double *lo, double *hi);

/*
 * Dependent trials. Cycles of a race come in bursts, so k corrupt in n is
 * not binomial: its variance is deff times the binomial one. Dividing both
 * counts by deff gives the binomial sample of the same information (the
 * effective counts), and the Wilson and Newcombe intervals take those.
 */

/* One side of a comparison: effective counts and its critical value. */
struct stats_side {
	double k, n;            /* effective events and trials (k/deff, n/deff) */
	double z;               /* the quantile its interval is built with */
};

/* Wilson on real-valued counts; stats_wilson is this on whole ones. */
void stats_wilson_real(double k, double n, double z, double *lo, double *hi);
/* Newcombe for p2 - p1, each side's Wilson interval with its own z. */
void stats_newcombe_sides(const struct stats_side *s1, const struct stats_side *s2,
			  double *lo, double *hi);
/*
 * The design effect of blocks (k[i] events in n[i] trials each, blocks
 * in a row of one run): Pearson's X^2 about the pooled rate over its
 * nblocks - 1 degrees of freedom, never below 1 (blocks never make the
 * interval narrower than the binomial one). *df gets those degrees of
 * freedom, or 0 when nothing could be estimated (no event, every trial an
 * event, fewer than two blocks with trials): then 1 is returned.
 */
double stats_design_effect(const uint64_t *k, const uint64_t *n, size_t nblocks,
			   unsigned *df);
/* The standard normal quantile: P(Z <= x) = p, for 0 < p < 1. */
double stats_normal_quantile(double p);
/* Student's t quantile with df degrees of freedom (df 0: the normal one). */
double stats_t_quantile(double p, unsigned df);

/*
 * Buckets: values below 2^HIST_SUB_BITS are exact; above, each power of two
 * is split into 2^HIST_SUB_BITS equal buckets (relative error < 1/32).
 */
#define HIST_SUB_BITS 5
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
	uint64_t buckets[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t value);
void hist_add_n(struct hist *h, uint64_t value, uint64_t n);
void hist_merge(struct hist *dst, const struct hist *src);
/* hist_merge, unless the count, the sum or a bucket would pass 2^64-1:
 * then dst is left as it was and the field is named ("sum"). NULL when
 * merged. */
const char *hist_merge_checked(struct hist *dst, const struct hist *src);
/* The value below which a fraction q of the samples fall (upper bound of
 * the bucket holding that rank, clamped to the maximum seen). */
uint64_t hist_quantile(const struct hist *h, double q);
size_t hist_index(uint64_t value);
uint64_t hist_bucket_low(size_t index);
uint64_t hist_bucket_high(size_t index);

#endif
