/*
 * tb_nn_host_quant.h - TFLite-style quantisation of float networks
 * (host only: the generator, later the importer's fallbacks).
 *
 * These reproduce what the TFLite converter and TFLite(-Micro)'s Prepare()
 * compute, so a model quantised here behaves like one quantised there.
 * Pure functions; the caller owns every array.
 */
#ifndef TB_NN_HOST_QUANT_H
#define TB_NN_HOST_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "tb_nn.h"

/*
 * Asymmetric int8 parameters for a real range (TFLite's
 * ChooseQuantizationParams over [-128, 127]): the range is widened to
 * contain 0, scale = (max - min) / 255, zero point nudged to an integer.
 */
void tb_nn_choose_quant_int8(float rmin, float rmax, float *scale, int32_t *zero_point);

/*
 * Symmetric int8 weights, one scale per channel: scale = max|w| / 127,
 * q = round(w / scale) clamped to [-127, 127].  Element i belongs to
 * channel (i / inner) % channels (OHWI filters: inner = H*W*I; 1HWC
 * depthwise filters: inner = 1; per-tensor: channels = 1, inner = n).
 */
void tb_nn_quantize_symmetric(const float *w, size_t n, uint32_t channels,
			      size_t inner, int8_t *q, float *scales);

/*
 * int32 bias with scale in_scale * w_scale[c] (w_scales has n entries, or
 * 1 when per_tensor): q = round(b / scale), saturated.  bias_scales gets
 * the scales (n entries) when not NULL.
 */
void tb_nn_quantize_bias(const float *b, uint32_t n, float in_scale,
			 const float *w_scales, int per_tensor,
			 int32_t *q, float *bias_scales);

/*
 * Per-channel requantisation of a convolution, as TFLite-Micro's
 * PopulateConvolutionQuantizationParams: double(in) * double(w[c]) /
 * double(out), then QuantizeMultiplier.
 */
int tb_nn_conv_multipliers(float in_scale, const float *w_scales, uint32_t n,
			   float out_scale, int32_t *mult, int32_t *shift);

/*
 * Fully connected, as TFLite's GetQuantizedConvolutionMultipler: the
 * product in_scale * w_scale is formed in float, then divided in double.
 */
int tb_nn_fc_multiplier(float in_scale, float w_scale, float out_scale,
			int32_t *mult, int32_t *shift);

/*
 * Output clamp for a fused activation (TFLite's
 * CalculateActivationRangeQuantized): relu = 0 none, 1 ReLU, 6 ReLU6.
 */
void tb_nn_activation_range_int8(int relu, float scale, int32_t zero_point,
				 struct tb_nn_activation *act);

#endif
