/*
 * tb_store_accuracy.h - accuracy runs in the results store (schema version
 * 4, docs/SCHEMA.md): which dataset a run scored and each input's
 * prediction or score, so that an interrupted run resumes where it stopped
 * and the metric can be recomputed from the database alone.
 *
 * An accuracy run is a row of `runs` (begun with tb_store_run_begin(),
 * finished with tb_store_run_finish(), no trials) plus one row of
 * `accuracy_runs` and one row of `predictions` per input.
 *
 * Ownership as in tb_store.h: what is passed in is copied; structs handed
 * to callbacks belong to the store and are valid during the call only.
 * Errors: 0 or a negative tb_err with a message naming the file and run.
 */
#ifndef TB_STORE_ACCURACY_H
#define TB_STORE_ACCURACY_H

#include <stddef.h>
#include <stdint.h>

#include "tb_store.h"

/* The metric of a run.  Stored as text ("top1", "auc"): append only. */
enum tb_acc_metric {
	TB_ACC_TOP1 = 0,   /* classifiers: top-1 accuracy */
	TB_ACC_AUC  = 1,   /* anomaly detection: ROC AUC over files */
};

struct tb_acc_info {
	int64_t run_id;
	char dataset[4096];        /* the dataset folder as given */
	char labels_sha256[65];    /* of its y_labels.csv */
	enum tb_acc_metric metric;
	int64_t n_inputs;          /* rows of y_labels.csv: the run's plan */
	int64_t num_classes;
	char input_format[32];     /* how files became inputs (tb_dataset.h) */
};

/* One input's outcome. */
struct tb_prediction {
	int64_t idx;               /* row of y_labels.csv, from 0 */
	const char *file;          /* as y_labels.csv names it */
	int64_t label;             /* the true class (AD: 0 normal, 1 anomaly) */
	int64_t predicted;         /* top-1 class; TB_STORE_UNKNOWN for AD */
	double score;              /* AD: the file's anomaly score (mean over
				    * windows); classifiers: the top-1 score
				    * (dequantised); NaN if none */
	int64_t windows;           /* inferences run for it (>= 1) */
	const char *input_sha256;  /* hex SHA-256 of the file */
	const void *output;        /* float32 little-endian: classifiers the
				    * dequantised output scores (as an EEMBC
				    * device's m-results), AD each window's
				    * error; or NULL */
	size_t output_len;
	double device_us;          /* the device's time for its inferences,
				    * microseconds; NaN if unknown */
	int64_t at;                /* Unix ms when it was scored */
};

const char *tb_acc_metric_name(enum tb_acc_metric m);

/* Mark a running run as an accuracy run.  TB_ERR_NOTFOUND for an unknown
 * run, TB_ERR_ARG for a finished one, one already marked, or bad fields. */
int tb_store_acc_begin(struct tb_store *s, const struct tb_acc_info *a,
		       struct tb_error *err);

/* The accuracy row of a run; TB_ERR_NOTFOUND when the run is not one. */
int tb_store_acc_get(struct tb_store *s, int64_t run_id, struct tb_acc_info *out,
		     struct tb_error *err);

/* Add n predictions in one transaction (a crash keeps all or none of
 * them).  The run must be running; an idx already stored is TB_ERR_ARG. */
int tb_store_predictions_add(struct tb_store *s, int64_t run_id,
			     const struct tb_prediction *p, size_t n,
			     struct tb_error *err);

typedef int (*tb_store_prediction_cb)(const struct tb_prediction *p, void *user);

/* Each prediction of a run in idx order.  Return as tb_store_runs_foreach(). */
int tb_store_predictions_foreach(struct tb_store *s, int64_t run_id,
				 tb_store_prediction_cb cb, void *user,
				 struct tb_error *err);

int tb_store_prediction_count(struct tb_store *s, int64_t run_id, int64_t *n,
			      struct tb_error *err);

/* Copy the predictions of run `from` into the running accuracy run `to`
 * (continuing a finished run as a new one); *n the number copied. */
int tb_store_predictions_copy(struct tb_store *s, int64_t from, int64_t to,
			      int64_t *n, struct tb_error *err);

#endif
