/*
 * svg.h - small helpers to draw charts as inline SVG (private to
 * reports/).  Coordinates are user units (pixels at 100 %); text is
 * escaped; nothing is allocated.
 */
#ifndef TB_SVG_H
#define TB_SVG_H

#include "export_priv.h"

/* An axis: data range [lo, hi] with tick step, mapped to pixels [p0, p1]. */
struct tb_axis {
	double lo, hi, step;
	double p0, p1;
};

/* Choose lo/hi/step so that [min, max] is covered by about n ticks at
 * 1, 2 or 5 times a power of ten.  min == max is widened. */
void tb_axis_nice(struct tb_axis *a, double min, double max, int n);
double tb_axis_px(const struct tb_axis *a, double v);

/* Tick label: up to 4 significant digits, k / M for large values. */
void tb_fmt_tick(char *buf, size_t len, double v, double step);

void tb_svg_begin(struct tb_writer *w, int width, int height, const char *kind,
		  const char *label);
void tb_svg_end(struct tb_writer *w);
void tb_svg_rect(struct tb_writer *w, double x, double y, double wd, double ht,
		 const char *cls, const char *title);
void tb_svg_line(struct tb_writer *w, double x1, double y1, double x2, double y2,
		 const char *cls);
/* anchor: "start", "middle" or "end". */
void tb_svg_text(struct tb_writer *w, double x, double y, const char *anchor,
		 const char *cls, const char *text);
void tb_svg_circle(struct tb_writer *w, double x, double y, double r,
		   const char *cls, const char *title);
/* Polyline / polygon from n points (xs, ys). */
void tb_svg_poly(struct tb_writer *w, const double *xs, const double *ys,
		 size_t n, int closed, const char *cls);

#endif
