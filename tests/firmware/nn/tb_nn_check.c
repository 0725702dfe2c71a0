/*
 * tb_nn_check.c - the kernel check image: on the target itself, every
 * fast path of the int8 kernels (MVE on qemu-m55, the DSP extension on
 * qemu-m4, -m7, -m33) against the plain C kernel it stands for, over
 * random shapes, strides, paddings, dilations, zero points, multipliers,
 * clamps and channel counts that leave a partial vector (the tails).
 * The host cannot run these instructions; test_nn_target.sh runs this
 * image under QEMU (-icount, a timeout).
 *
 * Bare metal: the Cortex-M startup of device_runner/ports/cortex-m
 * (tbr_cm_asm.S: .data, .bss, FPU/MVE access, then tbr_fw_main()), the
 * board's linker script, static buffers.  It reports over semihosting
 * (Arm's semihosting specification: BKPT 0xAB in Thumb state, QEMU's
 * -semihosting-config): one line per kernel, the first difference with
 * its case, and SYS_EXIT with "application exit" (QEMU exits 0) when
 * every case matched, any other reason (QEMU exits 1) otherwise.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tb_nn.h"
#include "tb_nn_mve.h"
#include "tb_nn_support.h"
#include "tb_nn_test_gen.h"
#include "tb_nn_test_ref.h"

#define SEEDS 1000

/* Buffers for the largest case each test draws. */
#define MAX_IN    32768
#define MAX_F     (80 * 5 * 5 * 72)
#define MAX_OUT   65536
#define MAX_CH    160

static int8_t in[MAX_IN], filt[MAX_F], out_a[MAX_OUT], out_b[MAX_OUT];
static int32_t bias[MAX_CH], mult[MAX_CH], shift[MAX_CH];
static uint64_t scratch[(16 * ((5 * 5 * 72 + 3) / 4)) / 8];

/* ---- semihosting ------------------------------------------------------ */
#define SH_WRITE0 0x04
#define SH_EXIT   0x18
#define SH_EXIT_OK   0x20026	/* ADP_Stopped_ApplicationExit */
#define SH_EXIT_FAIL 0x20023	/* ADP_Stopped_RunTimeErrorUnknown */

static void semihost(uint32_t op, uintptr_t arg)
{
	register uint32_t r0 __asm__("r0") = op;
	register uintptr_t r1 __asm__("r1") = arg;

	__asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
}

static void say(const char *s)
{
	semihost(SH_WRITE0, (uintptr_t)s);
}

static void say_int(int32_t v)
{
	char b[12], *p = b + sizeof(b) - 1;
	uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;

	*p = 0;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	say(p);
}

/* "label n1 n2 ...\n" */
static void say_case(const char *label, const int32_t *v, int n)
{
	say(label);
	for (int i = 0; i < n; i++) {
		say(" ");
		say_int(v[i]);
	}
	say("\n");
}

static int failures, cases;

static void differs(const char *label, const int32_t *v, int n)
{
	failures++;
	if (failures <= 5)
		say_case(label, v, n);
}

/* ---- the checks ------------------------------------------------------- */

/* Per-channel quantisation of n channels for a sum of depth products. */
static void channels(struct ref_rng *r, int32_t n, int32_t depth)
{
	for (int32_t c = 0; c < n; c++) {
		bias[c] = ref_range(r, -(1 << 20), 1 << 20);
		requant(r, depth, &mult[c], &shift[c]);
	}
	quant_edges(r, mult, shift, n);
}

static void activation(struct ref_rng *r, struct tb_nn_activation *a)
{
	a->min = ref_range(r, 0, 3) ? -128 : ref_range(r, -128, 0);
	a->max = ref_range(r, 0, 3) ? 127 : ref_range(r, a->min, 127);
}

static void check_conv(void)
{
	for (int seed = 0; seed < SEEDS; seed++) {
		struct ref_rng r;
		struct tb_nn_dims id, fd, od;
		struct tb_nn_conv_params p = { 0 };
		struct tb_nn_context ctx;
		struct geom g;
		size_t out_n;

		ref_seed(&r, 0xC0C0 + seed);
		geometry(&r, 9, 5, seed % 3 == 0, &g, &p.stride, &p.padding, &p.dilation);
		id = (struct tb_nn_dims){ ref_range(&r, 1, 2), g.ih, g.iw,
					  seed % 4 ? ref_range(&r, 1, 40) : ref_range(&r, 41, 72) };
		fd = (struct tb_nn_dims){ seed % 5 ? ref_range(&r, 1, 24) : ref_range(&r, 60, 80),
					  g.kh, g.kw, id.c };
		od = (struct tb_nn_dims){ id.n, g.oh, g.ow, fd.n };
		p.input_offset = ref_range(&r, -127, 128);
		p.output_offset = ref_range(&r, -128, 127);
		activation(&r, &p.activation);
		fill(&r, in, (size_t)id.n * g.ih * g.iw * id.c);
		fill(&r, filt, (size_t)fd.n * g.kh * g.kw * id.c);
		channels(&r, fd.n, g.kh * g.kw * id.c);
		out_n = (size_t)od.n * g.oh * g.ow * od.c;
		if (out_n > MAX_OUT)
			continue;
		cases++;
		ctx.buf = scratch;
		ctx.size = tb_nn_convolve_s8_get_buffer_size(&id, &fd);
		memset(scratch, 0xA5, sizeof(scratch));
		{
			const struct tb_nn_per_channel_quant_params q = { mult, shift };
			const int32_t *bp = seed % 7 ? bias : NULL;
			const int32_t c[] = { seed, id.n, g.ih, g.iw, id.c, g.kh, g.kw, g.sh, g.sw,
					      g.dh, g.dw, g.ph, g.pw, fd.n, p.input_offset };

			tb_nn_convolve_s8_ref(NULL, &p, &q, &id, in, &fd, filt, bp, &od, out_b);
			memset(out_a, 0x5A, out_n);
			if (tb_nn_convolve_s8(&ctx, &p, &q, &id, in, &fd, filt, bp, &od, out_a) ||
			    memcmp(out_a, out_b, out_n))
				differs("conv differs: seed n h w c kh kw sh sw dh dw ph pw out off",
					c, 15);
			memset(out_a, 0x5A, out_n);
			if (tb_nn_convolve_s8(NULL, &p, &q, &id, in, &fd, filt, bp, &od, out_a) ||
			    memcmp(out_a, out_b, out_n))
				differs("conv without scratch differs: seed ...", c, 15);
		}
	}
}

static void check_depthwise(void)
{
	for (int seed = 0; seed < SEEDS; seed++) {
		struct ref_rng r;
		struct tb_nn_dims id, fd, od;
		struct tb_nn_dw_conv_params p = { 0 };
		struct geom g;
		size_t out_n;

		ref_seed(&r, 0xD0D0 + seed);
		geometry(&r, 10, 6, 0, &g, &p.stride, &p.padding, &p.dilation);
		p.ch_mult = seed % 9 == 0 ? ref_range(&r, 2, 3) : 1;
		id = (struct tb_nn_dims){ ref_range(&r, 1, 2), g.ih, g.iw,
					  ref_range(&r, 1, MAX_CH / p.ch_mult) };
		fd = (struct tb_nn_dims){ 1, g.kh, g.kw, id.c * p.ch_mult };
		od = (struct tb_nn_dims){ id.n, g.oh, g.ow, fd.c };
		p.input_offset = ref_range(&r, -127, 128);
		p.output_offset = ref_range(&r, -128, 127);
		activation(&r, &p.activation);
		out_n = (size_t)od.n * g.oh * g.ow * od.c;
		if ((size_t)id.n * g.ih * g.iw * id.c > MAX_IN || (size_t)g.kh * g.kw * fd.c > MAX_F ||
		    out_n > MAX_OUT)
			continue;
		cases++;
		fill(&r, in, (size_t)id.n * g.ih * g.iw * id.c);
		fill(&r, filt, (size_t)g.kh * g.kw * fd.c);
		channels(&r, fd.c, g.kh * g.kw);
		{
			const struct tb_nn_per_channel_quant_params q = { mult, shift };
			const int32_t *bp = seed % 7 ? bias : NULL;
			const int32_t c[] = { seed, id.n, g.ih, g.iw, id.c, g.kh, g.kw, g.sh, g.sw,
					      g.dh, g.dw, g.ph, g.pw, p.ch_mult, p.input_offset };

			tb_nn_depthwise_conv_s8_ref(NULL, &p, &q, &id, in, &fd, filt, bp, &od, out_b);
			memset(out_a, 0x5A, out_n);
			if (tb_nn_depthwise_conv_s8(NULL, &p, &q, &id, in, &fd, filt, bp, &od, out_a) ||
			    memcmp(out_a, out_b, out_n))
				differs("depthwise differs: seed n h w c kh kw sh sw dh dw ph pw mult off",
					c, 15);
		}
	}
}

static void check_fully_connected(void)
{
	for (int seed = 0; seed < SEEDS; seed++) {
		struct ref_rng r;
		struct tb_nn_fc_params p = { 0 };
		struct tb_nn_per_tensor_quant_params q;
		int32_t batches, depth, units;

		ref_seed(&r, 0xFCFC + seed);
		fc_case(&r, &batches, &depth, &units, seed, &p);
		activation(&r, &p.activation);
		requant(&r, depth, &q.multiplier, &q.shift);
		quant_edges(&r, &q.multiplier, &q.shift, 1);
		fill(&r, in, (size_t)batches * depth);
		fill(&r, filt, (size_t)units * depth);
		for (int32_t c = 0; c < units; c++)
			bias[c] = ref_range(&r, -(1 << 20), 1 << 20);
		cases++;
		{
			const struct tb_nn_dims id = { batches, 1, 1, depth };
			const struct tb_nn_dims fd = { units, 1, 1, depth };
			const struct tb_nn_dims od = { batches, 1, 1, units };
			const int32_t *bp = seed % 7 ? bias : NULL;
			const int32_t c[] = { seed, batches, depth, units, p.input_offset,
					      p.filter_offset, q.multiplier, q.shift };

			tb_nn_fully_connected_s8_ref(NULL, &p, &q, &id, in, &fd, filt, bp, &od, out_b);
			memset(out_a, 0x5A, (size_t)batches * units);
			if (tb_nn_fully_connected_s8(NULL, &p, &q, &id, in, &fd, filt, bp, &od, out_a) ||
			    memcmp(out_a, out_b, (size_t)batches * units))
				differs("fully connected differs: seed batches depth units off "
					"filter_off mult shift", c, 8);
		}
	}
}

#if TB_NN_HAVE_MVE
/* tb_nn_mve_requant() lane by lane against tb_nn_requant(), offset,
 * clamp and the int8 cast, over edge-heavy accumulators, multipliers and
 * every shift. */
static void check_mve_requant(void)
{
	struct ref_rng r;

	ref_seed(&r, 0x4E0);
	for (int i = 0; i < 20000; i++, cases++) {
		int32_t acc[4], m[4], s[4], got[4];
		const int32_t off = ref_range(&r, -128, 127);
		const int32_t lo = ref_range(&r, 0, 1) ? -128 : ref_range(&r, -200, 127);
		const int32_t hi = ref_range(&r, 0, 1) ? 127 : ref_range(&r, lo, 200);

		for (int k = 0; k < 4; k++) {
			acc[k] = edgy(&r);
			m[k] = ref_range(&r, 0, 3) ? ref_range(&r, 1 << 30, INT32_MAX) : edgy(&r);
			s[k] = ref_range(&r, 0, 3) ? ref_range(&r, -12, 2) : ref_range(&r, -31, 30);
		}
		vstrwq_s32(got, tb_nn_mve_requant(vldrwq_s32(acc), vldrwq_s32(m), vldrwq_s32(s),
						  off, vdupq_n_s32(lo), vdupq_n_s32(hi)));
		for (int k = 0; k < 4; k++) {
			const int32_t want = tb_nn_clamp(tb_nn_add_wrap(tb_nn_requant(acc[k], m[k],
										     s[k]), off),
							 lo, hi);

			if (got[k] != want) {
				const int32_t c[] = { acc[k], m[k], s[k], off, lo, hi, got[k], want };

				differs("mve requant differs: acc mult shift off lo hi got want", c, 8);
			}
		}
	}
}
#endif

static void run(const char *name, void (*check)(void))
{
	const int before = failures;

	cases = 0;
	check();
	say(failures == before ? "ok: " : "FAIL: ");
	say(name);
	say(", ");
	say_int(cases);
	say(" cases\n");
}

/* Entry from the startup code (tbr_cm_asm.S). */
void tbr_fw_main(void);

void tbr_fw_main(void)
{
	say("tinybench kernel check, " TB_NN_CHECK_BOARD ", paths: ");
	say(TB_NN_HAVE_MVE ? "MVE\n" : TB_NN_HAVE_DSP ? "DSP\n" : "plain C\n");
#if TB_NN_HAVE_MVE
	run("mve requantisation (tb_nn_mve_requant)", check_mve_requant);
#endif
	run("conv (tb_nn_convolve_s8)", check_conv);
	run("depthwise (tb_nn_depthwise_conv_s8)", check_depthwise);
	run("fully connected (tb_nn_fully_connected_s8)", check_fully_connected);
	say(failures ? "FAIL\n" : "PASS\n");
	semihost(SH_EXIT, failures ? SH_EXIT_FAIL : SH_EXIT_OK);
	for (;;)
		;
}

/* A fault is a failure: say so and exit (never reset and rerun). */
static void fault(void)
{
	say("FAIL: fault\n");
	semihost(SH_EXIT, SH_EXIT_FAIL);
	for (;;)
		;
}

extern uint32_t __tbr_stack_end;	/* the linker script: top of the main stack */
void tbr_cm_reset(void);

typedef void (*vector)(void);

__attribute__((section(".vectors"), used))
static const vector vectors[16] = {
	[0] = (vector)(uintptr_t)&__tbr_stack_end,
	[1] = tbr_cm_reset,
	[2] = fault, [3] = fault, [4] = fault, [5] = fault, [6] = fault, [7] = fault,
	[11] = fault, [12] = fault, [14] = fault, [15] = fault,
};
