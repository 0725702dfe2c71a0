/*
 * test_export_csv.c - tb_export_csv() output read back with libcsv's own
 * parser: the documented header, one row per trial, exact values (text with
 * commas, quotes and line breaks included), and write errors reported.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "tb_export.h"

/* docs/EXPORT.md, in order. */
static const char *const doc_columns[] = {
	"run_id", "run_status", "run_reason", "board", "board_cpu",
	"board_clock_hz", "run_timer_hz", "timing_method", "workload",
	"model_hash", "runner_version", "runner_build_id", "protocol_version",
	"harness_version", "harness_build_id", "host", "port", "input_source",
	"params_json", "run_started_at_ms", "run_ended_at_ms", "trial_idx",
	"trial_status", "trial_reason", "trial_started_at_ms",
	"trial_ended_at_ms", "inferences", "warmups", "ticks", "timer_hz",
	"latency_ms", "inf_min_ms", "inf_max_ms", "stack_peak", "stack_size",
	"arena_peak", "arena_size", "input_hash", "output_check", "output_hex",
	/* schema version 2 */
	"firmware_sha256", "flash_bytes", "static_ram_bytes", "energy_method",
	"link_retries", "frames_dropped", "energy_uj", "power_mw",
	"energy_window_ms", "energy_samples", "energy_sample_hz",
	"energy_lost_samples", "tags",
	/* schema version 3 */
	"attempts",
};
#define NCOLS (sizeof(doc_columns) / sizeof(doc_columns[0]))

/* ------------------------------------------------- parsed CSV table */

#define MAX_ROWS 16
#define MAX_FIELDS 64

struct table {
	int nrows;
	int nfields[MAX_ROWS];
	char *cell[MAX_ROWS][MAX_FIELDS];	/* NULL = empty unquoted field */
	int cur;				/* fields in the row being read */
};

static void on_field(void *s, size_t len, void *user)
{
	struct table *t = user;
	char *copy = NULL;

	cr_assert_lt(t->nrows, MAX_ROWS);
	cr_assert_lt(t->cur, MAX_FIELDS);
	if (s) {
		copy = malloc(len + 1);
		cr_assert_not_null(copy);
		memcpy(copy, s, len);
		copy[len] = '\0';
	}
	t->cell[t->nrows][t->cur++] = copy;
}

static void on_row(int term, void *user)
{
	struct table *t = user;

	t->nfields[t->nrows++] = t->cur;
	t->cur = 0;
}

static void parse_csv(const char *data, size_t len, struct table *t)
{
	struct csv_parser p;

	memset(t, 0, sizeof(*t));
	/* Strict (RFC 4180 quoting errors fail), and empty unquoted fields
	 * come as NULL so that "missing" and "" can be told apart. */
	cr_assert_eq(csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_EMPTY_IS_NULL), 0);
	cr_assert_eq(csv_parse(&p, data, len, on_field, on_row, t), len,
		     "parse error: %s", csv_strerror(csv_error(&p)));
	cr_assert_eq(csv_fini(&p, on_field, on_row, t), 0, "fini: %s",
		     csv_strerror(csv_error(&p)));
	csv_free(&p);
}

static void free_table(struct table *t)
{
	int r, f;

	for (r = 0; r < t->nrows; r++)
		for (f = 0; f < t->nfields[r]; f++)
			free(t->cell[r][f]);
}

static int col(const char *name)
{
	size_t i;

	for (i = 0; i < NCOLS; i++)
		if (strcmp(doc_columns[i], name) == 0)
			return (int)i;
	cr_assert_fail("no column %s", name);
	return -1;
}

/* Cell of data row `row` (0 = first trial), by column name. */
static const char *cell(const struct table *t, int row, const char *name)
{
	return t->cell[row + 1][col(name)];
}

static void expect_cell(const struct table *t, int row, const char *name,
			const char *want)
{
	const char *got = cell(t, row, name);

	if (!want) {
		cr_expect_null(got, "%s: want missing, got '%s'", name, got);
		return;
	}
	cr_expect_not_null(got, "%s: want '%s', got missing", name, want);
	if (got)
		cr_expect_str_eq(got, want, "column %s", name);
}

/* ------------------------------------------------------ fixtures */

static char *export_to_memory(struct tb_store *s, const struct tb_store_filter *f,
			      size_t *len)
{
	struct tb_error err = { 0 };
	FILE *out = tmpfile();
	char *buf;
	long n;

	cr_assert_not_null(out);
	cr_assert_eq(tb_export_csv(s, f, out, &err), 0, "export: %s", err.msg);
	n = ftell(out);
	rewind(out);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, out), (size_t)n);
	buf[n] = '\0';
	fclose(out);
	*len = (size_t)n;
	return buf;
}

static const unsigned char blob[] = { 0x00, 0xff, 0x10, 0x2c, 0x22 };

#define TRICKY_SOURCE "dataset:kws, \"v2\"\nsecond line"
#define TRICKY_JSON "{\"name\":\"a,b\",\"note\":\"say \\\"hi\\\"\"}"
#define TRICKY_REASON "timeout, retried\r\ngave up \"twice\""
#define FW_SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
/* Tags of run 1 as the tags column shows them: sorted by key, ';' and '\'
 * in values escaped, CSV quoting of the whole cell undone by the parser. */
#define TAGS_RUN1 "branch=feat\\;x\\\\y;git.commit=b2c2c99;note=a,\"q\"\nline"

/* Run 1 (sim/kws): every field set, tricky text; trials 0 and 1.
 * Run 2 (other/vww): unknowns and empty strings; trial 0. */
static struct tb_store *fixture(void)
{
	struct tb_store *s = NULL;
	struct tb_error err = { 0 };
	struct tb_run_info r1 = {
		.board = "sim", .board_cpu = "host", .board_clock_hz = 48000000,
		.timer_hz = 1000, .timing_method = "host-monotonic-clock",
		.workload = "kws", .model_hash = "deadbeef",
		.runner_version = "0.1.0", .runner_build_id = "abc",
		.protocol_version = 1, .harness_version = "0.1.0",
		.harness_build_id = "def", .host = "lab", .port = "/dev/pts/3",
		.input_source = TRICKY_SOURCE, .params_json = TRICKY_JSON,
		.started_at = 1700000000000,
		.firmware_sha256 = FW_SHA, .flash_bytes = 187392,
		.static_ram_bytes = 40960, .energy_method = "emulated:ppk2",
	};
	struct tb_run_info r2 = {
		.board = "other", .workload = "vww", .host = "",
		.board_clock_hz = TB_STORE_UNKNOWN, .timer_hz = TB_STORE_UNKNOWN,
		.protocol_version = TB_STORE_UNKNOWN, .started_at = 1700000100000,
		.flash_bytes = TB_STORE_UNKNOWN, .static_ram_bytes = 0,
	};
	struct tb_trial t = {
		.started_at = 1700000000010, .ended_at = 1700000000020,
		.inferences = 100, .warmups = 2,
		.ticks = (UINT64_C(1) << 53) + 1, .timer_hz = 1000,
		.latency_ms = 12.345678901234567, .inf_min_ms = 0.1,
		.inf_max_ms = 13.0, .stack_peak = 100, .stack_size = 200,
		.arena_peak = 300, .arena_size = 400,
		.input_hash = "e3b0c442", .output = blob, .output_len = sizeof(blob),
		.output_check = TB_OUTPUT_MATCH, .status = TB_TRIAL_OK,
		.link_retries = 2, .frames_dropped = 1, .energy_uj = 123.456789012345678,
		.power_mw = 0.1, .energy_window_ms = 1000.5, .energy_samples = 100050,
		.energy_sample_hz = 100000, .energy_lost_samples = 0,
	};
	int64_t id1, id2;

	cr_assert_eq(tb_store_open(":memory:", &s, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_store_run_begin(s, &r1, &id1, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_store_tag_set(s, id1, "note", "a,\"q\"\nline", &err), 0, "%s", err.msg);
	cr_assert_eq(tb_store_tag_set(s, id1, "git.commit", "b2c2c99", &err), 0, "%s", err.msg);
	cr_assert_eq(tb_store_tag_set(s, id1, "branch", "feat;x\\y", &err), 0, "%s", err.msg);
	cr_assert_eq(tb_store_trial_add(s, id1, &t, &err), 0, "%s", err.msg);
	t.idx = 1;
	t.status = TB_TRIAL_FAILED;
	t.output_check = TB_OUTPUT_MISMATCH;
	t.reason = TRICKY_REASON;
	cr_assert_eq(tb_store_trial_add(s, id1, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_store_run_finish(s, id1, TB_RUN_INTERRUPTED, "SIGINT", 1700000000999, &err),
		     0, "%s", err.msg);

	cr_assert_eq(tb_store_run_begin(s, &r2, &id2, &err), 0, "%s", err.msg);
	t = (struct tb_trial){
		.started_at = 1700000100010, .ended_at = 1700000100020,
		.inferences = 1, .ticks = 5, .timer_hz = TB_STORE_UNKNOWN,
		.latency_ms = NAN, .inf_min_ms = NAN, .inf_max_ms = NAN,
		.stack_peak = TB_STORE_UNKNOWN, .stack_size = TB_STORE_UNKNOWN,
		.arena_peak = TB_STORE_UNKNOWN, .arena_size = TB_STORE_UNKNOWN,
		.reason = "", .link_retries = TB_STORE_UNKNOWN,
		/* the rest of v2 left zeroed, as an older caller would: the
		 * energy figures of a run without energy_method are missing */
	};
	cr_assert_eq(tb_store_trial_add(s, id2, &t, &err), 0, "%s", err.msg);
	return s;
}

/* ---------------------------------------------------------- tests */

Test(export_csv, header_and_one_row_per_trial)
{
	struct tb_store *s = fixture();
	struct table t;
	size_t len, i;
	char *csv = export_to_memory(s, NULL, &len);
	int r;

	parse_csv(csv, len, &t);
	cr_assert_eq(t.nrows, 1 + 3, "header + 3 trials, got %d rows", t.nrows);
	for (r = 0; r < t.nrows; r++)
		cr_expect_eq(t.nfields[r], (int)NCOLS, "row %d has %d fields", r, t.nfields[r]);
	for (i = 0; i < NCOLS; i++)
		cr_expect_str_eq(t.cell[0][i], doc_columns[i], "header column %zu", i);

	expect_cell(&t, 0, "run_id", "1");
	expect_cell(&t, 1, "run_id", "1");
	expect_cell(&t, 2, "run_id", "2");
	expect_cell(&t, 0, "trial_idx", "0");
	expect_cell(&t, 1, "trial_idx", "1");
	expect_cell(&t, 2, "trial_idx", "0");
	free_table(&t);
	free(csv);
	tb_store_close(s);
}

Test(export_csv, values_round_trip)
{
	struct tb_store *s = fixture();
	struct table t;
	size_t len;
	char *csv = export_to_memory(s, NULL, &len);

	parse_csv(csv, len, &t);
	cr_assert_eq(t.nrows, 4);

	/* Text with commas, quotes, LF and CRLF comes back byte for byte. */
	expect_cell(&t, 0, "input_source", TRICKY_SOURCE);
	expect_cell(&t, 0, "params_json", TRICKY_JSON);
	expect_cell(&t, 1, "trial_reason", TRICKY_REASON);

	expect_cell(&t, 0, "run_status", "interrupted");
	expect_cell(&t, 0, "run_reason", "SIGINT");
	expect_cell(&t, 0, "board", "sim");
	expect_cell(&t, 0, "board_cpu", "host");
	expect_cell(&t, 0, "board_clock_hz", "48000000");
	expect_cell(&t, 0, "run_timer_hz", "1000");
	expect_cell(&t, 0, "timing_method", "host-monotonic-clock");
	expect_cell(&t, 0, "workload", "kws");
	expect_cell(&t, 0, "model_hash", "deadbeef");
	expect_cell(&t, 0, "runner_version", "0.1.0");
	expect_cell(&t, 0, "runner_build_id", "abc");
	expect_cell(&t, 0, "protocol_version", "1");
	expect_cell(&t, 0, "harness_version", "0.1.0");
	expect_cell(&t, 0, "harness_build_id", "def");
	expect_cell(&t, 0, "host", "lab");
	expect_cell(&t, 0, "port", "/dev/pts/3");
	expect_cell(&t, 0, "run_started_at_ms", "1700000000000");
	expect_cell(&t, 0, "run_ended_at_ms", "1700000000999");
	expect_cell(&t, 0, "trial_status", "ok");
	expect_cell(&t, 0, "trial_reason", NULL);
	expect_cell(&t, 0, "trial_started_at_ms", "1700000000010");
	expect_cell(&t, 0, "trial_ended_at_ms", "1700000000020");
	expect_cell(&t, 0, "inferences", "100");
	expect_cell(&t, 0, "warmups", "2");
	expect_cell(&t, 0, "ticks", "9007199254740993");	/* 2^53 + 1, exact */
	expect_cell(&t, 0, "timer_hz", "1000");
	cr_expect_eq(strtod(cell(&t, 0, "latency_ms"), NULL), 12.345678901234567,
		     "latency_ms %s reads back exactly", cell(&t, 0, "latency_ms"));
	expect_cell(&t, 0, "inf_min_ms", "0.1");		/* shortest form */
	expect_cell(&t, 0, "inf_max_ms", "13");
	expect_cell(&t, 0, "stack_peak", "100");
	expect_cell(&t, 0, "stack_size", "200");
	expect_cell(&t, 0, "arena_peak", "300");
	expect_cell(&t, 0, "arena_size", "400");
	expect_cell(&t, 0, "input_hash", "e3b0c442");
	expect_cell(&t, 0, "output_check", "match");
	expect_cell(&t, 0, "output_hex", "00ff102c22");
	expect_cell(&t, 1, "trial_status", "failed");
	expect_cell(&t, 1, "output_check", "mismatch");

	/* Run 2: unknowns are missing fields; "" stays an empty text. */
	expect_cell(&t, 2, "run_status", "running");
	expect_cell(&t, 2, "run_ended_at_ms", NULL);
	expect_cell(&t, 2, "board_cpu", NULL);
	expect_cell(&t, 2, "board_clock_hz", NULL);
	expect_cell(&t, 2, "host", "");
	expect_cell(&t, 2, "trial_reason", "");
	expect_cell(&t, 2, "latency_ms", NULL);
	expect_cell(&t, 2, "stack_peak", NULL);
	expect_cell(&t, 2, "timer_hz", NULL);
	expect_cell(&t, 2, "input_hash", NULL);
	expect_cell(&t, 2, "output_hex", NULL);
	expect_cell(&t, 2, "output_check", "unchecked");

	/* Schema version 2. */
	expect_cell(&t, 0, "firmware_sha256", FW_SHA);
	expect_cell(&t, 0, "flash_bytes", "187392");
	expect_cell(&t, 0, "static_ram_bytes", "40960");
	expect_cell(&t, 0, "energy_method", "emulated:ppk2");
	expect_cell(&t, 0, "link_retries", "2");
	expect_cell(&t, 0, "frames_dropped", "1");
	cr_expect_eq(strtod(cell(&t, 0, "energy_uj"), NULL), 123.456789012345678,
		     "energy_uj %s reads back exactly", cell(&t, 0, "energy_uj"));
	expect_cell(&t, 0, "power_mw", "0.1");
	expect_cell(&t, 0, "energy_window_ms", "1000.5");
	expect_cell(&t, 0, "energy_samples", "100050");
	expect_cell(&t, 0, "energy_sample_hz", "100000");
	expect_cell(&t, 0, "energy_lost_samples", "0");
	expect_cell(&t, 0, "tags", TAGS_RUN1);
	expect_cell(&t, 1, "tags", TAGS_RUN1);
	expect_cell(&t, 1, "energy_method", "emulated:ppk2");
	expect_cell(&t, 2, "firmware_sha256", NULL);
	expect_cell(&t, 2, "flash_bytes", NULL);
	expect_cell(&t, 2, "static_ram_bytes", "0");
	expect_cell(&t, 2, "energy_method", NULL);
	expect_cell(&t, 2, "link_retries", NULL);
	expect_cell(&t, 2, "frames_dropped", "0");
	expect_cell(&t, 2, "energy_uj", NULL);
	expect_cell(&t, 2, "power_mw", NULL);
	expect_cell(&t, 2, "energy_window_ms", NULL);
	expect_cell(&t, 2, "energy_samples", NULL);
	expect_cell(&t, 2, "energy_sample_hz", NULL);
	expect_cell(&t, 2, "energy_lost_samples", NULL);
	expect_cell(&t, 2, "tags", "");		/* no tags: empty, not missing */
	free_table(&t);
	free(csv);
	tb_store_close(s);
}

Test(export_csv, crlf_line_ends)
{
	struct tb_store *s = fixture();
	size_t len, hlen;
	char *csv = export_to_memory(s, NULL, &len);
	const char *eol = strstr(csv, "\r\n");

	cr_assert_not_null(eol, "no CRLF at all");
	hlen = (size_t)(eol - csv);
	cr_expect_null(memchr(csv, '\n', hlen), "header ends with CRLF, not LF");
	cr_expect_eq(strncmp(csv, "run_id,run_status,run_reason,board,", 35), 0);
	cr_expect(len >= 2 && csv[len - 2] == '\r' && csv[len - 1] == '\n',
		  "last record ends with CRLF");
	free(csv);
	tb_store_close(s);
}

Test(export_csv, filter_applies)
{
	struct tb_store *s = fixture();
	struct tb_store_filter f = { .workload = "vww" };
	struct table t;
	size_t len;
	char *csv = export_to_memory(s, &f, &len);

	parse_csv(csv, len, &t);
	cr_assert_eq(t.nrows, 2, "header + the one vww trial");
	expect_cell(&t, 0, "workload", "vww");
	expect_cell(&t, 0, "board", "other");
	free_table(&t);
	free(csv);

	f = (struct tb_store_filter){ .tag = "git.commit=b2c2c99" };
	csv = export_to_memory(s, &f, &len);
	parse_csv(csv, len, &t);
	cr_assert_eq(t.nrows, 3, "header + the two trials of the tagged run");
	expect_cell(&t, 0, "run_id", "1");
	expect_cell(&t, 1, "run_id", "1");
	free_table(&t);
	free(csv);

	f = (struct tb_store_filter){ .board = "nothing-here" };
	csv = export_to_memory(s, &f, &len);
	parse_csv(csv, len, &t);
	cr_expect_eq(t.nrows, 1, "no match: header only");
	cr_expect_eq(t.nfields[0], (int)NCOLS);
	free_table(&t);
	free(csv);
	tb_store_close(s);
}

Test(export_csv, disk_full_is_reported)
{
	struct tb_store *s = fixture();
	struct tb_error err = { 0 };
	FILE *out = fopen("/dev/full", "w");
	int ret;

	if (!out)
		cr_skip_test("/dev/full not available: %s", strerror(errno));
	ret = tb_export_csv(s, NULL, out, &err);
	cr_expect_eq(ret, TB_ERR_IO, "got %d: %s", ret, err.msg);
	cr_expect(strstr(err.msg, strerror(ENOSPC)), "names the cause: %s", err.msg);
	fclose(out);
	tb_store_close(s);
}

Test(export_csv, unwritable_stream_is_reported)
{
	struct tb_store *s = fixture();
	struct tb_error err = { 0 };
	FILE *out = tmpfile();
	FILE *ro;
	char path[64];
	int ret;

	/* A stream opened for reading only: every write fails with EBADF. */
	cr_assert_not_null(out);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fileno(out));
	ro = fopen(path, "r");
	cr_assert_not_null(ro, "%s", strerror(errno));
	ret = tb_export_csv(s, NULL, ro, &err);
	cr_expect_eq(ret, TB_ERR_IO, "got %d: %s", ret, err.msg);
	cr_expect(strstr(err.msg, strerror(EBADF)), "names the cause: %s", err.msg);
	fclose(ro);
	fclose(out);
	tb_store_close(s);
}

Test(export_csv, malformed_tag_filter_fails_before_writing_rows)
{
	struct tb_store *s = fixture();
	struct tb_store_filter f = { .tag = "bad key" };
	struct tb_error err = { 0 };
	FILE *out = tmpfile();

	cr_assert_not_null(out);
	cr_expect_eq(tb_export_csv(s, &f, out, &err), TB_ERR_ARG);
	cr_expect(strstr(err.msg, "'bad key'"), "%s", err.msg);
	fclose(out);
	tb_store_close(s);
}

/* Text of a file under the source tree (TB_SOURCE_DIR), NUL-terminated. */
static char *source_file(const char *rel)
{
	const char *root = getenv("TB_SOURCE_DIR");
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	if (!root || !*root)
		cr_skip_test("TB_SOURCE_DIR not set");
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* docs/EXPORT.md's table rows "| N | `name` |" list the columns in order. */
Test(export_csv, export_md_lists_the_columns)
{
	char *doc = source_file("docs/EXPORT.md");
	char pat[96];
	const char *p;
	size_t i;

	for (i = 0; i < NCOLS; i++) {
		snprintf(pat, sizeof(pat), "\n| %zu | `%s` |", i + 1, doc_columns[i]);
		p = strstr(doc, pat);
		cr_expect_not_null(p, "docs/EXPORT.md lacks row %s", pat + 1);
	}
	snprintf(pat, sizeof(pat), "\n| %zu | `", NCOLS + 1);
	cr_expect_null(strstr(doc, pat), "docs/EXPORT.md documents more columns than exported");
	free(doc);
}

/* README.md's column block: the names, in order, comma separated. */
Test(export_csv, readme_lists_the_columns)
{
	char *doc = source_file("README.md");
	char *start, *end, *tok, *save = NULL;
	size_t i = 0;

	start = strstr(doc, "\n```\nrun_id, ");
	cr_assert_not_null(start, "README.md has no column block");
	start += 5;
	end = strstr(start, "\n```");
	cr_assert_not_null(end);
	*end = '\0';
	for (tok = strtok_r(start, ", \n", &save); tok; tok = strtok_r(NULL, ", \n", &save)) {
		cr_assert_lt(i, NCOLS, "README.md lists more columns than exported: %s", tok);
		cr_expect_str_eq(tok, doc_columns[i], "README.md column %zu", i + 1);
		i++;
	}
	cr_expect_eq(i, NCOLS, "README.md lists %zu of %zu columns", i, NCOLS);
	free(doc);
}

Test(export_csv, header_is_the_documented_list)
{
	struct tb_store *s = NULL;
	struct table t;
	size_t len, i;
	char *csv;

	cr_assert_eq(tb_store_open(":memory:", &s, NULL), 0);
	csv = export_to_memory(s, NULL, &len);
	parse_csv(csv, len, &t);
	cr_assert_eq(t.nrows, 1);
	cr_assert_eq(t.nfields[0], (int)NCOLS, "%d columns exported", t.nfields[0]);
	for (i = 0; i < NCOLS; i++)
		cr_expect_str_eq(t.cell[0][i], doc_columns[i], "column %zu", i + 1);
	free_table(&t);
	free(csv);
	tb_store_close(s);
}

Test(export_csv, rejects_null_arguments)
{
	struct tb_error err = { 0 };

	cr_expect_eq(tb_export_csv(NULL, NULL, stdout, &err), TB_ERR_ARG);
	cr_expect(strstr(err.msg, "NULL"), "%s", err.msg);
}
