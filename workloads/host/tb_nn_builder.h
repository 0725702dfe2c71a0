/*
 * tb_nn_builder.h - host-side writer of tinybench model blobs.
 *
 * Builds a graph tensor by tensor and op by op, then plans the arena of
 * activations and kernel scratch (tb_nn_plan_arena()) and serialises the
 * blob described in docs/MODEL_FORMAT.md.  Used by the workload generator
 * at build time and by the .tflite importer; never linked into device code
 * (it allocates).
 *
 * Ownership: a builder is created by tb_nn_builder_new() and released by
 * tb_nn_builder_free() (NULL is accepted).  Constant data passed to it is
 * copied.  tb_nn_builder_finish() returns a blob allocated with malloc()
 * that the caller frees with free().  Not thread-safe per builder.
 *
 * Every function returns TB_NN_OK (or a tensor index >= 0 where stated) or
 * a negative tb_nn_status; a failed call leaves the builder unchanged.
 */
#ifndef TB_NN_BUILDER_H
#define TB_NN_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "tb_nn.h"
#include "tb_nn_model.h"

struct tb_nn_builder;

struct tb_nn_tensor_desc {
	uint8_t dtype;			/* enum tb_nn_dtype */
	uint8_t rank;			/* 1..4 */
	uint32_t dims[TB_NN_MODEL_MAX_RANK];
	float scale;			/* 0 when not quantised */
	int32_t zero_point;
	/* Per-channel scales (dims[quant_axis] values, copied) or NULL. */
	const float *channel_scales;
	uint8_t quant_axis;
};

int tb_nn_builder_new(struct tb_nn_builder **out);
void tb_nn_builder_free(struct tb_nn_builder *b);

/*
 * Add a tensor.  data == NULL makes an activation (placed in the arena by
 * the planner); otherwise a constant whose bytes (the tensor's full size,
 * little-endian) are copied into the data section.  Returns the index.
 */
int tb_nn_builder_add_tensor(struct tb_nn_builder *b,
			     const struct tb_nn_tensor_desc *desc, const void *data);

/* Append raw bytes to the data section (8-aligned); *offset receives it. */
int tb_nn_builder_add_data(struct tb_nn_builder *b, const void *data, size_t len,
			   uint32_t *offset);

/*
 * Low-level op: code, up to 4 input indices (-1 = absent), one output and
 * the op's int32 parameter words as documented in tb_nn_model.h.  No
 * checks beyond index ranges: tests use it to build invalid blobs.
 */
int tb_nn_builder_add_op(struct tb_nn_builder *b, uint16_t code,
			 const int *inputs, int num_inputs, int output,
			 const int32_t *params, int num_params);

/*
 * Typed ops.  Offsets inside the param structs are ignored: the runtime
 * derives them from the tensors' zero points.  mult/shift arrays hold one
 * entry per output channel and are copied.  bias may be -1.
 */
int tb_nn_builder_add_conv2d(struct tb_nn_builder *b, int input, int filter,
			     int bias, int output,
			     const struct tb_nn_conv_params *p,
			     const int32_t *mult, const int32_t *shift);
int tb_nn_builder_add_depthwise_conv2d(struct tb_nn_builder *b, int input,
				       int filter, int bias, int output,
				       const struct tb_nn_dw_conv_params *p,
				       const int32_t *mult, const int32_t *shift);
int tb_nn_builder_add_fully_connected(struct tb_nn_builder *b, int input,
				      int filter, int bias, int output,
				      const struct tb_nn_activation *act,
				      int32_t mult, int32_t shift);
int tb_nn_builder_add_average_pool2d(struct tb_nn_builder *b, int input,
				     int output,
				     const struct tb_nn_pool_params *p,
				     int32_t filter_h, int32_t filter_w);
int tb_nn_builder_add_softmax(struct tb_nn_builder *b, int input, int output,
			      const struct tb_nn_softmax_params *p);
int tb_nn_builder_add_reshape(struct tb_nn_builder *b, int input, int output);
int tb_nn_builder_add_max_pool2d(struct tb_nn_builder *b, int input, int output,
				 const struct tb_nn_pool_params *p,
				 int32_t filter_h, int32_t filter_w);
/* int8 ADD; offsets in p are ignored (taken from the zero points). */
int tb_nn_builder_add_add(struct tb_nn_builder *b, int input1, int input2,
			  int output, const struct tb_nn_add_params *p);

/* Graph input and output: both must be activations. */
int tb_nn_builder_set_io(struct tb_nn_builder *b, int input, int output);

/*
 * Compute lifetimes (first and last op touching each activation; the
 * input lives from op 0, the output to the last op; an op's kernel
 * scratch, tb_nn_op_scratch_size(), during that op), plan the arena and
 * serialise.  Every activation must be used by some op.  *blob is
 * malloc()ed for the caller.
 */
int tb_nn_builder_finish(struct tb_nn_builder *b, uint8_t **blob, size_t *size);

#endif
