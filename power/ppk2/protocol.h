/*
 * protocol.h - the Nordic PPK2 wire protocol (../shared/reference/
 * instruments.md): raw opcodes, never acknowledged; metadata as ASCII
 * "key: value" lines ending with END; a stream of little-endian u32 samples
 * at 100 kS/s:
 *
 *   bits  0-13  ADC value
 *   bits 14-16  measurement range 0..4
 *   bits 18-23  6-bit counter, +1 per sample, wraps at 64 (lost samples)
 *   bits 24-31  logic inputs D0..D7
 *
 * Current for range r at source voltage vdd (mV):
 *   x = (4 adc - O[r]) * (1.8 / 163840) / R[r]
 *   I = UG[r] * (x * (GS[r] x + GI[r]) + S[r] vdd / 1000 + I[r])   amperes
 *
 * Pure functions and a stream decoder; no I/O, no allocation.
 */
#ifndef TB_PPK2_PROTOCOL_H
#define TB_PPK2_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"
#include "tb_power.h"

#define TB_PPK2_VID 0x1915
#define TB_PPK2_PID 0xc00a
#define TB_PPK2_SAMPLE_HZ 100000.0
#define TB_PPK2_RANGES 5
#define TB_PPK2_VDD_MIN_MV 800
#define TB_PPK2_VDD_MAX_MV 5000
#define TB_PPK2_METADATA_MAX 4096

/* Opcodes. */
enum {
	TB_PPK2_OP_START       = 0x06,
	TB_PPK2_OP_STOP        = 0x07,
	TB_PPK2_OP_DUT_POWER   = 0x0C, /* [0x0C, 1|0] */
	TB_PPK2_OP_SET_VDD     = 0x0D, /* [0x0D, mV >> 8, mV & 0xFF] */
	TB_PPK2_OP_MODE        = 0x11, /* [0x11, 1 ampere | 2 source] */
	TB_PPK2_OP_METADATA    = 0x19,
	TB_PPK2_OP_RESET       = 0x20,
	TB_PPK2_OP_USER_GAINS  = 0x25, /* [0x25, range, float32 LE] */
};

enum { TB_PPK2_MODE_AMPERE = 1, TB_PPK2_MODE_SOURCE = 2 };

/* Calibration from the metadata. */
struct tb_ppk2_cal {
	double r[TB_PPK2_RANGES];
	double gs[TB_PPK2_RANGES];
	double gi[TB_PPK2_RANGES];
	double o[TB_PPK2_RANGES];
	double s[TB_PPK2_RANGES];
	double i[TB_PPK2_RANGES];
	double ug[TB_PPK2_RANGES];
	int calibrated;        /* "Calibrated: 1" */
	long hw;               /* "HW", -1 if absent */
	long ia;               /* "IA", -1 if absent */
	bool emulated;         /* "EMU" key (tinybench's emulator only) */
	unsigned keys;         /* calibration keys found */
};

/* Nordic's defaults: R = [1031.64, 101.65, 10.15, 0.94, 0.043] ohm,
 * GS = GI = UG = 1, O = S = I = 0. */
void tb_ppk2_cal_defaults(struct tb_ppk2_cal *cal);

/*
 * Parse the metadata text (len bytes, not NUL-terminated) into cal, which
 * starts from the defaults; "-nan" keeps a default.  Unknown keys are
 * ignored.  TB_ERR_PROTO when END is missing or a known key has a value
 * that is not a number; the message quotes the line.
 */
int tb_ppk2_parse_metadata(const char *text, size_t len, struct tb_ppk2_cal *cal,
			   struct tb_error *err);

/* Whether the metadata text is complete (ends with an END line). */
bool tb_ppk2_metadata_complete(const char *text, size_t len);

struct tb_ppk2_word {
	uint16_t adc;
	uint8_t range;
	uint8_t counter;
	uint8_t logic;
};

static inline struct tb_ppk2_word tb_ppk2_word_decode(uint32_t w)
{
	struct tb_ppk2_word s = {
		.adc = (uint16_t)(w & 0x3FFF),
		.range = (uint8_t)((w >> 14) & 7),
		.counter = (uint8_t)((w >> 18) & 63),
		.logic = (uint8_t)(w >> 24),
	};
	return s;
}

/* Current in amperes of one sample (range must be < 5). */
double tb_ppk2_current(const struct tb_ppk2_cal *cal, unsigned adc,
		       unsigned range, double vdd_mv);

/* Command encoders: write into buf (>= 6 bytes), return the length. */
size_t tb_ppk2_cmd_set_vdd(uint8_t *buf, unsigned mv);
size_t tb_ppk2_cmd_mode(uint8_t *buf, int mode);
size_t tb_ppk2_cmd_dut_power(uint8_t *buf, bool on);
size_t tb_ppk2_cmd_user_gain(uint8_t *buf, unsigned range, float gain);

/*
 * The stream decoder: bytes in (any split), samples and events out to a
 * sink.  Lost samples (counter gaps) are replaced by the last value and
 * reported as TB_POWER_EV_LOST; a change of the timestamp input is a
 * TB_POWER_EV_EDGE at the first sample of the new level.  A gap of 64
 * samples or more wraps the counter and is seen as its remainder.
 *
 * spike_filter: Nordic's app replaces the 3 samples after a range change
 * by a running average (alpha 0.18); off by default (the energy figures
 * are the raw samples).
 */
#define TB_PPK2_BLOCK 1024

struct tb_ppk2_decoder {
	struct tb_ppk2_cal cal;
	double vdd_mv;
	unsigned ts_bit;
	bool spike_filter;
	struct tb_power_sink sink;
	uint8_t partial[4];
	size_t n_partial;
	bool have_prev;
	uint8_t prev_counter;
	uint8_t prev_range;
	int level;             /* timestamp line, -1 before the first sample */
	uint64_t index;        /* next sample's index */
	uint64_t lost;         /* lost so far */
	uint64_t bad_words;    /* range > 4 */
	float last;
	unsigned spike_left;
	double spike_avg;
	float block[TB_PPK2_BLOCK];
	size_t n_block;
	uint64_t block_first;
	/* precomputed per range: I = UG*(x*(GS*x+GI) + S*vdd + I),
	 * x = (4 adc - O) * k */
	double k[TB_PPK2_RANGES];
	double c0[TB_PPK2_RANGES];
};

void tb_ppk2_decoder_init(struct tb_ppk2_decoder *d, const struct tb_ppk2_cal *cal,
			  double vdd_mv, unsigned ts_bit, bool spike_filter,
			  const struct tb_power_sink *sink);
void tb_ppk2_decoder_feed(struct tb_ppk2_decoder *d, const uint8_t *buf, size_t n);
/* Hand the buffered samples to the sink. */
void tb_ppk2_decoder_flush(struct tb_ppk2_decoder *d);

#endif
