/*
 * tb_postproc.h - post-processing of workload outputs: top-1 for the
 * classifiers, the anomaly score of ad01 (MLPerf Tiny's definitions).
 *
 * Device-safe C11 (no malloc, no libm); the caller owns every buffer.
 */
#ifndef TB_POSTPROC_H
#define TB_POSTPROC_H

#include <stddef.h>
#include <stdint.h>

/* Index of the largest score (the first one on ties); -1 when n == 0. */
int32_t tb_post_top1_s8(const int8_t *scores, size_t n);
int32_t tb_post_top1_f32(const float *scores, size_t n);

/*
 * Mean squared error between two int8 tensors of n values, each
 * dequantised with its own (scale, zero point): the ad01 error of one
 * window (input vs reconstruction).  Accumulates in double.
 */
double tb_post_mse_s8(const int8_t *a, float a_scale, int32_t a_zp,
		      const int8_t *b, float b_scale, int32_t b_zp, size_t n);
double tb_post_mse_f32(const float *a, const float *b, size_t n);

/*
 * Anomaly score of one file for ad01: frames is n_frames x n_mels real
 * values (log-mel, row-major); windows of `window` frames (5 for ad01)
 * with a stride of one frame give n_frames - window + 1 inputs of
 * window * n_mels values; error(ctx, in, &mse) runs the model on one
 * window and returns its mean squared reconstruction error.  The score is
 * the mean of the window errors.  Returns 0, or the first negative value
 * error() returned, or -1 for bad arguments (fewer frames than a window).
 */
int tb_post_ad_score(const float *frames, uint32_t n_frames, uint32_t n_mels,
		     uint32_t window,
		     int (*error)(void *ctx, const float *in, double *mse), void *ctx,
		     double *score, uint32_t *n_windows);

#endif
