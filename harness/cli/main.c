/*
 * main.c - `tinybench`: subcommand dispatch and shared CLI helpers.
 */
#include "tb_cli.h"
#include "tb_build_id.h"
#include "tb_config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t tb_cli_cancel;

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "run",       tb_cmd_run,       "run a workload on a board and store the trials" },
	{ "boards",    tb_cmd_boards,    "list known boards and the serial ports found" },
	{ "workloads", tb_cmd_workloads, "list the built-in workloads" },
	{ "results",   tb_cmd_results,   "list stored runs with their figures" },
	{ "export",    tb_cmd_export,    "export stored results (CSV, JSON, Markdown)" },
	{ "compare",   tb_cmd_compare,   "board x workload matrix of latency, energy, RAM, flash" },
	{ "report",    tb_cmd_report,    "write a self-contained HTML report with charts" },
	{ "check",     tb_cmd_check,     "regression gate against a baseline (JUnit XML)" },
	{ "tag",       tb_cmd_tag,       "set tags on stored runs" },
	{ "model",     tb_cmd_model,     "inspect or import a model (.tflite, .tbnn); ad01 score" },
	{ "models",    tb_cmd_models,    "fetch the MLPerf Tiny reference models (checked SHA-256)" },
	{ "flash",     tb_cmd_flash,     "build a board's runner firmware and flash it" },
	{ "daemon",    tb_cmd_daemon,    "run tinybenchd, the host daemon (job queue)" },
	{ "submit",    tb_cmd_submit,    "queue a run on the daemon; prints the job id" },
	{ "jobs",      tb_cmd_jobs,      "list the daemon's jobs" },
	{ "status",    tb_cmd_status,    "a job's state and figures, or the daemon's boards" },
	{ "cancel",    tb_cmd_cancel,    "cancel a queued or running job" },
	{ "logs",      tb_cmd_logs,      "a job's log (-f to follow)" },
	{ "release",   tb_cmd_release,   "lift the quarantine of a daemon's board" },
	{ "monitors",  tb_cmd_monitors,  "find and identify energy monitors (PPK2, LPM01A)" },
	{ "accuracy",  tb_cmd_accuracy,  "the metric of stored accuracy runs (run --mode accuracy)" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench <command> [options]\n"
		"\n"
		"TinyML benchmarking harness: latency, memory and energy of models on\n"
		"microcontrollers, stored in SQLite for comparison.\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(out,
		"\n"
		"`tinybench <command> --help` describes a command.\n"
		"  --version  print the version and exit\n"
		"\n"
		"example: tinybench run --board sim --workload kws\n"
		"exit codes: 0 ok, 1 run failed, 2 usage/bad input, 3 not found,\n"
		"            4 I/O or database error, 5 busy, 130 interrupted\n");
}

int tb_cli_fail(const struct tb_error *err)
{
	fprintf(stderr, "tinybench: %s\n", err->msg[0] ? err->msg : tb_strerror(err->code));
	return tb_exit_code(err->code);
}

int tb_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tinybench %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'tinybench %s --help'.\n", cmd);
	return 2;
}

int tb_cli_parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int tb_cli_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int tb_cli_out_open(struct tb_cli_out *o, const char *path, struct tb_error *err)
{
	memset(o, 0, sizeof(*o));
	o->f = stdout;
	if (!path || !strcmp(path, "-"))
		return 0;
	o->path = path;
	snprintf(o->tmp, sizeof(o->tmp), "%s.tmp.%ld", path, (long)getpid());
	o->f = fopen(o->tmp, "w");
	if (!o->f)
		return tb_error_set(err, TB_ERR_IO, "cannot write '%s': %s", path,
				    strerror(errno));
	return 0;
}

int tb_cli_out_close(struct tb_cli_out *o, int rc, struct tb_error *err)
{
	if (!o->path || !o->f)
		return rc;
	if (fclose(o->f) != 0 && rc == 0)
		rc = tb_error_set(err, TB_ERR_IO, "writing '%s': %s", o->path, strerror(errno));
	if (rc == 0 && rename(o->tmp, o->path) < 0)
		rc = tb_error_set(err, TB_ERR_IO, "cannot rename to '%s': %s", o->path,
				  strerror(errno));
	if (rc < 0)
		unlink(o->tmp);
	o->f = NULL;
	return rc;
}

static void on_signal(int sig)
{
	(void)sig;
	/* A second Ctrl-C while stopping means: stop now. */
	if (tb_cli_cancel)
		_Exit(130);
	tb_cli_cancel = 1;
}

void tb_cli_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("tinybench %s (build %s)\n", TB_VERSION, TB_BUILD_ID);
		return 0;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "tinybench: unknown command '%s'; commands:", argv[1]);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(stderr, " %s", commands[i].name);
	fprintf(stderr, "\nTry 'tinybench --help'.\n");
	return 2;
}
