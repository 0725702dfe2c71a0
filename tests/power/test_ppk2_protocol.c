/*
 * PPK2 protocol: sample words, the current formula, metadata parsing and
 * the stream decoder (power/ppk2/protocol.h).  Expected values are worked
 * out by hand / independently (see the comments), not by the code under
 * test.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ppk2/protocol.h"

/* ---- sample words ------------------------------------------------------ */

Test(ppk2, word_fields)
{
	/* adc 0x1234, range 3, counter 45, logic D0 + D7 */
	uint32_t w = 0x1234u | 3u << 14 | 45u << 18 | 0x81u << 24;
	struct tb_ppk2_word s = tb_ppk2_word_decode(w);

	cr_assert_eq(w, 0x81B4D234u);
	cr_assert_eq(s.adc, 0x1234);
	cr_assert_eq(s.range, 3);
	cr_assert_eq(s.counter, 45);
	cr_assert_eq(s.logic, 0x81);
	/* bit 17 is not part of any field */
	s = tb_ppk2_word_decode(1u << 17);
	cr_assert(s.adc == 0 && s.range == 0 && s.counter == 0 && s.logic == 0);
	s = tb_ppk2_word_decode(0xFFFFFFFFu);
	cr_assert(s.adc == 0x3FFF && s.range == 7 && s.counter == 63 && s.logic == 0xFF);
}

Test(ppk2, current_default_calibration)
{
	struct tb_ppk2_cal cal;

	tb_ppk2_cal_defaults(&cal);
	cr_assert_float_eq(cal.r[0], 1031.64, 1e-12);
	cr_assert_float_eq(cal.r[4], 0.043, 1e-12);
	cr_assert_eq(cal.gs[2], 1.0);
	cr_assert_eq(cal.o[3], 0.0);
	/* x = 4000 * 1.8/163840 / 101.65, I = x (x + 1): 432.5067 uA */
	cr_assert_float_eq(tb_ppk2_current(&cal, 1000, 1, 3300), 0.00043250674796654247, 1e-15);
}

Test(ppk2, current_with_calibration)
{
	struct tb_ppk2_cal cal;

	tb_ppk2_cal_defaults(&cal);
	cal.r[1] = 101.87;
	cal.gs[1] = 0.97;
	cal.gi[1] = 1.003;
	cal.o[1] = 39.8;
	cal.s[1] = 1.5e-8;
	/* the S term scales with vdd (3000 mV here) */
	cr_assert_float_eq(tb_ppk2_current(&cal, 2000, 1, 3000), 0.0008618154320893952, 1e-15);
}

/* ---- metadata ---------------------------------------------------------- */

static const char meta[] =
	"Calibrated: 1\n"
	"R0: 1029.12000\nR1: 101.87\nR2: 10.132\nR3: 0.9415\nR4: 0.04297\n"
	"GS0: 0.95\nGS1: 0.97\nGS2: 1.02\nGS3: 1\nGS4: 0.99\n"
	"GI0: 0.998\nGI1: 1.003\nGI2: -nan\nGI3: 1.001\nGI4: 1\n"
	"O0: 41.2\nO1: 39.8\nO2: 40.5\nO3: 38.7\nO4: 40.1\n"
	"S0: 0\nS1: 1.5e-08\nS2: 0\nS3: 0\nS4: 0\n"
	"I0: 1.2e-08\nI1: 0\nI2: -3e-08\nI3: 0\nI4: 0\n"
	"UG0: 1\nUG1: 1.0021\nUG2: 1\nUG3: 1\nUG4: 1\n"
	"HW: 36421\nmode: 2\nIA: -nan\n"
	"END\n";

Test(ppk2, metadata)
{
	struct tb_ppk2_cal cal;
	struct tb_error err = { 0 };

	cr_assert(tb_ppk2_metadata_complete(meta, sizeof(meta) - 1));
	cr_assert_eq(tb_ppk2_parse_metadata(meta, sizeof(meta) - 1, &cal, &err), 0, "%s", err.msg);
	cr_assert_eq(cal.calibrated, 1);
	cr_assert_float_eq(cal.r[0], 1029.12, 1e-12);
	cr_assert_float_eq(cal.r[4], 0.04297, 1e-12);
	cr_assert_float_eq(cal.gs[1], 0.97, 1e-12);
	cr_assert_float_eq(cal.gi[2], 1.0, 1e-12, "-nan keeps the default");
	cr_assert_float_eq(cal.o[3], 38.7, 1e-12);
	cr_assert_float_eq(cal.s[1], 1.5e-8, 1e-20);
	cr_assert_float_eq(cal.i[2], -3e-8, 1e-20);
	cr_assert_float_eq(cal.ug[1], 1.0021, 1e-12);
	cr_assert_eq(cal.hw, 36421);
	cr_assert_eq(cal.ia, -1, "IA: -nan is absent");
	cr_assert_eq(cal.keys, 34, "35 calibration values, one -nan");
	cr_assert(!cal.emulated);
}

Test(ppk2, metadata_errors)
{
	struct tb_ppk2_cal cal;
	struct tb_error err = { 0 };
	const char *no_end = "R0: 1000\nR1: 100\n";
	const char *bad = "R0: 1000\nR1: ten\nEND\n";
	const char *zero = "R2: 0\nEND\n";

	cr_assert(!tb_ppk2_metadata_complete(no_end, strlen(no_end)));
	cr_assert_eq(tb_ppk2_parse_metadata(no_end, strlen(no_end), &cal, &err), TB_ERR_PROTO);
	cr_assert(strstr(err.msg, "END"), "%s", err.msg);
	cr_assert_eq(tb_ppk2_parse_metadata(bad, strlen(bad), &cal, &err), TB_ERR_PROTO);
	cr_assert(strstr(err.msg, "R1: ten"), "%s", err.msg);
	cr_assert_eq(tb_ppk2_parse_metadata(zero, strlen(zero), &cal, &err), TB_ERR_PROTO);
	cr_assert(strstr(err.msg, "R2"), "%s", err.msg);
	/* CRLF lines and an emulator marker */
	const char *crlf = "R0: 999.5\r\nEMU: tinybench\r\nEND\r\n";

	cr_assert_eq(tb_ppk2_parse_metadata(crlf, strlen(crlf), &cal, &err), 0, "%s", err.msg);
	cr_assert_float_eq(cal.r[0], 999.5, 1e-12);
	cr_assert(cal.emulated);
}

/* ---- the stream decoder ------------------------------------------------ */

struct got {
	float s[4096];
	uint64_t n;
	struct tb_power_event ev[32];
	int n_ev;
};

static void got_samples(void *user, uint64_t first, const float *a, size_t n)
{
	struct got *g = user;

	cr_assert_eq(first, g->n, "samples in order");
	memcpy(g->s + g->n, a, n * sizeof(*a));
	g->n += n;
}

static void got_event(void *user, const struct tb_power_event *ev)
{
	struct got *g = user;

	g->ev[g->n_ev] = *ev;
	g->ev[g->n_ev].text = NULL;
	g->n_ev++;
}

static void put_word(uint8_t *b, uint32_t w)
{
	b[0] = (uint8_t)w;
	b[1] = (uint8_t)(w >> 8);
	b[2] = (uint8_t)(w >> 16);
	b[3] = (uint8_t)(w >> 24);
}

Test(ppk2, decoder_counter_gaps_and_edges)
{
	static struct got g;
	struct tb_power_sink sink = { got_samples, got_event, &g };
	struct tb_ppk2_decoder *d = calloc(1, sizeof(*d));
	struct tb_ppk2_cal cal;
	uint8_t buf[4 * 100];
	size_t n = 0;
	/* counters: 60..63, 0..3 (wrap, no gap), then 7 (3 lost), 8, 9 */
	unsigned counters[] = { 60, 61, 62, 63, 0, 1, 2, 3, 7, 8, 9 };
	/* line (logic D2): low, high from the 4th sample to the 9th */
	int line[] = { 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0 };

	tb_ppk2_cal_defaults(&cal);
	tb_ppk2_decoder_init(d, &cal, 3300, 2, false, &sink);
	for (size_t i = 0; i < 11; i++, n += 4)
		put_word(buf + n, 1000u | 1u << 14 | counters[i] << 18 |
			 (line[i] ? 1u << (24 + 2) : 0) | 1u << 24 /* D0: noise */);
	/* feed in awkward pieces: 1, 6, 3 bytes, then the rest */
	tb_ppk2_decoder_feed(d, buf, 1);
	tb_ppk2_decoder_feed(d, buf + 1, 6);
	tb_ppk2_decoder_feed(d, buf + 7, 3);
	tb_ppk2_decoder_feed(d, buf + 10, n - 10);
	tb_ppk2_decoder_flush(d);
	cr_assert_eq(g.n, 14, "11 samples + 3 fillers, got %llu", (unsigned long long)g.n);
	cr_assert_eq(d->lost, 3);
	cr_assert_eq(g.n_ev, 3);
	cr_assert_eq(g.ev[0].type, TB_POWER_EV_EDGE);
	cr_assert_eq(g.ev[0].level, 1);
	cr_assert_eq(g.ev[0].index, 3);
	cr_assert_eq(g.ev[1].type, TB_POWER_EV_LOST);
	cr_assert_eq(g.ev[1].count, 3);
	cr_assert_eq(g.ev[1].index, 11, "after the fillers at 8..10");
	cr_assert_eq(g.ev[1].span_start, 8);
	cr_assert_eq(g.ev[2].type, TB_POWER_EV_EDGE);
	cr_assert_eq(g.ev[2].level, 0);
	cr_assert_eq(g.ev[2].index, 12, "sample 9 of the device is index 12");
	for (uint64_t i = 0; i < g.n; i++)
		cr_assert_float_eq(g.s[i], 0.00043250674796654247, 1e-9);
	free(d);
}

Test(ppk2, decoder_bad_range_and_initial_high)
{
	static struct got g;
	struct tb_power_sink sink = { got_samples, got_event, &g };
	struct tb_ppk2_decoder *d = calloc(1, sizeof(*d));
	struct tb_ppk2_cal cal;
	uint8_t buf[12];

	tb_ppk2_cal_defaults(&cal);
	tb_ppk2_decoder_init(d, &cal, 3300, 0, false, &sink);
	put_word(buf, 10u | 0u << 18 | 1u << 24);       /* high from the start */
	put_word(buf + 4, 10u | 6u << 14 | 1u << 18);   /* range 6: not a sample */
	put_word(buf + 8, 10u | 2u << 18 | 1u << 24);
	tb_ppk2_decoder_feed(d, buf, sizeof(buf));
	tb_ppk2_decoder_flush(d);
	cr_assert_eq(g.n, 3);
	cr_assert_eq(d->bad_words, 1);
	cr_assert_eq(g.ev[0].type, TB_POWER_EV_EDGE, "a line high at the start is reported");
	cr_assert_eq(g.ev[0].index, 0);
	cr_assert_eq(g.ev[1].type, TB_POWER_EV_LOST);
	free(d);
}

Test(ppk2, commands)
{
	uint8_t b[8];

	cr_assert_eq(tb_ppk2_cmd_set_vdd(b, 3300), 3);
	cr_assert(b[0] == 0x0D && b[1] == 0x0C && b[2] == 0xE4);
	cr_assert_eq(tb_ppk2_cmd_mode(b, TB_PPK2_MODE_SOURCE), 2);
	cr_assert(b[0] == 0x11 && b[1] == 2);
	cr_assert_eq(tb_ppk2_cmd_dut_power(b, true), 2);
	cr_assert(b[0] == 0x0C && b[1] == 1);
	/* 1.5f = 0x3FC00000, little-endian */
	cr_assert_eq(tb_ppk2_cmd_user_gain(b, 2, 1.5f), 6);
	cr_assert(b[0] == 0x25 && b[1] == 2 && b[2] == 0 && b[3] == 0 && b[4] == 0xC0 &&
		  b[5] == 0x3F);
}
