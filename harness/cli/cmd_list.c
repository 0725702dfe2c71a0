/*
 * cmd_list.c - `tinybench boards` and `tinybench workloads`.
 */
#include "tb_board.h"
#include "tb_cli.h"
#include "tb_json.h"
#include "tb_session.h"
#include "tb_transport.h"
#include "tb_workload.h"

#include <getopt.h>
#include <string.h>

static int simple_opts(const char *cmd, int argc, char **argv, int *json,
		       void (*usage)(FILE *))
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': *json = 1; break;
		case 'h': usage(stdout); return 0;
		default: return tb_cli_usage_error(cmd, "bad option");
		}
	}
	if (optind < argc)
		return tb_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	return -1;
}

/* ---------------------------------------------------------------------- */

static void boards_usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench boards [--json]\n"
		"\n"
		"List the boards tinybench knows (from the project's boards/ folder and\n"
		"$XDG_CONFIG_HOME/tinybench/boards/) and the serial ports found, with the\n"
		"board each port's USB id suggests.\n");
}

struct port_ctx {
	const struct tb_board_registry *reg;
	struct tb_json *j;
	int n;
};

static int print_port(const struct tb_serial_port_info *p, void *user)
{
	struct port_ctx *pc = user;
	const struct tb_board *b = p->has_usb_id ?
		tb_board_match_usb(pc->reg, p->vid, p->pid) : NULL;

	pc->n++;
	if (pc->j) {
		tb_json_begin_object(pc->j);
		tb_json_key_string(pc->j, "port", p->name);
		tb_json_key_string(pc->j, "description", p->description);
		if (p->has_usb_id) {
			char id[10];

			snprintf(id, sizeof(id), "%04x:%04x", p->vid, p->pid);
			tb_json_key_string(pc->j, "usb_id", id);
		}
		tb_json_key_string(pc->j, "serial", p->serial);
		tb_json_key_string(pc->j, "board", b ? b->name : NULL);
		tb_json_end_object(pc->j);
		return 0;
	}
	printf("  %-20s %-30s", p->name, p->description ? p->description : "");
	if (p->has_usb_id)
		printf(" %04x:%04x", p->vid, p->pid);
	if (b)
		printf("  -> board %s", b->name);
	printf("\n");
	return 0;
}

static void usb_ids(const struct tb_board *b, char *buf, size_t len)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < b->n_usb_ids && pos < len; i++)
		pos += (size_t)snprintf(buf + pos, len - pos, "%s%04x:%04x", i ? "," : "",
					b->usb_ids[i].vid, b->usb_ids[i].pid);
}

int tb_cmd_boards(int argc, char **argv)
{
	struct tb_board_registry *reg = NULL;
	struct tb_error err = { 0 };
	struct port_ctx pc = { 0 };
	struct tb_json *j = NULL;
	int json = 0, rc;
	char ids[128];

	rc = simple_opts("boards", argc, argv, &json, boards_usage);
	if (rc >= 0)
		return rc;
	if (tb_board_registry_new(&reg, &err) < 0 ||
	    tb_board_registry_load_default(reg, &err) < 0) {
		rc = tb_cli_fail(&err);
		tb_board_registry_free(reg);
		return rc;
	}
	if (json) {
		j = tb_json_new(stdout, 1);
		tb_json_begin_object(j);
		tb_json_key(j, "boards");
		tb_json_begin_array(j);
	} else {
		printf("%-14s %-12s %10s %9s %9s %-7s %-10s %s\n", "board", "cpu",
		       "clock MHz", "flash KB", "RAM KB", "link", "usb id", "file");
	}
	for (size_t i = 0; i < tb_board_registry_count(reg); i++) {
		const struct tb_board *b = tb_board_registry_at(reg, i);

		usb_ids(b, ids, sizeof(ids));
		if (j) {
			tb_json_begin_object(j);
			tb_json_key_string(j, "name", b->name);
			tb_json_key_string(j, "description", b->description);
			tb_json_key_string(j, "cpu", b->cpu);
			tb_json_key_string(j, "arch", b->arch);
			tb_json_key_uint(j, "clock_hz", b->clock_hz);
			tb_json_key_uint(j, "flash_bytes", b->flash_bytes);
			tb_json_key_uint(j, "ram_bytes", b->ram_bytes);
			tb_json_key_string(j, "transport", tb_board_transport_name(b->transport));
			tb_json_key_string(j, "usb_ids", ids);
			tb_json_key_string(j, "reset", tb_board_reset_name(b->reset));
			tb_json_key_string(j, "energy_monitor", tb_board_energy_name(b->energy_monitor));
			tb_json_key_string(j, "file", b->path);
			tb_json_end_object(j);
			continue;
		}
		printf("%-14s %-12s %10.1f %9llu %9llu %-7s %-10s %s\n", b->name, b->cpu,
		       b->clock_hz / 1e6, (unsigned long long)(b->flash_bytes / 1024),
		       (unsigned long long)(b->ram_bytes / 1024),
		       tb_board_transport_name(b->transport), ids[0] ? ids : "-", b->path);
	}
	pc.reg = reg;
	pc.j = j;
	if (j) {
		tb_json_end_array(j);
		tb_json_key(j, "serial_ports");
		tb_json_begin_array(j);
	} else {
		printf("\nserial ports:\n");
	}
	rc = tb_serial_list(print_port, &pc, &err);
	if (j) {
		tb_json_end_array(j);
		tb_json_end_object(j);
		tb_json_free(j);
	} else if (rc == 0 && pc.n == 0) {
		printf("  (none found)\n");
	}
	tb_board_registry_free(reg);
	if (rc < 0)
		return tb_cli_fail(&err);
	return 0;
}

/* ---------------------------------------------------------------------- */

static void workloads_usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench workloads [--json]\n"
		"\n"
		"List the workloads built into this tinybench (and into its runners).\n");
}

static const char *dtype_name(uint8_t t)
{
	switch (t) {
	case TB_DTYPE_INT8: return "int8";
	case TB_DTYPE_UINT8: return "uint8";
	case TB_DTYPE_INT16: return "int16";
	case TB_DTYPE_INT32: return "int32";
	case TB_DTYPE_FLOAT32: return "float32";
	}
	return "?";
}

int tb_cmd_workloads(int argc, char **argv)
{
	struct tb_json *j = NULL;
	char hash[2 * TBP_HASH_SIZE + 1];
	int json = 0, rc;

	rc = simple_opts("workloads", argc, argv, &json, workloads_usage);
	if (rc >= 0)
		return rc;
	if (json) {
		j = tb_json_new(stdout, 1);
		tb_json_begin_array(j);
	} else {
		printf("%-8s %-12s %-12s %10s %10s %12s  %s\n", "name", "input",
		       "output", "MACs", "arena B", "model", "description");
	}
	for (unsigned i = 0; tb_workloads[i]; i++) {
		const struct tb_workload *w = tb_workloads[i];
		char in[32], out[32];

		tb_hex(w->model_hash, TBP_HASH_SIZE, hash);
		snprintf(in, sizeof(in), "%lu B %s", (unsigned long)w->input_size,
			 dtype_name(w->input_dtype));
		snprintf(out, sizeof(out), "%lu B %s", (unsigned long)w->output_size,
			 dtype_name(w->output_dtype));
		if (!j) {
			printf("%-8s %-12s %-12s %10lu %10lu %12.12s  %s\n", w->name, in, out,
			       (unsigned long)w->macs, (unsigned long)w->arena_size, hash,
			       w->description);
			continue;
		}
		tb_json_begin_object(j);
		tb_json_key_string(j, "name", w->name);
		tb_json_key_string(j, "description", w->description);
		tb_json_key_uint(j, "input_bytes", w->input_size);
		tb_json_key_string(j, "input_dtype", dtype_name(w->input_dtype));
		tb_json_key_double(j, "input_scale", w->input_scale);
		tb_json_key_int(j, "input_zero_point", w->input_zero_point);
		tb_json_key_uint(j, "output_bytes", w->output_size);
		tb_json_key_string(j, "output_dtype", dtype_name(w->output_dtype));
		tb_json_key_uint(j, "macs", w->macs);
		tb_json_key_uint(j, "arena_bytes", w->arena_size);
		tb_json_key_string(j, "model_sha256", hash);
		tb_json_end_object(j);
	}
	if (j) {
		tb_json_end_array(j);
		tb_json_free(j);
	} else {
		printf("\naliases: kws = kws01, vww = vww01, ad = ad01, ic = ic01\n");
	}
	return 0;
}
