/*
 * End-to-end tests: run `tinybench` as a user would, against the native
 * runner on a pty, and check what it prints, its exit code and what it left
 * in the database.  Faults come from the runner's --fault test hooks.
 */
#include <criterion/criterion.h>
#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e_util.h"

extern char **environ;

static char tmpdir[256];
static char db[512];

static void setup(void)
{
	e2e_tmpdir_new(tmpdir, sizeof(tmpdir), "/tmp/tb-e2e-XXXXXX");
	snprintf(db, sizeof(db), "%s/results.db", tmpdir);
	/* No daemon: `run` stays in this process (docs/DAEMON.md). */
	setenv("TINYBENCH_DAEMON", "/nonexistent/tinybenchd.sock", 1);
}

static void teardown(void)
{
	e2e_tmpdir_remove(tmpdir);
}

TestSuite(e2e, .init = setup, .fini = teardown, .timeout = 60);

static int contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* ---------------------------------------------------------------------- */

struct csv_count {
	int fields;
	int rows;
	int header_fields;
	char first_header[64];
	char status_col_ok;
	int field_in_row;
	int trial_idx_col;
};

static void csv_field(void *s, size_t len, void *user)
{
	struct csv_count *c = user;

	if (c->rows == 0 && c->field_in_row == 0)
		snprintf(c->first_header, sizeof(c->first_header), "%.*s", (int)len, (char *)s);
	c->field_in_row++;
	c->fields++;
}

static void csv_row(int ch, void *user)
{
	struct csv_count *c = user;

	(void)ch;
	if (c->rows == 0)
		c->header_fields = c->field_in_row;
	else
		cr_assert_eq(c->field_in_row, c->header_fields, "row %d has %d fields, header %d",
			     c->rows, c->field_in_row, c->header_fields);
	c->rows++;
	c->field_in_row = 0;
}

static struct csv_count parse_csv_file(const char *path)
{
	struct csv_parser p;
	struct csv_count c = { 0 };
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(csv_init(&p, CSV_STRICT | CSV_STRICT_FINI), 0);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		cr_assert_eq(csv_parse(&p, buf, n, csv_field, csv_row, &c), n,
			     "CSV parse error: %s", csv_strerror(csv_error(&p)));
	cr_assert_eq(csv_fini(&p, csv_field, csv_row, &c), 0);
	csv_free(&p);
	fclose(f);
	return c;
}

Test(e2e, run_sim_kws_then_export_csv)
{
	static struct e2e_result r;
	char csv[600];

	TB(&r, "run", "--board", "sim", "--workload", "kws", "--trials", "3",
	   "--min-time", "0.2", "--db", db);
	cr_assert_eq(r.status, 0, "exit %d\nstdout:\n%s\nstderr:\n%s", r.status, r.out, r.err);
	cr_assert(contains(r.out, "latency"), "%s", r.out);
	cr_assert(contains(r.out, "stack peak"), "%s", r.out);
	cr_assert(contains(r.out, "3/3 match"), "outputs not verified: %s", r.out);

	snprintf(csv, sizeof(csv), "%s/out.csv", tmpdir);
	TB(&r, "export", "--format", "csv", "--db", db, "-o", csv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	struct csv_count c = parse_csv_file(csv);

	cr_assert_eq(c.rows, 1 + 3, "header + one row per trial, got %d rows", c.rows);
	cr_assert_str_eq(c.first_header, "run_id");

	TB(&r, "results", "--db", db);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(contains(r.out, "kws01") && contains(r.out, " ok "), "%s", r.out);
}

Test(e2e, json_has_trials_and_output)
{
	static struct e2e_result r;

	TB(&r, "run", "--board", "sim", "--workload", "kws01", "--trials", "2",
	   "--min-time", "0.1", "--db", db, "--json");
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_assert(contains(r.out, "\"status\": \"ok\""), "%s", r.out);
	cr_assert(contains(r.out, "\"trials\": ["), "%s", r.out);
	cr_assert(contains(r.out, "\"values\": ["), "%s", r.out);
	cr_assert(contains(r.out, "\"output_check\": \"match\""), "%s", r.out);
}

Test(e2e, unknown_board_and_workload_list_the_valid_ones)
{
	static struct e2e_result r;

	TB(&r, "run", "--board", "nosuch", "--workload", "kws", "--db", db);
	cr_assert_eq(r.status, 3, "exit %d: %s", r.status, r.err);
	cr_assert(contains(r.err, "nosuch") && contains(r.err, "sim") &&
		  contains(r.err, "apollo3"), "%s", r.err);
	TB(&r, "run", "--board", "sim", "--workload", "nosuch", "--db", db);
	cr_assert_eq(r.status, 3, "exit %d: %s", r.status, r.err);
	cr_assert(contains(r.err, "kws01"), "%s", r.err);
}

Test(e2e, missing_port_is_not_found)
{
	static struct e2e_result r;

	TB(&r, "run", "--board", "sim", "--workload", "kws", "--db", db,
	   "--port", "/dev/tinybench-no-such-port");
	cr_assert_eq(r.status, 3, "exit %d: %s", r.status, r.err);
	cr_assert(contains(r.err, "/dev/tinybench-no-such-port"), "%s", r.err);
}

Test(e2e, silent_runner_times_out_on_hello)
{
	static struct e2e_result r;

	TB(&r, "run", "--board", "sim", "--workload", "kws", "--db", db,
	   "--runner-arg=--fault", "--runner-arg=silent");
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert(contains(r.err, "HELLO"), "%s", r.err);
	cr_assert_lt(r.seconds, 15.0, "took %.1f s", r.seconds);
}

/* Calibration runs 1 warm-up + 1 inference (a 5 ms inference outlasts 5 %
 * of the 1 ms minimum), then each trial 0 warm-ups + 1 inference: the
 * runner dies in the second trial.  Without retries (--attempts 1) the
 * harness stores that trial as failed, restarts the runner (fault counters
 * start again) and finishes trials 3 and 4. */
Test(e2e, runner_dying_mid_run_is_restarted_and_the_run_goes_on)
{
	static struct e2e_result r;

	TB(&r, "run", "--board", "sim", "--workload", "kws", "--db", db, "--trials", "4",
	   "--min-time", "0.001", "--warmups", "0", "--attempts", "1",
	   "--runner-arg=--fault", "--runner-arg=slow=5",
	   "--runner-arg=--fault", "--runner-arg=die-after=3");
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert(contains(r.err, "exited with status 3"), "%s", r.err);
	cr_assert(contains(r.err, "1 of 4 trials failed"), "%s", r.err);
	cr_assert(contains(r.err, "3 good trials kept"), "%s", r.err);
	cr_assert(contains(r.out, "2     failed:"), "%s", r.out);
	TB(&r, "results", "--db", db);
	cr_assert_eq(r.status, 0);
	cr_assert(contains(r.out, "failed"), "%s", r.out);
	TB(&r, "export", "--format", "csv", "--db", db);
	cr_assert_eq(r.status, 0);
	/* header + 4 trials, one of them failed */
	int lines = 0;

	for (char *p = r.out; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 5, "%s", r.out);
	cr_assert(contains(r.out, "\"failed\",\"trial 2: ") &&
		  contains(r.out, "runner exited with status 3\""), "%s", r.out);
}

/* Three failed trials in a row stop the run. */
Test(e2e, runner_that_keeps_dying_stops_the_run)
{
	static struct e2e_result r;

	/* Calibration: 2 inferences; every trial: 5 + 1, and a runner dies
	 * at its 4th inference, restarted or not. */
	TB(&r, "run", "--board", "sim", "--workload", "kws", "--db", db, "--trials", "6",
	   "--min-time", "0.001", "--warmups", "5",
	   "--runner-arg=--fault", "--runner-arg=slow=5",
	   "--runner-arg=--fault", "--runner-arg=die-after=3");
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert(contains(r.err, "3 of 6 trials failed"), "%s", r.err);
	cr_assert(contains(r.err, "0 good trials kept"), "%s", r.err);
}

Test(e2e, hanging_runner_is_timed_out)
{
	static struct e2e_result r;

	TB(&r, "run", "--board", "sim", "--workload", "kws", "--db", db, "--trials", "3",
	   "--min-time", "0.001", "--warmups", "0", "--timeout", "1500", "--attempts", "1",
	   "--runner-arg=--fault", "--runner-arg=slow=5",
	   "--runner-arg=--fault", "--runner-arg=hang-after=3");
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert(contains(r.err, "did not finish"), "%s", r.err);
	cr_assert_lt(r.seconds, 20.0);
}

Test(e2e, corrupted_replies_are_survived)
{
	static struct e2e_result r;

	TB(&r, "run", "--board", "sim", "--workload", "kws", "--db", db, "--trials", "3",
	   "--min-time", "0.05", "--runner-arg=--fault", "--runner-arg=corrupt-every=4",
	   "--runner-arg=--fault", "--runner-arg=noise");
	cr_assert_eq(r.status, 0, "exit %d\n%s\n%s", r.status, r.out, r.err);
	cr_assert(contains(r.out, "3/3 match"), "%s", r.out);
}

Test(e2e, unwritable_database_fails_before_running)
{
	static struct e2e_result r;
	char file[600], bad[700];
	FILE *f;

	snprintf(file, sizeof(file), "%s/plainfile", tmpdir);
	f = fopen(file, "w");
	cr_assert_not_null(f);
	fclose(f);
	snprintf(bad, sizeof(bad), "%s/results.db", file);
	TB(&r, "run", "--board", "sim", "--workload", "kws", "--db", bad);
	cr_assert_eq(r.status, 4, "exit %d: %s", r.status, r.err);
	cr_assert(contains(r.err, bad), "%s", r.err);
}

Test(e2e, input_file_of_wrong_size_is_rejected)
{
	static struct e2e_result r;
	char in[600];
	FILE *f;

	snprintf(in, sizeof(in), "%s/in.bin", tmpdir);
	f = fopen(in, "wb");
	fwrite("abc", 1, 3, f);
	fclose(f);
	TB(&r, "run", "--board", "sim", "--workload", "kws", "--db", db, "--input", in);
	cr_assert_eq(r.status, 2, "exit %d: %s", r.status, r.err);
	cr_assert(contains(r.err, "490"), "%s", r.err);
}

Test(e2e, input_file_is_used)
{
	static struct e2e_result r;
	char in[600];
	unsigned char buf[490];
	FILE *f;

	for (int i = 0; i < 490; i++)
		buf[i] = (unsigned char)(i * 7);
	snprintf(in, sizeof(in), "%s/in.bin", tmpdir);
	f = fopen(in, "wb");
	fwrite(buf, 1, sizeof(buf), f);
	fclose(f);
	TB(&r, "run", "--board", "sim", "--workload", "kws", "--db", db, "--input", in,
	   "--trials", "2", "--min-time", "0.05", "--json");
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(contains(r.out, in), "input path not recorded: %s", r.out);
}

Test(e2e, bad_options_exit_2_with_help_hint)
{
	static struct e2e_result r;

	TB(&r, "run", "--board", "sim", "--workload", "kws", "--trials", "zero");
	cr_assert_eq(r.status, 2);
	cr_assert(contains(r.err, "--trials"), "%s", r.err);
	TB(&r, "frobnicate");
	cr_assert_eq(r.status, 2);
	TB(&r, "export", "--format", "xml", "--db", db);
	cr_assert_eq(r.status, 2);
	cr_assert(contains(r.err, "csv"), "%s", r.err);
	TB(&r, "run", "--help");
	cr_assert_eq(r.status, 0);
	cr_assert(contains(r.out, "--min-time"));
}

Test(e2e, boards_and_workloads_list)
{
	static struct e2e_result r;

	TB(&r, "boards");
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(contains(r.out, "sim") && contains(r.out, "apollo3") &&
		  contains(r.out, "1a86:7523"), "%s", r.out);
	TB(&r, "workloads");
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(contains(r.out, "kws01"), "%s", r.out);
}

Test(e2e, results_without_database_says_so)
{
	static struct e2e_result r;
	char missing[600];

	snprintf(missing, sizeof(missing), "%s/none.db", tmpdir);
	TB(&r, "results", "--db", missing);
	cr_assert_eq(r.status, 3, "exit %d", r.status);
	cr_assert(contains(r.err, "none.db"), "%s", r.err);
	struct stat st;

	cr_assert_neq(stat(missing, &st), 0, "reading must not create a database");
}

/* Ctrl-C in the middle: the run is marked interrupted, finished trials
 * stay, the exit code is 130. */
Test(e2e, sigint_marks_the_run_interrupted_and_keeps_trials)
{
	static struct e2e_result r;
	const char *cli = getenv("TB_CLI");
	char *argv[] = { (char *)cli, "run", "--board", "sim", "--workload", "kws",
			 "--db", db, "--trials", "20", "--min-time", "0.3", "-q", NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, lines = 0;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	cr_assert_eq(posix_spawn(&pid, cli, &fa, NULL, argv, environ), 0);
	usleep(1500 * 1000);
	kill(pid, SIGINT);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 130, "status 0x%x", st);
	TB(&r, "results", "--db", db);
	cr_assert(contains(r.out, "interrupted"), "%s", r.out);
	TB(&r, "export", "--format", "csv", "--db", db);
	for (char *p = r.out; *p; p++)
		lines += *p == '\n';
	cr_assert_geq(lines, 2, "no finished trial kept: %s", r.out);
	cr_assert_lt(lines, 21, "the run was not interrupted: %s", r.out);
}

/* A runner started by hand with --pty, reached with --port. */
Test(e2e, run_against_a_runner_started_with_pty)
{
	static struct e2e_result r;
	const char *runner = getenv("TB_RUNNER");
	char path[128] = "";
	int st;
	pid_t pid;

	cr_assert_not_null(runner, "TB_RUNNER not set");
	pid = e2e_spawn_pty(runner, path, sizeof(path));
	TB(&r, "run", "--board", "sim", "--workload", "kws", "--db", db, "--port", path,
	   "--trials", "2", "--min-time", "0.05");
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_assert(contains(r.out, "2/2 match"), "%s", r.out);
}

/* With retries (the default, 3 attempts) the trial the runner died in is
 * run again on the restarted runner: every trial ends ok, the run is ok,
 * and the stored trial says it took 2 attempts. */
Test(e2e, runner_dying_mid_trial_is_restarted_and_the_trial_retried)
{
	static struct e2e_result r;

	TB(&r, "run", "--board", "sim", "--workload", "kws", "--db", db, "--trials", "4",
	   "--min-time", "0.001", "--warmups", "0",
	   "--runner-arg=--fault", "--runner-arg=slow=5",
	   "--runner-arg=--fault", "--runner-arg=die-after=3");
	cr_assert_eq(r.status, 0, "exit %d\n%s\n%s", r.status, r.out, r.err);
	cr_assert(contains(r.err, "attempt 1 failed") && contains(r.err, "exited with status 3"),
		  "%s", r.err);
	cr_assert(contains(r.out, "4/4 match"), "%s", r.out);
	TB(&r, "export", "--format", "csv", "--db", db);
	cr_assert_eq(r.status, 0, "%s", r.err);
	/* the last column is attempts: trial 2 took two */
	cr_assert(contains(r.out, ",2\r\n"), "%s", r.out);
}

/* A runner that hangs is timed out, restarted, and the trial retried. */
Test(e2e, hanging_runner_is_reset_and_the_trial_retried)
{
	static struct e2e_result r;

	TB(&r, "run", "--board", "sim", "--workload", "kws", "--db", db, "--trials", "3",
	   "--min-time", "0.001", "--warmups", "0", "--timeout", "1000",
	   "--runner-arg=--fault", "--runner-arg=slow=5",
	   "--runner-arg=--fault", "--runner-arg=hang-after=3");
	cr_assert_eq(r.status, 0, "exit %d\n%s\n%s", r.status, r.out, r.err);
	cr_assert(contains(r.err, "did not finish"), "%s", r.err);
	cr_assert(contains(r.out, "3/3 match"), "%s", r.out);
	cr_assert_lt(r.seconds, 20.0);
}

/* A damaged line (byte error rate 1e-3 both ways, fault transport): the
 * run completes with correct outputs. */
Test(e2e, byte_errors_on_the_link_are_survived)
{
	static struct e2e_result r;

	TB(&r, "run", "--board", "sim", "--workload", "kws", "--db", db, "--trials", "5",
	   "--min-time", "0.01", "--timeout", "1000", "--fault", "ber=1e-3,seed=7");
	cr_assert_eq(r.status, 0, "exit %d\n%s\n%s", r.status, r.out, r.err);
	cr_assert(contains(r.out, "5/5 match"), "%s", r.out);
}
