/*
 * tb_accuracy.h - accuracy mode, MLPerf Tiny's third mode (docs/ACCURACY.md):
 * every input of a dataset (tb_dataset.h), one inference each (one per
 * window for anomaly detection), top-1 accuracy for the classifiers and
 * ROC AUC over files for anomaly detection.
 *
 * Each input's prediction or score is stored as soon as possible
 * (tb_store_accuracy.h; committed in batches of at most a second), so an
 * interrupted or failed run can be continued where it stopped
 * (resume_run_id) and the metric recomputed from the database alone
 * (tb_accuracy_summary).  With the tinybench protocol, on a device whose
 * port keeps receiving while it infers (TBP_CAP_RX_BUFFERED), the next
 * input's upload is sent right behind each INFER, so the two overlap
 * (docs/PROTOCOL.md, "Pipelined uploads").
 *
 * Ownership: the caller owns the options and the result; nothing here
 * prints.  Progress goes through the callback.
 */
#ifndef TB_ACCURACY_H
#define TB_ACCURACY_H

#include <stddef.h>
#include <stdint.h>

#include "tb_session.h"
#include "tb_store_accuracy.h"

struct tb_acc_progress {
	size_t done;               /* inputs scored (resumed ones included) */
	size_t total;              /* inputs of the run */
	size_t resumed;            /* of done, found stored */
	double elapsed_s;          /* since scoring began */
	double eta_s;              /* estimated seconds left, NaN early on */
	int64_t run_id;
	const char *message;       /* a retry: why; else NULL */
};

struct tb_acc_opts {
	const char *board;
	const char *workload;      /* name or alias; or NULL with model_path */
	const char *model_path;    /* a model blob (.tbnn) for the sim runner;
				    * with an EEMBC board, the model the
				    * firmware runs (for sizes and scales) */
	const char *dataset;       /* folder holding y_labels.csv */
	const char *input_format;  /* "tensor", "uint8-image", "f32-windows";
				    * NULL: tb_dataset_guess_format() */
	const char *db_path;       /* NULL: tb_store_default_path() */
	int64_t resume_run_id;     /* > 0: continue this accuracy run (same
				    * board, model and y_labels.csv): a running
				    * one in place, a finished one as a new run
				    * holding its predictions */
	size_t limit;              /* score the first N rows only; 0: all */
	int pipeline;              /* < 0 when the device allows (default),
				    * 0 never */
	uint32_t line_baud;        /* the line's rate when the board file does
				    * not say (a sim runner given --baud): for
				    * timeouts and wire utilisation; 0: none */
	int max_attempts;          /* per input, board reset in between; 0: 3 */
	int infer_timeout_ms;      /* 0: 30 s until one inference finished,
				    * then 20 x the slowest + 1 s (2..30 s) */
	const char *const *tags;   /* "key=value", stored with the run */
	int n_tags;
	struct tb_conn_opts conn;
	void (*progress)(const struct tb_acc_progress *p, void *user);
	void *user;
};

/* The metric, recomputed from stored predictions. */
struct tb_acc_summary {
	struct tb_acc_info info;
	size_t n_stored;           /* predictions in the database */
	size_t correct;            /* top-1 */
	double top1;               /* fraction, NaN for AD */
	double auc;                /* AD: ROC AUC over files; classifiers:
				    * one-vs-rest macro AUC of the normalised
				    * scores (as the MLPerf Tiny runner);
				    * NaN when not defined */
	double mlperf_ad_accuracy; /* AD: the MLPerf Tiny runner's "Top 1%"
				    * for a single score (best of 100
				    * thresholds of (precision + recall) / 2),
				    * a fraction; NaN otherwise */
	double device_us_mean;     /* mean device time per input */
};

struct tb_acc_result {
	int64_t run_id;            /* 0 if nothing was stored */
	char db_path[4096];
	char board[TBP_STR_BOARD + 1];
	char workload[TBP_STR_WL_NAME + 1];
	char protocol[16];         /* "tinybench", "eembc" */
	char input_format[32];
	enum tb_run_status status;
	char reason[TB_ERROR_MSG_MAX];
	struct tb_acc_summary summary;
	size_t n_inputs;           /* rows of the run */
	size_t n_scored;           /* scored by this call */
	size_t n_resumed;          /* found stored */
	size_t inferences;         /* run by this call (windows included) */
	size_t retries;            /* inputs run again after a board reset */
	int pipelined;             /* uploads overlapped the inferences */
	double setup_s;            /* connecting and checking */
	double scoring_s;          /* the loop: first upload to last result */
	double seconds_per_input;  /* scoring_s / n_scored */
	double device_s;           /* the device's own time of the inferences */
	uint64_t wire_out;         /* bytes host -> device while scoring */
	uint64_t wire_in;          /* device -> host */
	uint32_t bytes_per_sec;    /* line rate, 0 if not rate-limited */
	double utilisation_out;    /* wire_out / (scoring_s x rate); NaN if
				    * the line has no rate (a pty) */
	double utilisation_in;
};

/* Score a dataset and store it.  Returns 0 when every input was scored;
 * otherwise the error, with res->status/reason describing the stored run. */
int tb_accuracy_run(const struct tb_acc_opts *o, struct tb_acc_result *res,
		    struct tb_error *err);

/* Recompute a stored accuracy run's metric from its predictions. */
int tb_accuracy_summary(struct tb_store *s, int64_t run_id,
			struct tb_acc_summary *out, struct tb_error *err);

/* The latest accuracy run that is not finished scoring (fewer predictions
 * than rows) on this board and workload with this y_labels.csv digest, or
 * 0 (*run_id). */
int tb_accuracy_find_unfinished(struct tb_store *s, const char *board,
				const char *workload, const char *labels_sha256,
				int64_t *run_id, struct tb_error *err);

#endif
