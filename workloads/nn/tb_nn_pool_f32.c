/*
 * tb_nn_pool_f32.c - float32 average and max pooling (TFLite reference
 * AveragePool / MaxPool for float: padding excluded from the count and
 * the maximum), clamped to the fused activation.
 */
#include "tb_nn.h"
#include "tb_nn_support.h"

static int pool_f32(int is_max, const struct tb_nn_f32_pool_params *p,
		    const struct tb_nn_dims *id, const float *input,
		    const struct tb_nn_dims *od, float *output)
{
	int32_t b, oy, ox, c;

	if (!p || !id || !input || !od || !output || id->n < 1 || id->h < 1 ||
	    id->w < 1 || id->c < 1 || p->filter.h < 1 || p->filter.w < 1 ||
	    od->n != id->n || od->c != id->c || od->h < 1 || od->w < 1 ||
	    p->stride.h < 1 || p->stride.w < 1 || p->padding.h < 0 ||
	    p->padding.w < 0 || p->act_min > p->act_max)
		return TB_NN_ERR_ARG;
	for (b = 0; b < od->n; b++)
	for (oy = 0; oy < od->h; oy++)
	for (ox = 0; ox < od->w; ox++) {
		const int32_t iy0 = oy * p->stride.h - p->padding.h;
		const int32_t ix0 = ox * p->stride.w - p->padding.w;
		int32_t ky0, ky1, kx0, kx1;

		tb_nn_tap_range(iy0, 1, p->filter.h, id->h, &ky0, &ky1);
		tb_nn_tap_range(ix0, 1, p->filter.w, id->w, &kx0, &kx1);
		if (ky0 == ky1 || kx0 == kx1)
			return TB_NN_ERR_ARG;
		for (c = 0; c < id->c; c++) {
			float acc = 0.0f, v;
			int32_t ky, kx, first = 1;

			for (ky = ky0; ky < ky1; ky++)
				for (kx = kx0; kx < kx1; kx++) {
					const float x = input[(((size_t)b * id->h + iy0 + ky) * id->w +
							       ix0 + kx) * id->c + c];

					if (!is_max)
						acc += x;
					else if (first || x > acc)
						acc = x;
					first = 0;
				}
			v = is_max ? acc : acc / (float)((ky1 - ky0) * (kx1 - kx0));
			v = v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v;
			output[(((size_t)b * od->h + oy) * od->w + ox) * od->c + c] = v;
		}
	}
	return TB_NN_OK;
}

int tb_nn_avgpool_f32(const struct tb_nn_f32_pool_params *p,
		      const struct tb_nn_dims *id, const float *input,
		      const struct tb_nn_dims *od, float *output)
{
	return pool_f32(0, p, id, input, od, output);
}

int tb_nn_maxpool_f32(const struct tb_nn_f32_pool_params *p,
		      const struct tb_nn_dims *id, const float *input,
		      const struct tb_nn_dims *od, float *output)
{
	return pool_f32(1, p, id, input, od, output);
}
