/*
 * test_sim_spawn.c - spawning, talking to, watching and stopping a runner
 * on a pty, with tb_test_runner.c standing in for the native runner.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tb_sim_spawn.h"

#ifndef TB_TEST_RUNNER
#error "the test meson.build passes TB_TEST_RUNNER"
#endif

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The runner of the current test, stopped by the suite's fini even when
 * an assertion failed half-way. */
static struct tb_sim *current;

static void stop_current(void)
{
	tb_sim_free(current);
	current = NULL;
}

TestSuite(sim_spawn, .fini = stop_current);

static void sim_done(struct tb_sim *sim)
{
	cr_assert_eq(sim, current);
	stop_current();
}

static struct tb_sim *spawn_mode(const char *mode, const char *delay_ms)
{
	const char *args[] = { "--mode", mode, "--delay-ms", delay_ms, NULL };
	struct tb_error err = { 0 };
	struct tb_sim *sim = NULL;
	int rc;

	rc = tb_sim_spawn(TB_TEST_RUNNER, args, &sim, &err);
	cr_assert_eq(rc, 0, "spawn %s: %s", mode, err.msg);
	cr_assert_not_null(sim);
	current = sim;
	return sim;
}

/* Read until len bytes came or the deadline passed; returns bytes read or
 * the error code. */
static int read_for(struct tb_transport *t, uint8_t *buf, size_t len,
		    int timeout_ms, struct tb_error *err)
{
	long long deadline = now_ms() + timeout_ms;
	size_t got = 0;
	int n;

	while (got < len && now_ms() < deadline) {
		n = tb_transport_read(t, buf + got, len - got, 100, err);
		if (n < 0)
			return n;
		got += (size_t)n;
	}
	return (int)got;
}

static bool pid_gone(pid_t pid)
{
	return kill(pid, 0) == -1 && errno == ESRCH;
}

Test(sim_spawn, echo_round_trip_and_counters)
{
	struct tb_sim *sim = spawn_mode("echo", "0");
	struct tb_transport *t = tb_sim_transport(sim);
	struct tb_error err = { 0 };
	uint8_t out[1000], in[1000];
	size_t i;

	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 13);
	cr_assert(!strncmp(tb_sim_port(sim), "/dev/pts/", 9), "%s", tb_sim_port(sim));
	cr_assert_gt(tb_sim_pid(sim), 0);
	cr_assert_eq(tb_transport_write(t, out, sizeof(out), 2000, &err), 0, "%s", err.msg);
	cr_assert_eq(read_for(t, in, sizeof(in), 5000, &err), (int)sizeof(in),
		     "%s", err.msg);
	cr_assert_arr_eq(in, out, sizeof(out));
	cr_assert_eq(t->bytes_out, 1000);
	cr_assert_eq(t->bytes_in, 1000);
	cr_assert_str_eq(t->ops->name, "sim");
	sim_done(sim);
}

/*
 * The hang-up race: the runner opens --port only after 300 ms.  The host
 * writes at once and reads: no EIO/CLOSED before the runner is there, and
 * the early bytes are not lost or echoed by a cooked line discipline.
 */
Test(sim_spawn, bytes_sent_before_the_runner_opens_the_port_arrive)
{
	struct tb_sim *sim = spawn_mode("echo", "300");
	struct tb_transport *t = tb_sim_transport(sim);
	struct tb_error err = { 0 };
	uint8_t in[32] = { 0 };
	int n;

	cr_assert_eq(tb_transport_write(t, (const uint8_t *)"early\r\n\x03x", 9, 1000, &err), 0,
		     "%s", err.msg);
	n = tb_transport_read(t, in, sizeof(in), 50, &err);
	cr_assert_eq(n, 0, "before the runner opened the port: %d %s", n, err.msg);
	n = read_for(t, in, 9, 5000, &err);
	cr_assert_eq(n, 9, "%d %s", n, err.msg);
	cr_assert_arr_eq(in, "early\r\n\x03x", 9);
	sim_done(sim);
}

Test(sim_spawn, runner_in_own_group_with_tty_stdin)
{
	struct tb_sim *sim = spawn_mode("pgid", "0");
	struct tb_error err = { 0 };
	char line[64] = { 0 }, want[64];
	int n;

	n = read_for(tb_sim_transport(sim), (uint8_t *)line, 64, 500, &err);
	cr_assert_gt(n, 0, "%d %s", n, err.msg);
	snprintf(want, sizeof(want), "pgid=%d tty=1\n", (int)tb_sim_pid(sim));
	cr_assert_str_eq(line, want);
	sim_done(sim);
}

Test(sim_spawn, exit_status_is_reported)
{
	struct tb_sim *sim = spawn_mode("exit3", "0");
	struct tb_transport *t = tb_sim_transport(sim);
	struct tb_error err = { 0 };
	const char *text = NULL;
	bool exited = false;
	uint8_t buf[8];
	long long t0 = now_ms();
	int n;

	n = tb_transport_read(t, buf, sizeof(buf), 5000, &err);
	cr_assert_eq(n, TB_ERR_CLOSED, "%d %s", n, err.msg);
	cr_assert_lt(now_ms() - t0, 2000, "hang-up seen late");
	cr_assert(strstr(err.msg, "runner exited with status 3"), "%s", err.msg);
	cr_assert_eq(tb_sim_status(sim, &exited, &text), 0);
	cr_assert(exited);
	cr_assert_str_eq(text, "runner exited with status 3");
	sim_done(sim);
}

Test(sim_spawn, death_by_signal_is_reported)
{
	struct tb_sim *sim = spawn_mode("kill-self", "0");
	struct tb_error err = { 0 };
	const char *text;
	bool exited;
	uint8_t buf[8];

	cr_assert_eq(tb_transport_read(tb_sim_transport(sim), buf, 8, 5000, &err),
		     TB_ERR_CLOSED, "%s", err.msg);
	tb_sim_status(sim, &exited, &text);
	cr_assert(exited);
	cr_assert(strstr(text, "runner killed by signal 15"), "%s", text);
	sim_done(sim);
}

Test(sim_spawn, data_before_exit_is_delivered)
{
	struct tb_sim *sim = spawn_mode("hello-exit", "0");
	struct tb_transport *t = tb_sim_transport(sim);
	struct tb_error err = { 0 };
	uint8_t buf[8] = { 0 };
	int n;

	n = read_for(t, buf, 5, 5000, &err);
	cr_assert_eq(n, 5, "%d %s", n, err.msg);
	cr_assert_arr_eq(buf, "hello", 5);
	n = tb_transport_read(t, buf, sizeof(buf), 5000, &err);
	cr_assert_eq(n, TB_ERR_CLOSED, "%d %s", n, err.msg);
	cr_assert(strstr(err.msg, "status 0"), "%s", err.msg);
	sim_done(sim);
}

/* A runner that never opens --port is a silent device, not a hang-up. */
Test(sim_spawn, runner_that_never_opens_the_port_times_out)
{
	struct tb_sim *sim = spawn_mode("noport", "0");
	struct tb_transport *t = tb_sim_transport(sim);
	struct tb_error err = { 0 };
	const char *text;
	bool exited = true;
	uint8_t buf[8];
	pid_t pid = tb_sim_pid(sim);
	long long t0;

	cr_assert_eq(tb_transport_write(t, (const uint8_t *)"ping", 4, 1000, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(tb_transport_read(t, buf, sizeof(buf), 300, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_sim_status(sim, &exited, &text), 0);
	cr_assert_not(exited);
	cr_assert(strstr(text, "running"), "%s", text);
	t0 = now_ms();
	sim_done(sim);
	cr_assert_lt(now_ms() - t0, TB_SIM_KILL_GRACE_MS, "SIGTERM should do");
	cr_assert(pid_gone(pid), "runner %d still there", (int)pid);
}

Test(sim_spawn, free_kills_and_reaps)
{
	struct tb_sim *sim = spawn_mode("echo", "0");
	pid_t pid = tb_sim_pid(sim);

	cr_assert_eq(kill(pid, 0), 0);
	sim_done(sim);
	cr_assert(pid_gone(pid), "runner %d still there (or a zombie)", (int)pid);
}

Test(sim_spawn, free_sigkills_a_runner_ignoring_sigterm)
{
	struct tb_sim *sim = spawn_mode("ignore-term", "0");
	pid_t pid = tb_sim_pid(sim);
	long long t0, dt;

	usleep(100 * 1000);  /* let it install SIG_IGN */
	t0 = now_ms();
	sim_done(sim);
	dt = now_ms() - t0;
	cr_assert(pid_gone(pid), "runner %d still there", (int)pid);
	cr_assert_geq(dt, TB_SIM_KILL_GRACE_MS - 20, "%lld ms", dt);
	cr_assert_lt(dt, TB_SIM_KILL_GRACE_MS + 2000, "%lld ms", dt);
}

Test(sim_spawn, closing_the_transport_hangs_up_the_runner)
{
	struct tb_sim *sim = spawn_mode("echo", "0");
	struct tb_transport *t = tb_sim_transport(sim);
	struct tb_error err = { 0 };
	const char *text;
	bool exited = false;
	uint8_t buf[4];
	long long deadline;

	/* Make sure the runner is up before hanging up. */
	cr_assert_eq(tb_transport_write(t, (const uint8_t *)"x", 1, 1000, &err), 0);
	cr_assert_eq(read_for(t, buf, 1, 5000, &err), 1, "%s", err.msg);
	tb_transport_close(t);
	cr_assert_eq(tb_transport_read(t, buf, 4, 100, &err), TB_ERR_CLOSED);
	/* The echo runner exits 0 on EIO. */
	deadline = now_ms() + 3000;
	while (!exited && now_ms() < deadline) {
		tb_sim_status(sim, &exited, &text);
		usleep(10 * 1000);
	}
	cr_assert(exited);
	cr_assert_str_eq(text, "runner exited with status 0");
	sim_done(sim);
}

Test(sim_spawn, nonexistent_runner_fails_at_once)
{
	struct tb_error err = { 0 };
	struct tb_sim *sim = (struct tb_sim *)1;
	long long t0 = now_ms();
	int rc;

	rc = tb_sim_spawn("/nonexistent/tinybench-runner-nope", NULL, &sim, &err);
	cr_assert_eq(rc, TB_ERR_NOTFOUND, "%d %s", rc, err.msg);
	cr_assert_null(sim);
	cr_assert_lt(now_ms() - t0, 1000);
	cr_assert(strstr(err.msg, "/nonexistent/tinybench-runner-nope"), "%s", err.msg);
	cr_assert(strstr(err.msg, "No such file"), "%s", err.msg);
}

Test(sim_spawn, non_executable_runner_fails_at_once)
{
	char path[] = "/tmp/tb_test_noexec_XXXXXX";
	struct tb_error err = { 0 };
	struct tb_sim *sim;
	int fd, rc;

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	chmod(path, 0644);
	rc = tb_sim_spawn(path, NULL, &sim, &err);
	unlink(path);
	cr_assert_eq(rc, TB_ERR_ARG, "%d %s", rc, err.msg);
	cr_assert(strstr(err.msg, "Permission denied"), "%s", err.msg);
}

Test(sim_spawn, free_accepts_null)
{
	struct tb_error err = { 0 };
	bool exited;

	tb_sim_free(NULL);
	cr_assert_eq(tb_sim_status(NULL, &exited, NULL), TB_ERR_ARG);
	cr_assert_eq(tb_sim_spawn(NULL, NULL, NULL, &err), TB_ERR_ARG);
}

/* ---- tb_runner_locate ------------------------------------------------ */

static void runner_dir(char *dir, size_t len)
{
	char *slash;

	snprintf(dir, len, "%s", TB_TEST_RUNNER);
	slash = strrchr(dir, '/');
	cr_assert_not_null(slash);
	*slash = '\0';
}

Test(runner_locate, env_dir_first)
{
	struct tb_error err = { 0 };
	char dir[4096], out[4096];

	runner_dir(dir, sizeof(dir));
	setenv("TINYBENCH_RUNNER_DIR", dir, 1);
	cr_assert_eq(tb_runner_locate("tb_test_runner", out, sizeof(out), &err), 0,
		     "%s", err.msg);
	cr_assert_str_eq(out, TB_TEST_RUNNER);
}

/* The test executables sit next to tb_test_runner: found via
 * /proc/self/exe with no environment help. */
Test(runner_locate, next_to_the_executable)
{
	struct tb_error err = { 0 };
	char out[4096];

	unsetenv("TINYBENCH_RUNNER_DIR");
	cr_assert_eq(tb_runner_locate("tb_test_runner", out, sizeof(out), &err), 0,
		     "%s", err.msg);
	cr_assert_str_eq(out, TB_TEST_RUNNER);
}

Test(runner_locate, path_is_checked)
{
	struct tb_error err = { 0 };
	char out[4096];

	cr_assert_eq(tb_runner_locate(TB_TEST_RUNNER, out, sizeof(out), &err), 0,
		     "%s", err.msg);
	cr_assert_str_eq(out, TB_TEST_RUNNER);
	cr_assert_eq(tb_runner_locate("/etc/passwd", out, sizeof(out), &err),
		     TB_ERR_NOTFOUND);
	cr_assert_eq(tb_runner_locate(TB_TEST_RUNNER, out, 4, &err), TB_ERR_ARG);
}

Test(runner_locate, not_found_lists_where_it_looked)
{
	struct tb_error err = { 0 };
	char out[4096];
	int rc;

	setenv("TINYBENCH_RUNNER_DIR", "/nonexistent/runners", 1);
	rc = tb_runner_locate("tinybench-runner-nope", out, sizeof(out), &err);
	cr_assert_eq(rc, TB_ERR_NOTFOUND, "%d %s", rc, err.msg);
	cr_assert(strstr(err.msg, "tinybench-runner-nope"), "%s", err.msg);
	cr_assert(strstr(err.msg, "/nonexistent/runners"), "%s", err.msg);
	cr_assert(strstr(err.msg, "device_runner/ports/native"), "%s", err.msg);
	cr_assert(strstr(err.msg, "libexec"), "%s", err.msg);

	unsetenv("TINYBENCH_RUNNER_DIR");
	tb_runner_locate("tinybench-runner-nope", out, sizeof(out), &err);
	cr_assert(strstr(err.msg, "TINYBENCH_RUNNER_DIR (unset)"), "%s", err.msg);
}
