/*
 * tb_nn_dot.h - the int8 dot products under the fast kernel paths.
 *
 * Private to workloads/nn; static inline, values only.  Sums are taken
 * modulo 2^32 exactly as the plain kernels' int32 accumulators are, so a
 * fast path that regroups the additions gives the same bits.
 */
#ifndef TB_NN_DOT_H
#define TB_NN_DOT_H

#include <stddef.h>
#include <stdint.h>

#include "tb_nn_dsp.h"
#include "tb_nn_support.h"

/* sum over i < n of f[i] * (x[i] + off); off in [-255, 255]. */
static inline int32_t tb_nn_dot_s8(const int8_t *x, const int8_t *f, int32_t n,
				   int32_t off)
{
	int32_t acc = 0, i = 0;
#if TB_NN_HAVE_DSP
	/* Lanes: bytes 0 and 2, then (rotated by 8) bytes 1 and 3, of both
	 * operands; SXTAB16 adds the offset as it widens the input. */
	const uint32_t off2 = ((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16);

	for (; i + 4 <= n; i += 4) {
		const uint32_t xv = tb_nn_read_u32(x + i);
		const uint32_t fv = tb_nn_read_u32(f + i);

		acc = tb_nn_smlad(tb_nn_sxtab16(off2, xv), tb_nn_sxtb16(fv), acc);
		acc = tb_nn_smlad(tb_nn_sxtab16(off2, tb_nn_ror8(xv)),
				  tb_nn_sxtb16(tb_nn_ror8(fv)), acc);
	}
#endif
	for (; i < n; i++)
		acc = tb_nn_add_wrap(acc, f[i] * (x[i] + off));
	return acc;
}

/*
 * Four dot products sharing one input run: filter rows f, f + fstride,
 * f + 2 * fstride, f + 3 * fstride; results added to acc[0..3].  The
 * loop is simple enough for the compiler to vectorise (-O3).
 */
static inline void tb_nn_dot4_s8(const int8_t *x, const int8_t *f, size_t fstride,
				 int32_t n, int32_t off, int32_t acc[4])
{
	const int8_t *f0 = f, *f1 = f + fstride, *f2 = f1 + fstride, *f3 = f2 + fstride;
	int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, i;

	for (i = 0; i < n; i++) {
		const int32_t v = x[i] + off;

		a0 += f0[i] * v;
		a1 += f1[i] * v;
		a2 += f2[i] * v;
		a3 += f3[i] * v;
	}
	acc[0] = tb_nn_add_wrap(acc[0], a0);
	acc[1] = tb_nn_add_wrap(acc[1], a1);
	acc[2] = tb_nn_add_wrap(acc[2], a2);
	acc[3] = tb_nn_add_wrap(acc[3], a3);
}

#endif
