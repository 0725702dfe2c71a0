/*
 * e2e_energy_db.c - reading back an energy run (e2e_energy_db.h).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_energy_db.h"
#include "e2e_util.h"

void e2e_energy_setup(char *dir, size_t dir_len, const char *tmpl, char *db, size_t db_len,
		      char *truth, size_t truth_len)
{
	char emu[1024];

	e2e_tmpdir_new(dir, dir_len, tmpl);
	snprintf(db, db_len, "%s/results.db", dir);
	snprintf(truth, truth_len, "%s/truth.json", dir);
	setenv("XDG_RUNTIME_DIR", dir, 1);
	snprintf(emu, sizeof(emu), "%s/power/emu", getenv("TB_BUILD_DIR"));
	setenv("TINYBENCH_EMU_DIR", emu, 1);
}

int e2e_load_trials(const char *db, struct trial_row *rows, int cap, char *method,
		    size_t method_len, char *status, size_t status_len)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	int n = 0;

	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, "SELECT coalesce(energy_method, ''), status FROM runs "
				       "ORDER BY id DESC LIMIT 1", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	snprintf(method, method_len, "%s", sqlite3_column_text(st, 0));
	snprintf(status, status_len, "%s", sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
	cr_assert_eq(sqlite3_prepare_v2(h,
		"SELECT t.idx, t.status, coalesce(t.reason, ''), t.inferences, t.ticks, t.timer_hz, "
		"t.energy_uj, t.power_mw, t.energy_window_ms, t.energy_sample_hz, "
		"t.energy_samples, t.energy_lost_samples, p.bin_hz, length(p.mw) / 4, p.mw, "
		"t.output, coalesce(t.input_hash, '') "
		"FROM trials t LEFT JOIN power_traces p ON p.run_id = t.run_id AND p.idx = t.idx "
		"WHERE t.run_id = (SELECT max(id) FROM runs) ORDER BY t.idx", -1, &st, NULL),
		SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && n < cap) {
		struct trial_row *r = &rows[n++];

		memset(r, 0, sizeof(*r));
		r->idx = sqlite3_column_int(st, 0);
		snprintf(r->status, sizeof(r->status), "%s", sqlite3_column_text(st, 1));
		snprintf(r->reason, sizeof(r->reason), "%s", sqlite3_column_text(st, 2));
		r->inferences = sqlite3_column_int64(st, 3);
		r->ticks = sqlite3_column_int64(st, 4);
		r->timer_hz = sqlite3_column_int64(st, 5);
		r->has_energy = sqlite3_column_type(st, 6) != SQLITE_NULL;
		r->energy_uj = sqlite3_column_double(st, 6);
		r->power_mw = sqlite3_column_double(st, 7);
		r->window_ms = sqlite3_column_double(st, 8);
		r->sample_hz = sqlite3_column_double(st, 9);
		r->samples = sqlite3_column_int64(st, 10);
		r->lost = sqlite3_column_int64(st, 11);
		r->trace_hz = sqlite3_column_double(st, 12);
		r->trace_bins = sqlite3_column_int(st, 13);
		if (r->trace_bins > 0) {
			const float *mw = sqlite3_column_blob(st, 14);
			double sum = 0;

			for (int i = 0; i < r->trace_bins; i++)
				sum += mw[i];
			r->trace_mean_mw = sum / r->trace_bins;
		}
		r->output_len = sqlite3_column_bytes(st, 15);
		if (r->output_len > (int)sizeof(r->output))
			r->output_len = (int)sizeof(r->output);
		if (r->output_len > 0)
			memcpy(r->output, sqlite3_column_blob(st, 15), (size_t)r->output_len);
		snprintf(r->input_hash, sizeof(r->input_hash), "%s",
			 sqlite3_column_text(st, 16));
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

double e2e_truth_for(const char *truth, double duration_s, double tol_s)
{
	FILE *f = fopen(truth, "r");
	char line[512];
	double best = NAN, best_d = 1e9;

	cr_assert_not_null(f, "the emulator wrote no ground truth (%s)", truth);
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "\"duration_s\":"), *q = strstr(line, "\"energy_uj\":");
		double d, e;

		cr_assert(p && q, "truth line: %s", line);
		d = strtod(p + 13, NULL);
		e = strtod(q + 12, NULL);
		if (fabs(d - duration_s) < best_d) {
			best_d = fabs(d - duration_s);
			best = e;
		}
	}
	fclose(f);
	return best_d < tol_s ? best : NAN;
}

