/* The race checks of a gate; see race-check.h. */
#include "race-check.h"

#include "blocks.h"
#include "common.h"
#include "stats.h"

#include <stdlib.h>
#include <string.h>

int race_side_measure(struct race_side *side, const struct summary *s,
		      const struct strategy_result *r, const char *events_path, char *err,
		      size_t errlen)
{
	struct result_figures f;
	struct read_blocks b;

	memset(side, 0, sizeof(*side));
	summary_figures(s, r, &f);
	side->corrupt = f.corrupt;
	side->reads = f.reads;
	side->deff = 1.0;
	side->deff_own = 1.0;
	if (!events_path) {
		side->deff_assumed = 1;
		return 0;
	}
	if (read_blocks_load(events_path, r->strategy, &b, err, errlen) < 0)
		return -1;
	side->blocks = b.n;
	side->deff = stats_design_effect(b.corrupt, b.reads, b.n, &side->df);
	side->deff_own = side->deff;
	side->too_few_blocks = side->corrupt && b.n < 2;
	read_blocks_free(&b);
	return 0;
}

/* Both sides corrupt: both take the larger design effect (and its df). */
static void share_larger_deff(struct race_side *a, struct race_side *b)
{
	const struct race_side *larger = a->deff >= b->deff ? a : b;
	double deff = larger->deff;
	unsigned df = larger->df;

	a->deff = b->deff = deff;
	a->df = b->df = df;
}

void race_checks_add(struct race_checks *rc, const char *scenario, const char *strategy,
		     const struct race_side *old_side, const struct race_side *new_side)
{
	struct race_check *c;

	rc->c = xrealloc(rc->c, (rc->n + 1) * sizeof(*rc->c));
	c = &rc->c[rc->n++];
	memset(c, 0, sizeof(*c));
	c->scenario = xstrdup(scenario);
	c->strategy = xstrdup(strategy);
	c->old_side = *old_side;
	c->new_side = *new_side;
	/* A stored baseline kept counts, not blocks: its runs were made the
	 * same way, so they are taken to burst as the new run does. */
	if (c->old_side.deff_assumed) {
		c->old_side.deff = new_side->deff;
		c->old_side.df = new_side->df;
		c->old_side.too_few_blocks = c->old_side.corrupt && new_side->too_few_blocks;
	}
	if (c->old_side.corrupt && c->new_side.corrupt)
		share_larger_deff(&c->old_side, &c->new_side);
}

/* One side as its interval sees it: effective counts and its quantile. A
 * side that corrupted in fewer than two blocks says nothing about its
 * bursts: no trials, so its interval is all of [0, 1]. */
static void side_for_interval(struct race_side *side, double q, struct stats_side *out)
{
	side->z = stats_t_quantile(q, side->df);
	out->z = side->z;
	out->k = side->too_few_blocks ? 0.0 : (double)side->corrupt / side->deff;
	out->n = side->too_few_blocks ? 0.0 : (double)side->reads / side->deff;
}

size_t race_checks_judge(struct race_checks *rc, double alpha, double tolerance)
{
	struct stats_side o, n;
	size_t i, regressed = 0;
	/* Bonferroni: each two-sided interval at 1 - alpha / checks */
	double q = rc->n ? 1.0 - alpha / (2.0 * (double)rc->n) : 1.0 - alpha / 2.0;

	rc->alpha = alpha;
	rc->tolerance = tolerance;
	for (i = 0; i < rc->n; i++) {
		struct race_check *c = &rc->c[i];
		side_for_interval(&c->old_side, q, &o);
		side_for_interval(&c->new_side, q, &n);
		stats_newcombe_sides(&o, &n, &c->lo, &c->hi);
		c->regressed = c->lo > tolerance;
		regressed += (size_t)c->regressed;
	}
	return regressed;
}

const char *race_check_verdict(const struct race_check *c, double tolerance)
{
	if (c->regressed)
		return "regressed";
	if (c->old_side.too_few_blocks || c->new_side.too_few_blocks)
		return "not judged: corrupt in fewer than 2 blocks (a longer --race-duration)";
	if (c->hi < -tolerance)
		return "improved";
	return "no significant change";
}

void race_checks_free(struct race_checks *rc)
{
	size_t i;

	for (i = 0; i < rc->n; i++) {
		free(rc->c[i].scenario);
		free(rc->c[i].strategy);
	}
	free(rc->c);
	memset(rc, 0, sizeof(*rc));
}
