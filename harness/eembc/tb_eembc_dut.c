/*
 * tb_eembc_dut.c - the EEMBC driver as a session's device (tb_dut.h):
 * what MLPerf Tiny firmware says about itself becomes a HELLO_RSP, inputs
 * are converted to the firmware's conventions, results come back as
 * float32 values.
 */
#include "tb_board.h"
#include "tb_dut.h"
#include "tb_eembc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct eembc_dut {
	struct tb_eembc *e;
	const struct tb_board *board;
	uint8_t *wire;             /* an input in the firmware's format */
	size_t wire_cap;
	uint8_t out[4 * TB_EEMBC_MAX_VALUES];
};

static void copy_printable(char *dst, size_t cap, const char *src)
{
	size_t k = 0;

	for (; src && *src && k + 1 < cap; src++)
		dst[k++] = *src >= 0x20 && *src < 0x7F ? *src : '_';
	dst[k] = '\0';
}

static int ed_identify(void *ctx, struct tbp_hello_rsp *caps, struct tb_error *err)
{
	struct eembc_dut *d = ctx;
	struct tb_eembc_identity id;
	const struct tb_workload *wl;
	struct tbp_workload_info *w;
	int rc;

	rc = tb_eembc_identify(d->e, &id, err);
	if (rc < 0)
		return rc;
	memset(caps, 0, sizeof(*caps));
	caps->proto_version = 0;           /* not the tinybench protocol */
	caps->window = 1;
	caps->clock_hz = d->board && d->board->clock_hz <= UINT32_MAX ?
			 (uint32_t)d->board->clock_hz : 0;
	caps->timer_hz = 1000000;          /* m-lap-us: microseconds (energy
					    * mode: the session's window in us) */
	if (d->board && d->board->eembc_mode == TB_BOARD_EEMBC_ENERGY)
		caps->flags |= TBP_CAP_TIMESTAMP_PIN;
	caps->max_input = 1u << 24;
	copy_printable(caps->board, sizeof(caps->board), id.name[0] ? id.name : "eembc-dut");
	copy_printable(caps->cpu, sizeof(caps->cpu), d->board ? d->board->cpu : "");
	copy_printable(caps->runner_version, sizeof(caps->runner_version), "eembc");
	copy_printable(caps->build_id, sizeof(caps->build_id), id.profile);
	caps->n_workloads = 1;
	w = &caps->workloads[0];
	copy_printable(w->name, sizeof(w->name), id.model);
	wl = tb_workload_by_name(w->name);
	w->id = wl ? wl->id : TB_WL_USER;
	if (wl) {
		w->input_dtype = wl->input_dtype;
		w->output_dtype = wl->output_dtype;
		w->input_size = wl->input_size;
		w->output_size = wl->output_size;
		w->arena_size = wl->arena_size;
	}
	/* model_hash stays zero: EEMBC firmware does not say (tb_dut_info). */
	return TB_OK;
}

static int is_autoencoder(const struct tb_workload *wl)
{
	return wl->output_size == wl->input_size && wl->output_size > 1 &&
	       wl->output_dtype == wl->input_dtype && wl->input_dtype == TB_DTYPE_INT8;
}

/* The input tensor in the format MLPerf Tiny firmware takes (docs/EEMBC.md). */
static int to_wire(struct eembc_dut *d, const struct tb_workload *wl, const uint8_t *in,
		   size_t len, const uint8_t **wire, size_t *wire_len, struct tb_error *err)
{
	size_t need = len;
	int floats = wl && is_autoencoder(wl) && len == wl->input_size;

	if (floats)
		need = 4 * len;
	if (need > d->wire_cap) {
		uint8_t *p = realloc(d->wire, need);

		if (!p)
			return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
		d->wire = p;
		d->wire_cap = need;
	}
	if (floats) {
		for (size_t i = 0; i < len; i++) {
			float x = (float)((double)wl->input_scale *
					  ((int8_t)in[i] - wl->input_zero_point));
			uint32_t u;

			memcpy(&u, &x, 4);
			for (int b = 0; b < 4; b++)
				d->wire[4 * i + b] = (uint8_t)(u >> (8 * b));
		}
	} else if (wl && wl->input_dtype == TB_DTYPE_INT8 && wl->input_zero_point == -128) {
		for (size_t i = 0; i < len; i++)
			d->wire[i] = in[i] ^ 0x80u; /* int8 -> the uint8 image */
	} else {
		memcpy(d->wire, in, len);
	}
	*wire = d->wire;
	*wire_len = need;
	return TB_OK;
}

static int ed_upload(void *ctx, const struct tb_workload *wl, const void *data,
		     size_t len, struct tb_upload_stats *st, struct tb_error *err)
{
	struct eembc_dut *d = ctx;
	const uint8_t *wire = NULL;
	size_t n = 0;
	int rc;

	rc = to_wire(d, wl, data, len, &wire, &n, err);
	if (rc < 0)
		return rc;
	return tb_eembc_load(d->e, wire, n, st, err);
}

static int ed_infer(void *ctx, const struct tbp_infer *req, int timeout_ms,
		    struct tb_dut_result *res, struct tb_error *err)
{
	struct eembc_dut *d = ctx;
	struct tb_eembc_infer r;
	int rc;

	rc = tb_eembc_infer(d->e, req->count, req->warmups, timeout_ms, &r, err);
	if (rc < 0)
		return rc;
	if (r.n_values == 0)
		return tb_error_set(err, TB_ERR_PROTO, "m-results-[] holds no value");
	res->count = r.count;
	res->total_ticks = r.elapsed_us;
	for (size_t i = 0; i < r.n_values; i++) {
		float f = (float)r.values[i];
		uint32_t u;

		memcpy(&u, &f, 4);
		for (int b = 0; b < 4; b++)
			d->out[4 * i + b] = (uint8_t)(u >> (8 * b));
	}
	res->output = d->out;
	res->output_len = (uint16_t)(4 * r.n_values);
	return TB_OK;
}

static void ed_get_stats(void *ctx, struct tb_link_stats *st)
{
	struct eembc_dut *d = ctx;
	struct tb_eembc_stats s;

	tb_eembc_get_stats(d->e, &s);
	memset(st, 0, sizeof(*st));
	st->timeouts = s.timeouts;
	st->retries = s.retries;
	st->frames_dropped = s.long_lines;
}

static void ed_free(void *ctx)
{
	struct eembc_dut *d = ctx;

	tb_eembc_free(d->e);
	free(d->wire);
	free(d);
}

static const struct tb_dut_ops eembc_ops = {
	.version = TB_DUT_OPS_VERSION,
	.identify = ed_identify,
	.upload = ed_upload,
	.infer = ed_infer,
	.infer_then_upload = NULL, /* one command in flight, always */
	.get_stats = ed_get_stats,
	.free = ed_free,
};

int tb_eembc_dut_new(struct tb_eembc *e, const struct tb_board *board,
		     struct tb_dut **out, struct tb_error *err)
{
	struct eembc_dut *d;
	struct tb_dut *dut;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	dut = calloc(1, sizeof(*dut));
	if (!d || !dut) {
		free(d);
		free(dut);
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	}
	d->e = e;
	d->board = board;
	dut->ops = &eembc_ops;
	dut->ctx = d;
	dut->info.protocol = TB_DUT_EEMBC;
	dut->info.name = "eembc";
	dut->info.timing_method = "eembc-lap-us";
	if (board && board->eembc_mode == TB_BOARD_EEMBC_ENERGY) {
		/* Latency from the energy monitor's window between the two
		 * timestamp pulses. */
		dut->info.timing_method = "eembc-gpio-timestamps";
		dut->info.timed_by_monitor = 1;
	}
	dut->info.has_memory = 0;
	dut->info.has_model_hash = 0;
	dut->info.output = TB_DUT_OUTPUT_F32;
	*out = dut;
	return TB_OK;
}
