/*
 * tbr_eembc.c - the runner core answering the EEMBC serial protocol that
 * MLPerf Tiny firmware speaks (docs/EEMBC.md), so that hosts written for
 * MLPerf Tiny (EEMBC's EnergyRunner, mlcommons/tiny benchmark/runner) can
 * drive a tinybench runner, and so that tinybench's own EEMBC host driver
 * (harness/eembc) is tested against an implementation it does not share
 * code with.
 *
 * Commands are ASCII, terminated by '%'; every reply is "\r\n"-terminated
 * lines and every command ends with "m-ready":
 *
 *   name%            m-name-dut-[<board>]
 *   profile%         m-profile-[tinybench runner <version>], m-model-[<model>]
 *   timestamp%       m-lap-us-<u32> (energy mode: a timestamp pulse)
 *   db load N%       m-[Expecting N bytes]
 *   db <hex>%        (bytes appended) ... m-load-done after N bytes
 *   db print%        m-buffer-xx-xx-... (8 bytes a line)
 *   infer N W%       m-warmup-start-W, m-warmup-done, m-infer-start-N,
 *                    m-lap-us-<t0>, m-lap-us-<t1>, m-infer-done, m-results-[...]
 *                    (energy mode: no m-lap-us lines; the port pulses its
 *                    timestamp pin at the window's two edges instead)
 *   results%         m-results-[...]
 *   help%            the command list
 *   anything else    e-[Unknown command: <cmd>]
 *
 * Input conventions, as the MLPerf Tiny reference firmware: `db load N`
 * takes the model's input tensor (N = input size), a uint8 image for an
 * int8 model whose zero point is -128 (the reference VWW and IC firmware
 * subtract 128 themselves), or float32 values (N = 4 x input size: the AD
 * firmware quantises a 640-value window itself).  Results are the
 * dequantised output (scale x (q - zero point)) with six decimals, or for
 * an autoencoder (output the shape of its input: ad01) one value, the mean
 * squared error between the dequantised input and reconstruction.
 *
 * Differences from the reference, all on the safe side: a command longer
 * than 80 characters is refused (the reference silently truncates it), CR
 * and LF are ignored, `infer` before a complete load is an error, and the
 * two m-lap-us lines are written after the timed window (with the times
 * read at its edges), so no byte crosses the link while it is open.
 *
 * Detection (TBR_PROTOCOL_AUTO): a run of printable bytes that starts
 * after a 0x00 delimiter (or at start-up) and ends with '%' is an EEMBC
 * command when its first word is one of the commands above; it switches
 * the runner to EEMBC.  A tinybench frame can never look like one (its
 * second byte, the COBS-encoded version 0x01, is not printable), and the
 * next good tinybench frame switches back.
 *
 * Bounded and allocation-free: one 81-byte command line, replies written
 * in pieces of a small stack buffer.
 */
#include "tbr_priv.h"
#include "tb_nn.h"
#include "tb_postproc.h"

#include <string.h>

#define LINE_CHUNK 64

/* ----------------------------------------------------------------------
 * Writing replies
 */
struct out {
	struct tbr *r;
	char buf[LINE_CHUNK];
	size_t len;
	int rc;
};

static void out_flush(struct out *o)
{
	if (o->len && o->rc == 0 &&
	    o->r->port->write(o->r->port->ctx, (const uint8_t *)o->buf, o->len) < 0)
		o->rc = -1;
	o->len = 0;
}

static void out_char(struct out *o, char c)
{
	if (o->len == sizeof(o->buf))
		out_flush(o);
	o->buf[o->len++] = c;
}

static void out_str(struct out *o, const char *s)
{
	while (s && *s)
		out_char(o, *s++);
}

static void out_u64(struct out *o, uint64_t v)
{
	char d[24];
	int n = 0;

	do {
		d[n++] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v);
	while (n)
		out_char(o, d[--n]);
}

/* v with six decimals, rounded half away from zero; no libm, no stdio. */
static void out_f6(struct out *o, double v)
{
	uint64_t ip, fp;
	double a;
	char d[6];

	if (v != v) {
		out_str(o, "nan");
		return;
	}
	if (v < 0) {
		out_char(o, '-');
		v = -v;
	}
	if (v >= 1.8e13) {
		out_str(o, "inf");
		return;
	}
	a = v * 1e6 + 0.5;
	ip = (uint64_t)a;          /* micro-units */
	fp = ip % 1000000u;
	ip /= 1000000u;
	out_u64(o, ip);
	out_char(o, '.');
	for (int i = 5; i >= 0; i--) {
		d[i] = (char)('0' + fp % 10u);
		fp /= 10u;
	}
	for (int i = 0; i < 6; i++)
		out_char(o, d[i]);
}

static void out_end(struct out *o)
{
	out_str(o, "\r\n");
}

static int finish(struct out *o)
{
	out_str(o, "m-ready\r\n");
	out_flush(o);
	return o->rc;
}

/* ----------------------------------------------------------------------
 * The model and its input conventions
 */
static int is_autoencoder(const struct tb_workload *wl)
{
	return wl->output_size == wl->input_size && wl->output_size > 1 &&
	       wl->output_dtype == wl->input_dtype && wl->input_dtype == TB_DTYPE_INT8;
}

/* Does `db load n` make sense for the model?  n bytes of tensor, of a
 * uint8 image, or of float32 values (int8 models only). */
static int load_size_ok(const struct tb_workload *wl, uint32_t n)
{
	return n == wl->input_size ||
	       (wl->input_dtype == TB_DTYPE_INT8 && n / 4u == wl->input_size &&
		n % 4u == 0);
}

/* The loaded bytes become the model's input tensor, in place. */
static int convert_input(struct tbr *r)
{
	const struct tb_workload *wl = r->ee.model;
	uint8_t *in = r->cfg.input;
	uint32_t n = r->ee.db_have;

	if (n == wl->input_size) {
		if (wl->input_dtype == TB_DTYPE_INT8 && wl->input_zero_point == -128)
			for (uint32_t i = 0; i < n; i++)
				in[i] ^= 0x80u; /* uint8 image -> int8, q = u - 128 */
	} else {
		/* float32 values, little-endian as the host sent them:
		 * quantise one at a time, writing behind the reading. */
		for (uint32_t i = 0; i < wl->input_size; i++) {
			float x;
			uint8_t b[4] = { in[4 * i], in[4 * i + 1], in[4 * i + 2],
					 in[4 * i + 3] };
			int8_t q;

			memcpy(&x, b, sizeof(x));
			if (tb_nn_quantize_f32_s8(&x, 1, wl->input_scale,
						  wl->input_zero_point, &q) < 0)
				return -1;
			in[i] = (uint8_t)q;
		}
	}
	r->load_active = 0;
	r->load_total = wl->input_size;
	r->input_ready = 1;
	return 0;
}

/* ----------------------------------------------------------------------
 * Command words
 */
static int word_eq(const char *w, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	return n == k && !memcmp(w, lit, k);
}

/* Next space-separated word of *p (advanced); its length, 0 at the end. */
static size_t next_word(const char **p, const char **w)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ')
		s++;
	*w = s;
	while (s[n] && s[n] != ' ')
		n++;
	*p = s + n;
	return n;
}

/* A decimal number of at most 10 digits, <= max. */
static int parse_u32(const char *w, size_t n, uint32_t max, uint32_t *v)
{
	uint64_t x = 0;

	if (!n || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (w[i] < '0' || w[i] > '9')
			return -1;
		x = x * 10u + (uint64_t)(w[i] - '0');
	}
	if (x > max)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int known_command(const char *w, size_t n)
{
	static const char *const cmds[] = {
		"name", "profile", "timestamp", "db", "infer", "results", "help",
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (word_eq(w, n, cmds[i]))
			return 1;
	return 0;
}

/* ----------------------------------------------------------------------
 * Commands
 */
/* Microseconds of a tick count, without overflowing 64 bits. */
static uint64_t ticks_us(const struct tbr *r, uint64_t t)
{
	uint64_t hz = r->cfg.timer_hz;

	return (t / hz) * 1000000u + (t % hz) * 1000000u / hz;
}

static void out_lap(struct out *o, uint64_t us)
{
	out_str(o, "m-lap-us-");
	out_u64(o, us & 0xFFFFFFFFu); /* a u32 that wraps, as the reference */
	out_end(o);
}

static void out_results(struct out *o, struct tbr *r)
{
	const struct tb_workload *wl = r->ee.model;
	const uint8_t *q = r->cfg.output;

	out_str(o, "m-results-[");
	if (is_autoencoder(wl)) {
		out_f6(o, tb_post_mse_s8((const int8_t *)r->cfg.input, wl->input_scale,
					 wl->input_zero_point, (const int8_t *)q,
					 wl->output_scale, wl->output_zero_point,
					 wl->output_size));
	} else if (wl->output_dtype == TB_DTYPE_FLOAT32) {
		for (uint32_t i = 0; i + 4 <= wl->output_size; i += 4) {
			float f;

			memcpy(&f, q + i, sizeof(f));
			if (i)
				out_char(o, ',');
			out_f6(o, f);
		}
	} else {
		for (uint32_t i = 0; i < wl->output_size; i++) {
			int32_t v = wl->output_dtype == TB_DTYPE_INT8 ? (int8_t)q[i] : q[i];

			if (i)
				out_char(o, ',');
			out_f6(o, (double)wl->output_scale * (double)(v - wl->output_zero_point));
		}
	}
	out_str(o, "]");
	out_end(o);
}

static void cmd_db(struct out *o, struct tbr *r, const char *rest)
{
	const char *w;
	size_t n = next_word(&rest, &w);
	uint32_t size;

	if (!n) {
		out_str(o, "e-[Command 'db' requires a subcommand]\r\n");
		return;
	}
	if (word_eq(w, n, "load")) {
		n = next_word(&rest, &w);
		if (parse_u32(w, n, 0xFFFFFFFFu, &size) < 0 || size == 0) {
			out_str(o, "e-[Command 'db load' requires a number of bytes > 0]\r\n");
			return;
		}
		r->ee.db_expect = 0;
		r->input_ready = 0;
		r->load_active = 0;
		if (size > r->cfg.input_cap || !load_size_ok(r->ee.model, size)) {
			out_str(o, "e-[db load ");
			out_u64(o, size);
			out_str(o, ": model ");
			out_str(o, r->ee.model->name);
			out_str(o, " takes ");
			out_u64(o, r->ee.model->input_size);
			out_str(o, " bytes]\r\n");
			return;
		}
		r->ee.db_expect = size;
		r->ee.db_have = 0;
		out_str(o, "m-[Expecting ");
		out_u64(o, size);
		out_str(o, " bytes]\r\n");
		return;
	}
	if (word_eq(w, n, "print")) {
		uint32_t len = r->ee.db_expect ? r->ee.db_have : 0;

		for (uint32_t i = 0; i < len; i++) {
			static const char hx[] = "0123456789abcdef";

			if (i % 8u == 0)
				out_str(o, "m-buffer-");
			out_char(o, hx[r->cfg.input[i] >> 4]);
			out_char(o, hx[r->cfg.input[i] & 15]);
			if ((i + 1) % 8u == 0 || i + 1 == len)
				out_end(o);
			else
				out_char(o, '-');
		}
		return;
	}
	/* Hex data. */
	if (!r->ee.db_expect || r->ee.db_have >= r->ee.db_expect) {
		out_str(o, "e-[db: no 'db load N' is waiting for data]\r\n");
		return;
	}
	if (n & 1u) {
		out_str(o, "e-[Insufficient number of hex digits]\r\n");
		return;
	}
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(w[i]), lo = hexval(w[i + 1]);

		if (hi < 0 || lo < 0) {
			out_str(o, "e-[Invalid hex digit '");
			out_char(o, w[i]);
			out_char(o, w[i + 1]);
			out_str(o, "']\r\n");
			return;
		}
		r->cfg.input[r->ee.db_have++] = (uint8_t)(hi << 4 | lo);
		if (r->ee.db_have == r->ee.db_expect) {
			/* The rest of the digits are ignored, as the reference. */
			if (convert_input(r) < 0)
				out_str(o, "e-[input conversion failed]\r\n");
			else
				out_str(o, "m-load-done\r\n");
			return;
		}
	}
}

/* Warm-ups are untimed: their batch runs without the timestamp pin, which
 * tbr_run_batch() would otherwise drive around an empty timed part (two
 * extra timestamps in energy mode). */
static int run_warmups(struct tbr *r, const struct tb_workload *wl, uint32_t n,
		       struct tbr_batch *b)
{
	const struct tbr_port *port = r->port;
	struct tbr_port quiet = *port;
	int rc;

	quiet.timestamp = NULL;
	r->port = &quiet;
	rc = tbr_run_batch(r, wl, 0, n, 0, b);
	r->port = port;
	return rc;
}

static void cmd_infer(struct out *o, struct tbr *r, const char *rest)
{
	const struct tb_workload *wl = r->ee.model;
	uint32_t count = 1, warmups = 10; /* the reference's defaults */
	struct tbr_batch b;
	uint64_t t0;
	const char *w;
	size_t n;

	n = next_word(&rest, &w);
	if (n && (parse_u32(w, n, 0x7FFFFFFFu, &count) < 0 || count == 0)) {
		out_str(o, "e-[Inference iterations must be >0]\r\n");
		return;
	}
	n = next_word(&rest, &w);
	if (n && parse_u32(w, n, 0x7FFFFFFFu, &warmups) < 0) {
		out_str(o, "e-[Inference warmup must be >=0]\r\n");
		return;
	}
	if (!r->input_ready || r->load_total != wl->input_size) {
		out_str(o, "e-[No input: load one with db load first]\r\n");
		return;
	}
	if (r->cfg.arena_size < wl->arena_size || r->cfg.output_cap < wl->output_size) {
		out_str(o, "e-[Arena or output buffer too small for the model]\r\n");
		return;
	}
	out_str(o, "m-warmup-start-");
	out_u64(o, warmups);
	out_end(o);
	out_flush(o);
	if (warmups && (run_warmups(r, wl, warmups, &b) < 0 || b.rc < 0)) {
		out_str(o, "e-[Inference failed]\r\n");
		return;
	}
	out_str(o, "m-warmup-done\r\nm-infer-start-");
	out_u64(o, count);
	out_end(o);
	out_flush(o);
	t0 = r->port->ticks(r->port->ctx);
	if (tbr_run_batch(r, wl, count, 0, 0, &b) < 0 || b.rc < 0) {
		r->ee.have_output = 0;
		out_str(o, "e-[Inference failed]\r\n");
		return;
	}
	r->ee.have_output = 1;
	/* The two timestamps, written now that the window is closed: the
	 * first is the start of the window, the second start + its length.
	 * Energy mode: they were the pin's pulses (tbr_run_batch() drives
	 * the pin at the window's edges). */
	if (!r->cfg.eembc_energy) {
		out_lap(o, ticks_us(r, t0));
		out_lap(o, ticks_us(r, t0) + ticks_us(r, b.total));
	}
	out_str(o, "m-infer-done\r\n");
	out_results(o, r);
}

static int run_command(struct tbr *r, const char *line)
{
	struct out o = { .r = r };
	const char *rest = line, *w;
	size_t n = next_word(&rest, &w);

	if (word_eq(w, n, "name")) {
		out_str(&o, "m-name-dut-[");
		out_str(&o, r->cfg.board);
		out_str(&o, "]\r\n");
	} else if (word_eq(w, n, "profile")) {
		out_str(&o, "m-profile-[tinybench runner " TBR_VERSION "]\r\nm-model-[");
		out_str(&o, r->ee.model->name);
		out_str(&o, "]\r\n");
	} else if (word_eq(w, n, "timestamp")) {
		if (!r->cfg.eembc_energy)
			out_lap(&o, ticks_us(r, r->port->ticks(r->port->ctx)));
		else if (r->port->timestamp)
			r->port->timestamp(r->port->ctx, 1);
	} else if (word_eq(w, n, "db")) {
		cmd_db(&o, r, rest);
	} else if (word_eq(w, n, "infer")) {
		cmd_infer(&o, r, rest);
	} else if (word_eq(w, n, "results")) {
		if (r->ee.have_output)
			out_results(&o, r);
		else
			out_str(&o, "e-[No results: run infer first]\r\n");
	} else if (word_eq(w, n, "help")) {
		out_str(&o, "tinybench runner " TBR_VERSION " (EEMBC commands)\r\n"
			"name, profile, timestamp, db load N, db HH.., db print,\r\n"
			"infer N [W], results, help\r\n");
	} else {
		out_str(&o, "e-[Unknown command: ");
		for (size_t i = 0; line[i]; i++)
			out_char(&o, line[i]);
		out_str(&o, "]\r\n");
	}
	return finish(&o);
}

/* ----------------------------------------------------------------------
 * Bytes in
 */
int tbr_eembc_init(struct tbr *r)
{
	const struct tb_workload *m = r->cfg.eembc_model ? r->cfg.eembc_model :
				      r->cfg.workloads[0];

	if (!m || r->cfg.protocol > TBR_PROTOCOL_AUTO)
		return -1;
	memset(&r->ee, 0, sizeof(r->ee));
	r->ee.model = m;
	r->ee.armed = 1;
	r->ee.active = r->cfg.protocol == TBR_PROTOCOL_EEMBC;
	return 0;
}

int tbr_eembc_banner(struct tbr *r)
{
	static const char b[] = "m-init-done\r\nm-ready\r\n";

	return r->port->write(r->port->ctx, (const uint8_t *)b, sizeof(b) - 1) < 0 ? -1 : 0;
}

/* A complete line ended by '%'.  In auto mode before EEMBC was selected,
 * only a known command word selects it; anything else is ignored. */
static int end_of_command(struct tbr *r)
{
	struct tbr_eembc *e = &r->ee;
	const char *rest, *w;
	size_t n;
	int rc = 0;

	e->cmd[e->len] = '\0';
	rest = e->cmd;
	n = next_word(&rest, &w);
	if (!e->active && (e->overflow || !known_command(w, n)))
		return 0;
	e->active = 1;
	if (e->overflow) {
		struct out o = { .r = r };

		out_str(&o, e->overflow == 1 ? "e-[Command longer than 80 characters]\r\n" :
			"e-[Unknown command: not printable text]\r\n");
		rc = finish(&o);
	} else if (n) {
		rc = run_command(r, e->cmd);
	}
	return rc;
}

static void restart_line(struct tbr_eembc *e)
{
	e->len = 0;
	e->overflow = 0;
	e->armed = 1;
}

int tbr_eembc_feed(struct tbr *r, const uint8_t *data, size_t len)
{
	struct tbr_eembc *e = &r->ee;
	int forced = r->cfg.protocol == TBR_PROTOCOL_EEMBC;
	uint32_t frames;
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = data[i];

		if (c == 0x00 && !forced) {
			restart_line(e); /* a tinybench delimiter */
			continue;
		}
		if (c == '%') {
			/* Bytes before the command go to the tinybench side
			 * first, so that replies stay in order. */
			frames = r->stats.frames_in;
			if (!forced && tbr_tbp_feed(r, data + start, i + 1 - start) < 0)
				return -1;
			start = i + 1;
			if (r->stats.frames_in != frames)
				e->active = 0;
			if (e->armed && end_of_command(r) < 0)
				return -1;
			/* Once a tinybench host has spoken, a '%' inside one
			 * of its frames (the run had binary in it) does not
			 * start a command line: only the frame's closing 0x00
			 * does.  Before that, and once EEMBC is in use, a '%'
			 * also ends line noise, as in EEMBC firmware. */
			if (e->armed || e->active || forced || !r->stats.frames_in)
				restart_line(e);
			else
				e->len = 0;
			continue;
		}
		if (!e->armed || c == '\r' || c == '\n')
			continue;
		if (c < 0x20 || c > 0x7E) {
			/* Binary: in auto mode a tinybench frame, never a
			 * command (until the next delimiter); in EEMBC-only
			 * mode line noise, answered as an unknown command. */
			if (forced) {
				e->overflow = 2;
			} else {
				e->armed = 0;
				e->len = 0;
			}
			continue;
		}
		if (e->len < TBR_EEMBC_CMD_MAX)
			e->cmd[e->len++] = (char)c;
		else if (!e->overflow)
			e->overflow = 1;
	}
	if (!forced && start < len) {
		frames = r->stats.frames_in;
		if (tbr_tbp_feed(r, data + start, len - start) < 0)
			return -1;
		if (r->stats.frames_in != frames)
			e->active = 0;
	}
	return 0;
}
