/*
 * qemu_spawn.c - start QEMU on a unix-socket serial line, watch it, stop
 * it.  See tb_qemu.h.
 */
#include "tb_qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "spawn_priv.h"
#include "transport_priv.h"

#define REAP_POLL_MS 5
#define ARGV_MAX 96

struct tb_qemu {
	struct tb_spawned s;         /* transport on the socket; first */
	char dir[PATH_MAX];          /* private folder, "" when removed */
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char ts_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* or "" */
	struct tb_transport *ts;     /* the timestamp bridge's socket, or NULL */
	char log_path[PATH_MAX];
	char command[2048];
	char status[512];
};

/* ---- status ---------------------------------------------------------- */

/* The last non-empty line of QEMU's log, without the newline. */
static void log_tail(const struct tb_qemu *q, char *buf, size_t len)
{
	char line[512];
	FILE *f = fopen(q->log_path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] && !strstr(line, "waiting for connection") &&
		    !strstr(line, "terminating on signal"))
			snprintf(buf, len, "%s", line);
	}
	fclose(f);
}

static const char *describe(struct tb_qemu *q)
{
	char tail[300];

	log_tail(q, tail, sizeof(tail));
	tb_child_describe(&q->s.child, "QEMU", false, tail, q->status,
			  sizeof(q->status));
	return q->status;
}

int tb_qemu_status(struct tb_qemu *q, bool *exited, const char **status_text)
{
	if (!q)
		return TB_ERR_ARG;
	tb_child_reap(&q->s.child, 0);
	if (exited)
		*exited = q->s.child.reaped;
	if (status_text)
		*status_text = describe(q);
	return 0;
}

static int qemu_gone(struct tb_spawned *s, struct tb_error *err)
{
	struct tb_qemu *q = (struct tb_qemu *)s;

	tb_child_reap(&s->child, 200);
	if (!s->child.reaped)
		return tb_error_set(err, TB_ERR_CLOSED,
				    "%s: QEMU closed the serial socket but is still running (pid %d)",
				    s->base.name, (int)s->child.pid);
	return tb_error_set(err, TB_ERR_CLOSED, "%s: %s", s->base.name, describe(q));
}

/* ---- the transport: the socket, with QEMU-aware errors --------------- */

static const struct tb_transport_ops qemu_ops = {
	.version = TB_TRANSPORT_OPS_VERSION,
	.name = "qemu",
	.read = tb_spawned_read,
	.write = tb_spawned_write,
	.set_baud = NULL,            /* QEMU does not pace its UARTs */
	.pulse_reset = NULL,         /* reset = process: restart QEMU */
	.discard_input = tb_spawned_discard_input,
	.close = tb_spawned_close,   /* hang up; freed by tb_qemu_free() */
};

/* ---- spawning -------------------------------------------------------- */

static int push(char **argv, size_t *n, const char *s)
{
	if (*n + 1 >= ARGV_MAX)
		return -1;
	argv[(*n)++] = (char *)s;
	argv[*n] = NULL;
	return 0;
}

static void note_command(struct tb_qemu *q, char **argv)
{
	size_t off = 0;

	q->command[0] = '\0';
	for (size_t i = 0; argv[i] && off < sizeof(q->command); i++)
		off += (size_t)snprintf(q->command + off, sizeof(q->command) - off,
					"%s%s", i ? " " : "", argv[i]);
}

/* In the child (set up by tb_child_fork()): stdin from /dev/null, stdout
 * and stderr to the log, every other fd close-on-exec, exec. */
static void __attribute__((noreturn)) child_exec(int logfd, char **argv)
{
	int devnull;

	devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0)
		dup2(devnull, 0);
	dup2(logfd, 1);
	dup2(logfd, 2);
	close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
	execvp(argv[0], argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Connect to QEMU's socket at path; it appears once QEMU has parsed its
 * options (a second chardev: once the first one has its peer). */
static int connect_socket(struct tb_qemu *q, const char *path,
			  struct tb_transport **out, struct tb_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = tb_transport_deadline(TB_QEMU_CONNECT_MS);
	char name[TB_TRANSPORT_NAME_MAX];
	int fd, rc;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return tb_error_set(err, TB_ERR_IO, "socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		rc = errno;
		close(fd);
		if (rc != ENOENT && rc != ECONNREFUSED && rc != EAGAIN)
			return tb_error_set(err, TB_ERR_IO, "connecting to QEMU's %s: %s",
					    path, strerror(rc));
		if (tb_child_reap(&q->s.child, 0))
			return tb_error_set(err, TB_ERR_IO, "%s (command: %s)",
					    describe(q), q->command);
		if (tb_transport_remaining(deadline) == 0)
			return tb_error_set(err, TB_ERR_TIMEOUT,
					    "QEMU did not open its serial socket within %d ms (command: %s)",
					    TB_QEMU_CONNECT_MS, q->command);
		tb_transport_sleep_ms(10);
	}
	snprintf(name, sizeof(name), "qemu %s", path);
	rc = tb_transport_fd_new(fd, true, name, out, err);
	if (rc)
		close(fd);
	return rc;
}

static int start(struct tb_qemu *q, const struct tb_qemu_config *cfg,
		 struct tb_error *err)
{
	char *argv[ARGV_MAX], chardev[PATH_MAX + 64], icount[32];
	char ts_chardev[PATH_MAX + 64];
	size_t n = 0;
	int logfd, bad = 0;

	snprintf(chardev, sizeof(chardev),
		 "socket,id=tb0,path=%s,server=on,wait=on", q->sock_path);
	snprintf(icount, sizeof(icount), "shift=%d", cfg->icount_shift);
	argv[0] = NULL;
	bad |= push(argv, &n, cfg->program);
	bad |= push(argv, &n, "-M");
	bad |= push(argv, &n, cfg->machine);
	if (cfg->cpu) {
		bad |= push(argv, &n, "-cpu");
		bad |= push(argv, &n, cfg->cpu);
	}
	bad |= push(argv, &n, "-nodefaults");
	bad |= push(argv, &n, "-display");
	bad |= push(argv, &n, "none");
	bad |= push(argv, &n, "-monitor");
	bad |= push(argv, &n, "none");
	if (cfg->icount_shift >= 0) {
		bad |= push(argv, &n, "-icount");
		bad |= push(argv, &n, icount);
	}
	bad |= push(argv, &n, "-chardev");
	bad |= push(argv, &n, chardev);
	bad |= push(argv, &n, "-serial");
	bad |= push(argv, &n, "chardev:tb0");
	if (q->ts_path[0]) {
		/* The timestamp bridge: QEMU waits for this peer too. */
		snprintf(ts_chardev, sizeof(ts_chardev),
			 "socket,id=tbts,path=%s,server=on,wait=on", q->ts_path);
		bad |= push(argv, &n, "-chardev");
		bad |= push(argv, &n, ts_chardev);
		if (cfg->tsline == TB_QEMU_TSLINE_SERIAL1) {
			bad |= push(argv, &n, "-serial");
			bad |= push(argv, &n, "chardev:tbts");
		} else {
			bad |= push(argv, &n, "-device");
			bad |= push(argv, &n, "pci-serial,chardev=tbts,addr=1");
		}
	}
	bad |= push(argv, &n, "-kernel");
	bad |= push(argv, &n, cfg->firmware);
	for (size_t i = 0; cfg->extra && cfg->extra[i]; i++)
		bad |= push(argv, &n, cfg->extra[i]);
	if (bad)
		return tb_error_set(err, TB_ERR_ARG, "QEMU command line: more than %d arguments",
				    ARGV_MAX - 1);
	note_command(q, argv);
	logfd = open(q->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0)
		return tb_error_set(err, TB_ERR_IO, "%s: %s", q->log_path, strerror(errno));
	if (tb_child_fork(&q->s.child) == 0)
		child_exec(logfd, argv);
	close(logfd);
	if (q->s.child.pid < 0)
		return tb_error_set(err, TB_ERR_IO, "fork: %s", strerror(errno));
	return 0;
}

int tb_qemu_spawn(const struct tb_qemu_config *cfg, struct tb_qemu **out,
		  struct tb_error *err)
{
	const char *tmp = getenv("TMPDIR");
	struct tb_qemu *q;
	int rc;

	if (!out || !cfg || !cfg->program || !cfg->machine || !cfg->firmware)
		return tb_error_set(err, TB_ERR_ARG, "tb_qemu_spawn: incomplete configuration");
	*out = NULL;
	if (access(cfg->firmware, R_OK) < 0)
		return tb_error_set(err, TB_ERR_NOTFOUND, "firmware %s: %s", cfg->firmware,
				    strerror(errno));
	q = calloc(1, sizeof(*q));
	if (!q)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	tb_child_init(&q->s.child, REAP_POLL_MS);
	q->s.gone = qemu_gone;
	/* sun_path is short (108 bytes): keep the folder name short too. */
	snprintf(q->dir, sizeof(q->dir), "%s/tbq-XXXXXX",
		 tmp && *tmp && strlen(tmp) < 60 ? tmp : "/tmp");
	if (!mkdtemp(q->dir)) {
		rc = tb_error_set(err, TB_ERR_IO, "mkdtemp %s: %s", q->dir, strerror(errno));
		q->dir[0] = '\0';
		goto out_free;
	}
	snprintf(q->sock_path, sizeof(q->sock_path), "%s/uart.sock", q->dir);
	if (cfg->tsline != TB_QEMU_TSLINE_NONE)
		snprintf(q->ts_path, sizeof(q->ts_path), "%s/ts.sock", q->dir);
	snprintf(q->log_path, sizeof(q->log_path), "%s/qemu.log", q->dir);
	tb_transport_init(&q->s.base, &qemu_ops, q->sock_path);
	rc = start(q, cfg, err);
	if (rc)
		goto out_free;
	rc = connect_socket(q, q->sock_path, &q->s.line, err);
	if (rc == 0 && q->ts_path[0])
		rc = connect_socket(q, q->ts_path, &q->ts, err);
	if (rc)
		goto out_free;
	snprintf(q->s.base.name, sizeof(q->s.base.name), "qemu %s (pid %d)",
		 cfg->machine, (int)q->s.child.pid);
	*out = q;
	return 0;
out_free:
	tb_qemu_free(q);
	return rc;
}

struct tb_transport *tb_qemu_transport(struct tb_qemu *q)
{
	return q ? &q->s.base : NULL;
}

struct tb_transport *tb_qemu_tsline(struct tb_qemu *q)
{
	return q ? q->ts : NULL;
}

pid_t tb_qemu_pid(const struct tb_qemu *q)
{
	return q ? q->s.child.pid : -1;
}

const char *tb_qemu_command(const struct tb_qemu *q)
{
	return q ? q->command : "";
}

/* ---- stopping -------------------------------------------------------- */

void tb_qemu_free(struct tb_qemu *q)
{
	if (!q)
		return;
	tb_spawned_close(&q->s.base);
	tb_transport_close(q->ts);
	q->ts = NULL;
	tb_child_stop(&q->s.child, TB_QEMU_KILL_GRACE_MS);
	if (q->dir[0]) {
		unlink(q->sock_path);
		if (q->ts_path[0])
			unlink(q->ts_path);
		unlink(q->log_path);
		rmdir(q->dir);
	}
	free(q);
}
