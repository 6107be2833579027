/* Scoring arithmetic; see stats.h. */
#include "stats.h"

#include <math.h>
#include <string.h>

void stats_wilson(uint64_t k, uint64_t n, double z, double *lo, double *hi)
{
	double p, z2, denom, centre, half;

	if (n == 0) {
		*lo = 0.0;
		*hi = 1.0;
		return;
	}
	p = (double)k / (double)n;
	z2 = z * z;
	denom = 1.0 + z2 / (double)n;
	centre = (p + z2 / (2.0 * (double)n)) / denom;
	half = z * sqrt(p * (1.0 - p) / (double)n + z2 / (4.0 * (double)n * (double)n)) / denom;
	*lo = k == 0 ? 0.0 : fmax(0.0, centre - half);
	*hi = k == n ? 1.0 : fmin(1.0, centre + half);
}

void stats_newcombe(uint64_t k1, uint64_t n1, uint64_t k2, uint64_t n2,
		    double z, double *lo, double *hi)
{
	double l1, u1, l2, u2, p1, p2, d;

	stats_wilson(k1, n1, z, &l1, &u1);
	stats_wilson(k2, n2, z, &l2, &u2);
	p1 = n1 ? (double)k1 / (double)n1 : 0.0;
	p2 = n2 ? (double)k2 / (double)n2 : 0.0;
	d = p2 - p1;
	*lo = d - sqrt((p2 - l2) * (p2 - l2) + (u1 - p1) * (u1 - p1));
	*hi = d + sqrt((u2 - p2) * (u2 - p2) + (p1 - l1) * (p1 - l1));
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
