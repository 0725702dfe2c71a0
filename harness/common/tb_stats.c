/*
 * tb_stats.c - summary statistics (see tb_stats.h for the definitions).
 */
#include "tb_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

double tb_stats_quantile_sorted(const double *sorted, size_t n, double q)
{
	double h, frac;
	size_t lo;

	if (!sorted || n == 0)
		return NAN;
	if (!(q > 0.0))		/* also catches NaN */
		return sorted[0];
	if (q >= 1.0)
		return sorted[n - 1];

	h = (double)(n - 1) * q;
	lo = (size_t)h;		/* h > 0: truncation is floor */
	if (lo >= n - 1)
		return sorted[n - 1];
	frac = h - (double)lo;
	return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

static int check_input(const double *v, size_t n, const double *scratch,
		       const struct tb_stats *out, struct tb_error *err)
{
	size_t i;

	if (!v || !scratch || !out)
		return tb_error_set(err, TB_ERR_ARG,
				    "tb_stats_summary: NULL argument");
	if (n == 0)
		return tb_error_set(err, TB_ERR_ARG,
				    "tb_stats_summary: no values to summarise");
	for (i = 0; i < n; i++) {
		if (!isfinite(v[i]))
			return tb_error_set(err, TB_ERR_ARG,
					    "tb_stats_summary: value %zu is not a finite number (%g)",
					    i, v[i]);
	}
	return TB_OK;
}

int tb_stats_summary(const double *v, size_t n, double *scratch,
		     struct tb_stats *out, struct tb_error *err)
{
	double sum = 0.0, sq = 0.0, mean;
	size_t i;
	int ret;

	ret = check_input(v, n, scratch, out, err);
	if (ret)
		return ret;

	if (scratch != v)
		memmove(scratch, v, n * sizeof(*scratch));
	qsort(scratch, n, sizeof(*scratch), cmp_double);

	/* Two passes: the mean first, then squared deviations from it, which
	 * keeps the variance accurate when the spread is small compared with
	 * the values (latencies of 12.001 ms, 12.002 ms, ...). */
	for (i = 0; i < n; i++)
		sum += scratch[i];
	mean = sum / (double)n;
	/* Rounding may push the mean of identical values past them. */
	if (mean < scratch[0])
		mean = scratch[0];
	if (mean > scratch[n - 1])
		mean = scratch[n - 1];
	for (i = 0; i < n; i++)
		sq += (scratch[i] - mean) * (scratch[i] - mean);

	out->n = n;
	out->min = scratch[0];
	out->max = scratch[n - 1];
	out->mean = mean;
	out->median = tb_stats_quantile_sorted(scratch, n, 0.5);
	out->p90 = tb_stats_quantile_sorted(scratch, n, 0.9);
	out->stddev = n > 1 ? sqrt(sq / (double)(n - 1)) : 0.0;
	return TB_OK;
}
