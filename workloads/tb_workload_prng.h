/*
 * tb_workload_prng.h - the project's small deterministic PRNG.
 *
 * Used for everything that must be reproducible bit for bit on every
 * machine: the generated reference weights (host, build time) and the
 * test inputs (host and device).  Counter based: the n-th output (n = 1,
 * 2, ...) for a seed is
 *
 *	x = seed + n * 0x9E3779B9   (mod 2^32)
 *	x ^= x >> 16; x *= 0x7FEB352D; x ^= x >> 15; x *= 0x846CA68B; x ^= x >> 16
 *
 * (a Weyl sequence through Chris Wellons' "lowbias32" integer hash).
 * Full period 2^32, no state but one uint32, no division, no floats.
 * Not for cryptography.  All static inline; the caller owns the state.
 */
#ifndef TB_WORKLOAD_PRNG_H
#define TB_WORKLOAD_PRNG_H

#include <stdint.h>

struct tb_workload_prng {
	uint32_t state;
};

static inline void tb_workload_prng_seed(struct tb_workload_prng *r, uint32_t seed)
{
	r->state = seed;
}

static inline uint32_t tb_workload_prng_next(struct tb_workload_prng *r)
{
	uint32_t x;

	r->state += 0x9E3779B9u;
	x = r->state;
	x ^= x >> 16;
	x *= 0x7FEB352Du;
	x ^= x >> 15;
	x *= 0x846CA68Bu;
	x ^= x >> 16;
	return x;
}

/* Uniform integer in [lo, hi] (hi - lo < 2^32), by 32x32->64 scaling. */
static inline int32_t tb_workload_prng_range(struct tb_workload_prng *r,
					     int32_t lo, int32_t hi)
{
	const uint64_t span = (uint64_t)((int64_t)hi - lo) + 1;

	return (int32_t)(lo + (int64_t)(((uint64_t)tb_workload_prng_next(r) * span) >> 32));
}

#endif
