/*
 * cmd_jobs.c - the daemon's client commands: `tinybench submit`, `jobs`,
 * `status`, `cancel`, `logs`, `release`, `daemon`, and `run` through the
 * daemon when one owns the board (tb_cli_run_via_daemon).
 *
 * They talk to tinybenchd over its socket (docs/DAEMON.md) through
 * tb_client.h; the address is --daemon, else $TINYBENCH_DAEMON, else the
 * default socket.  Only this file prints what comes back.
 */
#include "tb_cli.h"
#include "tb_client.h"
#include "tb_daemon.h"
#include "tb_session.h"
#include "tb_store.h"
#include "tbd_api.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int connect_daemon(const char *addr, struct tb_client **c, struct tb_error *err)
{
	char def[512];

	if (!addr) {
		tb_client_default_addr(def, sizeof(def));
		addr = def;
	}
	return tb_client_open(addr, NULL, c, err);
}

static void print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s)
		printf("%s\n", s);
	free(s);
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static long long num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static double real(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void fmt_time(long long ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, len, "%m-%d %H:%M:%S", &tm);
}

/* Exit code for a job that ended in state. */
static int job_exit(const char *state)
{
	if (!strcmp(state, "done"))
		return 0;
	if (!strcmp(state, "cancelled"))
		return 130;
	return 1;
}

/* ---- printing a finished run (as `tinybench run` does) --------------- */

/* The energy of a run made with the board's monitor (docs/DAEMON.md). */
static void print_energy(json_t *r)
{
	json_t *e = json_object_get(r, "energy"), *trials = json_object_get(r, "trials"), *t;
	json_t *uj;
	size_t i;

	if (!e)
		return;
	printf("\nenergy: %s, %s\n", str(e, "method"), str(e, "monitor"));
	if (!strcmp(str(e, "kind"), "emulated"))
		printf("        EMULATED instrument: the figures exercise the energy path "
		       "against a power model, they are not a measurement of this board\n");
	if (json_object_get(e, "window"))
		printf("        MODELLED from instruction counts: the board's [power] model "
		       "over each window's instructions at the nominal clock (an estimate, "
		       "not a measurement)\n");
	printf("%-5s %14s %12s %12s %12s %10s %8s\n", "trial", "uJ/inference", "mW",
	       "window ms", "samples", "rate Hz", "lost");
	json_array_foreach(trials, i, t) {
		if (!json_object_get(t, "energy_uj_per_inference"))
			continue;
		printf("%-5lld %14.4f %12.4f %12.3f %12lld %10.0f %8lld\n", num(t, "idx") + 1,
		       real(t, "energy_uj_per_inference"), real(t, "power_mw"),
		       real(t, "energy_window_ms"), num(t, "energy_samples"),
		       real(t, "energy_sample_hz"), num(t, "energy_lost_samples"));
	}
	uj = json_object_get(e, "uj_per_inference");
	if (uj)
		printf("energy per inference (%s, over trials): median %.4f uJ, min %.4f, "
		       "max %.4f; mean power median %.4f mW\n", str(e, "kind"), real(uj, "median"),
		       real(uj, "min"), real(uj, "max"),
		       real(json_object_get(e, "power_mw"), "median"));
}

static void print_result(json_t *r)
{
	json_t *trials = json_object_get(r, "trials"), *t, *lat;
	size_t i;

	printf("run %lld: board %s (%s), workload %s, model %.16s\n", num(r, "run_id"),
	       str(r, "board"), str(r, "cpu"), str(r, "workload"), str(r, "model_hash"));
	printf("runner %s build %s; %lld trials x %lld inferences (+%lld warm-up)\n",
	       str(r, "runner_version"), str(r, "build_id"), num(r, "n_trials"),
	       num(r, "inferences"), num(r, "warmups"));
	printf("\n%-5s %10s %12s %12s %12s %9s %9s  %s\n", "trial", "inferences", "latency ms",
	       "min ms", "max ms", "stack B", "arena B", "output");
	json_array_foreach(trials, i, t) {
		json_t *head = json_object_get(t, "output_head"), *v;
		size_t k;

		if (strcmp(str(t, "status"), "ok")) {
			printf("%-5lld failed: %s\n", num(t, "idx") + 1, str(t, "reason"));
			continue;
		}
		printf("%-5lld %10lld %12.4f %12.4f %12.4f %9lld %9lld  ", num(t, "idx") + 1,
		       num(t, "inferences"), real(t, "latency_ms"), real(t, "min_ms"),
		       real(t, "max_ms"), num(t, "stack_peak"), num(t, "arena_peak"));
		json_array_foreach(head, k, v)
			printf("%s%lld", k ? "," : "", (long long)json_integer_value(v));
		if (num(t, "output_len") > 16)
			printf(",...");
		printf(" [%s]", str(t, "output_check"));
		if (num(t, "attempts") > 1)
			printf(" (attempt %lld)", num(t, "attempts"));
		printf("\n");
	}
	print_energy(r);
	lat = json_object_get(r, "latency_ms");
	if (lat) {
		printf("\nlatency (mean per inference, over trials): median %.4f ms, "
		       "min %.4f, max %.4f, p90 %.4f%s\n", real(lat, "median"), real(lat, "min"),
		       real(lat, "max"), real(lat, "p90"),
		       json_is_true(json_object_get(r, "emulated")) ? " (emulated)" : "");
		printf("throughput: %.1f inferences/s", real(r, "throughput_per_s"));
		if (num(r, "macs") > 0)
			printf(", %.1f MMAC/s", real(r, "throughput_per_s") * (double)num(r, "macs") / 1e6);
		printf("\nmemory: stack peak %lld B of %lld, arena peak %lld B of %lld (planned %lld)\n",
		       num(r, "stack_peak"), num(r, "stack_size"), num(r, "arena_peak"),
		       num(r, "arena_size"), num(r, "arena_planned"));
		printf("timing: %s; outputs checked against the host: %lld/%lld match\n",
		       str(r, "timing_method"), num(r, "output_checked") - num(r, "output_mismatch"),
		       num(r, "output_checked"));
	}
	printf("stored in %s\n", str(r, "db"));
}

/* ---- following a job ------------------------------------------------- */

struct follow {
	int tty;             /* progress lines on stderr */
	int logs_only;
	int quiet;
};

static void show_event(json_t *ev, const struct follow *f)
{
	const char *kind = str(ev, "event");

	if (!strcmp(kind, "log")) {
		const char *level = str(ev, "level");
		char when[32];

		if (f->logs_only) {
			fmt_time(num(ev, "at"), when, sizeof(when));
			printf("%s %-7s %s\n", when, level, str(ev, "message"));
			fflush(stdout);
		} else if (!f->quiet && (!strcmp(level, "warning") || !strcmp(level, "error"))) {
			fprintf(stderr, "%s%s: %s\n", f->tty ? "\r\033[K" : "", level,
				str(ev, "message"));
		}
		return;
	}
	if (!strcmp(kind, "requeued") && !f->quiet) {
		fprintf(stderr, "%sjob requeued: %s\n", f->tty ? "\r\033[K" : "",
			str(json_object_get(ev, "job"), "reason"));
		return;
	}
	if (strcmp(kind, "progress") || !f->tty || f->logs_only)
		return;
	if (!strcmp(str(ev, "phase"), "calibrate"))
		fprintf(stderr, "\r\033[Kcalibrating N...");
	else if (!strcmp(str(ev, "phase"), "trial"))
		fprintf(stderr, "\r\033[Ktrial %lld/%lld: %lld inferences (%.0f s elapsed)",
			num(ev, "trial") + 1, num(ev, "trials"), num(ev, "inferences"),
			real(ev, "elapsed_s"));
	else if (!strcmp(str(ev, "phase"), "done"))
		fprintf(stderr, "\r\033[K");
	fflush(stderr);
}

/* Read events until the job ends; *job gets its final object.  Ctrl-C
 * cancels the job (once) and keeps waiting for the end. */
static int follow_job(struct tb_client *c, const char *addr, int64_t id,
		      const struct follow *f, json_t **job, struct tb_error *err)
{
	int cancel_sent = 0, rc;
	json_t *ev;

	*job = NULL;
	for (;;) {
		rc = tb_client_recv(c, &ev, 200, err);
		if (rc == TB_ERR_TIMEOUT) {
			if (tb_cli_cancel && !cancel_sent) {
				struct tb_client *c2 = NULL;
				struct tb_error e2 = { 0 };
				json_t *r = NULL;

				cancel_sent = 1;
				if (connect_daemon(addr, &c2, &e2) == 0 &&
				    tb_client_call(c2, json_pack("{s:s, s:I}", "op", "cancel", "job",
								 (json_int_t)id), &r, &e2) == 0)
					fprintf(stderr, "\ncancelling job %lld...\n", (long long)id);
				else
					fprintf(stderr, "\ncannot cancel job %lld: %s\n", (long long)id,
						e2.msg);
				json_decref(r);
				tb_client_close(c2);
			}
			continue;
		}
		if (rc < 0)
			return rc;
		if (!strcmp(str(ev, "event"), "end")) {
			*job = json_incref(json_object_get(ev, "job"));
			json_decref(ev);
			return TB_OK;
		}
		show_event(ev, f);
		json_decref(ev);
	}
}

static bool job_final(json_t *job)
{
	const char *s = str(job, "state");

	return !strcmp(s, "done") || !strcmp(s, "failed") || !strcmp(s, "cancelled");
}

/* ---- tinybench run, through the daemon -------------------------------- */

/* Does the daemon own this board (an instance name or a board name)? */
static bool owns_board(json_t *boards, const char *name)
{
	size_t i;
	json_t *b;

	json_array_foreach(boards, i, b)
		if (!strcmp(str(b, "name"), name) || !strcmp(str(b, "board"), name))
			return true;
	return false;
}

int tb_cli_run_via_daemon(const struct tb_run_opts *o, int retries, const char *const *tags,
			  int n_tags, int json, int quiet, int *exit_code)
{
	struct tb_client *c = NULL;
	struct tb_error err = { 0 };
	struct follow f = { .tty = !quiet && isatty(STDERR_FILENO), .quiet = quiet };
	json_t *resp = NULL, *req, *job = NULL, *tj;
	char addr[512];
	int rc;

	tb_client_default_addr(addr, sizeof(addr));
	if (tb_client_open(addr, NULL, &c, &err) < 0)
		return -1; /* no daemon: run in-process */
	if (tb_client_call(c, json_pack("{s:s}", "op", "boards"), &resp, &err) < 0 ||
	    !owns_board(json_object_get(resp, "boards"), o->board)) {
		json_decref(resp);
		tb_client_close(c);
		return -1;
	}
	json_decref(resp);
	resp = NULL;
	req = json_pack("{s:s, s:s, s:s, s:b}", "op", "submit", "board", o->board, "workload",
			o->workload, "follow", 1);
	if (o->trials)
		json_object_set_new(req, "trials", json_integer(o->trials));
	if (o->min_time_s > 0)
		json_object_set_new(req, "min_time", json_real(o->min_time_s));
	if (o->warmups >= 0)
		json_object_set_new(req, "warmups", json_integer(o->warmups));
	if (o->profile == TB_PROFILE_MLPERF)
		json_object_set_new(req, "profile", json_string("mlperf"));
	if (o->infer_timeout_ms)
		json_object_set_new(req, "timeout_ms", json_integer(o->infer_timeout_ms));
	if (retries >= 0)
		json_object_set_new(req, "retries", json_integer(retries));
	if (o->energy.spec)
		json_object_set_new(req, "energy", json_true());
	tj = json_object();
	for (int i = 0; i < n_tags; i++) {
		const char *eq = strchr(tags[i], '=');
		char key[80];

		snprintf(key, sizeof(key), "%.*s", (int)(eq - tags[i]), tags[i]);
		json_object_set_new(tj, key, json_string(eq + 1));
	}
	if (n_tags)
		json_object_set(req, "tags", tj);
	json_decref(tj);
	if (o->input_data) {
		char *b64 = malloc(o->input_len / 3 * 4 + 8);

		if (!b64) {
			json_decref(req);
			tb_client_close(c);
			*exit_code = 4;
			return 0;
		}
		tbd_base64_encode(o->input_data, o->input_len, b64);
		json_object_set_new(req, "input", json_string(b64));
		free(b64);
	}
	rc = tb_client_call(c, req, &resp, &err);
	if (rc < 0) {
		tb_client_close(c);
		*exit_code = tb_cli_fail(&err);
		return 0;
	}
	tj = json_object_get(resp, "job");
	if (!quiet)
		fprintf(stderr, "job %lld queued on tinybenchd (%s)\n", num(tj, "id"), addr);
	if (job_final(tj))
		job = json_incref(tj);
	else
		rc = follow_job(c, addr, num(tj, "id"), &f, &job, &err);
	json_decref(resp);
	tb_client_close(c);
	if (rc < 0) {
		*exit_code = tb_cli_fail(&err);
		return 0;
	}
	if (json)
		print_json(json_object_get(job, "result"));
	else if (json_is_object(json_object_get(job, "result")))
		print_result(json_object_get(job, "result"));
	if (strcmp(str(job, "state"), "done"))
		fprintf(stderr, "tinybench: job %lld %s: %s\n", num(job, "id"), str(job, "state"),
			str(job, "reason"));
	*exit_code = job_exit(str(job, "state"));
	json_decref(job);
	return 0;
}

/* ---- submit ---------------------------------------------------------- */

static int read_file(const char *path, void **data, size_t *len, struct tb_error *err)
{
	struct stat st;
	FILE *f = fopen(path, "rb");

	if (!f)
		return tb_error_set(err, errno == ENOENT ? TB_ERR_NOTFOUND : TB_ERR_IO,
				    "input file '%s': %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > TBD_INPUT_MAX) {
		fclose(f);
		return tb_error_set(err, TB_ERR_FORMAT,
				    "input file '%s' must be a regular file of 1..%d bytes", path,
				    TBD_INPUT_MAX);
	}
	*data = malloc((size_t)st.st_size);
	*len = *data ? fread(*data, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	if (*len != (size_t)st.st_size)
		return tb_error_set(err, TB_ERR_IO, "input file '%s': short read", path);
	return TB_OK;
}

enum { OPT_MIN_TIME = 256, OPT_WARMUPS, OPT_PROFILE, OPT_TIMEOUT, OPT_RETRIES, OPT_TAG,
       OPT_JSON, OPT_DAEMON, OPT_WAIT, OPT_STATE, OPT_LIMIT, OPT_ENERGY };

int tb_cmd_submit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "board", required_argument, NULL, 'b' },
		{ "workload", required_argument, NULL, 'w' },
		{ "input", required_argument, NULL, 'i' },
		{ "trials", required_argument, NULL, 't' },
		{ "min-time", required_argument, NULL, OPT_MIN_TIME },
		{ "warmups", required_argument, NULL, OPT_WARMUPS },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "energy", no_argument, NULL, OPT_ENERGY },
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "daemon", required_argument, NULL, OPT_DAEMON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *board = NULL, *workload = NULL, *input = NULL, *addr = NULL;
	struct tb_error err = { 0 };
	struct tb_client *c = NULL;
	json_t *req, *tags = json_object(), *resp = NULL, *job = NULL;
	int json = 0, wait = 0, ch, rc;
	void *data = NULL;
	size_t len = 0;
	long v;
	double d;

	req = json_pack("{s:s}", "op", "submit");
	optind = 1;
	while ((ch = getopt_long(argc, argv, "b:w:i:t:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'b': board = optarg; break;
		case 'w': workload = optarg; break;
		case 'i': input = optarg; break;
		case OPT_JSON: json = 1; break;
		case OPT_WAIT: wait = 1; break;
		case OPT_DAEMON: addr = optarg; break;
		case OPT_ENERGY: json_object_set_new(req, "energy", json_true()); break;
		case 't':
			if (tb_cli_parse_int(optarg, 1, 1000, &v) < 0)
				return tb_cli_usage_error("submit", "--trials '%s': expected 1..1000", optarg);
			json_object_set_new(req, "trials", json_integer(v));
			break;
		case OPT_MIN_TIME:
			if (tb_cli_parse_double(optarg, 0.001, 86400, &d) < 0)
				return tb_cli_usage_error("submit", "--min-time '%s': expected 0.001..86400", optarg);
			json_object_set_new(req, "min_time", json_real(d));
			break;
		case OPT_WARMUPS:
			if (tb_cli_parse_int(optarg, 0, 1000000, &v) < 0)
				return tb_cli_usage_error("submit", "--warmups '%s': expected 0..1000000", optarg);
			json_object_set_new(req, "warmups", json_integer(v));
			break;
		case OPT_PROFILE:
			if (strcmp(optarg, "default") && strcmp(optarg, "mlperf"))
				return tb_cli_usage_error("submit", "--profile '%s': default or mlperf", optarg);
			json_object_set_new(req, "profile", json_string(optarg));
			break;
		case OPT_TIMEOUT:
			if (tb_cli_parse_int(optarg, 1, 86400000, &v) < 0)
				return tb_cli_usage_error("submit", "--timeout '%s': expected milliseconds", optarg);
			json_object_set_new(req, "timeout_ms", json_integer(v));
			break;
		case OPT_RETRIES:
			if (tb_cli_parse_int(optarg, 0, 10, &v) < 0)
				return tb_cli_usage_error("submit", "--retries '%s': expected 0..10", optarg);
			json_object_set_new(req, "retries", json_integer(v));
			break;
		case OPT_TAG: {
			const char *eq = strchr(optarg, '=');
			char key[80];

			if (!eq || eq == optarg || eq - optarg > 64)
				return tb_cli_usage_error("submit", "--tag '%s': expected KEY=VALUE", optarg);
			snprintf(key, sizeof(key), "%.*s", (int)(eq - optarg), optarg);
			json_object_set_new(tags, key, json_string(eq + 1));
			break;
		}
		case 'h':
			printf("usage: tinybench submit --board BOARD --workload WORKLOAD [options]\n"
			       "\n"
			       "Queue a run on tinybenchd and print its job id.  BOARD is a board\n"
			       "instance of the daemon or a board name (any instance of it).\n"
			       "\n"
			       "  -i, --input FILE      raw input for every trial (sent with the job)\n"
			       "  -t, --trials T        --min-time S  --warmups W  --profile P\n"
			       "      --timeout MS      --retries R (trial retries after a reset, 0..10)\n"
			       "      --tag KEY=VALUE   label the run (repeatable)\n"
			       "      --energy          also measure energy per inference with the\n"
			       "                        board's monitor (the daemon's monitor = or the\n"
			       "                        board file's energy_monitor)\n"
			       "      --wait            follow the job and exit with its outcome\n"
			       "      --json            print the job as JSON\n"
			       "      --daemon ADDR     socket path or tcp:HOST:PORT\n");
			return 0;
		default:
			return tb_cli_usage_error("submit", "bad option");
		}
	}
	if (optind < argc)
		return tb_cli_usage_error("submit", "unexpected argument '%s'", argv[optind]);
	if (!board || !workload)
		return tb_cli_usage_error("submit", "--board and --workload are required");
	json_object_set_new(req, "board", json_string(board));
	json_object_set_new(req, "workload", json_string(workload));
	if (json_object_size(tags))
		json_object_set(req, "tags", tags);
	json_decref(tags);
	if (input) {
		char *b64;

		rc = read_file(input, &data, &len, &err);
		if (rc < 0)
			return tb_cli_fail(&err);
		b64 = malloc(len / 3 * 4 + 8);
		tbd_base64_encode(data, len, b64);
		json_object_set_new(req, "input", json_string(b64));
		free(b64);
		free(data);
	}
	if (wait)
		json_object_set_new(req, "follow", json_true());
	tb_cli_catch_signals();
	rc = connect_daemon(addr, &c, &err);
	if (rc == TB_OK)
		rc = tb_client_call(c, req, &resp, &err);
	else
		json_decref(req);
	if (rc < 0) {
		tb_client_close(c);
		return tb_cli_fail(&err);
	}
	job = json_incref(json_object_get(resp, "job"));
	json_decref(resp);
	if (!wait) {
		if (json)
			print_json(job);
		else
			printf("%lld\n", num(job, "id"));
		json_decref(job);
		tb_client_close(c);
		return 0;
	}
	if (!job_final(job)) {
		struct follow f = { .tty = isatty(STDERR_FILENO) };
		int64_t id = num(job, "id");
		char def[512];

		json_decref(job);
		tb_client_default_addr(def, sizeof(def));
		rc = follow_job(c, addr ? addr : def, id, &f, &job, &err);
		if (rc < 0) {
			tb_client_close(c);
			return tb_cli_fail(&err);
		}
	}
	tb_client_close(c);
	if (json)
		print_json(job);
	else
		printf("%lld %s%s%s\n", num(job, "id"), str(job, "state"),
		       str(job, "reason")[0] ? ": " : "", str(job, "reason"));
	rc = job_exit(str(job, "state"));
	json_decref(job);
	return rc;
}

/* ---- jobs, status, cancel, logs, release ----------------------------- */

/* One request, one reply; prints nothing. */
static int call(const char *addr, json_t *req, json_t **resp)
{
	struct tb_error err = { 0 };
	struct tb_client *c = NULL;
	int rc = connect_daemon(addr, &c, &err);

	if (rc == TB_OK)
		rc = tb_client_call(c, req, resp, &err);
	else
		json_decref(req);
	tb_client_close(c);
	return rc < 0 ? tb_cli_fail(&err) : 0;
}

static void print_job_line(json_t *j)
{
	char sub[32], start[32], end[32], run[24];

	fmt_time(num(j, "submitted_at"), sub, sizeof(sub));
	fmt_time(num(j, "started_at"), start, sizeof(start));
	fmt_time(num(j, "ended_at"), end, sizeof(end));
	if (num(j, "run_id") > 0)
		snprintf(run, sizeof(run), "%lld", num(j, "run_id"));
	else
		snprintf(run, sizeof(run), "-");
	printf("%-6lld %-9s %-12s %-8s %-8s %-14s %-14s %-14s %s\n", num(j, "id"),
	       str(j, "state"), str(j, "board"), str(j, "workload"), run, sub, start, end,
	       str(j, "reason"));
}

static int simple_opts(const char *cmd, int argc, char **argv, const char **addr, int *json,
		       int *follow, const char *help)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "daemon", required_argument, NULL, OPT_DAEMON },
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_JSON: *json = 1; break;
		case OPT_DAEMON: *addr = optarg; break;
		case 'f':
			if (!follow)
				return tb_cli_usage_error(cmd, "no --follow here");
			*follow = 1;
			break;
		case 'h':
			printf("%s", help);
			return 0;
		default:
			return tb_cli_usage_error(cmd, "bad option");
		}
	}
	return -1;
}

static int job_arg(const char *cmd, int argc, char **argv, int64_t *id)
{
	long v;

	if (optind != argc - 1)
		return tb_cli_usage_error(cmd, "expected one JOB id");
	if (tb_cli_parse_int(argv[optind], 1, LONG_MAX, &v) < 0)
		return tb_cli_usage_error(cmd, "'%s' is not a job id", argv[optind]);
	*id = v;
	return -1;
}

int tb_cmd_jobs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, OPT_STATE },
		{ "board", required_argument, NULL, 'b' },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "daemon", required_argument, NULL, OPT_DAEMON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	json_t *req = json_pack("{s:s}", "op", "jobs"), *resp = NULL, *j, *counts;
	const char *addr = NULL;
	int json = 0, ch, rc;
	size_t i;
	long v;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "b:h", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_STATE: json_object_set_new(req, "state", json_string(optarg)); break;
		case 'b': json_object_set_new(req, "board", json_string(optarg)); break;
		case OPT_LIMIT:
			if (tb_cli_parse_int(optarg, 1, 1000, &v) < 0)
				return tb_cli_usage_error("jobs", "--limit '%s': expected 1..1000", optarg);
			json_object_set_new(req, "limit", json_integer(v));
			break;
		case OPT_JSON: json = 1; break;
		case OPT_DAEMON: addr = optarg; break;
		case 'h':
			printf("usage: tinybench jobs [--state S] [--board B] [--limit N] [--json]\n"
			       "\nThe daemon's jobs, newest first (default 100), and counts per state.\n");
			return 0;
		default:
			return tb_cli_usage_error("jobs", "bad option");
		}
	}
	rc = call(addr, req, &resp);
	if (rc)
		return rc;
	if (json) {
		print_json(resp);
		json_decref(resp);
		return 0;
	}
	printf("%-6s %-9s %-12s %-8s %-8s %-14s %-14s %-14s %s\n", "job", "state", "board",
	       "workload", "run", "submitted", "started", "ended", "reason");
	json_array_foreach(json_object_get(resp, "jobs"), i, j)
		print_job_line(j);
	counts = json_object_get(resp, "counts");
	printf("\nqueued %lld, running %lld, done %lld, failed %lld, cancelled %lld\n",
	       num(counts, "queued"), num(counts, "running"), num(counts, "done"),
	       num(counts, "failed"), num(counts, "cancelled"));
	json_decref(resp);
	return 0;
}

int tb_cmd_status(int argc, char **argv)
{
	const char *addr = NULL;
	json_t *resp = NULL, *j, *b;
	int json = 0, rc;
	int64_t id = 0;
	size_t i;

	rc = simple_opts("status", argc, argv, &addr, &json, NULL,
			 "usage: tinybench status [JOB] [--json]\n\n"
			 "A job's state, run and figures; without JOB, the daemon's boards.\n");
	if (rc >= 0)
		return rc;
	if (optind == argc) {
		rc = call(addr, json_pack("{s:s}", "op", "boards"), &resp);
		if (rc)
			return rc;
		if (json) {
			print_json(resp);
		} else {
			printf("%-14s %-10s %-12s %-6s %-8s %s\n", "board", "type", "state", "job",
			       "done", "port / reason");
			json_array_foreach(json_object_get(resp, "boards"), i, b) {
				char jobs[24] = "-";

				if (num(b, "job") > 0)
					snprintf(jobs, sizeof(jobs), "%lld", num(b, "job"));
				printf("%-14s %-10s %-12s %-6s %-8lld %s\n", str(b, "name"),
				       str(b, "board"), str(b, "state"), jobs, num(b, "jobs_done"),
				       str(b, "reason")[0] ? str(b, "reason") : str(b, "port"));
			}
		}
		json_decref(resp);
		return 0;
	}
	rc = job_arg("status", argc, argv, &id);
	if (rc >= 0)
		return rc;
	rc = call(addr, json_pack("{s:s, s:I}", "op", "status", "job", (json_int_t)id), &resp);
	if (rc)
		return rc;
	j = json_object_get(resp, "job");
	if (json) {
		print_json(j);
	} else {
		char t[32];

		printf("job %lld: %s\n", num(j, "id"), str(j, "state"));
		printf("board %s, workload %s, submitted by %s", str(j, "board"),
		       str(j, "workload"), str(j, "submitter"));
		fmt_time(num(j, "submitted_at"), t, sizeof(t));
		printf(" at %s\n", t);
		if (str(j, "worker")[0])
			printf("ran on %s (%lld start%s, %lld interruption%s)\n", str(j, "worker"),
			       num(j, "starts"), num(j, "starts") == 1 ? "" : "s",
			       num(j, "interruptions"), num(j, "interruptions") == 1 ? "" : "s");
		if (num(j, "run_id") > 0)
			printf("run %lld in %s\n", num(j, "run_id"), str(j, "results_db"));
		if (str(j, "reason")[0])
			printf("reason: %s\n", str(j, "reason"));
		if (json_is_object(json_object_get(j, "result"))) {
			printf("\n");
			print_result(json_object_get(j, "result"));
		}
	}
	rc = job_final(j) ? job_exit(str(j, "state")) : 0;
	json_decref(resp);
	return json ? 0 : rc;
}

int tb_cmd_cancel(int argc, char **argv)
{
	const char *addr = NULL;
	json_t *resp = NULL;
	int json = 0, rc;
	int64_t id = 0;

	rc = simple_opts("cancel", argc, argv, &addr, &json, NULL,
			 "usage: tinybench cancel JOB\n\n"
			 "Cancel a queued job, or stop a running one (its finished trials are\n"
			 "kept and its run is marked interrupted).\n");
	if (rc >= 0)
		return rc;
	rc = job_arg("cancel", argc, argv, &id);
	if (rc >= 0)
		return rc;
	rc = call(addr, json_pack("{s:s, s:I}", "op", "cancel", "job", (json_int_t)id), &resp);
	if (rc)
		return rc;
	if (json)
		print_json(json_object_get(resp, "job"));
	else
		printf("job %lld: %s\n", (long long)id,
		       !strcmp(str(json_object_get(resp, "job"), "state"), "running") ?
		       "cancelling (the current trial is interrupted)" :
		       str(json_object_get(resp, "job"), "state"));
	json_decref(resp);
	return 0;
}

int tb_cmd_logs(int argc, char **argv)
{
	struct tb_error err = { 0 };
	struct tb_client *c = NULL;
	struct follow f = { .logs_only = 1 };
	const char *addr = NULL;
	json_t *resp = NULL, *l, *job = NULL;
	int json = 0, follow = 0, rc;
	int64_t id = 0;
	size_t i;

	rc = simple_opts("logs", argc, argv, &addr, &json, &follow,
			 "usage: tinybench logs JOB [-f|--follow]\n\n"
			 "A job's log: submitted, started, retries and resets, end.  --follow\n"
			 "keeps printing until the job ends.\n");
	if (rc >= 0)
		return rc;
	rc = job_arg("logs", argc, argv, &id);
	if (rc >= 0)
		return rc;
	tb_cli_catch_signals();
	rc = connect_daemon(addr, &c, &err);
	if (rc == TB_OK)
		rc = tb_client_call(c, json_pack("{s:s, s:I, s:b}", "op", "logs", "job",
						 (json_int_t)id, "follow", follow), &resp, &err);
	if (rc < 0) {
		tb_client_close(c);
		return tb_cli_fail(&err);
	}
	if (json) {
		print_json(resp);
	} else {
		json_array_foreach(json_object_get(resp, "logs"), i, l) {
			char when[32];

			fmt_time(num(l, "at"), when, sizeof(when));
			printf("%s %-7s %s\n", when, str(l, "level"), str(l, "message"));
		}
	}
	fflush(stdout);
	if (follow && strcmp(str(resp, "state"), "done") && strcmp(str(resp, "state"), "failed") &&
	    strcmp(str(resp, "state"), "cancelled")) {
		char def[512];

		tb_client_default_addr(def, sizeof(def));
		rc = follow_job(c, addr ? addr : def, id, &f, &job, &err);
		json_decref(job);
	}
	json_decref(resp);
	tb_client_close(c);
	return rc < 0 ? tb_cli_fail(&err) : 0;
}

int tb_cmd_release(int argc, char **argv)
{
	const char *addr = NULL;
	json_t *resp = NULL;
	int json = 0, rc;

	rc = simple_opts("release", argc, argv, &addr, &json, NULL,
			 "usage: tinybench release BOARD\n\n"
			 "Lift the quarantine of a daemon's board instance (`tinybench status`\n"
			 "shows why it was quarantined); it takes jobs again.\n");
	if (rc >= 0)
		return rc;
	if (optind != argc - 1)
		return tb_cli_usage_error("release", "expected one BOARD instance name");
	rc = call(addr, json_pack("{s:s, s:s}", "op", "release", "board", argv[optind]), &resp);
	if (rc)
		return rc;
	printf("board %s released\n", argv[optind]);
	json_decref(resp);
	return 0;
}

int tb_cmd_daemon(int argc, char **argv)
{
	return tb_daemon_main(argc, argv);
}
