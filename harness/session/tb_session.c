/*
 * tb_session.c - connect to a board, calibrate, run and store trials.
 */
#include "tb_session.h"
#include "tb_build_id.h"
#include "tb_config.h"
#include "tb_eembc.h"
#include "tb_json.h"
#include "tb_firmware.h"
#include "tb_qemu.h"
#include "tb_sim_spawn.h"
#include "tb_transport.h"
#include "tb_transport_fault.h"
#include "tb_nn_model.h"
#include "tb_workload.h"

#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>
#include <spawn.h>

extern char **environ;

struct tb_conn {
	const struct tb_board *board;
	struct tb_conn_opts opts;
	struct tb_transport *t;
	struct tb_sim *sim;      /* spawned runner, or NULL */
	struct tb_link *link;        /* tinybench protocol, else NULL */
	struct tb_dut *dut;          /* the device, whatever its protocol */
	const char *sim_args[48];    /* runner arguments of a sim board (EEMBC) */
	char dut_baud[16];           /* their --baud behind an IO manager */
	struct tb_transport *fault;  /* fault wrapper around t (tests), or NULL */
	struct tbp_hello_rsp caps;
	char port[256];
	char runner_status[256];
	char firmware_sha256[65];  /* of the runner/firmware image, "" if unknown */
	struct tb_qemu *qemu;      /* QEMU running the firmware, or NULL */
	char firmware[4096];       /* firmware image (transport qemu), or "" */
	int64_t flash_bytes;       /* its static footprint, or TB_STORE_UNKNOWN */
	int64_t static_ram_bytes;
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void tb_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	uint8_t d[SHA256_DIGEST_LENGTH];
	SHA2_CTX ctx;

	SHA256Init(&ctx);
	SHA256Update(&ctx, data, len);
	SHA256Final(d, &ctx);
	tb_hex(d, sizeof(d), out);
}

int tb_sha256_file(const char *path, char out[65])
{
	uint8_t d[SHA256_DIGEST_LENGTH], buf[65536];
	SHA2_CTX ctx;
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -1;
	SHA256Init(&ctx);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		SHA256Update(&ctx, buf, n);
	n = (size_t)ferror(f);
	fclose(f);
	if (n)
		return -1;
	SHA256Final(d, &ctx);
	tb_hex(d, sizeof(d), out);
	return 0;
}

/* ----------------------------------------------------------------------
 * Workloads: names and aliases
 */
static const struct {
	const char *alias;
	const char *name;
} aliases[] = {
	{ "kws", "kws01" }, { "vww", "vww01" }, { "ad", "ad01" }, { "ic", "ic01" },
};

const struct tb_workload *tb_session_find_workload(const char *name,
						   char *names, size_t len)
{
	const struct tb_workload *wl = tb_workload_by_name(name);
	size_t pos = 0;

	for (size_t i = 0; !wl && i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(name, aliases[i].alias))
			wl = tb_workload_by_name(aliases[i].name);
	if (!names || !len)
		return wl;
	names[0] = '\0';
	for (unsigned i = 0; tb_workloads[i]; i++) {
		const char *alias = NULL;

		for (size_t k = 0; k < sizeof(aliases) / sizeof(aliases[0]); k++)
			if (!strcmp(aliases[k].name, tb_workloads[i]->name))
				alias = aliases[k].alias;
		pos += (size_t)snprintf(names + (pos < len ? pos : len),
					pos < len ? len - pos : 0, "%s%s%s%s%s",
					i ? ", " : "", tb_workloads[i]->name,
					alias ? " (" : "", alias ? alias : "",
					alias ? ")" : "");
	}
	return wl;
}

/* ----------------------------------------------------------------------
 * Connections
 */

/* The firmware image of a board: --firmware, else built and found under
 * build/fw/<firmware>/ (built with scripts/build-firmware if missing). */
static int find_firmware(const struct tb_board *b, const struct tb_conn_opts *o,
			 struct tb_conn *c, struct tb_error *err)
{
	struct tb_firmware_info fi;
	int rc;

	if (o->firmware) {
		if (access(o->firmware, R_OK) < 0)
			return tb_error_set(err, errno == ENOENT ? TB_ERR_NOTFOUND : TB_ERR_IO,
					    "--firmware %s: %s", o->firmware, strerror(errno));
		snprintf(c->firmware, sizeof(c->firmware), "%s", o->firmware);
	} else if (o->model) {
		rc = tb_firmware_model(b->firmware, o->model, o->model_name, true,
				       c->firmware, sizeof(c->firmware), err);
		if (rc < 0)
			return rc;
	} else {
		rc = tb_firmware_locate(b->firmware, c->firmware, sizeof(c->firmware), NULL);
		if (rc < 0)
			rc = tb_firmware_build(b->firmware, c->firmware,
					       sizeof(c->firmware), err);
		if (rc < 0)
			return rc;
	}
	rc = tb_firmware_info(c->firmware, &fi, err);
	if (rc < 0)
		return rc;
	snprintf(c->firmware_sha256, sizeof(c->firmware_sha256), "%s", fi.sha256);
	c->flash_bytes = (int64_t)fi.flash_bytes;
	c->static_ram_bytes = (int64_t)fi.static_ram_bytes;
	return TB_OK;
}

/*
 * Runner arguments for a QEMU board are test hooks the firmware reads from
 * memory (tbr_fw.h): "hang-at=N" makes INFER number N spin forever.  They
 * become a -device loader that writes the words before the CPU starts.
 */
static int qemu_hooks(const struct tb_conn *c, const char *const *args,
		      char *buf, size_t len, struct tb_error *err)
{
	unsigned long long hang_at = 0, addr;
	uint64_t a, sz;
	char *end;
	int rc;

	buf[0] = '\0';
	for (size_t i = 0; args && args[i]; i++) {
		if (strncmp(args[i], "hang-at=", 8))
			return tb_error_set(err, TB_ERR_ARG,
					    "runner argument '%s' is not one a QEMU board knows (hang-at=N)",
					    args[i]);
		errno = 0;
		hang_at = strtoull(args[i] + 8, &end, 10);
		if (errno || *end || !hang_at || hang_at > UINT32_MAX)
			return tb_error_set(err, TB_ERR_ARG, "runner argument '%s': N must be 1..%u",
					    args[i], UINT32_MAX);
	}
	if (!hang_at)
		return TB_OK;
	rc = tb_firmware_symbol(c->firmware, "tbr_fw_fault", &a, &sz, err);
	if (rc < 0)
		return rc;
	addr = a;
	/* struct tbr_fw_fault { magic "TFLT", hang_at }, little-endian. */
	snprintf(buf, len, "loader,addr=0x%llx,data=0x%08llx544c4654,data-len=8",
		 addr, hang_at);
	return TB_OK;
}

/* The timestamp bridge (tbr_fw.h): a -device loader that switches it on
 * (struct tbr_fw_tsline { magic "TSLN", on = 1 }, little-endian). */
static int qemu_tsline_hook(const struct tb_board *b, const struct tb_conn *c,
			    char *buf, size_t len, struct tb_error *err)
{
	uint64_t a, sz;
	int rc;

	if (b->qemu_tsline == TB_BOARD_QEMU_TSLINE_NONE)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "board '%s' has no timestamp bridge ([qemu] timestamp_line in %s): an energy monitor cannot see its timed window",
				    b->name, b->path ? b->path : "its board file");
	rc = tb_firmware_symbol(c->firmware, "tbr_fw_tsline", &a, &sz, NULL);
	if (rc < 0)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "firmware %s has no timestamp bridge (no symbol tbr_fw_tsline): rebuild it (scripts/build-firmware %s)",
				    c->firmware, b->firmware ? b->firmware : b->name);
	/* data is one 64-bit little-endian value: the magic is its low word. */
	snprintf(buf, len, "loader,addr=0x%llx,data=0x00000001%08x,data-len=8",
		 (unsigned long long)a, 0x4E4C5354u);
	return TB_OK;
}

static int open_qemu(const struct tb_board *b, const struct tb_conn_opts *o,
		     struct tb_conn *c, struct tb_error *err)
{
	struct tb_board_vars vars = { .board = b->name };
	struct tb_qemu_config qc = {
		.program = b->qemu_program,
		.machine = b->qemu_machine,
		.cpu = b->qemu_cpu,
		.icount_shift = (int)b->qemu_icount_shift,
	};
	const char *extra[72];
	char **board_extra = NULL, hook[160], ts_hook[160] = "";
	size_t n = 0;
	int rc;

	if (o->port)
		return tb_error_set(err, TB_ERR_ARG,
				    "board '%s' runs under QEMU, which tinybench starts itself: drop --port",
				    b->name);
	rc = find_firmware(b, o, c, err);
	if (rc < 0)
		return rc;
	rc = qemu_hooks(c, o->runner_args, hook, sizeof(hook), err);
	if (rc < 0)
		return rc;
	if (o->timestamp_line) {
		rc = qemu_tsline_hook(b, c, ts_hook, sizeof(ts_hook), err);
		if (rc < 0)
			return rc;
		qc.tsline = b->qemu_tsline == TB_BOARD_QEMU_TSLINE_SERIAL1 ?
			    TB_QEMU_TSLINE_SERIAL1 : TB_QEMU_TSLINE_PCI_SERIAL;
	}
	if (b->qemu_extra) {
		rc = tb_board_command_expand(b->qemu_extra, &vars, &board_extra, err);
		if (rc < 0)
			return rc;
		for (size_t i = 0; board_extra[i] && n < 66; i++)
			extra[n++] = board_extra[i];
	}
	if (hook[0]) {
		extra[n++] = "-device";
		extra[n++] = hook;
	}
	if (ts_hook[0]) {
		extra[n++] = "-device";
		extra[n++] = ts_hook;
	}
	extra[n] = NULL;
	qc.firmware = c->firmware;
	qc.extra = extra;
	rc = tb_qemu_spawn(&qc, &c->qemu, err);
	tb_board_argv_free(board_extra);
	if (rc < 0)
		return tb_error_prefix(err, "board '%s': ", b->name);
	c->t = tb_qemu_transport(c->qemu);
	snprintf(c->port, sizeof(c->port), "qemu %s (pid %ld, firmware %s)",
		 b->qemu_machine, (long)tb_qemu_pid(c->qemu), c->firmware);
	return TB_OK;
}

/* A sim board's runner arguments: the caller's, plus the protocol its
 * board file asks for (docs/EEMBC.md).  With `auto` the runner speaks what
 * its own arguments say (tinybench by default) and the host finds out. */
static const char *const *sim_runner_args(const struct tb_board *b,
					  const struct tb_conn_opts *o, struct tb_conn *c)
{
	size_t n = 0, max = sizeof(c->sim_args) / sizeof(c->sim_args[0]) - 3;

	if (b->protocol == TB_BOARD_PROTOCOL_TINYBENCH)
		return o->runner_args;
	if (b->protocol == TB_BOARD_PROTOCOL_EEMBC) {
		c->sim_args[n++] = "--protocol";
		c->sim_args[n++] = "eembc";
		c->sim_args[n++] = "--eembc-mode";
		c->sim_args[n++] = tb_board_eembc_mode_name(b->eembc_mode);
	}
	if (b->protocol == TB_BOARD_PROTOCOL_EEMBC &&
	    b->eembc_link == TB_BOARD_EEMBC_IO_MANAGER) {
		/* The runner plays the IO manager too, its UART at dut_baud. */
		snprintf(c->dut_baud, sizeof(c->dut_baud), "%u", (unsigned)b->eembc_dut_baud);
		c->sim_args[n++] = "--io-manager";
		c->sim_args[n++] = "--baud";
		c->sim_args[n++] = c->dut_baud;
	}
	for (size_t i = 0; o->runner_args && o->runner_args[i] && n < max; i++)
		c->sim_args[n++] = o->runner_args[i];
	if (o->eembc_model) {
		c->sim_args[n++] = "--eembc-model";
		c->sim_args[n++] = o->eembc_model;
	}
	c->sim_args[n] = NULL;
	return c->sim_args;
}

static int open_transport(const struct tb_board *b, const struct tb_conn_opts *o,
			  struct tb_conn *c, struct tb_error *err)
{
	char path[4096];
	int rc;

	switch (b->transport) {
	case TB_BOARD_TRANSPORT_SIM:
		if (o->port) {
			/* A runner someone started with --pty: talk to it. */
			snprintf(c->port, sizeof(c->port), "%s", o->port);
			return tb_transport_tty_open(o->port, 0, &c->t, err);
		}
		rc = tb_runner_locate(b->runner, path, sizeof(path), err);
		if (rc < 0)
			return rc;
		rc = tb_sim_spawn(path, sim_runner_args(b, o, c), &c->sim, err);
		if (rc < 0)
			return rc;
		c->t = tb_sim_transport(c->sim);
		if (tb_sha256_file(path, c->firmware_sha256) < 0)
			c->firmware_sha256[0] = '\0';
		snprintf(c->port, sizeof(c->port), "pty (runner %s, pid %ld)", path,
			 (long)tb_sim_pid(c->sim));
		return TB_OK;
	case TB_BOARD_TRANSPORT_SERIAL:
		if (o->find_port) {
			rc = o->find_port(o->find_port_user, c->port, sizeof(c->port), err);
			if (rc < 0)
				return rc;
			return tb_transport_serial_open(c->port, b->baud, &c->t, err);
		}
		if (!o->port)
			return tb_error_set(err, TB_ERR_ARG,
					    "board '%s' is on a serial port: pass --port "
					    "(see `tinybench boards` for the ports found)",
					    b->name);
		snprintf(c->port, sizeof(c->port), "%s", o->port);
		return tb_transport_serial_open(o->port, b->baud, &c->t, err);
	case TB_BOARD_TRANSPORT_QEMU:
		return open_qemu(b, o, c, err);
	default:
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "board '%s': transport '%s' is not supported yet",
				    b->name, tb_board_transport_name(b->transport));
	}
}

const char *tb_conn_runner_status(struct tb_conn *c)
{
	const char *text = NULL;
	bool exited = false;
	int rc;

	if (!c || (!c->qemu && !c->sim))
		return NULL;
	/* Give a dying runner (or QEMU) a moment to be reaped. */
	for (int i = 0; i < 20; i++) {
		rc = c->qemu ? tb_qemu_status(c->qemu, &exited, &text) :
			       tb_sim_status(c->sim, &exited, &text);
		if (rc == 0 && exited)
			break;
		usleep(10000);
	}
	if (!exited || !text)
		return NULL;
	snprintf(c->runner_status, sizeof(c->runner_status), "%s", text);
	return c->runner_status;
}

/* After a link error: say that the runner died, if it did. */
static int explain_link_error(struct tb_conn *c, int rc, struct tb_error *err)
{
	const char *st;

	if (rc != TB_ERR_CLOSED && rc != TB_ERR_TIMEOUT && rc != TB_ERR_IO)
		return rc;
	char was[TB_ERROR_MSG_MAX];

	st = tb_conn_runner_status(c);
	if (!st)
		return rc;
	snprintf(was, sizeof(was), "%s", err && err->msg[0] ? err->msg : "link lost");
	if (strstr(was, st))
		return tb_error_set(err, TB_ERR_CLOSED, "%s", was);
	return tb_error_set(err, TB_ERR_CLOSED, "%s (%s)", st, was);
}

/*
 * The device driver the board's protocol asks for (tb_dut.h): the
 * tinybench link, or the EEMBC driver; `auto` sends EEMBC's `name%` first
 * (a tinybench runner drops it as a partial frame at the 0x00 its HELLO
 * starts with) and falls back to tinybench when nothing answers.
 */
static int open_device(struct tb_conn *c, const struct tb_link_config *lc,
		       struct tb_error *err)
{
	struct tb_transport *t = c->fault ? c->fault : c->t;
	enum tb_board_protocol proto = c->board->protocol;
	int rc;

	if (proto == TB_BOARD_PROTOCOL_AUTO) {
		rc = tb_eembc_probe(t, c->opts.hello_timeout_ms > 0 ?
				    c->opts.hello_timeout_ms : 500, err);
		if (rc < 0)
			return rc;
		proto = rc ? TB_BOARD_PROTOCOL_EEMBC : TB_BOARD_PROTOCOL_TINYBENCH;
	}
	if (proto == TB_BOARD_PROTOCOL_EEMBC) {
		const struct tb_board *b = c->board;
		int iom = b->eembc_link == TB_BOARD_EEMBC_IO_MANAGER;
		struct tb_eembc_config ec = {
			/* behind an IO manager the DUT's UART is the slow part */
			.bytes_per_sec = iom ? b->eembc_dut_baud / 10 : lc->bytes_per_sec,
			.hello_timeout_ms = lc->hello_timeout_ms,
			.cancel = lc->cancel,
			.io_manager = iom,
			.energy_mode = b->eembc_mode == TB_BOARD_EEMBC_ENERGY,
		};
		struct tb_eembc *e;

		rc = tb_eembc_new(t, &ec, &e, err);
		if (rc < 0)
			return rc;
		rc = tb_eembc_dut_new(e, c->board, &c->dut, err);
		if (rc < 0)
			tb_eembc_free(e);
		return rc;
	}
	rc = tb_link_new(t, lc, &c->link, err);
	if (rc < 0)
		return rc;
	return tb_dut_from_link(c->link, &c->dut, err);
}

int tb_session_connect(const struct tb_board *b, const struct tb_conn_opts *o,
		       struct tb_conn **out, struct tb_error *err)
{
	struct tb_link_config lc = { 0 };
	struct tb_conn *c;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	c->board = b;
	c->opts = *o;
	c->flash_bytes = c->static_ram_bytes = TB_STORE_UNKNOWN;
	rc = open_transport(b, o, c, err);
	if (rc < 0)
		goto out_free;
	if (o->fault) {
		struct tb_fault_config fc;

		rc = tb_fault_config_parse(o->fault, &fc, err);
		if (rc == TB_OK)
			rc = tb_transport_fault_new(c->t, false, &fc, &c->fault, err);
		if (rc < 0)
			goto out_free;
	}
	lc.bytes_per_sec = b->baud / 10;
	lc.hello_timeout_ms = o->hello_timeout_ms;
	lc.cancel = o->cancel;
	rc = open_device(c, &lc, err);
	if (rc < 0)
		goto out_free;
	rc = tb_dut_identify(c->dut, &c->caps, err);
	if (rc < 0) {
		rc = explain_link_error(c, rc, err);
		tb_error_prefix(err, "board '%s' on %s: ", b->name, c->port);
		goto out_free;
	}
	*out = c;
	return TB_OK;

out_free:
	tb_conn_free(c);
	return rc;
}

void tb_conn_free(struct tb_conn *c)
{
	if (!c)
		return;
	tb_dut_free(c->dut);
	tb_link_free(c->link);
	tb_transport_close(c->fault); /* the wrapper only; t is closed below */
	if (c->sim)
		tb_sim_free(c->sim); /* closes its transport too */
	else if (c->qemu)
		tb_qemu_free(c->qemu); /* hangs up, stops and reaps QEMU */
	else if (c->t)
		tb_transport_close(c->t);
	free(c);
}

struct tb_link *tb_conn_link(struct tb_conn *c)
{
	return c->link;
}

struct tb_dut *tb_conn_dut(struct tb_conn *c)
{
	return c->dut;
}

struct tb_transport *tb_conn_transport(struct tb_conn *c)
{
	return c->fault ? c->fault : c->t;
}

struct tb_transport *tb_conn_tsline(struct tb_conn *c)
{
	return c && c->qemu ? tb_qemu_tsline(c->qemu) : NULL;
}

const struct tbp_hello_rsp *tb_conn_caps(const struct tb_conn *c)
{
	return &c->caps;
}

const char *tb_conn_firmware_sha256(const struct tb_conn *c)
{
	return c && c->firmware_sha256[0] ? c->firmware_sha256 : NULL;
}

void tb_conn_footprint(const struct tb_conn *c, int64_t *flash_bytes,
		       int64_t *static_ram_bytes)
{
	*flash_bytes = c ? c->flash_bytes : TB_STORE_UNKNOWN;
	*static_ram_bytes = c ? c->static_ram_bytes : TB_STORE_UNKNOWN;
}

const struct tb_board *tb_conn_board(const struct tb_conn *c)
{
	return c->board;
}

const char *tb_conn_port(const struct tb_conn *c)
{
	return c->port;
}

/* Bring a board back after a failed trial, by its reset method: a runner
 * process is restarted (it may have died or hung), a serial board gets a
 * DTR/RTS pulse; then HELLO again.  *c is replaced on success and freed
 * either way on failure. */
/* A board's [reset] command (reset = command): its argv template expanded
 * and run with exec, never through a shell; waits up to 60 s. */
static int run_reset_command(const struct tb_board *b, const char *port,
			     struct tb_error *err)
{
	struct tb_board_vars vars = { .port = port, .board = b->name, .baud = b->baud };
	char **argv = NULL;
	pid_t pid;
	int rc, st = 0;

	rc = tb_board_command_expand(b->reset_argv, &vars, &argv, err);
	if (rc < 0)
		return rc;
	rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (rc) {
		rc = tb_error_set(err, TB_ERR_IO, "reset command '%s': %s", argv[0], strerror(rc));
		goto out;
	}
	for (int i = 0; i < 600 && (rc = (int)waitpid(pid, &st, WNOHANG)) == 0; i++)
		usleep(100 * 1000);
	if (rc == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		rc = tb_error_set(err, TB_ERR_TIMEOUT, "reset command '%s' took over 60 s", argv[0]);
	} else if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		rc = tb_error_set(err, TB_ERR_DEVICE, "reset command '%s' failed (status 0x%x)",
				  argv[0], st);
	} else {
		rc = TB_OK;
	}
out:
	tb_board_argv_free(argv);
	return rc;
}

int tb_conn_recover(struct tb_conn **cp, struct tb_error *err)
{
	struct tb_conn *c = *cp;
	const struct tb_board *b = c->board;
	struct tb_conn_opts o = c->opts;
	enum tb_reset_line line;
	int rc;

	/* A runner process or QEMU is restarted: a new process (or a fresh
	 * machine) that may be hung in a loop the old one was stuck in. */
	if (c->sim || c->qemu || b->reset == TB_BOARD_RESET_PROCESS) {
		tb_conn_free(c);
		*cp = NULL;
		return tb_session_connect(b, &o, cp, err);
	}
	if (b->reset == TB_BOARD_RESET_DTR || b->reset == TB_BOARD_RESET_RTS) {
		line = b->reset == TB_BOARD_RESET_DTR ? TB_RESET_LINE_DTR : TB_RESET_LINE_RTS;
		rc = tb_transport_pulse_reset(c->t, line, (int)b->reset_pulse_ms, err);
		if (rc < 0)
			return tb_error_prefix(err, "resetting board '%s': ", b->name);
		/* Give the board time to boot before it is asked anything. */
		usleep(200 * 1000);
	}
	if (b->reset == TB_BOARD_RESET_POWER) {
		if (!o.power_cycle)
			return tb_error_set(err, TB_ERR_UNSUPPORTED,
					    "board '%s' resets by power-cycling it through its energy monitor (reset = power), and none is open (run with --energy)",
					    b->name);
		rc = o.power_cycle(o.power_cycle_user, err);
		if (rc < 0)
			return tb_error_prefix(err, "resetting board '%s': ", b->name);
		usleep(200 * 1000);
	}
	if (b->reset == TB_BOARD_RESET_COMMAND && b->reset_argv) {
		rc = run_reset_command(b, c->port, err);
		if (rc < 0)
			return tb_error_prefix(err, "resetting board '%s': ", b->name);
		usleep(200 * 1000);
	}
	tb_transport_discard_input(c->t, NULL);
	rc = tb_dut_identify(c->dut, &c->caps, err);
	if (rc < 0)
		return tb_error_prefix(err, "board '%s' did not come back: ", b->name);
	return TB_OK;
}

/* ----------------------------------------------------------------------
 * Inputs
 */
static int read_input_file(const char *path, const struct tb_workload *wl,
			   uint8_t *buf, struct tb_error *err)
{
	struct stat st;
	FILE *f;
	size_t n;

	f = fopen(path, "rb");
	if (!f)
		return tb_error_set(err, errno == ENOENT ? TB_ERR_NOTFOUND : TB_ERR_IO,
				    "input file '%s': %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return tb_error_set(err, TB_ERR_FORMAT,
				    "input file '%s' is not a regular file", path);
	}
	if ((uint64_t)st.st_size != wl->input_size) {
		fclose(f);
		return tb_error_set(err, TB_ERR_FORMAT,
				    "input file '%s' has %lld bytes; workload %s takes "
				    "exactly %lu bytes",
				    path, (long long)st.st_size, wl->name,
				    (unsigned long)wl->input_size);
	}
	n = fread(buf, 1, wl->input_size, f);
	fclose(f);
	if (n != wl->input_size)
		return tb_error_set(err, TB_ERR_IO, "input file '%s': short read", path);
	return TB_OK;
}

/* ----------------------------------------------------------------------
 * The run
 */
struct run {
	const struct tb_run_opts *o;
	struct tb_run_result *res;
	const struct tb_board *board;
	const struct tb_workload *wl;
	const struct tbp_workload_info *dev_wl;
	struct tb_conn *conn;
	struct tb_store *store;
	uint8_t *input;        /* input_size bytes */
	uint8_t *expected;     /* host reference output */
	void *arena;           /* for the host reference */
	int loaded_seed;       /* seed of the input on the device, -1 none */
	int check_outputs;     /* device model == host model */
	struct tb_link_stats link0; /* link counters at the start of the trial */
	struct tb_energy *energy;   /* energy monitor (tb_energy.h), or NULL */
	double t0;
	int attempt;           /* of the current trial (or calibration), from 1 */
	int64_t failed_retries;/* link figures of the current trial's failed */
	int64_t failed_drops;  /* attempts, on connections since replaced */
	int checkpointed;      /* stopped between trials: leave the run running */
	struct tb_user_model *user; /* --model: the blob run as a user workload */
	const char *user_args[24];  /* the sim runner's, with --model */
};

/*
 * A user model (run --model): the blob, described as a workload so the
 * host can make test inputs and its reference output exactly as for the
 * built-in ones (tb_session.h).
 */
struct tb_user_model {
	struct tb_workload wl;
	struct tb_workload_blob src;
	struct tb_nn_model state;
	uint8_t hash[SHA256_DIGEST_LENGTH];
	char name[TBP_STR_WL_NAME + 1];
	uint8_t *blob;
};

void tb_session_model_name(const char *path, char *out, size_t len)
{
	const char *base = strrchr(path, '/');
	size_t k = 0;

	for (base = base ? base + 1 : path; base[k] && base[k] != '.' &&
	     k < TBP_STR_WL_NAME && k + 1 < len; k++)
		out[k] = base[k] > ' ' && base[k] < 0x7F ? base[k] : '_';
	out[k] = '\0';
	if (!k || tb_workload_by_name(out))
		snprintf(out, len, "user-model");
}

int tb_user_model_load(const char *path, struct tb_user_model **out, struct tb_error *err)
{
	struct tb_user_model *u;
	SHA2_CTX ctx;
	struct stat st;
	FILE *f;
	int rc;

	u = *out = calloc(1, sizeof(*u));
	if (!u)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	f = fopen(path, "rb");
	if (!f)
		return tb_error_set(err, errno == ENOENT ? TB_ERR_NOTFOUND : TB_ERR_IO,
				    "model '%s': %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > (1LL << 30) ||
	    !(u->blob = aligned_alloc(8, ((size_t)st.st_size + 7) & ~(size_t)7)) ||
	    fread(u->blob, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fclose(f);
		return tb_error_set(err, TB_ERR_FORMAT, "model '%s': not a readable file "
				    "under 1 GB", path);
	}
	fclose(f);
	SHA256Init(&ctx);
	SHA256Update(&ctx, u->blob, (size_t)st.st_size);
	SHA256Final(u->hash, &ctx);
	tb_session_model_name(path, u->name, sizeof(u->name));
	u->src.blob = u->blob;
	u->src.size = (uint32_t)st.st_size;
	u->src.state = &u->state;
	rc = tb_workload_from_blob(&u->wl, &u->src, TB_WL_USER, u->name, path, u->hash);
	if (rc)
		return tb_error_set(err, TB_ERR_FORMAT, "model '%s' is not a valid model blob "
				    "(%d; see docs/MODEL_FORMAT.md)", path, rc);
	return TB_OK;
}

const struct tb_workload *tb_user_model_workload(const struct tb_user_model *u)
{
	return &u->wl;
}

const char *tb_user_model_name(const struct tb_user_model *u)
{
	return u->name;
}

void tb_user_model_free(struct tb_user_model *u)
{
	if (!u)
		return;
	free(u->blob);
	free(u);
}

/* Hand the user model to the sim runner, or ask for the firmware image
 * that carries it on a QEMU board (built if missing).  A real board runs
 * the image flashed on it (tinybench flash --model): HELLO says whether
 * it carries the model (check_device()). */
static int user_model_args(struct run *r, struct tb_run_opts *o, struct tb_error *err)
{
	struct tb_user_model *u = r->user;
	size_t n = 0;

	if (!u)
		return TB_OK;
	if (r->board->transport != TB_BOARD_TRANSPORT_SIM) {
		if (r->board->transport == TB_BOARD_TRANSPORT_QEMU && !o->conn.firmware) {
			o->conn.model = o->model_path;
			o->conn.model_name = u->name;
		}
		return TB_OK;
	}
	for (; o->conn.runner_args && o->conn.runner_args[n] && n < 18; n++)
		r->user_args[n] = o->conn.runner_args[n];
	r->user_args[n++] = "--model";
	r->user_args[n++] = o->model_path;
	r->user_args[n++] = "--model-name";
	r->user_args[n++] = u->name;
	r->user_args[n] = NULL;
	o->conn.runner_args = r->user_args;
	return TB_OK;
}

static void progress(struct run *r, enum tb_phase ph, int trial)
{
	struct tb_progress p = {
		.phase = ph,
		.trial = trial,
		.trials = r->res->trials_planned,
		.inferences = r->res->inferences,
		.elapsed_s = mono_s() - r->t0,
		.run_id = r->res->run_id,
		.attempt = r->attempt > 0 ? r->attempt : 1,
	};

	if (r->res->inferences && r->res->latency_ms.n == 0 && r->res->n_trials == 0)
		p.est_trial_s = r->o->min_time_s;
	if (r->o->progress)
		r->o->progress(&p, r->o->user);
}

/* An attempt failed and the board is about to be reset. */
static void progress_retry(struct run *r, int k, const char *why)
{
	struct tb_progress p = {
		.phase = TB_PHASE_RETRY,
		.trial = k < 0 ? 0 : k,
		.trials = r->res->trials_planned,
		.inferences = r->res->inferences,
		.elapsed_s = mono_s() - r->t0,
		.run_id = r->res->run_id,
		.attempt = r->attempt,
		.message = why,
	};

	if (r->o->progress)
		r->o->progress(&p, r->o->user);
}

/* Put the input of trial k on the device: a file (same for all trials)
 * or the deterministic test input with seed k + 1. */
static int load_input(struct run *r, int k, struct tb_upload_stats *st,
		      struct tb_error *err)
{
	int seed = r->o->input_path || r->o->input_data ? 0 : k + 1;
	int rc;

	if (r->loaded_seed == seed)
		return TB_OK;
	if (r->o->input_data) {
		memcpy(r->input, r->o->input_data, r->wl->input_size); /* size checked */
		rc = TB_OK;
	} else if (r->o->input_path) {
		rc = read_input_file(r->o->input_path, r->wl, r->input, err);
	} else {
		rc = tb_workload_test_input(r->wl, (uint32_t)seed, r->input,
					    r->wl->input_size);
		if (rc < 0)
			rc = tb_error_set(err, TB_ERR_ARG,
					  "cannot make a test input for %s", r->wl->name);
	}
	if (rc < 0)
		return rc;
	rc = tb_dut_upload(tb_conn_dut(r->conn), r->wl, r->input, r->wl->input_size, st, err);
	if (rc < 0)
		return explain_link_error(r->conn, rc, err);
	r->loaded_seed = seed;
	if (r->check_outputs) {
		rc = r->wl->invoke(r->wl, r->input, r->expected, r->arena,
				   r->wl->arena_size);
		if (rc < 0)
			return tb_error_set(err, TB_ERR_ARG,
					    "host reference of %s failed (%d)",
					    r->wl->name, rc);
	}
	return TB_OK;
}

static double ticks_ms(const struct run *r, uint64_t ticks)
{
	return (double)ticks * 1000.0 / (double)r->res->caps.timer_hz;
}

static int infer(struct run *r, uint32_t count, uint32_t warmups, int timeout_ms,
		 struct tbp_infer_rsp *rsp, struct tb_error *err)
{
	struct tbp_infer q = {
		.workload_id = r->dev_wl->id,
		.count = count,
		.warmups = warmups,
		.flags = (r->res->caps.flags & TBP_CAP_PER_INFERENCE) ?
			 TBP_INFER_PER_INFERENCE : 0,
	};
	struct tb_dut_result res;
	int rc = tb_dut_infer(tb_conn_dut(r->conn), &q, timeout_ms, &res, err);

	if (rc < 0)
		return explain_link_error(r->conn, rc, err);
	memset(rsp, 0, sizeof(*rsp));
	rsp->workload_id = q.workload_id;
	rsp->count = res.count;
	rsp->total_ticks = res.total_ticks;
	rsp->min_ticks = res.min_ticks;
	rsp->max_ticks = res.max_ticks;
	rsp->stack_used = res.stack_used;
	rsp->stack_size = res.stack_size;
	rsp->arena_used = res.arena_used;
	rsp->arena_size = res.arena_size;
	rsp->output_len = res.output_len;
	rsp->output = res.output;
	return rc;
}

/* EEMBC energy mode: the device reports no time; the batch's is the energy
 * monitor's window between the two timestamp pulses (in the device's
 * timer units, microseconds).  A probe (calibration) window only has to
 * exist; a trial's is analysed in full and its energy kept. */
static bool monitor_timed(const struct run *r)
{
	return r->conn && tb_dut_info(tb_conn_dut(r->conn))->timed_by_monitor;
}

static int infer_on_monitor(struct run *r, uint32_t count, uint32_t warmups, int timeout_ms,
			    bool probe, struct tbp_infer_rsp *rsp, struct tb_error *err)
{
	struct tb_link *link = tb_conn_link(r->conn);
	double window_s;
	int rc;

	if (!r->energy)
		return tb_error_set(err, TB_ERR_ARG, "board '%s': no energy monitor to time "
				    "its energy-mode firmware", r->board->name);
	rc = tb_energy_trial_begin(r->energy, link, err);
	if (rc == TB_OK)
		rc = infer(r, count, warmups, timeout_ms, rsp, err);
	if (rc < 0)
		return rc;
	if (probe) {
		rc = tb_energy_probe_end(r->energy, link, count, &window_s, err);
	} else {
		rc = tb_energy_trial_end(r->energy, link, count, 0, err);
		window_s = tb_energy_window_s(r->energy);
	}
	if (rc < 0)
		return rc;
	rsp->total_ticks = (uint64_t)llround(window_s * (double)r->res->caps.timer_hz);
	if (!rsp->total_ticks)
		rsp->total_ticks = 1;
	return TB_OK;
}

/* Time budget for count + warmups inferences of est_s seconds each. */
static int infer_timeout(const struct run *r, uint64_t n, double est_s)
{
	double ms;

	if (r->o->infer_timeout_ms > 0)
		return r->o->infer_timeout_ms;
	ms = 3.0 * (double)n * est_s * 1000.0 + 5000.0;
	return ms > 3600e3 ? 3600000 : (int)ms;
}

/* Find N: grow a probe tenfold until it lasts >= 5 % of min_time, then
 * scale to min_time with 5 % headroom. */
static int calibrate(struct run *r, struct tb_error *err)
{
	double min_time = r->o->min_time_s, per_s = 0;
	struct tbp_infer_rsp rsp;
	uint64_t count = 1;
	int rc;

	progress(r, TB_PHASE_CALIBRATE, 0);
	for (;;) {
		int ms = r->o->infer_timeout_ms > 0 ? r->o->infer_timeout_ms :
			 (per_s > 0 ? infer_timeout(r, count + 1, per_s) : 60000);

		rc = monitor_timed(r) ?
		     infer_on_monitor(r, (uint32_t)count, 1, ms, true, &rsp, err) :
		     infer(r, (uint32_t)count, 1, ms, &rsp, err);
		if (rc < 0)
			return tb_error_prefix(err, "calibration: ");
		per_s = ticks_ms(r, rsp.total_ticks) / 1000.0 / (double)count;
		if (per_s * (double)count >= min_time * 0.05 || count >= 100000000)
			break;
		count *= 10;
	}
	count = (uint64_t)ceil(min_time * 1.05 / per_s);
	if (count < 1)
		count = 1;
	if (count > UINT32_MAX / 2)
		return tb_error_set(err, TB_ERR_ARG,
				    "a %.1f s trial would need %llu inferences; lower --min-time",
				    min_time, (unsigned long long)count);
	r->res->inferences = (uint32_t)count;
	if (r->o->warmups >= 0) {
		r->res->warmups = (uint32_t)r->o->warmups;
	} else {
		uint64_t w = count / 10;

		r->res->warmups = (uint32_t)(w < 1 ? 1 : (w > 10 ? 10 : w));
	}
	return TB_OK;
}

/* What the link cost during this trial, and no energy (yet). */
static void trial_link_figures(struct run *r, struct tb_trial *t)
{
	struct tb_link_stats now;

	t->link_retries = TB_STORE_UNKNOWN;
	t->frames_dropped = TB_STORE_UNKNOWN;
	if (r->conn) {
		tb_dut_get_stats(tb_conn_dut(r->conn), &now);
		t->link_retries = now.retries - r->link0.retries + r->failed_retries;
		t->frames_dropped = now.frames_dropped - r->link0.frames_dropped +
				    r->failed_drops;
	} else if (r->attempt > 1) {
		t->link_retries = r->failed_retries;
		t->frames_dropped = r->failed_drops;
	}
	t->attempts = r->attempt > 0 ? r->attempt : 1;
	t->energy_uj = t->power_mw = t->energy_window_ms = t->energy_sample_hz = NAN;
	t->energy_samples = t->energy_lost_samples = TB_STORE_UNKNOWN;
}

static int run_trial(struct run *r, int k, struct tb_error *err)
{
	struct tb_trial_result *tr = &r->res->trials[k];
	struct tb_trial *t = &tr->t;
	struct tbp_infer_rsp rsp;
	double per_s;
	int rc, timeout_ms;

	memset(tr, 0, sizeof(*tr));
	tb_dut_get_stats(tb_conn_dut(r->conn), &r->link0);
	rc = load_input(r, k, k == 0 ? &r->res->upload : NULL, err);
	if (rc < 0)
		return rc;
	progress(r, TB_PHASE_TRIAL, k);
	for (;;) {
		per_s = r->o->min_time_s / r->res->inferences;
		t->started_at = wall_ms();
		/* A QEMU bridge nobody measures (a daemon's board between
		 * energy jobs) is drained, or its UART would fill up. */
		if (!r->energy && tb_conn_tsline(r->conn))
			tb_transport_discard_input(tb_conn_tsline(r->conn), NULL);
		tb_energy_bridge(r->energy, tb_conn_tsline(r->conn), (double)r->res->caps.timer_hz);
		timeout_ms = infer_timeout(r, (uint64_t)r->res->inferences + r->res->warmups,
					   per_s);
		if (monitor_timed(r)) {
			rc = infer_on_monitor(r, r->res->inferences, r->res->warmups, timeout_ms,
					      false, &rsp, err);
			if (rc < 0)
				return tb_error_prefix(err, "trial %d: ", k + 1);
		} else {
			rc = tb_energy_trial_begin(r->energy, tb_conn_link(r->conn), err);
			if (rc < 0)
				return tb_error_prefix(err, "trial %d: ", k + 1);
			rc = infer(r, r->res->inferences, r->res->warmups, timeout_ms, &rsp, err);
			if (rc < 0)
				return tb_error_prefix(err, "trial %d: ", k + 1);
		}
		t->ended_at = wall_ms();
		tr->duration_s = ticks_ms(r, rsp.total_ticks) / 1000.0;
		/* A trial must last min_time (MLPerf Tiny's rule): if the
		 * device sped up, grow N and measure this trial again. */
		if (tr->duration_s >= r->o->min_time_s)
			break;
		r->res->inferences = (uint32_t)ceil(r->res->inferences *
						    r->o->min_time_s * 1.05 /
						    tr->duration_s);
	}
	t->idx = k;
	t->inferences = rsp.count;
	t->warmups = r->res->warmups;
	t->ticks = rsp.total_ticks;
	t->timer_hz = r->res->caps.timer_hz;
	t->latency_ms = ticks_ms(r, rsp.total_ticks) / rsp.count;
	t->inf_min_ms = rsp.max_ticks ? ticks_ms(r, rsp.min_ticks) : NAN;
	t->inf_max_ms = rsp.max_ticks ? ticks_ms(r, rsp.max_ticks) : NAN;
	t->stack_peak = rsp.stack_used;
	t->stack_size = rsp.stack_size;
	t->arena_peak = rsp.arena_used;
	t->arena_size = rsp.arena_size;
	if (!tb_dut_info(tb_conn_dut(r->conn))->has_memory) /* EEMBC: not reported */
		t->stack_peak = t->stack_size = t->arena_peak = t->arena_size = TB_STORE_UNKNOWN;
	if (!monitor_timed(r))
		rc = tb_energy_trial_end(r->energy, tb_conn_link(r->conn), rsp.count,
					 tr->duration_s, err);
	if (rc < 0)
		return tb_error_prefix(err, "trial %d: ", k + 1);
	sha256_hex(r->input, r->wl->input_size, tr->input_hash);
	t->input_hash = tr->input_hash;
	memcpy(tr->output, rsp.output, rsp.output_len);
	t->output = tr->output;
	t->output_len = rsp.output_len;
	t->output_check = TB_OUTPUT_UNCHECKED;
	if (r->check_outputs) {
		r->res->output_checked++;
		if (memcmp(rsp.output, r->expected, rsp.output_len)) {
			t->output_check = TB_OUTPUT_MISMATCH;
			r->res->output_mismatch++;
		} else {
			t->output_check = TB_OUTPUT_MATCH;
		}
	}
	t->status = TB_TRIAL_OK;
	trial_link_figures(r, t);
	tb_energy_fill(r->energy, t);
	rc = tb_store_trial_add(r->store, r->res->run_id, t, err);
	if (rc < 0)
		return rc;
	rc = tb_energy_store_trace(r->energy, r->store, r->res->run_id, k, err);
	if (rc < 0)
		return rc;
	r->res->n_trials = k + 1;
	return TB_OK;
}

/* Failures a reset can cure: the link or the runner, not the harness. */
static int recoverable(int rc)
{
	return rc == TB_ERR_TIMEOUT || rc == TB_ERR_CLOSED || rc == TB_ERR_PROTO ||
	       rc == TB_ERR_IO || rc == TB_ERR_DEVICE;
}

static int store_failed_trial(struct run *r, int k, int64_t started,
			      const char *reason, struct tb_error *err)
{
	struct tb_trial_result *tr = &r->res->trials[k];
	struct tb_trial *t = &tr->t;

	memset(tr, 0, sizeof(*tr));
	t->idx = k;
	t->started_at = started;
	t->ended_at = wall_ms();
	t->warmups = r->res->warmups;
	t->timer_hz = r->res->caps.timer_hz;
	t->latency_ms = t->inf_min_ms = t->inf_max_ms = NAN;
	t->stack_peak = t->stack_size = t->arena_peak = t->arena_size = TB_STORE_UNKNOWN;
	t->output_check = TB_OUTPUT_UNCHECKED;
	t->status = TB_TRIAL_FAILED;
	trial_link_figures(r, t);
	snprintf(tr->reason, sizeof(tr->reason), "%s", reason);
	t->reason = tr->reason;
	return tb_store_trial_add(r->store, r->res->run_id, t, err);
}

static bool cancelled(const struct run *r)
{
	return r->o->conn.cancel && *r->o->conn.cancel;
}

/* One attempt at trial k, or (k < 0) at the first upload and the
 * calibration; reconnects first if an earlier reset left no connection. */
static int attempt_once(struct run *r, int k, struct tb_error *err)
{
	int rc;

	if (!r->conn) {
		rc = tb_session_connect(r->board, &r->o->conn, &r->conn, err);
		if (rc < 0)
			return rc;
	}
	if (k >= 0)
		return run_trial(r, k, err);
	rc = load_input(r, 0, &r->res->upload, err);
	return rc < 0 ? rc : calibrate(r, err);
}

/*
 * Run trial k (or the calibration, k < 0) up to max_attempts times: after
 * an attempt fails on the link, the board is reset by its method
 * (tb_conn_recover: runner or QEMU restarted, DTR/RTS pulse) and the same
 * trial runs again.  A reset that fails leaves no connection; the next
 * attempt connects afresh.  The link figures of failed attempts are kept
 * for the trial that is finally stored.
 */
static int with_attempts(struct run *r, int k, struct tb_error *err)
{
	struct tb_link_stats now;
	struct tb_error aerr, rerr;
	int rc;

	r->failed_retries = r->failed_drops = 0;
	for (r->attempt = 1;; r->attempt++) {
		tb_error_clear(&aerr);
		rc = attempt_once(r, k, &aerr);
		if (rc == TB_OK || !recoverable(rc) || r->attempt >= r->o->max_attempts ||
		    cancelled(r))
			break;
		if (r->conn && k >= 0) {
			tb_dut_get_stats(tb_conn_dut(r->conn), &now);
			r->failed_retries += now.retries - r->link0.retries;
			r->failed_drops += now.frames_dropped - r->link0.frames_dropped;
		}
		progress_retry(r, k, aerr.msg);
		r->loaded_seed = -1;
		if (r->conn && tb_conn_recover(&r->conn, &rerr) < 0) {
			tb_conn_free(r->conn);
			r->conn = NULL;
		}
	}
	if (rc < 0 && err)
		*err = aerr;
	return rc;
}

/* Run every trial.  A trial that fails on the link is retried after a
 * reset (with_attempts); one whose every attempt failed is stored as
 * failed with its reason, the board is reset and the run goes on; it
 * stops after TB_MAX_CONSECUTIVE_FAILURES failed trials in a row.  A
 * resumed run starts at its first missing trial. */
#define TB_MAX_CONSECUTIVE_FAILURES 3

static int run_trials(struct run *r, struct tb_error *err)
{
	struct tb_run_result *res = r->res;
	int consecutive = 0, first_rc = TB_OK, rc;
	struct tb_error terr;

	for (int k = res->n_trials; k < res->trials_planned; k++) {
		int64_t started = wall_ms();

		if (cancelled(r))
			return tb_error_set(err, TB_ERR_INTERRUPTED,
					    "interrupted after %d of %d trials", k,
					    res->trials_planned);
		if (r->o->stop && *r->o->stop) {
			r->checkpointed = 1;
			return tb_error_set(err, TB_ERR_INTERRUPTED,
					    "stopped after %d of %d trials; the run is kept "
					    "running to be resumed", k, res->trials_planned);
		}
		tb_error_clear(&terr);
		rc = with_attempts(r, k, &terr);
		if (rc == TB_OK) {
			if (r->attempt > 1)
				res->n_retried++;
			consecutive = 0;
			continue;
		}
		if (!recoverable(rc)) {
			*err = terr;
			return rc;
		}
		res->n_failed++;
		if (first_rc == TB_OK) {
			first_rc = rc;
			snprintf(res->first_failure, sizeof(res->first_failure), "%s", terr.msg);
		}
		if (store_failed_trial(r, k, started, terr.msg, err) < 0)
			return err->code;
		res->n_trials = k + 1;
		if (++consecutive >= TB_MAX_CONSECUTIVE_FAILURES || k + 1 == res->trials_planned)
			break;
		r->loaded_seed = -1;
		rc = r->conn ? tb_conn_recover(&r->conn, err) :
		     tb_session_connect(r->board, &r->o->conn, &r->conn, err);
		if (rc < 0)
			return tb_error_prefix(err, "after trial %d failed (%s): ", k + 1,
					       res->first_failure);
	}
	if (!first_rc && res->n_failed)
		first_rc = TB_ERR_CLOSED; /* failures found stored when resuming */
	if (res->n_failed)
		return tb_error_set(err, first_rc, "%d of %d trials failed; first: %s",
				    res->n_failed, res->trials_planned, res->first_failure);
	return TB_OK;
}

static void summarise(struct tb_run_result *res)
{
	double v[1024], scratch[1024];
	size_t n = 0;

	res->stack_peak = 0;
	res->arena_peak = 0;
	for (int i = 0; i < res->n_trials; i++) {
		if (res->trials[i].t.status != TB_TRIAL_OK)
			continue;
		if (n < 1024)
			v[n++] = res->trials[i].t.latency_ms;
		if (res->trials[i].t.stack_peak > res->stack_peak)
			res->stack_peak = res->trials[i].t.stack_peak;
		if (res->trials[i].t.arena_peak > res->arena_peak)
			res->arena_peak = res->trials[i].t.arena_peak;
	}
	memset(&res->latency_ms, 0, sizeof(res->latency_ms));
	if (n && tb_stats_summary(v, n, scratch, &res->latency_ms, NULL) == 0)
		res->throughput = 1000.0 / res->latency_ms.median;
}

static char *params_json(const struct run *r)
{
	const struct tb_run_opts *o = r->o;
	struct tb_json *j;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	j = tb_json_new(f, 0);
	tb_json_begin_object(j);
	tb_json_key_int(j, "trials", r->res->trials_planned);
	tb_json_key_double(j, "min_time_s", o->min_time_s);
	if (o->warmups >= 0)
		tb_json_key_int(j, "warmups", o->warmups);
	else
		tb_json_key_string(j, "warmups", "auto");
	if (o->infer_timeout_ms > 0)
		tb_json_key_int(j, "timeout_ms", o->infer_timeout_ms);
	tb_json_key_string(j, "profile", o->profile == TB_PROFILE_MLPERF ? "mlperf" : "default");
	tb_json_key_string(j, "input", o->input_path ? o->input_path :
			   o->input_data ? "supplied with the job" : "test-input seeds 1..trials");
	tb_json_key_int(j, "timer_hz", r->res->caps.timer_hz);
	tb_json_key_int(j, "stack_size", r->res->caps.stack_size);
	tb_json_key_int(j, "arena_size", r->res->caps.arena_size);
	tb_json_key_int(j, "max_payload", r->res->caps.max_payload);
	tb_json_key_int(j, "window", r->res->caps.window);
	if (r->conn)
		tb_json_key_string(j, "protocol",
				   tb_dut_protocol_name(tb_dut_info(tb_conn_dut(r->conn))->protocol));
	tb_json_end_object(j);
	tb_json_free(j);
	fclose(f);
	return buf;
}

static int begin_run(struct run *r, struct tb_error *err)
{
	struct tb_run_result *res = r->res;
	char host[256] = "";
	char *params = params_json(r);
	struct tb_run_info info = {
		.board = r->board->name,
		.board_cpu = res->caps.cpu,
		.board_clock_hz = res->caps.clock_hz ? (int64_t)res->caps.clock_hz :
			TB_STORE_UNKNOWN,
		.timer_hz = res->caps.timer_hz,
		.timing_method = res->timing_method,
		.workload = r->wl->name,
		.model_hash = res->model_hash[0] ? res->model_hash : NULL,
		.runner_version = res->caps.runner_version,
		.runner_build_id = res->caps.build_id,
		/* EEMBC has no version: NULL (runner_version says "eembc") */
		.protocol_version = tb_dut_info(tb_conn_dut(r->conn))->protocol == TB_DUT_EEMBC ?
			TB_STORE_UNKNOWN : res->caps.proto_version,
		.harness_version = TB_VERSION,
		.harness_build_id = TB_BUILD_ID,
		.host = host,
		.port = res->port,
		.input_source = res->input_source,
		.params_json = params,
		.started_at = res->started_at,
		.firmware_sha256 = tb_conn_firmware_sha256(r->conn),
		.flash_bytes = res->flash_bytes,
		.static_ram_bytes = res->static_ram_bytes,
		.energy_method = tb_energy_method(r->energy),
	};
	int rc;

	gethostname(host, sizeof(host) - 1);
	rc = tb_store_run_begin(r->store, &info, &res->run_id, err);
	free(params);
	return rc;
}

/* Label the stored run with o->tags ("key=value"). */
static int set_tags(struct run *r, struct tb_error *err)
{
	char key[TB_STORE_TAG_KEY_MAX + 1];
	int i, rc;

	for (i = 0; i < r->o->n_tags; i++) {
		const char *t = r->o->tags[i], *eq = strchr(t, '=');

		if (!eq || eq == t || (size_t)(eq - t) > TB_STORE_TAG_KEY_MAX)
			return tb_error_set(err, TB_ERR_ARG,
					    "tag '%s': expected key=value", t);
		snprintf(key, sizeof(key), "%.*s", (int)(eq - t), t);
		rc = tb_store_tag_set(r->store, r->res->run_id, key, eq + 1, err);
		if (rc < 0)
			return rc;
	}
	return TB_OK;
}

/* The workload, and the input if one is given. */
static int check_workload(struct run *r, struct tb_error *err)
{
	const struct tb_run_opts *o = r->o;
	char names[512];

	if (o->model_path) {
		int rc = tb_user_model_load(o->model_path, &r->user, err);

		if (rc < 0)
			return rc;
		r->wl = &r->user->wl;
	} else {
		r->wl = tb_session_find_workload(o->workload, names, sizeof(names));
	}
	if (!r->wl)
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "unknown workload '%s'; known workloads: %s",
				    o->workload, names);
	if (o->input_data && o->input_len != r->wl->input_size)
		return tb_error_set(err, TB_ERR_FORMAT,
				    "input of %zu bytes; workload %s takes exactly %lu bytes",
				    o->input_len, r->wl->name, (unsigned long)r->wl->input_size);
	if (!o->input_data && o->input_path && access(o->input_path, R_OK) < 0)
		return tb_error_set(err, errno == ENOENT ? TB_ERR_NOTFOUND : TB_ERR_IO,
				    "input file '%s': %s", o->input_path, strerror(errno));
	return TB_OK;
}

static int setup(struct run *r, struct tb_board_registry **reg, struct tb_error *err)
{
	const struct tb_run_opts *o = r->o;
	struct tb_run_result *res = r->res;
	int rc;

	rc = tb_board_registry_new(reg, err);
	if (rc < 0)
		return rc;
	rc = tb_board_registry_load_default(*reg, err);
	if (rc < 0)
		return rc;
	rc = tb_board_registry_find(*reg, o->board, &r->board, err);
	if (rc < 0)
		return rc;
	rc = check_workload(r, err);
	if (rc < 0)
		return rc;
	if (o->db_path) {
		snprintf(res->db_path, sizeof(res->db_path), "%s", o->db_path);
	} else {
		rc = tb_store_default_path(res->db_path, sizeof(res->db_path), err);
		if (rc < 0)
			return rc;
	}
	/* Open the database before touching the board: a bad path fails
	 * before anything is measured. */
	return tb_store_open(res->db_path, &r->store, err);
}

/* Match the requested workload with the device's list. */
static int check_device(struct run *r, struct tb_error *err)
{
	struct tb_run_result *res = r->res;
	const struct tbp_hello_rsp *c = tb_conn_caps(r->conn);
	const struct tb_dut_info *info = tb_dut_info(tb_conn_dut(r->conn));
	char list[512] = "";
	size_t pos = 0;

	res->caps = *c;
	res->protocol = info->protocol;
	for (unsigned i = 0; i < c->n_workloads; i++) {
		if (!strcmp(c->workloads[i].name, r->wl->name))
			r->dev_wl = &res->caps.workloads[i];
		pos += (size_t)snprintf(list + pos, pos < sizeof(list) ? sizeof(list) - pos : 0,
					"%s%s", i ? ", " : "", c->workloads[i].name);
		if (pos >= sizeof(list))
			pos = sizeof(list) - 1;
	}
	/* EEMBC firmware runs the one model it was built with: a model file
	 * given with --model describes it, whatever the firmware calls it. */
	if (!r->dev_wl && r->user && info->protocol == TB_DUT_EEMBC && c->n_workloads == 1) {
		res->caps.workloads[0].input_size = r->wl->input_size;
		res->caps.workloads[0].output_size = r->wl->output_size;
		r->dev_wl = &res->caps.workloads[0];
	}
	if (!r->dev_wl && r->user)
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "board '%s' does not have the model %s (it has: %s); %s",
				    r->board->name, r->wl->name, c->n_workloads ? list : "none",
				    r->board->transport == TB_BOARD_TRANSPORT_QEMU ?
				    "without --firmware tinybench builds an image that carries it" :
				    "flash one that carries it: tinybench flash --model FILE");
	if (!r->dev_wl)
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "board '%s' does not have workload %s (it has: %s)",
				    r->board->name, r->wl->name, c->n_workloads ? list : "none");
	if (r->dev_wl->input_size != r->wl->input_size)
		return tb_error_set(err, TB_ERR_PROTO,
				    "device's %s takes %lu input bytes, the host's %lu",
				    r->wl->name, (unsigned long)r->dev_wl->input_size,
				    (unsigned long)r->wl->input_size);
	tb_hex(r->dev_wl->model_hash, TBP_HASH_SIZE, res->model_hash);
	/* Outputs can be checked when the device runs the model the host has. */
	r->check_outputs = !memcmp(r->dev_wl->model_hash, r->wl->model_hash, TBP_HASH_SIZE) &&
			   r->dev_wl->output_size == r->wl->output_size;
	if (!info->has_model_hash) {
		/* EEMBC: no digest, and results are scores, not the tensor. */
		res->model_hash[0] = '\0';
		r->check_outputs = 0;
	} else if (r->user && !r->check_outputs) {
		/* A user model is measured only where it is the one given. */
		char mine[2 * TBP_HASH_SIZE + 1];

		tb_hex(r->wl->model_hash, TBP_HASH_SIZE, mine);
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "board '%s' carries another model named %s (sha256 %.16s, this one %.16s); flash this one: tinybench flash --model FILE",
				    r->board->name, r->wl->name, res->model_hash, mine);
	}
	snprintf(res->board, sizeof(res->board), "%s", r->board->name);
	snprintf(res->workload, sizeof(res->workload), "%s", r->wl->name);
	snprintf(res->timing_method, sizeof(res->timing_method), "%s",
		 info->timing_method ? info->timing_method :
		 (c->flags & TBP_CAP_TICKS_ARE_INSNS) ?
		 (r->board->transport == TB_BOARD_TRANSPORT_QEMU ?
		  "qemu-icount-instructions" : "emulator-instructions") :
		 tb_board_timing_name(r->board->timing));
	tb_conn_footprint(r->conn, &res->flash_bytes, &res->static_ram_bytes);
	snprintf(res->firmware_sha256, sizeof(res->firmware_sha256), "%s",
		 tb_conn_firmware_sha256(r->conn) ? tb_conn_firmware_sha256(r->conn) : "");
	snprintf(res->port, sizeof(res->port), "%s", tb_conn_port(r->conn));
	snprintf(res->input_source, sizeof(res->input_source), "%s",
		 r->o->input_path ? r->o->input_path :
		 r->o->input_data ? "input supplied with the job" :
		 "tinybench test inputs (seed = trial)");
	res->arena_planned = r->wl->arena_size;
	res->macs = r->wl->macs;
	return TB_OK;
}

static int alloc_buffers(struct run *r, struct tb_error *err)
{
	r->input = calloc(1, r->wl->input_size);
	r->expected = calloc(1, r->wl->output_size);
	r->arena = aligned_alloc(16, (r->wl->arena_size + 15) & ~15u);
	r->res->trials = calloc((size_t)r->res->trials_planned, sizeof(*r->res->trials));
	if (!r->input || !r->expected || !r->arena || !r->res->trials)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	return TB_OK;
}

static void finish(struct run *r, int rc, struct tb_error *err)
{
	struct tb_run_result *res = r->res;
	struct tb_error ferr;

	res->ended_at = wall_ms();
	if (rc == TB_OK && res->output_mismatch) {
		rc = tb_error_set(err, TB_ERR_MISMATCH,
				  "the device's output differed from the host reference in %d of %d trials",
				  res->output_mismatch, res->output_checked);
	}
	if (rc == TB_OK)
		res->status = TB_RUN_OK;
	else if (rc == TB_ERR_INTERRUPTED)
		res->status = r->checkpointed ? TB_RUN_RUNNING : TB_RUN_INTERRUPTED;
	else
		res->status = TB_RUN_FAILED;
	if (rc != TB_OK)
		snprintf(res->reason, sizeof(res->reason), "%s", err ? err->msg : tb_strerror(rc));
	summarise(res);
	if (res->run_id && r->store && !r->checkpointed &&
	    tb_store_run_finish(r->store, res->run_id, res->status,
				rc == TB_OK ? NULL : res->reason, res->ended_at, &ferr) < 0 &&
	    err && rc == TB_OK)
		*err = ferr;
}

/* Defaults and limits of the options; the result zeroed. */
static int prepare(struct run *r, struct tb_run_opts *o, struct tb_run_result *res,
		   struct tb_error *err)
{
	memset(res, 0, sizeof(*res));
	res->flash_bytes = res->static_ram_bytes = TB_STORE_UNKNOWN;
	if (o->profile == TB_PROFILE_MLPERF) {
		if (o->trials == 0)
			o->trials = 5;
		if (o->min_time_s < 10.0)
			o->min_time_s = 10.0;
	}
	if (o->trials <= 0)
		o->trials = 5;
	if (o->min_time_s <= 0)
		o->min_time_s = 1.0;
	if (o->max_attempts <= 0)
		o->max_attempts = 3;
	if (o->trials > 1000)
		return tb_error_set(err, TB_ERR_ARG, "--trials %d: at most 1000", o->trials);
	if (o->max_attempts > 101)
		return tb_error_set(err, TB_ERR_ARG, "%d attempts per trial: at most 101",
				    o->max_attempts);
	res->trials_planned = o->trials;
	r->t0 = mono_s();
	res->started_at = wall_ms();
	return TB_OK;
}

/* A trial found in the store when resuming: copied into the result, as
 * if this session had measured it.  Stops the walk (1) at a gap. */
static int copy_stored_trial(const struct tb_run *run, const struct tb_trial *t,
			     void *user)
{
	struct run *r = user;
	struct tb_run_result *res = r->res;
	struct tb_trial_result *tr;

	(void)run;
	if (t->idx != res->n_trials || t->idx >= res->trials_planned)
		return 1;
	tr = &res->trials[t->idx];
	memset(tr, 0, sizeof(*tr));
	tr->t = *t;
	tr->t.input_hash = tr->t.output = tr->t.reason = NULL;
	tr->t.output_len = 0;
	if (t->input_hash) {
		snprintf(tr->input_hash, sizeof(tr->input_hash), "%s", t->input_hash);
		tr->t.input_hash = tr->input_hash;
	}
	if (t->output && t->output_len <= sizeof(tr->output)) {
		memcpy(tr->output, t->output, t->output_len);
		tr->t.output = tr->output;
		tr->t.output_len = t->output_len;
	}
	if (t->reason) {
		snprintf(tr->reason, sizeof(tr->reason), "%s", t->reason);
		tr->t.reason = tr->reason;
	}
	if (t->status == TB_TRIAL_OK) {
		res->inferences = (uint32_t)t->inferences;
		res->warmups = (uint32_t)t->warmups;
		if (t->timer_hz > 0)
			tr->duration_s = (double)t->ticks / (double)t->timer_hz;
		if (t->output_check != TB_OUTPUT_UNCHECKED)
			res->output_checked++;
		if (t->output_check == TB_OUTPUT_MISMATCH)
			res->output_mismatch++;
	} else {
		res->n_failed++;
		if (!res->first_failure[0])
			snprintf(res->first_failure, sizeof(res->first_failure), "%s",
				 t->reason ? t->reason : "failed");
	}
	res->n_trials++;
	return 0;
}

/* Continue o->resume_run_id if it is the same measurement; otherwise mark
 * it interrupted and begin a new run. */
static int resume_run(struct run *r, struct tb_error *err)
{
	struct tb_run_result *res = r->res;
	struct tb_store_filter f = { .run_id = r->o->resume_run_id };
	const char *fw = tb_conn_firmware_sha256(r->conn);
	struct tb_run *run = NULL;
	const char *why = NULL;
	int rc;

	rc = tb_store_run_get(r->store, f.run_id, &run, err);
	if (rc == TB_ERR_NOTFOUND)
		return begin_run(r, err);
	if (rc < 0)
		return rc;
	if (run->status != TB_RUN_RUNNING)
		why = "it is already finished";
	else if (strcmp(run->info.board, r->board->name) ||
		 strcmp(run->info.workload, r->wl->name))
		why = "it was another board or workload";
	else if (!run->info.model_hash || strcasecmp(run->info.model_hash, res->model_hash))
		why = "the device now runs another model";
	else if (fw && run->info.firmware_sha256 && strcasecmp(fw, run->info.firmware_sha256))
		why = "the runner or firmware image changed";
	if (why) {
		if (run->status == TB_RUN_RUNNING) {
			char reason[160];

			snprintf(reason, sizeof(reason), "not resumed: %s", why);
			tb_store_run_finish(r->store, run->id, TB_RUN_INTERRUPTED, reason,
					    wall_ms(), NULL);
		}
		tb_store_run_free(run);
		return begin_run(r, err);
	}
	res->run_id = run->id;
	res->started_at = run->info.started_at;
	tb_store_run_free(run);
	rc = tb_store_trials_foreach(r->store, &f, copy_stored_trial, r, err);
	if (rc > 0)
		return tb_error_set(err, TB_ERR_FORMAT,
				    "cannot resume run %lld: its trials are not 0..%d in order",
				    (long long)f.run_id, res->n_trials - 1);
	if (rc < 0)
		return rc;
	res->n_resumed = res->n_trials;
	return TB_OK;
}

/* From a connected board to a finished (or checkpointed) run. */
static int measure(struct run *r, struct tb_error *err)
{
	struct tb_run_result *res = r->res;
	int rc;

	rc = check_device(r, err);
	if (rc < 0)
		return rc;
	/* Stored from here on: a failure below is recorded with its reason. */
	rc = r->o->resume_run_id ? resume_run(r, err) : begin_run(r, err);
	if (rc < 0)
		return rc;
	rc = set_tags(r, err);
	if (rc < 0)
		return rc;
	/* The first input goes up before calibration so N is found on it.  A
	 * resumed run keeps the N its trials were measured with. */
	if (!res->inferences) {
		rc = with_attempts(r, -1, err);
		if (rc < 0)
			return rc;
	}
	rc = run_trials(r, err);
	progress(r, TB_PHASE_DONE, res->n_trials);
	return rc;
}

/*
 * Energy and the board's firmware: tinybench firmware measures either way;
 * EEMBC firmware comes in two builds (docs/EEMBC.md): performance mode
 * (m-lap-us lines, no window on a GPIO: no energy) and energy mode
 * (timestamp pulses and no m-lap-us: nothing but an energy monitor can
 * time it, so a run without one is refused rather than timed by the host
 * across a 9600-baud IO manager).
 */
static int energy_fits_firmware(const struct tb_board *b, bool energy, struct tb_error *err)
{
	if (b->protocol == TB_BOARD_PROTOCOL_TINYBENCH)
		return TB_OK;
	if (b->protocol == TB_BOARD_PROTOCOL_EEMBC && b->eembc_mode == TB_BOARD_EEMBC_ENERGY) {
		if (energy)
			return TB_OK;
		return tb_error_set(err, TB_ERR_ARG,
				    "board '%s' runs EEMBC energy-mode firmware ([eembc] mode = energy): it writes no m-lap-us timestamps and marks its window with GPIO pulses only an energy monitor sees; run it with --energy default (or ppk2 / lpm01a), or use its performance-mode build for latency alone",
				    b->name);
	}
	if (!energy)
		return TB_OK;
	if (b->protocol == TB_BOARD_PROTOCOL_EEMBC)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "board '%s' runs EEMBC performance-mode firmware (m-lap-us timestamps, no window on a GPIO): energy needs its energy-mode build and [eembc] mode = energy in the board file (docs/EEMBC.md)",
				    b->name);
	return tb_error_set(err, TB_ERR_UNSUPPORTED,
			    "board '%s' (protocol %s): energy needs to know the firmware: protocol = tinybench, or protocol = eembc with [eembc] mode = energy (docs/EEMBC.md)",
			    b->name, tb_board_protocol_name(b->protocol));
}

/* A run with energy: the firmware can carry it, the connection drives the
 * line the monitor sees; the result names the monitor. */
static int energy_check(struct run *r, const struct tb_run_opts *o, struct tb_error *err)
{
	struct tb_run_result *res = r->res;
	int rc = energy_fits_firmware(r->board, r->energy != NULL, err);

	if (rc < 0 || !r->energy)
		return rc;
	if (tb_energy_wants_timestamp_line(r->energy) && !o->conn.timestamp_line)
		return tb_error_set(err, TB_ERR_ARG,
				    "board '%s': the connection was made without the timestamp bridge the energy monitor needs",
				    r->board->name);
	snprintf(res->energy_method, sizeof(res->energy_method), "%s",
		 tb_energy_method(r->energy));
	snprintf(res->energy_monitor, sizeof(res->energy_monitor), "%s on %s",
		 tb_energy_info(r->energy)->model, tb_energy_port(r->energy));
	return tb_energy_check_device(r->energy, tb_conn_caps(r->conn)->flags, r->board->name,
				      err);
}

static void release(struct run *r)
{
	free(r->input);
	free(r->expected);
	free(r->arena);
	tb_user_model_free(r->user);
}

int tb_session_run(const struct tb_run_opts *opts, struct tb_run_result *res,
		   struct tb_error *err)
{
	struct tb_run_opts o = *opts;
	struct tb_board_registry *reg = NULL;
	struct run r = { .o = &o, .res = res, .loaded_seed = -1 };
	int rc;

	rc = prepare(&r, &o, res, err);
	if (rc < 0)
		return rc;
	rc = setup(&r, &reg, err);
	if (rc < 0)
		goto out;
	rc = alloc_buffers(&r, err);
	if (rc < 0)
		goto out;
	rc = user_model_args(&r, &o, err);
	if (rc < 0)
		goto out;
	rc = energy_fits_firmware(r.board, o.energy.spec != NULL, err);
	if (rc < 0)
		goto out;
	if (!o.conn.eembc_model)
		o.conn.eembc_model = r.wl->name;
	rc = tb_energy_open(r.board, &o.energy, &o.conn.runner_args, &r.energy, err);
	if (rc < 0)
		goto out;
	o.conn.timestamp_line = tb_energy_wants_timestamp_line(r.energy);
	if (r.energy) {
		o.conn.power_cycle = tb_energy_power_cycle_cb;
		o.conn.power_cycle_user = r.energy;
	}
	progress(&r, TB_PHASE_CONNECT, 0);
	rc = tb_session_connect(r.board, &o.conn, &r.conn, err);
	if (rc < 0)
		goto out;
	rc = energy_check(&r, &o, err);
	if (rc < 0)
		goto out;
	rc = measure(&r, err);
out:
	finish(&r, rc, err);
	if (rc == TB_OK && res->status != TB_RUN_OK)
		rc = TB_ERR_MISMATCH;
	tb_conn_free(r.conn);
	tb_energy_free(r.energy);
	tb_store_close(r.store);
	tb_board_registry_free(reg);
	release(&r);
	return rc;
}

int tb_session_run_on(struct tb_conn **conn, struct tb_store *store,
		      const struct tb_run_opts *opts, struct tb_run_result *res,
		      struct tb_error *err)
{
	struct tb_run_opts o = *opts;
	struct run r = { .o = &o, .res = res, .loaded_seed = -1 };
	int rc;

	rc = prepare(&r, &o, res, err);
	if (rc < 0)
		return rc;
	if (!conn || !*conn || !store)
		return tb_error_set(err, TB_ERR_ARG, "tb_session_run_on: no connection or store");
	r.conn = *conn;
	r.board = r.conn->board;
	r.store = store;
	r.energy = o.monitor;
	snprintf(res->db_path, sizeof(res->db_path), "%s", tb_store_path(store));
	rc = check_workload(&r, err);
	if (rc == TB_OK)
		rc = energy_check(&r, &o, err);
	if (rc == TB_OK)
		rc = alloc_buffers(&r, err);
	if (rc == TB_OK)
		rc = measure(&r, err);
	finish(&r, rc, err);
	if (rc == TB_OK && res->status != TB_RUN_OK)
		rc = TB_ERR_MISMATCH;
	*conn = r.conn;
	release(&r);
	return rc;
}

void tb_run_result_free(struct tb_run_result *res)
{
	if (!res)
		return;
	free(res->trials);
	res->trials = NULL;
}
