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

/* Print "tinybench: <msg>" to stderr and return the exit code for err. */
int tb_cli_fail(const struct tb_error *err);
/* Usage error: message, hint to --help, exit code 2. */
int tb_cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Strict number parsing for options; returns 0 or -1. */
int tb_cli_parse_int(const char *s, long min, long max, long *out);
int tb_cli_parse_double(const char *s, double min, double max, double *out);

/* Install SIGINT/SIGTERM handlers that set tb_cli_cancel. */
void tb_cli_catch_signals(void);

#endif
