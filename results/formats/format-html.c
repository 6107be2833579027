/*
 * report.html: the page a maintainer attaches to a bug report. One file,
 * inline SVG, inline CSS, no script and no network, so it opens the same
 * from a CI artifact, a mail attachment or a disk years later.
 *
 * Every string from the summary goes through xml_put_text, and the page is
 * well-formed XML as well as HTML, so both `xmllint` and `xmllint --html`
 * accept it (the tests check both).
 */
#include "format.h"

#include "chart.h"
#include "common.h"
#include "markup.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 960.0
#define LABEL_RIGHT 170.0     /* strategy names end here */
#define PLOT_LEFT 182.0
#define PLOT_RIGHT 700.0
#define ROW 30.0

static const char *const palette[] = {
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#79706e",
};

static const char *strategy_colour(size_t i)
{
	return palette[i % (sizeof(palette) / sizeof(palette[0]))];
}

static const char *outcome_colour(int o)
{
	static const char *const colours[OUTCOME_COUNT] = {
		[OUTCOME_OK] = "#59a14f",
		[OUTCOME_STALE] = "#93b4d8",
		[OUTCOME_MISSING] = "#c7c2bd",
		[OUTCOME_BAD_MARSHAL] = "#c0392b",
		[OUTCOME_EOF] = "#f28e2b",
		[OUTCOME_PERMISSION_ERROR] = "#8e6bbf",
		[OUTCOME_MODULE_NOT_FOUND] = "#9c755f",
		[OUTCOME_OTHER_ERROR] = "#e377c2",
		[OUTCOME_WORKER_CRASH] = "#1f2937",
		[OUTCOME_WORKER_TIMEOUT] = "#6b7280",
		[OUTCOME_INTERPRETER_CRASH] = "#7f1d1d",
		[OUTCOME_CODE_ERROR] = "#b45309",
		[OUTCOME_LEFTOVER_TEMP] = "#a3a3a3",
	};

	return colours[o] ? colours[o] : "#999999";
}

static const char style[] =
	":root{--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f3f4f6;--card:#fff}"
	"*{box-sizing:border-box}"
	"body{margin:0;background:var(--bg);color:var(--fg);"
	"font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
	".top{background:#111827;color:#f9fafb;padding:22px 0 18px}"
	".wrap{max-width:1020px;margin:0 auto;padding:0 22px}"
	"h1{font-size:22px;margin:0 0 2px;font-weight:650}"
	"h1 .scn{color:#93c5fd}"
	"h2{font-size:16px;margin:0 0 6px}"
	".sub{color:#d1d5db;margin:0 0 14px}"
	"dl.meta{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));"
	"gap:8px 22px;margin:0 0 14px}"
	"dt{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#9ca3af}"
	"dd{margin:0;overflow-wrap:anywhere}"
	"pre.cmd{background:#030712;color:#e5e7eb;padding:9px 12px;border-radius:6px;margin:4px 0 0;"
	"white-space:pre-wrap;overflow-wrap:anywhere;"
	"font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}"
	".top .label{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#9ca3af}"
	".banner{border-radius:8px;padding:10px 14px;margin:18px 0 0;font-weight:600}"
	".banner.bad{background:#fee2e2;color:#991b1b;border:1px solid #fca5a5}"
	".banner.good{background:#dcfce7;color:#166534;border:1px solid #86efac}"
	".banner.warn{background:#fef3c7;color:#92400e;border:1px solid #fcd34d}"
	".card{background:var(--card);border:1px solid var(--line);border-radius:10px;"
	"padding:16px 18px;margin:18px 0}"
	".note{color:var(--muted);font-size:12.5px;margin:4px 0 10px}"
	".scroll{overflow-x:auto}"
	"table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:13px}"
	"th,td{padding:5px 6px;border-bottom:1px solid var(--line);text-align:right;"
	"white-space:nowrap}"
	"th:first-child,td:first-child{text-align:left;white-space:normal}"
	"thead th{font-size:12px;color:var(--muted);font-weight:600}"
	"td.text{text-align:left;white-space:normal;overflow-wrap:anywhere}"
	"code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}"
	".badge{display:inline-block;margin-left:6px;padding:0 7px;border-radius:9px;"
	"font-size:11px;font-weight:600;vertical-align:1px}"
	".badge.safe{background:#dbeafe;color:#1e40af}"
	".badge.fail{background:#fee2e2;color:#991b1b}"
	".swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 5px 0 12px;"
	"vertical-align:-1px}"
	".legend{font-size:12.5px;margin:2px 0 6px}"
	"svg{max-width:100%;height:auto;display:block;margin:6px 0}"
	"details{margin:6px 0}summary{cursor:pointer;font-weight:600}"
	"footer{color:var(--muted);font-size:12px;padding:8px 0 30px}";

/* ---- the page header ------------------------------------------------- */

static void put_escaped(FILE *f, const char *text)
{
	xml_put_text(f, text && *text ? text : "?");
}

static void meta_item(FILE *f, const char *label, const char *value)
{
	(void)fprintf(f, "<div><dt>%s</dt><dd>", label);
	put_escaped(f, value);
	(void)fputs("</dd></div>\n", f);
}

static void meta_items_run(FILE *f, const struct summary *s)
{
	char buf[512], len[64];
	size_t i, used = 0;

	(void)snprintf(buf, sizeof(buf), "%" PRIu64, s->seed);
	meta_item(f, "Seed", buf);
	(void)snprintf(buf, sizeof(buf), "%s (%s)", s->python_version ? s->python_version : "?",
		       s->runner ? s->runner : "?");
	meta_item(f, "Python", buf);
	meta_item(f, "Interpreter", s->python_executable);
	(void)snprintf(buf, sizeof(buf), "%s, %s", s->cache_fs ? s->cache_fs : "?",
		       s->cache_dir ? s->cache_dir : "?");
	meta_item(f, "Filesystem (cache)", buf);
	meta_item(f, "Kernel", s->kernel);
	(void)snprintf(buf, sizeof(buf), "%s, %u CPUs", s->host ? s->host : "?", s->cpus);
	meta_item(f, "Host", buf);
	(void)snprintf(buf, sizeof(buf), "%u per strategy (%u compile, %u import)", s->jobs,
		       s->compile_jobs, s->jobs - (s->compile_jobs <= s->jobs ? s->compile_jobs : 0));
	meta_item(f, "Workers", buf);
	if (s->iterations)
		(void)snprintf(len, sizeof(len), "%" PRIu64 " cycles per worker", s->iterations);
	else
		(void)snprintf(len, sizeof(len), "%g s asked", s->duration_target_s);
	(void)snprintf(buf, sizeof(buf), "%.1f s (%s)%s", s->elapsed_s, len,
		       s->interrupted ? ", interrupted" : "");
	meta_item(f, "Length", buf);
	meta_item(f, "Started (UTC)", s->started);
	buf[0] = '\0';
	for (i = 0; i < s->nfaults && used < sizeof(buf); i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? "; " : "",
					 s->faults[i]);
	meta_item(f, "Faults", s->nfaults ? buf : "none");
	meta_item(f, "pyc mode", s->pyc_mode);
	if (s->shard)
		meta_item(f, "Shard", s->shard);
	if (s->shared_cache)
		meta_item(f, "One cache shared by", s->shared_cache);
}

static void put_parts(FILE *f, const struct summary *s)
{
	const struct summary_part *p;
	size_t i;

	(void)fprintf(f, "<div class=\"label\">Merged from %zu runs; each replays on its own</div>\n",
		      s->nparts);
	for (i = 0; i < s->nparts; i++) {
		p = &s->parts[i];
		(void)fputs("<pre class=\"cmd\">", f);
		if (p->shard) {
			(void)fputs("# shard ", f);
			xml_put_text(f, p->shard);
			(void)fputs(", ", f);
		} else {
			(void)fputs("# ", f);
		}
		(void)fprintf(f, "seed %" PRIu64 ", %.1f s, from ", p->seed, p->elapsed_s);
		put_escaped(f, p->source);
		(void)fputs("\n", f);
		put_escaped(f, p->replay);
		(void)fputs("</pre>\n", f);
	}
}

static void put_header(FILE *f, const struct summary *s)
{
	(void)fputs("<div class=\"top\"><div class=\"wrap\">\n<h1>pycstorm report: "
		    "<span class=\"scn\">", f);
	put_escaped(f, s->scenario);
	(void)fputs("</span></h1>\n<p class=\"sub\">", f);
	xml_put_text(f, s->description ? s->description : "");
	(void)fputs("</p>\n<dl class=\"meta\">\n", f);
	meta_items_run(f, s);
	(void)fputs("</dl>\n", f);
	if (s->nparts) {
		put_parts(f, s);
	} else {
		(void)fputs("<div class=\"label\">Replay this run</div>\n<pre class=\"cmd\">", f);
		put_escaped(f, s->replay);
		(void)fputs("</pre>\n", f);
	}
	(void)fputs("</div></div>\n", f);
}

/* Red when a strategy expected to be safe corrupted, amber when the run
 * was cut short, green when the safe ones held. */
static void put_banner(FILE *f, const struct summary *s, const struct result_figures *figs)
{
	size_t i, failed = 0, safe = 0;

	for (i = 0; i < s->nresults; i++) {
		safe += s->results[i].expect_safe != 0;
		failed += s->results[i].expect_safe && figs[i].corrupt;
	}
	if (failed) {
		(void)fputs("<div class=\"banner bad\">Expected to be safe, but corrupted:", f);
		for (i = 0; i < s->nresults; i++) {
			if (!s->results[i].expect_safe || !figs[i].corrupt)
				continue;
			(void)fputs(" ", f);
			xml_put_text(f, s->results[i].strategy);
			(void)fprintf(f, " (%" PRIu64 " in %" PRIu64 " reads)", figs[i].corrupt,
				      figs[i].reads);
		}
		(void)fputs("</div>\n", f);
	} else if (s->interrupted) {
		(void)fputs("<div class=\"banner warn\">The run was interrupted: these are the "
			    "results counted until then.</div>\n", f);
	} else if (safe) {
		(void)fprintf(f, "<div class=\"banner good\">All %zu strategies expected to be safe "
				 "showed no corruption.</div>\n", safe);
	}
}

/* ---- the results table ----------------------------------------------- */

static void latency_cell(FILE *f, const struct hist *h)
{
	char a[32], b[32];

	if (!h->count) {
		(void)fputs("<td>-</td>", f);
		return;
	}
	format_microseconds(a, sizeof(a), (double)hist_quantile(h, 0.5) / 1e3);
	format_microseconds(b, sizeof(b), (double)hist_quantile(h, 0.99) / 1e3);
	(void)fprintf(f, "<td>%s / %s</td>", a, b);
}

static void strategy_cell(FILE *f, const struct strategy_result *r,
			  const struct result_figures *fig)
{
	(void)fputs("<td>", f);
	xml_put_text(f, r->strategy);
	if (r->expect_safe)
		(void)fprintf(f, "<span class=\"badge %s\">%s</span>", fig->corrupt ? "fail" : "safe",
			      fig->corrupt ? "expected safe: FAILED" : "expected safe");
	(void)fputs("</td>", f);
}

static void put_results_table(FILE *f, const struct summary *s, const struct result_figures *figs)
{
	char rate[32];
	size_t i;

	(void)fputs("<section class=\"card\"><h2>Results</h2>\n<p class=\"note\">Corruption is "
		    "bad_marshal, eof, interpreter_crash and code_error seen by an import whose "
		    "header check passed: the import "
		    "fails for a user. Rate = corrupt / reads with a 95% Wilson interval; a zero "
		    "is shown as its upper bound. Latency: p50 / p99.</p>\n"
		    "<div class=\"scroll\"><table>\n<thead><tr><th>strategy</th><th>cycles</th>"
		    "<th>reads</th><th>corrupt</th><th>rate</th><th>95% interval</th>"
		    "<th>write</th><th>read</th><th>cycles/s</th></tr></thead>\n<tbody>\n", f);
	for (i = 0; i < s->nresults; i++) {
		const struct result_figures *g = &figs[i];
		format_rate(rate, sizeof(rate), g->corrupt, g->reads, g->ci_hi);
		(void)fputs("<tr>", f);
		strategy_cell(f, &s->results[i], g);
		(void)fprintf(f, "<td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>",
			      g->cycles, g->reads, g->corrupt);
		xml_put_text(f, rate);
		(void)fprintf(f, "</td><td>[%.2g, %.2g]</td>", g->ci_lo, g->ci_hi);
		latency_cell(f, &g->write_latency);
		latency_cell(f, &g->read_latency);
		(void)fprintf(f, "<td>%.0f</td></tr>\n", g->cycles_per_s);
	}
	(void)fputs("</tbody></table></div></section>\n", f);
}

/* ---- corruption rate chart -------------------------------------------- */

static void row_band(FILE *f, size_t i, double y)
{
	if (i % 2 == 0)
		(void)fprintf(f, "<rect x=\"0\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\" "
				 "fill=\"#f9fafb\" class=\"band\"/>\n", y - ROW / 2, WIDTH, ROW);
}

static void row_label(FILE *f, const struct strategy_result *r, int failed, double y)
{
	svg_text(f, LABEL_RIGHT, y + 4, "end", failed ? "label bad" : "label", r->strategy);
}

static void interval_mark(FILE *f, double xl, double xh, double y, const char *colour, int dashed)
{
	(void)fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			 "stroke-width=\"2\"%s/>\n", xl, y, xh, y, colour,
		      dashed ? " stroke-dasharray=\"4 3\"" : "");
	if (!dashed)
		(void)fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
				 "stroke-width=\"2\"/>\n", xl, y - 6, xl, y + 6, colour);
	(void)fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			 "stroke-width=\"2\"/>\n", xh, y - 6, xh, y + 6, colour);
}

static void rate_row(FILE *f, const struct scale *x, const struct strategy_result *r,
		     const struct result_figures *g, double y)
{
	int failed = r->expect_safe && g->corrupt;
	const char *colour = g->corrupt ? (failed ? "#b91c1c" : "#c2410c") : "#15803d";
	char tip[256];

	(void)snprintf(tip, sizeof(tip), "%s: %" PRIu64 " corrupt in %" PRIu64
			   " reads; 95%% interval [%.3g, %.3g]", r->strategy, g->corrupt, g->reads,
		       g->ci_lo, g->ci_hi);
	(void)fputs("<g>", f);
	svg_title(f, tip);
	row_label(f, r, failed, y);
	if (g->reads == 0) {
		svg_text(f, PLOT_LEFT, y + 4, "start", "value", "no reads");
	} else if (g->corrupt == 0) {
		interval_mark(f, x->from, scale_at(x, g->ci_hi), y, colour, 1);
		svg_textf(f, PLOT_RIGHT + 12, y + 4, "start", "value", "< %.2g   (0 in %" PRIu64 ")",
			  g->ci_hi, g->reads);
	} else {
		interval_mark(f, scale_at(x, g->ci_lo), scale_at(x, g->ci_hi), y, colour, 0);
		(void)fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>\n",
			      scale_at(x, g->corrupt_rate), y, colour);
		svg_textf(f, PLOT_RIGHT + 12, y + 4, "start", "value",
			  "%.3g  [%.2g, %.2g]   (%" PRIu64 " in %" PRIu64 ")", g->corrupt_rate,
			  g->ci_lo, g->ci_hi, g->corrupt, g->reads);
	}
	(void)fputs("</g>\n", f);
}

static void put_rate_chart(FILE *f, const struct summary *s, const struct result_figures *figs)
{
	double lo = 1.0, hi = 0.0, top = 10.0, bottom = top + ROW * (double)s->nresults;
	struct scale x;
	size_t i;

	for (i = 0; i < s->nresults; i++) {
		if (!figs[i].reads)
			continue;
		/* A zero's dashed bound needs room to its left to read as "below". */
		lo = fmin(lo, figs[i].corrupt ? fmax(figs[i].ci_lo, 1e-12) : figs[i].ci_hi / 10);
		hi = fmax(hi, figs[i].ci_hi);
	}
	(void)fputs("<section class=\"card\"><h2>Corruption rate per strategy</h2>\n"
		    "<p class=\"note\">Corrupt reads per read on a log scale, with the 95% Wilson "
		    "interval. A strategy that never corrupted is drawn dashed up to its upper "
		    "bound: the data rule out rates above it, not below.</p>\n", f);
	if (hi <= 0.0) {
		(void)fputs("<p>No strategy made any reads.</p></section>\n", f);
		return;
	}
	scale_log(&x, lo, hi, PLOT_LEFT, PLOT_RIGHT);
	svg_begin(f, WIDTH, bottom + 30, "Corruption rate per strategy, log scale");
	for (i = 0; i < s->nresults; i++)
		row_band(f, i, top + ROW * (double)i + ROW / 2);
	svg_axis_x(f, &x, top, bottom, 0, tick_power_of_ten);
	for (i = 0; i < s->nresults; i++)
		rate_row(f, &x, &s->results[i], &figs[i], top + ROW * (double)i + ROW / 2);
	svg_end(f);
	(void)fputs("</section>\n", f);
}

/* ---- latency: p50..p99 ranges ---------------------------------------- */

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

static void latency_bar(FILE *f, const struct scale *x, const struct hist *h, double y,
			const char *colour, const char *what)
{
	double p50 = us(hist_quantile(h, 0.5)), p90 = us(hist_quantile(h, 0.9));
	double p99 = us(hist_quantile(h, 0.99));
	char a[32], b[32], c[32], tip[160];

	if (!h->count)
		return;
	format_microseconds(a, sizeof(a), p50);
	format_microseconds(b, sizeof(b), p90);
	format_microseconds(c, sizeof(c), p99);
	(void)snprintf(tip, sizeof(tip), "%s: p50 %s, p90 %s, p99 %s, %" PRIu64 " samples", what,
		       a, b, c, h->count);
	(void)fputs("<g>", f);
	svg_title(f, tip);
	(void)fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			 "stroke-opacity=\"0.35\" stroke-width=\"1.5\"/>\n",
		      scale_at(x, us(h->min)), y, scale_at(x, us(h->max)), y, colour);
	(void)fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			 "stroke-width=\"6\" stroke-linecap=\"round\"/>\n",
		      scale_at(x, p50), y, scale_at(x, p99), y, colour);
	(void)fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ffffff\" "
			 "stroke-width=\"1.5\"/>\n", scale_at(x, p90), y - 3, scale_at(x, p90), y + 3);
	(void)fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"#ffffff\" stroke=\"%s\" "
			 "stroke-width=\"2\"/>\n</g>\n", scale_at(x, p50), y, colour);
}

static void latency_text(FILE *f, const struct result_figures *g, double y)
{
	char w50[32], w99[32], r50[32], r99[32];

	format_microseconds(w50, sizeof(w50), us(hist_quantile(&g->write_latency, 0.5)));
	format_microseconds(w99, sizeof(w99), us(hist_quantile(&g->write_latency, 0.99)));
	format_microseconds(r50, sizeof(r50), us(hist_quantile(&g->read_latency, 0.5)));
	format_microseconds(r99, sizeof(r99), us(hist_quantile(&g->read_latency, 0.99)));
	svg_textf(f, PLOT_RIGHT + 12, y - 2, "start", "value", "write %s / %s",
		  g->write_latency.count ? w50 : "-", g->write_latency.count ? w99 : "-");
	svg_textf(f, PLOT_RIGHT + 12, y + 11, "start", "value", "read  %s / %s",
		  g->read_latency.count ? r50 : "-", g->read_latency.count ? r99 : "-");
}

static int latency_domain(const struct summary *s, const struct result_figures *figs,
			  double *lo, double *hi)
{
	const struct hist *h;
	size_t i;
	int k, any = 0;

	*lo = 1e12;
	*hi = 0.0;
	for (i = 0; i < s->nresults; i++) {
		for (k = 0; k < 2; k++) {
			h = k ? &figs[i].read_latency : &figs[i].write_latency;
			if (!h->count)
				continue;
			*lo = fmin(*lo, fmax(us(h->min), 0.01));
			*hi = fmax(*hi, us(h->max));
			any = 1;
		}
	}
	return any;
}

static void put_latency_ranges(FILE *f, const struct summary *s, const struct result_figures *figs)
{
	double lo, hi, top = 10.0, bottom = top + ROW * 1.4 * (double)s->nresults, y;
	struct scale x;
	size_t i;

	if (!latency_domain(s, figs, &lo, &hi))
		return;
	scale_log(&x, lo, hi, PLOT_LEFT, PLOT_RIGHT);
	(void)fputs("<p class=\"legend\"><span class=\"swatch\" style=\"background:#2563eb\"></span>"
		    "write (compile cycles and writes by imports)<span class=\"swatch\" "
		    "style=\"background:#ea580c\"></span>read (import cycles). Thick: p50 to p99; "
		    "dot: p50; white tick: p90; thin: min to max.</p>\n", f);
	svg_begin(f, WIDTH, bottom + 30, "Latency per strategy: p50 to p99, log scale");
	for (i = 0; i < s->nresults; i++)
		row_band(f, i, top + ROW * 1.4 * (double)i + ROW * 0.7);
	svg_axis_x(f, &x, top, bottom, 0, tick_microseconds);
	for (i = 0; i < s->nresults; i++) {
		y = top + ROW * 1.4 * (double)i + ROW * 0.7;
		svg_text(f, LABEL_RIGHT, y + 4, "end", "label", s->results[i].strategy);
		latency_bar(f, &x, &figs[i].write_latency, y - 6, "#2563eb", "write");
		latency_bar(f, &x, &figs[i].read_latency, y + 6, "#ea580c", "read");
		latency_text(f, &figs[i], y);
	}
	svg_end(f);
}

/* ---- latency: percentile curves from the histograms ------------------ */

static const char *percentile_name(int decade)
{
	/* Slower than the fastest: every sample, so no label; p50 is drawn apart. */
	static const char *const names[] = { "", "p90", "p99", "p99.9", "p99.99", "p99.999" };

	return decade >= 0 && decade <= 5 ? names[decade] : "";
}

/* The share of samples slower than x, as a step line over the buckets. */
static void percentile_curve(FILE *f, const struct scale *x, const struct scale *y,
			     const struct hist *h, const char *colour)
{
	uint64_t seen = 0;
	double px, floor_share = y->lo, before, after;
	size_t i;

	(void)fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" "
			 "stroke-linejoin=\"round\" points=\"%.1f,%.1f",
		      colour, scale_at(x, us(h->min)), scale_at(y, 1.0));
	for (i = 0; i < HIST_BUCKETS && seen < h->count; i++) {
		if (!h->buckets[i])
			continue;
		px = scale_at(x, us(hist_bucket_high(i) < h->max ? hist_bucket_high(i) : h->max));
		before = (double)(h->count - seen) / (double)h->count;
		seen += h->buckets[i];
		after = (double)(h->count - seen) / (double)h->count;
		(void)fprintf(f, " %.1f,%.1f %.1f,%.1f", px, scale_at(y, before), px,
			      scale_at(y, after > floor_share ? after : floor_share));
	}
	(void)fputs("\"/>\n", f);
}

static void percentile_axis_y(FILE *f, const struct scale *y, int decades)
{
	double v, py;
	int d;

	for (d = 0; d <= decades; d++) {
		v = pow(10.0, -d);
		py = scale_at(y, v);
		(void)fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
				 "stroke=\"#e5e7eb\" class=\"grid\"/>\n", 84.0, py, PLOT_RIGHT, py);
		svg_text(f, 78, py + 4, "end", "axis", percentile_name(d));
	}
	py = scale_at(y, 0.5);
	(void)fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d1d5db\" "
			 "stroke-dasharray=\"3 3\" class=\"grid\"/>\n", 84.0, py, PLOT_RIGHT, py);
	svg_text(f, 78, py + 4, "end", "axis", "p50");
}

static void put_percentile_chart(FILE *f, const struct summary *s,
				 const struct result_figures *figs, int read)
{
	double lo, hi, top = 28.0, bottom = 278.0;
	uint64_t most = 1;
	struct scale x, y;
	const struct hist *h;
	int decades;
	size_t i;

	if (!latency_domain(s, figs, &lo, &hi))
		return;
	for (i = 0; i < s->nresults; i++) {
		h = read ? &figs[i].read_latency : &figs[i].write_latency;
		most = h->count > most ? h->count : most;
	}
	decades = (int)ceil(log10((double)most));
	decades = decades < 2 ? 2 : decades > 5 ? 5 : decades;
	scale_log(&x, lo, hi, 84.0, PLOT_RIGHT);
	scale_log(&y, pow(10.0, -decades), 1.0, bottom, top);
	svg_begin(f, WIDTH, bottom + 34, read ? "Read latency percentiles per strategy"
					      : "Write latency percentiles per strategy");
	svg_text(f, 84.0, 16.0, "start", "label", read ? "read latency: share of import cycles "
						      "slower than x"
						   : "write latency: share of writes slower than x");
	svg_axis_x(f, &x, top, bottom, 0, tick_microseconds);
	percentile_axis_y(f, &y, decades);
	for (i = 0; i < s->nresults; i++) {
		h = read ? &figs[i].read_latency : &figs[i].write_latency;
		if (h->count)
			percentile_curve(f, &x, &y, h, strategy_colour(i));
		(void)fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"3\" fill=\"%s\"/>\n",
			      PLOT_RIGHT + 16, top + 8 + 17.0 * (double)i, strategy_colour(i));
		svg_text(f, PLOT_RIGHT + 34, top + 13 + 17.0 * (double)i, "start", "value",
			 s->results[i].strategy);
	}
	svg_end(f);
}

static void put_latency(FILE *f, const struct summary *s, const struct result_figures *figs)
{
	(void)fputs("<section class=\"card\"><h2>Latency per strategy</h2>\n"
		    "<p class=\"note\">From the latency histograms (log-linear buckets, under 3% "
		    "error). A write is a compile cycle or a cache write done by an import.</p>\n",
		    f);
	put_latency_ranges(f, s, figs);
	(void)fputs("<p class=\"note\">Percentile curves: how many cycles were slower than the "
		    "time on the x axis. The further right a curve reaches at p99, the longer its "
		    "tail.</p>\n", f);
	put_percentile_chart(f, s, figs, 0);
	put_percentile_chart(f, s, figs, 1);
	(void)fputs("</section>\n", f);
}

/* ---- outcomes --------------------------------------------------------- */

static uint64_t total_outcomes(const struct result_figures *g)
{
	uint64_t n = 0;
	int o;

	for (o = 0; o < OUTCOME_COUNT; o++)
		n += g->outcomes[o];
	return n;
}

/* 1, 2, 2.5 or 5 times a power of ten, at least v. */
static double nice_ceiling(double v)
{
	static const double steps[] = { 1.0, 2.0, 2.5, 5.0, 10.0 };
	double base = pow(10.0, floor(log10(v)));
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i] * base >= v * 0.9999)
			return steps[i] * base;
	return 10.0 * base;
}

static void outcome_segments(FILE *f, const struct scale *x, const struct strategy_result *r,
			     const struct result_figures *g, double y)
{
	uint64_t total = total_outcomes(g);
	double left = 0.0, x0, x1;
	char tip[200];
	int o;

	for (o = 1; o < OUTCOME_COUNT && total; o++) {
		if (!g->outcomes[o])
			continue;
		x0 = scale_at(x, left);
		left += (double)g->outcomes[o] / (double)total;
		x1 = scale_at(x, left);
		(void)snprintf(tip, sizeof(tip), "%s, %s: %" PRIu64 " of %" PRIu64 " (%.3g%%)",
			       r->strategy, outcome_name((enum outcome)o), g->outcomes[o], total,
			       100.0 * (double)g->outcomes[o] / (double)total);
		(void)fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"16\" fill=\"%s\">",
			      x0, y - 8, fmax(x1 - x0, 1.0), outcome_colour(o));
		svg_title(f, tip);
		(void)fputs("</rect>\n", f);
	}
	svg_textf(f, PLOT_RIGHT + 12, y + 4, "start", "value", "%.3g%% not ok   (%" PRIu64 " of %"
		  PRIu64 ")", total ? 100.0 * (double)(total - g->outcomes[0]) / (double)total : 0.0,
		  total - g->outcomes[0], total);
}

static void outcome_legend(FILE *f, const struct result_figures *figs, size_t n)
{
	uint64_t seen[OUTCOME_COUNT] = { 0 };
	size_t i;
	int o;

	for (i = 0; i < n; i++)
		for (o = 0; o < OUTCOME_COUNT; o++)
			seen[o] += figs[i].outcomes[o];
	(void)fputs("<p class=\"legend\">", f);
	for (o = 1; o < OUTCOME_COUNT; o++)
		if (seen[o])
			(void)fprintf(f, "<span class=\"swatch\" style=\"background:%s\"></span>%s",
				      outcome_colour(o), outcome_name((enum outcome)o));
	(void)fputs("</p>\n", f);
}

static void outcome_table(FILE *f, const struct summary *s, const struct result_figures *figs)
{
	uint64_t seen[OUTCOME_COUNT] = { 0 };
	size_t i;
	int o, op;

	for (i = 0; i < s->nresults; i++)
		for (o = 0; o < OUTCOME_COUNT; o++)
			seen[o] += figs[i].outcomes[o];
	(void)fputs("<div class=\"scroll\"><table>\n<thead><tr><th>strategy</th>", f);
	for (o = 0; o < OUTCOME_COUNT; o++)
		if (seen[o] || o == OUTCOME_OK)
			(void)fprintf(f, "<th>%s</th>", outcome_name((enum outcome)o));
	(void)fputs("</tr></thead>\n<tbody>\n", f);
	for (i = 0; i < s->nresults; i++) {
		(void)fputs("<tr><td>", f);
		xml_put_text(f, s->results[i].strategy);
		(void)fputs("</td>", f);
		for (o = 0; o < OUTCOME_COUNT; o++) {
			if (!seen[o] && o != OUTCOME_OK)
				continue;
			(void)fputs("<td title=\"", f);
			for (op = 0; op < OP_COUNT; op++)
				(void)fprintf(f, "%s%s %" PRIu64, op ? ", " : "", op_name((enum op)op),
					      s->results[i].counts[op][o]);
			(void)fprintf(f, "\">%" PRIu64 "</td>", figs[i].outcomes[o]);
		}
		(void)fputs("</tr>\n", f);
	}
	(void)fputs("</tbody></table></div>\n", f);
}

static void put_outcomes(FILE *f, const struct summary *s, const struct result_figures *figs)
{
	double most = 0.0, top = 10.0, bottom = top + ROW * (double)s->nresults, y;
	uint64_t total;
	struct scale x;
	size_t i;

	for (i = 0; i < s->nresults; i++) {
		total = total_outcomes(&figs[i]);
		if (total)
			most = fmax(most, (double)(total - figs[i].outcomes[0]) / (double)total);
	}
	(void)fputs("<section class=\"card\"><h2>Outcomes per strategy</h2>\n<p class=\"note\">"
		    "The cycles that did not end ok, by class, as a share of all cycles (hover for "
		    "counts). Cells of the table show the split by op on hover.</p>\n", f);
	if (most > 0.0) {
		scale_linear(&x, 0.0, nice_ceiling(most), PLOT_LEFT, PLOT_RIGHT);
		outcome_legend(f, figs, s->nresults);
		svg_begin(f, WIDTH, bottom + 30, "Outcomes other than ok, per strategy");
		for (i = 0; i < s->nresults; i++)
			row_band(f, i, top + ROW * (double)i + ROW / 2);
		svg_axis_x(f, &x, top, bottom, 5, tick_percent);
		for (i = 0; i < s->nresults; i++) {
			y = top + ROW * (double)i + ROW / 2;
			svg_text(f, LABEL_RIGHT, y + 4, "end", "label", s->results[i].strategy);
			outcome_segments(f, &x, &s->results[i], &figs[i], y);
		}
		svg_end(f);
	} else {
		(void)fputs("<p>Every cycle of every strategy ended ok.</p>\n", f);
	}
	outcome_table(f, s, figs);
	(void)fputs("</section>\n", f);
}

/* ---- hyperfine -------------------------------------------------------- */

/* "strategy=py33-atomic" reads better as "py33-atomic". */
static const char *bench_label(const struct bench_entry *b)
{
	const char *eq = strchr(b->parameters ? b->parameters : "", '=');

	if (eq && !strchr(eq, ','))
		return eq + 1;
	return b->command;
}

static void bench_row(FILE *f, const struct scale *x, const struct bench_entry *b, double y)
{
	double lo = fmax(b->mean_s - b->stddev_s, 0.0), hi = b->mean_s + b->stddev_s;

	svg_text(f, LABEL_RIGHT, y + 4, "end", "label", bench_label(b));
	(void)fputs("<g>", f);
	svg_title(f, b->command);
	(void)fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9ca3af\"/>\n",
		      scale_at(x, b->min_s), y, scale_at(x, b->max_s), y);
	(void)fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"14\" rx=\"2\" "
			 "fill=\"#4e79a7\"/>\n", x->from, y - 7,
		      fmax(scale_at(x, b->mean_s) - x->from, 1.0));
	(void)fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#111827\" "
			 "stroke-width=\"1.5\"/>\n</g>\n", scale_at(x, lo), y, scale_at(x, hi), y);
	svg_textf(f, PLOT_RIGHT + 12, y + 4, "start", "value", "%.3g s ± %.2g   (median %.3g s, %zu runs)",
		  b->mean_s, b->stddev_s, b->median_s, b->runs);
}

static void bench_table(FILE *f, const struct summary *s)
{
	size_t i;

	(void)fputs("<div class=\"scroll\"><table>\n<thead><tr><th>command</th><th>mean</th>"
		    "<th>± stddev</th><th>median</th><th>min</th><th>max</th><th>runs</th>"
		    "</tr></thead>\n<tbody>\n", f);
	for (i = 0; i < s->nbench; i++) {
		const struct bench_entry *b = &s->bench[i];
		(void)fputs("<tr><td class=\"text\"><code>", f);
		xml_put_text(f, b->command);
		(void)fprintf(f, "</code></td><td>%.3f s</td><td>%.3f s</td><td>%.3f s</td>"
				 "<td>%.3f s</td><td>%.3f s</td><td>%zu</td></tr>\n",
			      b->mean_s, b->stddev_s, b->median_s, b->min_s, b->max_s, b->runs);
	}
	(void)fputs("</tbody></table></div>\n", f);
}

static void put_bench(FILE *f, const struct summary *s)
{
	double most = 0.0, top = 10.0, bottom = top + ROW * (double)s->nbench;
	struct scale x;
	size_t i;

	if (!s->nbench)
		return;
	for (i = 0; i < s->nbench; i++)
		most = fmax(most, fmax(s->bench[i].max_s, s->bench[i].mean_s + s->bench[i].stddev_s));
	(void)fputs("<section class=\"card\"><h2>Whole-run latency (hyperfine)</h2>\n"
		    "<p class=\"note\">Wall-clock time of each timed command, from hyperfine.json "
		    "in the run folder (make bench-latency). Bar: mean; black: ± one standard "
		    "deviation; grey: min to max.</p>\n", f);
	scale_linear(&x, 0.0, most > 0 ? nice_ceiling(most) : 1.0, PLOT_LEFT, PLOT_RIGHT);
	svg_begin(f, WIDTH, bottom + 30, "Whole-run latency per command (hyperfine)");
	for (i = 0; i < s->nbench; i++)
		row_band(f, i, top + ROW * (double)i + ROW / 2);
	svg_axis_x(f, &x, top, bottom, 5, tick_seconds);
	for (i = 0; i < s->nbench; i++)
		bench_row(f, &x, &s->bench[i], top + ROW * (double)i + ROW / 2);
	svg_end(f);
	bench_table(f, s);
	(void)fputs("</section>\n", f);
}

/* ---- errors, faults and evidence -------------------------------------- */

static int has_details(const struct strategy_result *r)
{
	int o;

	for (o = 0; o < OUTCOME_COUNT; o++)
		if (r->first_error[o])
			return 1;
	return r->nevidence || r->nfaults;
}

static void put_details(FILE *f, const struct strategy_result *r)
{
	size_t i;
	int o;

	(void)fputs("<details><summary>", f);
	xml_put_text(f, r->strategy);
	(void)fprintf(f, "</summary>\n<table>\n");
	for (o = 0; o < OUTCOME_COUNT; o++) {
		if (!r->first_error[o])
			continue;
		(void)fprintf(f, "<tr><td>first %s</td><td class=\"text\"><code>",
			      outcome_name((enum outcome)o));
		xml_put_text(f, r->first_error[o]);
		(void)fputs("</code></td></tr>\n", f);
	}
	for (i = 0; i < r->nfaults; i++) {
		(void)fputs("<tr><td>fault fired</td><td class=\"text\"><code>", f);
		xml_put_text(f, r->faults[i].point);
		(void)fprintf(f, "</code> %" PRIu64 " times</td></tr>\n", r->faults[i].count);
	}
	for (i = 0; i < r->nevidence; i++) {
		(void)fputs("<tr><td>evidence</td><td class=\"text\"><code>", f);
		xml_put_text(f, r->evidence[i]);
		(void)fputs("</code></td></tr>\n", f);
	}
	(void)fputs("</table></details>\n", f);
}

static void put_errors(FILE *f, const struct summary *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->nresults; i++)
		n += has_details(&s->results[i]) != 0;
	if (!n)
		return;
	(void)fputs("<section class=\"card\"><h2>Errors, faults and evidence</h2>\n<p class=\"note\">"
		    "The exact text of the first error of each class, the faults that fired and the "
		    "corrupt files kept (paths relative to the run folder).</p>\n", f);
	for (i = 0; i < s->nresults; i++)
		if (has_details(&s->results[i]))
			put_details(f, &s->results[i]);
	(void)fputs("</section>\n", f);
}

/* ---- the page ---------------------------------------------------------- */

static int write_html(FILE *f, const struct summary *s)
{
	struct result_figures *figs = xcalloc(s->nresults ? s->nresults : 1, sizeof(*figs));
	size_t i;

	for (i = 0; i < s->nresults; i++)
		summary_figures(s, &s->results[i], &figs[i]);
	(void)fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
		    "<title>pycstorm: ", f);
	put_escaped(f, s->scenario);
	(void)fprintf(f, ", seed %" PRIu64 "</title>\n<style>%s</style>\n</head>\n<body>\n", s->seed,
		      style);
	put_header(f, s);
	(void)fputs("<main class=\"wrap\">\n", f);
	put_banner(f, s, figs);
	put_results_table(f, s, figs);
	put_rate_chart(f, s, figs);
	put_latency(f, s, figs);
	put_outcomes(f, s, figs);
	put_bench(f, s);
	put_errors(f, s);
	(void)fputs("<footer>Written by ", f);
	put_escaped(f, s->tool);
	(void)fputs(". One self-contained file: no scripts, no network. The numbers come from "
		    "summary.json next to it.</footer>\n</main>\n</body>\n</html>\n", f);
	free(figs);
	return ferror(f) ? -1 : 0;
}

const struct format_info format_html = {
	.name = "html",
	.filename = "report.html",
	.summary = "report.html: one self-contained page with charts (inline SVG, no script)",
	.by_default = 1,
	.write = write_html,
};
