/*
 * tb_dut.h - the device under test, whatever protocol it speaks.
 *
 * A session talks to a board through a small table of operations, one
 * driver per device protocol (as libsigrok's drivers): the tinybench
 * protocol (tb_link.h, this file's tb_dut_from_link) and the EEMBC serial
 * protocol of MLPerf Tiny firmware (harness/eembc/tb_eembc.h,
 * tb_eembc_dut_new).  The board file's `protocol` key chooses one, or
 * `auto` probes (docs/BOARDS.md, docs/EEMBC.md).
 *
 * What a driver cannot report it leaves at zero and says so in
 * struct tb_dut_info: an EEMBC device reports no memory figures and no
 * model digest, and returns its result as float32 values rather than the
 * raw output tensor.
 *
 * Ownership: a struct tb_dut borrows its transport (and, for tinybench,
 * its link); tb_dut_free() (NULL accepted) frees the driver's own state
 * only.  Pointers in a struct tb_dut_result point into the driver and stay
 * valid until the next call on it.  One thread at a time.
 */
#ifndef TB_DUT_H
#define TB_DUT_H

#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"
#include "tb_link.h"
#include "tb_workload.h"
#include "tbp.h"

/* Device protocols.  Stored in board files by name: append only. */
enum tb_dut_protocol {
	TB_DUT_TINYBENCH = 1,
	TB_DUT_EEMBC     = 2,
};

/* How the device returns an inference's result. */
enum tb_dut_output {
	TB_DUT_OUTPUT_TENSOR = 0, /* the raw output tensor (tinybench) */
	TB_DUT_OUTPUT_F32    = 1, /* float32 little-endian values (EEMBC
				   * m-results: dequantised scores, or one
				   * value per window for an autoencoder) */
};

/* What a driver knows that HELLO_RSP does not say. */
struct tb_dut_info {
	enum tb_dut_protocol protocol;
	const char *name;          /* "tinybench", "eembc" */
	const char *timing_method; /* NULL: from the board file / caps;
				    * "eembc-lap-us", "eembc-gpio-timestamps" */
	int timed_by_monitor;      /* infer reports no time: the timed window
				    * is the energy monitor's (EEMBC energy
				    * mode; the session needs one) */
	int has_memory;            /* INFER reports stack and arena peaks */
	int has_model_hash;        /* caps.workloads[].model_hash is real */
	enum tb_dut_output output;
};

/* One batch of inferences. */
struct tb_dut_result {
	uint32_t count;            /* timed inferences, as asked */
	uint64_t total_ticks;      /* at caps.timer_hz */
	uint64_t min_ticks;        /* 0 if not timed per inference */
	uint64_t max_ticks;
	uint32_t stack_used;       /* 0 unless info.has_memory */
	uint32_t stack_size;
	uint32_t arena_used;
	uint32_t arena_size;
	uint16_t output_len;       /* bytes at output */
	const uint8_t *output;     /* see info.output */
};

#define TB_DUT_OPS_VERSION 1

struct tb_dut_ops {
	int version;               /* TB_DUT_OPS_VERSION */
	/* Identify the device: fills and validates *caps (for a driver
	 * without a HELLO, what it learnt: the model as the one workload,
	 * timer_hz of its timestamps). */
	int (*identify)(void *ctx, struct tbp_hello_rsp *caps, struct tb_error *err);
	/* Put an input on the device: the input tensor of wl (wl->input_size
	 * bytes); a driver converts it to what its devices take. */
	int (*upload)(void *ctx, const struct tb_workload *wl, const void *data,
		      size_t len, struct tb_upload_stats *st, struct tb_error *err);
	/* W untimed warm-ups, then N timed inferences on the uploaded input. */
	int (*infer)(void *ctx, const struct tbp_infer *req, int timeout_ms,
		     struct tb_dut_result *res, struct tb_error *err);
	/* Optional (NULL: the driver cannot): infer as above, and send the
	 * next input right behind the INFER so that its upload overlaps the
	 * inference (docs/PROTOCOL.md, "Pipelined uploads").  On success the
	 * next input is on the device.  On failure neither may be: the
	 * caller uploads again. */
	int (*infer_then_upload)(void *ctx, const struct tbp_infer *req, int timeout_ms,
				 struct tb_dut_result *res, const struct tb_workload *wl,
				 const void *next, size_t next_len,
				 struct tb_upload_stats *st, struct tb_error *err);
	/* Counters (retries, damaged frames) over the driver's life. */
	void (*get_stats)(void *ctx, struct tb_link_stats *st);
	void (*free)(void *ctx);
};

struct tb_dut {
	const struct tb_dut_ops *ops;
	void *ctx;
	struct tb_dut_info info;
};

/* The tinybench protocol on a link the caller keeps (and frees after). */
int tb_dut_from_link(struct tb_link *link, struct tb_dut **out, struct tb_error *err);

/* The operations, with the NULL checks. */
int tb_dut_identify(struct tb_dut *d, struct tbp_hello_rsp *caps, struct tb_error *err);
int tb_dut_upload(struct tb_dut *d, const struct tb_workload *wl, const void *data,
		  size_t len, struct tb_upload_stats *st, struct tb_error *err);
int tb_dut_infer(struct tb_dut *d, const struct tbp_infer *req, int timeout_ms,
		 struct tb_dut_result *res, struct tb_error *err);
/* TB_ERR_UNSUPPORTED when the driver has no infer_then_upload. */
int tb_dut_infer_then_upload(struct tb_dut *d, const struct tbp_infer *req,
			     int timeout_ms, struct tb_dut_result *res,
			     const struct tb_workload *wl, const void *next,
			     size_t next_len, struct tb_upload_stats *st,
			     struct tb_error *err);
int tb_dut_can_pipeline(const struct tb_dut *d, const struct tbp_hello_rsp *caps);
void tb_dut_get_stats(const struct tb_dut *d, struct tb_link_stats *st);
const struct tb_dut_info *tb_dut_info(const struct tb_dut *d);
void tb_dut_free(struct tb_dut *d);

/* "tinybench", "eembc"; "?" otherwise. */
const char *tb_dut_protocol_name(enum tb_dut_protocol p);

#endif
