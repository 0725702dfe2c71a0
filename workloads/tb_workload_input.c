/*
 * tb_workload_input.c - deterministic test inputs (tb_workload_test_input).
 *
 * Inputs that look like what the workload sees in the field (shape of the
 * features, range, a little noise), generated with integers only so a
 * device and the host produce the same bytes for the same seed.  The
 * algorithms are specified in tb_workload.h; changing them changes every
 * stored expected output, so treat them as append-only too.
 */
#include "tb_nn.h"
#include "tb_workload.h"
#include "tb_workload_prng.h"

#define KWS_FRAMES 49
#define KWS_COEFFS 10

static int32_t clamp(int32_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Log-energy coefficient: silence floor, ramps into and out of the word. */
static int32_t kws_energy(struct tb_workload_prng *r, int32_t t, int32_t start,
			  int32_t len, int32_t silence, int32_t speech)
{
	int32_t level = silence;

	if (t >= start && t < start + len) {
		const int32_t edge = t - start < start + len - 1 - t ?
				     t - start : start + len - 1 - t;
		/* 3-frame ramps at both ends of the word */
		level = edge >= 3 ? speech : silence + (speech - silence) * (edge + 1) / 4;
	}
	return level + tb_workload_prng_range(r, -4, 4);
}

static void kws_input(const struct tb_workload *wl, struct tb_workload_prng *r,
		      int8_t *q)
{
	const int32_t start = tb_workload_prng_range(r, 2, 20);
	const int32_t len = tb_workload_prng_range(r, 8, 40);
	const int32_t silence = tb_workload_prng_range(r, -122, -95);
	const int32_t speech = tb_workload_prng_range(r, -20, 50);
	int32_t shape[KWS_COEFFS] = { 0 }, walk[KWS_COEFFS] = { 0 };
	int32_t t, c;

	/* The word's spectral shape: a mean offset per coefficient. */
	for (c = 1; c < KWS_COEFFS; c++)
		shape[c] = tb_workload_prng_range(r, -60 / c, 60 / c);

	for (t = 0; t < KWS_FRAMES; t++) {
		const int speaking = t >= start && t < start + len;

		q[t * KWS_COEFFS] = (int8_t)clamp(kws_energy(r, t, start, len, silence,
							     speech), -128, 127);
		for (c = 1; c < KWS_COEFFS; c++) {
			const int32_t amp = (speaking ? 30 : 10) / c + 2;
			const int32_t step = amp / 3 + 1;

			walk[c] = clamp(walk[c] + tb_workload_prng_range(r, -step, step),
					-amp, amp);
			q[t * KWS_COEFFS + c] = (int8_t)clamp(wl->input_zero_point +
							      (speaking ? shape[c] : 0) +
							      walk[c] +
							      tb_workload_prng_range(r, -3, 3),
							      -128, 127);
		}
	}
}

/* Any other 8-bit input: zero point + bounded random walk + noise. */
static void generic_input(const struct tb_workload *wl, struct tb_workload_prng *r,
			  uint8_t *buf)
{
	const int is_signed = wl->input_dtype == TB_DTYPE_INT8;
	const int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
	int32_t walk = 0, v;
	uint32_t i;

	for (i = 0; i < wl->input_size; i++) {
		walk = clamp(walk + tb_workload_prng_range(r, -4, 4), -32, 32);
		v = clamp(wl->input_zero_point + walk + tb_workload_prng_range(r, -8, 8),
			  lo, hi);
		buf[i] = (uint8_t)v;
	}
}

/* float32 input: the same kind of walk, in real units of 1/32. */
static void float_input(const struct tb_workload *wl, struct tb_workload_prng *r,
			float *buf)
{
	int32_t walk = 0;
	uint32_t i;

	for (i = 0; i < wl->input_size / 4; i++) {
		walk = clamp(walk + tb_workload_prng_range(r, -4, 4), -32, 32);
		buf[i] = (float)(walk + tb_workload_prng_range(r, -8, 8)) / 32.0f;
	}
}

int tb_workload_test_input(const struct tb_workload *wl, uint32_t seed,
			   void *buf, size_t len)
{
	struct tb_workload_prng r;

	if (!wl || !buf || len < wl->input_size)
		return TB_NN_ERR_ARG;
	tb_workload_prng_seed(&r, seed);
	if (wl->input_dtype == TB_DTYPE_FLOAT32) {
		if ((uintptr_t)buf % 4)
			return TB_NN_ERR_ARG;
		float_input(wl, &r, buf);
		return 0;
	}
	if (wl->input_dtype != TB_DTYPE_INT8 && wl->input_dtype != TB_DTYPE_UINT8)
		return TB_NN_ERR_UNSUPPORTED;
	if (wl->id == TB_WL_KWS01 && wl->input_dtype == TB_DTYPE_INT8 &&
	    wl->input_size == KWS_FRAMES * KWS_COEFFS)
		kws_input(wl, &r, buf);
	else
		generic_input(wl, &r, buf);
	return 0;
}
