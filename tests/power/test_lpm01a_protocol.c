/*
 * LPM01A protocol: ascii_dec and bin_hexa numbers, device numbers, line
 * classes and the acquisition stream decoder (power/lpm01a/protocol.h).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lpm01a/protocol.h"

Test(lpm01a, ascii_dec)
{
	double v;

	cr_assert_eq(tb_lpm01a_parse_ascii_dec("6409-07", 7, &v), 0);
	cr_assert_eq(v, 6409.0 / 1e7, "6409-07 = 640.9 uA");
	cr_assert_eq(tb_lpm01a_parse_ascii_dec("1234+02", 7, &v), 0);
	cr_assert_eq(v, 123400.0);
	cr_assert_eq(tb_lpm01a_parse_ascii_dec("0000+00", 7, &v), 0);
	cr_assert_eq(v, 0.0);
	cr_assert_eq(tb_lpm01a_parse_ascii_dec("2880-09", 7, &v), 0);
	cr_assert_float_eq(v, 2.88e-6, 1e-20);
	cr_assert_eq(tb_lpm01a_parse_ascii_dec("640907", 6, &v), -1);
	cr_assert_eq(tb_lpm01a_parse_ascii_dec("6409-7 ", 7, &v), -1);
	cr_assert_eq(tb_lpm01a_parse_ascii_dec("64a9-07", 7, &v), -1);
	cr_assert_eq(tb_lpm01a_parse_ascii_dec("6409*07", 7, &v), -1);
	cr_assert_eq(tb_lpm01a_parse_ascii_dec("6409-071", 8, &v), -1);
}

Test(lpm01a, bin_hexa)
{
	/* 0x52A0: exponent 5, mantissa 0x2A0 = 672: 672 / 16^5 A */
	cr_assert_eq(tb_lpm01a_bin_hexa(0x52A0), 0.000640869140625);
	cr_assert_eq(tb_lpm01a_bin_hexa(0x0FFF), 4095.0);
	cr_assert_eq(tb_lpm01a_bin_hexa(0x0000), 0.0);
	cr_assert_eq(tb_lpm01a_bin_hexa(0xE001), ldexp(1.0, -56));
}

Test(lpm01a, numbers)
{
	double v;

	cr_assert_eq(tb_lpm01a_parse_number("3000m", &v), 0);
	cr_assert_float_eq(v, 3.0, 1e-12);
	cr_assert_eq(tb_lpm01a_parse_number("2-3", &v), 0);
	cr_assert_float_eq(v, 0.002, 1e-15);
	cr_assert_eq(tb_lpm01a_parse_number("2m", &v), 0);
	cr_assert_float_eq(v, 0.002, 1e-15);
	cr_assert_eq(tb_lpm01a_parse_number("100k", &v), 0);
	cr_assert_eq(v, 100000.0);
	cr_assert_eq(tb_lpm01a_parse_number("5u", &v), 0);
	cr_assert_float_eq(v, 5e-6, 1e-18);
	cr_assert_eq(tb_lpm01a_parse_number("1+02", &v), 0);
	cr_assert_eq(v, 100.0);
	cr_assert_eq(tb_lpm01a_parse_number("inf", &v), 0);
	cr_assert(isinf(v));
	cr_assert_eq(tb_lpm01a_parse_number("3000x", &v), -1);
	cr_assert_eq(tb_lpm01a_parse_number("", &v), -1);
	cr_assert_eq(tb_lpm01a_parse_number("2-", &v), -1);
	cr_assert_str_eq(tb_lpm01a_freq_name(100000), "100k");
	cr_assert_str_eq(tb_lpm01a_freq_name(500), "500");
	cr_assert_null(tb_lpm01a_freq_name(3000));
}

Test(lpm01a, lines)
{
	struct tb_lpm01a_line l;
	char a[] = "ack volt 3000m\r\n", b[] = "PowerShield > ack htc", c[] = "error volt 9000m";
	char d[] = "Error detail: voltage out of range", e[] = "TimeStamp: 012s 250ms, buff 03%";
	char f[] = "event 07 ris", g[] = "Acquisition completed", h[] = "6409-07 6410-07";
	char i[] = "6409-07 hello", j[] = "";

	tb_lpm01a_classify(a, &l);
	cr_assert_eq(l.kind, TB_LPM01A_LINE_ACK);
	cr_assert_str_eq(l.cmd, "volt");
	cr_assert_str_eq(l.value, "3000m");
	tb_lpm01a_classify(b, &l);
	cr_assert_eq(l.kind, TB_LPM01A_LINE_ACK, "prompt skipped");
	cr_assert_str_eq(l.cmd, "htc");
	cr_assert_str_eq(l.value, "");
	tb_lpm01a_classify(c, &l);
	cr_assert_eq(l.kind, TB_LPM01A_LINE_ERROR);
	tb_lpm01a_classify(d, &l);
	cr_assert_eq(l.kind, TB_LPM01A_LINE_DETAIL);
	cr_assert_str_eq(l.text, "voltage out of range");
	tb_lpm01a_classify(e, &l);
	cr_assert_eq(l.kind, TB_LPM01A_LINE_TIMESTAMP);
	cr_assert_eq(l.ts_ms, 12250);
	cr_assert_eq(l.buff_pct, 3);
	tb_lpm01a_classify(f, &l);
	cr_assert_eq(l.kind, TB_LPM01A_LINE_EVENT);
	cr_assert_eq(l.event_no, 7);
	cr_assert_eq(l.level, 1);
	tb_lpm01a_classify(g, &l);
	cr_assert_eq(l.kind, TB_LPM01A_LINE_COMPLETED);
	tb_lpm01a_classify(h, &l);
	cr_assert_eq(l.kind, TB_LPM01A_LINE_SAMPLES);
	tb_lpm01a_classify(i, &l);
	cr_assert_eq(l.kind, TB_LPM01A_LINE_OTHER);
	tb_lpm01a_classify(j, &l);
	cr_assert_eq(l.kind, TB_LPM01A_LINE_EMPTY);
}

/* ---- the decoder ------------------------------------------------------- */

struct got {
	double s[70000];
	uint64_t n;
	struct tb_power_event ev[32];
	char text[32][128];
	int n_ev;
};

static void got_samples(void *user, uint64_t first, const float *a, size_t n)
{
	struct got *g = user;

	cr_assert_eq(first, g->n, "samples in order");
	for (size_t i = 0; i < n; i++)
		g->s[g->n + i] = a[i];
	g->n += n;
}

static void got_event(void *user, const struct tb_power_event *ev)
{
	struct got *g = user;

	g->ev[g->n_ev] = *ev;
	snprintf(g->text[g->n_ev], sizeof(g->text[0]), "%s", ev->text ? ev->text : "");
	g->n_ev++;
}

static void feed(struct tb_lpm01a_decoder *d, const char *s)
{
	/* one byte at a time: no assumption about how reads split */
	for (; *s; s++)
		tb_lpm01a_decoder_feed(d, (const uint8_t *)s, 1);
}

Test(lpm01a, decoder_ascii)
{
	static struct got g;
	static struct tb_lpm01a_decoder d;
	struct tb_power_sink sink = { got_samples, got_event, &g };

	/* 1 kHz, current: the first second has 1000 samples, but only 990
	 * arrive before the TimeStamp: 10 lost. */
	tb_lpm01a_decoder_init(&d, false, 1000, 3.3, false, &sink);
	feed(&d, "6409-07 6410-07\r\nevent 00 ris\r\n");
	for (int i = 0; i < 988; i++)
		feed(&d, "1000-06\r\n");
	feed(&d, "TimeStamp: 001s 000ms, buff 00%\r\n");
	feed(&d, "1000-0x\r\n");              /* damaged: one lost sample */
	feed(&d, "error: acquisition buffer overflow\r\nError detail: host too slow\r\n");
	feed(&d, "ack stop\r\nAcquisition completed\r\n");
	tb_lpm01a_decoder_finish(&d);
	cr_assert_eq(g.n, 1001);
	cr_assert_eq(g.s[0], (float)6.409e-4);
	cr_assert_eq(g.s[1], (float)6.41e-4);
	cr_assert_eq(g.s[2], (float)1e-3);
	cr_assert_eq(g.n_ev, 5);
	cr_assert_eq(g.ev[0].type, TB_POWER_EV_EDGE);
	cr_assert_eq(g.ev[0].index, 2);
	cr_assert_eq(g.ev[1].type, TB_POWER_EV_LOST);
	cr_assert_eq(g.ev[1].count, 10);
	cr_assert_eq(g.ev[1].span_start, 0);
	cr_assert_eq(g.ev[1].index, 1000);
	cr_assert_eq(g.ev[2].type, TB_POWER_EV_LOST);
	cr_assert_eq(g.ev[2].count, 1);
	cr_assert_eq(g.ev[3].type, TB_POWER_EV_ERROR);
	cr_assert_str_eq(g.text[3], "error: acquisition buffer overflow: host too slow");
	cr_assert_eq(g.ev[4].type, TB_POWER_EV_END);
	cr_assert(d.completed);
}

Test(lpm01a, decoder_energy_output)
{
	static struct got g;
	static struct tb_lpm01a_decoder d;
	struct tb_power_sink sink = { got_samples, got_event, &g };

	/* 5 kHz, 3.0 V: 6.0e-6 J in one period is 6e-6 * 5000 / 3 = 10 mA */
	tb_lpm01a_decoder_init(&d, false, 5000, 3.0, true, &sink);
	feed(&d, "6000-09 6000-09 6000-09\r\n");
	tb_lpm01a_decoder_flush(&d);
	cr_assert_eq(g.n, 3);
	cr_assert_float_eq(g.s[2], 0.01, 1e-9);
}

Test(lpm01a, decoder_bin_hexa)
{
	static struct got g;
	static struct tb_lpm01a_decoder d;
	struct tb_power_sink sink = { got_samples, got_event, &g };
	static const uint8_t stream[] = {
		0x52, 0xA0,                                   /* 640.9 uA */
		0xF0, 0xF2, 'e', 'v', 'e', 'n', 't', ' ', '0', '1', ' ', 'r', 'i', 's',
		0xFF, 0xFF,                                   /* edge */
		0x52, 0xA0,
		0xF0, 0xF3, 0x00, 0x00, 0xFF, 0xFF, 0x07, 0xFF, 0xFF, /* 65535 ms */
		0xF0, 0xF1, 'b', 'a', 'd', 0xFF, 0xFF,        /* error text */
		0xF0, 0xF5, 0xFF, 0xFF,                       /* overcurrent */
		0x1F, 0xFF,                                   /* 4095 x 16^-1 */
		0xF0, 0xF4, 0xFF, 0xFF,                       /* end: ASCII again */
		'a', 'c', 'k', ' ', 's', 't', 'o', 'p', '\r', '\n',
	};

	tb_lpm01a_decoder_init(&d, true, 1000, 3.3, false, &sink);
	/* split everywhere: byte by byte */
	for (size_t i = 0; i < sizeof(stream); i++)
		tb_lpm01a_decoder_feed(&d, stream + i, 1);
	tb_lpm01a_decoder_finish(&d);
	/* at 1 kHz, 65.535 s means 65535 samples: 65533 were lost */
	cr_assert_eq(g.ev[0].type, TB_POWER_EV_EDGE);
	cr_assert_eq(g.ev[0].index, 1);
	cr_assert_eq(g.ev[1].type, TB_POWER_EV_LOST);
	cr_assert_eq(g.ev[1].count, 65535 - 2);
	cr_assert_eq(g.ev[2].type, TB_POWER_EV_ERROR);
	cr_assert_str_eq(g.text[2], "error: bad");
	cr_assert_eq(g.ev[3].type, TB_POWER_EV_ERROR);
	cr_assert(strstr(g.text[3], "overcurrent"));
	cr_assert_eq(g.ev[4].type, TB_POWER_EV_END);
	cr_assert_eq(g.n, 65536);
	cr_assert_eq(g.s[0], (float)0.000640869140625);
	cr_assert_eq(g.s[65535], (float)(4095.0 / 16));
	cr_assert(!d.binary && d.completed);
}
