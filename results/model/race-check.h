/*
 * The race checks of a gate: has a strategy's corrupt rate grown from the
 * old interpreter to the new one, in a race scenario run with its faults?
 *
 * Cycles of a race are not independent trials: failures come in bursts
 * that follow load and scheduling, so the binomial interval is far too
 * narrow and a plain Newcombe test flakes. Each side's design effect
 * (deff) is measured from its own run, cut into blocks (blocks.h); its
 * counts are divided by it (effective counts) and its Wilson interval is
 * built with Student's t on the design effect's degrees of freedom. When
 * both sides corrupt, both take the larger design effect: under "nothing
 * changed" they are one process, and a side with a few events can look
 * evenly spread by chance (its whole run ran at a lower rate: a run-level
 * swing its blocks cannot see). A side with no corrupt read keeps its own
 * (1: there is nothing to burst). The level is shared out over all race checks of one gate (Bonferroni), so a
 * gate of many checks is no likelier to fail by chance than one of one.
 */
#ifndef PYCSTORM_RACE_CHECK_H
#define PYCSTORM_RACE_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "summary.h"

/* The chance that a gate of an interpreter against itself fails a race. */
#define RACE_CHECK_ALPHA 0.05

struct race_side {
	uint64_t corrupt, reads;        /* from the run's summary */
	size_t blocks;                  /* blocks with reads */
	double deff;                    /* >= 1: the one its interval takes */
	unsigned df;                    /* of deff; 0 when not estimated */
	double deff_own;                /* from its own blocks */
	int deff_assumed;               /* a stored baseline has no blocks: the other side's */
	int too_few_blocks;             /* corrupt, but in fewer than 2 blocks: no interval */
	double z;                       /* the quantile of its interval (judge) */
};

struct race_check {
	char *scenario, *strategy;
	struct race_side old_side, new_side;
	double lo, hi;                  /* new - old corrupt rate (judge) */
	int regressed;
};

struct race_checks {
	struct race_check *c;
	size_t n;
	double alpha, tolerance;        /* set by the judge */
};

/*
 * Measure one side: its corrupt reads and reads from the summary, its
 * blocks from events_path (NULL for a stored baseline without events).
 * 0, or -1 with one line in err when the events cannot be read.
 */
int race_side_measure(struct race_side *side, const struct summary *s,
		      const struct strategy_result *r, const char *events_path, char *err,
		      size_t errlen);
/* Add a check (scenario and strategy are copied); the sides are measured. */
void race_checks_add(struct race_checks *rc, const char *scenario, const char *strategy,
		     const struct race_side *old_side, const struct race_side *new_side);
/* Judge every check at family level alpha: regressed when the corrected
 * interval's lower bound is above tolerance. The number regressed. */
size_t race_checks_judge(struct race_checks *rc, double alpha, double tolerance);
/* "regressed", "improved", "no significant change" or why it was not
 * judged. */
const char *race_check_verdict(const struct race_check *c, double tolerance);

/* In results/formats/race-report.c: */
/* The judged checks as a Markdown table with what it means. */
void race_checks_md(FILE *f, const struct race_checks *rc);
/* The judged checks as a JSON array (no trailing newline). */
void race_checks_json(FILE *f, const struct race_checks *rc, const char *indent);
void race_checks_free(struct race_checks *rc);

#endif
