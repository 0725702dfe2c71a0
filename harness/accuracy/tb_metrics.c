/*
 * tb_metrics.c - top-1 accuracy and ROC AUC (tb_metrics.h).
 */
#include "tb_metrics.h"

#include <math.h>
#include <stdlib.h>

double tb_metric_top1(const int32_t *label, const int32_t *pred, size_t n)
{
	size_t ok = 0;

	if (!n)
		return NAN;
	for (size_t i = 0; i < n; i++)
		ok += pred[i] == label[i];
	return (double)ok / (double)n;
}

static int by_score(const void *a, const void *b, void *keys)
{
	const double *k = keys;
	double x = k[*(const size_t *)a], y = k[*(const size_t *)b];

	return x < y ? -1 : x > y;
}

double tb_metric_roc_auc(const double *score, const uint8_t *positive, size_t n,
			 double *rank, size_t *idx)
{
	double pos_rank_sum = 0, np = 0, nn = 0;

	for (size_t i = 0; i < n; i++) {
		idx[i] = i;
		if (positive[i])
			np++;
		else
			nn++;
	}
	if (np == 0 || nn == 0)
		return NAN;
	qsort_r(idx, n, sizeof(*idx), by_score, (void *)score);
	/* Ranks from 1; a run of equal scores shares its mean rank. */
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && score[idx[j + 1]] == score[idx[i]])
			j++;
		for (size_t k = i; k <= j; k++)
			rank[idx[k]] = (double)(i + j + 2) / 2.0;
		i = j + 1;
	}
	for (size_t i = 0; i < n; i++)
		if (positive[i])
			pos_rank_sum += rank[i];
	return (pos_rank_sum - np * (np + 1) / 2.0) / (np * nn);
}

double tb_metric_auc_ovr(const double *scores, size_t k, const int32_t *label,
			 size_t n, double *col, uint8_t *pos, double *rank, size_t *idx)
{
	double sum = 0;

	if (!k || !n)
		return NAN;
	for (size_t c = 0; c < k; c++) {
		double a;

		for (size_t i = 0; i < n; i++) {
			col[i] = scores[i * k + c];
			pos[i] = label[i] == (int32_t)c;
		}
		a = tb_metric_roc_auc(col, pos, n, rank, idx);
		if (isnan(a))
			return NAN;
		sum += a;
	}
	return sum / (double)k;
}
