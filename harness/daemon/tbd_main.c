/*
 * tbd_main.c - tinybenchd's start and stop: options, configuration, the
 * board registry, the queue file (lock, recovery of jobs a killed daemon
 * left running, quarantines), signals, then the event loop.
 */
#include "tb_daemon.h"
#include "tbd.h"
#include "tb_build_id.h"
#include "tb_config.h"
#include "tb_session.h"
#include "tb_store.h"
#include "tb_power.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tinybenchd [--config FILE] [--check] [--log-level LEVEL]\n"
		"       tinybench daemon [same options]\n"
		"\n"
		"Run the tinybench host daemon: it owns the boards named in its\n"
		"configuration, keeps a job queue in SQLite and runs each board's jobs\n"
		"in turn; clients use `tinybench submit/jobs/status/cancel/logs`.\n"
		"\n"
		"  -c, --config FILE    configuration (default: $XDG_CONFIG_HOME/tinybench/\n"
		"                       tinybenchd.conf, then /etc/tinybench/tinybenchd.conf)\n"
		"      --check          read the configuration and the boards, then exit\n"
		"      --log-level L    error, warning, info (default) or debug\n"
		"  -h, --help           this help\n"
		"\n"
		"SIGTERM/SIGINT: finish the current trial of every board, keep the runs\n"
		"open and the jobs queued, exit (a second signal stops at once).  See\n"
		"docs/DAEMON.md.\n");
}

static int default_config(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");

	if (xdg && xdg[0] == '/')
		snprintf(buf, len, "%s/tinybench/tinybenchd.conf", xdg);
	else if (home && home[0])
		snprintf(buf, len, "%s/.config/tinybench/tinybenchd.conf", home);
	else
		buf[0] = '\0';
	if (buf[0] && access(buf, F_OK) == 0)
		return 0;
	snprintf(buf, len, "/etc/tinybench/tinybenchd.conf");
	return 0;
}

static int read_token(struct tbd *d, struct tb_error *err)
{
	const char *path = d->cfg.token_file;
	struct stat st;
	size_t n;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return tb_error_set(err, TB_ERR_NOTFOUND, "token_file '%s': %s", path,
				    strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		fclose(f);
		return tb_error_set(err, TB_ERR_ARG,
				    "token_file '%s' must be a regular file readable by its owner "
				    "only (chmod 600)", path);
	}
	n = fread(d->token, 1, sizeof(d->token) - 1, f);
	fclose(f);
	d->token[n] = '\0';
	while (n && (d->token[n - 1] == '\n' || d->token[n - 1] == '\r' ||
		     d->token[n - 1] == ' '))
		d->token[--n] = '\0';
	if (n < 16 || n > 256 || strchr(d->token, '\n'))
		return tb_error_set(err, TB_ERR_ARG,
				    "token_file '%s': the token must be one line of 16 to 256 "
				    "characters", path);
	return TB_OK;
}

/* monitor = none | default | DRIVER[:PORT] (docs/DAEMON.md, "Energy"). */
static int check_monitor(const struct tbd_board_config *b, const struct tb_board *board,
			 struct tb_error *err)
{
	char drv[32], names[64];
	const char *colon = strchr(b->monitor, ':');
	bool virtual_line = board->transport != TB_BOARD_TRANSPORT_SERIAL;

	if (!b->monitor[0] || !strcmp(b->monitor, "none"))
		return TB_OK;
	if (!strcmp(b->monitor, "default")) {
		if (board->energy_monitor == TB_BOARD_ENERGY_NONE)
			return tb_error_set(err, TB_ERR_ARG,
					    "[board %s]: monitor = default, but board '%s' names no energy_monitor",
					    b->name, board->name);
		return TB_OK;
	}
	snprintf(drv, sizeof(drv), "%.*s",
		 (int)(colon ? (size_t)(colon - b->monitor) : strlen(b->monitor)), b->monitor);
	if (!tb_power_driver_find(drv, names, sizeof(names)))
		return tb_error_set(err, TB_ERR_ARG,
				    "[board %s]: monitor = %s: unknown energy monitor '%s' (known: %s; or default, none)",
				    b->name, b->monitor, drv, names);
	if (colon && (!colon[1] || virtual_line))
		return tb_error_set(err, TB_ERR_ARG,
				    "[board %s]: monitor = %s: %s", b->name, b->monitor,
				    colon[1] ? "this board's timestamp line is virtual: only the emulated monitor sees it (no port)" :
				    "the port is empty");
	return TB_OK;
}

static int load_boards(struct tbd *d, struct tb_error *err)
{
	int rc = tb_board_registry_new(&d->registry, err);

	if (rc < 0)
		return rc;
	rc = tb_board_registry_load_default(d->registry, err);
	if (rc < 0)
		return rc;
	if (d->cfg.boards_dir[0]) {
		rc = tb_board_registry_load_dir(d->registry, d->cfg.boards_dir, err);
		if (rc < 0)
			return rc;
	}
	for (int i = 0; i < d->cfg.n_boards; i++) {
		struct tbd_worker *w = &d->workers[i];
		const struct tbd_board_config *b = &d->cfg.boards[i];

		w->d = d;
		w->cfg = b;
		rc = tb_board_registry_find(d->registry, b->board, &w->board, err);
		if (rc < 0)
			return tb_error_prefix(err, "[board %s]: ", b->name);
		rc = check_monitor(b, w->board, err);
		if (rc < 0)
			return rc;
		if (w->board->transport == TB_BOARD_TRANSPORT_SERIAL && !b->port[0] && !b->has_usb)
			return tb_error_set(err, TB_ERR_ARG,
					    "[board %s] is a serial board: give port = or usb = (+ serial =)",
					    b->name);
		for (int k = 0; k < i; k++)
			if ((b->port[0] && !strcmp(b->port, d->cfg.boards[k].port)) ||
			    (b->has_usb && d->cfg.boards[k].has_usb && b->vid == d->cfg.boards[k].vid &&
			     b->pid == d->cfg.boards[k].pid &&
			     !strcmp(b->serial, d->cfg.boards[k].serial)))
				return tb_error_set(err, TB_ERR_ARG,
						    "[board %s] and [board %s] name the same port",
						    b->name, d->cfg.boards[k].name);
	}
	d->n_workers = d->cfg.n_boards;
	return TB_OK;
}

static int on_quarantine(const char *instance, const char *reason, int64_t since, void *user)
{
	struct tbd *d = user;

	(void)since;
	for (int i = 0; i < d->n_workers; i++)
		if (!strcmp(d->workers[i].cfg->name, instance)) {
			d->workers[i].state = TBD_BOARD_QUARANTINED;
			snprintf(d->workers[i].reason, sizeof(d->workers[i].reason), "%s", reason);
			tbd_log(TBD_LOG_WARNING, "board %s is quarantined: %s (release it with "
				"`tinybench release %s`)", instance, reason, instance);
		}
	return 0;
}

/* One daemon per queue file: an exclusive lock on "<queue>.lock". */
static int lock_queue(struct tbd *d, int *fd, struct tb_error *err)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s.lock", d->cfg.queue);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return tb_error_set(err, TB_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
	if (flock(*fd, LOCK_EX | LOCK_NB) < 0)
		return tb_error_set(err, TB_ERR_BUSY,
				    "another tinybenchd uses the queue '%s'", d->cfg.queue);
	return TB_OK;
}

static int start(struct tbd *d, int *lock_fd, struct tb_error *err)
{
	struct tbd_queue *q = NULL;
	int requeued, failed, rc;

	rc = load_boards(d, err);
	if (rc < 0)
		return rc;
	if (d->cfg.listen[0]) {
		rc = read_token(d, err);
		if (rc < 0)
			return rc;
	}
	rc = tbd_queue_open(d->cfg.queue, &q, err);
	if (rc < 0)
		return rc;
	rc = lock_queue(d, lock_fd, err);
	if (rc == TB_OK)
		rc = tbd_queue_check(q, err);
	if (rc == TB_OK)
		rc = tbd_queue_recover(q, TBD_MAX_INTERRUPTIONS, &requeued, &failed, err);
	if (rc == TB_OK && (requeued || failed))
		tbd_log(TBD_LOG_WARNING,
			"%d job%s left running by a daemon that stopped: %d requeued, %d failed "
			"(interrupted more than %d times)", requeued + failed,
			requeued + failed == 1 ? "" : "s", requeued, failed, TBD_MAX_INTERRUPTIONS);
	if (rc == TB_OK)
		rc = tbd_queue_quarantined(q, on_quarantine, d, err);
	tbd_queue_close(q);
	if (rc == TB_OK) {
		/* Create and migrate the results file once, here, rather than
		 * from every worker at the same moment. */
		struct tb_store *s = NULL;

		rc = tb_store_open(d->cfg.results, &s, err);
		if (rc == TB_OK)
			tbd_log(TBD_LOG_INFO, "results in %s", tb_store_path(s));
		tb_store_close(s);
	}
	return rc < 0 ? rc : TB_OK;
}

int tb_daemon_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct tbd d;
	struct tb_error err = { 0 };
	const char *config = NULL, *level = NULL;
	char path[4096];
	int check = 0, c, rc, lock_fd = -1;
	sigset_t set;
	struct timespec ts;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'k': check = 1; break;
		case 'l': level = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tinybenchd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!config) {
		default_config(path, sizeof(path));
		config = path;
	}
	rc = tbd_config_load(config, &d.cfg, &err);
	if (rc == TB_OK && level) {
		static const char *const names[] = { "error", "warning", "info", "debug" };

		d.cfg.log_level = -1;
		for (int i = 0; i < 4; i++)
			if (!strcmp(level, names[i]))
				d.cfg.log_level = i;
		if (d.cfg.log_level < 0) {
			fprintf(stderr, "tinybenchd: --log-level '%s': error, warning, info or debug\n",
				level);
			return 2;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "tinybenchd: %s\n", err.msg);
		return tb_exit_code(rc);
	}
	tbd_log_init(d.cfg.log_level);
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cond, NULL);
	d.events_tail = &d.events;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	d.started_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (check) {
		rc = load_boards(&d, &err);
		if (rc == TB_OK && d.cfg.listen[0])
			rc = read_token(&d, &err);
		if (rc < 0) {
			fprintf(stderr, "tinybenchd: %s\n", err.msg);
			return tb_exit_code(rc);
		}
		printf("%s: ok, %d board%s\n", config, d.n_workers, d.n_workers == 1 ? "" : "s");
		return 0;
	}
	tbd_log(TBD_LOG_INFO, "tinybenchd %s (build %s) starting, config %s", TB_VERSION,
		TB_BUILD_ID, config);
	/* Signals go to the loop's signalfd; the workers (started later)
	 * inherit the mask and never see them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(d.wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		tbd_log(TBD_LOG_ERROR, "pipe: %s", strerror(errno));
		return 4;
	}
	rc = start(&d, &lock_fd, &err);
	if (rc == TB_OK)
		rc = tbd_server_run(&d, &err);
	if (rc < 0) {
		tbd_log(TBD_LOG_ERROR, "%s", err.msg);
		return tb_exit_code(rc);
	}
	tbd_log(TBD_LOG_INFO, "stopped");
	tb_board_registry_free(d.registry);
	if (lock_fd >= 0)
		close(lock_fd);
	return 0;
}
