/*
 * tb_metrics.h - the accuracy metrics of MLPerf Tiny: top-1 accuracy for
 * the classifiers, ROC AUC for anomaly detection (and, as the MLPerf Tiny
 * runner reports beside top-1, the one-vs-rest AUC of a classifier).
 *
 * Pure functions on caller-owned arrays; the scratch arrays are the
 * caller's too.  Ties get half credit (midranks), as scikit-learn's
 * roc_auc_score.
 */
#ifndef TB_METRICS_H
#define TB_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Fraction of i with pred[i] == label[i]; NaN for n == 0. */
double tb_metric_top1(const int32_t *label, const int32_t *pred, size_t n);

/*
 * ROC AUC of score for the positive class (positive[i] != 0): the
 * probability that a random positive scores above a random negative, ties
 * counting one half (the Mann-Whitney U statistic / (P x N)).  rank is n
 * doubles and idx n size_t of scratch.  NaN when there is no positive or
 * no negative.
 */
double tb_metric_roc_auc(const double *score, const uint8_t *positive, size_t n,
			 double *rank, size_t *idx);

/*
 * One-vs-rest macro AUC of a k-class classifier: scores is n x k (row i
 * the scores of input i, normalised by the caller if it wants), the AUC
 * of column c against label == c, averaged over the classes.  NaN when a
 * class has no input or all of them.  Scratch: col n doubles, pos n
 * bytes, rank n doubles, idx n size_t.
 */
double tb_metric_auc_ovr(const double *scores, size_t k, const int32_t *label,
			 size_t n, double *col, uint8_t *pos, double *rank, size_t *idx);

#endif
