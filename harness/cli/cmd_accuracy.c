/*
 * cmd_accuracy.c - `tinybench run --mode accuracy` (score a dataset) and
 * `tinybench accuracy` (the metric of stored accuracy runs, recomputed
 * from their predictions).  docs/ACCURACY.md.
 */
#include "tb_accuracy.h"
#include "tb_cli.h"
#include "tb_dataset.h"
#include "tb_json.h"
#include "tb_select.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void run_usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench run --mode accuracy --dataset DIR --board BOARD\n"
		"                     (--workload W | --model FILE.tflite|FILE.tbnn) [options]\n"
		"\n"
		"Score every input of an MLPerf Tiny dataset (DIR/y_labels.csv and the\n"
		"files it names), one inference each (one per window for ad01): top-1\n"
		"accuracy for the classifiers, ROC AUC for anomaly detection.  Each\n"
		"input's prediction is stored: an interrupted run continues with\n"
		"--resume, and `tinybench accuracy RUN` recomputes the metric.\n"
		"\n"
		"  -b, --board BOARD      board name (`tinybench boards`)\n"
		"  -w, --workload NAME    workload (`tinybench workloads`); the built-in\n"
		"                         weights are not trained: use --model for a\n"
		"                         meaningful accuracy\n"
		"      --model FILE       the model: .tflite (imported) or .tbnn, run by the\n"
		"                         sim runner; with an EEMBC board, the model its\n"
		"                         firmware runs\n"
		"  -d, --dataset DIR      folder with y_labels.csv (MLPerf Tiny layout)\n"
		"      --input-format F   tensor | uint8-image | f32-windows (default: from\n"
		"                         the workload, else the dataset folder's name)\n"
		"      --limit N          score the first N rows only\n"
		"      --resume RUN|last  continue an accuracy run that stopped (last: the\n"
		"                         latest unfinished one of this board and dataset)\n"
		"      --no-pipeline      upload each input only after the last result\n"
		"                         (default: overlap when the device can)\n"
		"      --line-baud N      the line's rate, for a sim runner started with\n"
		"                         --runner-arg --baud --runner-arg N\n"
		"  -p, --port PORT        serial port\n"
		"      --db FILE          results database\n"
		"      --timeout MS       give up on one inference after MS ms (default:\n"
		"                         20 x the slowest so far + 1 s, 2..30 s)\n"
		"      --attempts N       tries per input when it fails on the link (board\n"
		"                         reset in between; default 3)\n"
		"      --runner-arg ARG   extra argument for the sim runner (repeatable)\n"
		"      --tag KEY=VALUE    label the stored run (repeatable)\n"
		"      --fault SPEC       damage the link (tests), as for performance runs\n"
		"      --json             print the result as JSON\n"
		"  -q, --quiet            no progress bar\n"
		"  -h, --help             this help\n"
		"\n"
		"Errors in the dataset (no y_labels.csv, a row with the wrong number of\n"
		"fields, a label out of range, a missing input file, a file of the wrong\n"
		"size) name the file and line; every input file is checked before the\n"
		"board is touched.  Exit codes: 0 ok, 1 run failed, 2 bad option or\n"
		"dataset, 3 unknown board/workload/dataset, 4 I/O or database error,\n"
		"130 interrupted (--resume continues it).  Accuracy runs always run in\n"
		"this process, not through tinybenchd.\n");
}

struct bar {
	int tty;
	int quiet;
	double last;
	int shown;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fmt_hms(double s, char *buf, size_t len)
{
	long t = isfinite(s) && s >= 0 ? (long)(s + 0.5) : -1;

	if (t < 0)
		snprintf(buf, len, "--:--");
	else if (t >= 3600)
		snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

static void on_progress(const struct tb_acc_progress *p, void *user)
{
	struct bar *b = user;
	char eta[32], el[32], line[160];
	int width = 30, fill;
	double now = now_s();

	if (p->message && !b->quiet) {
		fprintf(stderr, "%sinput %zu failed: %s; resetting the board\n",
			b->tty && b->shown ? "\r\033[K" : "", p->done + 1, p->message);
		return;
	}
	if (!b->tty || (now - b->last < 0.1 && p->done < p->total))
		return;
	b->last = now;
	fill = p->total ? (int)((double)p->done * width / (double)p->total) : 0;
	fmt_hms(p->eta_s, eta, sizeof(eta));
	fmt_hms(p->elapsed_s, el, sizeof(el));
	memset(line, 0, sizeof(line));
	for (int i = 0; i < width; i++)
		line[i] = i < fill ? '#' : '.';
	fprintf(stderr, "\r\033[K[%s] %zu/%zu %3.0f%%  %s elapsed, ETA %s", line, p->done,
		p->total, p->total ? 100.0 * (double)p->done / (double)p->total : 0.0, el, eta);
	b->shown = 1;
	fflush(stderr);
}

static void print_summary_lines(const struct tb_acc_summary *s)
{
	if (s->info.metric == TB_ACC_AUC) {
		printf("ROC AUC: %.4f over %zu files (MLPerf Tiny runner's \"Top 1%%\": %.1f)\n",
		       s->auc, s->n_stored, 100 * s->mlperf_ad_accuracy);
	} else {
		printf("top-1 accuracy: %.2f %% (%zu/%zu)", 100 * s->top1, s->correct, s->n_stored);
		if (!isnan(s->auc))
			printf("; one-vs-rest AUC %.4f", s->auc);
		printf("\n");
	}
}

static void print_result(const struct tb_acc_result *r)
{
	printf("run %lld: accuracy of %s on board %s (protocol %s), %s inputs\n",
	       (long long)r->run_id, r->workload, r->board, r->protocol, r->input_format);
	printf("dataset %s: %zu inputs, %zu scored now, %zu resumed, %zu inferences\n",
	       r->summary.info.dataset, r->n_inputs, r->n_scored, r->n_resumed, r->inferences);
	if (r->n_scored)
		printf("time: %.3f s scoring, %.3f ms per input (device %.3f ms), setup %.2f s%s\n",
		       r->scoring_s, 1e3 * r->seconds_per_input,
		       1e3 * r->device_s / (double)r->n_scored, r->setup_s,
		       r->pipelined ? "; uploads overlapped with inference" : "");
	if (r->n_scored) {
		printf("wire: %llu B host->device, %llu B device->host (%.0f B per input)",
		       (unsigned long long)r->wire_out, (unsigned long long)r->wire_in,
		       (double)(r->wire_out + r->wire_in) / (double)r->n_scored);
		if (r->bytes_per_sec)
			printf("; utilisation %.1f %% host->device, %.1f %% device->host of %u B/s\n",
			       100 * r->utilisation_out, 100 * r->utilisation_in, r->bytes_per_sec);
		else
			printf("; line not rate-limited (pty): at 115200 baud these bytes would take "
			       "%.3f s per input\n", (double)r->wire_out / (double)r->n_scored / 11520.0);
	}
	if (r->retries)
		printf("retries: %zu inputs run again after a board reset\n", r->retries);
	print_summary_lines(&r->summary);
	printf("stored in %s\n", r->db_path);
}

static void json_summary(struct tb_json *j, const struct tb_acc_summary *s)
{
	tb_json_key_string(j, "metric", tb_acc_metric_name(s->info.metric));
	tb_json_key_string(j, "dataset", s->info.dataset);
	tb_json_key_string(j, "labels_sha256", s->info.labels_sha256);
	tb_json_key_string(j, "input_format", s->info.input_format);
	tb_json_key_int(j, "inputs", s->info.n_inputs);
	tb_json_key_int(j, "stored", (int64_t)s->n_stored);
	if (s->info.metric == TB_ACC_TOP1) {
		tb_json_key_int(j, "correct", (int64_t)s->correct);
		tb_json_key_double(j, "top1", s->top1);
		tb_json_key_double(j, "auc_ovr", s->auc);
	} else {
		tb_json_key_double(j, "auc", s->auc);
		tb_json_key_double(j, "mlperf_ad_accuracy", s->mlperf_ad_accuracy);
	}
	tb_json_key_double(j, "device_us_mean", s->device_us_mean);
}

static void print_json(const struct tb_acc_result *r)
{
	struct tb_json *j = tb_json_new(stdout, 1);

	tb_json_begin_object(j);
	tb_json_key_int(j, "run_id", r->run_id);
	tb_json_key_string(j, "status", tb_store_run_status_name(r->status));
	tb_json_key_string(j, "reason", r->reason[0] ? r->reason : NULL);
	tb_json_key_string(j, "database", r->db_path);
	tb_json_key_string(j, "board", r->board);
	tb_json_key_string(j, "workload", r->workload);
	tb_json_key_string(j, "protocol", r->protocol);
	json_summary(j, &r->summary);
	tb_json_key_int(j, "scored", (int64_t)r->n_scored);
	tb_json_key_int(j, "resumed", (int64_t)r->n_resumed);
	tb_json_key_int(j, "inferences", (int64_t)r->inferences);
	tb_json_key_int(j, "retries", (int64_t)r->retries);
	tb_json_key_string(j, "pipelined", r->pipelined ? "yes" : "no");
	tb_json_key_double(j, "setup_s", r->setup_s);
	tb_json_key_double(j, "scoring_s", r->scoring_s);
	tb_json_key_double(j, "seconds_per_input", r->seconds_per_input);
	tb_json_key_double(j, "device_s", r->device_s);
	tb_json_key_uint(j, "wire_bytes_out", r->wire_out);
	tb_json_key_uint(j, "wire_bytes_in", r->wire_in);
	tb_json_key_uint(j, "line_bytes_per_sec", r->bytes_per_sec);
	tb_json_key_double(j, "utilisation_out", r->utilisation_out);
	tb_json_key_double(j, "utilisation_in", r->utilisation_in);
	tb_json_end_object(j);
	tb_json_free(j);
}

/* --resume last: the latest unfinished run on this board and dataset. */
static int resolve_last(const struct tb_acc_opts *o, int64_t *id, struct tb_error *err)
{
	char path[4096];
	struct tb_dataset *ds = NULL;
	struct tb_store *st = NULL;
	const struct tb_workload *wl = NULL;
	int rc;

	if (o->db_path)
		snprintf(path, sizeof(path), "%s", o->db_path);
	else if ((rc = tb_store_default_path(path, sizeof(path), err)) < 0)
		return rc;
	rc = tb_dataset_open(o->dataset, &ds, err);
	if (rc == TB_OK)
		rc = tb_store_open(path, &st, err);
	if (rc == TB_OK && o->workload) {
		wl = tb_session_find_workload(o->workload, NULL, 0);
		if (!wl)
			rc = tb_error_set(err, TB_ERR_NOTFOUND, "unknown workload '%s'", o->workload);
	}
	if (rc == TB_OK)
		rc = tb_accuracy_find_unfinished(st, o->board, wl ? wl->name : NULL,
						 ds->labels_sha256, id, err);
	if (rc == TB_OK && !*id)
		rc = tb_error_set(err, TB_ERR_NOTFOUND, "--resume last: no unfinished accuracy "
				  "run of %s on board %s", o->dataset, o->board);
	tb_store_close(st);
	tb_dataset_free(ds);
	return rc;
}

enum { OPT_MODE = 256, OPT_MODEL, OPT_FORMAT, OPT_LIMIT, OPT_RESUME, OPT_NO_PIPE,
       OPT_DB, OPT_TIMEOUT, OPT_ATTEMPTS, OPT_RUNNER_ARG, OPT_TAG, OPT_JSON,
       OPT_LINE_BAUD, OPT_FAULT, OPT_NO_DAEMON };

int tb_cmd_run_accuracy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "board", required_argument, NULL, 'b' },
		{ "workload", required_argument, NULL, 'w' },
		{ "model", required_argument, NULL, OPT_MODEL },
		{ "dataset", required_argument, NULL, 'd' },
		{ "input-format", required_argument, NULL, OPT_FORMAT },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "resume", required_argument, NULL, OPT_RESUME },
		{ "no-pipeline", no_argument, NULL, OPT_NO_PIPE },
		{ "line-baud", required_argument, NULL, OPT_LINE_BAUD },
		{ "port", required_argument, NULL, 'p' },
		{ "db", required_argument, NULL, OPT_DB },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "attempts", required_argument, NULL, OPT_ATTEMPTS },
		{ "runner-arg", required_argument, NULL, OPT_RUNNER_ARG },
		{ "fault", required_argument, NULL, OPT_FAULT },
		{ "no-daemon", no_argument, NULL, OPT_NO_DAEMON },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct tb_acc_opts o = { .pipeline = -1 };
	struct tb_acc_result *res;
	struct tb_error err = { 0 };
	struct bar bar = { 0 };
	const char *runner_args[17] = { 0 }, *tags[32], *model = NULL, *resume = NULL;
	char blob[4096] = "";
	int n_args = 0, n_tags = 0, json = 0, blob_tmp = 0, c, rc;
	long v;

	optind = 1;
	while ((c = getopt_long(argc, argv, "b:w:d:p:qh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_MODE:
			if (strcmp(optarg, "accuracy"))
				return tb_cli_usage_error("run", "--mode '%s' with accuracy options",
							  optarg);
			break;
		case 'b': o.board = optarg; break;
		case 'w': o.workload = optarg; break;
		case OPT_MODEL: model = optarg; break;
		case 'd': o.dataset = optarg; break;
		case OPT_FORMAT:
			{
				enum tb_input_format f;

				if (tb_input_format_parse(optarg, &f) < 0)
					return tb_cli_usage_error("run", "--input-format '%s': expected "
								  "tensor, uint8-image or f32-windows",
								  optarg);
				o.input_format = optarg;
			}
			break;
		case OPT_LIMIT:
			if (tb_cli_parse_int(optarg, 1, 10000000, &v) < 0)
				return tb_cli_usage_error("run", "--limit '%s': expected 1..10000000",
							  optarg);
			o.limit = (size_t)v;
			break;
		case OPT_RESUME: resume = optarg; break;
		case OPT_NO_PIPE: o.pipeline = 0; break;
		case OPT_LINE_BAUD:
			if (tb_cli_parse_int(optarg, 300, 100000000, &v) < 0)
				return tb_cli_usage_error("run", "--line-baud '%s': expected "
							  "300..100000000", optarg);
			o.line_baud = (uint32_t)v;
			break;
		case 'p': o.conn.port = optarg; break;
		case OPT_DB: o.db_path = optarg; break;
		case OPT_TIMEOUT:
			if (tb_cli_parse_int(optarg, 1, 86400000, &v) < 0)
				return tb_cli_usage_error("run", "--timeout '%s': expected milliseconds",
							  optarg);
			o.infer_timeout_ms = (int)v;
			break;
		case OPT_ATTEMPTS:
			if (tb_cli_parse_int(optarg, 1, 100, &v) < 0)
				return tb_cli_usage_error("run", "--attempts '%s': expected 1..100",
							  optarg);
			o.max_attempts = (int)v;
			break;
		case OPT_RUNNER_ARG:
			if (n_args >= 16)
				return tb_cli_usage_error("run", "too many --runner-arg");
			runner_args[n_args++] = optarg;
			break;
		case OPT_FAULT: o.conn.fault = optarg; break;
		case OPT_NO_DAEMON: break; /* accuracy runs are always in this process */
		case OPT_TAG:
			if (n_tags >= 32)
				return tb_cli_usage_error("run", "too many --tag (at most 32)");
			if (tb_tag_check_assignment(optarg, &err) < 0)
				return tb_cli_usage_error("run", "--%s", err.msg);
			tags[n_tags++] = optarg;
			break;
		case OPT_JSON: json = 1; break;
		case 'q': bar.quiet = 1; break;
		case 'h': run_usage(stdout); return 0;
		default: return tb_cli_usage_error("run", "bad option (accuracy mode: see "
						   "`tinybench run --mode accuracy --help`)");
		}
	}
	if (optind < argc)
		return tb_cli_usage_error("run", "unexpected argument '%s'", argv[optind]);
	if (!o.board)
		return tb_cli_usage_error("run", "--board is required (see `tinybench boards`)");
	if (!o.dataset)
		return tb_cli_usage_error("run", "--mode accuracy needs --dataset DIR");
	if (!o.workload == !model)
		return tb_cli_usage_error("run", "give --workload or --model FILE.tflite|FILE.tbnn");
	if (resume && strcmp(resume, "last")) {
		if (tb_cli_parse_int(resume, 1, 0x7FFFFFFF, &v) < 0)
			return tb_cli_usage_error("run", "--resume '%s': a run id or last", resume);
		o.resume_run_id = v;
	}
	o.conn.runner_args = n_args ? runner_args : NULL;
	o.tags = tags;
	o.n_tags = n_tags;
	o.conn.cancel = &tb_cli_cancel;
	bar.tty = !bar.quiet && isatty(STDERR_FILENO);
	o.progress = on_progress;
	o.user = &bar;
	tb_cli_catch_signals();

	if (resume && !o.resume_run_id) {
		int64_t id = 0;

		if (model)
			return tb_cli_usage_error("run", "--resume last needs --workload; give the "
						  "run id with --model");
		rc = resolve_last(&o, &id, &err);
		if (rc < 0)
			return tb_cli_fail(&err);
		o.resume_run_id = id;
	}
	if (model) {
		rc = tb_cli_model_blob_file(model, blob, sizeof(blob), &blob_tmp, &err);
		if (rc < 0)
			return tb_cli_fail(&err);
		o.model_path = blob;
	}
	res = calloc(1, sizeof(*res));
	if (!res)
		return 4;
	rc = tb_accuracy_run(&o, res, &err);
	if (blob_tmp)
		tb_cli_model_blob_remove(blob);
	if (bar.shown)
		fprintf(stderr, "\r\033[K");
	if (json)
		print_json(res);
	else if (res->run_id)
		print_result(res);
	if (rc < 0) {
		if (res->run_id)
			fprintf(stderr, "tinybench: run %lld %s: %s (%zu of %zu inputs stored; "
				"--resume %lld continues it)\n", (long long)res->run_id,
				tb_store_run_status_name(res->status), err.msg,
				res->summary.n_stored, res->n_inputs, (long long)res->run_id);
		else
			tb_cli_fail(&err);
	}
	free(res);
	return tb_exit_code(rc);
}

/* ---------------------------------------------------------------------- */

static void acc_usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench accuracy [RUN...] [--db FILE] [--json]\n"
		"\n"
		"The metric of stored accuracy runs (all of them without RUN), recomputed\n"
		"from each input's stored prediction: top-1 accuracy (and the one-vs-rest\n"
		"AUC) for classifiers, ROC AUC for anomaly detection.  `tinybench export\n"
		"--format csv --per input` writes the predictions themselves.\n");
}

struct acc_list {
	struct tb_store *st;
	struct tb_json *j;
	int rows;
};

static int show_run(struct acc_list *l, const struct tb_run *run)
{
	struct tb_acc_summary s;
	struct tb_error err;

	if (tb_store_acc_get(l->st, run->id, &s.info, NULL) < 0)
		return 0; /* not an accuracy run */
	if (tb_accuracy_summary(l->st, run->id, &s, &err) < 0)
		return -1;
	l->rows++;
	if (l->j) {
		tb_json_begin_object(l->j);
		tb_json_key_int(l->j, "run_id", run->id);
		tb_json_key_string(l->j, "status", tb_store_run_status_name(run->status));
		tb_json_key_string(l->j, "board", run->info.board);
		tb_json_key_string(l->j, "workload", run->info.workload);
		json_summary(l->j, &s);
		tb_json_end_object(l->j);
		return 0;
	}
	printf("run %lld (%s): %s on %s, %s: %zu/%lld inputs stored\n  ", (long long)run->id,
	       tb_store_run_status_name(run->status), run->info.workload, run->info.board,
	       s.info.dataset, s.n_stored, (long long)s.info.n_inputs);
	print_summary_lines(&s);
	return 0;
}

static int list_cb(const struct tb_run *run, void *user)
{
	return show_run(user, run);
}

int tb_cmd_accuracy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct acc_list l = { 0 };
	struct tb_error err = { 0 };
	const char *db = NULL;
	char path[4096];
	int c, rc = 0, json = 0;
	long v;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DB: db = optarg; break;
		case OPT_JSON: json = 1; break;
		case 'h': acc_usage(stdout); return 0;
		default: return tb_cli_usage_error("accuracy", "bad option");
		}
	}
	for (int i = optind; i < argc; i++)
		if (tb_cli_parse_int(argv[i], 1, 0x7FFFFFFF, &v) < 0)
			return tb_cli_usage_error("accuracy", "'%s' is not a run id", argv[i]);
	if (db)
		snprintf(path, sizeof(path), "%s", db);
	else if (tb_store_default_path(path, sizeof(path), &err) < 0)
		return tb_cli_fail(&err);
	if (access(path, F_OK) < 0) {
		tb_error_set(&err, TB_ERR_NOTFOUND, "no results database at %s", path);
		return tb_cli_fail(&err);
	}
	rc = tb_store_open(path, &l.st, &err);
	if (rc < 0)
		return tb_cli_fail(&err);
	if (json) {
		l.j = tb_json_new(stdout, 1);
		tb_json_begin_array(l.j);
	}
	if (optind == argc) {
		rc = tb_store_runs_foreach(l.st, NULL, list_cb, &l, &err);
	} else {
		for (int i = optind; i < argc && rc == 0; i++) {
			struct tb_run *run = NULL;
			struct tb_acc_info ai;

			tb_cli_parse_int(argv[i], 1, 0x7FFFFFFF, &v);
			rc = tb_store_run_get(l.st, v, &run, &err);
			if (rc == 0 && tb_store_acc_get(l.st, v, &ai, &err) < 0)
				rc = err.code;
			if (rc == 0)
				rc = show_run(&l, run);
			tb_store_run_free(run);
		}
	}
	if (l.j) {
		tb_json_end_array(l.j);
		tb_json_free(l.j);
	} else if (rc == 0 && !l.rows) {
		printf("(no accuracy runs)\n");
	}
	tb_store_close(l.st);
	if (rc > 0 || rc == -1)
		rc = tb_error_set(&err, TB_ERR_DB, "reading predictions failed");
	return rc < 0 ? tb_cli_fail(&err) : 0;
}
