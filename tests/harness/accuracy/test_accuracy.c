/*
 * test_accuracy.c - datasets (y_labels.csv through libcsv, with the error
 * of every malformed case naming the file and line), the metrics (top-1,
 * ROC AUC as exact fractions, ties), the predictions store and the
 * summary recomputed from it.  The end-to-end runs are in
 * tests/e2e/test_e2e_accuracy.c.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tb_accuracy.h"
#include "tb_dataset.h"
#include "tb_metrics.h"
#include "tb_store_accuracy.h"

static char dir[256];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tb-acc-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(dataset, .init = setup, .fini = teardown);
TestSuite(metrics);
TestSuite(predictions, .init = setup, .fini = teardown);

static void write_file(const char *name, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void labels(const char *text)
{
	write_file("y_labels.csv", text, strlen(text));
}

/* Opening fails with code, and the message holds every needle. */
static void open_fails(int code, const char *n1, const char *n2)
{
	struct tb_dataset *d = NULL;
	struct tb_error err = { 0 };

	cr_assert_eq(tb_dataset_open(dir, &d, &err), code, "got %d: %s", err.code, err.msg);
	cr_expect_null(d);
	cr_expect(strstr(err.msg, n1), "'%s' not in: %s", n1, err.msg);
	if (n2)
		cr_expect(strstr(err.msg, n2), "'%s' not in: %s", n2, err.msg);
}

Test(dataset, reads_the_mlperf_formats)
{
	struct tb_dataset *d;
	struct tb_error err = { 0 };

	labels("a.bin,12,7\nb.bin,12,0\r\n\nc.bin, 12 , 11\n");
	cr_assert_eq(tb_dataset_open(dir, &d, &err), 0, "%s", err.msg);
	cr_expect_eq(d->n, 3);
	cr_expect_eq(d->num_classes, 12);
	cr_expect_eq(d->items[2].label, 11);
	cr_expect_eq(d->items[2].line, 4, "line numbers count the blank line");
	cr_expect_str_eq(d->items[1].file, "b.bin");
	cr_expect_eq(strlen(d->labels_sha256), 64);
	cr_expect_not(d->windowed);
	tb_dataset_free(d);

	labels("file,num_classes,label,window_bytes,stride_bytes\n"
	       "normal_id_01_00000003_hist_librosa.bin,2,0,2560,512\n"
	       "\"anomaly_id_01.bin\",2,1,2560,512\n");
	cr_assert_eq(tb_dataset_open(dir, &d, &err), 0, "%s", err.msg);
	cr_expect_eq(d->n, 2, "the header line is not a row");
	cr_expect(d->windowed);
	cr_expect_eq(d->items[1].window_bytes, 2560);
	cr_expect_eq(d->items[1].stride_bytes, 512);
	cr_expect_str_eq(d->items[1].file, "anomaly_id_01.bin");
	tb_dataset_free(d);
}

Test(dataset, every_malformed_case_names_file_and_line)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/y_labels.csv", dir);
	open_fails(TB_ERR_NOTFOUND, path, "No such file");

	labels("a.bin,12,7\nb.bin,12\n");
	open_fails(TB_ERR_FORMAT, "y_labels.csv:2:", "2 fields; expected 3");
	labels("a.bin,12,7\nb.bin,12,1,2,3,4\n");
	open_fails(TB_ERR_FORMAT, "y_labels.csv:2:", "6 fields");
	labels("a.bin,12,7\nb.bin,12,1,2560,512\n");
	open_fails(TB_ERR_FORMAT, "y_labels.csv:2:", "5 fields, but the rows before have 3");
	labels("a.bin,12,7\n\nb.bin,12,12\n");
	open_fails(TB_ERR_FORMAT, "y_labels.csv:3:", "label 12 is out of range 0..11");
	labels("a.bin,2,-1\n");
	open_fails(TB_ERR_FORMAT, "y_labels.csv:1:", "label -1 is out of range 0..1");
	labels("a.bin,twelve,7\n");
	open_fails(TB_ERR_FORMAT, "y_labels.csv:1:", "num_classes 'twelve'");
	labels("a.bin,12,7.5\n");
	open_fails(TB_ERR_FORMAT, "y_labels.csv:1:", "label '7.5'");
	labels("a.bin,12,7\nb.bin,10,7\n");
	open_fails(TB_ERR_FORMAT, "y_labels.csv:2:", "num_classes 10, but");
	labels("../secret.bin,12,7\n");
	open_fails(TB_ERR_FORMAT, "y_labels.csv:1:", "inside the dataset folder");
	labels("/etc/passwd,12,7\n");
	open_fails(TB_ERR_FORMAT, "y_labels.csv:1:", "inside the dataset folder");
	labels("a.bin,2,0,0,512\n");
	open_fails(TB_ERR_FORMAT, "y_labels.csv:1:", "window_bytes");
	labels("\"a.bin,12,7\n");
	open_fails(TB_ERR_FORMAT, "y_labels.csv:", "not valid CSV");
	labels("");
	open_fails(TB_ERR_FORMAT, "y_labels.csv", "no rows");
}

Test(dataset, inputs_missing_or_of_the_wrong_size)
{
	const struct tb_workload *kws = tb_workload_by_name("kws01");
	struct tb_dataset *d;
	struct tb_error err = { 0 };
	uint8_t buf[490] = { 0 }, *data = NULL;
	char sha[65];
	size_t len;
	uint32_t n;

	labels("a.bin,12,1\nmissing.bin,12,2\nshort.bin,12,3\n");
	write_file("a.bin", buf, sizeof(buf));
	write_file("short.bin", buf, 100);
	cr_assert_eq(tb_dataset_open(dir, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_dataset_read(d, 0, kws, TB_INPUT_TENSOR, &data, &len, &n, sha, &err), 0,
		     "%s", err.msg);
	cr_expect_eq(len, 490);
	cr_expect_eq(n, 1);
	free(data);
	cr_expect_eq(tb_dataset_read(d, 1, kws, TB_INPUT_TENSOR, &data, &len, &n, sha, &err),
		     TB_ERR_NOTFOUND);
	cr_expect(strstr(err.msg, "y_labels.csv:2: input file") &&
		  strstr(err.msg, "missing.bin") && strstr(err.msg, "No such file"), "%s", err.msg);
	cr_expect_eq(tb_dataset_read(d, 2, kws, TB_INPUT_TENSOR, &data, &len, &n, sha, &err),
		     TB_ERR_FORMAT);
	cr_expect(strstr(err.msg, "y_labels.csv:3: input file") &&
		  strstr(err.msg, "has 100 bytes; kws01 takes exactly 490"), "%s", err.msg);
	tb_dataset_free(d);
}

Test(dataset, formats)
{
	const struct tb_workload *kws = tb_workload_by_name("kws01");
	const struct tb_workload *vww = tb_workload_by_name("vww01");
	const struct tb_workload *ad = tb_workload_by_name("ad01");
	struct tb_dataset *d;
	struct tb_error err = { 0 };
	float frames[7 * 128];
	uint8_t *data, tensor[640];
	size_t len;
	uint32_t n;
	char sha[65];

	labels("w.bin,2,1,2560,512\n");
	for (int i = 0; i < 7 * 128; i++)
		frames[i] = (float)(i % 50) * 0.1f - 2.0f;
	write_file("w.bin", frames, sizeof(frames));
	cr_assert_eq(tb_dataset_open(dir, &d, &err), 0, "%s", err.msg);
	cr_expect_eq(tb_dataset_guess_format(d, kws), TB_INPUT_TENSOR);
	cr_expect_eq(tb_dataset_guess_format(d, vww), TB_INPUT_UINT8_IMAGE);
	cr_expect_eq(tb_dataset_guess_format(d, ad), TB_INPUT_F32_WINDOWS);
	cr_expect_eq(tb_dataset_check_format(d, kws, TB_INPUT_UINT8_IMAGE, &err), TB_ERR_ARG,
		     "kws01's zero point is not -128");
	cr_expect_eq(tb_dataset_check_format(d, ad, TB_INPUT_F32_WINDOWS, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(tb_dataset_read(d, 0, ad, TB_INPUT_F32_WINDOWS, &data, &len, &n, sha,
				     &err), 0, "%s", err.msg);
	cr_expect_eq(n, 3, "7 frames, windows of 5, stride 1: %u", n);
	cr_assert_eq(tb_dataset_input(d, 0, ad, TB_INPUT_F32_WINDOWS, data, len, 2, tensor,
				      &err), 0, "%s", err.msg);
	/* Window 2 starts at frame 2; each value quantised. */
	for (int i = 0; i < 640; i += 97) {
		long q = lroundf(frames[2 * 128 + i] / ad->input_scale) + ad->input_zero_point;

		q = q < -128 ? -128 : q > 127 ? 127 : q;
		cr_expect_eq((int8_t)tensor[i], q, "value %d", i);
	}
	free(data);
	tb_dataset_free(d);

	labels("w.bin,2,1,2000,512\n");
	cr_assert_eq(tb_dataset_open(dir, &d, &err), 0, "%s", err.msg);
	cr_expect_eq(tb_dataset_check_format(d, ad, TB_INPUT_F32_WINDOWS, &err), TB_ERR_FORMAT);
	cr_expect(strstr(err.msg, "y_labels.csv:1: window_bytes 2000"), "%s", err.msg);
	tb_dataset_free(d);
}

/* ---------------------------------------------------------------------- */

Test(metrics, top1)
{
	int32_t label[] = { 1, 2, 3, 4 }, pred[] = { 1, 0, 3, 4 };

	cr_expect_float_eq(tb_metric_top1(label, pred, 4), 0.75, 1e-15);
	cr_expect(isnan(tb_metric_top1(label, pred, 0)));
}

static double auc(const double *s, const uint8_t *p, size_t n)
{
	double rank[16];
	size_t idx[16];

	return tb_metric_roc_auc(s, p, n, rank, idx);
}

Test(metrics, roc_auc_exact_fractions)
{
	/* Sorted by score, positives at ranks 2, 5, 6 of 6: (13 - 6) / 9. */
	double s1[] = { 0.1, 0.2, 0.3, 0.4, 0.5, 0.6 };
	uint8_t p1[] = { 0, 1, 0, 0, 1, 1 };
	/* Shuffled: the same. */
	double s2[] = { 0.5, 0.1, 0.6, 0.3, 0.2, 0.4 };
	uint8_t p2[] = { 1, 0, 1, 0, 1, 0 };
	/* Perfect, inverted, and a tie between a positive and a negative
	 * (half credit): positives {0.9, 0.5}, negatives {0.5, 0.1}: 3.5/4. */
	double s3[] = { 0.9, 0.5, 0.5, 0.1 };
	uint8_t p3[] = { 1, 1, 0, 0 }, p4[] = { 0, 0, 1, 1 }, none[] = { 0, 0, 0, 0 };

	cr_expect_float_eq(auc(s1, p1, 6), 7.0 / 9.0, 1e-15);
	cr_expect_float_eq(auc(s2, p2, 6), 7.0 / 9.0, 1e-15);
	cr_expect_float_eq(auc(s3, p3, 4), 0.875, 1e-15);
	cr_expect_float_eq(auc(s3, p4, 4), 0.125, 1e-15);
	cr_expect(isnan(auc(s3, none, 4)), "no positive: undefined");
}

Test(metrics, one_vs_rest)
{
	/* 3 classes, 3 inputs, each scoring its own class highest. */
	double sc[] = { 0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.1, 0.2, 0.7 };
	int32_t label[] = { 0, 1, 2 };
	double col[3], rank[3];
	uint8_t pos[3];
	size_t idx[3];

	cr_expect_float_eq(tb_metric_auc_ovr(sc, 3, label, 3, col, pos, rank, idx), 1.0, 1e-15);
}

/* ---------------------------------------------------------------------- */

Test(predictions, stored_recomputed_and_continued)
{
	struct tb_run_info ri = { .board = "sim", .workload = "kws01", .started_at = 1000,
				  .flash_bytes = -1, .static_ram_bytes = -1 };
	struct tb_acc_info ai = { .metric = TB_ACC_TOP1, .n_inputs = 4, .num_classes = 3 };
	struct tb_prediction p[4];
	struct tb_acc_summary s;
	struct tb_error err = { 0 };
	struct tb_store *st;
	char db[300];
	float out[4][3] = { { 0.8f, 0.1f, 0.1f }, { 0.1f, 0.8f, 0.1f },
			    { 0.1f, 0.1f, 0.8f }, { 0.8f, 0.1f, 0.1f } };
	int32_t label[4] = { 0, 1, 2, 2 };
	int64_t id, id2, n;

	snprintf(db, sizeof(db), "%s/r.db", dir);
	cr_assert_eq(tb_store_open(db, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_store_run_begin(st, &ri, &id, &err), 0, "%s", err.msg);
	ai.run_id = id;
	snprintf(ai.dataset, sizeof(ai.dataset), "/data/kws01");
	memset(ai.labels_sha256, 'a', 64);
	snprintf(ai.input_format, sizeof(ai.input_format), "tensor");
	cr_assert_eq(tb_store_acc_begin(st, &ai, &err), 0, "%s", err.msg);
	cr_expect_eq(tb_store_acc_begin(st, &ai, &err), TB_ERR_ARG, "marked twice");
	for (int i = 0; i < 4; i++) {
		p[i] = (struct tb_prediction){
			.idx = i, .file = "f.bin", .label = label[i],
			.predicted = i == 3 ? 0 : i, .score = 0.8, .windows = 1,
			.input_sha256 = "0123456789abcdef0123456789abcdef"
					"0123456789abcdef0123456789abcdef",
			.output = out[i], .output_len = sizeof(out[i]),
			.device_us = 100 + i, .at = 5,
		};
	}
	cr_assert_eq(tb_store_predictions_add(st, id, p, 2, &err), 0, "%s", err.msg);
	cr_expect_eq(tb_store_predictions_add(st, id, p + 1, 1, &err), TB_ERR_ARG,
		     "index 1 twice");
	cr_assert_eq(tb_store_prediction_count(st, id, &n, &err), 0);
	cr_expect_eq(n, 2, "the failed batch left nothing");
	/* Finished with 2 of 4: continued as a new run. */
	cr_assert_eq(tb_store_run_finish(st, id, TB_RUN_INTERRUPTED, "stop", 2000, &err), 0);
	cr_expect_eq(tb_store_predictions_add(st, id, p + 2, 1, &err), TB_ERR_ARG,
		     "no predictions in a finished run");
	cr_assert_eq(tb_store_run_begin(st, &ri, &id2, &err), 0, "%s", err.msg);
	ai.run_id = id2;
	cr_assert_eq(tb_store_acc_begin(st, &ai, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_store_predictions_copy(st, id, id2, &n, &err), 0, "%s", err.msg);
	cr_expect_eq(n, 2);
	cr_assert_eq(tb_store_predictions_add(st, id2, p + 2, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_accuracy_summary(st, id2, &s, &err), 0, "%s", err.msg);
	cr_expect_eq(s.n_stored, 4);
	cr_expect_eq(s.correct, 3);
	cr_expect_float_eq(s.top1, 0.75, 1e-15);
	cr_expect_float_eq(s.device_us_mean, 101.5, 1e-12);
	cr_expect(!isnan(s.auc), "one-vs-rest AUC from the stored scores");
	cr_expect_eq(tb_accuracy_summary(st, 999, &s, &err), TB_ERR_NOTFOUND);
	tb_store_close(st);
}
