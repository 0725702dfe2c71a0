/*
 * tb_workload_net_specs.c - layer tables of the built-in vww01, ad01 and
 * ic01 (shapes of the MLPerf Tiny reference models).
 */
#include "tb_workload.h"
#include "tb_workload_net.h"

#define CONV(c, k, s, r)   { TB_NET_CONV, r, 0, -1, -1, c, k, k, s }
#define CONV_IN(i, c, k, s, r) { TB_NET_CONV, r, 0, i, -1, c, k, k, s }
#define DW(s)              { TB_NET_DW, 1, 0, -1, -1, 0, 3, 3, s }
#define FC(c, r)           { TB_NET_FC, r, 0, -1, -1, c, 0, 0, 0 }
#define HEAD_FC(c, h)      { TB_NET_FC, 0, h, -1, -1, c, 0, 0, 0 }
#define ADD(a, b)          { TB_NET_ADD, 1, 0, a, b, 0, 0, 0, 0 }
#define POOL               { TB_NET_AVGPOOL, 0, 0, -1, -1, 0, 0, 0, 0 }
#define RESHAPE            { TB_NET_RESHAPE, 0, 0, -1, -1, 0, 0, 0, 0 }
#define SOFTMAX            { TB_NET_SOFTMAX, 0, 0, -1, -1, 0, 0, 0, 0 }

/* MobileNetV1 alpha 0.25, 96x96x3, 2 classes. */
static const struct tb_net_layer vww01_layers[] = {
	CONV(8, 3, 2, 1),
	DW(1), CONV(16, 1, 1, 1),
	DW(2), CONV(32, 1, 1, 1),
	DW(1), CONV(32, 1, 1, 1),
	DW(2), CONV(64, 1, 1, 1),
	DW(1), CONV(64, 1, 1, 1),
	DW(2), CONV(128, 1, 1, 1),
	DW(1), CONV(128, 1, 1, 1),
	DW(1), CONV(128, 1, 1, 1),
	DW(1), CONV(128, 1, 1, 1),
	DW(1), CONV(128, 1, 1, 1),
	DW(1), CONV(128, 1, 1, 1),
	DW(2), CONV(256, 1, 1, 1),
	DW(1), CONV(256, 1, 1, 1),
	POOL, RESHAPE, HEAD_FC(2, TB_NET_LOGITS), SOFTMAX,
};

const struct tb_net_spec tb_net_vww01 = {
	.name = "vww01", .id = TB_WL_VWW01, .in_rank = 4,
	.in_h = 96, .in_w = 96, .in_c = 3,
	.in_scale = 0.003921568859368563f, .in_zp = -128,
	.calib_samples = 4, .seed = 0x56575730u,	/* "VWW0" */
	.layers = vww01_layers,
	.n_layers = sizeof(vww01_layers) / sizeof(vww01_layers[0]),
};

/* FC autoencoder 640-128-128-128-128-8-128-128-128-128-640. */
static const struct tb_net_layer ad01_layers[] = {
	FC(128, 1), FC(128, 1), FC(128, 1), FC(128, 1), FC(8, 1),
	FC(128, 1), FC(128, 1), FC(128, 1), FC(128, 1),
	HEAD_FC(640, TB_NET_RECON),
};

const struct tb_net_spec tb_net_ad01 = {
	.name = "ad01", .id = TB_WL_AD01, .in_rank = 2,
	.in_h = 1, .in_w = 1, .in_c = 640,
	.in_scale = 0.39101549983024597f, .in_zp = 89,
	.calib_samples = 32, .seed = 0x41443030u,	/* "AD00" */
	.layers = ad01_layers,
	.n_layers = sizeof(ad01_layers) / sizeof(ad01_layers[0]),
};

/* ResNet-8 (16/32/64 filters), 32x32x3, 10 classes.  Activation k + 1 is
 * layer k's output. */
static const struct tb_net_layer ic01_layers[] = {
	CONV(16, 3, 1, 1),		/* 0 -> a1 */
	CONV(16, 3, 1, 1),		/* 1 -> a2 */
	CONV(16, 3, 1, 0),		/* 2 -> a3 */
	ADD(1, 3),			/* 3 -> a4 */
	CONV(32, 3, 2, 1),		/* 4 -> a5 */
	CONV(32, 3, 1, 0),		/* 5 -> a6 */
	CONV_IN(4, 32, 1, 2, 0),	/* 6 -> a7: shortcut */
	ADD(7, 6),			/* 7 -> a8 */
	CONV(64, 3, 2, 1),		/* 8 -> a9 */
	CONV(64, 3, 1, 0),		/* 9 -> a10 */
	CONV_IN(8, 64, 1, 2, 0),	/* 10 -> a11: shortcut */
	ADD(11, 10),			/* 11 -> a12 */
	POOL, RESHAPE, HEAD_FC(10, TB_NET_LOGITS), SOFTMAX,
};

const struct tb_net_spec tb_net_ic01 = {
	.name = "ic01", .id = TB_WL_IC01, .in_rank = 4,
	.in_h = 32, .in_w = 32, .in_c = 3,
	.in_scale = 1.0f, .in_zp = -128,
	.calib_samples = 4, .seed = 0x49433030u,	/* "IC00" */
	.layers = ic01_layers,
	.n_layers = sizeof(ic01_layers) / sizeof(ic01_layers[0]),
};
