/*
 * ppk2_emu.c - tinybench-emu-ppk2: a Nordic PPK2 on a pseudo-terminal.
 *
 *   tinybench-emu-ppk2 (--port TTY | --pty) [--tsline PATH] [--truth FILE]
 *                      [--voltage-mv MV] [--active-ua UA] [--idle-ua UA]
 *                      [--ts-input N] [--fault SPEC]... [--fault-window K]
 *
 * It answers the PPK2's opcodes (never acknowledged, as the device does):
 * 0x19 metadata (with its own calibration, not Nordic's defaults, so that
 * a driver that ignores the metadata is caught), 0x06/0x07 start/stop
 * streaming, 0x0D source voltage, 0x11 mode, 0x0C DUT power, 0x20 reset,
 * 0x25 user gains.  While streaming it sends u32 sample words at 100 kS/s:
 * the current of the profile (emu.h) encoded through the inverse of the
 * calibration formula, in the most sensitive range that holds it (so range
 * changes happen at the window's edges), the 6-bit counter, and the
 * timestamp line on logic input D<ts-input>.
 *
 * Faults (for the driver's tests), in window K (--fault-window, default 1;
 * 0 = every window):
 *   drop=G       drop G samples in runs of 32 from 10 ms after the rise
 *                (the counter shows the gaps)
 *   miss-fall    the line is sampled high from the rise to the end
 *   extra-edge   the line is sampled low for 2 ms, 5 ms after the rise
 *   vanish       exit 5 ms after the rise (the instrument disappears)
 *   stall        stop streaming 5 ms after the rise, still answering
 *   no-metadata  never answer 0x19 (any window)
 *   miss-pulse=MS  (--timestamps pulses) the line is sampled high through
 *                the pulse that closes a window at least MS ms long, as
 *                if it were too short for the 10 us sample period (any
 *                window: calibration batches are shorter)
 *
 * The logic input samples the line at each sample time: with
 * --timestamps pulses a pulse shorter than 10 us can fall between two
 * samples and go unseen, as on the real unit.
 */

#include "emu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HZ 100000.0

/* The emulated unit's calibration, a few per cent away from Nordic's
 * defaults: a driver that ignored the metadata would be off by ~2-4 %. */
static double cal_r[5] = { 1002.53, 98.714, 10.412, 0.9140, 0.04411 };
static double cal_gs[5] = { 0.95, 0.97, 1.02, 1.0, 0.99 };
static double cal_gi[5] = { 1.011, 1.009, 0.992, 1.006, 1.0 };
static double cal_o[5] = { 41.2, 39.8, 40.5, 38.7, 40.1 };
static double cal_s[5] = { 0.0, 1.5e-8, 0.0, 0.0, 0.0 };
static double cal_i[5] = { 1.2e-8, 0.0, -3e-8, 0.0, 0.0 };
static double cal_ug[5] = { 1.0, 1.0, 1.0, 1.0, 1.0 };

struct ppk2 {
	struct emu e;
	unsigned vdd_mv;
	int mode;
	unsigned ts_bit;
	/* faults */
	uint64_t drop;
	bool miss_fall, extra_edge, vanish, stall, no_metadata;
	double miss_pulse_ms;  /* < 0: off */
	uint64_t dropped;
	bool stalled;
	bool stuck;           /* miss-fall: the line reads high */
	unsigned fault_win;    /* window the one-shot fault state is for */
	uint8_t cmd[8];
	size_t n_cmd;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tinybench-emu-ppk2 (--port TTY | --pty) [--tsline PATH] [--truth FILE]\n"
		"       [--voltage-mv MV] [--active-ua UA] [--idle-ua UA] [--ripple FRAC]\n"
		"       [--ripple-hz HZ] [--noise-ua UA] [--seed N] [--lag-ms MS]\n"
		"       [--ts-input 0..7] [--timestamps level|pulses] [--fault SPEC]...\n"
		"       [--fault-window K]\n"
		"An emulated Nordic Power Profiler Kit II (tinybench tests; docs/ENERGY.md).\n"
		"faults: drop=G, miss-fall, extra-edge, vanish, stall, no-metadata, miss-pulse=MS\n");
}

static void send_metadata(struct ppk2 *p)
{
	char buf[2048];
	size_t n = 0;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "Calibrated: 1\n");
	for (int r = 0; r < 5; r++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "R%d: %.5f\nGS%d: %.6f\nGI%d: %.6f\nO%d: %.4f\nS%d: %.4e\nI%d: %.4e\nUG%d: %.6f\n",
				      r, cal_r[r], r, cal_gs[r], r, cal_gi[r], r, cal_o[r],
				      r, cal_s[r], r, cal_i[r], r, cal_ug[r]);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			      "HW: 36421\nmode: %d\nIA: -nan\nEMU: tinybench\nEND\n", p->mode);
	if (emu_write_all(&p->e, buf, n) < 0)
		exit(0);
}

/* The ADC value and range that read back as current a (the inverse of
 * x = (4 adc - O) k / R, I = UG (x (GS x + GI) + S vdd + I)). */
static uint32_t encode(const struct ppk2 *p, double a)
{
	for (int r = 0; r < 5; r++) {
		double c0 = cal_s[r] * p->vdd_mv / 1000.0 + cal_i[r] - a / cal_ug[r];
		double x, adc;

		if (cal_gs[r] != 0) {
			double disc = cal_gi[r] * cal_gi[r] - 4 * cal_gs[r] * c0;

			if (disc < 0)
				continue;
			x = (-cal_gi[r] + sqrt(disc)) / (2 * cal_gs[r]);
		} else {
			x = -c0 / cal_gi[r];
		}
		adc = floor((x * cal_r[r] / (1.8 / 163840.0) + cal_o[r]) / 4.0 + 0.5);
		if (adc < 0)
			adc = 0;
		if (adc <= 16000 || r == 4)
			return (uint32_t)(adc > 16383 ? 16383 : adc) | (uint32_t)r << 14;
	}
	return 16383u | 4u << 14;
}

static void handle(struct ppk2 *p, uint8_t b)
{
	static const size_t args[256] = {
		[0x0C] = 1, [0x0D] = 2, [0x11] = 1, [0x25] = 5,
	};

	p->cmd[p->n_cmd++] = b;
	if (p->n_cmd < 1 + args[p->cmd[0]])
		return;
	p->n_cmd = 0;
	switch (p->cmd[0]) {
	case 0x06:
		if (!p->e.streaming)
			emu_start(&p->e, HZ);
		break;
	case 0x07:
		emu_stop(&p->e);
		p->stuck = false;
		break;
	case 0x0C:
		p->e.prof.powered = p->cmd[1] != 0;
		break;
	case 0x0D:
		p->vdd_mv = (unsigned)p->cmd[1] << 8 | p->cmd[2];
		if (p->vdd_mv < 800)
			p->vdd_mv = 800;
		if (p->vdd_mv > 5000)
			p->vdd_mv = 5000;
		if (p->mode == 2)
			p->e.prof.volt_v = p->vdd_mv / 1000.0;
		break;
	case 0x11:
		p->mode = p->cmd[1];
		if (p->mode == 2)
			p->e.prof.volt_v = p->vdd_mv / 1000.0;
		break;
	case 0x19:
		if (!p->no_metadata)
			send_metadata(p);
		break;
	case 0x20:
		emu_stop(&p->e);
		break;
	case 0x25: {
		uint32_t bits = (uint32_t)p->cmd[2] | (uint32_t)p->cmd[3] << 8 |
				(uint32_t)p->cmd[4] << 16 | (uint32_t)p->cmd[5] << 24;
		float g;

		memcpy(&g, &bits, sizeof(g));
		if (p->cmd[1] < 5 && isfinite(g) && g > 0)
			cal_ug[p->cmd[1]] = g;
		break;
	}
	default:
		break;   /* unknown opcodes are ignored */
	}
}

static void input(struct emu *e, const uint8_t *buf, int n)
{
	for (int i = 0; i < n; i++)
		handle((struct ppk2 *)e, buf[i]);
}

static void stream(struct emu *e)
{
	static uint8_t out[4 * 8192];
	struct ppk2 *p = (struct ppk2 *)e;
	size_t n_out = 0;
	uint64_t due;

	emu_line_update(e);
	due = emu_due(e);
	if (p->stalled)
		return;
	for (uint64_t j = 0; j < due; j++) {
		uint64_t k = e->k++;
		int64_t t = emu_sample_ns(e, k);
		int level = emu_track(e, k), sampled = emu_line_level(e, t);
		bool faulty = emu_faulty(e);
		double since = faulty ? (double)(t - e->window_rise_ns) * 1e-9 : -1;
		double a;
		uint32_t w;

		if (faulty && p->fault_win != e->window) {
			p->fault_win = e->window;   /* a new faulty window */
			p->dropped = 0;
		}
		if (p->miss_fall && faulty)
			p->stuck = true;
		if (p->stuck)
			sampled = 1;
		if (p->extra_edge && faulty && since >= 0.005 && since < 0.007)
			sampled = 0;
		if (p->miss_pulse_ms >= 0 && emu_just_closed(e, t, p->miss_pulse_ms, 1.0))
			sampled = 1;
		if (p->vanish && faulty && since >= 0.005)
			_exit(0);
		if (p->stall && faulty && since >= 0.005) {
			p->stalled = true;
			break;
		}
		if (p->drop && faulty && since >= 0.010 && p->dropped < p->drop &&
		    (k / 32) % 2 == 0) {
			p->dropped++;
			continue;
		}
		a = emu_current(&e->prof, t, level) + e->prof.noise_a * emu_noise(e);
		w = encode(p, a) | (uint32_t)(k & 63) << 18 |
		    (uint32_t)(sampled ? 1u << p->ts_bit : 0) << 24;
		out[n_out++] = (uint8_t)w;
		out[n_out++] = (uint8_t)(w >> 8);
		out[n_out++] = (uint8_t)(w >> 16);
		out[n_out++] = (uint8_t)(w >> 24);
		if (n_out == sizeof(out)) {
			if (emu_write_all(e, out, n_out) < 0)
				exit(0);
			n_out = 0;
		}
	}
	if (n_out && emu_write_all(e, out, n_out) < 0)
		exit(0);
}

static int parse_fault(struct ppk2 *p, const char *s)
{
	if (!strncmp(s, "drop=", 5))
		p->drop = strtoull(s + 5, NULL, 10);
	else if (!strcmp(s, "miss-fall"))
		p->miss_fall = true;
	else if (!strcmp(s, "extra-edge"))
		p->extra_edge = true;
	else if (!strcmp(s, "vanish"))
		p->vanish = true;
	else if (!strcmp(s, "stall"))
		p->stall = true;
	else if (!strcmp(s, "no-metadata"))
		p->no_metadata = true;
	else if (!strncmp(s, "miss-pulse=", 11))
		p->miss_pulse_ms = strtod(s + 11, NULL);
	else
		return -1;
	return 0;
}

/* The PPK2's own options (emu_parse_args()). */
static int option(struct emu *e, const char *opt, const char *val)
{
	struct ppk2 *p = (struct ppk2 *)e;

	if (!strcmp(opt, "--ts-input")) {
		p->ts_bit = (unsigned)atoi(val) & 7;
	} else if (!strcmp(opt, "--fault")) {
		if (parse_fault(p, val) < 0) {
			fprintf(stderr, "tinybench-emu-ppk2: unknown fault '%s'\n", val);
			return -1;
		}
	} else {
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	static struct ppk2 p;
	int rc;

	emu_init(&p.e, "tinybench-emu-ppk2", "ppk2", 0x9E3779B97F4A7C15ull);
	p.vdd_mv = 3300;
	p.mode = 2;
	p.miss_pulse_ms = -1;
	rc = emu_parse_args(&p.e, argc, argv, usage, option);
	if (rc >= 0)
		return rc;
	p.vdd_mv = (unsigned)lround(p.e.prof.volt_v * 1000);
	if (emu_setup(&p.e) < 0)
		return 1;
	emu_run(&p.e, input, stream);
	return 0;
}
