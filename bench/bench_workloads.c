/*
 * bench_workloads.c - the built-in workloads in figures.
 *
 *   build/bench/tinybench-bench-workloads [--min-time S] [--board B]
 *                                         [--workload W]
 *
 * For every built-in workload (or one): MACs per inference, parameters
 * and weight bytes (the constant tensors of the blob), the planned arena
 * against the two lower bounds (the largest single-operator footprint:
 * inputs + output of one op; the largest live set of the plan), then a
 * real run on the board (default: the sim board, the native runner on a
 * pty, through the same session code as `tinybench run`): median latency
 * per inference over 3 trials, throughput in MMAC/s, measured arena and
 * stack peaks.  Results go to a temporary database that is removed.
 * Latency on sim is the host's, not a microcontroller's.
 */
#include "tb_nn_model.h"
#include "tb_session.h"
#include "tb_workload.h"
#include "tb_workload_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *board = "sim", *only = NULL;
	double min_time = 1.0;
	char db[] = "/tmp/tinybench-bench-XXXXXX";
	int fd, failed = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--min-time") && i + 1 < argc) {
			min_time = strtod(argv[++i], NULL);
		} else if (!strcmp(argv[i], "--board") && i + 1 < argc) {
			board = argv[++i];
		} else if (!strcmp(argv[i], "--workload") && i + 1 < argc) {
			only = argv[++i];
		} else {
			fprintf(stderr, "usage: tinybench-bench-workloads [--min-time S] "
				"[--board B] [--workload W]\n");
			return 2;
		}
	}
	fd = mkstemp(db);
	if (fd < 0) {
		perror("tinybench-bench-workloads: temporary database");
		return 1;
	}
	close(fd);
	unlink(db);

	printf("%-6s %10s %8s %9s %9s %9s %9s %6s %10s %9s %9s %9s\n", "wl", "MACs",
	       "params", "weight B", "arena B", "1-op B", "live B", "plan/1op",
	       "latency ms", "MMAC/s", "peak B", "stack B");
	for (unsigned i = 0; tb_workloads[i]; i++) {
		const struct tb_workload *wl = tb_workloads[i];
		const struct tb_workload_nn *nn = wl->model;
		struct tb_run_opts o = { .warmups = -1 };
		struct tb_run_result res;
		struct tb_error err = { 0 };
		struct tb_nn_model m;
		uint64_t params, bytes;
		uint32_t footprint;

		if (only && strcmp(only, wl->name))
			continue;
		if (tb_nn_model_init(&m, nn->blob, nn->size)) {
			fprintf(stderr, "%s: blob does not validate\n", wl->name);
			failed = 1;
			continue;
		}
		tb_nn_model_consts(&m, &params, &bytes);
		footprint = tb_nn_model_max_op_footprint(&m);
		printf("%-6s %10u %8llu %9llu %9u %9u %9u %6.3f", wl->name, wl->macs,
		       (unsigned long long)params, (unsigned long long)bytes, wl->arena_size,
		       footprint, tb_nn_model_live_peak(&m),
		       (double)wl->arena_size / footprint);
		fflush(stdout);
		o.board = board;
		o.workload = wl->name;
		o.db_path = db;
		o.trials = 3;
		o.min_time_s = min_time;
		if (tb_session_run(&o, &res, &err) < 0) {
			printf("  failed: %s\n", err.msg);
			failed = 1;
		} else {
			printf(" %10.4f %9.1f %9lld %9lld\n", res.latency_ms.median,
			       res.throughput * wl->macs / 1e6, (long long)res.arena_peak,
			       (long long)res.stack_peak);
		}
		tb_run_result_free(&res);
	}
	unlink(db);
	printf("\n1-op B: largest single-operator footprint (inputs + output of one op);\n"
	       "live B: largest live set of the plan; arena B: planned; peak B: measured\n"
	       "on the board.  Latency: median over 3 trials of >= %.1f s (board %s).\n",
	       min_time, board);
	return failed;
}
