/*
 * e2e_util.c - the end-to-end tests' CLI runner (e2e_util.h).
 */
#include "e2e_util.h"

#include <criterion/criterion.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

void e2e_tmpdir_new(char *dir, size_t len, const char *tmpl)
{
	snprintf(dir, len, "%s", tmpl);
	cr_assert_not_null(mkdtemp(dir));
	setenv("XDG_DATA_HOME", dir, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
}

void e2e_tmpdir_remove(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

void e2e_drain(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while ((r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
}

pid_t e2e_spawn_cli(const char *const *args, int *out_fd, int *err_fd)
{
	const char *cli = getenv("TB_CLI");
	char *argv[80];
	int out[2], err[2], n = 0;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	cr_assert_not_null(cli, "TB_CLI not set (run through meson test)");
	argv[n++] = (char *)cli;
	for (int i = 0; args[i]; i++) {
		cr_assert_lt(n, 79, "too many CLI arguments");
		argv[n++] = (char *)args[i];
	}
	argv[n] = NULL;
	cr_assert_eq(pipe(out), 0);
	cr_assert_eq(pipe(err), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	posix_spawn_file_actions_addclose(&fa, err[0]);
	cr_assert_eq(posix_spawn(&pid, cli, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	*out_fd = out[0];
	*err_fd = err[0];
	return pid;
}

void e2e_tb(struct e2e_result *res, const char *const *args)
{
	struct timespec t0, t1;
	int o, e, st;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = e2e_spawn_cli(args, &o, &e);
	/* stderr stays small (under the pipe buffer): read stdout first. */
	e2e_drain(o, res->out, sizeof(res->out));
	e2e_drain(e, res->err, sizeof(res->err));
	close(o);
	close(e);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->seconds = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

pid_t e2e_spawn_pty(const char *program, char *pty, size_t len)
{
	char *argv[] = { (char *)program, "--pty", NULL };
	posix_spawn_file_actions_t fa;
	int out[2];
	pid_t pid;
	ssize_t n;

	cr_assert_eq(pipe(out), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	cr_assert_eq(posix_spawn(&pid, program, &fa, NULL, argv, environ), 0);
	close(out[1]);
	n = read(out[0], pty, len - 1);
	cr_assert_gt(n, 0);
	pty[n] = 0;
	pty[strcspn(pty, "\n")] = 0;
	close(out[0]);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}
