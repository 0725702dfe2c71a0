/*
 * tbd_config.c - tinybenchd's configuration file (docs/DAEMON.md,
 * "Configuration"): INI, parsed with libinih, strict like board files.
 *
 *   [daemon]             socket, socket_mode, socket_group, queue, results,
 *                        boards_dir, listen, token_file, log_level,
 *                        max_clients, max_queued
 *   [board NAME]         board, port | usb (+ serial), monitor, retries,
 *                        timeout_ms, quarantine_after, port_wait_ms,
 *                        runner_args, fault
 */
#include "tbd.h"
#include "tb_store.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool tbd_valid_name(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!(s[n] >= 'a' && s[n] <= 'z') && !(s[n] >= 'A' && s[n] <= 'Z') &&
		    !(s[n] >= '0' && s[n] <= '9') && s[n] != '_' && s[n] != '.' &&
		    s[n] != '-')
			return false;
	return n >= 1 && n <= max && strcmp(s, ".") && strcmp(s, "..");
}

int tbd_default_socket(char *buf, size_t len)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	int n;

	if (rt && rt[0] == '/' && getuid() != 0)
		n = snprintf(buf, len, "%s/tinybench/tinybenchd.sock", rt);
	else
		n = snprintf(buf, len, "/run/tinybench/tinybenchd.sock");
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int tbd_config_defaults(struct tbd_config *c, struct tb_error *err)
{
	int rc;

	memset(c, 0, sizeof(*c));
	if (tbd_default_socket(c->socket, sizeof(c->socket)) < 0)
		return tb_error_set(err, TB_ERR_ARG, "socket path too long; set socket =");
	c->socket_mode = 0660;
	rc = tbd_queue_default_path(c->queue, sizeof(c->queue), err);
	if (rc < 0)
		return rc;
	rc = tb_store_default_path(c->results, sizeof(c->results), err);
	if (rc < 0)
		return rc;
	c->log_level = TBD_LOG_INFO;
	c->max_clients = TBD_MAX_CLIENTS_DEFAULT;
	c->max_queued = 100000;
	return TB_OK;
}

struct parse {
	struct tbd_config *c;
	struct tb_error *err;
	int line;
	char section[64];
	struct tbd_board_config *b;
	int failed;
};

static int bad(struct parse *p, const char *fmt, const char *a, const char *b)
{
	char msg[400];

	snprintf(msg, sizeof(msg), fmt, a, b);
	tb_error_set(p->err, TB_ERR_FORMAT, "%s: %s", p->c->path, msg);
	p->failed = 1;
	return 0;
}

static int copy(struct parse *p, char *dst, size_t len, const char *key, const char *v)
{
	if (strlen(v) >= len)
		return bad(p, "'%s' is too long (%s)", key, v);
	strcpy(dst, v);
	return 1;
}

static int number(struct parse *p, const char *key, const char *v, long min, long max,
		  long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max) {
		char range[64];

		snprintf(range, sizeof(range), "%ld..%ld", min, max);
		return bad(p, "%s: expected a number in %s", key, range);
	}
	*out = n;
	return 1;
}

static int daemon_key(struct parse *p, const char *k, const char *v)
{
	struct tbd_config *c = p->c;
	long n;

	if (!strcmp(k, "socket")) {
		if (v[0] != '/')
			return bad(p, "socket: '%s' is not an absolute path%s", v, "");
		return copy(p, c->socket, sizeof(c->socket), k, v);
	}
	if (!strcmp(k, "socket_mode")) {
		if (strcmp(v, "0600") && strcmp(v, "0660"))
			return bad(p, "socket_mode: '%s': only 0600 (owner) or 0660 (owner and group)%s", v, "");
		c->socket_mode = !strcmp(v, "0600") ? 0600 : 0660;
		return 1;
	}
	if (!strcmp(k, "socket_group"))
		return copy(p, c->socket_group, sizeof(c->socket_group), k, v);
	if (!strcmp(k, "queue"))
		return copy(p, c->queue, sizeof(c->queue), k, v);
	if (!strcmp(k, "results"))
		return copy(p, c->results, sizeof(c->results), k, v);
	if (!strcmp(k, "boards_dir"))
		return copy(p, c->boards_dir, sizeof(c->boards_dir), k, v);
	if (!strcmp(k, "listen"))
		return copy(p, c->listen, sizeof(c->listen), k, v);
	if (!strcmp(k, "token_file"))
		return copy(p, c->token_file, sizeof(c->token_file), k, v);
	if (!strcmp(k, "log_level")) {
		static const char *const levels[] = { "error", "warning", "info", "debug" };

		for (int i = 0; i < 4; i++)
			if (!strcmp(v, levels[i])) {
				c->log_level = i;
				return 1;
			}
		return bad(p, "log_level: '%s': expected error, warning, info or debug%s", v, "");
	}
	if (!strcmp(k, "max_clients")) {
		if (!number(p, k, v, 1, 4096, &n))
			return 0;
		c->max_clients = (int)n;
		return 1;
	}
	if (!strcmp(k, "max_queued")) {
		if (!number(p, k, v, 1, 100000000, &n))
			return 0;
		c->max_queued = n;
		return 1;
	}
	return bad(p, "[daemon]: unknown key '%s'%s (socket, socket_mode, socket_group, queue, "
		   "results, boards_dir, listen, token_file, log_level, max_clients, max_queued)",
		   k, "");
}

static int parse_usb(struct parse *p, const char *v, struct tbd_board_config *b)
{
	unsigned vid, pid;
	char tail;

	if (sscanf(v, "%4x:%4x%c", &vid, &pid, &tail) != 2 || strlen(v) != 9)
		return bad(p, "usb: '%s' is not VID:PID in hex (1a86:7523)%s", v, "");
	b->has_usb = true;
	b->vid = (uint16_t)vid;
	b->pid = (uint16_t)pid;
	return 1;
}

static int board_key(struct parse *p, const char *k, const char *v)
{
	struct tbd_board_config *b = p->b;
	long n;

	if (!strcmp(k, "board")) {
		if (!tbd_valid_name(v, TBD_NAME_MAX))
			return bad(p, "board: '%s' is not a board name%s", v, "");
		return copy(p, b->board, sizeof(b->board), k, v);
	}
	if (!strcmp(k, "port"))
		return copy(p, b->port, sizeof(b->port), k, v);
	if (!strcmp(k, "usb"))
		return parse_usb(p, v, b);
	if (!strcmp(k, "serial"))
		return copy(p, b->serial, sizeof(b->serial), k, v);
	if (!strcmp(k, "monitor"))
		return copy(p, b->monitor, sizeof(b->monitor), k, v);
	if (!strcmp(k, "monitor_args"))
		return copy(p, b->monitor_args, sizeof(b->monitor_args), k, v);
	if (!strcmp(k, "runner_args"))
		return copy(p, b->runner_args, sizeof(b->runner_args), k, v);
	if (!strcmp(k, "fault"))
		return copy(p, b->fault, sizeof(b->fault), k, v);
	if (!strcmp(k, "retries")) {
		if (!number(p, k, v, 0, 100, &n))
			return 0;
		b->retries = (int)n;
		return 1;
	}
	if (!strcmp(k, "timeout_ms")) {
		if (!number(p, k, v, 0, 86400000, &n))
			return 0;
		b->timeout_ms = (int)n;
		return 1;
	}
	if (!strcmp(k, "quarantine_after")) {
		if (!number(p, k, v, 1, 1000, &n))
			return 0;
		b->quarantine_after = (int)n;
		return 1;
	}
	if (!strcmp(k, "port_wait_ms")) {
		if (!number(p, k, v, 0, 600000, &n))
			return 0;
		b->port_wait_ms = (int)n;
		return 1;
	}
	return bad(p, "[board %s]: unknown key '%s' (board, port, usb, serial, monitor, retries, "
		   "timeout_ms, quarantine_after, port_wait_ms, runner_args, monitor_args, fault)",
		   b->name, k);
}

static int new_board(struct parse *p, const char *name)
{
	struct tbd_board_config *b;

	if (!tbd_valid_name(name, TBD_NAME_MAX))
		return bad(p, "[board %s]: a board instance name is 1-32 characters of "
			   "[A-Za-z0-9_.-]%s", name, "");
	for (int i = 0; i < p->c->n_boards; i++)
		if (!strcmp(p->c->boards[i].name, name))
			return bad(p, "[board %s] declared twice%s", name, "");
	if (p->c->n_boards == TBD_MAX_BOARDS)
		return bad(p, "more than %s boards%s", "64", "");
	b = &p->c->boards[p->c->n_boards++];
	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->retries = -1;
	b->quarantine_after = 3;
	b->port_wait_ms = 10000;
	p->b = b;
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;

	if (p->failed)
		return 0;
	if (strcmp(section, p->section)) {
		snprintf(p->section, sizeof(p->section), "%s", section);
		p->b = NULL;
		if (!strncmp(section, "board ", 6) && !new_board(p, section + 6))
			return 0;
	}
	if (!name)
		return 1;
	if (!strcmp(section, "daemon"))
		return daemon_key(p, name, value);
	if (p->b)
		return board_key(p, name, value);
	return bad(p, "unknown section [%s]%s (expected [daemon] or [board NAME])", section, "");
}

int tbd_config_load(const char *path, struct tbd_config *c, struct tb_error *err)
{
	struct parse p = { .c = c, .err = err };
	int rc, line;

	rc = tbd_config_defaults(c, err);
	if (rc < 0)
		return rc;
	snprintf(c->path, sizeof(c->path), "%s", path);
	if (access(path, R_OK) < 0)
		return tb_error_set(err, errno == ENOENT ? TB_ERR_NOTFOUND : TB_ERR_IO,
				    "config '%s': %s", path, strerror(errno));
	line = ini_parse(path, handler, &p);
	if (p.failed) {
		if (line > 0)
			tb_error_prefix(err, "line %d: ", line);
		return TB_ERR_FORMAT;
	}
	if (line < 0)
		return tb_error_set(err, TB_ERR_IO, "config '%s': cannot read it", path);
	if (line > 0)
		return tb_error_set(err, TB_ERR_FORMAT, "%s:%d: syntax error", path, line);
	for (int i = 0; i < c->n_boards; i++) {
		struct tbd_board_config *b = &c->boards[i];

		if (!b->board[0])
			return tb_error_set(err, TB_ERR_FORMAT,
					    "%s: [board %s] needs board = (the board file's name)",
					    path, b->name);
		if (b->port[0] && b->has_usb)
			return tb_error_set(err, TB_ERR_FORMAT,
					    "%s: [board %s]: give port or usb, not both", path, b->name);
		if (b->serial[0] && !b->has_usb)
			return tb_error_set(err, TB_ERR_FORMAT,
					    "%s: [board %s]: serial needs usb = VID:PID", path, b->name);
	}
	if (!c->n_boards)
		return tb_error_set(err, TB_ERR_FORMAT,
				    "%s: no [board NAME] section: the daemon would have nothing to run on",
				    path);
	if (c->listen[0] && !c->token_file[0])
		return tb_error_set(err, TB_ERR_FORMAT,
				    "%s: listen needs token_file (TCP clients must present a token)",
				    path);
	return TB_OK;
}
