/*
 * tbr_fw.c - the firmware main: static buffers, the port table, the loop.
 * Identical for every bare-metal board; see tbr_fw.h.
 */
#include "tbr_fw.h"

#include <string.h>

#include "tb_build_id.h"
#include "tb_workload.h"
#include "tbr.h"

#ifdef TBR_FW_USER_MODEL
/* The image of a user model: its input, arena and output buffer sizes,
 * written by the build from the model (tb_workload_gen --h-out). */
#include "tbr_fw_model.h"
#endif

#ifndef TBR_FW_INPUT_MAX
#define TBR_FW_INPUT_MAX 32768
#endif
#ifndef TBR_FW_ARENA_SIZE
#define TBR_FW_ARENA_SIZE 65536
#endif
#ifndef TBR_FW_STACK_SIZE
#define TBR_FW_STACK_SIZE 8192
#endif
#ifndef TBR_FW_MAX_PAYLOAD
#define TBR_FW_MAX_PAYLOAD 1024
#endif
#ifndef TBR_FW_OUTPUT_MAX
#define TBR_FW_OUTPUT_MAX 1024      /* the largest built-in: ad01, 640 B */
#endif
#ifndef TBR_FW_RX_RING
#define TBR_FW_RX_RING 256          /* power of two */
#endif
#ifndef TBR_FW_TX_CHUNK
#define TBR_FW_TX_CHUNK 32          /* reply bytes per tbr_port_write() */
#endif

/* Reply payloads: the largest is HELLO_RSP (at most 151 bytes + 57 per
 * workload) or INFER_RSP (51 + output). */
#ifdef TBR_FW_NO_WORKLOADS
#define FW_REPLY_MAX 160
#else
#define FW_REPLY_MAX (TBR_FW_OUTPUT_MAX + 64 > 160 + 57 * 16 ? \
		      TBR_FW_OUTPUT_MAX + 64 : 160 + 57 * 16)
#endif
/* One buffer receives a request frame and then holds the reply's payload
 * (tbr.h: the core is done with the request when it writes the reply);
 * the reply is COBS-encoded on the way out, TBR_FW_TX_CHUNK bytes at a
 * time, so no buffer holds a whole encoded frame. */
#define FW_RX_CAP TBP_WIRE_MAX(TBR_FW_MAX_PAYLOAD)
#define FW_RX_SIZE (FW_RX_CAP > FW_REPLY_MAX ? FW_RX_CAP : FW_REPLY_MAX)

_Static_assert((TBR_FW_RX_RING & (TBR_FW_RX_RING - 1)) == 0,
	       "TBR_FW_RX_RING must be a power of two");
_Static_assert(TBR_FW_STACK_SIZE % 8 == 0, "stack size: multiple of 8");

static uint8_t input_buf[TBR_FW_INPUT_MAX];
static uint8_t arena_buf[TBR_FW_ARENA_SIZE] __attribute__((aligned(16)));
static uint8_t output_buf[TBR_FW_OUTPUT_MAX];
static uint8_t rx_buf[FW_RX_SIZE];
static uint8_t tx_buf[TBR_FW_TX_CHUNK];
static uint8_t infer_stack[TBR_FW_STACK_SIZE] __attribute__((aligned(8)));

static struct tbr runner;

#ifdef TBR_FW_TEST_HOOKS
volatile struct tbr_fw_fault tbr_fw_fault __attribute__((section(".noinit")));
static uint32_t infer_calls;
#endif

#ifdef TBR_FW_TSLINE
volatile struct tbr_fw_tsline tbr_fw_tsline __attribute__((section(".noinit")));
static uint8_t tsline_on;
static uint64_t tsline_rise;

/* An edge of the timestamp "pin" on the bridge's channel (tbr_fw.h). */
static void tsline_edge(int level)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t msg[18];
	uint64_t d;

	if (level) {
		msg[0] = 'R';
		msg[1] = '\n';
		tbr_port_tsline_write(msg, 2);
		tsline_rise = tbr_port_ticks();
		return;
	}
	d = tbr_port_elapsed(tsline_rise, tbr_port_ticks());
	msg[0] = 'F';
	for (int i = 16; i >= 1; i--, d >>= 4)
		msg[i] = (uint8_t)hex[d & 15u];
	msg[17] = '\n';
	tbr_port_tsline_write(msg, sizeof(msg));
}
#endif

#ifdef TBR_FW_NO_WORKLOADS
static const struct tb_workload *const no_workloads[] = { NULL };
#define FW_WORKLOADS no_workloads
#else
#define FW_WORKLOADS tbr_fw_workloads
#endif

/* ---- receive ring ------------------------------------------------------ */

static volatile uint8_t rx_ring[TBR_FW_RX_RING];
static volatile uint32_t rx_head;   /* written by the ISR */
static volatile uint32_t rx_tail;   /* written by the main loop */

void tbr_fw_rx_push(uint8_t b)
{
	uint32_t h = rx_head;

	if (h - rx_tail >= TBR_FW_RX_RING)
		return;     /* full: the byte is lost, the frame CRC catches it */
	rx_ring[h & (TBR_FW_RX_RING - 1)] = b;
	rx_head = h + 1;
}

int tbr_fw_rx_empty(void)
{
	return rx_head == rx_tail;
}

int tbr_fw_rx_pop(uint8_t *buf, size_t cap)
{
	uint32_t t = rx_tail, h = rx_head;
	int n = 0;

	while (t != h && (size_t)n < cap)
		buf[n++] = rx_ring[t++ & (TBR_FW_RX_RING - 1)];
	rx_tail = t;
	return n;
}

/* ---- the port table ---------------------------------------------------- */

static int fw_read(void *ctx, uint8_t *buf, size_t cap)
{
	(void)ctx;
	return tbr_port_read(buf, cap);
}

static int fw_write(void *ctx, const uint8_t *buf, size_t len)
{
	(void)ctx;
	tbr_port_write(buf, len);
	return 0;
}

static uint64_t fw_ticks(void *ctx)
{
	(void)ctx;
	return tbr_port_ticks();
}

static uint64_t fw_elapsed(void *ctx, uint64_t t0, uint64_t t1)
{
	(void)ctx;
	return tbr_port_elapsed(t0, t1);
}

/* The core raises the timestamp pin right before the first timer read and
 * lowers it right after the last one: mask the link's interrupts there. */
static void fw_timestamp(void *ctx, int level)
{
	(void)ctx;
	if (level)
		tbr_port_window(1);
	tbr_port_timestamp(level);
#ifdef TBR_FW_TSLINE
	if (tsline_on)
		tsline_edge(level);
#endif
	if (!level)
		tbr_port_window(0);
}

/* Paint the inference stack, run fn on it, measure the high-water mark:
 * the stack grows down, so untouched paint is at the low end. */
static int fw_run_on_stack(void *ctx, void (*fn)(void *), void *arg,
			   uint32_t *used)
{
	uint32_t low = 0;

	(void)ctx;
#ifdef TBR_FW_TEST_HOOKS
	infer_calls++;
	if (tbr_fw_fault.magic == TBR_FW_FAULT_MAGIC &&
	    infer_calls == tbr_fw_fault.hang_at)
		for (;;)        /* the test hook: a workload stuck in a loop */
			__asm__ volatile("" ::: "memory");
#endif
	memset(infer_stack, TBR_PAINT, sizeof(infer_stack));
	tbr_port_call_on_stack(fn, arg, infer_stack + sizeof(infer_stack));
	while (low < sizeof(infer_stack) && infer_stack[low] == TBR_PAINT)
		low++;
	*used = (uint32_t)sizeof(infer_stack) - low;
	return 0;
}

static void fw_reset(void *ctx)
{
	(void)ctx;
	tbr_port_reset();
}

static const struct tbr_port fw_port = {
	.read = fw_read,
	.write = fw_write,
	.ticks = fw_ticks,
	.elapsed = fw_elapsed,
	.timestamp = fw_timestamp,
	.run_on_stack = fw_run_on_stack,
	.reset = fw_reset,
	.ctx = NULL,
};

/* Out of line, so that its frame is off the main stack by the time
 * tbr_run() handles requests (their depth is the stack's peak).  The
 * config is filled in place (tbr_init() takes r->cfg itself): the runner
 * is static, so every field not set here is already 0. */
__attribute__((noinline)) static void fw_init(void)
{
	struct tbr_config *cfg = &runner.cfg;

	cfg->board = tbr_fw_board.board;
	cfg->cpu = tbr_fw_board.cpu;
	cfg->build_id = TB_BUILD_ID;
	cfg->clock_hz = tbr_fw_board.clock_hz;
	cfg->timer_hz = tbr_fw_board.timer_hz;
	cfg->caps = tbr_fw_board.caps;
	cfg->window = 4;
	cfg->stack_size = sizeof(infer_stack);
	cfg->input = input_buf;
	cfg->input_cap = sizeof(input_buf);
	cfg->arena = arena_buf;
	cfg->arena_size = sizeof(arena_buf);
	cfg->output = output_buf;
	cfg->output_cap = sizeof(output_buf);
	cfg->rx = rx_buf;
	cfg->rx_cap = FW_RX_CAP;    /* max_payload = TBR_FW_MAX_PAYLOAD */
	cfg->payload = rx_buf;
	cfg->payload_cap = FW_REPLY_MAX;
	cfg->tx = tx_buf;
	cfg->tx_cap = sizeof(tx_buf);
	cfg->workloads = FW_WORKLOADS;
#if TBR_EEMBC
	/* Built with -Drunner_eembc=true: answer MLPerf Tiny hosts too. */
	cfg->protocol = TBR_PROTOCOL_AUTO;
#else
	/* Already 0, but said, so that the compiler knows tbr_init() has
	 * no EEMBC to refuse. */
	cfg->protocol = TBR_PROTOCOL_TINYBENCH;
#endif
	if (tbr_init(&runner, cfg, &fw_port) < 0)
		tbr_port_reset();   /* a build error: sizes below the minimum */
}

void tbr_fw_main(void)
{
	tbr_port_init();
#ifdef TBR_FW_TSLINE
	if (tbr_fw_tsline.magic == TBR_FW_TSLINE_MAGIC && tbr_fw_tsline.on == 1) {
		tbr_port_tsline_init();
		tsline_on = 1;
		tbr_fw_board.caps |= TBP_CAP_TIMESTAMP_PIN;
	}
#endif
	fw_init();
	tbr_run(&runner);
	tbr_port_reset();
}
