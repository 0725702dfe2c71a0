/*
 * tb_nn_dsp.h - the 2-MAC SIMD primitives of the Cortex-M DSP extension.
 *
 * Private to workloads/nn.  On a core with __ARM_FEATURE_DSP (Cortex-M4,
 * M7, M33 with DSP) the kernels' fast paths use the ACLE intrinsics from
 * <arm_acle.h>: SXTB16 (two int8 lanes -> two int16 halfwords), SXTAB16
 * (the same plus a halfword add) and SMLAD (two 16x16 products added to
 * an accumulator).  Defining TB_NN_EMULATE_DSP on any other host makes the
 * same fast paths compile against exact C models of those instructions,
 * which is how the tests check, on the build machine, that the DSP paths
 * are bit-identical to the plain C kernels.
 *
 * TB_NN_HAVE_DSP is 1 when the kernels should take the DSP paths.
 */
#ifndef TB_NN_DSP_H
#define TB_NN_DSP_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(TB_NN_EMULATE_DSP)
#include <arm_acle.h>
#define TB_NN_HAVE_DSP 1

static inline uint32_t tb_nn_sxtb16(uint32_t x) { return __sxtb16(x); }
static inline uint32_t tb_nn_sxtab16(uint32_t a, uint32_t x) { return __sxtab16(a, x); }
static inline int32_t tb_nn_smlad(uint32_t a, uint32_t b, int32_t acc)
{
	return __smlad(a, b, acc);
}
/* A plain rotate: compilers emit ROR (GCC 12's arm_acle.h has no __ror). */
static inline uint32_t tb_nn_ror8(uint32_t x) { return (x >> 8) | (x << 24); }

#elif defined(TB_NN_EMULATE_DSP)
#define TB_NN_HAVE_DSP 1

/* Halfword lanes of a word, as int16. */
static inline int32_t tb_nn_lo16(uint32_t x) { return (int16_t)(x & 0xFFFFu); }
static inline int32_t tb_nn_hi16(uint32_t x) { return (int16_t)(x >> 16); }

static inline uint32_t tb_nn_pack16(int32_t lo, int32_t hi)
{
	return ((uint32_t)lo & 0xFFFFu) | (((uint32_t)hi & 0xFFFFu) << 16);
}

/* SXTB16: bytes 0 and 2, sign-extended, into the two halfwords. */
static inline uint32_t tb_nn_sxtb16(uint32_t x)
{
	return tb_nn_pack16((int8_t)(x & 0xFF), (int8_t)((x >> 16) & 0xFF));
}

/* SXTAB16: a's halfwords plus bytes 0 and 2 of x, each modulo 2^16. */
static inline uint32_t tb_nn_sxtab16(uint32_t a, uint32_t x)
{
	return tb_nn_pack16(tb_nn_lo16(a) + (int8_t)(x & 0xFF),
			    tb_nn_hi16(a) + (int8_t)((x >> 16) & 0xFF));
}

/* SMLAD: acc + lo(a)*lo(b) + hi(a)*hi(b), modulo 2^32. */
static inline int32_t tb_nn_smlad(uint32_t a, uint32_t b, int32_t acc)
{
	const int64_t s = (int64_t)acc + (int64_t)tb_nn_lo16(a) * tb_nn_lo16(b) +
			  (int64_t)tb_nn_hi16(a) * tb_nn_hi16(b);

	return (int32_t)(uint32_t)(uint64_t)s;
}

static inline uint32_t tb_nn_ror8(uint32_t x) { return (x >> 8) | (x << 24); }

#else
#define TB_NN_HAVE_DSP 0
#endif

/* Four bytes from any alignment (one LDR on cores that allow it). */
static inline uint32_t tb_nn_read_u32(const int8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

#endif
