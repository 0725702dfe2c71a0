/*
 * fake_device.h - an in-process device for tests: the real runner core
 * (device_runner/core) behind a fake port, with a toy workload, so that the
 * core and the host link can be tested without a pty or a child process.
 * Header-only; each test program includes it once.
 */
#ifndef FAKE_DEVICE_H
#define FAKE_DEVICE_H

#include <string.h>

#include "tbr.h"

#define FAKE_IN_MAX 32768
#define FAKE_ARENA 4096
#define FAKE_PAYLOAD 1024

/* Toy workload: out[i] = (sum of inputs + i * 7) & 0xFF; it writes the
 * first 1000 arena bytes so the high-water mark is known. */
static int fake_invoke(const struct tb_workload *wl, const void *in, void *out,
		       void *arena, size_t arena_size)
{
	const uint8_t *p = in;
	uint8_t *o = out;
	uint32_t sum = 0;

	if (arena_size < 1000)
		return -1;
	for (uint32_t i = 0; i < wl->input_size; i++)
		sum += p[i];
	memset(arena, 0x11, 1000);
	for (uint32_t i = 0; i < wl->output_size; i++)
		o[i] = (uint8_t)(sum + i * 7);
	return 0;
}

static const uint8_t fake_hash[32] = { 0xAA, 0xBB };

static const struct tb_workload fake_wl = {
	.id = 42, .name = "toy", .description = "test workload",
	.input_dtype = 1, .output_dtype = 1, .input_size = 490, .output_size = 12,
	.arena_size = 1000, .macs = 1, .model_hash = fake_hash,
	.invoke = fake_invoke,
};

static const struct tb_workload fake_big_wl = {
	.id = 43, .name = "toy-big", .description = "test workload (VWW size)",
	.input_dtype = 1, .output_dtype = 1, .input_size = 27648, .output_size = 2,
	.arena_size = 1000, .macs = 1, .model_hash = fake_hash,
	.invoke = fake_invoke,
};

static const struct tb_workload *const fake_wls[] = { &fake_wl, &fake_big_wl, NULL };

struct fake_dev {
	struct tbr r;
	struct tbr_port port;
	uint64_t tick;
	/* replies, as the host will read them */
	uint8_t out[1 << 16];
	size_t out_len;
	uint8_t input[FAKE_IN_MAX];
	uint8_t arena[FAKE_ARENA] __attribute__((aligned(8)));
	uint8_t output[64];
	uint8_t rx[TBP_WIRE_MAX(FAKE_PAYLOAD)];
	uint8_t payload[FAKE_PAYLOAD];
	uint8_t tx[TBP_WIRE_MAX(FAKE_PAYLOAD)];
	int (*tamper)(struct fake_dev *d, uint8_t *buf, size_t len); /* optional */
};

static int fake_read(void *ctx, uint8_t *buf, size_t cap)
{
	(void)ctx; (void)buf; (void)cap;
	return -1;
}

static int fake_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct fake_dev *d = ctx;

	if (d->out_len + len > sizeof(d->out))
		return -1;
	memcpy(d->out + d->out_len, buf, len);
	if (d->tamper)
		d->tamper(d, d->out + d->out_len, len);
	d->out_len += len;
	return 0;
}

static uint64_t fake_ticks(void *ctx)
{
	struct fake_dev *d = ctx;

	return d->tick += 1000;
}

static int fake_run_on_stack(void *ctx, void (*fn)(void *), void *arg, uint32_t *used)
{
	(void)ctx;
	fn(arg);
	*used = 321;
	return 0;
}

static void fake_dev_init(struct fake_dev *d)
{
	struct tbr_config c = { 0 };

	memset(d, 0, sizeof(*d));
	d->port.read = fake_read;
	d->port.write = fake_write;
	d->port.ticks = fake_ticks;
	d->port.run_on_stack = fake_run_on_stack;
	d->port.ctx = d;
	c.board = "fake";
	c.cpu = "test";
	c.build_id = "test-build";
	c.timer_hz = 1000000;
	c.caps = TBP_CAP_PER_INFERENCE;
	c.window = 8;
	c.stack_size = 8192;
	c.input = d->input;
	c.input_cap = sizeof(d->input);
	c.arena = d->arena;
	c.arena_size = sizeof(d->arena);
	c.output = d->output;
	c.output_cap = sizeof(d->output);
	c.rx = d->rx;
	c.rx_cap = sizeof(d->rx);
	c.payload = d->payload;
	c.payload_cap = sizeof(d->payload);
	c.tx = d->tx;
	c.tx_cap = sizeof(d->tx);
	c.workloads = fake_wls;
	tbr_init(&d->r, &c, &d->port);
}

#endif
