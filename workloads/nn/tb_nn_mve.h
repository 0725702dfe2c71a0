/*
 * tb_nn_mve.h - the Helium (M-profile Vector Extension) primitives of the
 * kernels' fast paths.
 *
 * Private to workloads/nn.  On a core with integer MVE (__ARM_FEATURE_MVE
 * bit 0: Cortex-M55, M85) the kernels take MVE paths written with the
 * ACLE intrinsics of <arm_mve.h>, ahead of the DSP paths of tb_nn_dsp.h
 * (an MVE core has the DSP extension too).  Defining TB_NN_NO_MVE keeps
 * an MVE core on the DSP paths.  The host cannot run these paths: the
 * kernel check image (tests/firmware/nn, run on qemu-m55 by the
 * nn_target test) holds them bit-identical to the plain C kernels.
 *
 * The instructions the paths rely on (Armv8.1-M Architecture Reference
 * Manual, DDI 0553, their pseudocode):
 *  - VMLADAVA.S8: sixteen int8 x int8 products added to a general-purpose
 *    accumulator, modulo 2^32; VADDVA.S8: sixteen int8 lanes likewise.
 *    Sums modulo 2^32 are what the plain kernels' int32 accumulators hold,
 *    so regrouping them gives the same bits.
 *  - VCTP and the zeroing (_z) loads: the tail of a run shorter than a
 *    vector reads nothing past its end and adds zeros.
 *  - tb_nn_mve_requant(): tb_nn_requant() on four lanes (below).
 *
 * TB_NN_HAVE_MVE is 1 when the kernels should take the MVE paths.
 */
#ifndef TB_NN_MVE_H
#define TB_NN_MVE_H

#include <stdint.h>

#include "tb_nn_dsp.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(TB_NN_NO_MVE)
#include <arm_mve.h>
#define TB_NN_HAVE_MVE 1

/*
 * TFLite's MultiplyByQuantizedMultiplier (tb_nn_requant(): left shift,
 * SRDHM, RoundingDivideByPOT) on four lanes, each with its own multiplier
 * and shift, then + out_off (wrapping) and the clamp to [lo, hi]; the
 * caller's narrowing byte store is the plain kernels' (int8_t) cast.
 * Bit-identical for every int32 lane, every multiplier and every shift
 * in [-31, 30]:
 *  - VSHL by the positive part of the shift wraps, as tb_nn_shl_wrap();
 *  - VQRDMULH is SRDHM exactly: (2ab + 2^31) >> 32 = floor((ab + 2^30) /
 *    2^31), saturating only INT32_MIN * INT32_MIN to INT32_MAX;
 *  - VRSHL by the negative part e rounds ties up, floor((s + 2^(e-1)) /
 *    2^e); RoundingDivideByPOT rounds them away from zero, which is that
 *    applied to s - 1 when s < 0.  The -1 comes from the sign bit of
 *    s AND the (negative) shift, so e = 0 gets none; the saturating add
 *    leaves INT32_MIN as it is, and floor((INT32_MIN + 2^(e-1)) / 2^e)
 *    is the exact quotient -2^(31-e) all the same.
 */
static inline int32x4_t tb_nn_mve_requant(int32x4_t acc, int32x4_t mult, int32x4_t shift,
					  int32_t out_off, int32x4_t lo, int32x4_t hi)
{
	const int32x4_t zero = vdupq_n_s32(0);
	const int32x4_t right = vminq_s32(shift, zero);
	int32x4_t s = vqrdmulhq_s32(vshlq_s32(acc, vmaxq_s32(shift, zero)), mult);

	s = vqaddq_s32(s, vshrq_n_s32(vandq_s32(s, right), 31));
	s = vaddq_n_s32(vrshlq_s32(s, right), out_off);
	return vminq_s32(vmaxq_s32(s, lo), hi);
}

/* The sum of n int8 values (modulo 2^32), sixteen at a time. */
static inline int32_t tb_nn_mve_sum_s8(const int8_t *v, int32_t n)
{
	int32_t sum = 0;

	for (; n > 0; n -= 16, v += 16) {
		const mve_pred16_t p = vctp8q((uint32_t)n);

		sum = vaddvaq_p_s8(sum, vldrbq_z_s8(v, p), p);
	}
	return sum;
}

/* n bytes from src to dst, or the byte fill when src is NULL. */
static inline void tb_nn_mve_copy(int8_t *dst, const int8_t *src, int8_t fill, int32_t n)
{
	const int8x16_t f = vdupq_n_s8(fill);

	for (; n > 0; n -= 16, dst += 16) {
		const mve_pred16_t p = vctp8q((uint32_t)n);

		if (src) {
			vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
			src += 16;
		} else {
			vstrbq_p_s8(dst, f, p);
		}
	}
}

#else
#define TB_NN_HAVE_MVE 0
#endif

/* The DSP paths, where there are no MVE paths in front of them. */
#define TB_NN_USE_DSP (TB_NN_HAVE_DSP && !TB_NN_HAVE_MVE)

#endif
