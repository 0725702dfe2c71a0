/*
 * tb_nn_maxpool_s8.c - int8 max pooling.
 *
 * Bit-exact with TFLite's reference_integer_ops::MaxPool: the maximum of
 * the in-bounds elements of each window (padding is ignored), clamped to
 * the fused activation.  Input and output share one quantisation.
 */
#include "tb_nn.h"
#include "tb_nn_support.h"

int tb_nn_maxpool_s8(const struct tb_nn_context *ctx,
		     const struct tb_nn_pool_params *p,
		     const struct tb_nn_dims *id, const int8_t *input,
		     const struct tb_nn_dims *fd,
		     const struct tb_nn_dims *od, int8_t *output)
{
	int32_t b, oy, ox, c;

	(void)ctx;
	if (!p || !id || !input || !fd || !od || !output || id->n < 1 || id->h < 1 ||
	    id->w < 1 || id->c < 1 || fd->h < 1 || fd->w < 1 || od->n != id->n ||
	    od->h < 1 || od->w < 1 || od->c != id->c || p->stride.h < 1 ||
	    p->stride.w < 1 || p->padding.h < 0 || p->padding.w < 0 ||
	    p->activation.min > p->activation.max)
		return TB_NN_ERR_ARG;

	for (b = 0; b < id->n; b++) {
		const int8_t *ib = input + (size_t)b * id->h * id->w * id->c;

		for (oy = 0; oy < od->h; oy++) {
			for (ox = 0; ox < od->w; ox++) {
				const int32_t iy0 = oy * p->stride.h - p->padding.h;
				const int32_t ix0 = ox * p->stride.w - p->padding.w;
				int8_t *o = output + (((size_t)b * od->h + oy) * od->w + ox) * od->c;
				int32_t ky0, ky1, kx0, kx1, ky, kx;

				tb_nn_tap_range(iy0, 1, fd->h, id->h, &ky0, &ky1);
				tb_nn_tap_range(ix0, 1, fd->w, id->w, &kx0, &kx1);
				if (ky0 == ky1 || kx0 == kx1)
					return TB_NN_ERR_ARG;	/* window all padding */
				for (c = 0; c < id->c; c++)
					o[c] = INT8_MIN;
				for (ky = ky0; ky < ky1; ky++)
					for (kx = kx0; kx < kx1; kx++) {
						const int8_t *ip = ib + ((size_t)(iy0 + ky) * id->w +
									 ix0 + kx) * id->c;

						for (c = 0; c < id->c; c++)
							if (ip[c] > o[c])
								o[c] = ip[c];
					}
				for (c = 0; c < id->c; c++)
					o[c] = (int8_t)tb_nn_clamp(o[c], p->activation.min,
								   p->activation.max);
			}
		}
	}
	return TB_NN_OK;
}
