/*
 * The few pieces of inline SVG the HTML report draws its charts with:
 * scales (linear and whole-decade logarithmic), axes with grid lines, and
 * text that is always escaped. Colours are presentation attributes, so a
 * chart copied out of the report on its own still looks the same; the
 * report's CSS may restyle the classes (axis, grid, label, value).
 */
#ifndef PYCSTORM_CHART_H
#define PYCSTORM_CHART_H

#include <stddef.h>
#include <stdio.h>

struct scale {
	double lo, hi;          /* the data domain (not logarithms) */
	double from, to;        /* the pixels it maps to */
	int log;
};

void scale_linear(struct scale *s, double lo, double hi, double from, double to);
/* Whole decades covering [lo, hi]; both must be > 0. */
void scale_log(struct scale *s, double lo, double hi, double from, double to);
/* The pixel for v, clamped to the domain. */
double scale_at(const struct scale *s, double v);

/* A label for a tick at v, into buf. */
typedef void tick_label_fn(char *buf, size_t size, double v);
/* "10⁻³" */
void tick_power_of_ten(char *buf, size_t size, double v);
/* "100 µs", "1 ms", "10 s": v in microseconds. */
void tick_microseconds(char *buf, size_t size, double v);
/* "1.5 s": v in seconds. */
void tick_seconds(char *buf, size_t size, double v);
/* "12%": v a fraction. */
void tick_percent(char *buf, size_t size, double v);

/* Microseconds as "38 µs", "16.3 ms", "1.20 s". */
void format_microseconds(char *buf, size_t size, double us);

void svg_begin(FILE *f, double width, double height, const char *title);
void svg_end(FILE *f);
/* One <text>, escaped; anchor is start, middle or end. */
void svg_text(FILE *f, double x, double y, const char *anchor, const char *cls,
	      const char *text);
void svg_textf(FILE *f, double x, double y, const char *anchor, const char *cls,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A horizontal axis from top to bottom: grid lines at each tick (each
 * decade, with fainter lines at 2..9 on a log scale), labels below. */
void svg_axis_x(FILE *f, const struct scale *s, double top, double bottom, int ticks,
		tick_label_fn *label);
/* A <title> (a tooltip in browsers) for the element being written. */
void svg_title(FILE *f, const char *text);

#endif
