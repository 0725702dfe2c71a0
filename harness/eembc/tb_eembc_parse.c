/*
 * tb_eembc_parse.c - classify one EEMBC reply line (tb_eembc.h).  Pure:
 * no I/O, no allocation, no locale (numbers are checked here and
 * converted with strtod only once their syntax is known to be plain
 * decimal, which reads the same in every locale that uses '.').
 */
#include "tb_eembc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int starts(const char *s, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	return n >= k && !memcmp(s, lit, k);
}

static int equals(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && !memcmp(s, lit, n);
}

/* Printable copy of s[0..n), cut to the text buffer. */
static void set_text(struct tb_eembc_line *o, const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k < TB_EEMBC_TEXT_MAX; i++)
		o->text[k++] = s[i] >= 0x20 && s[i] < 0x7F ? s[i] : '?';
	o->text[k] = '\0';
}

/* The reason may quote the device's bytes: made printable like any text. */
static void malformed(struct tb_eembc_line *o, const char *why)
{
	o->kind = TB_EEMBC_MALFORMED;
	set_text(o, why, strlen(why));
}

/* Decimal digits only, at most 20 of them, <= max. */
static int parse_uint(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (!n || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

/* "[text]" after a prefix: the text between the first '[' and the last ']'. */
static int bracketed(const char *s, size_t n, const char **t, size_t *tn)
{
	const char *close;

	if (!n || s[0] != '[')
		return -1;
	close = s + n - 1;
	while (close > s && *close != ']')
		close--;
	if (close == s)
		return -1;
	*t = s + 1;
	*tn = (size_t)(close - s - 1);
	return 0;
}

/* A finite plain decimal number: [+-]digits[.digits][(e|E)[+-]digits],
 * at least one digit before the exponent. */
static int parse_number(const char *s, size_t n, double *v)
{
	char buf[64];
	size_t i = 0, digits = 0;
	char *end;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	if (s[i] == '+' || s[i] == '-')
		i++;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, digits++;
	}
	if (!digits)
		return -1;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t e0;

		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		e0 = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == e0 || i - e0 > 4)
			return -1;
	}
	if (i != n)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*v = strtod(buf, &end);
	if (end != buf + n || *v != *v || *v > 1e300 || *v < -1e300)
		return -1;
	return 0;
}

static void parse_results(const char *s, size_t n, struct tb_eembc_line *o,
			  double *values, size_t max_values)
{
	const char *t;
	size_t tn, i = 0;

	o->kind = TB_EEMBC_RESULTS;
	o->n_values = 0;
	if (bracketed(s, n, &t, &tn) < 0 || t + tn + 1 != s + n) {
		malformed(o, "m-results without [...]");
		return;
	}
	while (i < tn) {
		size_t a, b;

		while (i < tn && t[i] == ' ')
			i++;
		a = i;
		while (i < tn && t[i] != ',')
			i++;
		b = i;
		while (b > a && t[b - 1] == ' ')
			b--;
		if (a == b) {
			/* An empty item: only as the last one (a trailing
			 * comma, "[0.1,0.9,]"). */
			if (i >= tn)
				break;
			malformed(o, "m-results has an empty value");
			return;
		}
		if (o->n_values >= max_values) {
			malformed(o, "m-results has too many values");
			return;
		}
		if (parse_number(t + a, b - a, &values[o->n_values]) < 0) {
			char why[96];

			snprintf(why, sizeof(why), "m-results value '%.*s' is not a number",
				 (int)(b - a > 40 ? 40 : b - a), t + a);
			malformed(o, why);
			return;
		}
		o->n_values++;
		if (i < tn)
			i++; /* the comma */
	}
}

void tb_eembc_parse_line(const char *line, size_t len, struct tb_eembc_line *o,
			 double *values, size_t max_values)
{
	const char *t;
	size_t tn;
	uint64_t v;

	memset(o, 0, sizeof(*o));
	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	/* Some firmware prefixes output with spaces. */
	while (len && line[0] == ' ')
		line++, len--;

	if (equals(line, len, "m-ready")) {
		o->kind = TB_EEMBC_READY;
	} else if (starts(line, len, "e-")) {
		o->kind = TB_EEMBC_ERROR;
		if (bracketed(line + 2, len - 2, &t, &tn) == 0)
			set_text(o, t, tn);
		else
			set_text(o, line + 2, len - 2);
	} else if (!starts(line, len, "m-")) {
		o->kind = TB_EEMBC_STRAY;
		set_text(o, line, len);
	} else if (starts(line, len, "m-name-")) {
		/* m-name-dut-[X] (MLPerf Tiny), m-name-[X] (some ports) */
		const char *b = memchr(line, '[', len);

		o->kind = TB_EEMBC_NAME;
		if (!b || bracketed(b, len - (size_t)(b - line), &t, &tn) < 0 || !tn)
			malformed(o, "m-name without [name]");
		else
			set_text(o, t, tn);
	} else if (starts(line, len, "m-profile-")) {
		o->kind = TB_EEMBC_PROFILE;
		if (bracketed(line + 10, len - 10, &t, &tn) < 0)
			malformed(o, "m-profile without [...]");
		else
			set_text(o, t, tn);
	} else if (starts(line, len, "m-model-")) {
		o->kind = TB_EEMBC_MODEL;
		if (bracketed(line + 8, len - 8, &t, &tn) < 0 || !tn)
			malformed(o, "m-model without [model]");
		else
			set_text(o, t, tn);
	} else if (starts(line, len, "m-[Expecting ")) {
		const char *p = line + 13, *end = line + len;
		size_t k = 0;

		o->kind = TB_EEMBC_EXPECTING;
		while (p + k < end && p[k] >= '0' && p[k] <= '9')
			k++;
		if (!equals(p + k, (size_t)(end - p - k), " bytes]") ||
		    parse_uint(p, k, UINT32_MAX, &v) < 0)
			malformed(o, "m-[Expecting N bytes] with a bad N");
		else
			o->number = v;
	} else if (equals(line, len, "m-load-done")) {
		o->kind = TB_EEMBC_LOAD_DONE;
	} else if (starts(line, len, "m-warmup-start-")) {
		o->kind = TB_EEMBC_WARMUP_START;
		if (parse_uint(line + 15, len - 15, UINT32_MAX, &v) < 0)
			malformed(o, "m-warmup-start with a bad count");
		else
			o->number = v;
	} else if (equals(line, len, "m-warmup-done")) {
		o->kind = TB_EEMBC_WARMUP_DONE;
	} else if (starts(line, len, "m-infer-start-")) {
		o->kind = TB_EEMBC_INFER_START;
		if (parse_uint(line + 14, len - 14, UINT32_MAX, &v) < 0)
			malformed(o, "m-infer-start with a bad count");
		else
			o->number = v;
	} else if (starts(line, len, "m-lap-us-")) {
		o->kind = TB_EEMBC_LAP_US;
		if (parse_uint(line + 9, len - 9, UINT32_MAX, &v) < 0)
			malformed(o, "m-lap-us with a value that is not a 32-bit count");
		else
			o->number = v;
	} else if (equals(line, len, "m-infer-done")) {
		o->kind = TB_EEMBC_INFER_DONE;
	} else if (starts(line, len, "m-results-")) {
		parse_results(line + 10, len - 10, o, values, max_values);
	} else if (equals(line, len, "m-init-done")) {
		o->kind = TB_EEMBC_INIT_DONE;
	} else {
		o->kind = TB_EEMBC_OTHER;
		set_text(o, line, len);
	}
}

const char *tb_eembc_kind_name(enum tb_eembc_kind k)
{
	switch (k) {
	case TB_EEMBC_READY:        return "m-ready";
	case TB_EEMBC_NAME:         return "m-name";
	case TB_EEMBC_PROFILE:      return "m-profile";
	case TB_EEMBC_MODEL:        return "m-model";
	case TB_EEMBC_EXPECTING:    return "m-[Expecting N bytes]";
	case TB_EEMBC_LOAD_DONE:    return "m-load-done";
	case TB_EEMBC_WARMUP_START: return "m-warmup-start";
	case TB_EEMBC_WARMUP_DONE:  return "m-warmup-done";
	case TB_EEMBC_INFER_START:  return "m-infer-start";
	case TB_EEMBC_LAP_US:       return "m-lap-us";
	case TB_EEMBC_INFER_DONE:   return "m-infer-done";
	case TB_EEMBC_RESULTS:      return "m-results";
	case TB_EEMBC_ERROR:        return "e-[...]";
	case TB_EEMBC_INIT_DONE:    return "m-init-done";
	case TB_EEMBC_OTHER:        return "other m- line";
	case TB_EEMBC_STRAY:        return "stray line";
	case TB_EEMBC_MALFORMED:    return "malformed line";
	}
	return "?";
}
