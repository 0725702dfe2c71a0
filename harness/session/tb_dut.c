/*
 * tb_dut.c - the device-driver seam (tb_dut.h) and its tinybench driver,
 * a thin wrapper of the link (tb_link.h).
 */
#include "tb_dut.h"

#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------------
 * tinybench: the link
 */
static int tbl_identify(void *ctx, struct tbp_hello_rsp *caps, struct tb_error *err)
{
	return tb_link_hello(ctx, caps, err);
}

static int tbl_upload(void *ctx, const struct tb_workload *wl, const void *data,
		      size_t len, struct tb_upload_stats *st, struct tb_error *err)
{
	(void)wl;
	return tb_link_upload(ctx, data, len, st, err);
}

static void from_rsp(const struct tbp_infer_rsp *r, struct tb_dut_result *res)
{
	res->count = r->count;
	res->total_ticks = r->total_ticks;
	res->min_ticks = r->min_ticks;
	res->max_ticks = r->max_ticks;
	res->stack_used = r->stack_used;
	res->stack_size = r->stack_size;
	res->arena_used = r->arena_used;
	res->arena_size = r->arena_size;
	res->output_len = r->output_len;
	res->output = r->output;
}

static int tbl_infer(void *ctx, const struct tbp_infer *req, int timeout_ms,
		     struct tb_dut_result *res, struct tb_error *err)
{
	struct tbp_infer_rsp rsp;
	int rc = tb_link_infer(ctx, req, timeout_ms, &rsp, err);

	if (rc == TB_OK)
		from_rsp(&rsp, res);
	return rc;
}

static int tbl_infer_then_upload(void *ctx, const struct tbp_infer *req, int timeout_ms,
				 struct tb_dut_result *res, const struct tb_workload *wl,
				 const void *next, size_t next_len,
				 struct tb_upload_stats *st, struct tb_error *err)
{
	struct tbp_infer_rsp rsp;
	int rc;

	(void)wl;
	rc = tb_link_infer_then_upload(ctx, req, timeout_ms, &rsp, next, next_len, st, err);
	if (rc == TB_OK)
		from_rsp(&rsp, res);
	return rc;
}

static void tbl_get_stats(void *ctx, struct tb_link_stats *st)
{
	tb_link_get_stats(ctx, st);
}

static void tbl_free(void *ctx)
{
	(void)ctx; /* the link belongs to the caller */
}

static const struct tb_dut_ops tinybench_ops = {
	.version = TB_DUT_OPS_VERSION,
	.identify = tbl_identify,
	.upload = tbl_upload,
	.infer = tbl_infer,
	.infer_then_upload = tbl_infer_then_upload,
	.get_stats = tbl_get_stats,
	.free = tbl_free,
};

int tb_dut_from_link(struct tb_link *link, struct tb_dut **out, struct tb_error *err)
{
	struct tb_dut *d;

	*out = NULL;
	if (!link)
		return tb_error_set(err, TB_ERR_ARG, "device: no link");
	d = calloc(1, sizeof(*d));
	if (!d)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	d->ops = &tinybench_ops;
	d->ctx = link;
	d->info.protocol = TB_DUT_TINYBENCH;
	d->info.name = "tinybench";
	d->info.timing_method = NULL;
	d->info.has_memory = 1;
	d->info.has_model_hash = 1;
	d->info.output = TB_DUT_OUTPUT_TENSOR;
	*out = d;
	return TB_OK;
}

/* ----------------------------------------------------------------------
 * The wrappers
 */
int tb_dut_identify(struct tb_dut *d, struct tbp_hello_rsp *caps, struct tb_error *err)
{
	if (!d)
		return tb_error_set(err, TB_ERR_ARG, "no device");
	return d->ops->identify(d->ctx, caps, err);
}

int tb_dut_upload(struct tb_dut *d, const struct tb_workload *wl, const void *data,
		  size_t len, struct tb_upload_stats *st, struct tb_error *err)
{
	if (!d)
		return tb_error_set(err, TB_ERR_ARG, "no device");
	return d->ops->upload(d->ctx, wl, data, len, st, err);
}

int tb_dut_infer(struct tb_dut *d, const struct tbp_infer *req, int timeout_ms,
		 struct tb_dut_result *res, struct tb_error *err)
{
	if (!d)
		return tb_error_set(err, TB_ERR_ARG, "no device");
	memset(res, 0, sizeof(*res));
	return d->ops->infer(d->ctx, req, timeout_ms, res, err);
}

int tb_dut_infer_then_upload(struct tb_dut *d, const struct tbp_infer *req,
			     int timeout_ms, struct tb_dut_result *res,
			     const struct tb_workload *wl, const void *next,
			     size_t next_len, struct tb_upload_stats *st,
			     struct tb_error *err)
{
	if (!d || !d->ops->infer_then_upload)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "the device's protocol cannot pipeline uploads");
	memset(res, 0, sizeof(*res));
	return d->ops->infer_then_upload(d->ctx, req, timeout_ms, res, wl, next, next_len,
					 st, err);
}

int tb_dut_can_pipeline(const struct tb_dut *d, const struct tbp_hello_rsp *caps)
{
	return d && d->ops->infer_then_upload && caps &&
	       (caps->flags & TBP_CAP_RX_BUFFERED);
}

void tb_dut_get_stats(const struct tb_dut *d, struct tb_link_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (d && d->ops->get_stats)
		d->ops->get_stats(d->ctx, st);
}

const struct tb_dut_info *tb_dut_info(const struct tb_dut *d)
{
	return d ? &d->info : NULL;
}

void tb_dut_free(struct tb_dut *d)
{
	if (!d)
		return;
	if (d->ops->free)
		d->ops->free(d->ctx);
	free(d);
}

const char *tb_dut_protocol_name(enum tb_dut_protocol p)
{
	switch (p) {
	case TB_DUT_TINYBENCH: return "tinybench";
	case TB_DUT_EEMBC:     return "eembc";
	}
	return "?";
}
