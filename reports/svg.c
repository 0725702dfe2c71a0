/*
 * svg.c - inline SVG drawing helpers (svg.h).
 */
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void tb_axis_nice(struct tb_axis *a, double min, double max, int n)
{
	double range, rough, mag, norm, step;

	if (!isfinite(min) || !isfinite(max)) {
		min = 0;
		max = 1;
	}
	if (max < min) {
		double t = min;

		min = max;
		max = t;
	}
	if (max == min) {
		double pad = max == 0 ? 1 : fabs(max) * 0.1;

		min -= pad;
		max += pad;
	}
	range = max - min;
	rough = range / (n > 1 ? n : 1);
	mag = pow(10, floor(log10(rough)));
	norm = rough / mag;
	step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
	a->step = step;
	a->lo = floor(min / step) * step;
	a->hi = ceil(max / step) * step;
	if (a->hi <= a->lo)
		a->hi = a->lo + step;
}

double tb_axis_px(const struct tb_axis *a, double v)
{
	return a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

/* Digits after the point needed to show multiples of step. */
static int decimals_for(double step)
{
	int d = 0;

	while (d < 6 && fabs(step * pow(10, d) - floor(step * pow(10, d) + 0.5)) > 1e-6)
		d++;
	return d;
}

void tb_fmt_tick(char *buf, size_t len, double v, double step)
{
	double a = fabs(v);

	if (fabs(v) < step * 1e-9)
		v = 0;
	if (a >= 1e6 && step >= 1e5)
		snprintf(buf, len, "%.*fM", decimals_for(step / 1e6), v / 1e6);
	else if (a >= 1e4 && step >= 1e3)
		snprintf(buf, len, "%.*fk", decimals_for(step / 1e3), v / 1e3);
	else
		snprintf(buf, len, "%.*f", decimals_for(step), v);
}

void tb_svg_begin(struct tb_writer *w, int width, int height, const char *kind,
		  const char *label)
{
	tb_w_printf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
		    "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
		    "data-chart=\"", width, height, width, height);
	tb_w_xml(w, kind);
	tb_w_str(w, "\" aria-label=\"");
	tb_w_xml(w, label);
	tb_w_str(w, "\"><title>");
	tb_w_xml(w, label);
	tb_w_str(w, "</title>\n");
}

void tb_svg_end(struct tb_writer *w)
{
	tb_w_str(w, "</svg>\n");
}

static void title_child(struct tb_writer *w, const char *title, const char *tag)
{
	if (!title) {
		tb_w_str(w, "/>\n");
		return;
	}
	tb_w_str(w, "><title>");
	tb_w_xml(w, title);
	tb_w_printf(w, "</title></%s>\n", tag);
}

void tb_svg_rect(struct tb_writer *w, double x, double y, double wd, double ht,
		 const char *cls, const char *title)
{
	if (wd < 0) {
		x += wd;
		wd = -wd;
	}
	tb_w_printf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"%s\"",
		    x, y, wd, ht, cls);
	title_child(w, title, "rect");
}

void tb_svg_line(struct tb_writer *w, double x1, double y1, double x2, double y2,
		 const char *cls)
{
	tb_w_printf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"%s\"/>\n",
		    x1, y1, x2, y2, cls);
}

void tb_svg_text(struct tb_writer *w, double x, double y, const char *anchor,
		 const char *cls, const char *text)
{
	tb_w_printf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" class=\"%s\">",
		    x, y, anchor, cls);
	tb_w_xml(w, text);
	tb_w_str(w, "</text>\n");
}

void tb_svg_circle(struct tb_writer *w, double x, double y, double r,
		   const char *cls, const char *title)
{
	tb_w_printf(w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" class=\"%s\"", x, y, r, cls);
	title_child(w, title, "circle");
}

void tb_svg_poly(struct tb_writer *w, const double *xs, const double *ys,
		 size_t n, int closed, const char *cls)
{
	size_t i;

	if (!n)
		return;
	tb_w_printf(w, "<%s class=\"%s\" points=\"", closed ? "polygon" : "polyline", cls);
	for (i = 0; i < n; i++)
		tb_w_printf(w, "%s%.1f,%.1f", i ? " " : "", xs[i], ys[i]);
	tb_w_str(w, "\"/>\n");
}
