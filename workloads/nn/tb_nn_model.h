/*
 * tb_nn_model.h - the tinybench model blob and its interpreter.
 *
 * A model is one contiguous little-endian blob (docs/MODEL_FORMAT.md):
 * header, tensor table, op table, op parameters, constant data.  The
 * interpreter runs it in place, straight from const memory (flash on a
 * device): weights are never copied.  Activations and the kernels'
 * scratch buffers live in a caller-owned arena at offsets planned at
 * build time (tb_nn_plan_arena()) and stored in the blob.
 *
 * Ownership: tb_nn_model_init() validates the blob completely and fills a
 * caller-owned struct tb_nn_model that points into the blob; the blob must
 * outlive it and stay unchanged.  Nothing is allocated; there is no
 * destructor.  After a successful init, invoke() never reads or writes
 * outside the blob, the input, the output and the arena, whatever the blob
 * contains; a blob that fails validation is never run.
 *
 * Device-safe C11.  The blob's int32 arrays are read in place, so the
 * interpreter needs a little-endian CPU (init refuses otherwise) and an
 * 8-byte aligned blob and arena.
 */
#ifndef TB_NN_MODEL_H
#define TB_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "tb_nn.h"

/* Format constants.  Stored in blobs: append only, never renumber. */
#define TB_NN_MODEL_MAGIC        0x4E4E4254u	/* "TBNN" as LE u32 */
#define TB_NN_MODEL_VERSION      2	/* written; 1 is still read (no scratch) */
#define TB_NN_MODEL_ALIGN        8	/* section and arena alignment */
#define TB_NN_MODEL_HEADER_SIZE  64
#define TB_NN_MODEL_TENSOR_SIZE  48
#define TB_NN_MODEL_OP_SIZE      32
#define TB_NN_MODEL_MAX_RANK     4
#define TB_NN_MODEL_MAX_INPUTS   4
#define TB_NN_MODEL_MAX_OUTPUTS  2
#define TB_NN_NO_TENSOR          0xFFFFu	/* absent optional tensor */
#define TB_NN_NO_OFFSET          0xFFFFFFFFu	/* absent data reference */

/* Element types; same values as enum tb_dtype in tb_workload.h. */
enum tb_nn_dtype {
	TB_NN_DTYPE_INT8    = 1,
	TB_NN_DTYPE_UINT8   = 2,
	TB_NN_DTYPE_INT16   = 3,
	TB_NN_DTYPE_INT32   = 4,
	TB_NN_DTYPE_FLOAT32 = 5,
};

/* Bytes of one element of dtype; 0 for an unknown type. */
uint32_t tb_nn_dtype_size(uint8_t dtype);

/* Operator codes.  Stored in blobs: append only. */
enum tb_nn_op_code {
	TB_NN_OP_CONV_2D           = 1,
	TB_NN_OP_DEPTHWISE_CONV_2D = 2,
	TB_NN_OP_FULLY_CONNECTED   = 3,
	TB_NN_OP_AVERAGE_POOL_2D   = 4,
	TB_NN_OP_SOFTMAX           = 5,
	TB_NN_OP_RESHAPE           = 6,
	TB_NN_OP_MAX_POOL_2D       = 7,
	TB_NN_OP_ADD               = 8,
	TB_NN_OP_QUANTIZE          = 9,
	TB_NN_OP_DEQUANTIZE        = 10,
};

/* Tensor record flags. */
#define TB_NN_TENSOR_CONST        0x01	/* data in the blob, else in the arena */
#define TB_NN_TENSOR_PER_CHANNEL  0x02	/* per-channel scales in the data section */

/* Byte offsets of the header fields (all little-endian). */
enum tb_nn_header_field {
	TB_NN_HDR_MAGIC          = 0,	/* u32 */
	TB_NN_HDR_VERSION        = 4,	/* u16 */
	TB_NN_HDR_HEADER_SIZE    = 6,	/* u16 */
	TB_NN_HDR_TOTAL_SIZE     = 8,	/* u32 */
	TB_NN_HDR_FLAGS          = 12,	/* u32, 0 */
	TB_NN_HDR_NUM_TENSORS    = 16,	/* u16 */
	TB_NN_HDR_NUM_OPS        = 18,	/* u16 */
	TB_NN_HDR_INPUT          = 20,	/* u16 tensor index */
	TB_NN_HDR_OUTPUT         = 22,	/* u16 tensor index */
	TB_NN_HDR_ARENA_SIZE     = 24,	/* u32 */
	TB_NN_HDR_TENSORS_OFFSET = 28,	/* u32 */
	TB_NN_HDR_OPS_OFFSET     = 32,	/* u32 */
	TB_NN_HDR_PARAMS_OFFSET  = 36,	/* u32 */
	TB_NN_HDR_PARAMS_SIZE    = 40,	/* u32 */
	TB_NN_HDR_DATA_OFFSET    = 44,	/* u32 */
	TB_NN_HDR_DATA_SIZE      = 48,	/* u32 */
	TB_NN_HDR_RESERVED       = 52,	/* 12 bytes, 0 */
};

/* Byte offsets inside a tensor record. */
enum tb_nn_tensor_field {
	TB_NN_TEN_DTYPE          = 0,	/* u8 */
	TB_NN_TEN_RANK           = 1,	/* u8, 1..4 */
	TB_NN_TEN_FLAGS          = 2,	/* u8 */
	TB_NN_TEN_QUANT_AXIS     = 3,	/* u8 */
	TB_NN_TEN_DIMS           = 4,	/* u32[4], unused ones = 1 */
	TB_NN_TEN_OFFSET         = 20,	/* u32: arena or data-section offset */
	TB_NN_TEN_SIZE           = 24,	/* u32 bytes */
	TB_NN_TEN_SCALE          = 28,	/* f32 */
	TB_NN_TEN_ZERO_POINT     = 32,	/* i32 */
	TB_NN_TEN_CHANNEL_SCALES = 36,	/* u32 data offset of f32[dims[axis]] */
	TB_NN_TEN_RESERVED       = 40,	/* 8 bytes, 0 */
};

/* Byte offsets inside an op record. */
enum tb_nn_op_field {
	TB_NN_OPR_CODE           = 0,	/* u16 */
	TB_NN_OPR_NUM_INPUTS     = 2,	/* u8 */
	TB_NN_OPR_NUM_OUTPUTS    = 3,	/* u8 */
	TB_NN_OPR_INPUTS         = 4,	/* u16[4] */
	TB_NN_OPR_OUTPUTS        = 12,	/* u16[2] */
	TB_NN_OPR_PARAMS_OFFSET  = 16,	/* u32, into the params section */
	TB_NN_OPR_PARAMS_SIZE    = 20,	/* u32 bytes */
	TB_NN_OPR_SCRATCH_OFFSET = 24,	/* u32 arena offset of the kernel scratch (v2) */
	TB_NN_OPR_SCRATCH_SIZE   = 28,	/* u32 bytes, 0 = none (v2; version 1: both 0) */
};

/* Op parameters: little-endian int32 words, in this order. */
enum tb_nn_conv_param {		/* CONV_2D: inputs input, filter, bias */
	TB_NN_CONV_STRIDE_H, TB_NN_CONV_STRIDE_W,
	TB_NN_CONV_PAD_H, TB_NN_CONV_PAD_W,
	TB_NN_CONV_DILATION_H, TB_NN_CONV_DILATION_W,
	TB_NN_CONV_ACT_MIN, TB_NN_CONV_ACT_MAX,
	TB_NN_CONV_MULT_OFFSET,		/* data offset of int32[out_ch] */
	TB_NN_CONV_SHIFT_OFFSET,	/* data offset of int32[out_ch] */
	TB_NN_CONV_NUM_PARAMS
};

enum tb_nn_dw_param {		/* DEPTHWISE_CONV_2D: input, filter, bias */
	TB_NN_DW_STRIDE_H, TB_NN_DW_STRIDE_W,
	TB_NN_DW_PAD_H, TB_NN_DW_PAD_W,
	TB_NN_DW_DILATION_H, TB_NN_DW_DILATION_W,
	TB_NN_DW_DEPTH_MULT,
	TB_NN_DW_ACT_MIN, TB_NN_DW_ACT_MAX,
	TB_NN_DW_MULT_OFFSET, TB_NN_DW_SHIFT_OFFSET,
	TB_NN_DW_NUM_PARAMS
};

enum tb_nn_fc_param {		/* FULLY_CONNECTED: input, weights, bias */
	TB_NN_FC_ACT_MIN, TB_NN_FC_ACT_MAX,
	TB_NN_FC_MULT, TB_NN_FC_SHIFT,
	TB_NN_FC_NUM_PARAMS
};

enum tb_nn_pool_param {		/* AVERAGE_POOL_2D, MAX_POOL_2D: input */
	TB_NN_POOL_STRIDE_H, TB_NN_POOL_STRIDE_W,
	TB_NN_POOL_PAD_H, TB_NN_POOL_PAD_W,
	TB_NN_POOL_FILTER_H, TB_NN_POOL_FILTER_W,
	TB_NN_POOL_ACT_MIN, TB_NN_POOL_ACT_MAX,
	TB_NN_POOL_NUM_PARAMS
};

enum tb_nn_softmax_param {	/* SOFTMAX: input */
	TB_NN_SOFTMAX_MULT, TB_NN_SOFTMAX_LEFT_SHIFT, TB_NN_SOFTMAX_DIFF_MIN,
	TB_NN_SOFTMAX_NUM_PARAMS
};
enum tb_nn_add_param {		/* ADD: input1, input2 (same shape as the output) */
	TB_NN_ADD_LEFT_SHIFT,
	TB_NN_ADD_IN1_MULT, TB_NN_ADD_IN1_SHIFT,
	TB_NN_ADD_IN2_MULT, TB_NN_ADD_IN2_SHIFT,
	TB_NN_ADD_OUT_MULT, TB_NN_ADD_OUT_SHIFT,
	TB_NN_ADD_ACT_MIN, TB_NN_ADD_ACT_MAX,
	TB_NN_ADD_NUM_PARAMS
};

enum tb_nn_quantize_param {	/* QUANTIZE: input float32 or int8 -> int8 */
	TB_NN_QUANTIZE_MULT, TB_NN_QUANTIZE_SHIFT,	/* int8 -> int8 only, else 0 */
	TB_NN_QUANTIZE_NUM_PARAMS
};
/* RESHAPE, DEQUANTIZE (int8 -> float32): input; no parameters. */

/*
 * float32 ops use the same codes and parameter layouts: act_min/act_max
 * words hold the IEEE-754 bits of float clamps, multiplier/shift words
 * of CONV_2D and DEPTHWISE_CONV_2D hold -1 (no arrays) and those of
 * FULLY_CONNECTED and ADD hold 0; SOFTMAX's first word holds the bits of
 * beta (the others 0).  All tensors of a float op are FLOAT32.
 */

/*
 * A validated model.  Filled by tb_nn_model_init(); the fields are read
 * only by this module (they are public so callers can keep one on the
 * stack or in static memory).  Points into the caller's blob.
 */
struct tb_nn_model {
	const uint8_t *blob;
	uint32_t size;
	uint16_t version;
	uint16_t num_tensors;
	uint16_t num_ops;
	uint16_t input;
	uint16_t output;
	uint32_t arena_size;		/* activations and kernel scratch, as planned */
	const uint8_t *tensors;
	const uint8_t *ops;
	const uint8_t *params;
	uint32_t params_size;
	const uint8_t *data;
	uint32_t data_size;
};

/* A decoded tensor record (a copy: owns nothing). */
struct tb_nn_tensor_info {
	uint8_t dtype;			/* enum tb_nn_dtype */
	uint8_t rank;
	uint8_t flags;			/* TB_NN_TENSOR_* */
	uint8_t quant_axis;
	uint32_t dims[TB_NN_MODEL_MAX_RANK];
	uint32_t offset;		/* in the arena, or in the data section */
	uint32_t size;			/* bytes */
	float scale;
	int32_t zero_point;
	uint32_t channel_scales;	/* data offset, or TB_NN_NO_OFFSET */
};

/* A decoded op record. */
struct tb_nn_op_info {
	uint16_t code;			/* enum tb_nn_op_code */
	uint8_t num_inputs;
	uint8_t num_outputs;
	uint16_t inputs[TB_NN_MODEL_MAX_INPUTS];	/* TB_NN_NO_TENSOR if absent */
	uint16_t outputs[TB_NN_MODEL_MAX_OUTPUTS];
	uint32_t params_offset;
	uint32_t params_size;
	uint32_t scratch_offset;	/* arena offset of the kernel's scratch */
	uint32_t scratch_size;		/* bytes, 0 = none */
};

/*
 * Validate blob (size bytes, 8-byte aligned) and fill m.  Every offset,
 * length, index, shape and parameter is checked.  Returns TB_NN_OK,
 * TB_NN_ERR_FORMAT for a malformed blob, TB_NN_ERR_UNSUPPORTED for a newer
 * version, unknown flags or a big-endian CPU, TB_NN_ERR_ARG for NULL or
 * misaligned arguments.  On error m is zeroed.
 */
int tb_nn_model_init(struct tb_nn_model *m, const void *blob, size_t size);

/*
 * Built-in / registered model backed by a blob, prepared once: state is a
 * caller-owned (RAM) struct that tb_nn_model_prepare() fills on the
 * first call and reuses afterwards, so the per-inference path does not
 * validate the blob again.  Not thread-safe: prepare before sharing.
 */
int tb_nn_model_prepare(struct tb_nn_model *state, const void *blob, size_t size);

/* Arena bytes invoke() needs: the planned activations and kernel scratch. */
uint32_t tb_nn_model_arena_size(const struct tb_nn_model *m);

/*
 * Scratch bytes the kernel of an op asks for (its _get_buffer_size(),
 * rounded up to TB_NN_MODEL_ALIGN), 0 for none.  Target-independent, so a
 * blob planned on the build machine suits every device.  dtype is the
 * op input's; dims are the op's input and filter (weights) tensors'.
 */
uint32_t tb_nn_op_scratch_size(uint16_t code, uint8_t dtype,
			       const uint32_t input_dims[TB_NN_MODEL_MAX_RANK],
			       const uint32_t filter_dims[TB_NN_MODEL_MAX_RANK]);

/*
 * Multiply-accumulates of one inference, counted as MLPerf Tiny and most
 * papers do: every output element of a convolution costs its full kernel
 * volume (taps that fall on padding included); a fully connected layer
 * costs units * depth per batch; pooling, softmax and reshape cost 0.
 */
uint64_t tb_nn_model_macs(const struct tb_nn_model *m);

/*
 * The constant tensors the ops read (weights, biases), each counted once:
 * *params their elements (int8 1 byte, int16 2, any other type 4), *bytes
 * their size in the blob.  Both 0 for no model.
 */
void tb_nn_model_consts(const struct tb_nn_model *m, uint64_t *params,
			uint64_t *bytes);

/*
 * The largest single-operator footprint: max over ops of the bytes of
 * the distinct arena tensors the op reads and writes plus its kernel
 * scratch.  No plan can use less arena than this (nor than the largest
 * live set).
 */
uint32_t tb_nn_model_max_op_footprint(const struct tb_nn_model *m);

/*
 * The largest live set (each activation live from the first op that
 * touches it to the last; the input from op 0, the output to the last
 * op; an op's scratch during that op), 8-aligned sizes: the lower bound
 * of any plan.
 */
uint32_t tb_nn_model_live_peak(const struct tb_nn_model *m);

/* Decode tensor or op record index; TB_NN_ERR_ARG if out of range. */
int tb_nn_model_tensor(const struct tb_nn_model *m, uint32_t index,
		       struct tb_nn_tensor_info *info);
int tb_nn_model_op(const struct tb_nn_model *m, uint32_t index,
		   struct tb_nn_op_info *info);

/*
 * Run one inference.  in: at least the input tensor's size; out: at least
 * the output tensor's size; arena: caller-owned, 8-byte aligned, at least
 * tb_nn_model_arena_size() bytes, clobbered.  Returns TB_NN_OK or a
 * negative tb_nn_status.
 */
int tb_nn_model_invoke(const struct tb_nn_model *m, const void *in, size_t in_size,
		       void *out, size_t out_size, void *arena, size_t arena_size);

/*
 * Arena planner (first fit among live ranges that overlap, best of
 * several orders).
 *
 * Each buffer is live from op index first to op index last, inclusive;
 * two buffers whose live ranges intersect never share a byte.  In a given
 * order, each buffer is placed at the lowest align-multiple offset that
 * does not collide with an already placed, simultaneously live buffer.
 * The orders tried: largest first (TFLite-Micro's greedy planner), first
 * use, longest live range, largest size x live range, latest last use;
 * every tie broken by the larger size, then the lower index.  The
 * smallest arena wins, ties going to the earlier order in that list; on
 * return the buffers hold its offsets and order its placement order.
 * Deterministic; O(n^3) worst case per order, no recursion, no
 * allocation: order is caller scratch of n entries.  Buffers may be
 * activations or kernel scratch (live during one op).
 * Returns TB_NN_ERR_ARG on bad arguments (size 0, first > last, align not
 * a power of two, n too large) or if the arena would exceed 2^31 bytes.
 */
struct tb_nn_plan_buffer {
	uint32_t size;			/* bytes, > 0 */
	int32_t first;			/* first op that uses it (its writer) */
	int32_t last;			/* last op that reads it */
	uint32_t offset;		/* out: planned offset */
};

int tb_nn_plan_arena(struct tb_nn_plan_buffer *bufs, uint32_t n, uint32_t align,
		     uint32_t *order, uint32_t *arena_size);

/*
 * The largest live set: max over op indices of the sum of the (align-
 * rounded) sizes of the buffers live there.  No plan can be smaller.
 */
uint32_t tb_nn_plan_live_peak(const struct tb_nn_plan_buffer *bufs, uint32_t n,
			      uint32_t align);

#endif
