/*
 * tb_nn_test_ref.h - independent reference arithmetic for the tb_nn tests.
 *
 * Written from the definitions, not from the kernels: 64-bit integers,
 * explicit floor divisions and explicit rounding rules, no shifts of
 * negative numbers.  Also a small PRNG (xorshift64*, unrelated to the
 * project's) for random test cases.  Test-only: static functions.
 */
#ifndef TB_NN_TEST_REF_H
#define TB_NN_TEST_REF_H

#include <stdint.h>

/* floor(a / b) for b > 0, without relying on C's truncation direction. */
static inline int64_t ref_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && a < 0)
		q--;
	return q;
}

/*
 * gemmlowp SaturatingRoundingDoublingHighMul: 2ab / 2^32 rounded to
 * nearest with ties towards +infinity (the nudge/truncation pair of the
 * reference works out to exactly that), saturating MIN * MIN.
 */
static inline int32_t ref_srdhm(int32_t a, int32_t b)
{
	if (a == INT32_MIN && b == INT32_MIN)
		return INT32_MAX;
	return (int32_t)ref_floor_div((int64_t)a * b + (1LL << 30), 1LL << 31);
}

/* x / 2^e rounded to nearest, ties away from zero. */
static inline int32_t ref_rdbpot(int32_t x, int e)
{
	const int64_t mag = x < 0 ? -(int64_t)x : x;
	int64_t r;

	if (e == 0)
		return x;
	r = (mag + (1LL << (e - 1))) / (1LL << e);
	return (int32_t)(x < 0 ? -r : r);
}

/*
 * TFLite MultiplyByQuantizedMultiplier, double rounding: first round
 * x * 2^left * m / 2^31 (ties up), then divide by 2^right (ties away).
 * Valid when x * 2^left fits in int32.
 */
static inline int32_t ref_requant(int32_t x, int32_t m, int32_t shift)
{
	const int left = shift > 0 ? shift : 0;
	const int right = shift > 0 ? 0 : -shift;

	return ref_rdbpot(ref_srdhm((int32_t)((int64_t)x * (1LL << left)), m), right);
}

static inline int32_t ref_clamp(int64_t v, int64_t lo, int64_t hi)
{
	return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

/* xorshift64* test PRNG. */
struct ref_rng {
	uint64_t s;
};

static inline uint32_t ref_rand(struct ref_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (uint32_t)((r->s * 0x2545F4914F6CDD1DULL) >> 32);
}

/* Uniform in [lo, hi]. */
static inline int32_t ref_range(struct ref_rng *r, int32_t lo, int32_t hi)
{
	const uint64_t span = (uint64_t)((int64_t)hi - lo) + 1;

	if (span > UINT32_MAX)
		return (int32_t)ref_rand(r);
	return (int32_t)(lo + (int64_t)(ref_rand(r) % span));
}

static inline void ref_seed(struct ref_rng *r, uint64_t seed)
{
	r->s = seed * 0x9E3779B97F4A7C15ULL + 1;
}

#endif
