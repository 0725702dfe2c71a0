/*
 * tb_workload.h - built-in workloads, as seen by the device runner and the host.
 *
 * This header is the contract between workloads/ and its two users:
 *  - device_runner/core links the built-in workloads into the runner and
 *    calls invoke() on the device's own input buffer and arena;
 *  - the harness links the very same code to list workloads, generate the
 *    deterministic test inputs and recompute the expected output of a run
 *    (bit-exact integer kernels make the device's output checkable).
 *
 * Everything here is device-safe C11: no malloc, no stdio, no host headers.
 * The descriptors are const and live in flash on firmware; the caller owns
 * all buffers passed to invoke().
 */
#ifndef TB_WORKLOAD_H
#define TB_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

/* Element types. Stored and sent on the wire: append only. */
enum tb_dtype {
	TB_DTYPE_INT8    = 1,
	TB_DTYPE_UINT8   = 2,
	TB_DTYPE_INT16   = 3,
	TB_DTYPE_INT32   = 4,
	TB_DTYPE_FLOAT32 = 5,
};

/* Workload ids. Sent on the wire and stored: append only. */
enum tb_workload_id {
	TB_WL_KWS01 = 1,
	TB_WL_VWW01 = 2,
	TB_WL_AD01  = 3,
	TB_WL_IC01  = 4,
	/* A model given to the runner at start-up (native runner's --model):
	 * not built in, described by its blob. */
	TB_WL_USER  = 64,
};

struct tb_workload {
	uint8_t id;                 /* enum tb_workload_id */
	const char *name;           /* "kws01" */
	const char *description;    /* one line for `tinybench workloads` */
	uint8_t input_dtype;        /* enum tb_dtype */
	uint8_t output_dtype;
	uint32_t input_size;        /* bytes */
	uint32_t output_size;       /* bytes */
	float input_scale;          /* quantisation of the input tensor */
	int32_t input_zero_point;
	float output_scale;
	int32_t output_zero_point;
	uint32_t arena_size;        /* planned arena bytes invoke() needs */
	uint32_t macs;              /* multiply-accumulates per inference */
	const uint8_t *model_hash;  /* 32-byte SHA-256 of the model blob */
	/* Run one inference. in: input_size bytes; out: output_size bytes;
	 * arena: at least arena_size bytes, 8-byte aligned, caller-owned and
	 * clobbered.  Returns 0, or a negative value when the buffers are too
	 * small or the model is malformed. */
	int (*invoke)(const struct tb_workload *wl, const void *in, void *out,
		      void *arena, size_t arena_size);
	const void *model;          /* private to the workload */
	/* Validate and prepare the model once, outside any timed window
	 * (the runner calls it at start-up).  May be NULL.  invoke() prepares
	 * on first use if nobody did; the prepared state lives in RAM owned
	 * by the workload's source.  Returns 0 or a negative value for a
	 * malformed model.  Not thread-safe: prepare before sharing. */
	int (*prepare)(const struct tb_workload *wl);
};

/* All workloads built into this binary, NULL-terminated. */
extern const struct tb_workload *const tb_workloads[];

/*
 * Describe a model blob (docs/MODEL_FORMAT.md) as a workload: validate it
 * and fill *wl so that invoke()/prepare() run it.  The caller owns wl,
 * state (RAM for the prepared model), the blob, name and hash, and keeps
 * them alive as long as wl is used; blob must be 8-byte aligned.
 * hash: the 32-byte SHA-256 of the blob (computed by the caller), or
 * NULL.  Returns 0 or a negative tb_nn status.
 */
struct tb_workload_blob {
	const uint8_t *blob;
	uint32_t size;
	void *state;                /* struct tb_nn_model, private */
};
int tb_workload_from_blob(struct tb_workload *wl, struct tb_workload_blob *src,
			  uint8_t id, const char *name, const char *description,
			  const uint8_t *hash);

/* Lookup by exact name ("kws01") or by id; NULL when absent. */
const struct tb_workload *tb_workload_by_name(const char *name);
const struct tb_workload *tb_workload_by_id(uint8_t id);

/*
 * Deterministic test input number `seed` for wl: fills wl->input_size bytes
 * of buf (len must be at least that; the caller owns buf).  Returns 0, or
 * a negative value for a NULL/too-small buffer or an input dtype other
 * than int8/uint8.  Same bytes on every machine, host or device.
 *
 * Random numbers come from the project's PRNG (tb_workload_prng.h): the
 * n-th draw for a seed is lowbias32(seed + n * 0x9E3779B9), n = 1, 2, ...
 * (lowbias32: x ^= x >> 16; x *= 0x7FEB352D; x ^= x >> 15;
 * x *= 0x846CA68B; x ^= x >> 16), and an integer in [lo, hi] is
 * lo + ((draw * (hi - lo + 1)) >> 32).  Integer arithmetic only.
 *
 * kws01 (49 frames x 10 MFCC coefficients, zero point 83, 0.585/step):
 * one "word" of 8..40 frames starting at frame 2..20, with a loudness and a
 * spectral shape of its own.  Coefficient 0 (log energy) sits at a silence
 * floor of q = -122..-95 (about -120..-104 real) and ramps over 3 frames
 * to a speech level of q = -20..50 during the word; coefficients 1..c..9
 * are the zero point plus, during the word, an offset of up to +-60/c
 * steps, plus a bounded random walk (+-(10/c + 2) steps in silence,
 * +-(30/c + 2) in speech) and +-3 steps of noise.  Values saturate rarely
 * (well under 2 %).  Other int8/uint8 workloads: the zero point plus a
 * random walk of +-32 steps with +-8 of noise, clamped to the type.
 * float32 inputs (user models): the same walk and noise, divided by 32
 * (buf 4-byte aligned).
 */
int tb_workload_test_input(const struct tb_workload *wl, uint32_t seed,
			   void *buf, size_t len);

#endif
