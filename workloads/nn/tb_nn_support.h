/*
 * tb_nn_support.h - fixed-point primitives shared by the tb_nn kernels.
 *
 * Private to workloads/nn: these are the integer building blocks of
 * TFLite's reference kernels (gemmlowp's fixedpoint.h and TFLite's
 * common.h), written out in C.  Everything is static inline and works on
 * values only; nothing here owns memory.
 *
 * Two's-complement behaviour that C11 leaves implementation-defined is
 * relied upon exactly as TFLite relies on it: right shift of a negative
 * value is arithmetic and uint32 -> int32 conversion wraps (true for GCC,
 * Clang and Arm Compiler on every target we build for).  Operations that
 * could overflow in signed arithmetic are done in uint32 (wrapping) or
 * int64, so no input, however hostile, reaches undefined behaviour.
 */
#ifndef TB_NN_SUPPORT_H
#define TB_NN_SUPPORT_H

#include <limits.h>
#include <stdint.h>

/* a + b modulo 2^32: what the int32 additions of the reference do. */
static inline int32_t tb_nn_add_wrap(int32_t a, int32_t b)
{
	return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t tb_nn_sub_wrap(int32_t a, int32_t b)
{
	return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* x * 2^shift modulo 2^32, shift in [0, 31]. */
static inline int32_t tb_nn_shl_wrap(int32_t x, int shift)
{
	return (int32_t)((uint32_t)x << shift);
}

/*
 * gemmlowp SaturatingRoundingDoublingHighMul: the high 32 bits of 2*a*b,
 * rounded to nearest (ties away from zero), saturating the single overflow
 * case INT32_MIN * INT32_MIN.  The division truncates towards zero, as
 * C's does, which is what makes the negative nudge round correctly.
 */
static inline int32_t tb_nn_srdhm(int32_t a, int32_t b)
{
	int64_t ab;
	int64_t nudge;

	if (a == INT32_MIN && b == INT32_MIN)
		return INT32_MAX;
	ab = (int64_t)a * (int64_t)b;
	nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
	return (int32_t)((ab + nudge) / (1LL << 31));
}

/*
 * gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties
 * away from zero.  exponent in [0, 31].
 */
static inline int32_t tb_nn_rdbpot(int32_t x, int exponent)
{
	const int32_t mask = (int32_t)((1LL << exponent) - 1);
	const int32_t remainder = x & mask;
	const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);

	return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/*
 * gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent: x * 2^e
 * saturated to the int32 range.  e in [1, 30].
 */
static inline int32_t tb_nn_sat_shl(int32_t x, int e)
{
	const int32_t threshold = (int32_t)((1LL << (31 - e)) - 1);

	if (x > threshold)
		return INT32_MAX;
	if (x < -threshold)
		return INT32_MIN;
	return tb_nn_shl_wrap(x, e);
}

/*
 * TFLite MultiplyByQuantizedMultiplier (double rounding, the reference
 * default): SRDHM(x * 2^left, m) then a rounding right shift.  The left
 * shift wraps like the reference's int32 multiply on every real target.
 */
static inline int32_t tb_nn_requant(int32_t x, int32_t multiplier, int32_t shift)
{
	const int left = shift > 0 ? shift : 0;
	const int right = shift > 0 ? 0 : -shift;

	return tb_nn_rdbpot(tb_nn_srdhm(tb_nn_shl_wrap(x, left), multiplier), right);
}

/*
 * The requantisation above with its per-channel work hoisted: the fast
 * kernel paths turn a channel's (multiplier, shift) into a struct tb_nn_rq
 * once and apply it to every accumulator of that channel.
 *
 * tb_nn_rq_apply() is bit-identical to tb_nn_requant() for every int32
 * accumulator when the multiplier is not INT32_MIN (check the whole array
 * once with tb_nn_rq_mults_ok()) and shift is in [-31, 30]:
 *  - SRDHM as one 64-bit product: for ab >= 0 gemmlowp adds 2^30 and
 *    divides by 2^31; for ab < 0 it adds 1 - 2^30 and truncates towards
 *    zero, which is floor((ab + 1 - 2^30 + 2^31 - 1) / 2^31) = the same
 *    floor((ab + 2^30) / 2^31).  Only INT32_MIN * INT32_MIN saturates.
 *  - RoundingDivideByPOT with the mask and half-mask precomputed.
 */
struct tb_nn_rq {
	int32_t mult;
	int32_t left;			/* 0..30 */
	int32_t right;			/* 0..31 */
	int32_t mask;			/* 2^right - 1 */
	int32_t half;			/* mask >> 1 */
};

static inline void tb_nn_rq_init(struct tb_nn_rq *q, int32_t multiplier, int32_t shift)
{
	q->mult = multiplier;
	q->left = shift > 0 ? shift : 0;
	q->right = shift > 0 ? 0 : -shift;
	q->mask = (int32_t)((1u << q->right) - 1u);
	q->half = q->mask >> 1;
}

static inline int32_t tb_nn_rq_apply(int32_t acc, const struct tb_nn_rq *q)
{
	const int32_t x = tb_nn_shl_wrap(acc, q->left);
	const int32_t s = (int32_t)(((int64_t)x * q->mult + (1LL << 30)) >> 31);

	return (s >> q->right) +
	       ((s & q->mask) > q->half + (int32_t)((uint32_t)s >> 31) ? 1 : 0);
}

/* Every multiplier usable by tb_nn_rq_apply() (none is INT32_MIN). */
static inline int tb_nn_rq_mults_ok(const int32_t *multiplier, int32_t n)
{
	int32_t i;

	for (i = 0; i < n; i++)
		if (multiplier[i] == INT32_MIN)
			return 0;
	return 1;
}

/* Clamp to [lo, hi]. */
static inline int32_t tb_nn_clamp(int32_t x, int32_t lo, int32_t hi)
{
	if (x < lo)
		return lo;
	if (x > hi)
		return hi;
	return x;
}

static inline int32_t tb_nn_max(int32_t a, int32_t b)
{
	return a > b ? a : b;
}

static inline int32_t tb_nn_min(int32_t a, int32_t b)
{
	return a < b ? a : b;
}

/* tb_nn_tap_range() for dilation 1: no division. */
static inline void tb_nn_tap_range1(int32_t origin, int32_t filter_size, int32_t in_size,
				    int32_t *start, int32_t *end)
{
	int32_t s = origin < 0 ? -origin : 0;
	int32_t e = in_size - origin < filter_size ? in_size - origin : filter_size;

	if (e < s)
		e = s;
	*start = s;
	*end = e;
}

/* Count leading zeros of a uint32 (32 for 0), without compiler builtins. */
static inline int tb_nn_clz32(uint32_t x)
{
	int n = 0;

	if (x == 0)
		return 32;
	while (!(x & 0x80000000u)) {
		x <<= 1;
		n++;
	}
	return n;
}

/*
 * First and one-past-last filter tap (along one axis) that lands inside
 * the input, for a window whose first tap is at input coordinate origin:
 * taps k with 0 <= origin + k * dilation < in_size.  Hoisting this out of
 * the inner loops is what keeps the border handling cheap.
 */
static inline void tb_nn_tap_range(int32_t origin, int32_t dilation,
				   int32_t filter_size, int32_t in_size,
				   int32_t *start, int32_t *end)
{
	int32_t s = 0;
	int32_t e = filter_size;

	if (origin < 0)
		s = (-origin + dilation - 1) / dilation;
	if (origin + (e - 1) * dilation >= in_size) {
		if (origin >= in_size)
			e = 0;
		else
			e = (in_size - 1 - origin) / dilation + 1;
	}
	if (e < s)
		e = s;
	*start = s;
	*end = e;
}

#endif
