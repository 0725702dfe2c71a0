/*
 * fuzz_power.c - the energy monitors' byte streams: the PPK2's metadata
 * text and sample words, the LPM01A's ASCII lines and bin_hexa records.
 * The sink checks what the decoders promise: samples numbered without
 * gaps, events at the index of the samples delivered before them, every
 * lost sample counted.
 */
#include "fuzz.h"

#include <math.h>
#include <string.h>

#include "lpm01a/protocol.h"
#include "ppk2/protocol.h"

struct sink_state {
	uint64_t next;          /* index the next samples must start at */
	uint64_t lost;
	unsigned events[8];
	int check_finite;
};

static void on_samples(void *user, uint64_t first, const float *amps, size_t n)
{
	struct sink_state *s = user;

	FZ_CHECK(first == s->next, "samples start at %llu, expected %llu",
		 (unsigned long long)first, (unsigned long long)s->next);
	FZ_CHECK(n > 0, "an empty block of samples");
	if (s->check_finite)
		for (size_t i = 0; i < n; i++)
			FZ_CHECK(isfinite(amps[i]), "sample %llu is not finite",
				 (unsigned long long)(first + i));
	s->next += n;
}

static void on_event(void *user, const struct tb_power_event *ev)
{
	struct sink_state *s = user;

	FZ_CHECK(ev->type >= TB_POWER_EV_EDGE && ev->type <= TB_POWER_EV_END, "event type %d",
		 ev->type);
	FZ_CHECK(ev->index == s->next, "event at %llu, %llu samples delivered",
		 (unsigned long long)ev->index, (unsigned long long)s->next);
	s->events[ev->type]++;
	switch (ev->type) {
	case TB_POWER_EV_EDGE:
		FZ_CHECK(ev->level == 0 || ev->level == 1, "edge to level %d", ev->level);
		break;
	case TB_POWER_EV_LOST:
		FZ_CHECK(ev->count >= 1 && ev->count <= ev->index &&
			 ev->span_start <= ev->index - ev->count,
			 "lost %llu at %llu from %llu", (unsigned long long)ev->count,
			 (unsigned long long)ev->index, (unsigned long long)ev->span_start);
		s->lost += ev->count;
		break;
	case TB_POWER_EV_ERROR:
	case TB_POWER_EV_INFO:
		FZ_CHECK(ev->text && fz_terminated(ev->text, 4096), "event without a text");
		break;
	default:
		break;
	}
}

/* At the end: the decoder's counts are what the sink saw. */
static void check_totals(const struct sink_state *s, uint64_t index, uint64_t lost)
{
	FZ_CHECK(s->next == index, "decoder at %llu, %llu samples delivered",
		 (unsigned long long)index, (unsigned long long)s->next);
	FZ_CHECK(s->lost == lost, "decoder lost %llu, events say %llu",
		 (unsigned long long)lost, (unsigned long long)s->lost);
}

static const char *events_label(const char *prefix, const struct sink_state *s)
{
	return fz_label("%s%s%s%s", prefix, s->events[TB_POWER_EV_LOST] ? " lost" : "",
			s->events[TB_POWER_EV_ERROR] ? " error" : "",
			s->events[TB_POWER_EV_END] ? " end" : "");
}

/* ---------------------------------------------------------------- ppk2 */

/*
 * Input: flags u8 (bits 0-2 timestamp bit, 3 spike filter, 4-7 supply
 * voltage), metadata length u16, the metadata text, then the sample
 * stream.
 */
static const char *run_ppk2(const uint8_t *data, size_t len)
{
	static struct tb_ppk2_decoder d;
	struct tb_ppk2_cal cal;
	struct tb_error err = { 0 };
	struct sink_state s = { 0 };
	struct tb_power_sink sink = { on_samples, on_event, &s };
	size_t mlen, pos;
	int rc;

	if (len < 3)
		return "short";
	mlen = (size_t)(data[1] | data[2] << 8);
	if (mlen > len - 3)
		mlen = len - 3;
	rc = tb_ppk2_parse_metadata((const char *)data + 3, mlen, &cal, &err);
	FZ_CHECK(rc == 0 || (rc == TB_ERR_PROTO && err.msg[0]), "metadata: %d '%s'", rc,
		 err.msg);
	if (rc == 0) {
		for (int r = 0; r < TB_PPK2_RANGES; r++)
			FZ_CHECK(cal.r[r] > 0 && isfinite(cal.r[r]) && isfinite(cal.o[r]) &&
				 isfinite(cal.gs[r]) && isfinite(cal.gi[r]) &&
				 isfinite(cal.s[r]) && isfinite(cal.i[r]) && isfinite(cal.ug[r]),
				 "calibration of range %d accepted out of bounds", r);
	} else {
		tb_ppk2_cal_defaults(&cal);
	}
	/* Currents are finite with the defaults; crafted calibrations may
	 * legitimately overflow a float. */
	s.check_finite = rc != 0;
	tb_ppk2_decoder_init(&d, &cal, TB_PPK2_VDD_MIN_MV + (data[0] >> 4) * 280,
			     data[0] & 7, data[0] & 8, &sink);
	for (pos = 3 + mlen; pos < len;) {
		size_t n = 1 + fz_rand() % 600;

		if (n > len - pos)
			n = len - pos;
		tb_ppk2_decoder_feed(&d, data + pos, n);
		pos += n;
	}
	tb_ppk2_decoder_flush(&d);
	check_totals(&s, d.index, d.lost);
	FZ_CHECK(d.index <= (len - 3 - mlen) / 4 * 64, "%llu samples from %zu bytes",
		 (unsigned long long)d.index, len - 3 - mlen);
	return events_label(rc ? "meta:bad" : "meta:ok", &s);
}

static void seeds_ppk2(struct fz_corpus *c)
{
	static const char meta[] =
		"Calibrated: 1\nR0: 1031.64\nR1: 101.65\nR2: 10.15\nR3: 0.94\nR4: 0.043\n"
		"GS0: 1\nGS1: 1\nGS2: 1\nGS3: 1\nGS4: 1\nGI0: 1\nGI1: 1\nGI2: 1\nGI3: 1\n"
		"GI4: 1\nO0: 0\nO1: 0\nO2: 0\nO3: 0\nO4: 0\nS0: 0\nS1: -nan\nI0: 0\n"
		"UG0: 1\nUG1: 1\nHW: 9173\nIA: 56\nmode: 2\nEMU: 1\nEND\n";
	uint8_t buf[3 + sizeof(meta) + 4 * 300];
	size_t n = 0, m = sizeof(meta) - 1;

	buf[n++] = 0x70;
	buf[n++] = (uint8_t)m;
	buf[n++] = (uint8_t)(m >> 8);
	memcpy(buf + n, meta, m);
	n += m;
	for (uint32_t i = 0; i < 300; i++) {
		/* adc, range, counter, and the timestamp bit going up and down */
		uint32_t w = (1000 + i % 97) | (i / 60 % 5) << 14 | (i & 63) << 18 |
			     (uint32_t)(i / 50 % 2) << 24;

		for (int k = 0; k < 4; k++)
			buf[n++] = (uint8_t)(w >> (8 * k));
	}
	fz_seed(c, buf, n);
	buf[0] = 0x08;
	buf[1] = buf[2] = 0;
	fz_seed(c, buf, n);
}

static const char *const ppk2_dict[] = {
	"\n", "END\n", ": ", "R0", "R4", "GS2", "GI3", "O1", "S4", "I0", "UG2", "Calibrated",
	"HW", "IA", "EMU", "-nan", "nan", "1e308", "-1e308", "0", "inf", "1e-320",
	NULL
};

const struct fz_target fz_ppk2 = {
	.name = "ppk2",
	.what = "power/ppk2/protocol.c: PPK2 metadata and the sample stream",
	.ci_iterations = 15000,
	.seeds = seeds_ppk2,
	.run = run_ppk2,
	.dict = ppk2_dict,
};

/* -------------------------------------------------------------- lpm01a */

/*
 * Input: flags u8 (bit 0 bin_hexa, bit 1 output energy, bits 4-7 the
 * rate), then the stream.  Each line of it also goes through
 * tb_lpm01a_classify() and an ACK's value through the number parser.
 */
static void classify_lines(const uint8_t *p, size_t n)
{
	char line[TB_LPM01A_LINE_MAX];
	struct tb_lpm01a_line l;
	size_t a = 0;

	for (size_t i = 0; i <= n; i++) {
		size_t k;
		double v;

		if (i < n && p[i] != '\n')
			continue;
		k = i - a < sizeof(line) - 1 ? i - a : sizeof(line) - 1;
		memcpy(line, p + a, k);
		line[k] = '\0';
		a = i + 1;
		tb_lpm01a_classify(line, &l);
		FZ_CHECK(l.kind <= TB_LPM01A_LINE_OTHER, "line kind %d", l.kind);
		FZ_CHECK(l.text >= line && l.text <= line + k && l.value, "line text outside");
		FZ_CHECK(fz_terminated(l.cmd, sizeof(l.cmd)), "ack command unterminated");
		if (l.kind == TB_LPM01A_LINE_EVENT)
			FZ_CHECK(l.level == 0 || l.level == 1, "event level %d", l.level);
		if (l.kind == TB_LPM01A_LINE_ACK && tb_lpm01a_parse_number(l.value, &v) == 0)
			FZ_CHECK(isfinite(v) || (v == INFINITY && !strcmp(l.value, "inf")),
				 "'%s' read as %g", l.value, v);
	}
}

static const char *run_lpm01a(const uint8_t *data, size_t len)
{
	static const double rates[] = { 100000, 50000, 20000, 10000, 5000, 1000, 100, 1 };
	static struct tb_lpm01a_decoder d;
	struct sink_state s = { .check_finite = 1 };
	struct tb_power_sink sink = { on_samples, on_event, &s };
	uint8_t flags = len ? data[0] : 0;
	size_t pos;

	data += len ? 1 : 0;
	len -= len ? 1 : 0;
	classify_lines(data, len);
	tb_lpm01a_decoder_init(&d, flags & 1, rates[(flags >> 4) % 8], 3.3, flags & 2, &sink);
	for (pos = 0; pos < len;) {
		size_t n = 1 + fz_rand() % 300;

		if (n > len - pos)
			n = len - pos;
		tb_lpm01a_decoder_feed(&d, data + pos, n);
		pos += n;
	}
	tb_lpm01a_decoder_finish(&d);
	check_totals(&s, d.index, d.lost);
	FZ_CHECK(!d.completed || s.events[TB_POWER_EV_END], "completed without an END event");
	return events_label(flags & 1 ? "bin" : "ascii", &s);
}

static void seeds_lpm01a(struct fz_corpus *c)
{
	static const char ascii[] =
		"\x40"
		"PowerShield > ack start\r\n"
		"6409-07 6410-07 6411-07\r\n6409-07\r\n"
		"TimeStamp: 000s 001ms, buff 00%\r\n"
		"event 01 ris\r\n"
		"6409-06 6409-06 6409-06 6409-06 6409-06 6409-06\r\n"
		"event 02 fal\r\n"
		"error\r\nError detail: overflow\r\n"
		"TimeStamp: 000s 002ms, buff 03%\r\n"
		"Summary: something\r\n"
		"Acquisition completed\r\n"
		"PowerShield > ack freq 100k\r\n"
		"ack volt 3300m\r\n";
	uint8_t bin[512];
	size_t n = 0;

	fz_seed(c, ascii, sizeof(ascii) - 1);
	bin[n++] = 0x41;
	for (int i = 0; i < 40; i++) {
		bin[n++] = 0x52;
		bin[n++] = (uint8_t)(0xA0 + i);
	}
	/* an info record (an edge), a timestamp, an error text, the end */
	memcpy(bin + n, "\xF0\xF2" "event 01 ris" "\xFF\xFF", 16);
	n += 16;
	memcpy(bin + n, "\xF0\xF3\x00\x00\x00\x01\x00\xFF\xFF", 9);
	n += 9;
	for (int i = 0; i < 40; i++) {
		bin[n++] = 0x41;
		bin[n++] = (uint8_t)i;
	}
	memcpy(bin + n, "\xF0\xF1" "bad" "\xFF\xFF\xF0\xF5\xFF\xFF\xF0\xF4\xFF\xFF", 15);
	n += 15;
	memcpy(bin + n, "Acquisition completed\r\nack stop\r\n", 33);
	n += 33;
	fz_seed(c, bin, n);
}

static const char *const lpm01a_dict[] = {
	"\r\n", "PowerShield > ", "ack ", "error", "Error detail: ", "TimeStamp: ", "s ",
	"ms, buff ", "%", "event ", " ris", " fal", "Acquisition completed", "6409-07",
	"9999+99", "0000-00", "\xF0\xF1", "\xF0\xF2", "\xF0\xF3", "\xF0\xF4", "\xF0\xF5",
	"\xFF\xFF", "inf", "3000m", "2-3", "100k", "1.8", "5u",
	NULL
};

const struct fz_target fz_lpm01a = {
	.name = "lpm01a",
	.what = "power/lpm01a/protocol.c: LPM01A lines, ascii_dec and bin_hexa streams",
	.ci_iterations = 15000,
	.seeds = seeds_lpm01a,
	.run = run_lpm01a,
	.dict = lpm01a_dict,
};
