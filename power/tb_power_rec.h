/*
 * tb_power_rec.h - the energy pipeline: record one trial's stream, find the
 * timed window from the timestamp edges, integrate V x I over it.
 *
 * A recorder is a tb_power_sink: it keeps every sample of the trial (float
 * amperes, 4 bytes a sample: 400 KB per second at the PPK2's 100 kS/s),
 * the edges, the lost-sample reports and the instrument's errors.  After
 * the acquisition, tb_power_rec_analyze() turns it into figures:
 *
 *   window   [a, b): a = the sample after the rising edge, b = the sample
 *            after the falling edge (or a + duration x rate when the
 *            instrument reports rising edges only); for timestamp pulses
 *            (EEMBC energy mode) a and b are the falling edges of the
 *            last two pulses
 *   energy   E = V x sum(I[a..b-1]) / rate            (joules)
 *   per inference E / N, mean power E / ((b - a) / rate)
 *   trace    mean power per bin of round(rate / bin_hz) samples (float mW)
 *
 * Nothing depends on one sample rate.  A trial fails, with a reason, when
 * the edges do not describe exactly the windows expected (missing or extra
 * edge), when more samples were lost in the window than allowed, when the
 * window is shorter than the minimum, or when the instrument reported an
 * error during the acquisition.
 *
 * Threads: the sink callbacks (a reader thread) and tb_power_rec_progress()
 * (another thread) may run at the same time; everything else needs the
 * acquisition to be over.  Ownership: the recorder owns its buffers; a
 * result's trace is malloc()ed and freed by tb_power_result_free().
 */
#ifndef TB_POWER_REC_H
#define TB_POWER_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"
#include "tb_power.h"

/* Samples a recorder keeps at most (512 MiB of floats: 22 minutes at
 * 100 kS/s); beyond it the trial fails with a clear reason. */
#define TB_POWER_REC_MAX_SAMPLES (1ull << 27)

struct tb_power_rec;

int tb_power_rec_new(struct tb_power_rec **out, struct tb_error *err);
void tb_power_rec_free(struct tb_power_rec *rec);

/* Forget everything; the next samples are from a new acquisition. */
void tb_power_rec_reset(struct tb_power_rec *rec);

/* The sink to hand to tb_power_start(). */
struct tb_power_sink tb_power_rec_sink(struct tb_power_rec *rec);

/* Counters, safe to read while the sink is being fed. */
struct tb_power_rec_progress {
	uint64_t samples;
	unsigned rises;
	unsigned falls;
	uint64_t last_edge;    /* index of the last edge */
	unsigned errors;       /* ERROR events */
	bool ended;            /* END event seen */
};
void tb_power_rec_progress(struct tb_power_rec *rec,
			   struct tb_power_rec_progress *p);

struct tb_power_window_params {
	double sample_hz;      /* the instrument's rate (> 0) */
	double voltage_v;      /* V in V x I (> 0) */
	uint64_t inferences;   /* N (> 0) */
	unsigned windows;      /* timed windows in the stream (>= 1): more
				* than one when the link repeated the batch;
				* the last one is measured */
	enum tb_power_edges edges;
	enum tb_power_ts_style style; /* level (tinybench) or pulses (EEMBC
				* energy mode: two pulses per window) */
	double duration_s;     /* the device's own length of the window;
				* needed with TB_POWER_EDGES_RISING */
	double min_window_s;   /* shorter windows fail (0: none) */
	double max_lost_frac;  /* lost samples allowed, fraction of the window */
	double bin_hz;         /* trace bins per second (0: 1000); at most
				* sample_hz */
	const char *instrument;/* for messages: "ppk2" */
};

struct tb_power_result {
	double energy_j;       /* over the window */
	double energy_uj;      /* per inference */
	double power_mw;       /* mean over the window */
	double window_s;       /* (b - a) / rate */
	uint64_t first;        /* a */
	uint64_t samples;      /* b - a */
	uint64_t lost;         /* lost samples in the window */
	double sample_hz;
	float *trace;          /* mW per bin, n_bins values, malloc()ed */
	size_t n_bins;
	double bin_hz;
};

int tb_power_rec_analyze(struct tb_power_rec *rec,
			 const struct tb_power_window_params *p,
			 struct tb_power_result *res, struct tb_error *err);
void tb_power_result_free(struct tb_power_result *res);

#endif
