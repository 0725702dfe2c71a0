/*
 * fuzz_eembc.c - the EEMBC (MLPerf Tiny firmware) replies: one line
 * through tb_eembc_parse_line(), and whole conversations through the
 * driver, on a direct link and through an IO manager (its `[dut]: `
 * relay framing is undone in the driver).
 */
#include "fuzz.h"
#include "fuzz_io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tb_eembc.h"

static const char *const eembc_dict[] = {
	"m-ready", "m-name-dut-[", "m-name-[", "m-profile-[", "m-model-[", "m-[Expecting ",
	" bytes]", "m-load-done", "m-warmup-start-", "m-warmup-done", "m-infer-start-",
	"m-lap-us-", "m-infer-done", "m-results-[", "m-init-done", "e-[", "]", "[", ",",
	",]", " ", "\r", "\r\n", "\n", "[dut]: ", "m-dut-passthrough(", ")", "1e-3", "-",
	"e+", ".", "0", "4294967295", "m-timestamp-mode-performance", "\x1e",
	NULL
};

/* What tb_eembc.h promises of a classified line. */
static void check_line(const struct tb_eembc_line *o, const double *values, size_t max)
{
	FZ_CHECK(o->kind >= TB_EEMBC_READY && o->kind <= TB_EEMBC_MALFORMED, "kind %d",
		 o->kind);
	FZ_CHECK(fz_terminated(o->text, sizeof(o->text)) && fz_printable(o->text),
		 "%s line with a text that is not printable", tb_eembc_kind_name(o->kind));
	if (o->kind == TB_EEMBC_EXPECTING || o->kind == TB_EEMBC_WARMUP_START ||
	    o->kind == TB_EEMBC_INFER_START || o->kind == TB_EEMBC_LAP_US)
		FZ_CHECK(o->number <= UINT32_MAX, "%s %llu", tb_eembc_kind_name(o->kind),
			 (unsigned long long)o->number);
	/* (a malformed m-results line may have written some values) */
	FZ_CHECK(o->n_values <= max, "%zu values for %zu places", o->n_values, max);
	if (o->kind == TB_EEMBC_RESULTS)
		for (size_t i = 0; i < o->n_values; i++)
			FZ_CHECK(isfinite(values[i]), "m-results value %zu is not finite", i);
	else if (o->kind != TB_EEMBC_MALFORMED)
		FZ_CHECK(o->n_values == 0, "values on a %s line", tb_eembc_kind_name(o->kind));
}

/* ---------------------------------------------------------- eembc-line */

static const char *run_line(const uint8_t *data, size_t len)
{
	static double values[TB_EEMBC_MAX_VALUES + 1];
	static const size_t maxes[] = { TB_EEMBC_MAX_VALUES, 0, 1, 3 };
	struct tb_eembc_line o;
	size_t max = maxes[fz_rand() % 4];

	/* one past the end: a parser that writes too many values */
	values[max] = 12345.0;
	tb_eembc_parse_line((const char *)data, len, &o, values, max);
	check_line(&o, values, max);
	FZ_CHECK(values[max] == 12345.0, "m-results wrote past its %zu values", max);
	return tb_eembc_kind_name(o.kind);
}

static void seeds_line(struct fz_corpus *c)
{
	static const char *const lines[] = {
		"m-ready", "m-name-dut-[unspecified]", "m-name-[nucleo]",
		"m-profile-[ULPMark for tinyML Firmware V0.0.1]", "m-model-[kws01]",
		"m-[Expecting 490 bytes]", "m-load-done", "m-warmup-start-10",
		"m-infer-start-1", "m-lap-us-67410227", "m-infer-done", "m-init-done",
		"m-timestamp-mode-performance", "m-results-[0.000,0.007,0.992]",
		"m-results-[0.1,0.9,]", "m-results-[ 0.25 , -1.5e-3 ,7 ]", "m-results-[]",
		"e-[Insufficent number of hex digits]", "e-[Unknown command: bogus]",
		"  m-ready\r", "debug: 42", "m-dut-passthrough(name)",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		fz_seed_str(c, lines[i]);
}

const struct fz_target fz_eembc_line = {
	.name = "eembc-line",
	.what = "harness/eembc/tb_eembc_parse.c: one reply line of MLPerf Tiny firmware",
	.ci_iterations = 60000,
	.seeds = seeds_line,
	.run = run_line,
	.dict = eembc_dict,
};

/* -------------------------------------------------------- eembc-driver */

/*
 * Input: a flags byte (bit 0: through an IO manager, bit 1: energy-mode
 * firmware), then what the device (and IO manager) send, each reply
 * after an FZ_TURN byte (fuzz_io.h).  The host
 * identifies the device, loads 100 bytes and runs one inference.
 */
static const char *run_driver(const uint8_t *data, size_t len)
{
	static uint8_t payload[100];
	struct tb_eembc_config cfg = { .cmd_timeout_ms = 1000, .hello_attempts = 2,
				       .hello_timeout_ms = 1000 };
	struct tb_eembc_identity id;
	struct tb_eembc_infer res;
	struct tb_error err = { 0 };
	struct tb_eembc *e = NULL;
	struct fz_pipe pipe;
	const char *what = "identify";
	int rc;

	cfg.io_manager = len && (data[0] & 1);
	cfg.energy_mode = len && (data[0] & 2);
	fz_pipe_init(&pipe, data + (len ? 1 : 0), len ? len - 1 : 0, 1);
	FZ_CHECK(tb_eembc_new(&pipe.base, &cfg, &e, &err) == 0, "tb_eembc_new: %s", err.msg);
	rc = tb_eembc_identify(e, &id, &err);
	if (rc == 0) {
		FZ_CHECK(fz_terminated(id.name, sizeof(id.name)) && fz_printable(id.name) &&
			 fz_terminated(id.profile, sizeof(id.profile)) &&
			 fz_printable(id.profile) && fz_printable(id.model) &&
			 fz_printable(id.io_manager), "identity strings not printable");
		what = "load";
		rc = tb_eembc_load(e, payload, sizeof(payload), NULL, &err);
	}
	if (rc == 0) {
		what = "infer";
		rc = tb_eembc_infer(e, 5, 1, 1000, &res, &err);
	}
	if (rc == 0) {
		FZ_CHECK(res.count == 5 && res.n_values <= TB_EEMBC_MAX_VALUES,
			 "infer result out of bounds: count %u, %zu values", res.count,
			 res.n_values);
		for (size_t i = 0; i < res.n_values; i++)
			FZ_CHECK(isfinite(res.values[i]), "result %zu not finite", i);
		if (cfg.energy_mode)
			FZ_CHECK(res.elapsed_us == 0, "energy mode reports a time");
		what = "all";
	}
	tb_eembc_free(e);
	FZ_CHECK(rc <= 0, "%s returned %d", what, rc);
	if (rc == 0)
		return cfg.io_manager ? "iom:all ok" : "all ok";
	FZ_CHECK(err.msg[0], "%s failed (%d) without a message", what, rc);
	fz_note("%s: %s", what, err.msg);
	return fz_label("%s%s:%s", cfg.io_manager ? "iom:" : "", what, tb_strerror(rc));
}

/* One line of a device's reply; relayed by an IO manager: prefixed. */
static void say(char *buf, size_t *n, size_t cap, int relayed, const char *line)
{
	*n += (size_t)snprintf(buf + *n, cap - *n, "%s%s\r\n", relayed ? "[dut]: " : "",
			       line);
}

/* A device that answers everything, for the seeds: identify, 100 bytes
 * in 4 `db` commands, one inference. */
static size_t transcript(char *buf, size_t cap, int iom, int energy)
{
	static const char *const lines[] = {
		"m-name-dut-[scripted]", "m-ready", "",
		"m-profile-[ULPMark for tinyML Firmware V0.0.1]", "m-model-[kws01]", "m-ready", "",
		"m-[Expecting 100 bytes]", "m-ready", "",
		"m-ready", "", "m-ready", "", "m-ready", "", "m-load-done", "m-ready", "",
		"m-warmup-start-1", "m-warmup-done", "m-infer-start-5", "m-lap-us-1000",
		"m-lap-us-3500", "m-infer-done", "m-results-[0.000,0.250,0.750,]", "m-ready",
	};
	size_t n = 0;
	int start = 1;

	buf[n++] = (char)(iom | energy << 1);
	if (iom) {
		buf[n++] = FZ_TURN;
		say(buf, &n, cap, 0, "m-name-[io-manager]");
		say(buf, &n, cap, 0, "m-ready");
	}
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (!lines[i][0]) {
			start = 1;	/* the next command's reply */
			continue;
		}
		if (start)
			buf[n++] = FZ_TURN;
		if (start && iom) {
			say(buf, &n, cap, 0, "m-dut-passthrough(x)");
			say(buf, &n, cap, 0, "m-ready");
		}
		start = 0;
		if (energy && !strncmp(lines[i], "m-lap-us-", 9))
			continue;
		say(buf, &n, cap, iom, lines[i]);
	}
	return n;
}

static void seeds_driver(struct fz_corpus *c)
{
	static char buf[8192];

	for (int k = 0; k < 4; k++)
		fz_seed(c, buf, transcript(buf, sizeof(buf), k & 1, k >> 1));
}

const struct fz_target fz_eembc_driver = {
	.name = "eembc-driver",
	.what = "harness/eembc/tb_eembc.c: whole conversations, direct and via an IO manager",
	.ci_iterations = 8000,
	.seeds = seeds_driver,
	.run = run_driver,
	.dict = eembc_dict,
};
