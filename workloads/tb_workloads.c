/*
 * tb_workloads.c - the registry of built-in workloads.
 *
 * The descriptors themselves are generated at build time (one C file per
 * model, made by gen/tb_workload_gen.c); this file lists them and runs
 * the blob-backed ones through the tb_nn interpreter.
 */
#include <string.h>

#include "tb_nn_model.h"
#include "tb_workload.h"
#include "tb_workload_priv.h"

/* tb_nn's dtype codes are the wire codes: keep them equal. */
_Static_assert((int)TB_NN_DTYPE_INT8 == (int)TB_DTYPE_INT8, "dtype codes");
_Static_assert((int)TB_NN_DTYPE_UINT8 == (int)TB_DTYPE_UINT8, "dtype codes");
_Static_assert((int)TB_NN_DTYPE_INT16 == (int)TB_DTYPE_INT16, "dtype codes");
_Static_assert((int)TB_NN_DTYPE_INT32 == (int)TB_DTYPE_INT32, "dtype codes");
_Static_assert((int)TB_NN_DTYPE_FLOAT32 == (int)TB_DTYPE_FLOAT32, "dtype codes");

const struct tb_workload *const tb_workloads[] = {
	&tb_workload_kws01,
	NULL,
};

const struct tb_workload *tb_workload_by_name(const char *name)
{
	const struct tb_workload *const *wl;

	if (!name)
		return NULL;
	for (wl = tb_workloads; *wl; wl++)
		if (!strcmp((*wl)->name, name))
			return *wl;
	return NULL;
}

const struct tb_workload *tb_workload_by_id(uint8_t id)
{
	const struct tb_workload *const *wl;

	for (wl = tb_workloads; *wl; wl++)
		if ((*wl)->id == id)
			return *wl;
	return NULL;
}

/*
 * Validation runs on every call: the descriptor is const (in flash) and
 * there is nowhere to cache a validated model without hidden state.  It
 * is part of the timed call, but it walks only a few dozen records and
 * the per-channel shift arrays: on the order of 10^4 cycles against the
 * 10^7 of a kws01 inference on a Cortex-M4.
 */
int tb_workload_nn_invoke(const struct tb_workload *wl, const void *in,
			  void *out, void *arena, size_t arena_size)
{
	const struct tb_workload_nn *nn;
	struct tb_nn_model m;
	int ret;

	if (!wl || !wl->model)
		return TB_NN_ERR_ARG;
	nn = wl->model;
	ret = tb_nn_model_init(&m, nn->blob, nn->size);
	if (ret)
		return ret;
	return tb_nn_model_invoke(&m, in, wl->input_size, out, wl->output_size,
				  arena, arena_size);
}
