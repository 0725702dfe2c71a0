/*
 * cmd_run.c - `tinybench run`: measure a workload on a board.
 */
#include "tb_cli.h"
#include "tb_json.h"
#include "tb_select.h"
#include "tb_session.h"
#include "tb_workload.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench run --board BOARD --workload WORKLOAD [options]\n"
		"\n"
		"Run T trials of N timed inferences (after W warm-ups) on the board and\n"
		"store every finished trial in the results database.  N is chosen so a\n"
		"trial lasts at least --min-time seconds.\n"
		"\n"
		"  -b, --board BOARD      board name (`tinybench boards`)\n"
		"  -w, --workload NAME    workload (`tinybench workloads`), e.g. kws\n"
		"      --mode MODE        performance (default) or accuracy: score a\n"
		"                         dataset (`tinybench run --mode accuracy --help`)\n"
		"      --model FILE       run a model instead: .tflite (imported) or .tbnn;\n"
		"                         QEMU boards build an image carrying it, real\n"
		"                         boards run the one `flash --model` wrote\n"
		"                         (docs/IMPORTER.md)\n"
		"  -i, --input FILE       raw input tensor for every trial (default:\n"
		"                         deterministic test inputs, seed = trial number)\n"
		"  -t, --trials T         number of trials (default 5)\n"
		"      --min-time SEC     minimum length of a trial (default 1)\n"
		"      --warmups W        warm-up inferences per trial (default: N/10, 1..10)\n"
		"      --profile NAME     default | mlperf (5 trials of >= 10 s)\n"
		"  -p, --port PORT        serial port, or the pty of a runner started\n"
		"                         with `tinybench-runner-native --pty`\n"
		"      --db FILE          results database (default\n"
		"                         $XDG_DATA_HOME/tinybench/results.db)\n"
		"      --timeout MS       give up on an inference batch after MS ms\n"
		"                         (default: from the calibration)\n"
		"      --json             print the whole run as JSON on stdout\n"
		"  -q, --quiet            no progress line\n"
		"      --attempts N       tries per trial when it fails on the link (board\n"
		"                         reset in between; default 3, 1 = no retry)\n"
		"      --firmware FILE    QEMU board: run this firmware ELF (default:\n"
		"                         build/fw/<board>/, or with --model\n"
		"                         build/fw/<board>-model-<hash>/, built if missing)\n"
		"      --runner-arg ARG   extra argument for the sim runner, or a QEMU\n"
		"                         firmware test hook: hang-at=N (tests)\n"
		"      --tag KEY=VALUE    label the stored run, e.g. git.commit=1f0e2d3\n"
		"                         (repeatable; filter with --tag on results,\n"
		"                         export, compare, report, check)\n"
		"      --no-daemon        run in this process even when tinybenchd owns\n"
		"                         the board (by default it runs the job and this\n"
		"                         command streams its progress; docs/DAEMON.md)\n"
		"      --fault SPEC       damage the link (tests): ber=1e-3,drop=..,\n"
		"                         stall=RATE:MS,delay=MS,dir=tx|rx|both,seed=N\n"
		"      --energy MONITOR   measure energy per inference with ppk2[:PORT],\n"
		"                         lpm01a[:PORT] or default (the board file's\n"
		"                         energy_monitor); on board sim the emulated\n"
		"                         instrument is started (docs/ENERGY.md)\n"
		"      --energy-rate HZ   monitor sample rate (default: the monitor's)\n"
		"      --energy-min-window MS  shorter timed windows fail (default 100)\n"
		"      --energy-max-lost FRACTION  lost samples allowed in a window\n"
		"                         (default 0.001; 0 = none)\n"
		"      --energy-arg ARG   extra argument for the emulated monitor (tests)\n"
		"  -h, --help             this help\n"
		"\n"
		"Exit codes: 0 ok, 1 run failed (device, protocol, timeout, output\n"
		"mismatch), 2 bad option or input, 3 unknown board/workload/port,\n"
		"4 I/O or database error, 5 port busy, 130 interrupted.\n");
}

struct prog {
	int tty;
	int shown;
	int quiet;
};

static void on_progress(const struct tb_progress *p, void *user)
{
	struct prog *pr = user;
	const char *what;

	if (p->phase == TB_PHASE_RETRY && !pr->quiet) {
		fprintf(stderr, "%s%s, attempt %d failed: %s; resetting the board\n",
			pr->tty ? "\r\033[K" : "", p->inferences ? "trial" : "calibration",
			p->attempt, p->message ? p->message : "");
		return;
	}
	if (!pr->tty)
		return;
	switch (p->phase) {
	case TB_PHASE_CONNECT:
		what = "connecting";
		fprintf(stderr, "\r\033[K%s...", what);
		break;
	case TB_PHASE_CALIBRATE:
		fprintf(stderr, "\r\033[Kcalibrating N...");
		break;
	case TB_PHASE_TRIAL:
		fprintf(stderr, "\r\033[Ktrial %d/%d: %lu inferences (%.0f s elapsed)",
			p->trial + 1, p->trials, (unsigned long)p->inferences,
			p->elapsed_s);
		break;
	case TB_PHASE_DONE:
		fprintf(stderr, "\r\033[K");
		break;
	case TB_PHASE_RETRY:
		break;
	}
	pr->shown = 1;
	fflush(stderr);
}

static void print_output(FILE *out, const uint8_t *o, size_t n, uint8_t dtype)
{
	if (dtype == TB_DTYPE_FLOAT32) { /* EEMBC results */
		for (size_t i = 0; i + 4 <= n && i < 32; i += 4) {
			float f;

			memcpy(&f, o + i, 4);
			fprintf(out, "%s%.3f", i ? "," : "", f);
		}
		if (n > 32)
			fprintf(out, ",...");
		return;
	}
	for (size_t i = 0; i < n && i < 16; i++)
		fprintf(out, "%s%d", i ? "," : "",
			dtype == TB_DTYPE_INT8 ? (int)(int8_t)o[i] : (int)o[i]);
	if (n > 16)
		fprintf(out, ",...");
}

static const struct tbp_workload_info *dev_wl(const struct tb_run_result *r)
{
	for (unsigned i = 0; i < r->caps.n_workloads; i++)
		if (!strcmp(r->caps.workloads[i].name, r->workload))
			return &r->caps.workloads[i];
	return NULL;
}

/* The first lines of the table: the run, the board and the runner. */
static void print_header(const struct tb_run_result *r)
{
	printf("run %lld: board %s (%s), workload %s, model %.16s\n",
	       (long long)r->run_id, r->board, r->caps.cpu, r->workload, r->model_hash);
	printf("runner %s build %s; %d trials x %lu inferences (+%lu warm-up)\n",
	       r->caps.runner_version, r->caps.build_id, r->n_trials,
	       (unsigned long)r->inferences, (unsigned long)r->warmups);
}

/* The last lines: memory, firmware, timing, energy, where it is stored. */
static void print_footer(const struct tb_run_result *r)
{
	if (r->protocol == TB_DUT_EEMBC)
		printf("memory: not reported (EEMBC protocol; docs/EEMBC.md)\n");
	else
		printf("memory: stack peak %lld B of %lu, arena peak %lld B of %lu "
		       "(planned %lu)\n",
		       (long long)r->stack_peak, (unsigned long)r->caps.stack_size,
		       (long long)r->arena_peak, (unsigned long)r->caps.arena_size,
		       (unsigned long)r->arena_planned);
	if (r->flash_bytes >= 0)
		printf("firmware: flash %lld B, static RAM %lld B, sha256 %.16s\n",
		       (long long)r->flash_bytes, (long long)r->static_ram_bytes,
		       r->firmware_sha256);
	if (r->protocol == TB_DUT_EEMBC)
		printf("timing: %s; outputs: the device's m-results scores, not checked "
		       "(EEMBC firmware reports no model digest)\n", r->timing_method);
	else
		printf("timing: %s; outputs checked against the host: %d/%d match\n",
		       r->timing_method, r->output_checked - r->output_mismatch,
		       r->output_checked);
	tb_cli_print_energy(r);
	printf("stored in %s\n", r->db_path);
}

/*
 * A board whose ticks are emulated instructions (QEMU -icount): the figure
 * is an exact instruction count; milliseconds are only an estimate at the
 * board's nominal clock, one instruction per cycle.  Never "measured".
 */
static void print_table_insns(const struct tb_run_result *r)
{
	const struct tbp_workload_info *w = dev_wl(r);
	double mhz = r->caps.timer_hz / 1e6;
	double ipi[1024], scratch[1024];
	struct tb_stats s = { 0 };
	size_t n = 0;

	print_header(r);
	printf("\n%-5s %10s %16s %16s %16s %12s %9s %9s  %s\n", "trial", "inferences",
	       "instructions", "instr/inf min", "instr/inf max", "est. ms", "stack B",
	       "arena B", "output");
	for (int i = 0; i < r->n_trials; i++) {
		const struct tb_trial *t = &r->trials[i].t;

		if (t->status != TB_TRIAL_OK) {
			printf("%-5d failed: %s\n", i + 1, t->reason ? t->reason : "");
			continue;
		}
		if (n < 1024)
			ipi[n++] = (double)t->ticks / (double)t->inferences;
		printf("%-5d %10lld %16llu %16.0f %16.0f %12.4f %9lld %9lld  ", i + 1,
		       (long long)t->inferences, (unsigned long long)t->ticks,
		       t->inf_min_ms * r->caps.timer_hz / 1e3,
		       t->inf_max_ms * r->caps.timer_hz / 1e3, t->latency_ms,
		       (long long)t->stack_peak, (long long)t->arena_peak);
		print_output(stdout, t->output, t->output_len,
			     w ? w->output_dtype : TB_DTYPE_INT8);
		printf(" [%s]\n", tb_store_output_check_name(t->output_check));
	}
	if (r->n_trials == r->n_failed)
		return;
	tb_stats_summary(ipi, n, scratch, &s, NULL);
	printf("\ninstructions per inference (exact, emulated; mean over each trial): "
	       "median %.0f, min %.0f, max %.0f", s.median, s.min, s.max);
	if (r->macs)
		printf("; %.2f instructions per MAC", s.median / r->macs);
	printf("\nestimated ms at %.1f MHz (1 instruction per cycle, not a measurement): "
	       "median %.4f, min %.4f, max %.4f\n", mhz, r->latency_ms.median,
	       r->latency_ms.min, r->latency_ms.max);
	print_footer(r);
}

static void print_table(const struct tb_run_result *r)
{
	const struct tbp_workload_info *w = dev_wl(r);
	int emu = (r->caps.flags & TBP_CAP_TICKS_ARE_INSNS) != 0;

	if (emu) {
		print_table_insns(r);
		return;
	}

	print_header(r);
	printf("\n%-5s %10s %12s %12s %12s %9s %9s  %s\n", "trial", "inferences",
	       "latency ms", "min ms", "max ms", "stack B", "arena B", "output");
	for (int i = 0; i < r->n_trials; i++) {
		const struct tb_trial *t = &r->trials[i].t;

		if (t->status != TB_TRIAL_OK) {
			printf("%-5d failed: %s\n", i + 1, t->reason ? t->reason : "");
			continue;
		}
		printf("%-5d %10lld %12.4f %12.4f %12.4f %9lld %9lld  ", i + 1,
		       (long long)t->inferences, t->latency_ms, t->inf_min_ms,
		       t->inf_max_ms, (long long)t->stack_peak, (long long)t->arena_peak);
		print_output(stdout, t->output, t->output_len,
			     r->protocol == TB_DUT_EEMBC ? TB_DTYPE_FLOAT32 :
			     w ? w->output_dtype : TB_DTYPE_INT8);
		printf(" [%s]\n", tb_store_output_check_name(t->output_check));
	}
	if (r->n_trials == r->n_failed)
		return;
	printf("\nlatency (mean per inference, over trials): median %.4f ms, "
	       "min %.4f, max %.4f, p90 %.4f%s\n",
	       r->latency_ms.median, r->latency_ms.min, r->latency_ms.max,
	       r->latency_ms.p90, emu ? " (emulated)" : "");
	printf("throughput: %.1f inferences/s", r->throughput);
	if (r->macs)
		printf(", %.1f MMAC/s", r->throughput * r->macs / 1e6);
	printf("\n");
	print_footer(r);
}

static void json_trial(struct tb_json *j, const struct tb_trial_result *tr)
{
	const struct tb_trial *t = &tr->t;

	tb_json_begin_object(j);
	tb_json_key_int(j, "trial", t->idx + 1);
	tb_json_key_string(j, "status", tb_store_trial_status_name(t->status));
	tb_json_key_string(j, "reason", t->reason);
	tb_json_key_int(j, "inferences", t->inferences);
	tb_json_key_int(j, "warmups", t->warmups);
	tb_json_key_uint(j, "ticks", t->ticks);
	tb_json_key_double(j, "duration_s", tr->duration_s);
	tb_json_key_double(j, "latency_ms", t->latency_ms);
	tb_json_key_double(j, "inference_min_ms", t->inf_min_ms);
	tb_json_key_double(j, "inference_max_ms", t->inf_max_ms);
	tb_json_key_int(j, "stack_peak_bytes", t->stack_peak);
	tb_json_key_int(j, "arena_peak_bytes", t->arena_peak);
	tb_json_key_string(j, "input_sha256", t->input_hash);
	tb_json_key_string(j, "output_check", tb_store_output_check_name(t->output_check));
	tb_cli_json_trial_energy(j, t);
	tb_json_end_object(j);
}

static void json_output(struct tb_json *j, const struct tb_run_result *r)
{
	const struct tbp_workload_info *w = dev_wl(r);
	const struct tb_trial *t = NULL;
	const uint8_t *o;

	for (int i = r->n_trials - 1; i >= 0 && !t; i--)
		if (r->trials[i].t.status == TB_TRIAL_OK)
			t = &r->trials[i].t;
	if (!t)
		return;
	o = t->output;

	tb_json_key(j, "output");
	tb_json_begin_object(j);
	tb_json_key_string(j, "dtype", w && w->output_dtype == TB_DTYPE_INT8 ? "int8" : "uint8");
	tb_json_key(j, "values");
	tb_json_begin_array(j);
	for (size_t i = 0; i < t->output_len; i++)
		tb_json_int(j, w && w->output_dtype == TB_DTYPE_INT8 ? (int8_t)o[i] : o[i]);
	tb_json_end_array(j);
	tb_json_end_object(j);
}

static void print_json(const struct tb_run_result *r, const struct tb_run_opts *o)
{
	struct tb_json *j = tb_json_new(stdout, 1);

	tb_json_begin_object(j);
	tb_json_key_int(j, "run_id", r->run_id);
	tb_json_key_string(j, "status", tb_store_run_status_name(r->status));
	tb_json_key_string(j, "reason", r->reason[0] ? r->reason : NULL);
	tb_json_key_string(j, "database", r->db_path);
	tb_json_key_string(j, "board", r->board[0] ? r->board : o->board);
	tb_json_key_string(j, "workload", r->workload[0] ? r->workload : o->workload);
	tb_json_key_string(j, "model_sha256", r->model_hash);
	tb_json_key(j, "device");
	tb_json_begin_object(j);
	tb_json_key_string(j, "board", r->caps.board);
	tb_json_key_string(j, "cpu", r->caps.cpu);
	tb_json_key_uint(j, "clock_hz", r->caps.clock_hz);
	tb_json_key_uint(j, "timer_hz", r->caps.timer_hz);
	tb_json_key_string(j, "runner_version", r->caps.runner_version);
	tb_json_key_string(j, "build_id", r->caps.build_id);
	tb_json_key_uint(j, "protocol_version", r->caps.proto_version);
	tb_json_key_string(j, "port", r->port);
	tb_json_end_object(j);
	tb_json_key(j, "parameters");
	tb_json_begin_object(j);
	tb_json_key_int(j, "trials", r->trials_planned);
	tb_json_key_double(j, "min_time_s", o->min_time_s > 0 ? o->min_time_s : 1.0);
	tb_json_key_int(j, "inferences", r->inferences);
	tb_json_key_int(j, "warmups", r->warmups);
	tb_json_key_string(j, "profile", o->profile == TB_PROFILE_MLPERF ? "mlperf" : "default");
	tb_json_key_string(j, "input", r->input_source);
	tb_json_end_object(j);
	tb_json_key_string(j, "timing_method", r->timing_method);
	tb_json_key_string(j, "latency_kind", (r->caps.flags & TBP_CAP_TICKS_ARE_INSNS) ?
			   "estimate-at-nominal-clock" : "measured");
	tb_json_key_string(j, "firmware_sha256", r->firmware_sha256[0] ? r->firmware_sha256 : NULL);
	if (r->flash_bytes >= 0) {
		tb_json_key_int(j, "flash_bytes", r->flash_bytes);
		tb_json_key_int(j, "static_ram_bytes", r->static_ram_bytes);
	}
	tb_cli_json_energy(j, r);
	tb_json_key(j, "trials");
	tb_json_begin_array(j);
	for (int i = 0; i < r->n_trials; i++)
		json_trial(j, &r->trials[i]);
	tb_json_end_array(j);
	if (r->n_trials > r->n_failed) {
		tb_json_key(j, "latency_ms");
		tb_json_begin_object(j);
		tb_json_key_double(j, "median", r->latency_ms.median);
		tb_json_key_double(j, "min", r->latency_ms.min);
		tb_json_key_double(j, "max", r->latency_ms.max);
		tb_json_key_double(j, "p90", r->latency_ms.p90);
		tb_json_key_double(j, "mean", r->latency_ms.mean);
		tb_json_key_double(j, "stddev", r->latency_ms.stddev);
		tb_json_end_object(j);
		tb_json_key_double(j, "throughput_per_s", r->throughput);
		tb_json_key_int(j, "stack_peak_bytes", r->stack_peak);
		tb_json_key_int(j, "arena_peak_bytes", r->arena_peak);
		tb_json_key_int(j, "arena_planned_bytes", r->arena_planned);
		json_output(j, r);
	}
	tb_json_key(j, "upload");
	tb_json_begin_object(j);
	tb_json_key_uint(j, "payload_bytes", r->upload.payload_bytes);
	tb_json_key_uint(j, "wire_bytes", r->upload.wire_in + r->upload.wire_out);
	tb_json_key_uint(j, "round_trips", r->upload.round_trips);
	tb_json_end_object(j);
	tb_json_end_object(j);
	tb_json_free(j);
}

/* --mode MODE (or --mode=MODE) anywhere in argv, or NULL. */
static const char *find_mode(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--mode") && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "--mode=", 7))
			return argv[i] + 7;
	}
	return NULL;
}

enum { OPT_MIN_TIME = 256, OPT_WARMUPS, OPT_PROFILE, OPT_DB, OPT_TIMEOUT,
       OPT_JSON, OPT_RUNNER_ARG, OPT_FIRMWARE, OPT_ATTEMPTS, OPT_MODEL,
       OPT_TAG, OPT_FAULT, OPT_NO_DAEMON, OPT_ENERGY, OPT_ENERGY_RATE,
       OPT_ENERGY_MIN_WINDOW, OPT_ENERGY_MAX_LOST, OPT_ENERGY_ARG, OPT_MODE };

int tb_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "board", required_argument, NULL, 'b' },
		{ "workload", required_argument, NULL, 'w' },
		{ "model", required_argument, NULL, OPT_MODEL },
		{ "input", required_argument, NULL, 'i' },
		{ "trials", required_argument, NULL, 't' },
		{ "min-time", required_argument, NULL, OPT_MIN_TIME },
		{ "warmups", required_argument, NULL, OPT_WARMUPS },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "port", required_argument, NULL, 'p' },
		{ "db", required_argument, NULL, OPT_DB },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "runner-arg", required_argument, NULL, OPT_RUNNER_ARG },
		{ "firmware", required_argument, NULL, OPT_FIRMWARE },
		{ "attempts", required_argument, NULL, OPT_ATTEMPTS },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "fault", required_argument, NULL, OPT_FAULT },
		{ "no-daemon", no_argument, NULL, OPT_NO_DAEMON },
		{ "energy", required_argument, NULL, OPT_ENERGY },
		{ "energy-rate", required_argument, NULL, OPT_ENERGY_RATE },
		{ "energy-min-window", required_argument, NULL, OPT_ENERGY_MIN_WINDOW },
		{ "energy-max-lost", required_argument, NULL, OPT_ENERGY_MAX_LOST },
		{ "energy-arg", required_argument, NULL, OPT_ENERGY_ARG },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct tb_run_opts o = { .warmups = -1 };
	const char *runner_args[17] = { 0 };
	const char *energy_args[33] = { 0 };
	int n_energy_args = 0;
	double lost;
	const char *tags[32];
	int n_tags = 0;
	struct tb_run_result res;
	struct tb_error err = { 0 };
	struct prog pr = { 0 };
	int json = 0, quiet = 0, n_args = 0, c, rc, no_daemon = 0;
	const char *model = NULL;
	char blob_path[4096] = "";
	int blob_tmp = 0;
	long v;
	const char *mode = find_mode(argc, argv);

	/* Accuracy mode has options of its own (cmd_accuracy.c). */
	if (mode && !strcmp(mode, "accuracy"))
		return tb_cmd_run_accuracy(argc, argv);
	if (mode && strcmp(mode, "performance"))
		return tb_cli_usage_error("run", "--mode '%s': expected performance or accuracy",
					  mode);
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:w:i:t:p:qh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_MODE: break; /* performance */
		case 'b': o.board = optarg; break;
		case 'w': o.workload = optarg; break;
		case OPT_MODEL: model = optarg; break;
		case 'i': o.input_path = optarg; break;
		case 'p': o.conn.port = optarg; break;
		case OPT_DB: o.db_path = optarg; break;
		case 'q': quiet = 1; break;
		case OPT_JSON: json = 1; break;
		case 't':
			if (tb_cli_parse_int(optarg, 1, 1000, &v) < 0)
				return tb_cli_usage_error("run", "--trials '%s': expected 1..1000", optarg);
			o.trials = (int)v;
			break;
		case OPT_MIN_TIME:
			if (tb_cli_parse_double(optarg, 0.001, 86400, &o.min_time_s) < 0)
				return tb_cli_usage_error("run", "--min-time '%s': expected seconds, 0.001..86400", optarg);
			break;
		case OPT_WARMUPS:
			if (tb_cli_parse_int(optarg, 0, 1000000, &v) < 0)
				return tb_cli_usage_error("run", "--warmups '%s': expected 0..1000000", optarg);
			o.warmups = (int)v;
			break;
		case OPT_TIMEOUT:
			if (tb_cli_parse_int(optarg, 1, 86400000, &v) < 0)
				return tb_cli_usage_error("run", "--timeout '%s': expected milliseconds", optarg);
			o.infer_timeout_ms = (int)v;
			break;
		case OPT_PROFILE:
			if (!strcmp(optarg, "mlperf"))
				o.profile = TB_PROFILE_MLPERF;
			else if (!strcmp(optarg, "default"))
				o.profile = TB_PROFILE_DEFAULT;
			else
				return tb_cli_usage_error("run", "--profile '%s': expected default or mlperf", optarg);
			break;
		case OPT_FIRMWARE:
			o.conn.firmware = optarg;
			break;
		case OPT_FAULT:
			o.conn.fault = optarg;
			break;
		case OPT_NO_DAEMON:
			no_daemon = 1;
			break;
		case OPT_ENERGY:
			o.energy.spec = optarg;
			break;
		case OPT_ENERGY_RATE:
			if (tb_cli_parse_double(optarg, 1, 1e7, &o.energy.sample_hz) < 0)
				return tb_cli_usage_error("run", "--energy-rate '%s': expected Hz, 1..10000000", optarg);
			break;
		case OPT_ENERGY_MIN_WINDOW:
			if (tb_cli_parse_double(optarg, 0.001, 86400000, &o.energy.min_window_ms) < 0)
				return tb_cli_usage_error("run", "--energy-min-window '%s': expected milliseconds", optarg);
			break;
		case OPT_ENERGY_MAX_LOST:
			if (tb_cli_parse_double(optarg, 0, 1, &lost) < 0)
				return tb_cli_usage_error("run", "--energy-max-lost '%s': expected a fraction, 0..1", optarg);
			o.energy.max_lost_frac = lost > 0 ? lost : -1;
			break;
		case OPT_ENERGY_ARG:
			if (n_energy_args >= 32)
				return tb_cli_usage_error("run", "too many --energy-arg");
			energy_args[n_energy_args++] = optarg;
			break;
		case OPT_ATTEMPTS:
			if (tb_cli_parse_int(optarg, 1, 100, &v) < 0)
				return tb_cli_usage_error("run", "--attempts '%s': expected 1..100", optarg);
			o.max_attempts = (int)v;
			break;
		case OPT_RUNNER_ARG:
			if (n_args >= 16)
				return tb_cli_usage_error("run", "too many --runner-arg");
			runner_args[n_args++] = optarg;
			break;
		case OPT_TAG:
			if (n_tags >= 32)
				return tb_cli_usage_error("run", "too many --tag (at most 32)");
			if (tb_tag_check_assignment(optarg, &err) < 0)
				return tb_cli_usage_error("run", "--%s", err.msg);
			tags[n_tags++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return tb_cli_usage_error("run", "bad option");
		}
	}
	if (optind < argc)
		return tb_cli_usage_error("run", "unexpected argument '%s'", argv[optind]);
	if (!o.board)
		return tb_cli_usage_error("run", "--board is required (see `tinybench boards`)");
	if (!o.workload == !model)
		return tb_cli_usage_error("run", "give --workload (see `tinybench workloads`) "
					  "or --model FILE.tflite|FILE.tbnn");
	if (o.profile == TB_PROFILE_MLPERF && o.min_time_s > 0 && o.min_time_s < 10)
		return tb_cli_usage_error("run", "--profile mlperf needs --min-time >= 10");
	o.conn.runner_args = n_args ? runner_args : NULL;
	o.energy.emu_args = n_energy_args ? energy_args : NULL;
	if ((o.energy.sample_hz > 0 || o.energy.min_window_ms > 0 || o.energy.max_lost_frac ||
	     n_energy_args) && !o.energy.spec)
		return tb_cli_usage_error("run", "the --energy-* options need --energy MONITOR");
	o.tags = tags;
	o.n_tags = n_tags;
	o.conn.cancel = &tb_cli_cancel;
	pr.tty = !quiet && isatty(STDERR_FILENO);
	pr.quiet = quiet;
	o.progress = on_progress;
	o.user = &pr;
	tb_cli_catch_signals();

	/* A board that tinybenchd owns is run by the daemon (docs/DAEMON.md);
	 * options that only make sense in this process keep the run here.
	 * --energy default is the daemon's monitor of the board. */
	if (!no_daemon && !model && !n_args && !o.conn.port && !o.conn.fault &&
	    !o.conn.firmware && !o.db_path &&
	    (!o.energy.spec || (!strcmp(o.energy.spec, "default") && !n_energy_args &&
				!o.energy.sample_hz && !o.energy.min_window_ms &&
				!o.energy.max_lost_frac))) {
		void *in = NULL;
		size_t in_len = 0;

		if (o.input_path) {
			FILE *f = fopen(o.input_path, "rb");

			in = malloc(32769);
			in_len = f && in ? fread(in, 1, 32769, f) : 0;
			if (f)
				fclose(f);
			o.input_data = in_len ? in : NULL;
			o.input_len = in_len;
		}
		if ((!o.input_path || o.input_data) &&
		    tb_cli_run_via_daemon(&o, o.max_attempts ? o.max_attempts - 1 : -1, tags,
					  n_tags, json, quiet, &rc) == 0) {
			free(in);
			return rc;
		}
		free(in);
		o.input_data = NULL;
		o.input_len = 0;
	}

	if (model) {
		/* A .tflite is imported into a temporary blob the runner loads. */
		rc = tb_cli_model_blob_file(model, blob_path, sizeof(blob_path), &blob_tmp, &err);
		if (rc < 0)
			return tb_cli_fail(&err);
		o.model_path = blob_path;
	}
	rc = tb_session_run(&o, &res, &err);
	if (blob_tmp)
		tb_cli_model_blob_remove(blob_path);
	if (json)
		print_json(&res, &o);
	else if (res.run_id)
		print_table(&res);
	if (rc < 0) {
		if (res.run_id)
			fprintf(stderr, "tinybench: run %lld %s: %s (%d good trial%s kept)\n",
				(long long)res.run_id, tb_store_run_status_name(res.status),
				err.msg, res.n_trials - res.n_failed,
				res.n_trials - res.n_failed == 1 ? "" : "s");
		else
			tb_cli_fail(&err);
	}
	tb_run_result_free(&res);
	return tb_exit_code(rc);
}
