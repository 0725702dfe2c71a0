/*
 * bench_upload.c - what an input upload costs on the wire.
 *
 *   build/bench/tinybench-bench-upload [--size BYTES] [--repeat K]
 *                                      [--board B] [--port P]
 *
 * Connects to the board (default: the sim runner on a pty), uploads a
 * deterministic input of --size bytes (default 27,648: one VWW image) K
 * times and prints the wire bytes per payload byte (both directions, every
 * frame of the upload: LOAD_BEGIN, chunks, acks), the round trips per
 * upload (times the host stopped to wait for the device) and the rate.
 * The same figures for MLPerf Tiny's EEMBC hex protocol are computed from
 * its description (31 payload bytes per `db <hex>%` command, one `m-ready`
 * line per command) for comparison.  Counts are exact; the rate depends on
 * the machine.
 */
#include "tb_board.h"
#include "tb_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const struct tb_error *err)
{
	fprintf(stderr, "tinybench-bench-upload: %s\n", err->msg);
	return 1;
}

int main(int argc, char **argv)
{
	const char *board_name = "sim";
	struct tb_conn_opts co = { 0 };
	struct tb_board_registry *reg = NULL;
	const struct tb_board *board;
	struct tb_upload_stats st, sum = { 0 };
	struct tb_error err = { 0 };
	struct tb_conn *conn = NULL;
	long size = 27648, repeat = 20;
	uint8_t *data;
	double t0, dt;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--board") && i + 1 < argc)
			board_name = argv[++i];
		else if (!strcmp(argv[i], "--port") && i + 1 < argc)
			co.port = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--size BYTES] [--repeat K] [--board B] [--port P]\n",
				argv[0]);
			return 2;
		}
	}
	if (size <= 0 || repeat <= 0) {
		fprintf(stderr, "tinybench-bench-upload: --size and --repeat must be > 0\n");
		return 2;
	}
	data = malloc((size_t)size);
	if (!data)
		return 1;
	for (long i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 131 + (i >> 8));

	if (tb_board_registry_new(&reg, &err) < 0 ||
	    tb_board_registry_load_default(reg, &err) < 0 ||
	    tb_board_registry_find(reg, board_name, &board, &err) < 0 ||
	    tb_session_connect(board, &co, &conn, &err) < 0)
		return fail(&err);

	t0 = now_s();
	for (long k = 0; k < repeat; k++) {
		if (tb_link_upload(tb_conn_link(conn), data, (size_t)size, &st, &err) < 0)
			return fail(&err);
		sum.wire_in += st.wire_in;
		sum.wire_out += st.wire_out;
		sum.round_trips += st.round_trips;
		sum.chunks += st.chunks;
		sum.resent_chunks += st.resent_chunks;
	}
	dt = now_s() - t0;

	{
		double payload = (double)size * repeat;
		double wire = (double)(sum.wire_in + sum.wire_out);
		/* EEMBC: "db " + 2 hex digits per byte + "%" per 31 bytes, and
		 * "m-ready\r\n" back; plus "db load N%" and its reply. */
		double cmds = (double)((size + 30) / 31);
		double eembc = (double)size * 2 + cmds * (4 + 9) + 20 + 30;

		printf("board %s via %s: max payload %u, window %u\n", board_name,
		       tb_conn_port(conn), tb_conn_caps(conn)->max_payload,
		       tb_conn_caps(conn)->window);
		printf("upload of %ld bytes, %ld times\n", size, repeat);
		printf("  chunk size            %u bytes, window %u chunks\n", st.chunk_size, st.window);
		printf("  wire bytes / payload  %.4f  (host->device %.4f, device->host %.4f)\n",
		       wire / payload, sum.wire_out / payload, sum.wire_in / payload);
		printf("  round trips / upload  %.1f\n", (double)sum.round_trips / repeat);
		printf("  chunks / upload       %.1f (resent %lu in total)\n",
		       (double)sum.chunks / repeat, (unsigned long)sum.resent_chunks);
		printf("  rate                  %.2f MB/s over this link (machine-dependent)\n",
		       payload / dt / 1e6);
		printf("  at 115200 baud        %.2f s per upload (line time of the wire bytes)\n",
		       wire / repeat * 10 / 115200);
		printf("EEMBC hex protocol, computed for the same size:\n");
		printf("  wire bytes / payload  %.4f\n", eembc / size);
		printf("  round trips / upload  %.0f\n", cmds + 1);
		printf("  at 115200 baud        %.2f s per upload (line time only)\n",
		       eembc * 10 / 115200);
	}
	tb_conn_free(conn);
	tb_board_registry_free(reg);
	free(data);
	return 0;
}
