/*
 * bench_daemon.c - `tinybench-bench-daemon`: the figures of the daemon's
 * issue, measured on sim boards.
 *
 *  1. Queue throughput: N tiny jobs (1 trial, --min-time 0.001, no
 *     warm-ups) submitted by K concurrent clients to B sim boards; jobs/s
 *     from the first submit to the last job's end.
 *  2. The daemon's memory: VmRSS after start, after the jobs, and VmHWM.
 *  3. Time from a hang to recovery: a runner that stops answering in the
 *     middle of a trial (--fault hang-after=3) is detected by the INFER
 *     timeout, restarted, and the trial retried; measured from the start of
 *     the hung attempt to the start of the next one (progress events), once
 *     with the timeout the calibration gives (3 x batch + 5 s) and once
 *     with timeout_ms = 1000.
 *
 * It starts its own tinybenchd in a temporary folder and stops it after.
 *   tinybench-bench-daemon [--jobs N] [--clients K] [--boards B]
 */
#include "tb_client.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char dir[128], sock[256];
static int jobs_per_client;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const struct tb_error *err)
{
	fprintf(stderr, "tinybench-bench-daemon: %s: %s\n", what, err ? err->msg : strerror(errno));
	exit(1);
}

static json_t *call(json_t *req)
{
	struct tb_error err = { 0 };
	struct tb_client *c = NULL;
	json_t *r = NULL;

	if (tb_client_open(sock, NULL, &c, &err) < 0 || tb_client_call(c, req, &r, &err) < 0)
		die("daemon", &err);
	tb_client_close(c);
	return r;
}

static long rss_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = strtol(line + strlen(field) + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* boards sim boards, or (boards == 0) the two hanging boards. */
static pid_t start_daemon(int boards)
{
	char conf[256], logp[256];
	char *argv[] = { TB_DAEMON_EXE, "--config", conf, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	FILE *f;
	json_t *r = NULL;
	double t0 = now_s();

	snprintf(conf, sizeof(conf), "%s/d.conf", dir);
	snprintf(logp, sizeof(logp), "%s/daemon.log", dir);
	f = fopen(conf, "w");
	if (!f)
		die(conf, NULL);
	fprintf(f, "[daemon]\nsocket = %s\nqueue = %s/queue.db\nresults = %s/results.db\n"
		"log_level = warning\n", sock, dir, dir);
	for (int i = 0; i < boards; i++)
		fprintf(f, "[board sim-%d]\nboard = sim\n", i + 1);
	if (!boards)
		fprintf(f, "[board hang-default]\nboard = sim\n"
			"runner_args = --fault slow=5 --fault hang-after=3\n"
			"[board hang-1s]\nboard = sim\ntimeout_ms = 1000\n"
			"runner_args = --fault slow=5 --fault hang-after=3\n");
	fclose(f);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ))
		die("spawn tinybenchd", NULL);
	posix_spawn_file_actions_destroy(&fa);
	while (!r) {
		struct tb_error err = { 0 };
		struct tb_client *c = NULL;

		if (tb_client_open(sock, NULL, &c, &err) == 0)
			tb_client_call(c, json_pack("{s:s}", "op", "ping"), &r, &err);
		tb_client_close(c);
		if (!r && now_s() - t0 > 10) {
			fprintf(stderr, "tinybenchd did not start; see %s\n", logp);
			exit(1);
		}
		if (!r)
			usleep(20000);
	}
	json_decref(r);
	return pid;
}

static void *client(void *arg)
{
	struct tb_error err = { 0 };
	struct tb_client *c = NULL;

	(void)arg;
	if (tb_client_open(sock, NULL, &c, &err) < 0)
		die("connect", &err);
	for (int i = 0; i < jobs_per_client; i++) {
		json_t *r = NULL;

		if (tb_client_call(c, json_pack("{s:s, s:s, s:s, s:i, s:f, s:i}", "op", "submit",
						"board", "sim", "workload", "kws", "trials", 1,
						"min_time", 0.001, "warmups", 0), &r, &err) < 0)
			die("submit", &err);
		json_decref(r);
	}
	tb_client_close(c);
	return NULL;
}

static long long finished(void)
{
	json_t *r = call(json_pack("{s:s, s:i}", "op", "jobs", "limit", 1));
	json_t *c = json_object_get(r, "counts");
	long long n = json_integer_value(json_object_get(c, "done")) +
		      json_integer_value(json_object_get(c, "failed")) +
		      json_integer_value(json_object_get(c, "cancelled"));

	json_decref(r);
	return n;
}

/* Submit to a hanging board and time the retry from its progress events. */
static void hang_to_recovery(const char *board)
{
	struct tb_error err = { 0 };
	struct tb_client *c = NULL;
	double t_attempt = 0, t_retry = 0, t_back = 0;
	json_t *r = NULL, *ev;

	if (tb_client_open(sock, NULL, &c, &err) < 0 ||
	    tb_client_call(c, json_pack("{s:s, s:s, s:s, s:i, s:f, s:i, s:b}", "op", "submit",
					"board", board, "workload", "kws", "trials", 3,
					"min_time", 0.001, "warmups", 0, "follow", 1), &r, &err) < 0)
		die("submit", &err);
	json_decref(r);
	while (tb_client_recv(c, &ev, 60000, &err) == 0) {
		const char *kind = json_string_value(json_object_get(ev, "event"));
		const char *phase = json_string_value(json_object_get(ev, "phase"));
		long long trial = json_integer_value(json_object_get(ev, "trial"));
		long long attempt = json_integer_value(json_object_get(ev, "attempt"));

		if (kind && !strcmp(kind, "end")) {
			const char *st = json_string_value(json_object_get(json_object_get(ev, "job"),
									   "state"));

			if (!st || strcmp(st, "done"))
				fprintf(stderr, "hang job on %s ended %s\n", board, st ? st : "?");
			json_decref(ev);
			break;
		}
		if (kind && !strcmp(kind, "progress") && phase) {
			if (!strcmp(phase, "trial") && trial == 1 && attempt == 1)
				t_attempt = now_s();
			else if (!strcmp(phase, "retry") && !t_retry)
				t_retry = now_s();
			else if (!strcmp(phase, "trial") && trial == 1 && attempt == 2)
				t_back = now_s();
		}
		json_decref(ev);
	}
	tb_client_close(c);
	if (!t_attempt || !t_retry || !t_back) {
		fprintf(stderr, "hang on %s: events missing\n", board);
		return;
	}
	printf("hang -> recovery on %-12s %.2f s (hang detected after %.2f s, board reset and "
	       "answering %.3f s later)\n", board, t_back - t_attempt, t_retry - t_attempt,
	       t_back - t_retry);
}

int main(int argc, char **argv)
{
	int jobs = 1000, clients = 20, boards = 2;
	long rss0, rss1, hwm;
	pthread_t *th;
	double t0, t1;
	pid_t pid;
	int st;
	char cmd[200];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--jobs") && i + 1 < argc)
			jobs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
			clients = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--boards") && i + 1 < argc)
			boards = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: tinybench-bench-daemon [--jobs N] [--clients K] "
				"[--boards B]\n");
			return 2;
		}
	}
	if (jobs < clients || clients < 1 || boards < 1 || boards > 16) {
		fprintf(stderr, "tinybench-bench-daemon: need jobs >= clients >= 1, 1..16 boards\n");
		return 2;
	}
	jobs_per_client = jobs / clients;
	jobs = jobs_per_client * clients;
	snprintf(dir, sizeof(dir), "/tmp/tb-bench-daemon-XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp", NULL);
	snprintf(sock, sizeof(sock), "%s/d.sock", dir);
	pid = start_daemon(boards);
	sleep(1); /* let every board connect */
	rss0 = rss_kib(pid, "VmRSS:");

	th = calloc((size_t)clients, sizeof(*th));
	t0 = now_s();
	for (int i = 0; i < clients; i++)
		pthread_create(&th[i], NULL, client, NULL);
	for (int i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	while (finished() < jobs)
		usleep(20000);
	t1 = now_s();
	rss1 = rss_kib(pid, "VmRSS:");
	hwm = rss_kib(pid, "VmHWM:");
	printf("queue: %d jobs (1 trial, --min-time 0.001) from %d clients on %d sim boards: "
	       "%.2f s, %.1f jobs/s\n", jobs, clients, boards, t1 - t0, jobs / (t1 - t0));
	printf("daemon memory: RSS %.1f MiB after start, %.1f MiB after %d jobs "
	       "(peak %.1f MiB)\n", rss0 / 1024.0, rss1 / 1024.0, jobs, hwm / 1024.0);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);

	pid = start_daemon(0);
	hang_to_recovery("hang-default");
	hang_to_recovery("hang-1s");
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(th);
	return 0;
}
