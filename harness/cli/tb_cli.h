/*
 * tb_cli.h - shared pieces of the tinybench command line.  Only the CLI
 * writes to stdout/stderr; the libraries below it never print.
 */
#ifndef TB_CLI_H
#define TB_CLI_H

#include <signal.h>
#include <stdio.h>

#include "tb_err.h"

extern volatile sig_atomic_t tb_cli_cancel;

int tb_cmd_run(int argc, char **argv);
int tb_cmd_boards(int argc, char **argv);
int tb_cmd_workloads(int argc, char **argv);
int tb_cmd_results(int argc, char **argv);
int tb_cmd_export(int argc, char **argv);
int tb_cmd_compare(int argc, char **argv);
int tb_cmd_report(int argc, char **argv);
int tb_cmd_check(int argc, char **argv);
int tb_cmd_tag(int argc, char **argv);
int tb_cmd_model(int argc, char **argv);
int tb_cmd_models(int argc, char **argv);
int tb_cmd_flash(int argc, char **argv);
/* The daemon and its clients (cmd_jobs.c). */
int tb_cmd_daemon(int argc, char **argv);
int tb_cmd_submit(int argc, char **argv);
int tb_cmd_jobs(int argc, char **argv);
int tb_cmd_status(int argc, char **argv);
int tb_cmd_cancel(int argc, char **argv);
int tb_cmd_logs(int argc, char **argv);
int tb_cmd_release(int argc, char **argv);
/* Energy monitors (cmd_monitors.c). */
int tb_cmd_monitors(int argc, char **argv);
/* Accuracy mode (cmd_accuracy.c): `run --mode accuracy`, `accuracy`. */
int tb_cmd_run_accuracy(int argc, char **argv);
int tb_cmd_accuracy(int argc, char **argv);

struct tb_run_result;
struct tb_json;
struct tb_trial;
/* The energy part of `tinybench run`'s table and JSON; nothing without
 * energy. */
void tb_cli_print_energy(const struct tb_run_result *r);
void tb_cli_json_energy(struct tb_json *j, const struct tb_run_result *r);
void tb_cli_json_trial_energy(struct tb_json *j, const struct tb_trial *t);

struct tb_run_opts;
/*
 * `tinybench run` through tinybenchd when one owns o->board: submits the
 * run as a job, streams its progress, prints the result as the in-process
 * run does.  Returns -1 when no daemon owns the board (run in-process), 0
 * when it handled the run, with the process exit code in *exit_code.
 * tags are "key=value".
 */
int tb_cli_run_via_daemon(const struct tb_run_opts *o, int retries,
			  const char *const *tags, int n_tags, int json, int quiet,
			  int *exit_code);

/* Print "tinybench: <msg>" to stderr and return the exit code for err. */
int tb_cli_fail(const struct tb_error *err);
/* Usage error: message, hint to --help, exit code 2. */
int tb_cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Strict number parsing for options; returns 0 or -1. */
int tb_cli_parse_int(const char *s, long min, long max, long *out);
int tb_cli_parse_double(const char *s, double min, double max, double *out);

/* A model blob file for path: path itself for a .tbnn, else the .tflite
 * imported into a temporary file (*is_tmp = 1: the caller unlinks it). */
int tb_cli_model_blob_file(const char *path, char *out, size_t len, int *is_tmp,
			   struct tb_error *err);
/* Remove such a temporary blob and its folder. */
void tb_cli_model_blob_remove(const char *out);

/*
 * An output file option (-o FILE): stdout for NULL or "-", else FILE
 * written under a temporary name (FILE.tmp.<pid>) and renamed into place
 * by tb_cli_out_close() only when everything went well, so a failed write
 * never leaves a partial file.
 */
struct tb_cli_out {
	FILE *f;
	const char *path;	/* NULL: stdout */
	char tmp[4096];
};

int tb_cli_out_open(struct tb_cli_out *o, const char *path, struct tb_error *err);
/* Close (rename into place if rc is 0, else remove); returns rc or the
 * error of closing or renaming. */
int tb_cli_out_close(struct tb_cli_out *o, int rc, struct tb_error *err);

/* Install SIGINT/SIGTERM handlers that set tb_cli_cancel. */
void tb_cli_catch_signals(void);

#endif
