/*
 * api.c - the lpm01a driver: ST X-NUCLEO-LPM01A "PowerShield" (protocol.h).
 *
 * open: `powershield` and `version` identify it (a device that does not
 * answer within 2 s is not an LPM01A; 0483:5740 is ST's generic virtual
 * COM port id, shared by many boards).  configure: `htc`, then the supply
 * voltage, rate and format:
 *
 *   rate <= 5 kHz     output energy, ascii_dec (unlimited duration)
 *   rate <= 10 kHz    output energy, bin_hexa
 *   rate >  10 kHz    output current, bin_hexa (energy is limited to 10 kHz)
 *
 * default 5 kHz.  Energy output integrates in the instrument, so a current
 * spike between two samples is not missed.  The timestamp line goes to the
 * LPM01A's D7 input: `eventsrc d7 ris` reports the rising edge; the window
 * ends the device's measured duration later (TB_POWER_EDGES_RISING).
 * For EEMBC energy-mode firmware (ts_style pulses) `eventsrc d7 fal`, as
 * the MLPerf Tiny runner sets it: each timestamp pulse is one falling-edge
 * event, and the window runs from one to the next (TB_POWER_EDGES_FALLING).
 */
#include "protocol.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LPM_WRITE_TIMEOUT_MS 1000
#define LPM_REPLY_TIMEOUT_MS 2000
#define LPM_DETAIL_TIMEOUT_MS 500
#define LPM_STOP_TIMEOUT_MS 3000

extern const struct tb_power_driver tb_lpm01a_driver;

struct lpm_dev {
	struct tb_power_dev base;      /* first */
	char in[8192];                 /* bytes read, not yet a full line */
	size_t n_in;
	bool htc;
	bool binary;
	bool energy;
	double hz;
	uint32_t mv;
	struct tb_lpm01a_decoder dec;
	uint8_t buf[65536];
};

static struct lpm_dev *to_lpm(struct tb_power_dev *d)
{
	return (struct lpm_dev *)d;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next line (no "\n") into line, waiting until deadline: 1 a line,
 * 0 timeout, < 0 error. */
static int read_line(struct lpm_dev *p, int64_t deadline, char *line, size_t len,
		     const char *what, struct tb_error *err)
{
	for (;;) {
		char *nl = memchr(p->in, '\n', p->n_in);
		int64_t left;
		int rc;

		if (nl) {
			size_t n = (size_t)(nl - p->in);

			snprintf(line, len, "%.*s", (int)n, p->in);
			memmove(p->in, nl + 1, p->n_in - n - 1);
			p->n_in -= n + 1;
			return 1;
		}
		if (p->n_in == sizeof(p->in))
			p->n_in = 0;   /* no line in 8 KiB: binary junk, drop it */
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		rc = tb_transport_read(p->base.t, (uint8_t *)p->in + p->n_in,
				       sizeof(p->in) - p->n_in, (int)left, err);
		if (rc < 0)
			return tb_power_std_lost(&p->base, rc, what, err);
		p->n_in += (size_t)rc;
	}
}

/* Send one command line and wait for its ack; value (optional) gets what
 * follows the command in the ack. */
static int cmd(struct lpm_dev *p, char *value, size_t vlen, struct tb_error *err,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int cmd(struct lpm_dev *p, char *value, size_t vlen, struct tb_error *err,
	       const char *fmt, ...)
{
	char c[128], word[64], line[TB_LPM01A_LINE_MAX], error[TB_LPM01A_LINE_MAX] = "";
	struct tb_lpm01a_line l;
	int64_t deadline;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(c, sizeof(c) - 1, fmt, ap);
	va_end(ap);
	sscanf(c, "%63s", word);
	strcat(c, "\n");
	rc = tb_transport_write(p->base.t, (const uint8_t *)c, strlen(c),
				LPM_WRITE_TIMEOUT_MS, err);
	c[strlen(c) - 1] = '\0';
	if (rc < 0)
		return tb_power_std_lost(&p->base, rc, c, err);
	deadline = now_ms() + LPM_REPLY_TIMEOUT_MS;
	for (;;) {
		rc = read_line(p, deadline, line, sizeof(line), c, err);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (error[0])
				break;
			return tb_error_set(err, TB_ERR_TIMEOUT,
					    "no answer to '%s' within %d ms", c,
					    LPM_REPLY_TIMEOUT_MS);
		}
		tb_lpm01a_classify(line, &l);
		if (l.kind == TB_LPM01A_LINE_ACK && !strcmp(l.cmd, word)) {
			if (value)
				snprintf(value, vlen, "%s", l.value);
			return TB_OK;
		}
		if (l.kind == TB_LPM01A_LINE_ERROR) {
			snprintf(error, sizeof(error), "%s", l.text);
			deadline = now_ms() + LPM_DETAIL_TIMEOUT_MS;
		} else if (l.kind == TB_LPM01A_LINE_DETAIL) {
			return tb_error_set(err, TB_ERR_DEVICE, "refused '%s': %s%s%s", c,
					    error, error[0] ? "; " : "", l.text);
		}
		/* Anything else: the tail of a stream, a status line: skip. */
	}
	return tb_error_set(err, TB_ERR_DEVICE, "refused '%s': %s", c, error);
}

static int lpm_open(struct tb_transport *t, struct tb_power_dev **out,
		    struct tb_error *err)
{
	struct lpm_dev *p = calloc(1, sizeof(*p));
	struct tb_power_info *in;
	char id[128] = "", version[128] = "";
	int rc;

	if (!p) {
		tb_transport_close(t);
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	}
	p->base.t = t;
	p->base.drv = &tb_lpm01a_driver;
	p->hz = tb_lpm01a_driver.default_hz;
	p->mv = 3300;
	/* An acquisition someone left running: stop it, drop its tail. */
	rc = tb_transport_write(t, (const uint8_t *)"stop\n", 5, LPM_WRITE_TIMEOUT_MS, err);
	if (rc == TB_OK)
		rc = tb_power_std_drain(&p->base, 50, 1000, NULL, err);
	if (rc == TB_OK)
		rc = cmd(p, id, sizeof(id), err, "powershield");
	if (rc == TB_ERR_TIMEOUT)
		tb_error_prefix(err, "not an LPM01A? ");
	if (rc == TB_OK)
		rc = cmd(p, version, sizeof(version), err, "version");
	if (rc < 0) {
		tb_transport_close(t);
		free(p);
		return rc;
	}
	in = &p->base.info;
	snprintf(in->model, sizeof(in->model), "ST X-NUCLEO-LPM01A (PowerShield)");
	snprintf(in->version, sizeof(in->version), "%s", version[0] ? version : "unknown");
	snprintf(in->serial, sizeof(in->serial), "%s", id);
	snprintf(in->detail, sizeof(in->detail), "firmware %s", in->version);
	in->emulated = strstr(version, "emulat") != NULL;
	in->sample_hz = p->hz;
	in->voltage_mv = p->mv;
	in->edges = TB_POWER_EDGES_RISING;
	*out = &p->base;
	return TB_OK;
}

static int lpm_configure(struct tb_power_dev *d, const struct tb_power_config *c,
			 struct tb_error *err)
{
	struct lpm_dev *p = to_lpm(d);
	double hz = c->sample_hz > 0 ? c->sample_hz : d->drv->default_hz;
	uint32_t mv = c->voltage_mv ? c->voltage_mv : 3300;
	const char *freq = tb_lpm01a_freq_name(hz);
	bool binary = hz > TB_LPM01A_ASCII_MAX_HZ;
	bool energy = hz <= TB_LPM01A_ENERGY_MAX_HZ;
	bool pulses = c->ts_style == TB_POWER_TS_PULSES;
	int rc;

	if (!freq)
		return tb_error_set(err, TB_ERR_ARG,
				    "the LPM01A has no %g Hz rate; use 100k 50k 20k 10k 5k 2k 1k 500 200 100 50 20 10 5 2 or 1 (Hz)",
				    hz);
	if (mv < TB_LPM01A_VOLT_MIN_MV || mv > TB_LPM01A_VOLT_MAX_MV)
		return tb_error_set(err, TB_ERR_ARG, "the LPM01A supplies %u..%u mV, not %u mV",
				    TB_LPM01A_VOLT_MIN_MV, TB_LPM01A_VOLT_MAX_MV, (unsigned)mv);
	if (c->external_supply)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "the LPM01A powers the target itself; it cannot measure a board on its own supply");
	if (!p->htc) {
		rc = cmd(p, NULL, 0, err, "htc");
		if (rc < 0)
			return rc;
		p->htc = true;
	}
	if ((rc = cmd(p, NULL, 0, err, "volt %um", (unsigned)mv)) < 0 ||
	    (rc = cmd(p, NULL, 0, err, "freq %s", freq)) < 0 ||
	    (rc = cmd(p, NULL, 0, err, "acqtime 0")) < 0 ||
	    (rc = cmd(p, NULL, 0, err, "acqmode dyn")) < 0 ||
	    (rc = cmd(p, NULL, 0, err, "output %s", energy ? "energy" : "current")) < 0 ||
	    (rc = cmd(p, NULL, 0, err, "format %s", binary ? "bin_hexa" : "ascii_dec")) < 0 ||
	    (rc = cmd(p, NULL, 0, err, "trigsrc sw")) < 0 ||
	    (rc = cmd(p, NULL, 0, err, "trigdelay 0")) < 0 ||
	    (rc = cmd(p, NULL, 0, err, "eventsrc d7 %s", pulses ? "fal" : "ris")) < 0)
		return rc;
	d->info.edges = pulses ? TB_POWER_EDGES_FALLING : TB_POWER_EDGES_RISING;
	p->hz = hz;
	p->mv = mv;
	p->binary = binary;
	p->energy = energy;
	d->info.sample_hz = hz;
	d->info.voltage_mv = mv;
	return TB_OK;
}

static int lpm_target_power(struct tb_power_dev *d, bool on, struct tb_error *err)
{
	return cmd(to_lpm(d), NULL, 0, err, on ? "pwr on nostatus" : "pwr off");
}

static int lpm_start(struct tb_power_dev *d, const struct tb_power_sink *sink,
		     struct tb_error *err)
{
	struct lpm_dev *p = to_lpm(d);
	int rc;

	tb_transport_discard_input(d->t, NULL);
	p->n_in = 0;
	tb_lpm01a_decoder_init(&p->dec, p->binary, p->hz, p->mv / 1000.0, p->energy, sink);
	rc = cmd(p, NULL, 0, err, "start");
	if (rc < 0)
		return rc;
	/* What came after "ack start" is the stream. */
	tb_lpm01a_decoder_feed(&p->dec, (const uint8_t *)p->in, p->n_in);
	p->n_in = 0;
	return TB_OK;
}

static int lpm_poll(struct tb_power_dev *d, int timeout_ms, struct tb_error *err)
{
	struct lpm_dev *p = to_lpm(d);
	int rc = tb_transport_read(d->t, p->buf, sizeof(p->buf), timeout_ms, err);

	if (rc < 0)
		return tb_power_std_lost(d, rc, "the acquisition", err);
	if (rc > 0) {
		tb_lpm01a_decoder_feed(&p->dec, p->buf, (size_t)rc);
		tb_lpm01a_decoder_flush(&p->dec);
	}
	return TB_OK;
}

static int lpm_stop(struct tb_power_dev *d, struct tb_error *err)
{
	struct lpm_dev *p = to_lpm(d);
	int64_t deadline = now_ms() + LPM_STOP_TIMEOUT_MS;
	int rc = tb_transport_write(d->t, (const uint8_t *)"stop\n", 5,
				    LPM_WRITE_TIMEOUT_MS, err);

	if (rc < 0)
		return tb_power_std_lost(d, rc, "stop", err);
	while (!p->dec.completed) {
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			tb_lpm01a_decoder_finish(&p->dec);
			return tb_error_set(err, TB_ERR_TIMEOUT,
					    "no 'Acquisition completed' within %d ms of stop",
					    LPM_STOP_TIMEOUT_MS);
		}
		rc = tb_transport_read(d->t, p->buf, sizeof(p->buf), (int)left, err);
		if (rc < 0)
			return tb_power_std_lost(d, rc, "stop", err);
		tb_lpm01a_decoder_feed(&p->dec, p->buf, (size_t)rc);
	}
	tb_lpm01a_decoder_finish(&p->dec);
	return TB_OK;
}

static void lpm_close(struct tb_power_dev *d)
{
	struct lpm_dev *p = to_lpm(d);

	if (!d->gone) {
		if (d->running)
			tb_transport_write(d->t, (const uint8_t *)"stop\n", 5, 200, NULL);
		if (p->htc)
			tb_transport_write(d->t, (const uint8_t *)"hrc\n", 4, 200, NULL);
	}
	tb_transport_close(d->t);
	free(p);
}

static const struct tb_power_usb_id lpm_ids[] = {
	{ TB_LPM01A_VID, TB_LPM01A_PID },
	{ 0, 0 },
};

const struct tb_power_driver tb_lpm01a_driver = {
	.version = TB_POWER_OPS_VERSION,
	.name = "lpm01a",
	.long_name = "ST X-NUCLEO-LPM01A (PowerShield)",
	.usb_ids = lpm_ids,
	.baud = TB_LPM01A_BAUD,
	.default_hz = 5000.0,
	.open = lpm_open,
	.configure = lpm_configure,
	.target_power = lpm_target_power,
	.start = lpm_start,
	.poll = lpm_poll,
	.stop = lpm_stop,
	.close = lpm_close,
};
