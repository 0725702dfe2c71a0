/*
 * tb_nn.h - tinybench int8 neural-network kernels (CMSIS-NN form).
 *
 * One operator per source file, named after its function
 * (tb_nn_convolve_s8.c -> tb_nn_convolve_s8()).  Every kernel is bit-exact
 * with TensorFlow Lite's reference integer kernels (TFLite-Micro for
 * softmax): same fixed-point primitives, same rounding, same clamps.
 *
 * Ownership: kernels never allocate.  The caller owns every buffer: inputs,
 * weights, outputs and the optional scratch described by a struct
 * tb_nn_context (size it with the kernel's _get_buffer_size() companion;
 * a size of 0 means the kernel needs none and ctx may be NULL).  Scratch
 * is always optional: a kernel given less than it asks for, or a buffer
 * not 8-byte aligned, or ctx NULL, takes a path that needs none, with the
 * same results.  The sizes are the same on every target (model blobs plan
 * them at build time); a path that does not use the scratch ignores it.
 * The kernel leaves the scratch in any state.  Kernels keep no state
 * between calls and are reentrant.
 *
 * Device-safe C11: only <stdint.h>, <stddef.h>, <string.h>, <limits.h>;
 * no malloc, no stdio, no recursion, no libm.  The int8 kernels use no
 * floating point (the setup helpers at the end of this header do, on the
 * host); the float32 kernels are for the float reference models.
 *
 * Layouts (TFLite's): activations NHWC; conv filters OHWI
 * (out_ch, kh, kw, in_ch); depthwise filters 1HWC (1, kh, kw, out_ch);
 * fully-connected weights [out_features][accum_depth]; biases int32[out_ch].
 *
 * Quantisation conventions (TFLite's): real = scale * (q - zero_point).
 * input_offset = -input_zero_point, output_offset = output_zero_point,
 * filter_offset = -filter_zero_point.  Requantisation uses a (multiplier,
 * shift) pair: multiplier is Q0.31 in [2^30, 2^31) (or 0), shift > 0 is a
 * left shift, shift < 0 a right shift (TFLite's MultiplyByQuantizedMultiplier).
 */
#ifndef TB_NN_H
#define TB_NN_H

#include <stddef.h>
#include <stdint.h>

/*
 * Status codes.  0 is success; the negative values are numerically equal
 * to the host's enum tb_err codes of the same meaning, so the harness can
 * pass them through unchanged.  Append only.
 */
enum tb_nn_status {
	TB_NN_OK              = 0,
	TB_NN_ERR_ARG         = -1,  /* bad argument, buffer too small */
	TB_NN_ERR_NOMEM       = -2,  /* host-side helpers only: malloc failed */
	TB_NN_ERR_FORMAT      = -10, /* malformed model blob */
	TB_NN_ERR_UNSUPPORTED = -12, /* valid but not supported here */
};

/* Caller-owned scratch memory for one kernel call. */
struct tb_nn_context {
	void *buf;
	int32_t size;                   /* bytes */
};

/* Tensor dimensions, NHWC.  Unused dimensions are 1. */
struct tb_nn_dims {
	int32_t n;
	int32_t h;
	int32_t w;
	int32_t c;
};

/* A (width, height) pair: strides, paddings, dilations, pool sizes. */
struct tb_nn_tile {
	int32_t w;
	int32_t h;
};

/* Output clamp in the quantised domain (fused ReLU/ReLU6 or none). */
struct tb_nn_activation {
	int32_t min;
	int32_t max;
};

/*
 * Padding is explicit: padding.h/.w are the rows/columns added before the
 * first input row/column (TFLite's padding_values); what is added after
 * follows from the output size.  tb_nn_compute_padding() turns SAME/VALID
 * into these values.
 */
struct tb_nn_conv_params {
	int32_t input_offset;           /* -input zero point */
	int32_t output_offset;          /* output zero point */
	struct tb_nn_tile stride;
	struct tb_nn_tile padding;
	struct tb_nn_tile dilation;
	struct tb_nn_activation activation;
};

struct tb_nn_dw_conv_params {
	int32_t input_offset;
	int32_t output_offset;
	int32_t ch_mult;                /* depth multiplier: out_ch = in_ch * ch_mult */
	struct tb_nn_tile stride;
	struct tb_nn_tile padding;
	struct tb_nn_tile dilation;
	struct tb_nn_activation activation;
};

struct tb_nn_fc_params {
	int32_t input_offset;
	int32_t filter_offset;          /* -filter zero point (0 when symmetric) */
	int32_t output_offset;
	struct tb_nn_activation activation;
};

struct tb_nn_pool_params {
	struct tb_nn_tile stride;
	struct tb_nn_tile padding;
	struct tb_nn_activation activation;
};

/* One (multiplier, shift) pair per output channel; arrays owned by caller. */
struct tb_nn_per_channel_quant_params {
	const int32_t *multiplier;
	const int32_t *shift;
};

struct tb_nn_per_tensor_quant_params {
	int32_t multiplier;
	int32_t shift;
};

/* TFLite's SoftmaxParams for the int8 path (see tb_nn_softmax_prepare()). */
struct tb_nn_softmax_params {
	int32_t input_beta_multiplier;
	int32_t input_beta_left_shift;  /* 0..30 */
	int32_t diff_min;               /* <= 0 */
};

/*
 * Convolution, int8 activations and per-output-channel int8 weights
 * (symmetric), int32 bias (may be NULL).  TFLite reference ConvPerChannel.
 * input_dims {n, h, w, in_ch}, filter_dims {out_ch, kh, kw, in_ch},
 * output_dims {n, out_h, out_w, out_ch}.  Scratch: the im2col columns of
 * the Cortex-M DSP path, 16 * ceil(kh * kw * in_ch / 4) bytes.
 */
int32_t tb_nn_convolve_s8_get_buffer_size(const struct tb_nn_dims *input_dims,
					  const struct tb_nn_dims *filter_dims);
int tb_nn_convolve_s8(const struct tb_nn_context *ctx,
		      const struct tb_nn_conv_params *conv_params,
		      const struct tb_nn_per_channel_quant_params *quant_params,
		      const struct tb_nn_dims *input_dims, const int8_t *input,
		      const struct tb_nn_dims *filter_dims, const int8_t *filter,
		      const int32_t *bias,
		      const struct tb_nn_dims *output_dims, int8_t *output);

/*
 * Depthwise convolution, per-channel weights.  TFLite reference
 * DepthwiseConvPerChannel.  filter_dims {1, kh, kw, out_ch} with
 * out_ch = in_ch * ch_mult; output channel oc = ic * ch_mult + m.
 */
int32_t tb_nn_depthwise_conv_s8_get_buffer_size(const struct tb_nn_dims *input_dims,
						const struct tb_nn_dims *filter_dims);
int tb_nn_depthwise_conv_s8(const struct tb_nn_context *ctx,
			    const struct tb_nn_dw_conv_params *dw_conv_params,
			    const struct tb_nn_per_channel_quant_params *quant_params,
			    const struct tb_nn_dims *input_dims, const int8_t *input,
			    const struct tb_nn_dims *filter_dims, const int8_t *filter,
			    const int32_t *bias,
			    const struct tb_nn_dims *output_dims, int8_t *output);

/*
 * Fully connected, per-tensor weight quantisation (TFLite reference
 * FullyConnected, int8).  input_dims: n = batches, h * w * c = accum_depth;
 * filter_dims: n = out_features, c = accum_depth (h = w = 1);
 * output_dims: n = batches, c = out_features (h = w = 1).
 */
int32_t tb_nn_fully_connected_s8_get_buffer_size(const struct tb_nn_dims *filter_dims);
int tb_nn_fully_connected_s8(const struct tb_nn_context *ctx,
			     const struct tb_nn_fc_params *fc_params,
			     const struct tb_nn_per_tensor_quant_params *quant_params,
			     const struct tb_nn_dims *input_dims, const int8_t *input,
			     const struct tb_nn_dims *filter_dims, const int8_t *filter,
			     const int32_t *bias,
			     const struct tb_nn_dims *output_dims, int8_t *output);

/*
 * Average pooling (TFLite reference int8 AveragePool): the mean of the
 * in-bounds elements of each window (padding is not counted), rounded half
 * away from zero, clamped.  Input and output share one quantisation.
 * filter_dims: h, w = pool size.  Returns TB_NN_ERR_ARG if a window holds
 * no input element (TFLite's "return false").
 */
int tb_nn_avgpool_s8(const struct tb_nn_context *ctx,
		     const struct tb_nn_pool_params *pool_params,
		     const struct tb_nn_dims *input_dims, const int8_t *input,
		     const struct tb_nn_dims *filter_dims,
		     const struct tb_nn_dims *output_dims, int8_t *output);

/*
 * Plain C reference paths of the kernels that have a fast path.  Same
 * arguments and results, bit for bit; the tests hold the fast paths
 * (generic, and the Cortex-M DSP path compiled with TB_NN_EMULATE_DSP)
 * to them.
 */
int tb_nn_convolve_s8_ref(const struct tb_nn_context *ctx,
			  const struct tb_nn_conv_params *conv_params,
			  const struct tb_nn_per_channel_quant_params *quant_params,
			  const struct tb_nn_dims *input_dims, const int8_t *input,
			  const struct tb_nn_dims *filter_dims, const int8_t *filter,
			  const int32_t *bias,
			  const struct tb_nn_dims *output_dims, int8_t *output);
int tb_nn_depthwise_conv_s8_ref(const struct tb_nn_context *ctx,
				const struct tb_nn_dw_conv_params *dw_conv_params,
				const struct tb_nn_per_channel_quant_params *quant_params,
				const struct tb_nn_dims *input_dims, const int8_t *input,
				const struct tb_nn_dims *filter_dims, const int8_t *filter,
				const int32_t *bias,
				const struct tb_nn_dims *output_dims, int8_t *output);
int tb_nn_fully_connected_s8_ref(const struct tb_nn_context *ctx,
				 const struct tb_nn_fc_params *fc_params,
				 const struct tb_nn_per_tensor_quant_params *quant_params,
				 const struct tb_nn_dims *input_dims, const int8_t *input,
				 const struct tb_nn_dims *filter_dims, const int8_t *filter,
				 const int32_t *bias,
				 const struct tb_nn_dims *output_dims, int8_t *output);

/*
 * Max pooling (TFLite reference int8 MaxPool): the largest in-bounds
 * element of each window, clamped.  Input and output share one
 * quantisation.  Returns TB_NN_ERR_ARG if a window holds no input element.
 */
int tb_nn_maxpool_s8(const struct tb_nn_context *ctx,
		     const struct tb_nn_pool_params *pool_params,
		     const struct tb_nn_dims *input_dims, const int8_t *input,
		     const struct tb_nn_dims *filter_dims,
		     const struct tb_nn_dims *output_dims, int8_t *output);

/* TFLite's int8 ArithmeticParams for ADD. */
struct tb_nn_add_params {
	int32_t input1_offset;          /* -zero point of input 1 */
	int32_t input2_offset;
	int32_t output_offset;          /* output zero point */
	int32_t left_shift;             /* 20 */
	int32_t input1_mult, input1_shift;	/* shift <= 0 */
	int32_t input2_mult, input2_shift;
	int32_t output_mult, output_shift;
	struct tb_nn_activation activation;
};

/* Element-wise int8 addition of two same-shaped tensors of size elements. */
int tb_nn_add_s8(const struct tb_nn_add_params *params, const int8_t *input1,
		 const int8_t *input2, int32_t size, int8_t *output);

/* TFLite's int8 ADD Prepare: left_shift and the three (mult, shift) pairs
 * from the scales (offsets and activation are left to the caller). */
int tb_nn_add_prepare(double input1_scale, double input2_scale, double output_scale,
		      struct tb_nn_add_params *params);

/* QUANTIZE float32 -> int8: round(x / scale) + zp (half away from zero). */
int tb_nn_quantize_f32_s8(const float *input, int32_t size, float scale,
			  int32_t zero_point, int8_t *output);
/* DEQUANTIZE int8 -> float32: (float)((double)scale * (q - zp)). */
int tb_nn_dequantize_s8_f32(const int8_t *input, int32_t size, float scale,
			    int32_t zero_point, float *output);
/* QUANTIZE int8 -> int8 (a change of scale): requantise and clamp. */
int tb_nn_requantize_s8(const int8_t *input, int32_t size, int32_t input_zero_point,
			int32_t multiplier, int32_t shift, int32_t output_zero_point,
			int8_t *output);

/*
 * float32 operators, for the float reference models (TFLite's reference
 * float kernels; sums in tap order, single precision, fused clamp to
 * [act_min, act_max]).  Same layouts as the int8 kernels.  Device-safe:
 * no libm (tb_nn_expf() is the project's own exp).
 */
struct tb_nn_f32_conv_params {
	struct tb_nn_tile stride;
	struct tb_nn_tile padding;
	struct tb_nn_tile dilation;
	int32_t ch_mult;                /* depthwise only */
	float act_min, act_max;
};

struct tb_nn_f32_pool_params {
	struct tb_nn_tile stride;
	struct tb_nn_tile padding;
	struct tb_nn_tile filter;
	float act_min, act_max;
};

int tb_nn_convolve_f32(const struct tb_nn_f32_conv_params *params,
		       const struct tb_nn_dims *input_dims, const float *input,
		       const struct tb_nn_dims *filter_dims, const float *filter,
		       const float *bias, const struct tb_nn_dims *output_dims,
		       float *output);
int tb_nn_depthwise_conv_f32(const struct tb_nn_f32_conv_params *params,
			     const struct tb_nn_dims *input_dims, const float *input,
			     const struct tb_nn_dims *filter_dims, const float *filter,
			     const float *bias, const struct tb_nn_dims *output_dims,
			     float *output);
int tb_nn_fully_connected_f32(float act_min, float act_max, int32_t batches,
			      int32_t depth, const float *input, int32_t units,
			      const float *weights, const float *bias, float *output);
int tb_nn_avgpool_f32(const struct tb_nn_f32_pool_params *params,
		      const struct tb_nn_dims *input_dims, const float *input,
		      const struct tb_nn_dims *output_dims, float *output);
int tb_nn_maxpool_f32(const struct tb_nn_f32_pool_params *params,
		      const struct tb_nn_dims *input_dims, const float *input,
		      const struct tb_nn_dims *output_dims, float *output);
int tb_nn_add_f32(const float *input1, const float *input2, int32_t size,
		  float act_min, float act_max, float *output);
int tb_nn_softmax_f32(const float *input, int32_t num_rows, int32_t row_size,
		      float beta, float *output);
/* e^x in single precision, within 2 ulp; no libm. */
float tb_nn_expf(float x);

/*
 * Softmax over the last dimension, int8 in, int8 out with scale 1/256 and
 * zero point -128 (TFLite-Micro reference int8 softmax: gemmlowp
 * exp_on_negative_values, Q5.26 scaled differences, Q12.19 accumulation).
 * input and output may not overlap.
 */
int tb_nn_softmax_s8(const int8_t *input, int32_t num_rows, int32_t row_size,
		     const struct tb_nn_softmax_params *params, int8_t *output);

/*
 * Requantisation primitive (TFLite's MultiplyByQuantizedMultiplier with
 * the default double rounding): round(x * multiplier * 2^(shift - 31)).
 * shift must be in [-31, 30].
 */
int32_t tb_nn_requantize(int32_t x, int32_t multiplier, int32_t shift);

/*
 * Setup helpers: the arithmetic TFLite runs at Prepare() time.  Pure C, no
 * libm, deterministic; used by the generator and the importer on the host,
 * safe on a device too.
 */

/*
 * TFLite's QuantizeMultiplier: real = multiplier * 2^(shift - 31) with
 * multiplier in [2^30, 2^31), rounding half away from zero.  real == 0, or
 * a magnitude below 2^-32, gives (0, 0).  Returns TB_NN_ERR_ARG for a
 * non-finite value or one of magnitude >= 2^31 (shift would exceed 31).
 */
int tb_nn_quantize_multiplier(double real, int32_t *multiplier, int32_t *shift);

/*
 * TFLite(-Micro)'s int8 softmax Prepare: PreprocessSoftmaxScaling with
 * 5 integer bits and CalculateInputRadius.  input_scale is the float
 * scale of the input tensor widened to double, as TFLite does.
 */
int tb_nn_softmax_prepare(double beta, double input_scale,
			  struct tb_nn_softmax_params *params);

enum tb_nn_padding {
	TB_NN_PADDING_SAME  = 1,
	TB_NN_PADDING_VALID = 2,
};

/*
 * TFLite's ComputeOutSize + ComputePadding for one spatial axis: the output
 * size and the padding before the first element.  Returns TB_NN_ERR_ARG
 * when the output would be empty or an argument is out of range.
 */
int tb_nn_compute_padding(enum tb_nn_padding padding, int32_t in_size,
			  int32_t filter_size, int32_t stride, int32_t dilation,
			  int32_t *out_size, int32_t *pad_before);

#endif
