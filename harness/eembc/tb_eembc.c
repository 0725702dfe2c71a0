/*
 * tb_eembc.c - the EEMBC host driver on a transport (tb_eembc.h).
 */
#include "tb_eembc.h"
#include "tb_transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What an IO manager puts before each line it relays from the DUT. */
#define IOM_PREFIX "[dut]: "
/* Bytes per `db` through an IO manager (the MLPerf Tiny runner's). */
#define TB_EEMBC_DB_BYTES_IOM 26

struct tb_eembc {
	struct tb_transport *t;
	struct tb_eembc_config cfg;
	/* received bytes not yet split into lines */
	uint8_t rx[4096];
	size_t rx_len, rx_pos;
	char line[TB_EEMBC_LINE_MAX + 1];
	size_t line_len;
	int line_long;            /* the line being read went over the max */
	struct tb_eembc_line msg;
	int from_dut;             /* msg came from the DUT (through an IO
				   * manager: its `[dut]: ` prefix) */
	double values[TB_EEMBC_MAX_VALUES];
	double results[TB_EEMBC_MAX_VALUES]; /* the last m-results kept */
	struct tb_eembc_stats stats;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tb_eembc_new(struct tb_transport *t, const struct tb_eembc_config *cfg,
		 struct tb_eembc **out, struct tb_error *err)
{
	struct tb_eembc *e;

	*out = NULL;
	if (!t)
		return tb_error_set(err, TB_ERR_ARG, "EEMBC: no transport");
	e = calloc(1, sizeof(*e));
	if (!e)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	e->t = t;
	if (cfg)
		e->cfg = *cfg;
	if (e->cfg.cmd_timeout_ms <= 0)
		e->cfg.cmd_timeout_ms = 2000;
	if (e->cfg.hello_attempts <= 0)
		e->cfg.hello_attempts = 3;
	if (e->cfg.hello_timeout_ms <= 0)
		e->cfg.hello_timeout_ms = 1000;
	if (!e->cfg.db_bytes)
		e->cfg.db_bytes = e->cfg.io_manager ? TB_EEMBC_DB_BYTES_IOM : TB_EEMBC_DB_BYTES;
	if (3 + 2 * e->cfg.db_bytes + 1 > TB_EEMBC_CMD_MAX) {
		uint32_t n = e->cfg.db_bytes;

		free(e);
		return tb_error_set(err, TB_ERR_ARG,
				    "EEMBC: %u bytes per db command make a command of %u "
				    "characters; the firmware's buffer holds %d",
				    n, 3 + 2 * n + 1, TB_EEMBC_CMD_MAX);
	}
	*out = e;
	return TB_OK;
}

void tb_eembc_free(struct tb_eembc *e)
{
	free(e);
}

void tb_eembc_get_stats(const struct tb_eembc *e, struct tb_eembc_stats *st)
{
	*st = e->stats;
}

/* ----------------------------------------------------------------------
 * Lines
 */

/* Wait until deadline for the next line; e->msg holds it, classified. */
static int next_line(struct tb_eembc *e, int64_t deadline, struct tb_error *err)
{
	for (;;) {
		while (e->rx_pos < e->rx_len) {
			char c = (char)e->rx[e->rx_pos++];

			if (c != '\n') {
				if (e->line_len < TB_EEMBC_LINE_MAX)
					e->line[e->line_len++] = c;
				else
					e->line_long = 1;
				continue;
			}
			e->line[e->line_len] = '\0';
			e->from_dut = !e->cfg.io_manager;
			if (e->cfg.io_manager && !e->line_long &&
			    !strncmp(e->line, IOM_PREFIX, strlen(IOM_PREFIX))) {
				size_t k = strlen(IOM_PREFIX);

				memmove(e->line, e->line + k, e->line_len - k + 1);
				e->line_len -= k;
				e->from_dut = 1;
			}
			if (e->line_long) {
				e->stats.long_lines++;
				e->msg.kind = TB_EEMBC_MALFORMED;
				snprintf(e->msg.text, sizeof(e->msg.text),
					 "a line longer than %d characters", TB_EEMBC_LINE_MAX);
			} else {
				tb_eembc_parse_line(e->line, e->line_len, &e->msg, e->values,
						    TB_EEMBC_MAX_VALUES);
			}
			e->line_len = 0;
			e->line_long = 0;
			if (e->msg.kind == TB_EEMBC_STRAY && !e->msg.text[0])
				continue; /* an empty line */
			return TB_OK;
		}
		if (e->cfg.cancel && *e->cfg.cancel)
			return tb_error_set(err, TB_ERR_INTERRUPTED, "interrupted");
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			e->stats.timeouts++;
			return tb_error_set(err, TB_ERR_TIMEOUT, "no reply from the device");
		}
		int rc = tb_transport_read(e->t, e->rx, sizeof(e->rx),
					   left > 200 ? 200 : (int)left, err);
		if (rc < 0)
			return rc;
		e->rx_len = (size_t)rc;
		e->rx_pos = 0;
	}
}

/* Drop what the device sent that no command asked for (an m-ready from
 * start-up, a half line of noise). */
static void drain(struct tb_eembc *e)
{
	int rc;

	e->rx_len = e->rx_pos = 0;
	e->line_len = 0;
	e->line_long = 0;
	do {
		rc = tb_transport_read(e->t, e->rx, sizeof(e->rx), 0, NULL);
	} while (rc > 0);
	e->rx_len = e->rx_pos = 0;
}

/* cmd% to the DUT (through an IO manager: `dut cmd%`), or to the IO
 * manager itself (own). */
static int send_command(struct tb_eembc *e, const char *cmd, int own, struct tb_error *err)
{
	const char *via = e->cfg.io_manager && !own ? "dut " : "";
	size_t n = strlen(cmd), k = strlen(via);
	char buf[TB_EEMBC_CMD_MAX + 8];

	if (n + 1 > TB_EEMBC_CMD_MAX || k + n + 1 >= sizeof(buf))
		return tb_error_set(err, TB_ERR_ARG,
				    "EEMBC command '%.20s...' longer than the firmware's %d characters",
				    cmd, TB_EEMBC_CMD_MAX);
	memcpy(buf, via, k);
	memcpy(buf + k, cmd, n);
	buf[k + n] = '%';
	e->stats.commands++;
	return tb_transport_write(e->t, (const uint8_t *)buf, k + n + 1, 5000, err);
}

/*
 * Through an IO manager, the part of a reply before the DUT's lines: the
 * IO manager's own lines up to its m-ready, which must include
 * m-dut-passthrough(...).  DUT lines before it are left over from earlier
 * (start-up) and skipped.  Returns 1 when the IO manager's part is over,
 * 0 to read on, < 0 on its error.
 */
static int iom_line(struct tb_eembc *e, const char *cmd, int *passed, struct tb_error *err)
{
	if (e->from_dut) {
		e->stats.stray_lines++;
		return 0;
	}
	if (!strncmp(e->line, "m-dut-passthrough(", 18)) {
		*passed = 1;
		return 0;
	}
	if (e->msg.kind == TB_EEMBC_ERROR)
		return tb_error_set(err, TB_ERR_DEVICE, "'dut %s%%': IO manager error: %s", cmd,
				    e->msg.text);
	if (e->msg.kind != TB_EEMBC_READY) {
		e->stats.stray_lines++;
		return 0;
	}
	if (!*passed)
		return tb_error_set(err, TB_ERR_PROTO,
				    "'dut %s%%': the IO manager did not pass the command on (no m-dut-passthrough before its m-ready): is the port the IO manager's?",
				    cmd);
	return 1;
}

/* Milliseconds to wait for a command that carries `bytes` to be answered. */
static int cmd_wait_ms(const struct tb_eembc *e, size_t bytes)
{
	int64_t ms = e->cfg.cmd_timeout_ms;

	if (e->cfg.bytes_per_sec)
		ms += (int64_t)bytes * 2 * 1000 / e->cfg.bytes_per_sec;
	return ms > 600000 ? 600000 : (int)ms;
}

/*
 * Per-command handler: called for each line of the reply before m-ready
 * (errors and stray lines included); return < 0 to fail the command (the
 * rest of the reply is still read up to m-ready).
 */
typedef int (*line_fn)(struct tb_eembc *e, void *user, struct tb_error *err);

/*
 * Send cmd and read its reply up to m-ready.  An e-[...] line fails the
 * command with the device's text (TB_ERR_DEVICE); a malformed line with
 * TB_ERR_PROTO.  stale_ok: an m-ready before any line of the reply may be
 * one left over from start-up: keep reading (briefly) for the reply.
 */
static int command(struct tb_eembc *e, const char *cmd, int timeout_ms, int stale_ok,
		   line_fn fn, void *user, struct tb_error *err)
{
	struct tb_error first = { 0 };
	int64_t deadline = now_ms() + timeout_ms;
	int rc, failed = 0, lines = 0, iom_done = !e->cfg.io_manager, passed = 0;

	drain(e);
	rc = send_command(e, cmd, 0, err);
	if (rc < 0)
		return rc;
	for (;;) {
		rc = next_line(e, deadline, err);
		if (rc == TB_OK && !iom_done) {
			rc = iom_line(e, cmd, &passed, err);
			if (rc < 0)
				return rc;
			iom_done = rc;
			continue;
		}
		if (rc == TB_OK && !e->from_dut) {
			e->stats.stray_lines++; /* IO manager chatter */
			continue;
		}
		if (rc == TB_ERR_TIMEOUT) {
			if (failed) {
				if (err)
					*err = first;
				return first.code;
			}
			return tb_error_set(err, TB_ERR_TIMEOUT,
					    "'%s%%': no m-ready from the device within %d ms",
					    cmd, timeout_ms);
		}
		if (rc < 0)
			return rc;
		if (e->msg.kind == TB_EEMBC_READY) {
			if (!lines && stale_ok) {
				e->stats.stale_ready++;
				stale_ok = 0;
				continue;
			}
			break;
		}
		if (e->msg.kind != TB_EEMBC_STRAY && e->msg.kind != TB_EEMBC_OTHER &&
		    e->msg.kind != TB_EEMBC_INIT_DONE)
			lines++;
		if (failed)
			continue;
		if (e->msg.kind == TB_EEMBC_ERROR) {
			failed = 1;
			tb_error_set(&first, TB_ERR_DEVICE, "'%s%%': device error: %s",
				     cmd, e->msg.text);
			continue;
		}
		if (e->msg.kind == TB_EEMBC_MALFORMED) {
			failed = 1;
			tb_error_set(&first, TB_ERR_PROTO, "'%s%%': %s", cmd, e->msg.text);
			continue;
		}
		if (fn && fn(e, user, &first) < 0) {
			failed = 1;
			continue;
		}
		if (e->msg.kind == TB_EEMBC_STRAY || e->msg.kind == TB_EEMBC_OTHER ||
		    e->msg.kind == TB_EEMBC_INIT_DONE)
			e->stats.stray_lines++;
	}
	if (failed) {
		if (err)
			*err = first;
		return first.code;
	}
	return TB_OK;
}

/* ----------------------------------------------------------------------
 * Identify
 */
struct ident {
	struct tb_eembc_identity *id;
	int have_name;
	char stray[TB_EEMBC_TEXT_MAX + 1];
};

static int on_ident(struct tb_eembc *e, void *user, struct tb_error *err)
{
	struct ident *x = user;

	(void)err;
	switch (e->msg.kind) {
	case TB_EEMBC_NAME:
		snprintf(x->id->name, sizeof(x->id->name), "%s", e->msg.text);
		x->have_name = 1;
		break;
	case TB_EEMBC_PROFILE:
		snprintf(x->id->profile, sizeof(x->id->profile), "%s", e->msg.text);
		break;
	case TB_EEMBC_MODEL:
		snprintf(x->id->model, sizeof(x->id->model), "%s", e->msg.text);
		break;
	case TB_EEMBC_STRAY:
		snprintf(x->stray, sizeof(x->stray), "%s", e->msg.text);
		break;
	default:
		break;
	}
	return 0;
}

/* The line as the device wrote it, for people: line ends dropped, other
 * bytes that are not printable ASCII shown as '?', cut to fit. */
static void printable_copy(char *dst, size_t cap, const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < cap; i++)
		if (s[i] != '\r')
			dst[k++] = s[i] >= 0x20 && s[i] < 0x7F ? s[i] : '?';
	dst[k] = '\0';
}

/* The IO manager's `name%`: a line of text, then its m-ready (DUT lines
 * left over from start-up are skipped); tried as often as the DUT's. */
static int iom_name(struct tb_eembc *e, char *name, size_t len, struct tb_error *err)
{
	int rc = TB_OK;

	for (int i = 0; i < e->cfg.hello_attempts; i++) {
		int64_t deadline = now_ms() + e->cfg.hello_timeout_ms;

		drain(e);
		name[0] = '\0';
		rc = send_command(e, "name", 1, err);
		while (rc == TB_OK) {
			rc = next_line(e, deadline, err);
			if (rc < 0 || e->from_dut)
				continue;
			if (e->msg.kind == TB_EEMBC_READY && name[0])
				return TB_OK;
			if (e->msg.kind != TB_EEMBC_READY)
				printable_copy(name, len, e->line, strlen(e->line));
		}
		if (rc == TB_ERR_INTERRUPTED || rc == TB_ERR_CLOSED || rc == TB_ERR_IO)
			return rc;
	}
	return tb_error_set(err, rc == TB_OK ? TB_ERR_PROTO : rc,
			    "no IO manager answered 'name%%' (%d attempts of %d ms): the board file says link = io-manager; is the port the IO manager's?",
			    e->cfg.hello_attempts, e->cfg.hello_timeout_ms);
}

int tb_eembc_identify(struct tb_eembc *e, struct tb_eembc_identity *id,
		      struct tb_error *err)
{
	struct ident x = { .id = id };
	int rc = TB_ERR_TIMEOUT;

	memset(id, 0, sizeof(*id));
	if (e->cfg.io_manager) {
		rc = iom_name(e, id->io_manager, sizeof(id->io_manager), err);
		if (rc < 0)
			return rc;
	}
	for (int i = 0; i < e->cfg.hello_attempts && !x.have_name; i++) {
		if (i)
			e->stats.retries++;
		rc = command(e, "name", e->cfg.hello_timeout_ms, 1, on_ident, &x, err);
		if (rc == TB_ERR_INTERRUPTED || rc == TB_ERR_CLOSED || rc == TB_ERR_IO)
			return rc;
	}
	if (!x.have_name)
		return tb_error_set(err, rc == TB_OK ? TB_ERR_PROTO : rc,
				    "device did not answer 'name%%' with m-name-dut-[...] "
				    "(%d attempts of %d ms)%s%s", e->cfg.hello_attempts,
				    e->cfg.hello_timeout_ms, x.stray[0] ? "; it said: " : "",
				    x.stray);
	rc = command(e, "profile", cmd_wait_ms(e, 0), 0, on_ident, &x, err);
	if (rc < 0)
		return tb_error_prefix(err, "identifying the device: ");
	if (!id->model[0])
		return tb_error_set(err, TB_ERR_PROTO,
				    "device answered 'profile%%' without m-model-[...]");
	return TB_OK;
}

int tb_eembc_probe(struct tb_transport *t, int timeout_ms, struct tb_error *err)
{
	struct tb_eembc_config cfg = { .hello_attempts = 1, .hello_timeout_ms = timeout_ms };
	struct tb_eembc *e;
	struct ident x;
	struct tb_eembc_identity id;
	int rc;

	rc = tb_eembc_new(t, &cfg, &e, err);
	if (rc < 0)
		return rc;
	memset(&x, 0, sizeof(x));
	x.id = &id;
	rc = command(e, "name", timeout_ms, 0, on_ident, &x, NULL);
	tb_eembc_free(e);
	if (rc == TB_ERR_CLOSED || rc == TB_ERR_IO)
		return tb_error_set(err, rc, "probing for an EEMBC device: the link failed");
	/* Any m-ready (or an error line before it) is an EEMBC device. */
	return rc == TB_OK || rc == TB_ERR_DEVICE || x.have_name;
}

/* ----------------------------------------------------------------------
 * Load
 */
struct load {
	size_t expect;
	int expecting;
	int done;
	char said[TB_EEMBC_TEXT_MAX + 1];
};

static int on_load(struct tb_eembc *e, void *user, struct tb_error *err)
{
	struct load *l = user;

	(void)err;
	if (e->msg.kind == TB_EEMBC_EXPECTING) {
		l->expecting = 1;
		if (e->msg.number != l->expect)
			return tb_error_set(err, TB_ERR_PROTO,
					    "device expects %llu bytes, %zu were announced",
					    (unsigned long long)e->msg.number, l->expect);
	} else if (e->msg.kind == TB_EEMBC_LOAD_DONE) {
		l->done = 1;
	} else if (e->msg.kind == TB_EEMBC_STRAY) {
		snprintf(l->said, sizeof(l->said), "%s", e->msg.text);
	}
	return 0;
}

int tb_eembc_load(struct tb_eembc *e, const void *data, size_t len,
		  struct tb_upload_stats *st, struct tb_error *err)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t in0 = e->t->bytes_in, out0 = e->t->bytes_out;
	const uint8_t *p = data;
	struct tb_upload_stats s = { 0 };
	struct load l = { .expect = len };
	char cmd[TB_EEMBC_CMD_MAX + 1];
	size_t pos = 0;
	int rc;

	if (len == 0 || len > UINT32_MAX)
		return tb_error_set(err, TB_ERR_ARG, "EEMBC: an input of %zu bytes", len);
	snprintf(cmd, sizeof(cmd), "db load %zu", len);
	s.round_trips++;
	rc = command(e, cmd, cmd_wait_ms(e, 16), 0, on_load, &l, err);
	if (rc < 0)
		return rc;
	if (!l.expecting)
		/* e.g. "Supplied buffer size N exceeds maximum of M": said
		 * without m-/e-, so only the missing m-[Expecting] tells. */
		return tb_error_set(err, TB_ERR_DEVICE,
				    "'db load %zu%%': the device did not say it expects the bytes%s%s",
				    len, l.said[0] ? "; it said: " : "", l.said);
	while (pos < len) {
		size_t n = len - pos < e->cfg.db_bytes ? len - pos : e->cfg.db_bytes;
		size_t k = 3;

		memcpy(cmd, "db ", 3);
		for (size_t i = 0; i < n; i++) {
			cmd[k++] = hex[p[pos + i] >> 4];
			cmd[k++] = hex[p[pos + i] & 15];
		}
		cmd[k] = '\0';
		s.chunks++;
		s.round_trips++;
		rc = command(e, cmd, cmd_wait_ms(e, k + 16), 0, on_load, &l, err);
		if (rc < 0)
			return tb_error_prefix(err, "upload at byte %zu of %zu: ", pos, len);
		pos += n;
		if (l.done && pos < len)
			return tb_error_set(err, TB_ERR_PROTO,
					    "device said m-load-done at byte %zu of %zu", pos, len);
	}
	if (!l.done)
		return tb_error_set(err, TB_ERR_PROTO,
				    "device did not say m-load-done after all %zu bytes "
				    "(bytes lost on the line?)", len);
	s.payload_bytes = (uint32_t)len;
	s.chunk_size = e->cfg.db_bytes;
	s.window = 1;
	s.wire_out = e->t->bytes_out - out0;
	s.wire_in = e->t->bytes_in - in0;
	if (st)
		*st = s;
	return TB_OK;
}

/* ----------------------------------------------------------------------
 * Infer
 */
struct infer {
	uint32_t count, warmups;
	int have_start, have_done, n_laps, have_results;
	uint32_t laps[2];
	struct tb_eembc_infer *res;
};

static int on_infer(struct tb_eembc *e, void *user, struct tb_error *err)
{
	struct infer *x = user;

	switch (e->msg.kind) {
	case TB_EEMBC_WARMUP_START:
		if (e->msg.number != x->warmups)
			return tb_error_set(err, TB_ERR_PROTO,
					    "device ran %llu warm-ups, %u were asked",
					    (unsigned long long)e->msg.number, x->warmups);
		break;
	case TB_EEMBC_INFER_START:
		if (e->msg.number != x->count)
			return tb_error_set(err, TB_ERR_PROTO,
					    "device ran %llu inferences, %u were asked",
					    (unsigned long long)e->msg.number, x->count);
		x->have_start = 1;
		break;
	case TB_EEMBC_LAP_US:
		if (e->cfg.energy_mode)
			break;  /* not expected; the window is on the GPIO */
		if (!x->have_start || x->have_done)
			break; /* a timestamp outside the window: not ours */
		if (x->n_laps >= 2)
			return tb_error_set(err, TB_ERR_PROTO,
					    "device sent more than two timestamps in the window");
		x->laps[x->n_laps++] = (uint32_t)e->msg.number;
		break;
	case TB_EEMBC_INFER_DONE:
		x->have_done = 1;
		break;
	case TB_EEMBC_RESULTS:
		memcpy(e->results, e->values, e->msg.n_values * sizeof(double));
		x->res->n_values = e->msg.n_values;
		x->have_results = 1;
		break;
	default:
		break;
	}
	return 0;
}

int tb_eembc_infer(struct tb_eembc *e, uint32_t count, uint32_t warmups,
		   int timeout_ms, struct tb_eembc_infer *res, struct tb_error *err)
{
	struct infer x = { .count = count, .warmups = warmups, .res = res };
	char cmd[48];
	int rc;

	memset(res, 0, sizeof(*res));
	if (count == 0 || count > INT32_MAX || warmups > INT32_MAX)
		return tb_error_set(err, TB_ERR_ARG, "EEMBC: infer %u %u", count, warmups);
	snprintf(cmd, sizeof(cmd), "infer %u %u", count, warmups);
	rc = command(e, cmd, timeout_ms, 0, on_infer, &x, err);
	if (rc == TB_ERR_TIMEOUT)
		return tb_error_set(err, TB_ERR_TIMEOUT,
				    "device did not finish %lu inferences within %d ms",
				    (unsigned long)count + warmups, timeout_ms);
	if (rc < 0)
		return rc;
	if (!x.have_start || !x.have_done)
		return tb_error_set(err, TB_ERR_PROTO,
				    "'%s%%': the reply lacks m-infer-start or m-infer-done", cmd);
	if (x.n_laps != 2 && !e->cfg.energy_mode)
		return tb_error_set(err, TB_ERR_PROTO,
				    "'%s%%': %d m-lap-us timestamps in the window, 2 needed "
				    "(energy-mode firmware signals them on a GPIO instead)",
				    cmd, x.n_laps);
	if (!x.have_results)
		return tb_error_set(err, TB_ERR_PROTO, "'%s%%': no m-results", cmd);
	res->count = count;
	res->warmups = warmups;
	res->values = e->results;
	if (e->cfg.energy_mode)
		return TB_OK;   /* the window is on the timestamp line */
	res->lap0 = x.laps[0];
	res->lap1 = x.laps[1];
	res->elapsed_us = (uint32_t)(x.laps[1] - x.laps[0]);
	if (res->elapsed_us == 0)
		return tb_error_set(err, TB_ERR_PROTO,
				    "device reports 0 us for %u inferences", count);
	return TB_OK;
}
