/*
 * export_mlperf.c - MLPerf Tiny runner session folders and accuracy
 * predictions as CSV (tb_export_mlperf.h, docs/EXPORT.md).
 *
 * The session layout follows mlcommons/tiny benchmark/runner: main.py
 * writes sessions/<YYYYMMDD_HHMMSS>/results.txt through print_tee() (its
 * summary lines, each prefixed "MMDD.HHMMSS ulp-mlperf: ") and
 * results.json (json.dump of the list of per-step result dicts).
 */
#include "tb_export_mlperf.h"
#include "export_priv.h"
#include "tb_accuracy.h"
#include "tb_stats.h"
#include "tb_store_accuracy.h"
#include "tb_workload.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ----------------------------------------------------------------------
 * The runs' trials
 */
struct trial_list {
	struct tb_trial *t;        /* copies, strings and outputs dropped */
	uint8_t **out;             /* their outputs */
	size_t n, cap;
};

static int add_trial(const struct tb_run *run, const struct tb_trial *t, void *user)
{
	struct trial_list *l = user;

	(void)run;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct tb_trial *nt = realloc(l->t, cap * sizeof(*nt));
		uint8_t **no = nt ? realloc(l->out, cap * sizeof(*no)) : NULL;

		if (nt)
			l->t = nt;
		if (no)
			l->out = no;
		if (!nt || !no)
			return -1;
		l->cap = cap;
	}
	l->t[l->n] = *t;
	l->t[l->n].input_hash = l->t[l->n].reason = NULL;
	l->out[l->n] = NULL;
	if (t->output && t->output_len) {
		l->out[l->n] = malloc(t->output_len);
		if (!l->out[l->n])
			return -1;
		memcpy(l->out[l->n], t->output, t->output_len);
	}
	l->t[l->n].output = l->out[l->n];
	l->n++;
	return 0;
}

static void free_trials(struct trial_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->out[i]);
	free(l->out);
	free(l->t);
}

/* "MMDD.HHMMSS " of a Unix ms time, UTC. */
static void stamp(int64_t ms, char buf[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%m%d.%H%M%S ", &tm);
}

/* A trial's output as the runner's "results": float32 values from an
 * EEMBC device, a built-in workload's tensor dequantised, else bytes. */
static void results_array(struct tb_jw *j, const struct tb_run *run, const struct tb_trial *t)
{
	const struct tb_workload *wl = tb_workload_by_name(run->info.workload);
	const uint8_t *o = t->output;
	int eembc = run->info.timing_method &&
		    !strcmp(run->info.timing_method, "eembc-lap-us");

	tb_jw_begin_array(j);
	for (size_t i = 0; o && i < t->output_len; i++) {
		if (eembc) {
			float f;

			if (i % 4)
				continue;
			memcpy(&f, o + i, 4);
			tb_jw_real(j, f);
		} else if (wl && wl->output_dtype == TB_DTYPE_INT8) {
			tb_jw_real(j, (double)wl->output_scale * ((int8_t)o[i] - wl->output_zero_point));
		} else {
			tb_jw_int(j, o[i]);
		}
	}
	tb_jw_end_array(j);
}

static double trial_seconds(const struct tb_trial *t)
{
	return t->timer_hz > 0 ? (double)t->ticks / (double)t->timer_hz : NAN;
}

static void perf_session(const struct tb_run *run, const struct trial_list *l,
			 struct tb_writer *txt, struct tb_jw *j)
{
	char ts[32];
	double thr[1024], scratch[1024];
	size_t n = 0, short_trials = 0;
	int energy = run->info.energy_method != NULL;

	stamp(run->ended_at > 0 ? run->ended_at : run->info.started_at, ts);
	tb_jw_begin_array(j);
	for (size_t i = 0; i < l->n; i++) {
		const struct tb_trial *t = &l->t[i];
		double s = trial_seconds(t), us = s * 1e6;

		if (t->status != TB_TRIAL_OK)
			continue;
		tb_jw_begin_object(j);
		tb_jw_key(j, "infer");
		tb_jw_begin_object(j);
		tb_jw_key(j, "start_time");
		tb_jw_int(j, 0);
		tb_jw_key(j, "end_time");
		tb_jw_int(j, (int64_t)llround(us));
		tb_jw_key(j, "elapsed_time");
		tb_jw_int(j, (int64_t)llround(us));
		tb_jw_key(j, "results");
		results_array(j, run, t);
		tb_jw_key(j, "total_inferences");
		tb_jw_int(j, t->inferences);
		tb_jw_key(j, "iterations");
		tb_jw_int(j, t->inferences);
		tb_jw_key(j, "warmups");
		tb_jw_int(j, t->warmups);
		tb_jw_key(j, "throughput");
		tb_jw_real(j, s > 0 ? (double)t->inferences / s : NAN);
		tb_jw_end_object(j);
		if (energy) {
			tb_jw_key(j, "power");
			tb_jw_begin_object(j);
			tb_jw_key(j, "energy_method");
			tb_jw_str(j, run->info.energy_method);
			tb_jw_key(j, "energy_uj_per_inference");
			tb_jw_real(j, t->energy_uj);
			tb_jw_key(j, "power_mw");
			tb_jw_real(j, t->power_mw);
			tb_jw_key(j, "window_ms");
			tb_jw_real(j, t->energy_window_ms);
			tb_jw_end_object(j);
		}
		tb_jw_key(j, "mode");
		tb_jw_str(j, energy ? "e" : "p");
		tb_jw_end_object(j);
		if (n < 1024 && s > 0)
			thr[n++] = energy ? t->energy_uj : (double)t->inferences / s;
		if (!(s >= 10.0))
			short_trials++;
	}
	tb_jw_end_array(j);
	if (energy) {
		/* print_energy_results() */
		tb_w_str(txt, "Power Edition Output\n");
		for (size_t i = 0, k = 0; i < l->n; i++) {
			const struct tb_trial *t = &l->t[i];
			double win = t->energy_window_ms / 1000.0;

			if (t->status != TB_TRIAL_OK)
				continue;
			tb_w_printf(txt, "Energy data for trial %zu\n", k++);
			tb_w_printf(txt, "  Elapsed time  : %.17g%s\n", win,
				    win >= 10.0 ? "" : "  <<<< below minimum duration");
			tb_w_printf(txt, "  Inferences    : %lld\n", (long long)t->inferences);
			tb_w_printf(txt, "  Power         : %5.4f mW.\n", t->power_mw);
			tb_w_printf(txt, "  Total Energy  : %.3f uJ\n",
				    t->energy_uj * (double)t->inferences);
			tb_w_printf(txt, "  Energy/Inf    : %.3f uJ/inf\n", t->energy_uj);
		}
		tb_w_str(txt, "---------------------------------------------------------\n");
		if (n) {
			struct tb_stats st;

			tb_stats_summary(thr, n, scratch, &st, NULL);
			tb_w_printf(txt, "Median energy cost is %5.4f uJ/inf.\n", st.median);
		}
		tb_w_str(txt, "---------------------------------------------------------\n");
		return;
	}
	/* summarize_result(), performance mode */
	if (n != 5) {
		tb_w_printf(txt, "%sulp-mlperf: ERROR 1 - loop_count was not exactly 5.\n", ts);
	} else if (short_trials) {
		tb_w_printf(txt, "%sulp-mlperf: ERROR 2 - loop exited before 10 seconds "
			    "elapsed.\n", ts);
	} else {
		struct tb_stats st;

		tb_stats_summary(thr, n, scratch, &st, NULL);
		tb_w_printf(txt, "%sulp-mlperf: ---------------------------------------------------------\n", ts);
		tb_w_printf(txt, "%sulp-mlperf: Median throughput is %10.3f inf./sec.\n", ts,
			    st.median);
		tb_w_printf(txt, "%sulp-mlperf: ---------------------------------------------------------\n", ts);
	}
}

/* ----------------------------------------------------------------------
 * Accuracy runs
 */
struct acc_json {
	struct tb_jw *j;
	const struct tb_acc_info *ai;
};

static void str_num(struct tb_jw *j, int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%lld", (long long)v);
	tb_jw_str(j, b); /* the runner keeps y_labels.csv fields as text */
}

static int acc_entry(const struct tb_prediction *p, void *user)
{
	struct acc_json *a = user;
	struct tb_jw *j = a->j;
	size_t n = p->output_len / 4;
	int ad = a->ai->metric == TB_ACC_AUC;
	size_t entries = ad ? n : 1;

	for (size_t w = 0; w < entries; w++) {
		tb_jw_begin_object(j);
		tb_jw_key(j, "file");
		tb_jw_str(j, p->file);
		tb_jw_key(j, "classes");
		str_num(j, a->ai->num_classes);
		tb_jw_key(j, "class");
		str_num(j, p->label);
		tb_jw_key(j, "bytes_to_send");
		tb_jw_null(j);
		tb_jw_key(j, "stride");
		tb_jw_null(j);
		tb_jw_key(j, "total_length");
		if (ad)
			tb_jw_int(j, p->windows);
		else
			tb_jw_null(j);
		tb_jw_key(j, "infer");
		tb_jw_begin_object(j);
		tb_jw_key(j, "results");
		tb_jw_begin_array(j);
		for (size_t i = ad ? w : 0; i < (ad ? w + 1 : n); i++) {
			float f;

			memcpy(&f, (const uint8_t *)p->output + 4 * i, 4);
			tb_jw_real(j, f);
		}
		tb_jw_end_array(j);
		tb_jw_key(j, "elapsed_time");
		if (isfinite(p->device_us))
			tb_jw_int(j, (int64_t)llround(p->device_us / (double)entries));
		else
			tb_jw_null(j);
		tb_jw_key(j, "total_inferences");
		tb_jw_int(j, ad ? 1 : (int64_t)n);
		tb_jw_key(j, "iterations");
		tb_jw_int(j, 1);
		tb_jw_key(j, "warmups");
		tb_jw_int(j, 0);
		tb_jw_end_object(j);
		tb_jw_key(j, "mode");
		tb_jw_str(j, "a");
		tb_jw_end_object(j);
	}
	return 0;
}

static int acc_session(struct tb_store *st, const struct tb_run *run,
		       struct tb_writer *txt, struct tb_jw *j, struct tb_error *err)
{
	struct tb_acc_summary s;
	struct acc_json a = { .j = j };
	char ts[32];
	int rc;

	rc = tb_accuracy_summary(st, run->id, &s, err);
	if (rc < 0)
		return rc;
	a.ai = &s.info;
	stamp(run->ended_at > 0 ? run->ended_at : run->info.started_at, ts);
	tb_jw_begin_array(j);
	rc = tb_store_predictions_foreach(st, run->id, acc_entry, &a, err);
	tb_jw_end_array(j);
	if (rc < 0)
		return rc;
	tb_w_printf(txt, "%sulp-mlperf: Top 1%% = %2.1f\n", ts,
		    100 * (s.info.metric == TB_ACC_AUC ? s.mlperf_ad_accuracy : s.top1));
	tb_w_printf(txt, "%sulp-mlperf: AUC = %.3f\n", ts, s.auc);
	return TB_OK;
}

/* ----------------------------------------------------------------------
 * Sessions
 */
struct mlperf {
	struct tb_store *st;
	const char *dir;
	int n;
	int64_t last_second;
	struct tb_error *err;
	int rc;
};

struct session {
	struct mlperf *m;
	const struct tb_run *run;
	struct trial_list trials;
	int accuracy;
	char path[4096];
};

/* results.txt and results.json of one session, each written under a
 * temporary name and renamed when complete. */
static int write_session(struct session *s, struct tb_error *err)
{
	static const char *const names[2] = { "results.txt", "results.json" };
	char path[2][4200], tmp[2][4300];
	FILE *f[2] = { NULL, NULL };
	struct tb_writer w[2];
	struct tb_jw j;
	int rc = TB_OK;

	for (int i = 0; i < 2; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/%s", s->path, names[i]);
		snprintf(tmp[i], sizeof(tmp[i]), "%s.tmp", path[i]);
		f[i] = fopen(tmp[i], "w");
		if (!f[i]) {
			rc = tb_error_set(err, TB_ERR_IO, "cannot write '%s': %s", tmp[i],
					  strerror(errno));
			goto out;
		}
		memset(&w[i], 0, sizeof(w[i]));
		w[i].f = f[i];
	}
	memset(&j, 0, sizeof(j));
	j.w = &w[1];
	if (s->accuracy)
		rc = acc_session(s->m->st, s->run, &w[0], &j, err);
	else
		perf_session(s->run, &s->trials, &w[0], &j);
	tb_jw_finish(&j);
	for (int i = 0; i < 2 && rc == TB_OK; i++)
		rc = tb_w_finish(&w[i], names[i], err);
out:
	for (int i = 0; i < 2; i++) {
		if (f[i] && fclose(f[i]) != 0 && rc == TB_OK)
			rc = tb_error_set(err, TB_ERR_IO, "writing '%s': %s", path[i],
					  strerror(errno));
		if (f[i] && rc == TB_OK && rename(tmp[i], path[i]) < 0)
			rc = tb_error_set(err, TB_ERR_IO, "cannot rename to '%s': %s", path[i],
					  strerror(errno));
		if (f[i] && rc < 0)
			remove(tmp[i]);
	}
	return rc;
}

static int session_cb(const struct tb_run *run, void *user)
{
	struct mlperf *m = user;
	struct session s = { .m = m, .run = run };
	struct tb_store_filter f = { .run_id = run->id };
	struct tb_acc_info ai;
	time_t t = (time_t)(run->info.started_at / 1000);
	struct tm tm;
	char name[64];
	int rc;

	s.accuracy = tb_store_acc_get(m->st, run->id, &ai, NULL) == TB_OK;
	if (!s.accuracy) {
		rc = tb_store_trials_foreach(m->st, &f, add_trial, &s.trials, m->err);
		if (rc) {
			m->rc = rc < 0 ? rc : tb_error_set(m->err, TB_ERR_NOMEM, "out of memory");
			free_trials(&s.trials);
			return 1;
		}
	}
	gmtime_r(&t, &tm);
	strftime(name, sizeof(name), "%Y%m%d_%H%M%S", &tm);
	if (t == m->last_second)
		snprintf(name + strlen(name), sizeof(name) - strlen(name), "_%lld",
			 (long long)run->id);
	m->last_second = t;
	snprintf(s.path, sizeof(s.path), "%s/%s", m->dir, name);
	if (mkdir(s.path, 0777) < 0 && errno != EEXIST) {
		m->rc = tb_error_set(m->err, TB_ERR_IO, "cannot create '%s': %s", s.path,
				     strerror(errno));
		free_trials(&s.trials);
		return 1;
	}
	rc = write_session(&s, m->err);
	free_trials(&s.trials);
	if (rc < 0) {
		m->rc = rc;
		return 1;
	}
	m->n++;
	return 0;
}

struct mlperf_args {
	struct tb_store *st;
	const struct tb_select *sel;
	struct mlperf *m;
};

static int mlperf_body(void *arg)
{
	struct mlperf_args *a = arg;
	int rc = tb_select_runs_foreach(a->st, a->sel, session_cb, a->m, a->m->err);

	if (a->m->rc < 0)
		return a->m->rc;
	return rc < 0 ? rc : TB_OK;
}

int tb_export_mlperf(struct tb_store *store, const struct tb_select *sel,
		     const char *dir, int *n_written, struct tb_error *err)
{
	struct mlperf m = { .st = store, .dir = dir, .last_second = -1, .err = err };
	struct mlperf_args a = { store, sel, &m };
	int rc;

	*n_written = 0;
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		return tb_error_set(err, TB_ERR_IO, "cannot create '%s': %s", dir, strerror(errno));
	rc = tb_with_c_locale(mlperf_body, &a, err);
	*n_written = m.n;
	return rc;
}

/* ----------------------------------------------------------------------
 * Predictions as CSV
 */
struct pred_csv {
	struct tb_writer w;
	struct tb_store *st;
	int64_t run_id;
	struct tb_error *err;
};

static void put_text(struct pred_csv *c, const char *s)
{
	if (c->w.failed)
		return;
	errno = 0;
	if (csv_fwrite(c->w.f, s && *s ? s : "", s ? strlen(s) : 0) == EOF) {
		c->w.failed = 1;
		c->w.errno_at_fail = errno ? errno : EIO;
	}
}

static void put_real(struct pred_csv *c, double v)
{
	char b[40];

	if (isfinite(v))
		tb_w_raw(&c->w, b, tb_fmt_real(b, sizeof(b), v));
}

static int pred_row(const struct tb_prediction *p, void *user)
{
	struct pred_csv *c = user;
	char b[40];

	tb_w_printf(&c->w, "%lld,%lld,", (long long)c->run_id, (long long)p->idx);
	put_text(c, p->file);
	tb_w_printf(&c->w, ",%lld,", (long long)p->label);
	if (p->predicted >= 0)
		tb_w_printf(&c->w, "%lld", (long long)p->predicted);
	tb_w_raw(&c->w, ",", 1);
	put_real(c, p->score);
	tb_w_printf(&c->w, ",%lld,", (long long)p->windows);
	put_text(c, p->input_sha256);
	tb_w_raw(&c->w, ",", 1);
	put_real(c, p->device_us);
	tb_w_printf(&c->w, ",%lld,\"", (long long)p->at);
	for (size_t i = 0; i + 4 <= p->output_len; i += 4) {
		float f;

		memcpy(&f, (const uint8_t *)p->output + i, 4);
		if (i)
			tb_w_raw(&c->w, " ", 1);
		tb_w_raw(&c->w, b, tb_fmt_real(b, sizeof(b), f));
	}
	tb_w_raw(&c->w, "\"\r\n", 3);
	return c->w.failed ? 1 : 0;
}

static int pred_run(const struct tb_run *run, void *user)
{
	struct pred_csv *c = user;
	struct tb_acc_info ai;
	int rc;

	if (tb_store_acc_get(c->st, run->id, &ai, NULL) < 0)
		return 0;
	c->run_id = run->id;
	rc = tb_store_predictions_foreach(c->st, run->id, pred_row, c, c->err);
	return rc < 0 ? rc : rc > 0 ? 1 : 0;
}

struct pred_args {
	struct tb_store *st;
	const struct tb_select *sel;
	struct pred_csv *c;
};

static int pred_body(void *arg)
{
	struct pred_args *a = arg;
	int rc;

	tb_w_str(&a->c->w, "run_id,idx,file,label,predicted,score,windows,input_sha256,"
		 "device_us,at_ms,scores\r\n");
	rc = tb_select_runs_foreach(a->st, a->sel, pred_run, a->c, a->c->err);
	if (rc < 0)
		return rc;
	return tb_w_finish(&a->c->w, "CSV export", a->c->err);
}

int tb_export_predictions_csv(struct tb_store *store, const struct tb_select *sel,
			      FILE *out, struct tb_error *err)
{
	struct pred_csv c = { .w = { .f = out }, .st = store, .err = err };
	struct pred_args a = { store, sel, &c };

	return tb_with_c_locale(pred_body, &a, err);
}
