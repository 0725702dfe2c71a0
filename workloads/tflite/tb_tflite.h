/*
 * tb_tflite.h - the .tflite importer (host only).
 *
 * Reads a TensorFlow Lite flatbuffer without any flatbuffers library:
 * every offset, vtable, vector and string is bounds-checked against the
 * file before it is followed, so a truncated or hostile file gives an
 * error naming what is wrong (and where), never an out-of-bounds read.
 * The parsed graph is then mapped onto the tb_nn operators and written as
 * a tinybench model blob (docs/MODEL_FORMAT.md, docs/IMPORTER.md).
 *
 * Ownership: tb_tflite_parse() copies the file into the struct
 * tb_tflite_model it returns; free it with tb_tflite_free() (NULL is
 * accepted).  Every pointer inside the model (names, shapes, data)
 * points into that struct and lives as long as it.  tb_tflite_to_blob()
 * returns a malloc()ed blob the caller frees with free().  Not
 * thread-safe per model; distinct models are independent.
 *
 * Errors: 0 or a negative enum tb_err code, with a message in the
 * caller's struct tb_error (may be NULL): TB_ERR_FORMAT for a malformed
 * flatbuffer, TB_ERR_UNSUPPORTED for a valid model that uses an operator,
 * type or option the kernels do not implement (named, with the operator
 * index), TB_ERR_NOMEM, TB_ERR_IO / TB_ERR_NOTFOUND for files.
 */
#ifndef TB_TFLITE_H
#define TB_TFLITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tb_err.h"

/* TFLite TensorType codes (schema.fbs). */
enum tb_tflite_type {
	TB_TFLITE_FLOAT32 = 0,
	TB_TFLITE_FLOAT16 = 1,
	TB_TFLITE_INT32   = 2,
	TB_TFLITE_UINT8   = 3,
	TB_TFLITE_INT64   = 4,
	TB_TFLITE_STRING  = 5,
	TB_TFLITE_BOOL    = 6,
	TB_TFLITE_INT16   = 7,
	TB_TFLITE_INT8    = 9,
};

/* The BuiltinOperator codes the importer knows by name or maps. */
enum tb_tflite_builtin {
	TB_TFLITE_OP_ADD               = 0,
	TB_TFLITE_OP_AVERAGE_POOL_2D   = 1,
	TB_TFLITE_OP_CONV_2D           = 3,
	TB_TFLITE_OP_DEPTHWISE_CONV_2D = 4,
	TB_TFLITE_OP_DEQUANTIZE        = 6,
	TB_TFLITE_OP_FULLY_CONNECTED   = 9,
	TB_TFLITE_OP_MAX_POOL_2D       = 17,
	TB_TFLITE_OP_RESHAPE           = 22,
	TB_TFLITE_OP_SOFTMAX           = 25,
	TB_TFLITE_OP_SQUEEZE           = 43,
	TB_TFLITE_OP_QUANTIZE          = 114,
};

#define TB_TFLITE_MAX_RANK    8
#define TB_TFLITE_MAX_OP_IO   8	/* inputs/outputs kept per operator */

struct tb_tflite_tensor {
	const char *name;		/* "" when absent */
	int8_t type;			/* enum tb_tflite_type */
	uint8_t rank;
	int32_t shape[TB_TFLITE_MAX_RANK];
	uint32_t buffer;		/* index into the model's buffers */
	const uint8_t *data;		/* constant contents, or NULL */
	size_t data_len;
	/* Quantisation: n_scales scales and zero points (0 = none). */
	uint32_t n_scales;
	const float *scales;		/* host copies, n_scales each */
	const int64_t *zero_points;	/* n_scales entries (0 filled if absent) */
	int32_t quant_dim;
};

/* Decoded builtin options (only the fields the importer uses). */
struct tb_tflite_options {
	int8_t padding;			/* 0 SAME, 1 VALID */
	int32_t stride_w, stride_h;
	int32_t dilation_w, dilation_h;
	int32_t filter_w, filter_h;	/* pools */
	int32_t depth_multiplier;
	int8_t activation;		/* 0 NONE, 1 RELU, 2 RELU_N1_TO_1, 3 RELU6 ... */
	int8_t weights_format;		/* FULLY_CONNECTED: 0 DEFAULT */
	uint8_t keep_num_dims;
	uint8_t asymmetric_quantize_inputs;
	float beta;			/* SOFTMAX */
	uint8_t options_type;		/* BuiltinOptions union type */
};

struct tb_tflite_op {
	int32_t builtin;		/* BuiltinOperator (max of both code fields) */
	const char *custom_code;	/* CUSTOM ops, else NULL */
	uint8_t n_inputs, n_outputs;
	int32_t inputs[TB_TFLITE_MAX_OP_IO];	/* tensor indices, -1 = absent */
	int32_t outputs[TB_TFLITE_MAX_OP_IO];
	struct tb_tflite_options opt;
};

struct tb_tflite_model {
	uint32_t version;		/* schema version (3) */
	const char *description;
	uint32_t n_subgraphs;
	uint32_t n_tensors;
	struct tb_tflite_tensor *tensors;
	uint32_t n_ops;
	struct tb_tflite_op *ops;
	uint32_t n_inputs, n_outputs;
	int32_t *inputs;		/* graph input tensor indices */
	int32_t *outputs;
	/* private: the file copy and the arrays above */
	uint8_t *file;
	size_t file_len;
	void *arrays;
};

/* Name of a BuiltinOperator code ("CONV_2D"), or "BUILTIN_<n>". Static or
 * in buf (at least 24 bytes). */
const char *tb_tflite_op_name(int32_t builtin, char *buf, size_t len);

/* Name of a TensorType code ("INT8"). */
const char *tb_tflite_type_name(int type);

/* Parse and bounds-check a whole .tflite file held in buf (copied). */
int tb_tflite_parse(const void *buf, size_t len, struct tb_tflite_model **out,
		    struct tb_error *err);

/* Read path and parse it. */
int tb_tflite_parse_file(const char *path, struct tb_tflite_model **out,
			 struct tb_error *err);

void tb_tflite_free(struct tb_tflite_model *m);

/*
 * What an import found: for each int8 or float model, the figures
 * `tinybench model inspect` prints.  Filled by tb_tflite_to_blob().
 */
struct tb_tflite_report {
	uint64_t params;		/* elements of the constant tensors of the ops */
	uint64_t weight_bytes;		/* bytes of those tensors in the .tflite */
	int hybrid;			/* int8 weights dequantised to float at import */
	uint32_t dequantized_weights;	/* constant tensors expanded to float32 */
};

/*
 * Map the model onto the tb_nn operators and serialise a blob (planned
 * arena, parameters precomputed the way TFLite-Micro's Prepare() does).
 * Unsupported operators or types fail with TB_ERR_UNSUPPORTED and a
 * message "operator 7 (MEAN): not supported ...".  rep may be NULL.
 * *blob is malloc()ed for the caller.
 */
int tb_tflite_to_blob(const struct tb_tflite_model *m, uint8_t **blob, size_t *size,
		      struct tb_tflite_report *rep, struct tb_error *err);

/* Parse + import a file in one call. */
int tb_tflite_import_file(const char *path, uint8_t **blob, size_t *size,
			  struct tb_tflite_report *rep, struct tb_error *err);

/*
 * Write blob as a C source for firmware: an 8-byte aligned const array
 * `<name>_blob` and `<name>_blob_size`.  name must be a C identifier.
 */
int tb_tflite_write_c(FILE *f, const char *name, const uint8_t *blob, size_t size,
		      struct tb_error *err);

#endif
