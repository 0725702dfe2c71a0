/*
 * tb_workload_net.h - built-in reference networks described as layer
 * tables, given seeded weights and quantised into model blobs (host only;
 * the generator runs it at build time).
 *
 * vww01, ad01 and ic01 have the exact layer shapes of the MLPerf Tiny
 * reference models (checked against the official .tflite files by
 * tests/workloads/test_tflite.c); their weights are the project's own:
 * He-uniform from a seed, then, layer by layer, each channel's
 * pre-activation on the calibration inputs is normalised to zero mean and
 * unit deviation plus a seeded offset (what a trained network's folded
 * batch norm looks like), so every layer works in a realistic range.
 * Quantisation is TFLite's post-training int8 scheme: symmetric per-channel
 * conv weights, per-tensor FC weights, int32 biases, asymmetric int8
 * activations calibrated on the same inputs.  Weights are for latency,
 * energy and memory measurements, not for accuracy.
 */
#ifndef TB_WORKLOAD_NET_H
#define TB_WORKLOAD_NET_H

#include <stddef.h>
#include <stdint.h>

enum tb_net_op {
	TB_NET_CONV = 1,	/* kh x kw, stride, SAME, out_c filters */
	TB_NET_DW,		/* depthwise kh x kw, stride, SAME, multiplier 1 */
	TB_NET_FC,		/* out_c units */
	TB_NET_AVGPOOL,		/* whole feature map (VALID kh x kw = input) */
	TB_NET_ADD,		/* in + in2 */
	TB_NET_RESHAPE,		/* to [1, elements] */
	TB_NET_SOFTMAX,
};

enum tb_net_head {
	TB_NET_HIDDEN = 0,	/* unit deviation + seeded offset */
	TB_NET_LOGITS,		/* deviation 2, class offsets in [-1, 1] */
	TB_NET_RECON,		/* matches the net input's mean and deviation */
};

/* Activation k + 1 is the output of layer k; activation 0 is the input. */
struct tb_net_layer {
	uint8_t op;		/* enum tb_net_op */
	uint8_t relu;		/* fused ReLU */
	uint8_t head;		/* enum tb_net_head */
	int16_t in;		/* input activation; -1 = the previous layer's */
	int16_t in2;		/* ADD's second input */
	int16_t out_c;
	uint8_t kh, kw, stride;
};

struct tb_net_spec {
	const char *name;		/* "vww01" */
	uint8_t id;			/* enum tb_workload_id */
	uint8_t in_rank;		/* 4 (NHWC) or 2 ([1, c]) */
	int32_t in_h, in_w, in_c;
	float in_scale;			/* input quantisation (the official one) */
	int32_t in_zp;
	uint32_t calib_samples;		/* calibration inputs: test inputs 0x10000 + i */
	uint32_t seed;			/* weight seed */
	const struct tb_net_layer *layers;
	uint32_t n_layers;
};

extern const struct tb_net_spec tb_net_vww01, tb_net_ad01, tb_net_ic01;

/*
 * Make the seeded float network of spec, calibrate, quantise and
 * serialise it.  *blob is malloc()ed for the caller.  Returns 0 or a
 * negative tb_nn_status.
 */
int tb_net_build_blob(const struct tb_net_spec *spec, uint32_t seed,
		      uint8_t **blob, size_t *size);

#endif
