/*
 * e2e_energy_db.h - what the energy end-to-end tests read back: the last
 * run's trials with their energy figures and power trace from the results
 * database, and the emulator's ground truth (--truth FILE, one JSON line
 * per window).  Failures are Criterion assertions.
 */
#ifndef E2E_ENERGY_DB_H
#define E2E_ENERGY_DB_H

#include <stddef.h>

struct trial_row {
	int idx;
	char status[16];
	char reason[512];
	long long inferences, ticks, timer_hz;
	double energy_uj, power_mw, window_ms, sample_hz;
	long long samples, lost;
	int has_energy;
	double trace_hz;
	int trace_bins;
	double trace_mean_mw;
	unsigned char output[64];   /* the first bytes of trials.output */
	int output_len;
	char input_hash[65];
};

/* A private folder for an energy test (e2e_tmpdir_new(), tmpl), the
 * results database and truth file paths in it, and the emulators of the
 * build tree found by the harness ($TINYBENCH_EMU_DIR). */
void e2e_energy_setup(char *dir, size_t dir_len, const char *tmpl, char *db, size_t db_len,
		      char *truth, size_t truth_len);

/* The trials of the last run in db (at most cap), in order; that run's
 * energy_method ("" if none) and status into method and status. */
int e2e_load_trials(const char *db, struct trial_row *rows, int cap, char *method,
		    size_t method_len, char *status, size_t status_len);

/* The energy (uJ) of the truth file's window that lasted duration_s
 * (within tol_s), or NaN. */
double e2e_truth_for(const char *truth, double duration_s, double tol_s);

#endif
