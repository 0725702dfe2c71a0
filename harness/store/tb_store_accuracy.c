/*
 * tb_store_accuracy.c - accuracy runs and predictions (tb_store_accuracy.h,
 * docs/SCHEMA.md, schema version 4).  Values are always bound.
 */
#include "tb_store_accuracy.h"
#include "tb_store_priv.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const metric_names[] = { "top1", "auc" };

const char *tb_acc_metric_name(enum tb_acc_metric m)
{
	return (unsigned)m < 2 ? metric_names[m] : NULL;
}

static int fail(struct tb_store *s, int rc, struct tb_error *err, const char *what)
{
	sqlite3 *db = tb_store_sqlite(s);
	int code = TB_ERR_DB;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = TB_ERR_BUSY;
		break;
	case SQLITE_CONSTRAINT:
		code = TB_ERR_ARG;
		break;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_READONLY:
		code = TB_ERR_IO;
		break;
	}
	return tb_error_set(err, code, "results database '%s': %s: %s", tb_store_path(s),
			    what, sqlite3_errmsg(db));
}

static int is_hex64(const char *h)
{
	if (!h || strlen(h) != 64)
		return 0;
	for (; *h; h++)
		if (!isxdigit((unsigned char)*h))
			return 0;
	return 1;
}

/* 1 running, 0 finished, TB_ERR_NOTFOUND unknown, < 0 error. */
static int run_running(struct tb_store *s, int64_t run_id, struct tb_error *err)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(tb_store_sqlite(s), "SELECT status FROM runs WHERE id = ?",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, err, "reading a run");
	sqlite3_bind_int64(st, 1, run_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		rc = t && !strcmp((const char *)t, "running");
	} else if (rc == SQLITE_DONE) {
		rc = tb_error_set(err, TB_ERR_NOTFOUND, "results database '%s': no run %lld",
				  tb_store_path(s), (long long)run_id);
	} else {
		rc = fail(s, rc, err, "reading a run");
	}
	sqlite3_finalize(st);
	return rc;
}

int tb_store_acc_begin(struct tb_store *s, const struct tb_acc_info *a,
		       struct tb_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!tb_acc_metric_name(a->metric) || a->n_inputs < 1 || a->num_classes < 1 ||
	    !a->dataset[0] || !a->input_format[0] || !is_hex64(a->labels_sha256))
		return tb_error_set(err, TB_ERR_ARG, "accuracy run %lld: bad fields",
				    (long long)a->run_id);
	rc = run_running(s, a->run_id, err);
	if (rc < 0)
		return rc;
	if (!rc)
		return tb_error_set(err, TB_ERR_ARG, "run %lld is finished",
				    (long long)a->run_id);
	rc = sqlite3_prepare_v2(tb_store_sqlite(s),
				"INSERT INTO accuracy_runs (run_id, dataset, labels_sha256, metric,"
				" n_inputs, num_classes, input_format) VALUES (?, ?, ?, ?, ?, ?, ?)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, err, "storing an accuracy run");
	sqlite3_bind_int64(st, 1, a->run_id);
	sqlite3_bind_text(st, 2, a->dataset, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, a->labels_sha256, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, tb_acc_metric_name(a->metric), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, a->n_inputs);
	sqlite3_bind_int64(st, 6, a->num_classes);
	sqlite3_bind_text(st, 7, a->input_format, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, rc, err, "storing an accuracy run");
	return TB_OK;
}

int tb_store_acc_get(struct tb_store *s, int64_t run_id, struct tb_acc_info *out,
		     struct tb_error *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = sqlite3_prepare_v2(tb_store_sqlite(s),
				"SELECT dataset, labels_sha256, metric, n_inputs, num_classes,"
				" input_format FROM accuracy_runs WHERE run_id = ?", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, err, "reading an accuracy run");
	sqlite3_bind_int64(st, 1, run_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *m = (const char *)sqlite3_column_text(st, 2);

		out->run_id = run_id;
		snprintf(out->dataset, sizeof(out->dataset), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		snprintf(out->labels_sha256, sizeof(out->labels_sha256), "%s",
			 (const char *)sqlite3_column_text(st, 1));
		out->metric = m && !strcmp(m, "auc") ? TB_ACC_AUC : TB_ACC_TOP1;
		out->n_inputs = sqlite3_column_int64(st, 3);
		out->num_classes = sqlite3_column_int64(st, 4);
		snprintf(out->input_format, sizeof(out->input_format), "%s",
			 (const char *)sqlite3_column_text(st, 5));
		rc = TB_OK;
	} else if (rc == SQLITE_DONE) {
		rc = tb_error_set(err, TB_ERR_NOTFOUND,
				  "run %lld is not an accuracy run", (long long)run_id);
	} else {
		rc = fail(s, rc, err, "reading an accuracy run");
	}
	sqlite3_finalize(st);
	return rc;
}

static int bind_prediction(sqlite3_stmt *st, int64_t run_id, const struct tb_prediction *p)
{
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, p->idx);
	sqlite3_bind_text(st, 3, p->file, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, p->label);
	if (p->predicted >= 0)
		sqlite3_bind_int64(st, 5, p->predicted);
	else
		sqlite3_bind_null(st, 5);
	if (isfinite(p->score))
		sqlite3_bind_double(st, 6, p->score);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, p->windows);
	sqlite3_bind_text(st, 8, p->input_sha256, -1, SQLITE_TRANSIENT);
	if (p->output && p->output_len)
		sqlite3_bind_blob(st, 9, p->output, (int)p->output_len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 9);
	if (isfinite(p->device_us))
		sqlite3_bind_double(st, 10, p->device_us);
	else
		sqlite3_bind_null(st, 10);
	sqlite3_bind_int64(st, 11, p->at);
	return 0;
}

int tb_store_predictions_add(struct tb_store *s, int64_t run_id,
			     const struct tb_prediction *p, size_t n,
			     struct tb_error *err)
{
	sqlite3 *db = tb_store_sqlite(s);
	sqlite3_stmt *st = NULL;
	char what[64];
	int rc;

	for (size_t i = 0; i < n; i++)
		if (p[i].idx < 0 || p[i].label < 0 || p[i].windows < 1 || !p[i].file ||
		    !is_hex64(p[i].input_sha256) || p[i].output_len > (1u << 30))
			return tb_error_set(err, TB_ERR_ARG,
					    "run %lld: prediction %lld has bad fields",
					    (long long)run_id, (long long)p[i].idx);
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, err, "cannot start a transaction");
	rc = run_running(s, run_id, err);
	if (rc <= 0) {
		if (rc == 0)
			rc = tb_error_set(err, TB_ERR_ARG, "run %lld is finished: no more "
					  "predictions", (long long)run_id);
		goto out;
	}
	rc = sqlite3_prepare_v2(db, "INSERT INTO predictions (run_id, idx, file, label,"
				" predicted, score, windows, input_sha256, output, device_us,"
				" at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(s, rc, err, "storing predictions");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bind_prediction(st, run_id, &p[i]);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE) {
			snprintf(what, sizeof(what), "storing prediction %lld", (long long)p[i].idx);
			rc = fail(s, rc, err, what);
			goto out;
		}
	}
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(s, rc, err, "cannot commit");
		goto out;
	}
	sqlite3_finalize(st);
	return TB_OK;
out:
	sqlite3_finalize(st);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int tb_store_predictions_foreach(struct tb_store *s, int64_t run_id,
				 tb_store_prediction_cb cb, void *user,
				 struct tb_error *err)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(tb_store_sqlite(s),
				"SELECT idx, file, label, predicted, score, windows, input_sha256,"
				" output, device_us, at FROM predictions WHERE run_id = ?"
				" ORDER BY idx", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, err, "reading predictions");
	sqlite3_bind_int64(st, 1, run_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tb_prediction p = {
			.idx = sqlite3_column_int64(st, 0),
			.file = (const char *)sqlite3_column_text(st, 1),
			.label = sqlite3_column_int64(st, 2),
			.predicted = sqlite3_column_type(st, 3) == SQLITE_NULL ?
				     TB_STORE_UNKNOWN : sqlite3_column_int64(st, 3),
			.score = sqlite3_column_type(st, 4) == SQLITE_NULL ? NAN :
				 sqlite3_column_double(st, 4),
			.windows = sqlite3_column_int64(st, 5),
			.input_sha256 = (const char *)sqlite3_column_text(st, 6),
			.output = sqlite3_column_blob(st, 7),
			.output_len = (size_t)sqlite3_column_bytes(st, 7),
			.device_us = sqlite3_column_type(st, 8) == SQLITE_NULL ? NAN :
				     sqlite3_column_double(st, 8),
			.at = sqlite3_column_int64(st, 9),
		};

		ret = cb(&p, user);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = fail(s, rc, err, "reading predictions");
	sqlite3_finalize(st);
	return ret;
}

int tb_store_prediction_count(struct tb_store *s, int64_t run_id, int64_t *n,
			      struct tb_error *err)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(tb_store_sqlite(s),
				"SELECT count(*) FROM predictions WHERE run_id = ?", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, err, "counting predictions");
	sqlite3_bind_int64(st, 1, run_id);
	rc = sqlite3_step(st);
	*n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? TB_OK : fail(s, rc, err, "counting predictions");
}

int tb_store_predictions_copy(struct tb_store *s, int64_t from, int64_t to,
			      int64_t *n, struct tb_error *err)
{
	sqlite3 *db = tb_store_sqlite(s);
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	rc = run_running(s, to, err);
	if (rc <= 0)
		return rc == 0 ? tb_error_set(err, TB_ERR_ARG, "run %lld is finished",
					      (long long)to) : rc;
	rc = sqlite3_prepare_v2(db, "INSERT INTO predictions (run_id, idx, file, label,"
				" predicted, score, windows, input_sha256, output, device_us, at)"
				" SELECT ?, idx, file, label, predicted, score, windows,"
				" input_sha256, output, device_us, at FROM predictions"
				" WHERE run_id = ?", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, err, "copying predictions");
	sqlite3_bind_int64(st, 1, to);
	sqlite3_bind_int64(st, 2, from);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, rc, err, "copying predictions");
	*n = sqlite3_changes(db);
	return TB_OK;
}
