/*
 * tb_nn_dsp.h - the 2-MAC SIMD primitives of the Cortex-M DSP extension.
 *
 * Private to workloads/nn.  On a core with __ARM_FEATURE_DSP (Cortex-M4,
 * M7, M33 with DSP) the kernels' fast paths use the ACLE intrinsics from
 * <arm_acle.h>: SXTB16 (two int8 lanes -> two int16 halfwords), SXTAB16
 * (the same plus a halfword add) and SMLAD (two 16x16 products added to
 * an accumulator), SMLABB/SMLATT (one product of the bottom/top halfwords
 * added to an accumulator).  Defining TB_NN_EMULATE_DSP on any other host makes the
 * same fast paths compile against exact C models of those instructions,
 * which is how the tests check, on the build machine, that the DSP paths
 * are bit-identical to the plain C kernels.
 *
 * TB_NN_HAVE_DSP is 1 when the kernels should take the DSP paths.
 */
#ifndef TB_NN_DSP_H
#define TB_NN_DSP_H

/*
 * A kernel source with DSP paths includes this header first.  On a real
 * DSP core with GCC it turns off the scheduling pass that runs before
 * register allocation: in the 2x2 matrix multiply and the depthwise tap
 * loops it hoists loads ahead of their use until the fourteen registers
 * run out, and the spills cost more instructions than the scheduling
 * could save (measured on qemu-m4: 21 -> 19 instructions per 16 MACs).
 * A pragma rather than a per-function attribute, so the static inline
 * helpers below are compiled with the same options and still inline.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__ARM_FEATURE_DSP) && \
	__ARM_FEATURE_DSP && !defined(TB_NN_EMULATE_DSP)
#pragma GCC optimize("no-schedule-insns")
#endif

#include <limits.h>
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

/*
 * SXTB16 / SXTAB16 of the operand rotated right by 8 (bytes 1 and 3): the
 * rotation is part of the instruction, but ACLE has no intrinsic for it
 * and GCC does not fold a separate ROR into __sxtb16(), so spell it out.
 * Not volatile: the compiler may still combine and schedule them.
 */
static inline uint32_t tb_nn_sxtb16_ror8(uint32_t x)
{
	uint32_t r;

	__asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
	return r;
}

static inline uint32_t tb_nn_sxtab16_ror8(uint32_t a, uint32_t x)
{
	uint32_t r;

	__asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
	return r;
}

/* SMLABB / SMLATT: one 16x16 product of the bottom (top) halfwords. */
static inline int32_t tb_nn_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
	return __smlabb((int32_t)a, (int32_t)b, acc);
}

static inline int32_t tb_nn_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
	return __smlatt((int32_t)a, (int32_t)b, acc);
}

/* SMMULR: the high word of a * b + 2^31 (a rounded high multiply). */
static inline int32_t tb_nn_smmulr(int32_t a, int32_t b)
{
	int32_t r;

	__asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
	return r;
}

static inline int32_t tb_nn_qadd(int32_t a, int32_t b) { return __qadd(a, b); }
static inline int32_t tb_nn_ssat8(int32_t x) { return __ssat(x, 8); }

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

static inline uint32_t tb_nn_sxtb16_ror8(uint32_t x) { return tb_nn_sxtb16(tb_nn_ror8(x)); }

static inline uint32_t tb_nn_sxtab16_ror8(uint32_t a, uint32_t x)
{
	return tb_nn_sxtab16(a, tb_nn_ror8(x));
}

/* SMLABB / SMLATT: acc + one product of bottom (top) halfwords, mod 2^32. */
static inline int32_t tb_nn_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
	return (int32_t)((uint32_t)acc + (uint32_t)(tb_nn_lo16(a) * tb_nn_lo16(b)));
}

static inline int32_t tb_nn_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
	return (int32_t)((uint32_t)acc + (uint32_t)(tb_nn_hi16(a) * tb_nn_hi16(b)));
}

/* SMMULR: bits 63..32 of a * b + 2^31. */
static inline int32_t tb_nn_smmulr(int32_t a, int32_t b)
{
	return (int32_t)(((int64_t)a * b + (1LL << 31)) >> 32);
}

/* QADD: a + b saturated to the int32 range. */
static inline int32_t tb_nn_qadd(int32_t a, int32_t b)
{
	const int64_t s = (int64_t)a + b;

	return s > INT32_MAX ? INT32_MAX : s < INT32_MIN ? INT32_MIN : (int32_t)s;
}

/* SSAT #8: saturate to [-128, 127]. */
static inline int32_t tb_nn_ssat8(int32_t x)
{
	return x > 127 ? 127 : x < -128 ? -128 : x;
}

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

/* A word of a scratch buffer (any type: memcpy keeps aliasing rules). */
static inline uint32_t tb_nn_load32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline void tb_nn_store32(void *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Two int16 in one word: lo in bits 0..15, hi in bits 16..31. */
static inline uint32_t tb_nn_pack16x2(int32_t lo, int32_t hi)
{
	return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

#if TB_NN_HAVE_DSP
/*
 * Requantisation on a DSP core: tb_nn_requant() in a handful of
 * instructions once a channel's (multiplier, shift) is turned into a
 * struct tb_nn_rqd.
 *
 *  - SRDHM(a, m) = floor((a * m + 2^30) / 2^31) = the high word of
 *    a * 2m + 2^31, which is SMMULR(a, 2m) when 2m fits an int32.  For m
 *    in [2^30, 2^31) the doubling wraps to 2m - 2^32, and SMMULR of that
 *    is SRDHM - a (exactly: the 64-bit product is exact), so adding a
 *    back (amask) restores it.  Holds for every a when m >= -2^30, which
 *    also rules out SRDHM's one saturating case (INT32_MIN * INT32_MIN).
 *  - RoundingDivideByPOT with the mask and threshold precomputed.
 */
struct tb_nn_rqd {
	int32_t m2;			/* 2 * multiplier, modulo 2^32 */
	int32_t amask;			/* -1 when multiplier >= 2^30, else 0 */
	int32_t left;			/* left shift, 0..30 */
	int32_t right;			/* right shift, 0..31 */
	int32_t mask;			/* 2^right - 1 */
	int32_t half;			/* mask >> 1 (the usual mode: 2^(right - 1)) */
};

static inline void tb_nn_rqd_init(struct tb_nn_rqd *q, int32_t multiplier, int32_t shift)
{
	q->m2 = (int32_t)((uint32_t)multiplier << 1);
	q->amask = multiplier >= (1 << 30) ? -1 : 0;
	q->left = shift > 0 ? shift : 0;
	q->right = q->left - shift;
	q->mask = (int32_t)((1u << q->right) - 1u);
	q->half = q->mask >> 1;
}

/* Requantise and add the output offset (wrapping, as the reference
 * does); the caller saturates and clamps. */
static inline int32_t tb_nn_rqd_apply(int32_t acc, const struct tb_nn_rqd *q, int32_t out_off)
{
	const int32_t a = (int32_t)((uint32_t)acc << q->left);
	const int32_t s = (int32_t)((uint32_t)tb_nn_smmulr(a, q->m2) + (uint32_t)(a & q->amask));
	const int32_t r = (s >> q->right) +
			  ((s & q->mask) > q->half + (int32_t)((uint32_t)s >> 31) ? 1 : 0);

	return (int32_t)((uint32_t)r + (uint32_t)out_off);
}

/*
 * The usual case, what TFLite's converter produces: every multiplier in
 * [2^30, 2^31) (amask -1), every shift in [-23, -1] (no left shift, a
 * right shift e of at least 1) and no clamp beyond int8 (the activation
 * range is all of it).  Then RoundingDivideByPOT(s, e) =
 * floor((s + 2^(e-1) - (s < 0)) / 2^e) is one saturating add and a
 * shift.  The add saturates only when the exact quotient is 2^(31-e) and
 * the shifted INT32_MAX gives 2^(31-e) - 1 instead; for e <= 23 both are
 * >= 255, so once an output offset in [-128, 127] is added and the sum
 * saturated to int8 they are the same 127.  A channel is then (m2,
 * right, half = 2^(right - 1)) and an accumulator costs SMMULR, two
 * adds, QADD, a shift, the offset and SSAT.
 */
static inline int32_t tb_nn_rqd_apply_usual(int32_t acc, int32_t m2, int32_t right,
					    int32_t half, int32_t out_off)
{
	const int32_t s = (int32_t)((uint32_t)tb_nn_smmulr(acc, m2) + (uint32_t)acc);
	const int32_t r = tb_nn_qadd(s, half + (s >> 31)) >> right;

	return tb_nn_ssat8((int32_t)((uint32_t)r + (uint32_t)out_off));
}

enum tb_nn_rqd_mode {
	TB_NN_RQD_NONE  = 0,	/* take a path with tb_nn_rq_apply() */
	TB_NN_RQD_ANY   = 1,	/* tb_nn_rqd_apply(), saturate and clamp */
	TB_NN_RQD_USUAL = 2,	/* tb_nn_rqd_apply_usual() */
};

/*
 * Which requantisation a call's parameters allow; checked once per call.
 * Both DSP modes need every multiplier >= -2^30 (TFLite's are >= 0), an
 * activation range inside int8 (model blobs guarantee it) and, for the
 * final saturation to stand in for the reference's clamp-then-cast, an
 * output offset inside int8.
 */
static inline enum tb_nn_rqd_mode tb_nn_rqd_mode(const int32_t *multiplier, const int32_t *shift,
						 int32_t n, int32_t out_off,
						 int32_t act_min, int32_t act_max)
{
	int usual = act_min == -128 && act_max == 127;
	int32_t i;

	if (out_off < -128 || out_off > 127 || act_min < -128 || act_max > 127)
		return TB_NN_RQD_NONE;
	for (i = 0; i < n; i++) {
		if (multiplier[i] < -(1 << 30) || shift[i] < -31 || shift[i] > 30)
			return TB_NN_RQD_NONE;
		if (multiplier[i] < (1 << 30) || shift[i] < -23 || shift[i] > -1)
			usual = 0;
	}
	return usual ? TB_NN_RQD_USUAL : TB_NN_RQD_ANY;
}
#endif

#endif
