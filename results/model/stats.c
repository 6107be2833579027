/* Scoring arithmetic; see stats.h. */
#include "stats.h"

#include <math.h>
#include <string.h>

void stats_wilson_real(double k, double n, double z, double *lo, double *hi)
{
	double p, z2, denom, centre, half;

	if (!(n > 0.0)) {
		*lo = 0.0;
		*hi = 1.0;
		return;
	}
	p = k / n;
	z2 = z * z;
	denom = 1.0 + z2 / n;
	centre = (p + z2 / (2.0 * n)) / denom;
	half = z * sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom;
	*lo = k <= 0.0 ? 0.0 : fmax(0.0, centre - half);
	*hi = k >= n ? 1.0 : fmin(1.0, centre + half);
}

void stats_wilson(uint64_t k, uint64_t n, double z, double *lo, double *hi)
{
	stats_wilson_real((double)k, (double)n, z, lo, hi);
}

void stats_newcombe_sides(const struct stats_side *s1, const struct stats_side *s2,
			  double *lo, double *hi)
{
	double l1, u1, l2, u2, p1, p2, d;

	stats_wilson_real(s1->k, s1->n, s1->z, &l1, &u1);
	stats_wilson_real(s2->k, s2->n, s2->z, &l2, &u2);
	p1 = s1->n > 0.0 ? s1->k / s1->n : 0.0;
	p2 = s2->n > 0.0 ? s2->k / s2->n : 0.0;
	d = p2 - p1;
	*lo = d - sqrt((p2 - l2) * (p2 - l2) + (u1 - p1) * (u1 - p1));
	*hi = d + sqrt((u2 - p2) * (u2 - p2) + (p1 - l1) * (p1 - l1));
}

void stats_newcombe(uint64_t k1, uint64_t n1, uint64_t k2, uint64_t n2,
		    double z, double *lo, double *hi)
{
	const struct stats_side s1 = { (double)k1, (double)n1, z };
	const struct stats_side s2 = { (double)k2, (double)n2, z };

	stats_newcombe_sides(&s1, &s2, lo, hi);
}

double stats_design_effect(const uint64_t *k, const uint64_t *n, size_t nblocks,
			   unsigned *df)
{
	double events = 0.0, trials = 0.0, p, x2 = 0.0, d, deff = 1.0;
	size_t i, used = 0;

	for (i = 0; i < nblocks; i++) {
		events += (double)k[i];
		trials += (double)n[i];
		used += n[i] > 0;
	}
	*df = 0;
	if (used < 2 || events <= 0.0 || events >= trials)
		return deff;
	p = events / trials;
	for (i = 0; i < nblocks; i++) {
		if (!n[i])
			continue;
		d = (double)k[i] - p * (double)n[i];
		x2 += d * d / (p * (1.0 - p) * (double)n[i]);
	}
	*df = (unsigned)(used - 1);
	deff = x2 / (double)*df;
	return deff > 1.0 ? deff : 1.0;
}

double stats_normal_quantile(double p)
{
	double lo = -40.0, hi = 40.0, mid;
	int i;

	/* Bisection on the CDF: slow next to a rational approximation, but
	 * exact to the last bit and called a handful of times per gate. */
	for (i = 0; i < 200; i++) {
		mid = 0.5 * (lo + hi);
		if (0.5 * erfc(-mid / sqrt(2.0)) < p)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

/* P(|T| <= t) for Student's t with a whole number df >= 1 of degrees of
 * freedom: the closed forms in theta = atan(t / sqrt(df)), a finite sum of
 * powers of cos(theta) (odd df also carries theta itself). */
static double t_central(double t, unsigned df)
{
	double theta = atan(t / sqrt((double)df)), c = cos(theta), s = sin(theta);
	double term, sum;
	unsigned j;

	if (df % 2) {
		sum = 0.0;
		term = c;
		if (df > 1)
			sum = term;
		for (j = 3; j + 1 < df; j += 2) {
			term *= c * c * (double)(j - 1) / (double)j;
			sum += term;
		}
		return 2.0 / M_PI * (theta + s * sum);
	}
	sum = 1.0;
	term = 1.0;
	for (j = 2; j + 1 < df; j += 2) {
		term *= c * c * (double)(j - 1) / (double)j;
		sum += term;
	}
	return s * sum;
}

double stats_t_quantile(double p, unsigned df)
{
	double target, lo = 0.0, hi = 1.0, mid;
	int i;

	if (df == 0)
		return stats_normal_quantile(p);
	if (p < 0.5)
		return -stats_t_quantile(1.0 - p, df);
	target = 2.0 * p - 1.0;
	for (i = 0; i < 2000 && t_central(hi, df) < target; i++)
		hi *= 2.0;
	for (i = 0; i < 200; i++) {
		mid = 0.5 * (lo + hi);
		if (t_central(mid, df) < target)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

size_t hist_index(uint64_t value)
{
	unsigned top;

	if (value < HIST_SUB)
		return (size_t)value;
	top = 63u - (unsigned)__builtin_clzll(value);       /* >= HIST_SUB_BITS */
	return (size_t)(top - HIST_SUB_BITS + 1) * HIST_SUB +
	       (size_t)((value >> (top - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

uint64_t hist_bucket_low(size_t index)
{
	size_t group = index / HIST_SUB, sub = index % HIST_SUB;

	if (group == 0)
		return (uint64_t)sub;
	return ((uint64_t)HIST_SUB + sub) << (group - 1);
}

uint64_t hist_bucket_high(size_t index)
{
	return index + 1 < HIST_BUCKETS ? hist_bucket_low(index + 1) - 1 : UINT64_MAX;
}

void hist_add_n(struct hist *h, uint64_t value, uint64_t n)
{
	if (n == 0)
		return;
	h->buckets[hist_index(value)] += n;
	h->count += n;
	h->sum += value * n;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

void hist_add(struct hist *h, uint64_t value)
{
	hist_add_n(h, value, 1);
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	size_t i;

	for (i = 0; i < HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->count && src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

const char *hist_merge_checked(struct hist *dst, const struct hist *src)
{
	const char *what = NULL;
	uint64_t sum;
	size_t i;

	if (__builtin_add_overflow(dst->count, src->count, &sum))
		what = "count";
	else if (__builtin_add_overflow(dst->sum, src->sum, &sum))
		what = "sum";
	for (i = 0; i < HIST_BUCKETS && !what; i++)
		if (__builtin_add_overflow(dst->buckets[i], src->buckets[i], &sum))
			what = "buckets";
	if (!what)
		hist_merge(dst, src);
	return what;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0, value = 0;
	size_t i;

	if (h->count == 0)
		return 0;
	if (!(q >= 0.0))          /* NaN too */
		q = 0.0;
	if (q > 1.0)
		q = 1.0;
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			value = hist_bucket_high(i);
			break;
		}
	}
	if (value > h->max)
		value = h->max;
	if (value < h->min)
		value = h->min;
	return value;
}
