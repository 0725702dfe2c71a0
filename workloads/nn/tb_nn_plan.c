/*
 * tb_nn_plan.c - greedy arena planner.
 *
 * The same strategy as TFLite-Micro's GreedyMemoryPlanner: place buffers
 * largest first, each at the lowest offset where it collides with no
 * already placed buffer whose live range intersects its own.  On chains
 * of layers this reaches the largest live set exactly; in general it is
 * a close upper bound, computed in the generator and stored in the blob.
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

/* Insertion sort of indices: larger size first, then lower index. */
static void sort_by_size(const struct tb_nn_plan_buffer *bufs, uint32_t n,
			 uint32_t *order)
{
	uint32_t i, j;

	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = 1; i < n; i++) {
		const uint32_t cur = order[i];

		for (j = i; j > 0; j--) {
			const uint32_t prev = order[j - 1];

			if (bufs[prev].size > bufs[cur].size ||
			    (bufs[prev].size == bufs[cur].size && prev < cur))
				break;
			order[j] = prev;
		}
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

int tb_nn_plan_arena(struct tb_nn_plan_buffer *bufs, uint32_t n, uint32_t align,
		     uint32_t *order, uint32_t *arena_size)
{
	uint64_t end = 0;
	uint32_t i;

	if (!bufs || !order || !arena_size || n > PLAN_MAX_BUFFERS ||
	    align == 0 || (align & (align - 1)) || align > 4096)
		return TB_NN_ERR_ARG;
	for (i = 0; i < n; i++)
		if (bufs[i].size == 0 || bufs[i].size >= PLAN_MAX_BYTES ||
		    bufs[i].first > bufs[i].last)
			return TB_NN_ERR_ARG;

	sort_by_size(bufs, n, order);
	for (i = 0; i < n; i++) {
		struct tb_nn_plan_buffer *b = &bufs[order[i]];
		const uint64_t off = first_fit(bufs, order, i, align);

		if (off + b->size > PLAN_MAX_BYTES)
			return TB_NN_ERR_ARG;
		b->offset = (uint32_t)off;
		if (off + b->size > end)
			end = off + b->size;
	}
	*arena_size = (uint32_t)align_up(end, align);
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
