/*
 * protocol.h - the ST X-NUCLEO-LPM01A ("PowerShield") host protocol
 * (../shared/reference/instruments.md): ASCII command lines ending "\n";
 * replies `ack <cmd> [value]` or a line starting `error` followed by
 * `Error detail: <text>`.  During an acquisition:
 *
 *   ascii_dec  samples "6409-07" (= 6409e-7: four digits, exponent sign,
 *              two digits), several may share a line; "TimeStamp: 001s
 *              000ms, buff 00%" once a second; "event NN ris|fal" at a
 *              timestamp-line edge; "Acquisition completed" at the end.
 *   bin_hexa   big-endian 16-bit samples: high nibble = negative power-of-
 *              16 exponent, low 12 bits = mantissa (0x52A0 = 0x2A0 x 16^-5
 *              A); metadata records 0xF0 0xFx ... 0xFF 0xFF: F1 error text,
 *              F2 info text, F3 timestamp (4-byte big-endian ms + 1-byte
 *              buffer load), F4 end of acquisition, F5 overcurrent.
 *
 * Not in the facts we have, and chosen here (docs/ENERGY.md): in bin_hexa
 * an edge event arrives as an F2 info record whose text is the ascii line
 * ("event NN ris"); after F4 the device speaks ASCII again.
 *
 * With `output energy` a sample is the energy of one sample period in
 * joules; the decoder turns it into the mean current of that period,
 * E x rate / V, so that every driver delivers amperes.
 *
 * Lost samples: the instrument has no sample counter.  A TimeStamp says how
 * long the acquisition has run; fewer samples than that (beyond 1 ms of
 * tolerance) means samples were lost somewhere since the previous
 * TimeStamp: fillers are inserted and a TB_POWER_EV_LOST reports the span.
 * A TimeStamp more than TB_LPM01A_MAX_FILL_S ahead of the samples received
 * is not believed (filling it could take hours of samples): it is a
 * TB_POWER_EV_ERROR instead.
 */
#ifndef TB_LPM01A_PROTOCOL_H
#define TB_LPM01A_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"
#include "tb_power.h"

#define TB_LPM01A_VID 0x0483
#define TB_LPM01A_PID 0x5740
#define TB_LPM01A_BAUD 3686400
#define TB_LPM01A_VOLT_MIN_MV 1800
#define TB_LPM01A_VOLT_MAX_MV 3300
#define TB_LPM01A_ASCII_MAX_HZ 5000.0   /* ascii_dec, unlimited duration */
#define TB_LPM01A_ENERGY_MAX_HZ 10000.0 /* output energy */
#define TB_LPM01A_LINE_MAX 512
#define TB_LPM01A_MAX_FILL_S 120        /* seconds of samples a TimeStamp may fill */

/* "6409-07" (exactly 7 characters) -> 6.409e-4.  -1 if malformed. */
int tb_lpm01a_parse_ascii_dec(const char *s, size_t n, double *v);

/* 0x52A0 -> 672 x 16^-5 = 6.409e-4. */
double tb_lpm01a_bin_hexa(uint16_t w);

/* A number as the device reads one: "3000m", "2-3", "100k", "1.8", "5u";
 * "inf" is +infinity.  -1 if malformed. */
int tb_lpm01a_parse_number(const char *s, double *v);

/* The `freq` argument for a rate ("100k", "500"), or NULL if the device
 * has no such rate. */
const char *tb_lpm01a_freq_name(double hz);

/* A classified line (without "\r\n"; a leading "PowerShield > " prompt is
 * skipped). */
enum tb_lpm01a_line_kind {
	TB_LPM01A_LINE_EMPTY = 0,
	TB_LPM01A_LINE_ACK,        /* "ack <cmd> [value]": cmd, value */
	TB_LPM01A_LINE_ERROR,      /* "error ...": text */
	TB_LPM01A_LINE_DETAIL,     /* "Error detail: <text>": text */
	TB_LPM01A_LINE_TIMESTAMP,  /* ts_ms, buff_pct */
	TB_LPM01A_LINE_EVENT,      /* event_no, level */
	TB_LPM01A_LINE_SAMPLES,    /* only ascii_dec values */
	TB_LPM01A_LINE_COMPLETED,  /* "Acquisition completed" */
	TB_LPM01A_LINE_OTHER,
};

struct tb_lpm01a_line {
	enum tb_lpm01a_line_kind kind;
	const char *text;          /* the line, prompt skipped */
	char cmd[64];              /* ACK */
	const char *value;         /* ACK: after the command, "" if none */
	uint64_t ts_ms;            /* TIMESTAMP */
	unsigned buff_pct;
	unsigned event_no;         /* EVENT */
	int level;                 /* EVENT: 1 ris, 0 fal */
};

/* line is modified (trailing white space cut). */
void tb_lpm01a_classify(char *line, struct tb_lpm01a_line *out);

/* The acquisition stream decoder. */
struct tb_lpm01a_decoder {
	bool binary;               /* bin_hexa (until F4) */
	double hz;
	double volt_v;
	bool energy;               /* output energy: samples are joules */
	struct tb_power_sink sink;
	uint64_t index;            /* next sample's index */
	uint64_t ts_index;         /* index at the last TimeStamp */
	uint64_t lost;
	float last;
	bool completed;            /* "Acquisition completed" or F4 seen */
	char pending_error[TB_LPM01A_LINE_MAX];
	char line[TB_LPM01A_LINE_MAX];
	size_t n_line;
	bool line_overflow;
	/* bin_hexa state */
	int hi;                    /* first byte of a word, -1 none */
	int rec;                   /* record type 0xF1.. being read, 0 none */
	uint8_t rec_buf[TB_LPM01A_LINE_MAX];
	size_t n_rec;
	float block[1024];
	size_t n_block;
	uint64_t block_first;
};

void tb_lpm01a_decoder_init(struct tb_lpm01a_decoder *d, bool binary, double hz,
			    double volt_v, bool energy, const struct tb_power_sink *sink);
void tb_lpm01a_decoder_feed(struct tb_lpm01a_decoder *d, const uint8_t *buf, size_t n);
/* Deliver the buffered samples. */
void tb_lpm01a_decoder_flush(struct tb_lpm01a_decoder *d);
/* At the end: also an error line still waiting for its detail line. */
void tb_lpm01a_decoder_finish(struct tb_lpm01a_decoder *d);

#endif
