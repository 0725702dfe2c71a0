/*
 * api.c - the ppk2 driver: Nordic Power Profiler Kit II (protocol.h).
 *
 * open: ask for the metadata (0x19) and parse the calibration; a device
 * that does not answer within 2 s is not a PPK2.  configure: source-meter
 * mode at the board's voltage (the PPK2 powers the board from VOUT), or
 * ampere-meter mode when the board has its own supply.  The sample rate is
 * fixed at 100 kS/s.  The timestamp line is one of the logic inputs D0..D7
 * (default D0), sampled with every current sample.
 */
#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PPK2_WRITE_TIMEOUT_MS 1000

extern const struct tb_power_driver tb_ppk2_driver;
#define PPK2_METADATA_TIMEOUT_MS 2000

struct ppk2_dev {
	struct tb_power_dev base;      /* first */
	struct tb_ppk2_cal cal;
	uint32_t vdd_mv;
	unsigned ts_bit;
	bool configured;
	struct tb_ppk2_decoder dec;
	uint8_t buf[65536];
};

static struct ppk2_dev *to_ppk2(struct tb_power_dev *d)
{
	return (struct ppk2_dev *)d;
}

static int ppk2_send(struct ppk2_dev *p, const uint8_t *cmd, size_t n, const char *what,
		struct tb_error *err)
{
	int rc = tb_transport_write(p->base.t, cmd, n, PPK2_WRITE_TIMEOUT_MS, err);

	return rc < 0 ? tb_power_std_lost(&p->base, rc, what, err) : TB_OK;
}

static int read_metadata(struct ppk2_dev *p, struct tb_error *err)
{
	static const uint8_t op = TB_PPK2_OP_METADATA;
	char text[TB_PPK2_METADATA_MAX];
	size_t len = 0;
	int rc;

	tb_transport_discard_input(p->base.t, NULL);
	rc = ppk2_send(p, &op, 1, "the metadata request", err);
	if (rc < 0)
		return rc;
	while (!tb_ppk2_metadata_complete(text, len)) {
		if (len == sizeof(text))
			return tb_error_set(err, TB_ERR_PROTO,
					    "metadata longer than %zu bytes without END: not a PPK2?",
					    sizeof(text));
		rc = tb_transport_read(p->base.t, (uint8_t *)text + len, sizeof(text) - len,
				       PPK2_METADATA_TIMEOUT_MS, err);
		if (rc < 0)
			return tb_power_std_lost(&p->base, rc, "the metadata request", err);
		if (rc == 0)
			return tb_error_set(err, TB_ERR_TIMEOUT,
					    "no metadata within %d ms of the request (0x19)%s: is this a PPK2?",
					    PPK2_METADATA_TIMEOUT_MS, len ? " (an incomplete answer)" : "");
		len += (size_t)rc;
	}
	return tb_ppk2_parse_metadata(text, len, &p->cal, err);
}

static int ppk2_open(struct tb_transport *t, struct tb_power_dev **out,
		     struct tb_error *err)
{
	struct ppk2_dev *p = calloc(1, sizeof(*p));
	struct tb_power_info *in;
	int rc;

	if (!p) {
		tb_transport_close(t);
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	}
	p->base.t = t;
	p->base.drv = &tb_ppk2_driver;
	p->vdd_mv = 3300;
	/* A PPK2 left streaming by someone else: stop it first. */
	{
		static const uint8_t stop = TB_PPK2_OP_STOP;

		rc = ppk2_send(p, &stop, 1, "open", err);
		if (rc == TB_OK)
			rc = tb_power_std_drain(&p->base, 30, 500, NULL, err);
	}
	if (rc == TB_OK)
		rc = read_metadata(p, err);
	if (rc < 0) {
		tb_transport_close(t);
		free(p);
		return rc;
	}
	in = &p->base.info;
	snprintf(in->model, sizeof(in->model), "Nordic Power Profiler Kit II");
	if (p->cal.hw >= 0)
		snprintf(in->version, sizeof(in->version), "HW %ld", p->cal.hw);
	else
		snprintf(in->version, sizeof(in->version), "HW unknown");
	snprintf(in->detail, sizeof(in->detail),
		 "%s; R = %.2f, %.2f, %.3f, %.4f, %.5f ohm; %u calibration values",
		 p->cal.calibrated ? "calibrated" : "not calibrated (factory values)",
		 p->cal.r[0], p->cal.r[1], p->cal.r[2], p->cal.r[3], p->cal.r[4],
		 p->cal.keys);
	in->emulated = p->cal.emulated;
	in->sample_hz = TB_PPK2_SAMPLE_HZ;
	in->voltage_mv = p->vdd_mv;
	in->edges = TB_POWER_EDGES_BOTH;
	*out = &p->base;
	return TB_OK;
}

static int ppk2_configure(struct tb_power_dev *d, const struct tb_power_config *c,
			  struct tb_error *err)
{
	struct ppk2_dev *p = to_ppk2(d);
	uint32_t mv = c->voltage_mv ? c->voltage_mv : 3300;
	uint8_t cmd[8];
	int rc;

	if (c->sample_hz > 0 && c->sample_hz != TB_PPK2_SAMPLE_HZ)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "the PPK2 samples at 100000 Hz only (asked for %g Hz)",
				    c->sample_hz);
	if (mv < TB_PPK2_VDD_MIN_MV || mv > TB_PPK2_VDD_MAX_MV)
		return tb_error_set(err, TB_ERR_ARG,
				    "the PPK2 supplies %u..%u mV, not %u mV",
				    TB_PPK2_VDD_MIN_MV, TB_PPK2_VDD_MAX_MV, (unsigned)mv);
	if (c->ts_input < 0 || c->ts_input > 7)
		return tb_error_set(err, TB_ERR_ARG,
				    "PPK2 logic input D%d does not exist (D0..D7)", c->ts_input);
	rc = ppk2_send(p, cmd, tb_ppk2_cmd_mode(cmd, c->external_supply ? TB_PPK2_MODE_AMPERE :
					   TB_PPK2_MODE_SOURCE), "configure", err);
	/* In source mode VOUT is set; in ampere mode the value only enters
	 * the formula (S[r] x vdd), as in Nordic's app. */
	if (rc == TB_OK)
		rc = ppk2_send(p, cmd, tb_ppk2_cmd_set_vdd(cmd, mv), "configure", err);
	if (rc < 0)
		return rc;
	p->vdd_mv = mv;
	p->ts_bit = (unsigned)c->ts_input;
	p->configured = true;
	d->info.voltage_mv = mv;
	return TB_OK;
}

static int ppk2_target_power(struct tb_power_dev *d, bool on, struct tb_error *err)
{
	uint8_t cmd[4];

	return ppk2_send(to_ppk2(d), cmd, tb_ppk2_cmd_dut_power(cmd, on), "target power", err);
}

static int ppk2_start(struct tb_power_dev *d, const struct tb_power_sink *sink,
		      struct tb_error *err)
{
	static const uint8_t op = TB_PPK2_OP_START;
	struct ppk2_dev *p = to_ppk2(d);

	tb_ppk2_decoder_init(&p->dec, &p->cal, p->vdd_mv, p->ts_bit, false, sink);
	tb_transport_discard_input(d->t, NULL);
	return ppk2_send(p, &op, 1, "start", err);
}

static int ppk2_poll(struct tb_power_dev *d, int timeout_ms, struct tb_error *err)
{
	struct ppk2_dev *p = to_ppk2(d);
	int rc = tb_transport_read(d->t, p->buf, sizeof(p->buf), timeout_ms, err);

	if (rc < 0)
		return tb_power_std_lost(d, rc, "the acquisition", err);
	if (rc > 0) {
		tb_ppk2_decoder_feed(&p->dec, p->buf, (size_t)rc);
		tb_ppk2_decoder_flush(&p->dec);
	}
	return TB_OK;
}

static void feed_drained(struct tb_power_dev *d, const uint8_t *buf, size_t n)
{
	tb_ppk2_decoder_feed(&to_ppk2(d)->dec, buf, n);
}

static int ppk2_stop(struct tb_power_dev *d, struct tb_error *err)
{
	static const uint8_t op = TB_PPK2_OP_STOP;
	struct ppk2_dev *p = to_ppk2(d);
	int rc = ppk2_send(p, &op, 1, "stop", err);

	/* Samples in flight still count: decode until the line is quiet. */
	if (rc == TB_OK)
		rc = tb_power_std_drain(d, 50, 2000, feed_drained, err);
	tb_ppk2_decoder_flush(&p->dec);
	if (rc == TB_OK) {
		struct tb_power_event ev = { .type = TB_POWER_EV_END, .index = p->dec.index };

		p->dec.sink.event(p->dec.sink.user, &ev);
	}
	return rc;
}

static void ppk2_close(struct tb_power_dev *d)
{
	static const uint8_t op = TB_PPK2_OP_STOP;

	if (!d->gone && d->running)
		tb_transport_write(d->t, &op, 1, 200, NULL);
	tb_transport_close(d->t);
	free(to_ppk2(d));
}

static const struct tb_power_usb_id ppk2_ids[] = {
	{ TB_PPK2_VID, TB_PPK2_PID },
	{ 0, 0 },
};

const struct tb_power_driver tb_ppk2_driver = {
	.version = TB_POWER_OPS_VERSION,
	.name = "ppk2",
	.long_name = "Nordic Power Profiler Kit II",
	.usb_ids = ppk2_ids,
	.baud = 115200,        /* ignored by the device (USB CDC) */
	.default_hz = TB_PPK2_SAMPLE_HZ,
	.open = ppk2_open,
	.configure = ppk2_configure,
	.target_power = ppk2_target_power,
	.start = ppk2_start,
	.poll = ppk2_poll,
	.stop = ppk2_stop,
	.close = ppk2_close,
};
