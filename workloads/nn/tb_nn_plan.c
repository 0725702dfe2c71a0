/*
 * tb_nn_plan.c - arena planner.
 *
 * First fit in a given order: each buffer goes to the lowest offset where
 * it collides with no already placed buffer whose live range intersects
 * its own.  TFLite-Micro's GreedyMemoryPlanner uses one order, largest
 * first; on chains of layers that reaches the largest live set exactly,
 * but on a graph like vww01's it does not (its 27,648-byte input goes in
 * before the two 18,432-byte maps that outlive it, and the arena ends up
 * 16.7 % above the live set).  So the planner places the buffers in
 * several orders (largest first, then by first use, by lifetime, by size
 * times lifetime, by last use) and keeps the smallest arena; ties go to
 * the earliest order, so a plan that largest-first gets right does not
 * move.  Computed in the generator and stored in the blob.
 */
#include "tb_nn_model.h"

#define PLAN_MAX_BUFFERS  0x10000u
#define PLAN_MAX_BYTES    0x80000000u

static int lives_overlap(const struct tb_nn_plan_buffer *a,
			 const struct tb_nn_plan_buffer *b)
{
	return a->first <= b->last && b->first <= a->last;
}

static uint64_t align_up(uint64_t v, uint32_t align)
{
	return (v + align - 1) & ~(uint64_t)(align - 1);
}

/* The orders tried, in order of preference on a tie. */
enum plan_order {
	ORDER_SIZE,		/* larger first (TFLite-Micro's greedy planner) */
	ORDER_FIRST_USE,	/* earlier first use first */
	ORDER_LIFETIME,		/* longer live range first */
	ORDER_AREA,		/* larger size x live range first */
	ORDER_LAST_USE,		/* later last use first */
	ORDER_COUNT
};

/* Does buffer a go before buffer b in order o?  Ties fall back to the
 * larger size, then the lower index, so every order is total. */
static int goes_before(const struct tb_nn_plan_buffer *bufs, uint32_t a, uint32_t b,
		       enum plan_order o)
{
	const struct tb_nn_plan_buffer *x = &bufs[a], *y = &bufs[b];
	const uint64_t lx = (uint64_t)((int64_t)x->last - x->first) + 1;
	const uint64_t ly = (uint64_t)((int64_t)y->last - y->first) + 1;

	switch (o) {
	case ORDER_FIRST_USE:
		if (x->first != y->first)
			return x->first < y->first;
		break;
	case ORDER_LIFETIME:
		if (lx != ly)
			return lx > ly;
		break;
	case ORDER_AREA:
		if (lx * x->size != ly * y->size)
			return lx * x->size > ly * y->size;
		break;
	case ORDER_LAST_USE:
		if (x->last != y->last)
			return x->last > y->last;
		break;
	default:
		break;
	}
	if (x->size != y->size)
		return x->size > y->size;
	return a < b;
}

/* Insertion sort of indices in order o: stable and allocation-free. */
static void sort_order(const struct tb_nn_plan_buffer *bufs, uint32_t n, uint32_t *order,
		       enum plan_order o)
{
	uint32_t i, j;

	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = 1; i < n; i++) {
		const uint32_t cur = order[i];

		for (j = i; j > 0 && goes_before(bufs, cur, order[j - 1], o); j--)
			order[j] = order[j - 1];
		order[j] = cur;
	}
}

/*
 * Lowest offset for order[k] given order[0..k-1] placed.  Every collision
 * moves the candidate past the colliding buffer; nothing below that end
 * can fit, so the first candidate without collision is the first fit.
 */
static uint64_t first_fit(const struct tb_nn_plan_buffer *bufs,
			  const uint32_t *order, uint32_t k, uint32_t align)
{
	const struct tb_nn_plan_buffer *me = &bufs[order[k]];
	uint64_t cand = 0;
	uint32_t i;
	int moved = 1;

	while (moved) {
		moved = 0;
		for (i = 0; i < k; i++) {
			const struct tb_nn_plan_buffer *o = &bufs[order[i]];

			if (!lives_overlap(me, o))
				continue;
			if (cand < (uint64_t)o->offset + o->size &&
			    o->offset < cand + me->size) {
				cand = align_up((uint64_t)o->offset + o->size, align);
				moved = 1;
			}
		}
	}
	return cand;
}

/* First fit in order o; the arena end (not yet rounded), or 0 on overflow. */
static uint64_t place(struct tb_nn_plan_buffer *bufs, uint32_t n, uint32_t align,
		      uint32_t *order, enum plan_order o)
{
	uint64_t end = 0;
	uint32_t i;

	sort_order(bufs, n, order, o);
	for (i = 0; i < n; i++) {
		struct tb_nn_plan_buffer *b = &bufs[order[i]];
		const uint64_t off = first_fit(bufs, order, i, align);

		if (off + b->size > PLAN_MAX_BYTES)
			return 0;
		b->offset = (uint32_t)off;
		if (off + b->size > end)
			end = off + b->size;
	}
	return end;
}

int tb_nn_plan_arena(struct tb_nn_plan_buffer *bufs, uint32_t n, uint32_t align,
		     uint32_t *order, uint32_t *arena_size)
{
	uint64_t best_end = 0;
	int best = -1, o;
	uint32_t i;

	if (!bufs || !order || !arena_size || n > PLAN_MAX_BUFFERS ||
	    align == 0 || (align & (align - 1)) || align > 4096)
		return TB_NN_ERR_ARG;
	for (i = 0; i < n; i++)
		if (bufs[i].size == 0 || bufs[i].size >= PLAN_MAX_BYTES ||
		    bufs[i].first > bufs[i].last)
			return TB_NN_ERR_ARG;
	if (n == 0) {
		*arena_size = 0;
		return TB_NN_OK;
	}

	for (o = 0; o < ORDER_COUNT; o++) {
		const uint64_t end = align_up(place(bufs, n, align, order, (enum plan_order)o),
					      align);

		if (end && (best < 0 || end < best_end)) {
			best = o;
			best_end = end;
		}
	}
	if (best < 0)
		return TB_NN_ERR_ARG;
	/* Place again in the winning order: the offsets and order it leaves. */
	place(bufs, n, align, order, (enum plan_order)best);
	*arena_size = (uint32_t)best_end;
	return TB_NN_OK;
}

uint32_t tb_nn_plan_live_peak(const struct tb_nn_plan_buffer *bufs, uint32_t n,
			      uint32_t align)
{
	uint64_t peak = 0;
	uint32_t i, j;

	if (!bufs || align == 0 || (align & (align - 1)))
		return 0;
	/* The live set only grows at a buffer's first use. */
	for (i = 0; i < n; i++) {
		const int32_t t = bufs[i].first;
		uint64_t sum = 0;

		for (j = 0; j < n; j++)
			if (bufs[j].first <= t && t <= bufs[j].last)
				sum += align_up(bufs[j].size, align);
		if (sum > peak)
			peak = sum;
	}
	return peak > UINT32_MAX ? UINT32_MAX : (uint32_t)peak;
}
