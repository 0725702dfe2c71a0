/*
 * tb_export_mlperf.h - stored results in the shapes MLPerf Tiny users know
 * (docs/EXPORT.md): the session folders of the MLPerf Tiny runner
 * (mlcommons/tiny benchmark/runner: sessions/<YYYYMMDD_HHMMSS>/results.txt
 * and results.json), and accuracy runs' predictions as CSV.
 *
 * Ownership: the caller owns the store, the selection and the stream.
 * Numbers are written in the C locale.  Errors: TB_ERR_IO with the
 * system's message, or the store's error.
 */
#ifndef TB_EXPORT_MLPERF_H
#define TB_EXPORT_MLPERF_H

#include <stdio.h>

#include "tb_err.h"
#include "tb_select.h"
#include "tb_store.h"

/*
 * One folder per selected run under dir (created if missing): named as the
 * MLPerf Tiny runner names its sessions, by the run's start time in UTC
 * (YYYYMMDD_HHMMSS; "_<run id>" added when two runs started in the same
 * second), holding results.txt and results.json.  Performance runs give the
 * runner's median-throughput lines, energy runs its "Power Edition Output",
 * accuracy runs "Top 1% =" and "AUC =".  *n_written: folders written.
 */
int tb_export_mlperf(struct tb_store *store, const struct tb_select *sel,
		     const char *dir, int *n_written, struct tb_error *err);

/*
 * The predictions of the selected accuracy runs as RFC 4180 CSV (CRLF),
 * one row per input: run_id, idx, file, label, predicted, score, windows,
 * input_sha256, device_us, at_ms, scores (the float32 values stored with
 * the prediction, separated by spaces).  Runs that are not accuracy runs
 * are skipped.
 */
int tb_export_predictions_csv(struct tb_store *store, const struct tb_select *sel,
			      FILE *out, struct tb_error *err);

#endif
