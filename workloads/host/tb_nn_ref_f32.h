/*
 * tb_nn_ref_f32.h - float reference operators (host only).
 *
 * Straightforward float32 versions of the tb_nn operators, used by the
 * workload generator to calibrate activation ranges and by the tests as
 * the "what the int8 network approximates" oracle.  Same layouts and
 * padding conventions as tb_nn.h.  The caller owns every buffer.
 */
#ifndef TB_NN_REF_F32_H
#define TB_NN_REF_F32_H

#include "tb_nn.h"

/* Convolution; filter OHWI; bias may be NULL; relu != 0 clamps at 0. */
void tb_nn_ref_conv2d_f32(const struct tb_nn_dims *id, const float *in,
			  const struct tb_nn_dims *fd, const float *filter,
			  const float *bias, struct tb_nn_tile stride,
			  struct tb_nn_tile pad, int relu,
			  const struct tb_nn_dims *od, float *out);

/* Depthwise convolution, depth multiplier 1; filter 1HWC. */
void tb_nn_ref_dwconv2d_f32(const struct tb_nn_dims *id, const float *in,
			    const struct tb_nn_dims *fd, const float *filter,
			    const float *bias, struct tb_nn_tile stride,
			    struct tb_nn_tile pad, int relu,
			    const struct tb_nn_dims *od, float *out);

/* Average pool over in-bounds elements (TFLite's counting). */
void tb_nn_ref_avgpool_f32(const struct tb_nn_dims *id, const float *in,
			   struct tb_nn_tile filter, struct tb_nn_tile stride,
			   struct tb_nn_tile pad, const struct tb_nn_dims *od,
			   float *out);

/* Fully connected: out[u] = bias[u] + sum_d w[u][d] * in[d]. */
void tb_nn_ref_fc_f32(const float *in, int32_t depth, const float *w,
		      const float *bias, int32_t units, int relu, float *out);

/* Softmax of n values (max-subtracted, double accumulation). */
void tb_nn_ref_softmax_f32(const float *in, int32_t n, float *out);

#endif
