/*
 * spawn_priv.c - the child process and line transport shared by the sim
 * and QEMU spawners.  See spawn_priv.h.
 */
#include "spawn_priv.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "transport_priv.h"

/* ---- the child process ----------------------------------------------- */

void tb_child_init(struct tb_child *c, int poll_ms)
{
	c->pid = -1;
	c->reaped = false;
	c->wstatus = 0;
	c->poll_ms = poll_ms;
}

/* In the child, before exec: only async-signal-safe calls. */
static void child_setup(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int sig;

	setpgid(0, 0);
	/* Die with the harness: a killed tinybench must not leave its
	 * emulator or runner behind.  (The check after it covers a parent
	 * that died before the prctl.) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(127);
	/* Handlers reset on exec anyway; ignored signals and the mask do
	 * not, and a child should start with neither. */
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

pid_t tb_child_fork(struct tb_child *c)
{
	c->pid = fork();
	if (c->pid == 0) {
		child_setup();
		return 0;
	}
	if (c->pid > 0)
		setpgid(c->pid, c->pid);
	return c->pid;
}

bool tb_child_reap(struct tb_child *c, int timeout_ms)
{
	int64_t deadline = tb_transport_deadline(timeout_ms);
	pid_t r;

	while (!c->reaped && c->pid > 0) {
		r = waitpid(c->pid, &c->wstatus, timeout_ms < 0 ? 0 : WNOHANG);
		if (r == c->pid || (r < 0 && errno == ECHILD)) {
			c->reaped = true;
			break;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || tb_transport_remaining(deadline) == 0)
			break;
		tb_transport_sleep_ms(c->poll_ms);
	}
	return c->reaped;
}

static void signal_group(const struct tb_child *c, int sig)
{
	if (kill(-c->pid, sig) && errno == ESRCH)
		kill(c->pid, sig);
}

void tb_child_stop(struct tb_child *c, int grace_ms)
{
	if (c->pid <= 0 || tb_child_reap(c, 0))
		return;
	signal_group(c, SIGTERM);
	if (tb_child_reap(c, grace_ms))
		return;
	signal_group(c, SIGKILL);
	tb_child_reap(c, -1);
}

void tb_child_describe(const struct tb_child *c, const char *what,
		       bool core_dumped_note, const char *tail, char *buf,
		       size_t len)
{
	const char *sep = tail && tail[0] ? ": " : "";
	int st = c->wstatus;

	if (!tail)
		tail = "";
	if (!c->reaped)
		snprintf(buf, len, "%s running (pid %d)", what, (int)c->pid);
	else if (WIFEXITED(st))
		snprintf(buf, len, "%s exited with status %d%s%s", what,
			 WEXITSTATUS(st), sep, tail);
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "%s killed by signal %d (%s)%s%s%s", what,
			 WTERMSIG(st), strsignal(WTERMSIG(st)),
			 core_dumped_note && WCOREDUMP(st) ? ", core dumped" : "",
			 sep, tail);
	else
		snprintf(buf, len, "%s gone (wait status 0x%x)", what,
			 (unsigned)st);
}

/* ---- the transport on the child's line ------------------------------- */

static struct tb_spawned *to_spawned(struct tb_transport *t)
{
	return (struct tb_spawned *)t;
}

static int closed_already(struct tb_spawned *s, struct tb_error *err)
{
	return tb_error_set(err, TB_ERR_CLOSED, "%s: transport was closed",
			    s->base.name);
}

int tb_spawned_read(struct tb_transport *t, uint8_t *buf, size_t cap,
		    int timeout_ms, struct tb_error *err)
{
	struct tb_spawned *s = to_spawned(t);
	int rc;

	if (!s->line)
		return closed_already(s, err);
	rc = s->line->ops->read(s->line, buf, cap, timeout_ms, err);
	return rc == TB_ERR_CLOSED ? s->gone(s, err) : rc;
}

int tb_spawned_write(struct tb_transport *t, const uint8_t *buf, size_t len,
		     int timeout_ms, struct tb_error *err)
{
	struct tb_spawned *s = to_spawned(t);
	int rc;

	if (!s->line)
		return closed_already(s, err);
	rc = s->line->ops->write(s->line, buf, len, timeout_ms, err);
	return rc == TB_ERR_CLOSED ? s->gone(s, err) : rc;
}

int tb_spawned_set_baud(struct tb_transport *t, uint32_t baud,
			struct tb_error *err)
{
	struct tb_spawned *s = to_spawned(t);

	if (!s->line)
		return closed_already(s, err);
	return s->line->ops->set_baud(s->line, baud, err);
}

int tb_spawned_discard_input(struct tb_transport *t, struct tb_error *err)
{
	struct tb_spawned *s = to_spawned(t);
	int rc;

	if (!s->line)
		return closed_already(s, err);
	rc = s->line->ops->discard_input(s->line, err);
	return rc == TB_ERR_CLOSED ? s->gone(s, err) : rc;
}

void tb_spawned_close(struct tb_transport *t)
{
	struct tb_spawned *s = to_spawned(t);

	tb_transport_close(s->line);
	s->line = NULL;
}
