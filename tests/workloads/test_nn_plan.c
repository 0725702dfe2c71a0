/*
 * test_nn_plan.c - the arena planner: no two simultaneously live buffers
 * overlap, the arena is never below the largest live set, never above
 * what TFLite-Micro's largest-first greedy plan gives (an independent
 * implementation here) and stays close to the live set; the plan is
 * deterministic.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tb_nn_model.h"
#include "tb_nn_test_ref.h"

static uint32_t up8(uint32_t v)
{
	return (v + 7u) & ~7u;
}

/* Independent live-set peak: scan every time step. */
static uint32_t ref_peak(const struct tb_nn_plan_buffer *b, uint32_t n)
{
	int32_t t, tmax = 0;
	uint32_t i, peak = 0;

	for (i = 0; i < n; i++)
		tmax = b[i].last > tmax ? b[i].last : tmax;
	for (t = 0; t <= tmax; t++) {
		uint32_t sum = 0;

		for (i = 0; i < n; i++)
			if (b[i].first <= t && t <= b[i].last)
				sum += up8(b[i].size);
		peak = sum > peak ? sum : peak;
	}
	return peak;
}

static void assert_valid_plan(const struct tb_nn_plan_buffer *b, uint32_t n,
			      uint32_t arena)
{
	uint32_t i, j;

	for (i = 0; i < n; i++) {
		cr_assert_eq(b[i].offset % 8, 0, "buffer %u misaligned", i);
		cr_assert_leq(b[i].offset + b[i].size, arena, "buffer %u past the arena", i);
		for (j = i + 1; j < n; j++) {
			const int live = b[i].first <= b[j].last && b[j].first <= b[i].last;
			const int overlap = b[i].offset < b[j].offset + b[j].size &&
					    b[j].offset < b[i].offset + b[i].size;

			cr_assert(!(live && overlap), "buffers %u and %u share bytes while live", i, j);
		}
	}
}

/*
 * Largest first (ties: lower index), first fit among the placed buffers
 * whose live ranges intersect: TFLite-Micro's GreedyMemoryPlanner, written
 * independently of tb_nn_plan.c.  Returns the arena end rounded up to 8.
 */
static uint32_t largest_first(const struct tb_nn_plan_buffer *in, uint32_t n)
{
	uint32_t *order = calloc(n + 1, sizeof(*order)), *off = calloc(n + 1, sizeof(*off));
	uint32_t i, j, k, end = 0;

	cr_assert(order && off);
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = 0; i < n; i++)		/* selection sort: larger, then lower index */
		for (j = i + 1; j < n; j++)
			if (in[order[j]].size > in[order[i]].size ||
			    (in[order[j]].size == in[order[i]].size && order[j] < order[i])) {
				k = order[i];
				order[i] = order[j];
				order[j] = k;
			}
	for (i = 0; i < n; i++) {
		const struct tb_nn_plan_buffer *me = &in[order[i]];
		uint32_t cand = 0;
		int moved = 1;

		while (moved) {
			moved = 0;
			for (j = 0; j < i; j++) {
				const struct tb_nn_plan_buffer *o = &in[order[j]];

				if (me->first <= o->last && o->first <= me->last &&
				    cand < off[order[j]] + o->size && off[order[j]] < cand + me->size) {
					cand = up8(off[order[j]] + o->size);
					moved = 1;
				}
			}
		}
		off[order[i]] = cand;
		end = cand + me->size > end ? cand + me->size : end;
	}
	free(order);
	free(off);
	return up8(end);
}

/*
 * The start of vww01 (MobileNet v1): the 27,648-byte input (op 0), the
 * first conv's and depthwise's 18,432-byte maps (ops 0-1, 1-2) and the
 * first pointwise conv's 36,864-byte map (ops 2-3).  Largest first puts
 * the input at 0 and both small maps above it: 64,512 bytes, 16.7 %
 * over the live set; an order by first use reaches the live set.
 */
Test(nn_plan, vww_start_reaches_the_live_peak)
{
	struct tb_nn_plan_buffer b[4] = {
		{ 27648, 0, 0, 0 }, { 18432, 0, 1, 0 }, { 18432, 1, 2, 0 }, { 36864, 2, 3, 0 },
	};
	uint32_t order[4], arena;

	cr_assert_eq(largest_first(b, 4), 64512);
	cr_assert_eq(tb_nn_plan_arena(b, 4, 8, order, &arena), TB_NN_OK);
	assert_valid_plan(b, 4, arena);
	cr_assert_eq(tb_nn_plan_live_peak(b, 4, 8), 55296);
	cr_assert_eq(arena, 55296);
}

/* A kernel's scratch is a buffer live during its op only: it fits into
 * the room the op's neighbours leave. */
Test(nn_plan, scratch_fits_beside_the_op)
{
	/* in 100 (0..0) -> a 400 (0..1) -> b 400 (1..2); scratch 64 of op 2,
	 * scratch 300 of op 0 */
	struct tb_nn_plan_buffer b[5] = {
		{ 100, 0, 0, 0 }, { 400, 0, 1, 0 }, { 400, 1, 2, 0 }, { 64, 2, 2, 0 }, { 300, 0, 0, 0 },
	};
	uint32_t order[5], arena;

	cr_assert_eq(tb_nn_plan_arena(b, 5, 8, order, &arena), TB_NN_OK);
	assert_valid_plan(b, 5, arena);
	cr_assert_eq(tb_nn_plan_live_peak(b, 5, 8), 104 + 400 + 304);
	cr_assert_eq(arena, 808);
}

Test(nn_plan, chain_reaches_the_live_peak)
{
	/* kws01-like: input 490, 9 x 8000 chained, then 64, 12, 12 */
	struct tb_nn_plan_buffer b[13];
	uint32_t order[13], arena, i;

	b[0] = (struct tb_nn_plan_buffer){ 490, 0, 0, 0 };
	for (i = 1; i <= 9; i++)
		b[i] = (struct tb_nn_plan_buffer){ 8000, (int32_t)i - 1, (int32_t)i, 0 };
	b[10] = (struct tb_nn_plan_buffer){ 64, 9, 10, 0 };
	b[11] = (struct tb_nn_plan_buffer){ 12, 10, 11, 0 };
	b[12] = (struct tb_nn_plan_buffer){ 12, 11, 11, 0 };
	cr_assert_eq(tb_nn_plan_arena(b, 13, 8, order, &arena), TB_NN_OK);
	assert_valid_plan(b, 13, arena);
	cr_assert_eq(ref_peak(b, 13), 16000);
	cr_assert_eq(tb_nn_plan_live_peak(b, 13, 8), 16000);
	cr_assert_eq(arena, 16000);
}

Test(nn_plan, random_graphs_are_valid_and_tight)
{
	struct ref_rng r;
	int g, better = 0;
	double worst = 1.0, worst_lf = 1.0;

	ref_seed(&r, 60);
	for (g = 0; g < 500; g++) {
		const uint32_t n = (uint32_t)ref_range(&r, 1, 60);
		struct tb_nn_plan_buffer *b = calloc(n, sizeof(*b)), *b2 = calloc(n, sizeof(*b2));
		uint32_t *order = calloc(n, sizeof(*order));
		uint32_t i, arena, arena2, peak, lf;

		cr_assert(b && b2 && order);
		for (i = 0; i < n; i++) {
			b[i].first = ref_range(&r, 0, 40);
			b[i].last = b[i].first + (ref_range(&r, 0, 3) ? ref_range(&r, 0, 3)
								     : ref_range(&r, 0, 30));
			b[i].size = (uint32_t)ref_range(&r, 1, ref_range(&r, 0, 1) ? 64 : 20000);
		}
		memcpy(b2, b, n * sizeof(*b));
		cr_assert_eq(tb_nn_plan_arena(b, n, 8, order, &arena), TB_NN_OK);
		assert_valid_plan(b, n, arena);
		peak = ref_peak(b, n);
		cr_assert_eq(tb_nn_plan_live_peak(b, n, 8), peak);
		cr_assert_geq(arena, peak);
		/* the best of several orders: never worse than largest first */
		lf = largest_first(b2, n);
		cr_assert_leq(arena, lf, "graph %d: arena %u, largest first %u", g, arena, lf);
		better += arena < lf;
		/* not optimal in general, but never wildly off */
		cr_assert_leq(arena, 2 * peak, "graph %d: arena %u, peak %u", g, arena, peak);
		if ((double)arena / peak > worst)
			worst = (double)arena / peak;
		if ((double)lf / peak > worst_lf)
			worst_lf = (double)lf / peak;
		/* deterministic */
		cr_assert_eq(tb_nn_plan_arena(b2, n, 8, order, &arena2), TB_NN_OK);
		cr_assert_eq(arena2, arena);
		for (i = 0; i < n; i++)
			cr_assert_eq(b2[i].offset, b[i].offset);
		free(b);
		free(b2);
		free(order);
	}
	cr_log_info("worst arena / live peak over 500 random graphs: %.3f (largest first "
		    "alone: %.3f); smaller than largest first in %d graphs", worst, worst_lf,
		    better);
	cr_assert_lt(worst, 1.25);
	cr_assert_gt(better, 0);
}

Test(nn_plan, places_largest_first_at_lowest_offset)
{
	/* A (100, live 0..2) and B (50, live 1..1) overlap: A at 0, B after it;
	 * C (60, live 3..4) reuses offset 0. */
	struct tb_nn_plan_buffer b[3] = {
		{ 50, 1, 1, 0 }, { 100, 0, 2, 0 }, { 60, 3, 4, 0 },
	};
	uint32_t order[3], arena;

	cr_assert_eq(tb_nn_plan_arena(b, 3, 8, order, &arena), TB_NN_OK);
	cr_assert_eq(b[1].offset, 0);
	cr_assert_eq(b[0].offset, 104);
	cr_assert_eq(b[2].offset, 0);
	cr_assert_eq(arena, 160);
}

Test(nn_plan, equal_sizes_place_lower_index_first)
{
	struct tb_nn_plan_buffer b[3] = {
		{ 64, 0, 1, 0 }, { 64, 1, 2, 0 }, { 64, 0, 2, 0 },
	};
	uint32_t order[3], arena;

	cr_assert_eq(tb_nn_plan_arena(b, 3, 8, order, &arena), TB_NN_OK);
	cr_assert_eq(b[0].offset, 0);
	cr_assert_eq(b[1].offset, 64);
	cr_assert_eq(b[2].offset, 128);
	cr_assert_eq(order[0], 0);
	cr_assert_eq(order[2], 2);
}

Test(nn_plan, rejects_bad_arguments)
{
	struct tb_nn_plan_buffer b[2] = { { 8, 0, 1, 0 }, { 0, 0, 1, 0 } };
	uint32_t order[2], arena;

	cr_assert_eq(tb_nn_plan_arena(b, 2, 8, order, &arena), TB_NN_ERR_ARG, "size 0");
	b[1].size = 8;
	b[1].first = 2;
	cr_assert_eq(tb_nn_plan_arena(b, 2, 8, order, &arena), TB_NN_ERR_ARG, "first > last");
	b[1].first = 0;
	cr_assert_eq(tb_nn_plan_arena(b, 2, 6, order, &arena), TB_NN_ERR_ARG, "align 6");
	cr_assert_eq(tb_nn_plan_arena(b, 2, 8, NULL, &arena), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_plan_arena(b, 2, 8, order, &arena), TB_NN_OK);
	cr_assert_eq(arena, 16);
	cr_assert_eq(tb_nn_plan_arena(b, 0, 8, order, &arena), TB_NN_OK);
	cr_assert_eq(arena, 0);
}
