/*
 * tb_stats.h - summary statistics of a set of measurements (trial latencies).
 *
 * Pure functions: no allocation, no global state, no printing; safe to call
 * from any thread.  The caller owns every buffer passed in and the result.
 *
 * Quantiles (median, p90) use linear interpolation between the closest ranks,
 * which is numpy's default (numpy.percentile(..., method="linear")) and
 * type 7 of Hyndman & Fan: for a sorted x[0..n-1] and q in [0, 1],
 *
 *	h = (n - 1) * q,  Q(q) = x[floor(h)] + (h - floor(h)) * (x[floor(h)+1] - x[floor(h)])
 *
 * so results can be checked against numpy/pandas directly.
 */
#ifndef TB_STATS_H
#define TB_STATS_H

#include <stddef.h>

#include "tb_err.h"

struct tb_stats {
	size_t n;       /* number of values summarised (>= 1) */
	double min;
	double max;
	double mean;    /* arithmetic mean */
	double median;  /* Q(0.5), linear interpolation (see above) */
	double p90;     /* Q(0.9), linear interpolation (see above) */
	double stddev;  /* sample standard deviation (n - 1 denominator);
			 * 0 when n == 1.  numpy.std(v, ddof=1). */
};

/*
 * Summarise v[0..n-1] into *out.
 *
 * Quantiles need the values sorted.  v itself is never written unless the
 * caller passes it as scratch: scratch must hold n doubles; the function
 * copies v into it and sorts the copy (scratch == v sorts v in place, for a
 * caller that does not need the original order).  Nothing is allocated.
 *
 * Returns 0, or TB_ERR_ARG (err filled) when n is 0, a pointer is NULL, or a
 * value is NaN or infinite.  On error *out is left untouched.
 */
int tb_stats_summary(const double *v, size_t n, double *scratch,
		     struct tb_stats *out, struct tb_error *err);

/*
 * Quantile q (0 <= q <= 1, clamped) of sorted[0..n-1], which must already be
 * in ascending order, with the linear interpolation described above.
 * Returns NaN when n is 0 or sorted is NULL.
 */
double tb_stats_quantile_sorted(const double *sorted, size_t n, double q);

#endif
