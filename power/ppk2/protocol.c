/*
 * protocol.c - PPK2 metadata, sample words, current formula and the stream
 * decoder (protocol.h).
 */
#include "protocol.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const double default_r[TB_PPK2_RANGES] = { 1031.64, 101.65, 10.15, 0.94, 0.043 };

void tb_ppk2_cal_defaults(struct tb_ppk2_cal *cal)
{
	memset(cal, 0, sizeof(*cal));
	for (int i = 0; i < TB_PPK2_RANGES; i++) {
		cal->r[i] = default_r[i];
		cal->gs[i] = 1.0;
		cal->gi[i] = 1.0;
		cal->ug[i] = 1.0;
	}
	cal->hw = -1;
	cal->ia = -1;
}

/* The array a calibration key names ("GS3" -> cal->gs, 3), or NULL. */
static double *cal_field(struct tb_ppk2_cal *cal, const char *key)
{
	static const struct {
		const char *prefix;
		size_t off;
	} fields[] = {
		{ "GS", offsetof(struct tb_ppk2_cal, gs) },
		{ "GI", offsetof(struct tb_ppk2_cal, gi) },
		{ "UG", offsetof(struct tb_ppk2_cal, ug) },
		{ "R", offsetof(struct tb_ppk2_cal, r) },
		{ "O", offsetof(struct tb_ppk2_cal, o) },
		{ "S", offsetof(struct tb_ppk2_cal, s) },
		{ "I", offsetof(struct tb_ppk2_cal, i) },
	};

	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		size_t n = strlen(fields[f].prefix);

		if (!strncmp(key, fields[f].prefix, n) && key[n] >= '0' &&
		    key[n] < '0' + TB_PPK2_RANGES && key[n + 1] == '\0')
			return (double *)((char *)cal + fields[f].off) + (key[n] - '0');
	}
	return NULL;
}

static bool is_end_line(const char *s, size_t n)
{
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	return n == 3 && !memcmp(s, "END", 3);
}

bool tb_ppk2_metadata_complete(const char *text, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (text[i] != '\n')
			continue;
		if (is_end_line(text + start, i - start))
			return true;
		start = i + 1;
	}
	return false;
}

/* A number, or "-nan"/"nan" (absent: *absent = true). */
static int parse_value(const char *v, double *out, bool *absent)
{
	char *end;

	*absent = false;
	if (!strcasecmp(v, "-nan") || !strcasecmp(v, "nan")) {
		*absent = true;
		return 0;
	}
	errno = 0;
	*out = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(*out))
		return -1;
	return 0;
}

int tb_ppk2_parse_metadata(const char *text, size_t len, struct tb_ppk2_cal *cal,
			   struct tb_error *err)
{
	char line[256];
	size_t pos = 0;
	bool end = false;

	tb_ppk2_cal_defaults(cal);
	while (pos < len && !end) {
		size_t n = 0;
		char *colon, *key, *val;
		double v;
		bool absent;
		double *field;

		while (pos < len && text[pos] != '\n') {
			if (n < sizeof(line) - 1)
				line[n++] = text[pos];
			pos++;
		}
		pos++;
		line[n] = '\0';
		while (n && isspace((unsigned char)line[n - 1]))
			line[--n] = '\0';
		key = line;
		while (isspace((unsigned char)*key))
			key++;
		if (!*key)
			continue;
		if (!strcmp(key, "END")) {
			end = true;
			break;
		}
		colon = strchr(key, ':');
		if (!colon)
			continue;   /* not a key: value line: ignore */
		*colon = '\0';
		val = colon + 1;
		while (isspace((unsigned char)*val))
			val++;
		for (char *k = colon; k > key && isspace((unsigned char)k[-1]); k--)
			k[-1] = '\0';
		field = cal_field(cal, key);
		if (field || !strcmp(key, "Calibrated") || !strcmp(key, "HW") ||
		    !strcmp(key, "IA")) {
			if (parse_value(val, &v, &absent) < 0)
				return tb_error_set(err, TB_ERR_PROTO,
						    "PPK2 metadata: '%s: %s' is not a number",
						    key, val);
			if (absent)
				continue;
			if (field) {
				*field = v;
				cal->keys++;
			} else if (!strcmp(key, "Calibrated")) {
				cal->calibrated = v != 0;
			} else if (!strcmp(key, "HW")) {
				cal->hw = (long)v;
			} else {
				cal->ia = (long)v;
			}
		} else if (!strcmp(key, "EMU")) {
			cal->emulated = true;
		}
	}
	if (!end)
		return tb_error_set(err, TB_ERR_PROTO,
				    "PPK2 metadata: no END line in %zu bytes", len);
	for (int r = 0; r < TB_PPK2_RANGES; r++)
		if (!(cal->r[r] > 0))
			return tb_error_set(err, TB_ERR_PROTO,
					    "PPK2 metadata: R%d = %g ohm is not a resistance",
					    r, cal->r[r]);
	return TB_OK;
}

double tb_ppk2_current(const struct tb_ppk2_cal *cal, unsigned adc, unsigned range,
		       double vdd_mv)
{
	double x = (4.0 * adc - cal->o[range]) * (1.8 / 163840.0) / cal->r[range];

	return cal->ug[range] * (x * (cal->gs[range] * x + cal->gi[range]) +
				 cal->s[range] * vdd_mv / 1000.0 + cal->i[range]);
}

size_t tb_ppk2_cmd_set_vdd(uint8_t *buf, unsigned mv)
{
	buf[0] = TB_PPK2_OP_SET_VDD;
	buf[1] = (uint8_t)(mv >> 8);
	buf[2] = (uint8_t)(mv & 0xFF);
	return 3;
}

size_t tb_ppk2_cmd_mode(uint8_t *buf, int mode)
{
	buf[0] = TB_PPK2_OP_MODE;
	buf[1] = (uint8_t)mode;
	return 2;
}

size_t tb_ppk2_cmd_dut_power(uint8_t *buf, bool on)
{
	buf[0] = TB_PPK2_OP_DUT_POWER;
	buf[1] = on ? 1 : 0;
	return 2;
}

size_t tb_ppk2_cmd_user_gain(uint8_t *buf, unsigned range, float gain)
{
	uint32_t bits;

	memcpy(&bits, &gain, sizeof(bits));
	buf[0] = TB_PPK2_OP_USER_GAINS;
	buf[1] = (uint8_t)range;
	for (int i = 0; i < 4; i++)
		buf[2 + i] = (uint8_t)(bits >> (8 * i));
	return 6;
}

/* ---- stream decoder ---------------------------------------------------- */

void tb_ppk2_decoder_init(struct tb_ppk2_decoder *d, const struct tb_ppk2_cal *cal,
			  double vdd_mv, unsigned ts_bit, bool spike_filter,
			  const struct tb_power_sink *sink)
{
	memset(d, 0, sizeof(*d));
	d->cal = *cal;
	d->vdd_mv = vdd_mv;
	d->ts_bit = ts_bit & 7;
	d->spike_filter = spike_filter;
	d->sink = *sink;
	d->level = -1;
	for (int r = 0; r < TB_PPK2_RANGES; r++) {
		d->k[r] = (1.8 / 163840.0) / cal->r[r];
		d->c0[r] = cal->s[r] * vdd_mv / 1000.0 + cal->i[r];
	}
}

void tb_ppk2_decoder_flush(struct tb_ppk2_decoder *d)
{
	if (d->n_block)
		d->sink.samples(d->sink.user, d->block_first, d->block, d->n_block);
	d->n_block = 0;
	d->block_first = d->index;
}

static inline void put(struct tb_ppk2_decoder *d, float v)
{
	d->block[d->n_block++] = v;
	d->index++;
	if (d->n_block == TB_PPK2_BLOCK)
		tb_ppk2_decoder_flush(d);
}

static void lost(struct tb_ppk2_decoder *d, unsigned n)
{
	struct tb_power_event ev = { .type = TB_POWER_EV_LOST, .count = n };

	for (unsigned i = 0; i < n; i++)
		put(d, d->last);
	tb_ppk2_decoder_flush(d);
	d->lost += n;
	ev.index = d->index;
	ev.span_start = d->index - n;
	d->sink.event(d->sink.user, &ev);
}

static void edge(struct tb_ppk2_decoder *d, int level)
{
	struct tb_power_event ev = { .type = TB_POWER_EV_EDGE, .level = level };

	tb_ppk2_decoder_flush(d);
	ev.index = d->index;
	d->sink.event(d->sink.user, &ev);
}

static void word(struct tb_ppk2_decoder *d, uint32_t w)
{
	unsigned adc = w & 0x3FFF, range = (w >> 14) & 7, counter = (w >> 18) & 63;
	int bit = (int)((w >> (24 + d->ts_bit)) & 1);
	double x, cur;

	if (range >= TB_PPK2_RANGES) {
		/* Not a sample: count it lost (a misaligned stream shows up
		 * as many of these and counter gaps). */
		d->bad_words++;
		lost(d, 1);
		/* It took one sample's slot: the counter moves on by one. */
		if (d->have_prev)
			d->prev_counter = (uint8_t)((d->prev_counter + 1) & 63);
		return;
	}
	if (d->have_prev) {
		unsigned gap = (counter - ((d->prev_counter + 1u) & 63u)) & 63u;

		if (gap)
			lost(d, gap);
	}
	d->have_prev = true;
	d->prev_counter = (uint8_t)counter;
	if (bit != d->level) {
		if (d->level >= 0 || bit)
			edge(d, bit);
		d->level = bit;
	}
	x = (4.0 * adc - d->cal.o[range]) * d->k[range];
	cur = d->cal.ug[range] * (x * (d->cal.gs[range] * x + d->cal.gi[range]) +
				  d->c0[range]);
	if (d->spike_filter) {
		if (d->index && range != d->prev_range) {
			d->spike_left = 3;
			d->spike_avg = d->last;
		}
		if (d->spike_left) {
			d->spike_avg = 0.18 * cur + 0.82 * d->spike_avg;
			cur = d->spike_avg;
			d->spike_left--;
		}
	}
	d->prev_range = (uint8_t)range;
	d->last = (float)cur;
	put(d, d->last);
}

void tb_ppk2_decoder_feed(struct tb_ppk2_decoder *d, const uint8_t *buf, size_t n)
{
	size_t i = 0;

	while (d->n_partial && i < n) {
		d->partial[d->n_partial++] = buf[i++];
		if (d->n_partial == 4) {
			word(d, (uint32_t)d->partial[0] | (uint32_t)d->partial[1] << 8 |
			     (uint32_t)d->partial[2] << 16 | (uint32_t)d->partial[3] << 24);
			d->n_partial = 0;
		}
	}
	for (; i + 4 <= n; i += 4)
		word(d, (uint32_t)buf[i] | (uint32_t)buf[i + 1] << 8 |
		     (uint32_t)buf[i + 2] << 16 | (uint32_t)buf[i + 3] << 24);
	while (i < n)
		d->partial[d->n_partial++] = buf[i++];
}
