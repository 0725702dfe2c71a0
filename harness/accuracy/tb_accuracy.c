/*
 * tb_accuracy.c - accuracy mode (tb_accuracy.h, docs/ACCURACY.md).
 *
 * The loop is a stream of model inputs (row i, window k).  The current one
 * is on the device; it is inferred and, when the device allows it, the
 * next one is uploaded in the same exchange so that the upload overlaps
 * the inference.  A row's prediction is kept in memory until a batch is
 * committed (at most a second, or 256 rows, later), and at the end, on an
 * error and on an interruption.
 */
#include "tb_accuracy.h"
#include "tb_build_id.h"
#include "tb_config.h"
#include "tb_dataset.h"
#include "tb_json.h"
#include "tb_metrics.h"
#include "tb_nn_model.h"
#include "tb_postproc.h"
#include "tb_transport.h"

#include <errno.h>
#include <math.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_ROWS 256
#define FLUSH_SECONDS 1.0

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hex(const uint8_t *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ----------------------------------------------------------------------
 * The run
 */
struct row_slot {
	size_t row;                /* dataset index, or SIZE_MAX when empty */
	uint8_t *data;
	size_t len;
	uint32_t n_inputs;
	char sha256[65];
};

struct pending {
	struct tb_prediction p;
	char sha256[65];
	float *out;                /* scores or window errors, owned */
	size_t n_out;
};

struct acc {
	const struct tb_acc_opts *o;
	struct tb_acc_result *res;
	struct tb_board board;     /* a copy: line_baud may set its baud */
	struct tb_board_registry *reg;
	const struct tb_workload *wl;
	struct tb_user_model *user;
	struct tb_dataset *ds;
	enum tb_input_format fmt;
	enum tb_acc_metric metric;
	struct tb_store *store;
	struct tb_conn *conn;
	const struct tbp_workload_info *dev_wl;
	size_t n_rows;
	uint8_t *done;             /* per row: stored */
	const char *runner_args[40];
	struct tb_conn_opts conn_opts; /* as connected, for reconnects */
	/* the stream of inputs */
	struct row_slot slots[2];
	size_t next_row;
	uint32_t next_k;
	uint8_t *tensor[2];        /* the current and the next input */
	/* the row being scored */
	size_t cur_row;
	double win_sum;
	double dev_us;
	float *win_err;            /* per window */
	uint32_t win_n;
	/* batch of predictions not yet committed */
	struct pending pend[FLUSH_ROWS];
	size_t n_pend;
	double last_flush;
	/* figures */
	double t0;
	uint64_t out0, in0;        /* transport counters at the start */
	uint64_t out_acc, in_acc;  /* of transports already replaced */
	int out_values;            /* classifier outputs, once known */
	size_t scored;
	double slowest_ms;         /* the slowest inference so far (device) */
};

static int flush(struct acc *a, struct tb_error *err)
{
	struct tb_prediction p[FLUSH_ROWS];
	int rc;

	a->last_flush = mono_s();
	if (!a->n_pend)
		return TB_OK;
	for (size_t i = 0; i < a->n_pend; i++) {
		p[i] = a->pend[i].p;
		p[i].input_sha256 = a->pend[i].sha256;
		p[i].output = a->pend[i].out;
		p[i].output_len = a->pend[i].n_out * sizeof(float);
	}
	rc = tb_store_predictions_add(a->store, a->res->run_id, p, a->n_pend, err);
	for (size_t i = 0; i < a->n_pend; i++)
		free(a->pend[i].out);
	a->n_pend = 0;
	return rc;
}

static void progress(struct acc *a, const char *msg)
{
	struct tb_acc_progress p = {
		.done = a->res->n_resumed + a->scored,
		.total = a->n_rows,
		.resumed = a->res->n_resumed,
		.elapsed_s = a->t0 > 0 ? mono_s() - a->t0 : 0,
		.eta_s = NAN,
		.run_id = a->res->run_id,
		.message = msg,
	};

	if (a->scored >= 3 && p.done < p.total)
		p.eta_s = p.elapsed_s / (double)a->scored * (double)(p.total - p.done);
	else if (p.done == p.total)
		p.eta_s = 0;
	if (a->o->progress)
		a->o->progress(&p, a->o->user);
}

/* Dequantised value v of the model's output tensor. */
static double out_value(const struct tb_workload *wl, const uint8_t *o, size_t i)
{
	switch (wl->output_dtype) {
	case TB_DTYPE_INT8:
		return (double)wl->output_scale * ((int8_t)o[i] - wl->output_zero_point);
	case TB_DTYPE_UINT8:
		return (double)wl->output_scale * (o[i] - wl->output_zero_point);
	case TB_DTYPE_FLOAT32: {
		float f;

		memcpy(&f, o + 4 * i, 4);
		return f;
	}
	}
	return NAN;
}

static size_t out_count(const struct tb_workload *wl)
{
	return wl->output_dtype == TB_DTYPE_FLOAT32 ? wl->output_size / 4 :
	       wl->output_dtype == TB_DTYPE_INT8 || wl->output_dtype == TB_DTYPE_UINT8 ?
	       wl->output_size : 0;
}

/* What one inference says: the scores of a classifier (n values), or the
 * error of an autoencoder window (one value). */
static int inference_values(struct acc *a, const uint8_t *tensor,
			    const struct tb_dut_result *r, double *v, size_t cap,
			    size_t *n, struct tb_error *err)
{
	const struct tb_dut_info *info = tb_dut_info(tb_conn_dut(a->conn));
	const struct tb_workload *wl = a->wl;

	if (info->output == TB_DUT_OUTPUT_F32) {
		size_t k = r->output_len / 4;

		if (!k || r->output_len % 4 || k > cap)
			return tb_error_set(err, TB_ERR_PROTO,
					    "the device returned %u result bytes", r->output_len);
		for (size_t i = 0; i < k; i++) {
			float f;

			memcpy(&f, r->output + 4 * i, 4);
			v[i] = f;
		}
		*n = a->metric == TB_ACC_AUC ? 1 : k;
		return TB_OK;
	}
	if (r->output_len != wl->output_size)
		return tb_error_set(err, TB_ERR_PROTO, "the device returned %u output bytes, "
				    "%s has %lu", r->output_len, wl->name,
				    (unsigned long)wl->output_size);
	if (a->metric == TB_ACC_AUC) {
		if (wl->input_dtype == TB_DTYPE_FLOAT32)
			v[0] = tb_post_mse_f32((const float *)(const void *)tensor,
					       (const float *)(const void *)r->output,
					       wl->input_size / 4);
		else
			v[0] = tb_post_mse_s8((const int8_t *)tensor, wl->input_scale,
					      wl->input_zero_point, (const int8_t *)r->output,
					      wl->output_scale, wl->output_zero_point,
					      wl->output_size);
		*n = 1;
		return TB_OK;
	}
	*n = out_count(wl);
	if (*n > cap || !*n)
		return tb_error_set(err, TB_ERR_ARG, "%s: unsupported output type", wl->name);
	for (size_t i = 0; i < *n; i++)
		v[i] = out_value(wl, r->output, i);
	return TB_OK;
}

/* The row being scored is complete: keep its prediction. */
static int finish_row(struct acc *a, const double *scores, size_t n, struct tb_error *err)
{
	const struct tb_dataset_item *it = &a->ds->items[a->cur_row];
	struct row_slot *s = a->slots[0].row == a->cur_row ? &a->slots[0] : &a->slots[1];
	struct pending *pe = &a->pend[a->n_pend];

	memset(pe, 0, sizeof(*pe));
	pe->p.idx = (int64_t)a->cur_row;
	pe->p.file = it->file;
	pe->p.label = it->label;
	pe->p.windows = a->metric == TB_ACC_AUC ? a->win_n : 1;
	pe->p.device_us = a->dev_us;
	pe->p.at = wall_ms();
	memcpy(pe->sha256, s->sha256, sizeof(pe->sha256));
	if (a->metric == TB_ACC_AUC) {
		pe->p.predicted = TB_STORE_UNKNOWN;
		pe->p.score = a->win_sum / a->win_n;
		pe->out = a->win_err;
		pe->n_out = a->win_n;
		a->win_err = NULL;
	} else {
		int32_t best = 0;

		for (size_t i = 1; i < n; i++) /* the first of equal ones */
			if (scores[i] > scores[best])
				best = (int32_t)i;

		if (a->out_values && (size_t)a->out_values != n)
			return tb_error_set(err, TB_ERR_PROTO, "the device returned %zu scores, "
					    "then %d", n, a->out_values);
		a->out_values = (int)n;
		if (n < (size_t)a->ds->num_classes)
			return tb_error_set(err, TB_ERR_FORMAT,
					    "%s gives %zu scores; %s says num_classes %d",
					    a->wl->name, n, a->ds->labels_path, a->ds->num_classes);
		pe->p.predicted = best;
		pe->p.score = scores[best];
		pe->out = malloc(n * sizeof(float));
		if (!pe->out)
			return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
		for (size_t i = 0; i < n; i++)
			pe->out[i] = (float)scores[i];
		pe->n_out = n;
	}
	a->n_pend++;
	a->scored++;
	a->done[a->cur_row] = 1;
	if (a->n_pend == FLUSH_ROWS || mono_s() - a->last_flush >= FLUSH_SECONDS)
		return flush(a, err);
	return TB_OK;
}

/* ---- the stream of inputs -------------------------------------------- */

static struct row_slot *slot_of(struct acc *a, size_t row)
{
	for (int i = 0; i < 2; i++)
		if (a->slots[i].row == row)
			return &a->slots[i];
	return NULL;
}

/* Put the next model input into tensor; *row and *k say which.  0: one
 * was made, 1: the end. */
static int next_input(struct acc *a, uint8_t *tensor, size_t *row, uint32_t *k,
		      size_t keep_row, struct tb_error *err)
{
	struct row_slot *s;
	int rc;

	for (;;) {
		while (a->next_row < a->n_rows && a->done[a->next_row]) {
			a->next_row++;
			a->next_k = 0;
		}
		if (a->next_row >= a->n_rows)
			return 1;
		s = slot_of(a, a->next_row);
		if (!s) {
			/* Read the row into the slot not holding keep_row. */
			s = a->slots[0].row == keep_row ? &a->slots[1] : &a->slots[0];
			free(s->data);
			s->data = NULL;
			s->row = SIZE_MAX;
			rc = tb_dataset_read(a->ds, a->next_row, a->wl, a->fmt, &s->data,
					     &s->len, &s->n_inputs, s->sha256, err);
			if (rc < 0)
				return rc;
			s->row = a->next_row;
		}
		if (a->next_k < s->n_inputs)
			break;
		a->next_row++;
		a->next_k = 0;
	}
	rc = tb_dataset_input(a->ds, a->next_row, a->wl, a->fmt, s->data, s->len,
			      a->next_k, tensor, err);
	if (rc < 0)
		return rc;
	*row = a->next_row;
	*k = a->next_k++;
	return 0;
}

/* ---- talking to the device ------------------------------------------- */

static int recoverable(int rc)
{
	return rc == TB_ERR_TIMEOUT || rc == TB_ERR_CLOSED || rc == TB_ERR_PROTO ||
	       rc == TB_ERR_IO || rc == TB_ERR_DEVICE;
}

static void count_wire(struct acc *a, int retire)
{
	struct tb_transport *t = a->conn ? tb_conn_transport(a->conn) : NULL;

	if (!t)
		return;
	if (retire) {
		a->out_acc += t->bytes_out - a->out0;
		a->in_acc += t->bytes_in - a->in0;
		a->out0 = a->in0 = 0;
	} else {
		a->out0 = t->bytes_out;
		a->in0 = t->bytes_in;
	}
}

static int reset_board(struct acc *a, struct tb_error *err)
{
	int rc;

	count_wire(a, 1);
	if (a->conn) {
		rc = tb_conn_recover(&a->conn, err);
		if (rc < 0) {
			tb_conn_free(a->conn);
			a->conn = NULL;
		}
	}
	if (!a->conn) {
		rc = tb_session_connect(&a->board, &a->conn_opts, &a->conn, err);
		if (rc < 0)
			return rc;
	}
	count_wire(a, 0);
	return TB_OK;
}

static struct tbp_infer one_infer(const struct acc *a)
{
	struct tbp_infer q = { .workload_id = a->dev_wl->id, .count = 1, .warmups = 0 };

	return q;
}

/* How long one inference may take before the device is taken for hung:
 * --timeout, else 30 s until one has finished, then 20 x the slowest one
 * so far plus a second (2 to 30 s), so that a request lost on the line
 * costs seconds, not minutes. */
static int timeout_ms(const struct acc *a)
{
	double ms;

	if (a->o->infer_timeout_ms > 0)
		return a->o->infer_timeout_ms;
	if (a->slowest_ms <= 0)
		return 30000;
	ms = 1000 + 20 * a->slowest_ms;
	return ms < 2000 ? 2000 : ms > 30000 ? 30000 : (int)ms;
}

/*
 * Infer the current input (on the device) and put the next one there
 * (next NULL: none): overlapped when the device allows it; after a
 * failure, the board is reset and both are sent again, plainly.
 */
static int step(struct acc *a, const uint8_t *cur, const uint8_t *next,
		struct tb_dut_result *r, double *vals, size_t cap, size_t *n,
		struct tb_error *err)
{
	struct tbp_infer q = one_infer(a);
	size_t size = a->wl->input_size;
	struct tb_error aerr;
	int rc = TB_OK;

	int pipelined = 0;

	for (int attempt = 1;; attempt++) {
		struct tb_dut *d = a->conn ? tb_conn_dut(a->conn) : NULL;

		tb_error_clear(&aerr);
		if (attempt > 1) {
			rc = tb_dut_upload(d, a->wl, cur, size, NULL, &aerr);
			if (rc < 0)
				goto failed;
		}
		if (next && attempt == 1 && a->res->pipelined) {
			pipelined = 1;
			rc = tb_dut_infer_then_upload(d, &q, timeout_ms(a), r, a->wl, next,
						      size, NULL, &aerr);
			if (rc == TB_OK)
				return inference_values(a, cur, r, vals, cap, n, err);
			goto failed;
		}
		rc = tb_dut_infer(d, &q, timeout_ms(a), r, &aerr);
		if (rc < 0)
			goto failed;
		/* The values before the next upload: r points into the driver. */
		rc = inference_values(a, cur, r, vals, cap, n, &aerr);
		if (rc < 0)
			goto failed;
		if (next) {
			rc = tb_dut_upload(d, a->wl, next, size, NULL, &aerr);
			if (rc < 0)
				goto failed;
		}
		return TB_OK;
failed:
		if (!recoverable(rc) || attempt >= a->o->max_attempts ||
		    (a->o->conn.cancel && *a->o->conn.cancel)) {
			if (err)
				*err = aerr;
			return rc;
		}
		a->res->retries++;
		/* A pipelined exchange that went wrong (a damaged reply, most
		 * likely) is first tried again plainly on the same link; a
		 * plain one that failed costs a board reset. */
		if (pipelined && attempt == 1 && rc != TB_ERR_CLOSED && rc != TB_ERR_TIMEOUT)
			continue;
		progress(a, aerr.msg);
		rc = reset_board(a, &aerr);
		if (rc < 0) {
			if (err)
				*err = aerr;
			return rc;
		}
	}
}

/* ---- set-up ----------------------------------------------------------- */

static int find_workload(struct acc *a, struct tb_error *err)
{
	static const struct { const char *alias, *name; } aliases[] = {
		{ "kws", "kws01" }, { "vww", "vww01" }, { "ad", "ad01" }, { "ic", "ic01" },
	};
	const struct tb_acc_opts *o = a->o;

	if (o->model_path) {
		int rc = tb_user_model_load(o->model_path, &a->user, err);

		if (rc < 0)
			return rc;
		a->wl = tb_user_model_workload(a->user);
		return TB_OK;
	}
	if (!o->workload)
		return tb_error_set(err, TB_ERR_ARG, "give a workload or a model");
	a->wl = tb_workload_by_name(o->workload);
	for (size_t i = 0; !a->wl && i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(o->workload, aliases[i].alias))
			a->wl = tb_workload_by_name(aliases[i].name);
	if (!a->wl)
		return tb_error_set(err, TB_ERR_NOTFOUND, "unknown workload '%s' (see "
				    "`tinybench workloads`)", o->workload);
	return TB_OK;
}

/* Every input file there and of the right size, before the board is
 * touched: an hour into a run is a bad time to find a missing file. */
static int check_files(struct acc *a, struct tb_error *err)
{
	for (size_t i = 0; i < a->n_rows; i++) {
		const struct tb_dataset_item *it = &a->ds->items[i];
		char path[8192];
		struct stat st;

		if (a->done[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", a->ds->dir, it->file);
		if (stat(path, &st) < 0)
			return tb_error_set(err, errno == ENOENT ? TB_ERR_NOTFOUND : TB_ERR_IO,
					    "%s:%u: input file %s: %s", a->ds->labels_path,
					    it->line, path, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return tb_error_set(err, TB_ERR_FORMAT, "%s:%u: input file %s is not "
					    "a regular file", a->ds->labels_path, it->line, path);
		if (a->fmt == TB_INPUT_F32_WINDOWS ? (uint64_t)st.st_size < it->window_bytes :
		    (uint64_t)st.st_size != a->wl->input_size)
			return tb_error_set(err, TB_ERR_FORMAT,
					    "%s:%u: input file %s has %lld bytes; %s takes %s%lu",
					    a->ds->labels_path, it->line, path,
					    (long long)st.st_size, a->wl->name,
					    a->fmt == TB_INPUT_F32_WINDOWS ? "windows of " :
					    "exactly ",
					    a->fmt == TB_INPUT_F32_WINDOWS ?
					    (unsigned long)it->window_bytes :
					    (unsigned long)a->wl->input_size);
	}
	return TB_OK;
}

static int setup(struct acc *a, struct tb_error *err)
{
	const struct tb_acc_opts *o = a->o;
	struct tb_acc_result *res = a->res;
	const struct tb_board *b;
	int rc;

	rc = tb_board_registry_new(&a->reg, err);
	if (rc == TB_OK)
		rc = tb_board_registry_load_default(a->reg, err);
	if (rc == TB_OK)
		rc = tb_board_registry_find(a->reg, o->board, &b, err);
	if (rc < 0)
		return rc;
	a->board = *b;
	if (!a->board.baud && o->line_baud)
		a->board.baud = o->line_baud;
	rc = find_workload(a, err);
	if (rc < 0)
		return rc;
	rc = tb_dataset_open(o->dataset, &a->ds, err);
	if (rc < 0)
		return rc;
	if (o->input_format) {
		if (tb_input_format_parse(o->input_format, &a->fmt) < 0)
			return tb_error_set(err, TB_ERR_ARG, "input format '%s': expected "
					    "tensor, uint8-image or f32-windows", o->input_format);
	} else {
		a->fmt = tb_dataset_guess_format(a->ds, a->wl);
	}
	rc = tb_dataset_check_format(a->ds, a->wl, a->fmt, err);
	if (rc < 0)
		return rc;
	a->metric = a->fmt == TB_INPUT_F32_WINDOWS ? TB_ACC_AUC : TB_ACC_TOP1;
	a->n_rows = o->limit && o->limit < a->ds->n ? o->limit : a->ds->n;
	a->done = calloc(a->n_rows, 1);
	a->tensor[0] = aligned_alloc(16, (a->wl->input_size + 15) & ~15u);
	a->tensor[1] = aligned_alloc(16, (a->wl->input_size + 15) & ~15u);
	if (!a->done || !a->tensor[0] || !a->tensor[1])
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	a->slots[0].row = a->slots[1].row = SIZE_MAX;
	snprintf(res->workload, sizeof(res->workload), "%s", a->wl->name);
	snprintf(res->board, sizeof(res->board), "%s", a->board.name);
	snprintf(res->input_format, sizeof(res->input_format), "%s",
		 tb_input_format_name(a->fmt));
	res->n_inputs = a->n_rows;
	if (o->db_path) {
		snprintf(res->db_path, sizeof(res->db_path), "%s", o->db_path);
	} else {
		rc = tb_store_default_path(res->db_path, sizeof(res->db_path), err);
		if (rc < 0)
			return rc;
	}
	return tb_store_open(res->db_path, &a->store, err);
}

static int connect_board(struct acc *a, struct tb_error *err)
{
	struct tb_conn_opts co = a->o->conn;
	const struct tbp_hello_rsp *c;
	const struct tb_dut_info *info;
	size_t n = 0;
	int rc;

	if (a->user && a->board.transport == TB_BOARD_TRANSPORT_SIM) {
		for (; co.runner_args && co.runner_args[n] && n < 32; n++)
			a->runner_args[n] = co.runner_args[n];
		a->runner_args[n++] = "--model";
		a->runner_args[n++] = a->o->model_path;
		a->runner_args[n++] = "--model-name";
		a->runner_args[n++] = tb_user_model_name(a->user);
		a->runner_args[n] = NULL;
		co.runner_args = a->runner_args;
	}
	/* A QEMU board runs the image that carries the model (built if
	 * missing); a real board the one flashed with `flash --model`. */
	if (a->user && a->board.transport == TB_BOARD_TRANSPORT_QEMU && !co.firmware) {
		co.model = a->o->model_path;
		co.model_name = tb_user_model_name(a->user);
	}
	if (!co.eembc_model)
		co.eembc_model = a->wl->name;
	a->conn_opts = co; /* for reconnects (reset_board) */
	rc = tb_session_connect(&a->board, &a->conn_opts, &a->conn, err);
	if (rc < 0)
		return rc;
	c = tb_conn_caps(a->conn);
	info = tb_dut_info(tb_conn_dut(a->conn));
	snprintf(a->res->protocol, sizeof(a->res->protocol), "%s", info->name);
	for (unsigned i = 0; i < c->n_workloads; i++)
		if (!strcmp(c->workloads[i].name, a->wl->name))
			a->dev_wl = &c->workloads[i];
	if (!a->dev_wl && a->user && info->protocol == TB_DUT_EEMBC && c->n_workloads == 1)
		a->dev_wl = &c->workloads[0];
	if (!a->dev_wl)
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "board '%s' does not run %s (it has %s%s)", a->board.name,
				    a->wl->name, c->n_workloads ? c->workloads[0].name : "none",
				    c->n_workloads > 1 ? ", ..." : "");
	if (a->dev_wl->input_size && a->dev_wl->input_size != a->wl->input_size)
		return tb_error_set(err, TB_ERR_PROTO, "the device's %s takes %lu input bytes, "
				    "the host's %lu", a->wl->name,
				    (unsigned long)a->dev_wl->input_size,
				    (unsigned long)a->wl->input_size);
	return TB_OK;
}

static char *params_json(const struct acc *a, const struct tb_dut_info *info, int64_t from)
{
	struct tb_json *j;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	j = tb_json_new(f, 0);
	tb_json_begin_object(j);
	tb_json_key_string(j, "mode", "accuracy");
	tb_json_key_string(j, "dataset", a->ds->dir);
	tb_json_key_string(j, "input_format", tb_input_format_name(a->fmt));
	tb_json_key_string(j, "metric", tb_acc_metric_name(a->metric));
	tb_json_key_int(j, "inputs", (int64_t)a->n_rows);
	if (a->o->limit)
		tb_json_key_int(j, "limit", (int64_t)a->o->limit);
	tb_json_key_string(j, "protocol", info->name);
	tb_json_key_string(j, "pipelined", a->res->pipelined ? "yes" : "no");
	if (a->o->line_baud)
		tb_json_key_int(j, "line_baud", a->o->line_baud);
	if (from)
		tb_json_key_int(j, "continues_run", from);
	tb_json_end_object(j);
	tb_json_free(j);
	fclose(f);
	return buf;
}

/* The run in the store: a new one, or the one to continue. */
static int begin(struct acc *a, struct tb_error *err)
{
	const struct tb_acc_opts *o = a->o;
	struct tb_acc_result *res = a->res;
	const struct tbp_hello_rsp *c = tb_conn_caps(a->conn);
	const struct tb_dut_info *info = tb_dut_info(tb_conn_dut(a->conn));
	struct tb_acc_info ai = { 0 };
	struct tb_run *old = NULL;
	char model_hash[2 * TBP_HASH_SIZE + 1] = "", host[256] = "", *params = NULL;
	char timing[64];
	int64_t from = 0;
	int rc;

	if (info->has_model_hash)
		hex(a->dev_wl->model_hash, TBP_HASH_SIZE, model_hash);
	if (o->resume_run_id > 0) {
		struct tb_acc_info prev;

		rc = tb_store_run_get(a->store, o->resume_run_id, &old, err);
		if (rc < 0)
			return rc;
		rc = tb_store_acc_get(a->store, old->id, &prev, err);
		if (rc < 0)
			goto out;
		if (strcmp(old->info.board, a->board.name) ||
		    strcmp(old->info.workload, a->wl->name)) {
			rc = tb_error_set(err, TB_ERR_ARG, "cannot resume run %lld: it ran %s "
					  "on board %s", (long long)old->id,
					  old->info.workload, old->info.board);
			goto out;
		}
		if (strcmp(prev.labels_sha256, a->ds->labels_sha256)) {
			rc = tb_error_set(err, TB_ERR_ARG, "cannot resume run %lld: %s is not "
					  "the y_labels.csv it scored", (long long)old->id,
					  a->ds->labels_path);
			goto out;
		}
		if (prev.n_inputs != (int64_t)a->n_rows) {
			rc = tb_error_set(err, TB_ERR_ARG, "cannot resume run %lld: it scores "
					  "%lld inputs, this one %zu (--limit)", (long long)old->id,
					  (long long)prev.n_inputs, a->n_rows);
			goto out;
		}
		if (strcmp(prev.input_format, tb_input_format_name(a->fmt))) {
			rc = tb_error_set(err, TB_ERR_ARG, "cannot resume run %lld: it read "
					  "its inputs as %s", (long long)old->id, prev.input_format);
			goto out;
		}
		if ((old->info.model_hash || model_hash[0]) &&
		    (!old->info.model_hash || strcasecmp(old->info.model_hash, model_hash))) {
			rc = tb_error_set(err, TB_ERR_ARG, "cannot resume run %lld: the "
					  "device now runs another model", (long long)old->id);
			goto out;
		}
		if (old->status == TB_RUN_RUNNING) {
			res->run_id = old->id;  /* in place */
			goto load_done;
		}
		from = old->id;
	}
	snprintf(timing, sizeof(timing), "%s", info->timing_method ? info->timing_method :
		 (c->flags & TBP_CAP_TICKS_ARE_INSNS) ? "emulator-instructions" :
		 tb_board_timing_name(a->board.timing));
	params = params_json(a, info, from);
	gethostname(host, sizeof(host) - 1);
	{
		struct tb_run_info ri = {
			.board = a->board.name,
			.board_cpu = c->cpu,
			.board_clock_hz = c->clock_hz ? (int64_t)c->clock_hz : TB_STORE_UNKNOWN,
			.timer_hz = c->timer_hz,
			.timing_method = timing,
			.workload = a->wl->name,
			.model_hash = model_hash[0] ? model_hash : NULL,
			.runner_version = c->runner_version,
			.runner_build_id = c->build_id,
			.protocol_version = info->protocol == TB_DUT_EEMBC ? TB_STORE_UNKNOWN :
					    c->proto_version,
			.harness_version = TB_VERSION,
			.harness_build_id = TB_BUILD_ID,
			.host = host,
			.port = tb_conn_port(a->conn),
			.input_source = a->ds->dir,
			.params_json = params,
			.started_at = wall_ms(),
			.firmware_sha256 = tb_conn_firmware_sha256(a->conn),
			.flash_bytes = TB_STORE_UNKNOWN,
			.static_ram_bytes = TB_STORE_UNKNOWN,
		};

		tb_conn_footprint(a->conn, &ri.flash_bytes, &ri.static_ram_bytes);
		rc = tb_store_run_begin(a->store, &ri, &res->run_id, err);
		if (rc < 0)
			goto out;
	}
	ai.run_id = res->run_id;
	snprintf(ai.dataset, sizeof(ai.dataset), "%s", a->ds->dir);
	memcpy(ai.labels_sha256, a->ds->labels_sha256, sizeof(ai.labels_sha256));
	ai.metric = a->metric;
	ai.n_inputs = (int64_t)a->n_rows;
	ai.num_classes = a->ds->num_classes;
	snprintf(ai.input_format, sizeof(ai.input_format), "%s", tb_input_format_name(a->fmt));
	rc = tb_store_acc_begin(a->store, &ai, err);
	if (rc < 0)
		goto out;
	for (int i = 0; i < o->n_tags; i++) {
		const char *t = o->tags[i], *eq = strchr(t, '=');
		char key[TB_STORE_TAG_KEY_MAX + 1];

		if (!eq || eq == t || (size_t)(eq - t) > TB_STORE_TAG_KEY_MAX) {
			rc = tb_error_set(err, TB_ERR_ARG, "tag '%s': expected key=value", t);
			goto out;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - t), t);
		rc = tb_store_tag_set(a->store, res->run_id, key, eq + 1, err);
		if (rc < 0)
			goto out;
	}
	if (from) {
		int64_t n;
		char reason[96];

		rc = tb_store_predictions_copy(a->store, from, res->run_id, &n, err);
		if (rc < 0)
			goto out;
		snprintf(reason, sizeof(reason), "continued as run %lld", (long long)res->run_id);
		{
			char from_id[24];

			snprintf(from_id, sizeof(from_id), "%lld", (long long)from);
			tb_store_tag_set(a->store, res->run_id, "accuracy.continues", from_id,
					 NULL);
		}
		if (old->status == TB_RUN_RUNNING)
			tb_store_run_finish(a->store, from, TB_RUN_INTERRUPTED, reason,
					    wall_ms(), NULL);
	}
load_done:
	rc = TB_OK;
out:
	free(params);
	tb_store_run_free(old);
	return rc;
}

static int mark_done(const struct tb_prediction *p, void *user)
{
	struct acc *a = user;

	if (p->idx >= 0 && (size_t)p->idx < a->n_rows && !a->done[p->idx]) {
		a->done[p->idx] = 1;
		a->res->n_resumed++;
	}
	return 0;
}

/* ---- the loop --------------------------------------------------------- */

static int score(struct acc *a, struct tb_error *err)
{
	double vals[4096];
	struct tb_dut_result r;
	size_t row = 0, nrow = 0, n;
	uint32_t k = 0, nk = 0;
	int have_next, cur = 0, rc;

	a->t0 = mono_s();
	a->last_flush = a->t0;
	count_wire(a, 0);
	progress(a, NULL);
	rc = next_input(a, a->tensor[cur], &row, &k, SIZE_MAX, err);
	if (rc)
		return rc < 0 ? rc : TB_OK; /* nothing left to score */
	rc = tb_dut_upload(tb_conn_dut(a->conn), a->wl, a->tensor[cur], a->wl->input_size,
			   NULL, err);
	if (rc < 0)
		return rc;
	for (;;) {
		if (a->o->conn.cancel && *a->o->conn.cancel)
			return tb_error_set(err, TB_ERR_INTERRUPTED,
					    "interrupted after %zu of %zu inputs",
					    a->res->n_resumed + a->scored, a->n_rows);
		rc = next_input(a, a->tensor[!cur], &nrow, &nk, row, err);
		if (rc < 0)
			return rc;
		have_next = rc == 0;
		rc = step(a, a->tensor[cur], have_next ? a->tensor[!cur] : NULL, &r, vals,
			  sizeof(vals) / sizeof(vals[0]), &n, err);
		if (rc < 0)
			return rc;
		a->res->inferences++;
		if (k == 0) {
			a->cur_row = row;
			a->win_sum = 0;
			a->win_n = 0;
			a->dev_us = 0;
			free(a->win_err);
			a->win_err = NULL;
			if (a->metric == TB_ACC_AUC) {
				struct row_slot *s = slot_of(a, row);

				a->win_err = calloc(s ? s->n_inputs : 1, sizeof(float));
				if (!a->win_err)
					return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
			}
		}
		a->dev_us += (double)r.total_ticks * 1e6 / tb_conn_caps(a->conn)->timer_hz;
		if ((double)r.total_ticks * 1e3 / tb_conn_caps(a->conn)->timer_hz > a->slowest_ms)
			a->slowest_ms = (double)r.total_ticks * 1e3 /
					tb_conn_caps(a->conn)->timer_hz;
		a->res->device_s += (double)r.total_ticks / tb_conn_caps(a->conn)->timer_hz;
		if (a->metric == TB_ACC_AUC) {
			a->win_err[a->win_n++] = (float)vals[0];
			a->win_sum += vals[0];
		}
		if (!have_next || nrow != row) {
			rc = finish_row(a, vals, n, err);
			if (rc < 0)
				return rc;
			progress(a, NULL);
		}
		if (!have_next)
			return TB_OK;
		row = nrow;
		k = nk;
		cur = !cur;
	}
}

static void figures(struct acc *a)
{
	struct tb_acc_result *res = a->res;

	count_wire(a, 1);
	res->wire_out = a->out_acc;
	res->wire_in = a->in_acc;
	res->n_scored = a->scored;
	res->scoring_s = a->t0 > 0 ? mono_s() - a->t0 : 0;
	res->seconds_per_input = a->scored ? res->scoring_s / (double)a->scored : NAN;
	res->bytes_per_sec = a->board.baud / 10;
	res->utilisation_out = res->bytes_per_sec && res->scoring_s > 0 ?
			       (double)res->wire_out / (res->scoring_s * res->bytes_per_sec) : NAN;
	res->utilisation_in = res->bytes_per_sec && res->scoring_s > 0 ?
			      (double)res->wire_in / (res->scoring_s * res->bytes_per_sec) : NAN;
}

static void release(struct acc *a)
{
	for (size_t i = 0; i < a->n_pend; i++)
		free(a->pend[i].out);
	for (int i = 0; i < 2; i++) {
		free(a->slots[i].data);
		free(a->tensor[i]);
	}
	free(a->win_err);
	free(a->done);
	tb_conn_free(a->conn);
	tb_store_close(a->store);
	tb_dataset_free(a->ds);
	tb_board_registry_free(a->reg);
	tb_user_model_free(a->user);
}

int tb_accuracy_run(const struct tb_acc_opts *opts, struct tb_acc_result *res,
		    struct tb_error *err)
{
	struct tb_acc_opts o = *opts;
	struct acc *a;
	struct tb_error ferr;
	double t_setup = mono_s();
	int rc;

	memset(res, 0, sizeof(*res));
	res->status = TB_RUN_FAILED;
	if (o.max_attempts <= 0)
		o.max_attempts = 3;
	a = calloc(1, sizeof(*a));
	if (!a)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	a->o = &o;
	a->res = res;
	rc = setup(a, err);
	if (rc < 0)
		goto out;
	if (o.resume_run_id > 0) {
		/* Rows already scored are skipped, and not checked again. */
		rc = tb_store_predictions_foreach(a->store, o.resume_run_id, mark_done, a, err);
		if (rc < 0)
			goto out;
	}
	rc = check_files(a, err);
	if (rc < 0)
		goto out;
	rc = connect_board(a, err);
	if (rc < 0)
		goto out;
	res->pipelined = o.pipeline != 0 &&
			 tb_dut_can_pipeline(tb_conn_dut(a->conn), tb_conn_caps(a->conn));
	rc = begin(a, err);
	if (rc < 0)
		goto out;
	res->setup_s = mono_s() - t_setup;
	rc = score(a, err);
	if (rc == TB_ERR_INTERRUPTED)
		tb_error_set(err, rc, "interrupted after %zu of %zu inputs",
			     res->n_resumed + a->scored, a->n_rows);
	figures(a);
	if (flush(a, rc < 0 ? &ferr : err) < 0 && rc == TB_OK)
		rc = err->code;
out:
	if (res->run_id && a->store) {
		if (rc == TB_OK)
			res->status = TB_RUN_OK;
		else if (rc == TB_ERR_INTERRUPTED)
			res->status = TB_RUN_INTERRUPTED;
		else
			res->status = TB_RUN_FAILED;
		if (rc < 0)
			snprintf(res->reason, sizeof(res->reason), "%s", err ? err->msg : "");
		tb_store_run_finish(a->store, res->run_id, res->status,
				    rc == TB_OK ? NULL : res->reason, wall_ms(), NULL);
		tb_accuracy_summary(a->store, res->run_id, &res->summary, NULL);
	} else if (rc < 0) {
		snprintf(res->reason, sizeof(res->reason), "%s", err ? err->msg : "");
	}
	release(a);
	free(a);
	return rc;
}

/* ----------------------------------------------------------------------
 * The metric from the database
 */
struct sum_ctx {
	size_t n, cap;
	int32_t *label, *pred;
	double *score;
	double *scores;            /* n x k, classifiers */
	size_t k;
	int k_bad;
	double dev_us;
	size_t n_dev;
};

static int collect(const struct tb_prediction *p, void *user)
{
	struct sum_ctx *c = user;
	size_t k = p->output_len / sizeof(float);

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 1024;
		int32_t *l = realloc(c->label, cap * sizeof(*l));
		int32_t *q = l ? realloc(c->pred, cap * sizeof(*q)) : NULL;
		double *s = q ? realloc(c->score, cap * sizeof(*s)) : NULL;

		if (l)
			c->label = l;
		if (q)
			c->pred = q;
		if (s)
			c->score = s;
		if (!l || !q || !s)
			return -1;
		c->cap = cap;
		if (c->k && !c->k_bad) {
			double *m = realloc(c->scores, cap * c->k * sizeof(double));

			if (!m)
				return -1;
			c->scores = m;
		}
	}
	c->label[c->n] = (int32_t)p->label;
	c->pred[c->n] = (int32_t)p->predicted;
	c->score[c->n] = p->score;
	if (p->predicted >= 0 && p->output && k) {
		if (!c->k && !c->n) {
			c->k = k;
			c->scores = malloc(c->cap * k * sizeof(double));
			if (!c->scores)
				return -1;
		}
		if (k != c->k) {
			c->k_bad = 1;
		} else if (!c->k_bad) {
			double sum = 0;
			float f;

			for (size_t j = 0; j < k; j++) {
				memcpy(&f, (const uint8_t *)p->output + 4 * j, 4);
				c->scores[c->n * k + j] = f;
				sum += f;
			}
			/* Normalised as the MLPerf Tiny runner does. */
			if (sum > 0)
				for (size_t j = 0; j < k; j++)
					c->scores[c->n * k + j] /= sum;
		}
	}
	if (isfinite(p->device_us)) {
		c->dev_us += p->device_us;
		c->n_dev++;
	}
	c->n++;
	return 0;
}

/* The MLPerf Tiny runner's "Top 1%" for one score per file: the best of
 * 100 thresholds of (precision + recall) / 2. */
static double mlperf_ad_accuracy(const double *score, const int32_t *label, size_t n)
{
	double lo = INFINITY, hi = -INFINITY, best = 0;

	for (size_t i = 0; i < n; i++) {
		lo = fmin(lo, score[i]);
		hi = fmax(hi, score[i]);
	}
	for (int t = 0; t < 100; t++) {
		double thr = lo + t * 0.01 * (hi - lo), tp = 0, fp = 0, fn = 0;

		for (size_t i = 0; i < n; i++) {
			int pos = score[i] > thr;

			if (pos && label[i])
				tp++;
			else if (pos)
				fp++;
			else if (label[i])
				fn++;
		}
		best = fmax(best, ((tp / (tp + fp + 1e-8)) + (tp / (tp + fn + 1e-8))) / 2);
	}
	return best;
}

int tb_accuracy_summary(struct tb_store *s, int64_t run_id, struct tb_acc_summary *out,
			struct tb_error *err)
{
	struct sum_ctx c = { 0 };
	double *col = NULL, *rank = NULL;
	uint8_t *pos = NULL;
	size_t *idx = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	out->top1 = out->auc = out->mlperf_ad_accuracy = out->device_us_mean = NAN;
	rc = tb_store_acc_get(s, run_id, &out->info, err);
	if (rc < 0)
		return rc;
	rc = tb_store_predictions_foreach(s, run_id, collect, &c, err);
	if (rc > 0)
		rc = tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	if (rc < 0)
		goto out;
	out->n_stored = c.n;
	if (c.n_dev)
		out->device_us_mean = c.dev_us / (double)c.n_dev;
	if (!c.n)
		goto out;
	col = malloc(c.n * sizeof(*col));
	rank = malloc(c.n * sizeof(*rank));
	pos = malloc(c.n);
	idx = malloc(c.n * sizeof(*idx));
	if (!col || !rank || !pos || !idx) {
		rc = tb_error_set(err, TB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (out->info.metric == TB_ACC_AUC) {
		for (size_t i = 0; i < c.n; i++)
			pos[i] = c.label[i] != 0;
		out->auc = tb_metric_roc_auc(c.score, pos, c.n, rank, idx);
		out->mlperf_ad_accuracy = mlperf_ad_accuracy(c.score, c.label, c.n);
	} else {
		for (size_t i = 0; i < c.n; i++)
			out->correct += c.pred[i] == c.label[i];
		out->top1 = tb_metric_top1(c.label, c.pred, c.n);
		if (c.k && !c.k_bad && c.k == (size_t)out->info.num_classes)
			out->auc = tb_metric_auc_ovr(c.scores, c.k, c.label, c.n, col, pos,
						     rank, idx);
	}
out:
	free(col);
	free(rank);
	free(pos);
	free(idx);
	free(c.label);
	free(c.pred);
	free(c.score);
	free(c.scores);
	return rc;
}

struct find_ctx {
	struct tb_store *s;
	const char *labels;
	int64_t found;
};

static int find_cb(const struct tb_run *run, void *user)
{
	struct find_ctx *f = user;
	struct tb_acc_info ai;
	int64_t n = 0;

	if (tb_store_acc_get(f->s, run->id, &ai, NULL) < 0 ||
	    strcmp(ai.labels_sha256, f->labels) ||
	    tb_store_prediction_count(f->s, run->id, &n, NULL) < 0)
		return 0;
	if (n < ai.n_inputs)
		f->found = run->id;
	else
		f->found = 0; /* a later complete run supersedes it */
	return 0;
}

int tb_accuracy_find_unfinished(struct tb_store *s, const char *board,
				const char *workload, const char *labels_sha256,
				int64_t *run_id, struct tb_error *err)
{
	struct tb_store_filter f = { .board = board, .workload = workload };
	struct find_ctx c = { .s = s, .labels = labels_sha256 };
	int rc = tb_store_runs_foreach(s, &f, find_cb, &c, err);

	*run_id = c.found;
	return rc < 0 ? rc : TB_OK;
}
