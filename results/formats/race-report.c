/* The race checks of a gate in gate.md and gate.json; see race-check.h. */
#include "race-check.h"

#include "common.h"
#include "markup.h"

#include <inttypes.h>

static double rate(uint64_t k, uint64_t n)
{
	return n ? (double)k / (double)n : 0.0;
}

static void side_md(FILE *f, const struct race_side *s)
{
	(void)fprintf(f, " %" PRIu64 "/%" PRIu64 " %.3g | %.3g (%u df; %zu blocks", s->corrupt,
		      s->reads, rate(s->corrupt, s->reads), s->deff, s->df, s->blocks);
	if (s->deff_assumed)
		(void)fputs(", the new run's", f);
	else if (s->deff != s->deff_own)
		(void)fprintf(f, ", own %.3g", s->deff_own);
	(void)fprintf(f, ") | %.1f/%.0f |", (double)s->corrupt / s->deff, (double)s->reads / s->deff);
}

void race_checks_md(FILE *f, const struct race_checks *rc)
{
	size_t i;

	(void)fprintf(f, "\n### Race verdicts: the corrupt rate, corrected for bursts\n\n"
		      "Cycles of a race come in bursts, so they are not independent trials. Each "
		      "run is cut into blocks (a worker's second) and its design effect (deff: the "
		      "spread of the blocks' rates over the binomial one) divides its counts into "
		      "effective ones; each side's Wilson interval takes Student's t on the deff's "
		      "degrees of freedom. When both sides corrupt, both take the larger deff (under "
		      "no change they are one process; a side with few events can look evenly "
		      "spread by chance); a side with none keeps 1. The %zu check%s share a %g "
		      "chance of failing by chance (Bonferroni: %.3g%% each). Regressed: the whole "
		      "corrected interval of "
		      "new - old lies above the tolerance (%g).\n\n"
		      "| race | strategy | old corrupt/reads rate | old deff | old effective | "
		      "new corrupt/reads rate | new deff | new effective | new - old, corrected CI | "
		      "verdict |\n|---|---|---|---|---|---|---|---|---|---|\n",
		      rc->n, rc->n == 1 ? "" : "s", rc->alpha,
		      rc->n ? 100.0 * rc->alpha / (double)rc->n : 100.0 * rc->alpha, rc->tolerance);
	for (i = 0; i < rc->n; i++) {
		const struct race_check *c = &rc->c[i];
		(void)fputs("| ", f);
		md_put_text(f, c->scenario);
		(void)fputs(" | ", f);
		md_put_text(f, c->strategy);
		(void)fputs(" |", f);
		side_md(f, &c->old_side);
		side_md(f, &c->new_side);
		(void)fprintf(f, " [%+.3g, %+.3g] | %s%s |\n", c->lo, c->hi,
			      c->regressed ? "**REGRESSION** " : "", race_check_verdict(c, rc->tolerance));
	}
}

static void side_json(FILE *f, const struct race_side *s)
{
	(void)fprintf(f, "{\"corrupt\": %" PRIu64 ", \"reads\": %" PRIu64 ", \"rate\": %.6g, "
		      "\"blocks\": %zu, \"deff\": %.6g, \"deff_df\": %u, \"deff_own\": %.6g, "
		      "\"deff_assumed\": %s, "
		      "\"effective_corrupt\": %.6g, \"effective_reads\": %.6g, \"quantile\": %.6g}",
		      s->corrupt, s->reads, rate(s->corrupt, s->reads), s->blocks, s->deff, s->df,
		      s->deff_own, s->deff_assumed ? "true" : "false", (double)s->corrupt / s->deff,
		      (double)s->reads / s->deff, s->z);
}

void race_checks_json(FILE *f, const struct race_checks *rc, const char *indent)
{
	size_t i;

	(void)fputc('[', f);
	for (i = 0; i < rc->n; i++) {
		const struct race_check *c = &rc->c[i];
		(void)fprintf(f, "%s\n%s  {\"scenario\": ", i ? "," : "", indent);
		json_put_string(f, c->scenario);
		(void)fputs(", \"strategy\": ", f);
		json_put_string(f, c->strategy);
		(void)fputs(",\n", f);
		(void)fprintf(f, "%s   \"old\": ", indent);
		side_json(f, &c->old_side);
		(void)fprintf(f, ",\n%s   \"new\": ", indent);
		side_json(f, &c->new_side);
		(void)fprintf(f, ",\n%s   \"lo\": %.6g, \"hi\": %.6g, \"regressed\": %s, \"verdict\": ",
			      indent, c->lo, c->hi, c->regressed ? "true" : "false");
		json_put_string(f, race_check_verdict(c, rc->tolerance));
		(void)fputc('}', f);
	}
	(void)fprintf(f, "%s]", rc->n ? "\n" : "");
	if (rc->n)
		(void)fputs(indent, f);
}

