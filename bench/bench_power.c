/*
 * bench_power.c - tinybench-bench-power: how fast the host decodes and
 * integrates an energy monitor's stream, on one core.
 *
 *   tinybench-bench-power [--seconds S] [--repeat R] [--chunk BYTES]
 *
 * It builds S seconds (default 10, MLPerf Tiny's trial length) of each
 * stream in memory -- PPK2 u32 words at 100 kS/s with range changes at
 * the window's edges, logic edges and the 6-bit counter; LPM01A ascii_dec
 * lines at 5 kS/s and bin_hexa words at 100 kS/s, with TimeStamps and an
 * event -- then runs the same code a trial runs: the driver's decoder
 * (fed CHUNK bytes at a time, as reads from the port arrive), the
 * recorder, and the analysis (window, V x I integral, 1 kHz trace).  It
 * prints the samples per second of CPU time and that rate over the
 * instrument's real rate (the goal: >= 50x real time for the PPK2's
 * 100 kS/s), and checks the integral against the energy it generated.
 * The CPU time is this process's (CLOCK_PROCESS_CPUTIME_ID), single
 * threaded.
 */
#include "lpm01a/protocol.h"
#include "ppk2/protocol.h"
#include "tb_power_rec.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The synthetic load: 3.3 V, 0.4 mA idle, 5 mA active with a 5 % ripple
 * at 37 Hz, active from 10 % to 90 % of the stream. */
#define VOLT 3.3
static double current(double t, double len, int *level)
{
	*level = t >= 0.1 * len && t < 0.9 * len;
	return *level ? 5e-3 * (1 + 0.05 * sin(2 * M_PI * 37 * t)) : 4e-4;
}

/* ---- PPK2 ---------------------------------------------------------------- */

static uint8_t *make_ppk2(double len, size_t *n_bytes, double *energy_j)
{
	size_t n = (size_t)(len * TB_PPK2_SAMPLE_HZ);
	uint8_t *b = malloc(n * 4);
	struct tb_ppk2_cal cal;

	tb_ppk2_cal_defaults(&cal);
	*energy_j = 0;
	for (size_t k = 0; k < n; k++) {
		int level;
		double a = current(k / TB_PPK2_SAMPLE_HZ, len, &level);
		uint32_t w = 0;

		/* default calibration: I = x (x + 1), x = 4 adc k / R */
		for (unsigned r = 0; r < 5; r++) {
			double x = (-1 + sqrt(1 + 4 * a)) / 2;
			double adc = floor(x * cal.r[r] / (1.8 / 163840) / 4 + 0.5);

			if (adc <= 16000 || r == 4) {
				w = (uint32_t)adc | r << 14;
				*energy_j += tb_ppk2_current(&cal, (unsigned)adc, r, 3300) * VOLT /
					     TB_PPK2_SAMPLE_HZ * level;
				break;
			}
		}
		w |= (uint32_t)(k & 63) << 18 | (uint32_t)level << 24;
		memcpy(b + 4 * k, &w, 4);   /* little-endian host */
	}
	*n_bytes = n * 4;
	return b;
}

struct run {
	const char *name;
	double rate;            /* the instrument's real rate */
	uint8_t *stream;
	size_t len;
	double energy_j;        /* what the generator put in the window */
	enum tb_power_edges edges;
	double duration_s;
};

static void feed_ppk2(const struct run *r, struct tb_power_rec *rec, size_t chunk)
{
	static struct tb_ppk2_decoder d;
	struct tb_power_sink sink = tb_power_rec_sink(rec);
	struct tb_ppk2_cal cal;

	tb_ppk2_cal_defaults(&cal);
	tb_ppk2_decoder_init(&d, &cal, 3300, 0, false, &sink);
	for (size_t off = 0; off < r->len; off += chunk) {
		tb_ppk2_decoder_feed(&d, r->stream + off, off + chunk < r->len ? chunk : r->len - off);
		tb_ppk2_decoder_flush(&d);
	}
}

/* ---- LPM01A -------------------------------------------------------------- */

static void ascii_dec(double v, char out[16])
{
	int e = (int)floor(log10(v)) - 3;
	long m = lround(v / pow(10.0, e));

	if (m >= 10000) {
		e++;
		m = lround(v / pow(10.0, e));
	}
	snprintf(out, 16, "%04d%c%02d", (int)(m % 10000), e < 0 ? '-' : '+', abs(e) % 100);
}

static uint8_t *make_lpm(double len, double hz, int binary, size_t *n_bytes, double *energy_j)
{
	size_t n = (size_t)(len * hz), cap = n * 10 + 4096, o = 0;
	uint8_t *b = malloc(cap);
	int prev = 0;

	*energy_j = 0;
	for (size_t k = 0; k < n; k++) {
		int level;
		double a = current(k / hz, len, &level), v;

		if (level != prev && level) {
			const char *ev = "event 00 ris";

			if (binary) {
				b[o++] = 0xF0;
				b[o++] = 0xF2;
				memcpy(b + o, ev, strlen(ev));
				o += strlen(ev);
				b[o++] = 0xFF;
				b[o++] = 0xFF;
			} else {
				o += (size_t)sprintf((char *)b + o, "%s\r\n", ev);
			}
		}
		prev = level;
		if (binary) {
			int e = 14;
			double m;

			while ((m = floor(ldexp(a, 4 * e) + 0.5)) > 4095)
				e--;
			b[o++] = (uint8_t)(e << 4 | (int)m >> 8);
			b[o++] = (uint8_t)m;
			v = m / ldexp(1, 4 * e);
		} else {
			char s[16];

			ascii_dec(a * VOLT / hz, s);   /* output energy: joules */
			memcpy(b + o, s, 7);
			o += 7;
			b[o++] = '\r';
			b[o++] = '\n';
			tb_lpm01a_parse_ascii_dec(s, 7, &v);
			v = v * hz / VOLT;
		}
		*energy_j += v * VOLT / hz * level;
		if ((k + 1) % (size_t)hz == 0) {
			unsigned s = (unsigned)((k + 1) / (size_t)hz);

			if (binary) {
				uint32_t ms = s * 1000;
				uint8_t rec[] = { 0xF0, 0xF3, (uint8_t)(ms >> 24), (uint8_t)(ms >> 16),
						  (uint8_t)(ms >> 8), (uint8_t)ms, 0, 0xFF, 0xFF };

				memcpy(b + o, rec, sizeof(rec));
				o += sizeof(rec);
			} else {
				o += (size_t)sprintf((char *)b + o, "TimeStamp: %03us 000ms, buff 00%%\r\n", s);
			}
		}
	}
	*n_bytes = o;
	return b;
}

static void feed_lpm(const struct run *r, struct tb_power_rec *rec, size_t chunk)
{
	static struct tb_lpm01a_decoder d;
	struct tb_power_sink sink = tb_power_rec_sink(rec);
	int binary = r->rate > 5000;

	tb_lpm01a_decoder_init(&d, binary, r->rate, VOLT, !binary, &sink);
	for (size_t off = 0; off < r->len; off += chunk) {
		tb_lpm01a_decoder_feed(&d, r->stream + off,
				       off + chunk < r->len ? chunk : r->len - off);
		tb_lpm01a_decoder_flush(&d);
	}
	tb_lpm01a_decoder_finish(&d);
}

/* ---- measure --------------------------------------------------------------- */

static int bench(struct run *r, double len, int repeat, size_t chunk, int is_ppk2,
		 double *speedup)
{
	struct tb_power_rec *rec;
	struct tb_power_result res;
	struct tb_error err = { 0 };
	struct tb_power_window_params p = {
		.sample_hz = r->rate, .voltage_v = VOLT, .inferences = 1000, .windows = 1,
		.edges = r->edges, .duration_s = r->duration_s, .max_lost_frac = 0.001,
		.bin_hz = 1000, .instrument = r->name,
	};
	double best = 1e9, rel;
	uint64_t n = (uint64_t)(len * r->rate);

	if (tb_power_rec_new(&rec, &err) < 0)
		return -1;
	for (int i = 0; i < repeat; i++) {
		double t0 = cpu_s(), t;

		tb_power_rec_reset(rec);
		if (is_ppk2)
			feed_ppk2(r, rec, chunk);
		else
			feed_lpm(r, rec, chunk);
		if (tb_power_rec_analyze(rec, &p, &res, &err) < 0) {
			fprintf(stderr, "%s: %s\n", r->name, err.msg);
			return -1;
		}
		t = cpu_s() - t0;
		if (t < best)
			best = t;
		if (i + 1 < repeat)
			tb_power_result_free(&res);
	}
	rel = (res.energy_j - r->energy_j) / r->energy_j;
	*speedup = n / best / r->rate;
	printf("%-28s %9.2f MB %11.1f M samples/s %9.1fx real time (%.0f S/s)  "
	       "integral %+.1e vs generated\n", r->name, r->len / 1e6, n / best / 1e6,
	       *speedup, r->rate, rel);
	tb_power_result_free(&res);
	tb_power_rec_free(rec);
	return fabs(rel) < 1e-6 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	double len = 10, ppk2_x = 0, x = 0;
	int repeat = 5, c, bad = 0;
	size_t chunk = 16384;
	struct run runs[3];

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': len = atof(optarg); break;
		case 'r': repeat = atoi(optarg); break;
		case 'c': chunk = (size_t)atol(optarg); break;
		case 'h':
			printf("usage: tinybench-bench-power [--seconds S] [--repeat R] [--chunk BYTES]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!(len >= 1 && len <= 600) || repeat < 1 || chunk < 1) {
		fprintf(stderr, "tinybench-bench-power: --seconds 1..600, --repeat >= 1, --chunk >= 1\n");
		return 2;
	}
	memset(runs, 0, sizeof(runs));
	runs[0].name = "ppk2 u32 words";
	runs[0].rate = TB_PPK2_SAMPLE_HZ;
	runs[0].stream = make_ppk2(len, &runs[0].len, &runs[0].energy_j);
	runs[0].edges = TB_POWER_EDGES_BOTH;
	runs[1].name = "lpm01a ascii_dec (energy)";
	runs[1].rate = 5000;
	runs[1].stream = make_lpm(len, 5000, 0, &runs[1].len, &runs[1].energy_j);
	runs[1].edges = TB_POWER_EDGES_RISING;
	runs[1].duration_s = 0.8 * len;
	runs[2].name = "lpm01a bin_hexa (current)";
	runs[2].rate = 100000;
	runs[2].stream = make_lpm(len, 100000, 1, &runs[2].len, &runs[2].energy_j);
	runs[2].edges = TB_POWER_EDGES_RISING;
	runs[2].duration_s = 0.8 * len;
	printf("decode + record + integrate, one core, %.0f s of stream, best of %d, %zu-byte reads\n",
	       len, repeat, chunk);
	for (int i = 0; i < 3; i++) {
		if (bench(&runs[i], len, repeat, chunk, i == 0, &x) < 0)
			bad = 1;
		if (i == 0)
			ppk2_x = x;
		free(runs[i].stream);
	}
	printf("PPK2 at 100 kS/s: %.0fx real time (goal >= 50x): %s\n", ppk2_x,
	       ppk2_x >= 50 ? "met" : "NOT met");
	return bad ? 1 : 0;
}
