/*
 * The runner core's EEMBC mode (device_runner/core/tbr_eembc.c) behind the
 * fake port: the command set, and auto mode telling EEMBC commands from
 * tinybench frames -- including frames whose bytes happen to hold '%'
 * and command words.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_device.h"

static struct fake_dev dev;
static uint16_t seq = 7;

static void start(uint8_t protocol)
{
	struct tbr_config c;

	fake_dev_init(&dev);
	c = dev.r.cfg;
	c.protocol = protocol;
	cr_assert_eq(tbr_init(&dev.r, &c, &dev.port), 0);
	dev.out_len = 0;
}

static void text(const char *s)
{
	cr_assert_eq(tbr_feed(&dev.r, (const uint8_t *)s, strlen(s)), 0);
}

/* What the device wrote since the last call, as a string. */
static const char *said(void)
{
	static char buf[sizeof(dev.out) + 1];

	memcpy(buf, dev.out, dev.out_len);
	buf[dev.out_len] = '\0';
	dev.out_len = 0;
	return buf;
}

static void frame(uint8_t type, const void *payload, size_t len)
{
	uint8_t wire[TBP_WIRE_MAX(TBP_MAX_PAYLOAD)];
	size_t n = tbp_frame_encode(type, ++seq, payload, len, wire, sizeof(wire));

	cr_assert_gt(n, 0u);
	cr_assert_eq(tbr_feed(&dev.r, wire, n), 0);
}

static int hello_answered(void)
{
	uint8_t p[16], buf[TBP_WIRE_MAX(TBP_MAX_PAYLOAD)];
	struct tbp_hello h = { TBP_VERSION };
	struct tbp_decoder d;
	struct tbp_frame f;
	size_t used;
	int rc;

	/* As the host: a lone 0x00 ends whatever the device holds. */
	cr_assert_eq(tbr_feed(&dev.r, (const uint8_t *)"", 1), 0);
	frame(TBP_HELLO, p, tbp_hello_encode(&h, p, sizeof(p)));
	tbp_decoder_init(&d, buf, sizeof(buf));
	rc = tbp_decoder_feed(&d, dev.out, dev.out_len, &used, &f);
	dev.out_len = 0;
	return rc == 1 && f.type == TBP_HELLO_RSP && f.seq == seq;
}

Test(tbr_eembc, the_command_set)
{
	char cmd[80];
	const char *s;

	start(TBR_PROTOCOL_EEMBC);
	text("name%");
	cr_expect_str_eq(said(), "m-name-dut-[fake]\r\nm-ready\r\n");
	text("profile%");
	cr_expect_str_eq(said(), "m-profile-[tinybench runner " TBR_VERSION "]\r\n"
			 "m-model-[toy]\r\nm-ready\r\n");
	text("infer 1 0%");
	cr_expect(strstr(said(), "e-[No input"), "infer before a load");
	text("db load 490%");
	cr_expect_str_eq(said(), "m-[Expecting 490 bytes]\r\nm-ready\r\n");
	for (int off = 0; off < 490; off += 31) {
		int n = 490 - off < 31 ? 490 - off : 31, k = snprintf(cmd, sizeof(cmd), "db ");

		for (int i = 0; i < n; i++)
			k += snprintf(cmd + k, sizeof(cmd) - (size_t)k, "%02x", (off + i) & 0xFF);
		cmd[k++] = '%';
		cmd[k] = '\0';
		text(cmd);
		s = said();
		cr_expect_str_eq(s, off + n == 490 ? "m-load-done\r\nm-ready\r\n" : "m-ready\r\n",
				 "at %d", off);
	}
	text("db print%");
	cr_expect(!strncmp(said(), "m-buffer-00-01-02-03-04-05-06-07\r\n", 34));
	/* The toy workload: out[i] = (sum + 7 i) & 0xFF, int8, scale 0. */
	text("infer 3 2%");
	s = said();
	cr_expect(strstr(s, "m-warmup-start-2\r\nm-warmup-done\r\nm-infer-start-3\r\nm-lap-us-"),
		  "%s", s);
	cr_expect(strstr(s, "m-infer-done\r\nm-results-[") && strstr(s, "]\r\nm-ready\r\n"),
		  "%s", s);
	text("results%");
	cr_expect(!strncmp(said(), "m-results-[", 11));
	text("db 0g%");
	cr_expect(strstr(said(), "e-[db: no 'db load N'"));
	text("db load 490%db 012%");
	cr_expect(strstr(said(), "e-[Insufficient number of hex digits]"));
	text("db zz%");
	cr_expect(strstr(said(), "e-[Invalid hex digit 'zz']"));
	text("db load 7%");
	cr_expect(strstr(said(), "e-[db load 7: model toy takes 490 bytes]"));
	text("infer 0%");
	cr_expect(strstr(said(), "e-[Inference iterations must be >0]"));
	text("bogus arg%");
	cr_expect_str_eq(said(), "e-[Unknown command: bogus arg]\r\nm-ready\r\n");
	memset(cmd, 'x', 79);
	cmd[79] = '\0';
	text(cmd);
	text("yy%");
	cr_expect(strstr(said(), "e-[Command longer than 80 characters]"));
	text("\r\nname%");
	cr_expect_str_eq(said(), "m-name-dut-[fake]\r\nm-ready\r\n", "CR/LF are ignored");
	cr_expect(!hello_answered(), "EEMBC only: frames get no answer");
}

Test(tbr_eembc, auto_mode_answers_both)
{
	start(TBR_PROTOCOL_AUTO);
	text("\x13\x37noise%name%");
	cr_expect_str_eq(said(), "m-name-dut-[fake]\r\nm-ready\r\n",
			 "line noise before the first command of an EEMBC host");
	cr_expect(hello_answered(), "then tinybench");
	text("name%");
	cr_expect_str_eq(said(), "m-name-dut-[fake]\r\nm-ready\r\n");
	text("bogus%");
	cr_expect(strstr(said(), "e-[Unknown command: bogus]"), "in EEMBC mode now");
	/* The host's HELLO starts with a lone 0x00 that ends a partial
	 * command; then the frame switches back. */
	text("nam");
	{
		uint8_t z = 0;

		cr_assert_eq(tbr_feed(&dev.r, &z, 1), 0);
	}
	cr_expect(hello_answered());
	text("bogus%");
	cr_expect_str_eq(said(), "", "before EEMBC is selected, unknown words are ignored");
	text("junk\x01name%");
	cr_expect_str_eq(said(), "", "a run with binary in it is not a command");
	text("name%");
	cr_expect_str_eq(said(), "", "after a tinybench frame, only 0x00 ends binary");
	cr_assert_eq(tbr_feed(&dev.r, (const uint8_t *)"\0name%", 6), 0);
	cr_expect(strstr(said(), "m-name-dut-[fake]"), "a 0x00 starts a command line again");
}

Test(tbr_eembc, frames_with_percent_signs_stay_frames)
{
	uint8_t data[490], p[TBP_MAX_PAYLOAD];
	struct tbp_load_begin b;

	start(TBR_PROTOCOL_AUTO);
	cr_expect(hello_answered());
	/* An input whose bytes spell EEMBC commands. */
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)"%name%profile%db load 3%infer 1 0%"[i % 34];
	b.total = sizeof(data);
	b.crc = tbp_crc32(0, data, sizeof(data));
	frame(TBP_LOAD_BEGIN, p, tbp_load_begin_encode(&b, p, sizeof(p)));
	{
		struct tbp_load_chunk c = { 0, TBP_CHUNK_ACK_REQ, sizeof(data), data };

		dev.out_len = 0;
		frame(TBP_LOAD_CHUNK, p, tbp_load_chunk_encode(&c, p, sizeof(p)));
	}
	cr_expect(!memmem(dev.out, dev.out_len, "m-", 2), "no EEMBC reply inside a frame");
	cr_expect_gt(dev.out_len, 0u, "the chunk was acknowledged");
}
