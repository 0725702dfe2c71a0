/*
 * qemu_spawn.c - start QEMU on a unix-socket serial line, watch it, stop
 * it.  See tb_qemu.h.
 */
#include "tb_qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "transport_priv.h"

#define REAP_POLL_MS 5
#define ARGV_MAX 96

struct tb_qemu {
	struct tb_transport base;    /* the transport handed out; first */
	struct tb_transport *sock;   /* fd transport on the socket, or NULL */
	pid_t pid;
	bool reaped;
	int wstatus;
	char dir[PATH_MAX];          /* private folder, "" when removed */
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char log_path[PATH_MAX];
	char command[2048];
	char status[512];
};

static struct tb_qemu *to_qemu(struct tb_transport *t)
{
	return (struct tb_qemu *)t;
}

/* ---- status ---------------------------------------------------------- */

static bool reap(struct tb_qemu *q, int timeout_ms)
{
	int64_t deadline = tb_transport_deadline(timeout_ms);
	pid_t r;

	while (!q->reaped && q->pid > 0) {
		r = waitpid(q->pid, &q->wstatus, timeout_ms < 0 ? 0 : WNOHANG);
		if (r == q->pid || (r < 0 && errno == ECHILD)) {
			q->reaped = true;
			break;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || tb_transport_remaining(deadline) == 0)
			break;
		tb_transport_sleep_ms(REAP_POLL_MS);
	}
	return q->reaped;
}

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
	int st = q->wstatus;

	log_tail(q, tail, sizeof(tail));
	if (!q->reaped)
		snprintf(q->status, sizeof(q->status), "QEMU running (pid %d)",
			 (int)q->pid);
	else if (WIFEXITED(st))
		snprintf(q->status, sizeof(q->status), "QEMU exited with status %d%s%s",
			 WEXITSTATUS(st), tail[0] ? ": " : "", tail);
	else if (WIFSIGNALED(st))
		snprintf(q->status, sizeof(q->status), "QEMU killed by signal %d (%s)%s%s",
			 WTERMSIG(st), strsignal(WTERMSIG(st)), tail[0] ? ": " : "", tail);
	else
		snprintf(q->status, sizeof(q->status), "QEMU gone (wait status 0x%x)",
			 (unsigned)st);
	return q->status;
}

int tb_qemu_status(struct tb_qemu *q, bool *exited, const char **status_text)
{
	if (!q)
		return TB_ERR_ARG;
	reap(q, 0);
	if (exited)
		*exited = q->reaped;
	if (status_text)
		*status_text = describe(q);
	return 0;
}

static int qemu_gone(struct tb_qemu *q, struct tb_error *err)
{
	reap(q, 200);
	if (!q->reaped)
		return tb_error_set(err, TB_ERR_CLOSED,
				    "%s: QEMU closed the serial socket but is still running (pid %d)",
				    q->base.name, (int)q->pid);
	return tb_error_set(err, TB_ERR_CLOSED, "%s: %s", q->base.name, describe(q));
}

/* ---- the transport: the socket, with QEMU-aware errors --------------- */

static int closed_already(struct tb_qemu *q, struct tb_error *err)
{
	return tb_error_set(err, TB_ERR_CLOSED, "%s: transport was closed",
			    q->base.name);
}

static int qemu_read(struct tb_transport *t, uint8_t *buf, size_t cap,
		     int timeout_ms, struct tb_error *err)
{
	struct tb_qemu *q = to_qemu(t);
	int rc;

	if (!q->sock)
		return closed_already(q, err);
	rc = q->sock->ops->read(q->sock, buf, cap, timeout_ms, err);
	return rc == TB_ERR_CLOSED ? qemu_gone(q, err) : rc;
}

static int qemu_write(struct tb_transport *t, const uint8_t *buf, size_t len,
		      int timeout_ms, struct tb_error *err)
{
	struct tb_qemu *q = to_qemu(t);
	int rc;

	if (!q->sock)
		return closed_already(q, err);
	rc = q->sock->ops->write(q->sock, buf, len, timeout_ms, err);
	return rc == TB_ERR_CLOSED ? qemu_gone(q, err) : rc;
}

static int qemu_discard_input(struct tb_transport *t, struct tb_error *err)
{
	struct tb_qemu *q = to_qemu(t);
	int rc;

	if (!q->sock)
		return closed_already(q, err);
	rc = q->sock->ops->discard_input(q->sock, err);
	return rc == TB_ERR_CLOSED ? qemu_gone(q, err) : rc;
}

static void qemu_close(struct tb_transport *t)
{
	struct tb_qemu *q = to_qemu(t);

	tb_transport_close(q->sock);
	q->sock = NULL;
}

static const struct tb_transport_ops qemu_ops = {
	.version = TB_TRANSPORT_OPS_VERSION,
	.name = "qemu",
	.read = qemu_read,
	.write = qemu_write,
	.set_baud = NULL,            /* QEMU does not pace its UARTs */
	.pulse_reset = NULL,         /* reset = process: restart QEMU */
	.discard_input = qemu_discard_input,
	.close = qemu_close,
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

static void __attribute__((noreturn)) child_exec(int logfd, char **argv)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int devnull;

	setpgid(0, 0);
	/* Die with the harness: a killed tinybench must not leave its
	 * emulator or runner behind.  (The check after it covers a parent
	 * that died before the prctl.) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(127);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
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

/* Connect to QEMU's socket; it appears once QEMU has parsed its options. */
static int connect_socket(struct tb_qemu *q, struct tb_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = tb_transport_deadline(TB_QEMU_CONNECT_MS);
	char name[TB_TRANSPORT_NAME_MAX];
	int fd, rc;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", q->sock_path);
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
					    q->sock_path, strerror(rc));
		if (reap(q, 0))
			return tb_error_set(err, TB_ERR_IO, "%s (command: %s)",
					    describe(q), q->command);
		if (tb_transport_remaining(deadline) == 0)
			return tb_error_set(err, TB_ERR_TIMEOUT,
					    "QEMU did not open its serial socket within %d ms (command: %s)",
					    TB_QEMU_CONNECT_MS, q->command);
		tb_transport_sleep_ms(10);
	}
	snprintf(name, sizeof(name), "qemu %s", q->sock_path);
	rc = tb_transport_fd_new(fd, true, name, &q->sock, err);
	if (rc)
		close(fd);
	return rc;
}

static int start(struct tb_qemu *q, const struct tb_qemu_config *cfg,
		 struct tb_error *err)
{
	char *argv[ARGV_MAX], chardev[PATH_MAX + 64], icount[32];
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
	q->pid = fork();
	if (q->pid == 0)
		child_exec(logfd, argv);
	close(logfd);
	if (q->pid < 0)
		return tb_error_set(err, TB_ERR_IO, "fork: %s", strerror(errno));
	setpgid(q->pid, q->pid);
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
	q->pid = -1;
	/* sun_path is short (108 bytes): keep the folder name short too. */
	snprintf(q->dir, sizeof(q->dir), "%s/tbq-XXXXXX",
		 tmp && *tmp && strlen(tmp) < 60 ? tmp : "/tmp");
	if (!mkdtemp(q->dir)) {
		rc = tb_error_set(err, TB_ERR_IO, "mkdtemp %s: %s", q->dir, strerror(errno));
		q->dir[0] = '\0';
		goto out_free;
	}
	snprintf(q->sock_path, sizeof(q->sock_path), "%s/uart.sock", q->dir);
	snprintf(q->log_path, sizeof(q->log_path), "%s/qemu.log", q->dir);
	tb_transport_init(&q->base, &qemu_ops, q->sock_path);
	rc = start(q, cfg, err);
	if (rc)
		goto out_free;
	rc = connect_socket(q, err);
	if (rc)
		goto out_free;
	snprintf(q->base.name, sizeof(q->base.name), "qemu %s (pid %d)", cfg->machine,
		 (int)q->pid);
	*out = q;
	return 0;
out_free:
	tb_qemu_free(q);
	return rc;
}

struct tb_transport *tb_qemu_transport(struct tb_qemu *q)
{
	return q ? &q->base : NULL;
}

pid_t tb_qemu_pid(const struct tb_qemu *q)
{
	return q ? q->pid : -1;
}

const char *tb_qemu_command(const struct tb_qemu *q)
{
	return q ? q->command : "";
}

/* ---- stopping -------------------------------------------------------- */

static void signal_group(struct tb_qemu *q, int sig)
{
	if (kill(-q->pid, sig) && errno == ESRCH)
		kill(q->pid, sig);
}

void tb_qemu_free(struct tb_qemu *q)
{
	if (!q)
		return;
	tb_transport_close(q->sock);
	q->sock = NULL;
	/* Never signal a reaped pid: it may belong to someone else now. */
	if (q->pid > 0 && !reap(q, 0)) {
		signal_group(q, SIGTERM);
		if (!reap(q, TB_QEMU_KILL_GRACE_MS)) {
			signal_group(q, SIGKILL);
			reap(q, -1);
		}
	}
	if (q->dir[0]) {
		unlink(q->sock_path);
		unlink(q->log_path);
		rmdir(q->dir);
	}
	free(q);
}
