/*
 * tb_workload_kws01_float.h - the float network behind the kws01 workload
 * (host only).
 *
 * The MLPerf Tiny keyword-spotting DS-CNN topology with weights made by
 * the project from a seed: conv 10x4/2 SAME 1->64 + ReLU, 4 x (depthwise
 * 3x3 SAME + ReLU, pointwise 64 + ReLU), average pool 25x5, fully
 * connected 64->12, softmax.  The generator quantises this network into
 * the kws01 blob; the tests compare the blob's int8 output with it.
 *
 * The caller owns the struct (about 86 KB: allocate it, or make it static).
 */
#ifndef TB_WORKLOAD_KWS01_FLOAT_H
#define TB_WORKLOAD_KWS01_FLOAT_H

#include <stddef.h>
#include <stdint.h>

#define TB_KWS01_IN_H        49	/* MFCC frames */
#define TB_KWS01_IN_W        10	/* MFCC coefficients */
#define TB_KWS01_IN_SIZE     (TB_KWS01_IN_H * TB_KWS01_IN_W)
#define TB_KWS01_CONV_KH     10
#define TB_KWS01_CONV_KW     4
#define TB_KWS01_FEAT_H      25
#define TB_KWS01_FEAT_W      5
#define TB_KWS01_CH          64
#define TB_KWS01_FEAT_SIZE   (TB_KWS01_FEAT_H * TB_KWS01_FEAT_W * TB_KWS01_CH)
#define TB_KWS01_BLOCKS      4
#define TB_KWS01_CLASSES     12

/* The official model's input quantisation (float32 scale). */
#define TB_KWS01_INPUT_SCALE 0.5847029089927673f
#define TB_KWS01_INPUT_ZP    83

/* Weight seed of the built-in kws01 and the calibration input seeds. */
#define TB_KWS01_WEIGHT_SEED 0x4B575330u	/* "KWS0" */
#define TB_KWS01_CALIB_SEED  0x00010000u	/* calibration input i: seed + i */
#define TB_KWS01_CALIB_COUNT 64

/*
 * Activations in forward order, for range calibration: the input, conv
 * output, dw/pw outputs of each block, pool, logits, probabilities.
 */
#define TB_KWS01_ACT_INPUT   0
#define TB_KWS01_ACT_CONV    1
#define TB_KWS01_ACT_DW(k)   (2 + 2 * (k))
#define TB_KWS01_ACT_PW(k)   (3 + 2 * (k))
#define TB_KWS01_ACT_POOL    10
#define TB_KWS01_ACT_LOGITS  11
#define TB_KWS01_ACT_PROBS   12
#define TB_KWS01_NUM_ACTS    13

struct tb_kws01_float {
	float conv_w[TB_KWS01_CH * TB_KWS01_CONV_KH * TB_KWS01_CONV_KW];	/* OHWI */
	float conv_b[TB_KWS01_CH];
	float dw_w[TB_KWS01_BLOCKS][3 * 3 * TB_KWS01_CH];			/* 1HWC */
	float dw_b[TB_KWS01_BLOCKS][TB_KWS01_CH];
	float pw_w[TB_KWS01_BLOCKS][TB_KWS01_CH * TB_KWS01_CH];		/* OHWI */
	float pw_b[TB_KWS01_BLOCKS][TB_KWS01_CH];
	float fc_w[TB_KWS01_CLASSES * TB_KWS01_CH];				/* [out][in] */
	float fc_b[TB_KWS01_CLASSES];
};

/* Running min/max of every activation over the inputs seen. */
struct tb_kws01_ranges {
	float min[TB_KWS01_NUM_ACTS];
	float max[TB_KWS01_NUM_ACTS];
};

/*
 * Make the weights from seed: He-scaled uniform weights, then, layer by
 * layer, a data-dependent normalisation on the calibration inputs (each
 * channel's pre-activation rescaled to zero mean, unit deviation, plus a
 * seeded offset: what a trained network's folded batch norm looks like),
 * logits scaled to a deviation of 2.  Deterministic on IEEE-754 hosts.
 * Returns 0, or -1 if memory runs out.
 */
int tb_kws01_float_build(struct tb_kws01_float *net, uint32_t seed);

/* Fill the kws01 calibration/test input of seed (int8, 490 values). */
void tb_kws01_float_test_input(uint32_t seed, int8_t *q);

/* (q - 83) * 0.5847...: the real values an int8 input stands for. */
void tb_kws01_float_dequantize(const int8_t *q, float *x);

void tb_kws01_ranges_init(struct tb_kws01_ranges *r);

/*
 * Forward pass on real input x (490 floats).  logits and probs (12 each)
 * may be NULL; ranges, if not NULL, is widened with every activation.
 */
void tb_kws01_float_forward(const struct tb_kws01_float *net, const float *x,
			    float *logits, float *probs,
			    struct tb_kws01_ranges *ranges);

/*
 * Quantise the network of seed into a model blob (TFLite-style: weights
 * symmetric int8 per channel for conv/depthwise and per tensor for the
 * fully connected layer, int32 biases, asymmetric int8 activations with
 * ranges calibrated on the calibration inputs, softmax out 1/256, -128),
 * plan its arena and serialise it.  *blob is malloc()ed for the caller.
 * Returns 0 or a negative tb_nn_status.
 */
int tb_kws01_build_blob(uint32_t seed, uint8_t **blob, size_t *size);

#endif
