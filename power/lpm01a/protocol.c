/*
 * protocol.c - LPM01A numbers, lines and the acquisition stream decoder
 * (protocol.h).
 */
#include "protocol.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exact powers of ten (every one of these is a double exactly). */
static const double p10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static double pow10i(int e)
{
	return e < (int)(sizeof(p10) / sizeof(p10[0])) ? p10[e] : pow(10.0, e);
}

int tb_lpm01a_parse_ascii_dec(const char *s, size_t n, double *v)
{
	unsigned m, e;

	if (n != 7 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]) || !isdigit((unsigned char)s[3]) ||
	    (s[4] != '-' && s[4] != '+') || !isdigit((unsigned char)s[5]) ||
	    !isdigit((unsigned char)s[6]))
		return -1;
	m = (unsigned)(s[0] - '0') * 1000 + (unsigned)(s[1] - '0') * 100 +
	    (unsigned)(s[2] - '0') * 10 + (unsigned)(s[3] - '0');
	e = (unsigned)(s[5] - '0') * 10 + (unsigned)(s[6] - '0');
	*v = s[4] == '-' ? m / pow10i((int)e) : m * pow10i((int)e);
	return 0;
}

double tb_lpm01a_bin_hexa(uint16_t w)
{
	/* 16^-e, exact. */
	static const double scale[16] = {
		0x1p0, 0x1p-4, 0x1p-8, 0x1p-12, 0x1p-16, 0x1p-20, 0x1p-24, 0x1p-28,
		0x1p-32, 0x1p-36, 0x1p-40, 0x1p-44, 0x1p-48, 0x1p-52, 0x1p-56, 0x1p-60,
	};

	return (double)(w & 0x0FFF) * scale[w >> 12];
}

int tb_lpm01a_parse_number(const char *s, double *v)
{
	char *end;
	double x;

	if (!strcmp(s, "inf")) {
		*v = INFINITY;
		return 0;
	}
	if (!isdigit((unsigned char)*s) && *s != '.')
		return -1;
	errno = 0;
	x = strtod(s, &end);
	if (errno || end == s)
		return -1;
	/* strtod took "2e-3" whole; the device's own forms follow. */
	switch (*end) {
	case '\0': break;
	case 'u': x *= 1e-6; end++; break;
	case 'm': x *= 1e-3; end++; break;
	case 'k': x *= 1e3; end++; break;
	case 'M': x *= 1e6; end++; break;
	case '-': case '+': {
		int sign = *end == '-' ? -1 : 1;

		if (!isdigit((unsigned char)end[1]) ||
		    (end[2] && (!isdigit((unsigned char)end[2]) || end[3])))
			return -1;
		x *= pow(10.0, sign * atoi(end + 1));
		end += strlen(end);
		break;
	}
	default:
		return -1;
	}
	if (*end || !isfinite(x))
		return -1;
	*v = x;
	return 0;
}

const char *tb_lpm01a_freq_name(double hz)
{
	static const struct {
		double hz;
		const char *name;
	} rates[] = {
		{ 100000, "100k" }, { 50000, "50k" }, { 20000, "20k" }, { 10000, "10k" },
		{ 5000, "5k" }, { 2000, "2k" }, { 1000, "1k" }, { 500, "500" },
		{ 200, "200" }, { 100, "100" }, { 50, "50" }, { 20, "20" },
		{ 10, "10" }, { 5, "5" }, { 2, "2" }, { 1, "1" },
	};

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		if (rates[i].hz == hz)
			return rates[i].name;
	return NULL;
}

static const char *skip_prompt(const char *s)
{
	static const char prompt[] = "PowerShield >";

	if (!strncmp(s, prompt, sizeof(prompt) - 1))
		s += sizeof(prompt) - 1;
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* All white-space separated tokens are ascii_dec values (and there is one). */
static bool all_samples(const char *s)
{
	bool any = false;

	while (*s) {
		const char *t;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		for (t = s; *t && *t != ' ' && *t != '\t'; t++)
			;
		double v;

		if (tb_lpm01a_parse_ascii_dec(s, (size_t)(t - s), &v) < 0)
			return false;
		any = true;
		s = t;
	}
	return any;
}

void tb_lpm01a_classify(char *line, struct tb_lpm01a_line *out)
{
	size_t n = strlen(line);
	const char *s;
	unsigned sec, ms, buff, no;
	char edge[8];

	memset(out, 0, sizeof(*out));
	while (n && isspace((unsigned char)line[n - 1]))
		line[--n] = '\0';
	s = skip_prompt(line);
	out->text = s;
	out->value = "";
	if (!*s) {
		out->kind = TB_LPM01A_LINE_EMPTY;
	} else if (!strncmp(s, "ack", 3) && (s[3] == ' ' || !s[3])) {
		const char *c = s + 3, *e;

		while (*c == ' ')
			c++;
		for (e = c; *e && *e != ' '; e++)
			;
		snprintf(out->cmd, sizeof(out->cmd), "%.*s", (int)(e - c), c);
		while (*e == ' ')
			e++;
		out->value = e;
		out->kind = TB_LPM01A_LINE_ACK;
	} else if (!strncmp(s, "Error detail:", 13)) {
		out->text = s + 13;
		while (*out->text == ' ')
			out->text++;
		out->kind = TB_LPM01A_LINE_DETAIL;
	} else if (!strncmp(s, "error", 5)) {
		out->kind = TB_LPM01A_LINE_ERROR;
	} else if (sscanf(s, "TimeStamp: %us %ums, buff %u%%", &sec, &ms, &buff) == 3) {
		out->ts_ms = (uint64_t)sec * 1000 + ms;
		out->buff_pct = buff;
		out->kind = TB_LPM01A_LINE_TIMESTAMP;
	} else if (sscanf(s, "event %u %7s", &no, edge) == 2 &&
		   (!strcmp(edge, "ris") || !strcmp(edge, "fal"))) {
		out->event_no = no;
		out->level = edge[0] == 'r';
		out->kind = TB_LPM01A_LINE_EVENT;
	} else if (!strncmp(s, "Acquisition completed", 21)) {
		out->kind = TB_LPM01A_LINE_COMPLETED;
	} else if (all_samples(s)) {
		out->kind = TB_LPM01A_LINE_SAMPLES;
	} else {
		out->kind = TB_LPM01A_LINE_OTHER;
	}
}

/* ---- stream decoder ---------------------------------------------------- */

void tb_lpm01a_decoder_init(struct tb_lpm01a_decoder *d, bool binary, double hz,
			    double volt_v, bool energy, const struct tb_power_sink *sink)
{
	memset(d, 0, sizeof(*d));
	d->binary = binary;
	d->hz = hz;
	d->volt_v = volt_v;
	d->energy = energy;
	d->sink = *sink;
	d->hi = -1;
}

static void flush_block(struct tb_lpm01a_decoder *d)
{
	if (d->n_block)
		d->sink.samples(d->sink.user, d->block_first, d->block, d->n_block);
	d->n_block = 0;
	d->block_first = d->index;
}

static inline void put(struct tb_lpm01a_decoder *d, double v)
{
	/* Energy of one period -> mean current of that period. */
	float a = (float)(d->energy ? v * d->hz / d->volt_v : v);

	d->last = a;
	d->block[d->n_block++] = a;
	d->index++;
	if (d->n_block == sizeof(d->block) / sizeof(d->block[0]))
		flush_block(d);
}

static void event(struct tb_lpm01a_decoder *d, struct tb_power_event *ev)
{
	flush_block(d);
	ev->index = d->index;
	d->sink.event(d->sink.user, ev);
}

static void fill(struct tb_lpm01a_decoder *d, uint64_t n, uint64_t span_start)
{
	struct tb_power_event ev = { .type = TB_POWER_EV_LOST, .count = n,
				     .span_start = span_start };

	for (uint64_t i = 0; i < n; i++) {
		d->block[d->n_block++] = d->last;
		d->index++;
		if (d->n_block == sizeof(d->block) / sizeof(d->block[0]))
			flush_block(d);
	}
	d->lost += n;
	event(d, &ev);
}

static void emit_text(struct tb_lpm01a_decoder *d, enum tb_power_event_type type,
		      const char *text)
{
	struct tb_power_event ev = { .type = type, .text = text };

	event(d, &ev);
}

static void flush_error(struct tb_lpm01a_decoder *d)
{
	if (!d->pending_error[0])
		return;
	emit_text(d, TB_POWER_EV_ERROR, d->pending_error);
	d->pending_error[0] = '\0';
}

/* Time since the start says how many samples there should be. */
static void timestamp(struct tb_lpm01a_decoder *d, uint64_t ms)
{
	uint64_t expect = (uint64_t)llround((double)ms * d->hz / 1000.0);
	uint64_t tol = (uint64_t)ceil(d->hz / 1000.0) + 1;

	if (d->index + tol < expect &&
	    (double)(expect - d->index) > d->hz * TB_LPM01A_MAX_FILL_S) {
		char text[128];

		snprintf(text, sizeof(text),
			 "TimeStamp %llu ms is %llu samples ahead of the stream",
			 (unsigned long long)ms, (unsigned long long)(expect - d->index));
		emit_text(d, TB_POWER_EV_ERROR, text);
	} else if (d->index + tol < expect) {
		fill(d, expect - d->index, d->ts_index);
	}
	d->ts_index = d->index;
}

static void edge(struct tb_lpm01a_decoder *d, int level)
{
	struct tb_power_event ev = { .type = TB_POWER_EV_EDGE, .level = level };

	event(d, &ev);
}

static void end(struct tb_lpm01a_decoder *d)
{
	struct tb_power_event ev = { .type = TB_POWER_EV_END };

	d->completed = true;
	event(d, &ev);
}

/* Whether a sample gives a current a float holds ("9999+99" does not):
 * one that does not is a damaged sample, not an infinite current. */
static bool sample_fits(const struct tb_lpm01a_decoder *d, double v)
{
	return fabs(d->energy ? v * d->hz / d->volt_v : v) <= FLT_MAX;
}

/* A line that is mostly samples: bad tokens are lost samples. */
static void sample_tokens(struct tb_lpm01a_decoder *d, const char *s)
{
	while (*s) {
		const char *t;
		double v;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		for (t = s; *t && *t != ' ' && *t != '\t'; t++)
			;
		if (tb_lpm01a_parse_ascii_dec(s, (size_t)(t - s), &v) == 0 && sample_fits(d, v))
			put(d, v);
		else
			fill(d, 1, d->index);
		s = t;
	}
}

static void ascii_line(struct tb_lpm01a_decoder *d, char *line)
{
	struct tb_lpm01a_line l;
	char text[TB_LPM01A_LINE_MAX + 64];

	/* The common case first: a line of samples. */
	if (isdigit((unsigned char)line[0])) {
		size_t n = strlen(line);

		while (n && isspace((unsigned char)line[n - 1]))
			line[--n] = '\0';
		if (!d->pending_error[0]) {
			sample_tokens(d, line);
			return;
		}
	}
	tb_lpm01a_classify(line, &l);
	if (l.kind != TB_LPM01A_LINE_DETAIL)
		flush_error(d);
	switch (l.kind) {
	case TB_LPM01A_LINE_SAMPLES:
		sample_tokens(d, l.text);
		break;
	case TB_LPM01A_LINE_TIMESTAMP:
		timestamp(d, l.ts_ms);
		break;
	case TB_LPM01A_LINE_EVENT:
		edge(d, l.level);
		break;
	case TB_LPM01A_LINE_ERROR:
		snprintf(d->pending_error, sizeof(d->pending_error), "%s", l.text);
		break;
	case TB_LPM01A_LINE_DETAIL:
		snprintf(text, sizeof(text), "%s%s%s", d->pending_error,
			 d->pending_error[0] ? ": " : "", l.text);
		d->pending_error[0] = '\0';
		emit_text(d, TB_POWER_EV_ERROR, text);
		break;
	case TB_LPM01A_LINE_COMPLETED:
		end(d);
		break;
	case TB_LPM01A_LINE_OTHER:
		/* Partly samples (a damaged line) or a message. */
		if (isdigit((unsigned char)l.text[0]))
			sample_tokens(d, l.text);
		else
			emit_text(d, TB_POWER_EV_INFO, l.text);
		break;
	case TB_LPM01A_LINE_ACK:
	case TB_LPM01A_LINE_EMPTY:
		break;
	}
}

static void ascii_byte(struct tb_lpm01a_decoder *d, uint8_t b)
{
	if (b == '\n') {
		d->line[d->n_line] = '\0';
		if (!d->line_overflow)
			ascii_line(d, d->line);
		else
			emit_text(d, TB_POWER_EV_ERROR, "line longer than 512 bytes in the stream");
		d->n_line = 0;
		d->line_overflow = false;
		return;
	}
	if (b == '\r')
		return;
	if (d->n_line < sizeof(d->line) - 1)
		d->line[d->n_line++] = (char)b;
	else
		d->line_overflow = true;
}

static void record(struct tb_lpm01a_decoder *d)
{
	char text[TB_LPM01A_LINE_MAX + 8];
	size_t n = d->n_rec - 2;     /* without 0xFF 0xFF */
	uint64_t ms;

	switch (d->rec) {
	case 0xF1:
		snprintf(text, sizeof(text), "error: %.*s", (int)n, (const char *)d->rec_buf);
		emit_text(d, TB_POWER_EV_ERROR, text);
		break;
	case 0xF2: {
		unsigned no;
		char e[8];

		snprintf(text, sizeof(text), "%.*s", (int)n, (const char *)d->rec_buf);
		if (sscanf(text, "event %u %7s", &no, e) == 2 &&
		    (!strcmp(e, "ris") || !strcmp(e, "fal")))
			edge(d, e[0] == 'r');
		else
			emit_text(d, TB_POWER_EV_INFO, text);
		break;
	}
	case 0xF3:
		ms = (uint64_t)d->rec_buf[0] << 24 | (uint64_t)d->rec_buf[1] << 16 |
		     (uint64_t)d->rec_buf[2] << 8 | d->rec_buf[3];
		timestamp(d, ms);
		break;
	case 0xF4:
		d->binary = false;   /* ASCII from here on */
		end(d);
		break;
	case 0xF5:
		emit_text(d, TB_POWER_EV_ERROR, "overcurrent (the target drew more than the LPM01A supplies)");
		break;
	}
}

static void record_byte(struct tb_lpm01a_decoder *d, uint8_t b)
{
	size_t fixed = d->rec == 0xF3 ? 5 : (d->rec == 0xF4 || d->rec == 0xF5) ? 0 : SIZE_MAX;

	if (d->n_rec == sizeof(d->rec_buf)) {
		emit_text(d, TB_POWER_EV_ERROR, "metadata record without its 0xFF 0xFF end");
		d->rec = 0;
		return;
	}
	d->rec_buf[d->n_rec++] = b;
	if (fixed != SIZE_MAX) {
		if (d->n_rec < fixed + 2)
			return;
		if (d->rec_buf[fixed] != 0xFF || d->rec_buf[fixed + 1] != 0xFF)
			emit_text(d, TB_POWER_EV_ERROR, "malformed metadata record in the bin_hexa stream");
		else
			record(d);
		d->rec = 0;
		return;
	}
	if (d->n_rec >= 2 && d->rec_buf[d->n_rec - 1] == 0xFF &&
	    d->rec_buf[d->n_rec - 2] == 0xFF) {
		record(d);
		d->rec = 0;
	}
}

void tb_lpm01a_decoder_feed(struct tb_lpm01a_decoder *d, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b = buf[i];

		if (d->rec) {
			record_byte(d, b);
		} else if (!d->binary) {
			ascii_byte(d, b);
		} else if (d->hi < 0) {
			d->hi = b;
		} else if (d->hi == 0xF0 && b >= 0xF1 && b <= 0xF5) {
			d->rec = b;
			d->n_rec = 0;
			d->hi = -1;
		} else {
			put(d, tb_lpm01a_bin_hexa((uint16_t)(d->hi << 8 | b)));
			d->hi = -1;
		}
	}
}

void tb_lpm01a_decoder_flush(struct tb_lpm01a_decoder *d)
{
	flush_block(d);
}

void tb_lpm01a_decoder_finish(struct tb_lpm01a_decoder *d)
{
	flush_error(d);
	flush_block(d);
}
