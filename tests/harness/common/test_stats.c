/*
 * test_stats.c - tb_stats_summary() against values worked out by hand (and
 * checked with numpy: np.percentile(v, q), np.std(v, ddof=1)).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "tb_stats.h"

#define EPS 1e-12

Test(stats, odd_count_hand_computed)
{
	/* sorted: 1 2 3 4 10; mean 4; deviations -3 -2 -1 0 6 -> sum sq 50;
	 * sample variance 50/4 = 12.5; p90: h = 4 * 0.9 = 3.6 ->
	 * 4 + 0.6 * (10 - 4) = 7.6; median x[2] = 3. */
	const double v[] = { 4, 1, 3, 2, 10 };
	double copy[5], scratch[5];
	struct tb_stats s;

	memcpy(copy, v, sizeof(v));
	cr_assert_eq(tb_stats_summary(copy, 5, scratch, &s, NULL), 0);
	cr_expect_eq(s.n, 5);
	cr_expect_float_eq(s.min, 1.0, EPS);
	cr_expect_float_eq(s.max, 10.0, EPS);
	cr_expect_float_eq(s.mean, 4.0, EPS);
	cr_expect_float_eq(s.median, 3.0, EPS);
	cr_expect_float_eq(s.p90, 7.6, EPS);
	cr_expect_float_eq(s.stddev, sqrt(12.5), EPS);
	cr_expect_arr_eq(copy, v, sizeof(v), "input must not be reordered");
}

Test(stats, even_count_interpolates)
{
	/* median between 2 and 3 -> 2.5; p90: h = 3 * 0.9 = 2.7 -> 3.7
	 * (np.percentile([1,2,3,4], 90) == 3.7); mean 2.5; sum sq 5 -> 5/3. */
	const double v[] = { 3, 1, 4, 2 };
	double scratch[4];
	struct tb_stats s;

	cr_assert_eq(tb_stats_summary(v, 4, scratch, &s, NULL), 0);
	cr_expect_float_eq(s.median, 2.5, EPS);
	cr_expect_float_eq(s.p90, 3.7, EPS);
	cr_expect_float_eq(s.mean, 2.5, EPS);
	cr_expect_float_eq(s.stddev, sqrt(5.0 / 3.0), EPS);
}

Test(stats, single_value)
{
	const double v[] = { 12.25 };
	double scratch[1];
	struct tb_stats s;

	cr_assert_eq(tb_stats_summary(v, 1, scratch, &s, NULL), 0);
	cr_expect_eq(s.n, 1);
	cr_expect_eq(s.min, 12.25);
	cr_expect_eq(s.max, 12.25);
	cr_expect_eq(s.mean, 12.25);
	cr_expect_eq(s.median, 12.25);
	cr_expect_eq(s.p90, 12.25);
	cr_expect_eq(s.stddev, 0.0);
}

Test(stats, identical_values_mean_stays_in_range)
{
	double v[10], scratch[10];
	struct tb_stats s;
	int i;

	for (i = 0; i < 10; i++)
		v[i] = 0.1;
	cr_assert_eq(tb_stats_summary(v, 10, scratch, &s, NULL), 0);
	cr_expect_eq(s.mean, 0.1, "mean %.17g drifted from 0.1", s.mean);
	cr_expect_eq(s.stddev, 0.0);
	cr_expect_eq(s.p90, 0.1);
}

Test(stats, scratch_may_be_the_input)
{
	double v[] = { 5, 4, 3, 2, 1 };
	struct tb_stats s;

	cr_assert_eq(tb_stats_summary(v, 5, v, &s, NULL), 0);
	cr_expect_float_eq(s.median, 3.0, EPS);
	cr_expect_float_eq(s.p90, 4.6, EPS);	/* h = 3.6: 4 + 0.6 */
	cr_expect_eq(v[0], 1.0, "documented: v is sorted in place");
	cr_expect_eq(v[4], 5.0);
}

Test(stats, rejects_empty_and_nan)
{
	const double bad[] = { 1.0, NAN, 3.0 };
	double scratch[3];
	struct tb_stats s = { .n = 42 };
	struct tb_error err = { 0 };

	cr_expect_eq(tb_stats_summary(bad, 0, scratch, &s, &err), TB_ERR_ARG);
	cr_expect(strstr(err.msg, "no values"), "message: %s", err.msg);
	cr_expect_eq(tb_stats_summary(bad, 3, scratch, &s, &err), TB_ERR_ARG);
	cr_expect(strstr(err.msg, "value 1"), "message names the index: %s", err.msg);
	cr_expect_eq(tb_stats_summary(NULL, 3, scratch, &s, NULL), TB_ERR_ARG);
	cr_expect_eq(s.n, 42, "out untouched on error");
}

Test(stats, quantile_endpoints)
{
	const double sorted[] = { 10, 20, 30 };

	cr_expect_eq(tb_stats_quantile_sorted(sorted, 3, 0.0), 10.0);
	cr_expect_eq(tb_stats_quantile_sorted(sorted, 3, 1.0), 30.0);
	cr_expect_eq(tb_stats_quantile_sorted(sorted, 3, -1.0), 10.0);
	cr_expect_eq(tb_stats_quantile_sorted(sorted, 3, 2.0), 30.0);
	cr_expect_float_eq(tb_stats_quantile_sorted(sorted, 3, 0.25), 15.0, EPS);
	cr_expect(isnan(tb_stats_quantile_sorted(sorted, 0, 0.5)));
}
