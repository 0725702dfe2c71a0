/*
 * test_e2e_model.c - the model commands of the real `tinybench` CLI:
 * `models fetch` offline from a file:// copy of ../shared (and a copy with
 * one corrupted file: checksum mismatch), `model inspect`, `model
 * ad-score`, and `run --board sim --model` against the native runner.
 * Skipped with a message when ../shared is absent.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../workloads/tb_shared.h"

static char tmp[256];

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/tb-e2e-model-XXXXXX");
	cr_assert(mkdtemp(tmp));
}

static void teardown(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	cr_assert_eq(system(cmd), 0);
}

/* Run a shell command line; its exit status, stdout+stderr into out. */
static int sh(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	p = popen(cmd, "r");
	cr_assert(p);
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *models_dir(char *buf, size_t len)
{
	if (!tb_shared_path("mlperf-tiny/models", buf, len))
		cr_skip_test(TB_SHARED_SKIP_MSG);
	return buf;
}

TestSuite(e2e_model, .init = setup, .fini = teardown);

Test(e2e_model, models_fetch_offline_verifies_every_sum)
{
	char m[4096], out[8192];
	int rc;

	models_dir(m, sizeof(m));
	rc = sh(out, sizeof(out), "'%s' models fetch --from 'file://%s' --dir '%s/models'",
		getenv("TB_CLI"), m, tmp);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "8 fetched, 0 already present, 0 failed"), "%s", out);
	/* again: everything is kept */
	rc = sh(out, sizeof(out), "'%s' models fetch --from 'file://%s' --dir '%s/models'",
		getenv("TB_CLI"), m, tmp);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "0 fetched, 8 already present"), "%s", out);
}

Test(e2e_model, models_fetch_rejects_a_checksum_mismatch)
{
	char m[4096], out[8192];
	int rc;

	models_dir(m, sizeof(m));
	rc = sh(out, sizeof(out), "mkdir -p '%s/mirror' && cp '%s'/*.tflite '%s/mirror/' && "
		"chmod u+w '%s/mirror'/* && printf X | dd of='%s/mirror/ad01_int8.tflite' "
		"bs=1 seek=4000 conv=notrunc", tmp, m, tmp, tmp, tmp);
	cr_assert_eq(rc, 0, "%s", out);
	rc = sh(out, sizeof(out), "'%s' models fetch --from 'file://%s/mirror' --dir '%s/models'",
		getenv("TB_CLI"), tmp, tmp);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "ad01_int8.tflite: SHA-256 mismatch"), "%s", out);
	cr_assert(strstr(out, "7 fetched, 0 already present, 1 failed"), "%s", out);
	rc = sh(out, sizeof(out), "test ! -e '%s/models/ad01_int8.tflite' && "
		"test ! -e '%s/models/ad01_int8.tflite.part'", tmp, tmp);
	cr_assert_eq(rc, 0, "the corrupted file was kept");
}

Test(e2e_model, inspect_reports_macs_and_arena)
{
	char m[4096], out[16384];
	int rc;

	models_dir(m, sizeof(m));
	rc = sh(out, sizeof(out), "'%s' model inspect '%s/vww_96_int8.tflite'", getenv("TB_CLI"), m);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "MACs:    7489664 per inference"), "%s", out);
	cr_assert(strstr(out, "params:  210850"), "%s", out);
	rc = sh(out, sizeof(out), "'%s' model inspect --json '%s/kws_ref_model_float32.tflite'",
		getenv("TB_CLI"), m);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "\"hybrid\": true"), "%s", out);
	rc = sh(out, sizeof(out), "head -c 1000 '%s/ad01_int8.tflite' > '%s/cut.tflite' && "
		"'%s' model inspect '%s/cut.tflite'", m, tmp, getenv("TB_CLI"), tmp);
	cr_assert_eq(rc, 2, "truncated file: %s", out);
	cr_assert(strstr(out, "malformed .tflite"), "%s", out);
}

Test(e2e_model, ad_score_of_the_real_sample)
{
	char m[4096], s[4096], out[4096];
	double q, f;
	int rc;

	models_dir(m, sizeof(m));
	if (!tb_shared_path("mlperf-tiny/samples/normal_id_01_00000000_hist_librosa.bin", s,
			    sizeof(s)))
		cr_skip_test(TB_SHARED_SKIP_MSG);
	rc = sh(out, sizeof(out), "'%s' model ad-score '%s/ad01_int8.tflite' '%s'",
		getenv("TB_CLI"), m, s);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "196 windows"), "%s", out);
	cr_assert_eq(sscanf(strstr(out, "anomaly score ") + 14, "%lf", &q), 1);
	rc = sh(out, sizeof(out), "'%s' model ad-score '%s/ad01_fp32.tflite' '%s'",
		getenv("TB_CLI"), m, s);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert_eq(sscanf(strstr(out, "anomaly score ") + 14, "%lf", &f), 1);
	cr_log_info("ad01 score: int8 %.6f, fp32 %.6f", q, f);
	cr_assert(q > 0 && f > 0 && q / f < 1.2 && f / q < 1.2, "int8 %f vs fp32 %f", q, f);
}

Test(e2e_model, run_model_on_sim_checks_against_the_host)
{
	char m[4096], out[16384];
	int rc;

	models_dir(m, sizeof(m));
	rc = sh(out, sizeof(out), "TB_RUNNER='%s' '%s' run --board sim --model "
		"'%s/pretrainedResnet_quant.tflite' --trials 2 --min-time 0.05 --db '%s/r.db'",
		getenv("TB_RUNNER"), getenv("TB_CLI"), m, tmp);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "workload pretrainedResnet"), "%s", out);
	cr_assert(strstr(out, "2/2 match"), "%s", out);
	rc = sh(out, sizeof(out), "'%s' run --board sim --model /nonexistent.tflite --db '%s/r.db'",
		getenv("TB_CLI"), tmp);
	cr_assert_eq(rc, 3, "%s", out);
}
