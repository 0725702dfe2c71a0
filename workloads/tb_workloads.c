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

/* TB_WORKLOADS_NO_BUILTIN: the firmware of a user model, which links
 * none of them (workloads/meson.build). */
const struct tb_workload *const tb_workloads[] = {
#ifndef TB_WORKLOADS_NO_BUILTIN
	&tb_workload_kws01,
	&tb_workload_vww01,
	&tb_workload_ad01,
	&tb_workload_ic01,
#endif
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
 * The blob is validated once, by prepare() (the runner calls it at
 * start-up) or on the first invoke(), into the workload's RAM state;
 * inferences then run straight from the validated struct.
 */
int tb_workload_nn_prepare(const struct tb_workload *wl)
{
	const struct tb_workload_nn *nn;

	if (!wl || !wl->model)
		return TB_NN_ERR_ARG;
	nn = wl->model;
	return tb_nn_model_prepare(nn->state, nn->blob, nn->size);
}

int tb_workload_nn_invoke(const struct tb_workload *wl, const void *in,
			  void *out, void *arena, size_t arena_size)
{
	const struct tb_workload_nn *nn;
	int ret;

	if (!wl || !wl->model)
		return TB_NN_ERR_ARG;
	nn = wl->model;
	if (nn->state->blob != nn->blob) {
		ret = tb_nn_model_prepare(nn->state, nn->blob, nn->size);
		if (ret)
			return ret;
	}
	return tb_nn_model_invoke(nn->state, in, wl->input_size, out, wl->output_size,
				  arena, arena_size);
}

/* A registered blob: tb_workload_blob carries the same three fields. */
static int blob_prepare(const struct tb_workload *wl)
{
	const struct tb_workload_blob *src;

	if (!wl || !wl->model)
		return TB_NN_ERR_ARG;
	src = wl->model;
	return tb_nn_model_prepare(src->state, src->blob, src->size);
}

static int blob_invoke(const struct tb_workload *wl, const void *in, void *out,
		       void *arena, size_t arena_size)
{
	const struct tb_workload_blob *src;
	struct tb_nn_model *m;
	int ret;

	if (!wl || !wl->model)
		return TB_NN_ERR_ARG;
	src = wl->model;
	m = src->state;
	if (m->blob != src->blob) {
		ret = blob_prepare(wl);
		if (ret)
			return ret;
	}
	return tb_nn_model_invoke(m, in, wl->input_size, out, wl->output_size,
				  arena, arena_size);
}

int tb_workload_from_blob(struct tb_workload *wl, struct tb_workload_blob *src,
			  uint8_t id, const char *name, const char *description,
			  const uint8_t *hash)
{
	struct tb_nn_tensor_info in, out;
	struct tb_nn_model *m;
	uint64_t macs;
	int ret;

	if (!wl || !src || !src->state || !name)
		return TB_NN_ERR_ARG;
	memset(wl, 0, sizeof(*wl));
	m = src->state;
	memset(m, 0, sizeof(*m));
	ret = tb_nn_model_init(m, src->blob, src->size);
	if (ret)
		return ret;
	tb_nn_model_tensor(m, m->input, &in);
	tb_nn_model_tensor(m, m->output, &out);
	macs = tb_nn_model_macs(m);
	wl->id = id;
	wl->name = name;
	wl->description = description ? description : "";
	wl->input_dtype = in.dtype;
	wl->output_dtype = out.dtype;
	wl->input_size = in.size;
	wl->output_size = out.size;
	wl->input_scale = in.scale;
	wl->input_zero_point = in.zero_point;
	wl->output_scale = out.scale;
	wl->output_zero_point = out.zero_point;
	wl->arena_size = tb_nn_model_arena_size(m);
	wl->macs = macs > UINT32_MAX ? UINT32_MAX : (uint32_t)macs;
	wl->model_hash = hash;
	wl->invoke = blob_invoke;
	wl->prepare = blob_prepare;
	wl->model = src;
	return TB_NN_OK;
}
