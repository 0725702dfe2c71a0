/*
 * cmd_export.c - `tinybench export`: stored results as CSV, JSON or
 * Markdown (docs/EXPORT.md), per trial or per run.
 */
#include "tb_cli.h"
#include "tb_cli_select.h"
#include "tb_export.h"
#include "tb_export_mlperf.h"

#include <stdlib.h>
#include <string.h>

static void export_usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench export --format csv|json|md [--per trial|run] [-o FILE]\n"
		"                        [selection options]\n"
		"\n"
		"Write stored results for other tools (docs/EXPORT.md):\n"
		"  csv   RFC 4180 (CRLF), one row per trial with its run's fields, or with\n"
		"        --per run one row per run with the medians of its trials\n"
		"  json  every run with its tags and summary (and its trials unless\n"
		"        --per run)\n"
		"  md    a Markdown table, one row per run (--per trial: per trial)\n"
		"  mlperf  the MLPerf Tiny runner's session folders under -o DIR:\n"
		"        <YYYYMMDD_HHMMSS>/results.txt and results.json per run\n"
		"  csv --per input: accuracy runs' predictions, one row per input\n"
		"\n"
		"  -f, --format FMT       csv, json or md (required)\n"
		"      --per trial|run|input  rows per trial (csv, json default), per run\n"
		"                         (md default), or per input of accuracy runs (csv)\n"
		"  -o, --output FILE      write FILE (under a temporary name, renamed when\n"
		"                         complete); default or '-': stdout\n"
		TB_CLI_SELECT_HELP
		"  -h, --help             this help\n"
		"\n"
		"A selection that matches no run gives the header alone (csv, md) or an\n"
		"empty \"runs\" array (json).  Exit codes: 0 ok, 2 bad option or filter,\n"
		"3 no database, 4 I/O or database error.\n");
}

enum { OPT_FORMAT = 256, OPT_PER, OPT_JSON };

int tb_cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		TB_CLI_SELECT_OPTIONS,
		{ "format", required_argument, NULL, 'f' },
		{ "per", required_argument, NULL, OPT_PER },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct tb_export_opts o = { 0 };
	struct tb_cli_sel s = { 0 };
	int per_input = 0, mlperf = 0, n_sessions = 0;
	struct tb_error err = { 0 };
	struct tb_store *st = NULL;
	struct tb_cli_out out = { 0 };
	const char *format = NULL, *output = NULL;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "b:w:f:o:h", opts, NULL)) != -1) {
		rc = tb_cli_select_opt("export", c, optarg, &s);
		if (rc == 2)
			return 2;
		if (rc == 1)
			continue;
		switch (c) {
		case 'f': format = optarg; break;
		case 'o': output = optarg; break;
		case OPT_PER:
			if (!strcmp(optarg, "trial"))
				o.per = TB_EXPORT_PER_TRIAL;
			else if (!strcmp(optarg, "run"))
				o.per = TB_EXPORT_PER_RUN;
			else if (!strcmp(optarg, "input"))
				per_input = 1;
			else
				return tb_cli_usage_error("export", "--per '%s': expected trial, run or input",
							  optarg);
			break;
		case OPT_JSON:
			return tb_cli_usage_error("export", "--json does not apply; use --format json");
		case 'h':
			export_usage(stdout);
			return 0;
		default:
			return tb_cli_usage_error("export", "bad option");
		}
	}
	if (optind < argc)
		return tb_cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
	if (!format)
		return tb_cli_usage_error("export", "--format is required (csv, json or md)");
	if (!strcmp(format, "csv"))
		o.format = TB_EXPORT_CSV;
	else if (!strcmp(format, "json"))
		o.format = TB_EXPORT_JSON;
	else if (!strcmp(format, "md") || !strcmp(format, "markdown"))
		o.format = TB_EXPORT_MD;
	else if (!strcmp(format, "mlperf"))
		mlperf = 1;
	else
		return tb_cli_usage_error("export", "--format '%s': supported formats: csv, json, md, mlperf",
					  format);
	o.sel = &s.sel;
	if (per_input && (mlperf || o.format != TB_EXPORT_CSV))
		return tb_cli_usage_error("export", "--per input is for --format csv");
	if (mlperf && (!output || !strcmp(output, "-")))
		return tb_cli_usage_error("export", "--format mlperf writes folders: give -o DIR");

	rc = tb_cli_open_db(s.db, &st, &err);
	if (rc == 0 && mlperf) {
		rc = tb_export_mlperf(st, &s.sel, output, &n_sessions, &err);
		if (rc == 0)
			fprintf(stderr, "%d session folder%s written under %s\n", n_sessions,
				n_sessions == 1 ? "" : "s", output);
	} else if (rc == 0) {
		rc = tb_cli_out_open(&out, output, &err);
		if (rc == 0 && per_input)
			rc = tb_export_predictions_csv(st, &s.sel, out.f, &err);
		else if (rc == 0)
			rc = tb_export(st, &o, out.f, &err);
		rc = tb_cli_out_close(&out, rc, &err);
	}
	tb_store_close(st);
	return rc < 0 ? tb_cli_fail(&err) : 0;
}
