/* Inline SVG helpers for the HTML report; see chart.h. */
#include "chart.h"

#include "markup.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#define AXIS_COLOUR "#6b7280"
#define GRID_COLOUR "#e5e7eb"
#define MINOR_COLOUR "#f3f4f6"

void scale_linear(struct scale *s, double lo, double hi, double from, double to)
{
	s->lo = lo;
	s->hi = hi > lo ? hi : lo + 1.0;
	s->from = from;
	s->to = to;
	s->log = 0;
}

void scale_log(struct scale *s, double lo, double hi, double from, double to)
{
	double a = floor(log10(lo)), b = ceil(log10(hi));

	if (!(b > a))
		b = a + 1.0;
	s->lo = pow(10.0, a);
	s->hi = pow(10.0, b);
	s->from = from;
	s->to = to;
	s->log = 1;
}

double scale_at(const struct scale *s, double v)
{
	double t;

	if (s->log)
		t = v > 0 ? (log10(v) - log10(s->lo)) / (log10(s->hi) - log10(s->lo)) : 0.0;
	else
		t = (v - s->lo) / (s->hi - s->lo);
	if (!(t >= 0.0))
		t = 0.0;
	if (t > 1.0)
		t = 1.0;
	return s->from + t * (s->to - s->from);
}

void tick_power_of_ten(char *buf, size_t size, double v)
{
	static const char *const digits[] = { "⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹" };
	int e = (int)lround(log10(v)), a = e < 0 ? -e : e;
	size_t used;

	if (e == 0) {
		(void)snprintf(buf, size, "1");
		return;
	}
	used = (size_t)snprintf(buf, size, "10%s", e < 0 ? "⁻" : "");
	if (a >= 10 && used < size)
		used += (size_t)snprintf(buf + used, size - used, "%s", digits[(a / 10) % 10]);
	if (used < size)
		(void)snprintf(buf + used, size - used, "%s", digits[a % 10]);
}

void format_microseconds(char *buf, size_t size, double us)
{
	if (us < 1000.0)
		(void)snprintf(buf, size, "%.0f µs", us);
	else if (us < 1e6)
		(void)snprintf(buf, size, "%.3g ms", us / 1e3);
	else
		(void)snprintf(buf, size, "%.3g s", us / 1e6);
}

void tick_microseconds(char *buf, size_t size, double v)
{
	format_microseconds(buf, size, v);
}

void tick_seconds(char *buf, size_t size, double v)
{
	(void)snprintf(buf, size, "%.3g s", v);
}

void tick_percent(char *buf, size_t size, double v)
{
	(void)snprintf(buf, size, "%.3g%%", v * 100.0);
}

void svg_begin(FILE *f, double width, double height, const char *title)
{
	(void)fprintf(f,
		      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
		      "width=\"%.0f\" height=\"%.0f\" role=\"img\" font-family=\"system-ui, "
		      "-apple-system, 'Segoe UI', sans-serif\" font-size=\"12\">\n",
		      width, height, width, height);
	svg_title(f, title);
}

void svg_end(FILE *f)
{
	(void)fputs("</svg>\n", f);
}

void svg_title(FILE *f, const char *text)
{
	(void)fputs("<title>", f);
	xml_put_text(f, text);
	(void)fputs("</title>", f);
}

void svg_text(FILE *f, double x, double y, const char *anchor, const char *cls,
	      const char *text)
{
	const char *fill = strcmp(cls, "axis") == 0 ? AXIS_COLOUR
			   : strstr(cls, "bad") ? "#b91c1c" : "#111827";

	(void)fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" class=\"%s\" fill=\"%s\">",
		      x, y, anchor, cls, fill);
	xml_put_text(f, text);
	(void)fputs("</text>\n", f);
}

void svg_textf(FILE *f, double x, double y, const char *anchor, const char *cls,
	       const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	svg_text(f, x, y, anchor, cls, buf);
}

static void grid_line(FILE *f, double x, double top, double bottom, const char *colour)
{
	(void)fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			 "class=\"grid\"/>\n", x, top, x, bottom, colour);
}

static void log_ticks(FILE *f, const struct scale *s, double top, double bottom,
		      tick_label_fn *label)
{
	char buf[64];
	double decade, x;
	int k;

	for (decade = s->lo; decade <= s->hi * 1.0001; decade *= 10.0) {
		x = scale_at(s, decade);
		grid_line(f, x, top, bottom, GRID_COLOUR);
		label(buf, sizeof(buf), decade);
		svg_text(f, x, bottom + 14, "middle", "axis", buf);
		for (k = 2; k <= 9 && decade * k < s->hi; k++)
			grid_line(f, scale_at(s, decade * k), top, bottom, MINOR_COLOUR);
	}
}

static void linear_ticks(FILE *f, const struct scale *s, double top, double bottom, int ticks,
			 tick_label_fn *label)
{
	char buf[64];
	double v, x;
	int i;

	for (i = 0; i <= ticks; i++) {
		v = s->lo + (s->hi - s->lo) * i / ticks;
		x = scale_at(s, v);
		grid_line(f, x, top, bottom, GRID_COLOUR);
		label(buf, sizeof(buf), v);
		svg_text(f, x, bottom + 14, "middle", "axis", buf);
	}
}

void svg_axis_x(FILE *f, const struct scale *s, double top, double bottom, int ticks,
		tick_label_fn *label)
{
	if (s->log)
		log_ticks(f, s, top, bottom, label);
	else
		linear_ticks(f, s, top, bottom, ticks > 0 ? ticks : 4, label);
	(void)fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			 "class=\"axis-line\"/>\n", s->from, bottom, s->to, bottom, AXIS_COLOUR);
}
