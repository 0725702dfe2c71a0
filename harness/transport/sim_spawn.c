/*
 * sim_spawn.c - start a native runner on a pty, watch it, stop it.
 *
 * The design (hang-up race, stdin hand-off, exec errors) is described in
 * tb_sim_spawn.h.  Between fork() and exec() the child only makes
 * async-signal-safe calls, so spawning from a threaded host is safe.
 */
#include "tb_sim_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tb_config.h"
#include "spawn_priv.h"
#include "transport_priv.h"

#define REAP_AFTER_HUP_MS 200   /* an exiting runner hangs up, then dies */
#define REAP_POLL_MS 2

struct tb_sim {
	struct tb_spawned s;         /* transport on the pty master; first */
	char *runner;
	char port[64];               /* slave path */
	char status[160];
};

/* ---- the child ------------------------------------------------------- */

/*
 * In the child (set up by tb_child_fork()): the slave on stdin, stdout to
 * stderr, every other fd close-on-exec, exec.  On failure, send errno up
 * the close-on-exec pipe.
 */
static void __attribute__((noreturn)) child_exec(int slave, int errfd,
						 char *const *argv)
{
	int e;

	/* Move both fds above 2 first, in case the host had 0-2 closed. */
	slave = fcntl(slave, F_DUPFD_CLOEXEC, 3);
	errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 3);
	if (slave < 0 || dup2(slave, 0) < 0)
		goto fail;
	dup2(2, 1);
	close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
	execv(argv[0], argv);
fail:
	e = errno;
	if (errfd >= 0)
		(void)!write(errfd, &e, sizeof(e));
	_exit(127);
}

/* ---- status ---------------------------------------------------------- */

static const char *describe(struct tb_sim *sim)
{
	tb_child_describe(&sim->s.child, "runner", true, NULL, sim->status,
			  sizeof(sim->status));
	return sim->status;
}

int tb_sim_status(struct tb_sim *sim, bool *exited, const char **status_text)
{
	if (!sim)
		return TB_ERR_ARG;
	tb_child_reap(&sim->s.child, 0);
	if (exited)
		*exited = sim->s.child.reaped;
	if (status_text)
		*status_text = describe(sim);
	return 0;
}

/* The pty hung up: say why, with the exit status once it is known. */
static int runner_gone(struct tb_spawned *s, struct tb_error *err)
{
	struct tb_sim *sim = (struct tb_sim *)s;

	tb_child_reap(&s->child, REAP_AFTER_HUP_MS);
	if (!s->child.reaped)
		return tb_error_set(err, TB_ERR_CLOSED,
				    "%s: the runner closed its port but is still running (pid %d)",
				    s->base.name, (int)s->child.pid);
	return tb_error_set(err, TB_ERR_CLOSED, "%s: %s", s->base.name,
			    describe(sim));
}

/* ---- the sim transport: the pty master, with runner-aware errors ----- */

static const struct tb_transport_ops sim_ops = {
	.version = TB_TRANSPORT_OPS_VERSION,
	.name = "sim",
	.read = tb_spawned_read,
	.write = tb_spawned_write,
	.set_baud = tb_spawned_set_baud,
	.pulse_reset = NULL,         /* reset = process: respawn instead */
	.discard_input = tb_spawned_discard_input,
	.close = tb_spawned_close,   /* hang up; freed by tb_sim_free() */
};

/* ---- spawning -------------------------------------------------------- */

/* Master wrapped in a raw fd transport, and the slave opened. */
static int open_pty(struct tb_sim *sim, int *slave, struct tb_error *err)
{
	char name[TB_TRANSPORT_NAME_MAX];
	int master, rc;

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return tb_error_set(err, TB_ERR_IO, "posix_openpt: %s",
				    strerror(errno));
	if (grantpt(master) || unlockpt(master) ||
	    ptsname_r(master, sim->port, sizeof(sim->port))) {
		rc = tb_error_set(err, TB_ERR_IO, "cannot set up a pty: %s",
				  strerror(errno));
		close(master);
		return rc;
	}
	snprintf(name, sizeof(name), "sim pty %s", sim->port);
	/* Raw on the master sets the slave's termios: no echo, no cooking,
	 * from before the runner exists. */
	rc = tb_transport_fd_new(master, true, name, &sim->s.line, err);
	if (rc) {
		close(master);
		return rc;
	}
	*slave = open(sim->port, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		return tb_error_set(err, TB_ERR_IO, "cannot open %s: %s",
				    sim->port, strerror(errno));
	return 0;
}

/* runner --port <slave> [extra...] NULL; the strings are borrowed. */
static char **build_argv(struct tb_sim *sim, const char *const *extra)
{
	size_t n = 0, i;
	char **argv;

	while (extra && extra[n])
		n++;
	argv = calloc(n + 4, sizeof(*argv));
	if (!argv)
		return NULL;
	argv[0] = sim->runner;
	argv[1] = (char *)"--port";
	argv[2] = sim->port;
	for (i = 0; i < n; i++)
		argv[3 + i] = (char *)extra[i];
	return argv;
}

static int exec_error(struct tb_sim *sim, int e, struct tb_error *err)
{
	int code = TB_ERR_IO;

	if (e == ENOENT || e == ENOTDIR)
		code = TB_ERR_NOTFOUND;
	else if (e == EACCES || e == ENOEXEC || e == EISDIR || e == EPERM)
		code = TB_ERR_ARG;
	return tb_error_set(err, code, "cannot run runner %s: %s", sim->runner,
			    strerror(e));
}

/* Fork and exec; on return the child has exec'd or been reaped. */
static int start_runner(struct tb_sim *sim, int slave, char **argv,
			struct tb_error *err)
{
	int pipefd[2], e = 0;
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC))
		return tb_error_set(err, TB_ERR_IO, "pipe2: %s", strerror(errno));
	if (tb_child_fork(&sim->s.child) == 0)
		child_exec(slave, pipefd[1], argv);
	close(pipefd[1]);
	if (sim->s.child.pid < 0) {
		close(pipefd[0]);
		return tb_error_set(err, TB_ERR_IO, "fork: %s", strerror(errno));
	}
	do
		n = read(pipefd[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n != (ssize_t)sizeof(e))
		return 0;            /* EOF: exec closed the pipe */
	tb_child_reap(&sim->s.child, -1);
	return exec_error(sim, e, err);
}

int tb_sim_spawn(const char *runner_path, const char *const *extra_args,
		 struct tb_sim **out, struct tb_error *err)
{
	struct tb_sim *sim;
	char **argv = NULL;
	int slave = -1, rc;

	if (!out || !runner_path || !*runner_path)
		return tb_error_set(err, TB_ERR_ARG, "tb_sim_spawn: no runner");
	*out = NULL;
	sim = calloc(1, sizeof(*sim));
	if (!sim)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	tb_child_init(&sim->s.child, REAP_POLL_MS);
	sim->s.gone = runner_gone;
	sim->runner = strdup(runner_path);
	if (!sim->runner) {
		rc = tb_error_set(err, TB_ERR_NOMEM, "out of memory");
		goto out_free;
	}
	rc = open_pty(sim, &slave, err);
	if (rc)
		goto out_free;
	tb_transport_init(&sim->s.base, &sim_ops, sim->s.line->name);
	argv = build_argv(sim, extra_args);
	if (!argv) {
		rc = tb_error_set(err, TB_ERR_NOMEM, "out of memory");
		goto out_free;
	}
	rc = start_runner(sim, slave, argv, err);
	if (rc)
		goto out_free;
	close(slave);
	free(argv);
	*out = sim;
	return 0;
out_free:
	if (slave >= 0)
		close(slave);
	free(argv);
	tb_sim_free(sim);
	return rc;
}

struct tb_transport *tb_sim_transport(struct tb_sim *sim)
{
	return sim ? &sim->s.base : NULL;
}

pid_t tb_sim_pid(const struct tb_sim *sim)
{
	return sim ? sim->s.child.pid : -1;
}

const char *tb_sim_port(const struct tb_sim *sim)
{
	return sim ? sim->port : "";
}

/* ---- stopping -------------------------------------------------------- */

void tb_sim_free(struct tb_sim *sim)
{
	if (!sim)
		return;
	/* Hang up first: a runner that handles EIO exits by itself. */
	tb_spawned_close(&sim->s.base);
	tb_child_stop(&sim->s.child, TB_SIM_KILL_GRACE_MS);
	free(sim->runner);
	free(sim);
}

/* ---- finding the runner ---------------------------------------------- */

static bool is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

static int copy_path(const char *path, char *out, size_t len,
		     struct tb_error *err)
{
	if ((size_t)snprintf(out, len, "%s", path) >= len)
		return tb_error_set(err, TB_ERR_ARG, "runner path %s is too long",
				    path);
	return 0;
}

/* The folder of the running executable, or "" if unknown. */
static void exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n <= 0) {
		buf[0] = '\0';
		return;
	}
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	else
		buf[0] = '\0';
}

int tb_runner_locate(const char *name, char *out, size_t len,
		     struct tb_error *err)
{
	char exe[PATH_MAX], path[PATH_MAX], looked[TB_ERROR_MSG_MAX];
	const char *env = getenv("TINYBENCH_RUNNER_DIR");
	const char *dirs[4];
	size_t off = 0, i;

	if (!name || !*name || !out || !len)
		return tb_error_set(err, TB_ERR_ARG, "tb_runner_locate: no name");
	if (strchr(name, '/')) {
		if (is_executable(name))
			return copy_path(name, out, len, err);
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "runner %s is not an executable file", name);
	}
	exe_dir(exe, sizeof(exe));
	dirs[0] = env && *env ? env : NULL;
	dirs[1] = exe[0] ? exe : NULL;
	dirs[2] = TB_BUILD_DIR "/device_runner/ports/native";
	dirs[3] = TB_LIBEXECDIR;
	looked[0] = '\0';
	for (i = 0; i < 4; i++) {
		if (!dirs[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (is_executable(path))
			return copy_path(path, out, len, err);
		if (off < sizeof(looked))
			off += (size_t)snprintf(looked + off, sizeof(looked) - off,
						"%s%s", off ? ", " : "", dirs[i]);
	}
	return tb_error_set(err, TB_ERR_NOTFOUND,
			    "runner %s not found; looked in %s%s; build it (ninja -C build) or set TINYBENCH_RUNNER_DIR",
			    name, env && *env ? "" : "$TINYBENCH_RUNNER_DIR (unset), ",
			    looked);
}
