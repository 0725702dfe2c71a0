/*
 * e2e_util.h - what the end-to-end tests share: a private folder for the
 * CLI's files, and running the real `tinybench` CLI ($TB_CLI) with its
 * output captured.  Failures are Criterion assertions.
 */
#ifndef E2E_UTIL_H
#define E2E_UTIL_H

#include <stddef.h>
#include <sys/types.h>

struct e2e_result {
	int status;      /* exit code, or 128 + signal */
	char out[65536];
	char err[16384];
	double seconds;  /* wall time of the command */
};

/*
 * mkdtemp(tmpl) into dir (len bytes), and point XDG_DATA_HOME and
 * XDG_CONFIG_HOME there, keeping the user's own database and config out
 * of the tests.
 */
void e2e_tmpdir_new(char *dir, size_t len, const char *tmpl);

/* rm -rf dir. */
void e2e_tmpdir_remove(const char *dir);

/* Run the CLI with args (NULL-terminated); stdout and stderr captured. */
void e2e_tb(struct e2e_result *res, const char *const *args);

/* Start the CLI with args, its stdout and stderr on pipes (*out_fd,
 * *err_fd, for the caller to read and close); returns the pid to reap. */
pid_t e2e_spawn_cli(const char *const *args, int *out_fd, int *err_fd);

/* Read fd to its end into buf (cap bytes, NUL-terminated, the rest dropped). */
void e2e_drain(int fd, char *buf, size_t cap);

/* Start program --pty (a runner or an emulator: it makes a pty and prints
 * its path on the first line); the path into pty (len bytes).  Returns the
 * pid, for the caller to kill and reap. */
pid_t e2e_spawn_pty(const char *program, char *pty, size_t len);

#define TB(res, ...) do { const char *a_[] = { __VA_ARGS__, NULL }; e2e_tb(res, a_); } while (0)

#endif
