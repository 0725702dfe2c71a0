/*
 * tb_nn_test_gen.h - random kernel cases for the tb_nn tests: operand
 * fills, requantisation parameters with their edge cases, SAME-like conv
 * geometry, edge-heavy int32 values.  Shared by the host test of the fast
 * paths (test_nn_opt.c) and the target's kernel check image
 * (tests/firmware/nn/tb_nn_check.c), so both draw the same kinds of case.
 * Test-only: static functions, values only, no allocation.
 */
#ifndef TB_NN_TEST_GEN_H
#define TB_NN_TEST_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "tb_nn.h"
#include "tb_nn_test_ref.h"

/* Random int8 values, or (one time in four) only the extremes. */
static inline void fill(struct ref_rng *r, int8_t *v, size_t n)
{
	const int mode = ref_range(r, 0, 3);

	for (size_t i = 0; i < n; i++)
		v[i] = mode == 0 ? (int8_t)(ref_rand(r) & 1 ? 127 : -128) :
		       (int8_t)ref_range(r, -128, 127);
}

static inline void requant(struct ref_rng *r, int32_t depth, int32_t *m, int32_t *s)
{
	int bits = 0;

	while ((1 << bits) * (1 << bits) < depth)
		bits++;
	*m = ref_range(r, 1 << 30, INT32_MAX);
	*s = ref_clamp(-(6 + bits) + ref_range(r, -4, 3), -31, 30);
}

/*
 * Now and then a multiplier the fast requantisation must not take
 * (INT32_MIN: SRDHM saturates) or that sits on an edge of its range
 * (2^30, 0, a negative one), or a shift outside the usual [-23, -1]: the
 * fast paths fall back or cope, bit for bit.
 */
static inline void quant_edges(struct ref_rng *r, int32_t *m, int32_t *s, int32_t n)
{
	static const int32_t edge[] = { INT32_MIN, 1 << 30, 0, -(1 << 30) - 12345, INT32_MAX };

	if (!ref_range(r, 0, 9))
		m[ref_range(r, 0, n - 1)] = edge[ref_range(r, 0, 4)];
	/* a dead channel's deep right shift, no shift, a left shift */
	if (s && !ref_range(r, 0, 9))
		s[ref_range(r, 0, n - 1)] = ref_range(r, 0, 1) ? ref_range(r, -31, -24) :
					    ref_range(r, 0, 3);
}

/* SAME-like geometry: every window starts inside the input. */
static inline void axis(struct ref_rng *r, int32_t max_in, int32_t max_k, int32_t *in, int32_t *k,
		 int32_t *stride, int32_t *dil, int32_t *pad, int32_t *out)
{
	int32_t eff;

	*in = ref_range(r, 1, max_in);
	*k = ref_range(r, 1, max_k);
	*stride = ref_range(r, 1, 3);
	*dil = ref_range(r, 0, 4) == 4 ? 2 : 1;
	eff = (*k - 1) * *dil + 1;
	*pad = ref_range(r, 0, eff - 1);
	*out = (*in + 2 * *pad - eff) < 0 ? 1 :
	       ref_range(r, 1, (*in + 2 * *pad - eff) / *stride + 1);
	while (*out > 1 && (*out - 1) * *stride - *pad >= *in)
		(*out)--;
}

/* An int32 that is often an edge: 0, +-1, the extremes, powers of two. */
static inline int32_t edgy(struct ref_rng *r)
{
	const uint32_t k = ref_rand(r) % 16;
	const uint32_t v = ref_rand(r) ^ (ref_rand(r) << 16);

	switch (k) {
	case 0: return 0;
	case 1: return INT32_MAX;
	case 2: return INT32_MIN;
	case 3: return (int32_t)(1u << (ref_rand(r) % 31));
	case 4: return -(int32_t)(1u << (ref_rand(r) % 31));
	case 5: return ref_range(r, -3, 3);
	case 6: return (int32_t)v >> (ref_rand(r) % 31);
	}
	return (int32_t)v;
}

/* A conv's geometry: axis() for height and width (a pointwise case: a 1x1
 * kernel, no padding), into the spatial sizes and the params' tiles. */
struct geom {
	int32_t ih, kh, sh, dh, ph, oh;
	int32_t iw, kw, sw, dw, pw, ow;
};

static inline void geometry(struct ref_rng *r, int32_t max_in, int32_t max_k, int pointwise,
			    struct geom *g, struct tb_nn_tile *stride, struct tb_nn_tile *padding,
			    struct tb_nn_tile *dilation)
{
	axis(r, max_in, max_k, &g->ih, &g->kh, &g->sh, &g->dh, &g->ph, &g->oh);
	axis(r, max_in, max_k, &g->iw, &g->kw, &g->sw, &g->dw, &g->pw, &g->ow);
	if (pointwise) {
		g->kh = g->kw = 1;
		g->ph = g->pw = 0;
		g->dh = g->dw = 1;
		g->oh = (g->ih - 1) / g->sh + 1;
		g->ow = (g->iw - 1) / g->sw + 1;
	}
	*stride = (struct tb_nn_tile){ .w = g->sw, .h = g->sh };
	*padding = (struct tb_nn_tile){ .w = g->pw, .h = g->ph };
	*dilation = (struct tb_nn_tile){ .w = g->dw, .h = g->dh };
}

/* A fully connected case's sizes and offsets (the clamp is the caller's). */
static inline void fc_case(struct ref_rng *r, int32_t *batches, int32_t *depth, int32_t *units,
			   int seed, struct tb_nn_fc_params *p)
{
	*batches = ref_range(r, 1, 3);
	*depth = ref_range(r, 1, 700);
	*units = ref_range(r, 1, 23);
	p->input_offset = ref_range(r, -127, 128);
	p->filter_offset = seed % 9 ? 0 : ref_range(r, -127, 128);
	p->output_offset = ref_range(r, -128, 127);
}

#endif
