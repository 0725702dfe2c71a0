/*
 * tb_pty.h - the serial line of the programs that play a device on a tty:
 * the native runner (board `sim`) and the instrument emulators.
 *
 * --port TTY opens an existing tty or pty slave; --pty makes a new pty,
 * whose slave path the program prints on stdout once it is ready.  Either
 * way the line is raw, reads block for at least one byte (VMIN 1,
 * VTIME 0), and settings apply at once (TCSANOW: nothing the host sent
 * already is dropped).
 *
 * Header-only (static inline), like tb_vline.h, so that the runner needs
 * no library.  The fd belongs to the caller.
 */
#ifndef TB_PTY_H
#define TB_PTY_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>

static inline int tb_pty_set_raw(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return -1;
	cfmakeraw(&t);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	return tcsetattr(fd, TCSANOW, &t);
}

/*
 * Open port, or a new pty if port is NULL (its slave's path into name,
 * len bytes, for the caller to print), and set it raw.  Returns the fd,
 * or -1 after printing why on stderr, prefixed with "prog: ".
 */
static inline int tb_pty_open(const char *prog, const char *port, char *name,
			      size_t len)
{
	int fd;

	if (!port) {
		fd = posix_openpt(O_RDWR | O_NOCTTY);
		if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0 ||
		    ptsname_r(fd, name, len) != 0) {
			fprintf(stderr, "%s: pty: %s\n", prog, strerror(errno));
			return -1;
		}
	} else {
		fd = open(port, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "%s: cannot open %s: %s\n", prog, port,
				strerror(errno));
			return -1;
		}
	}
	if (tb_pty_set_raw(fd) < 0) {
		fprintf(stderr, "%s: cannot set raw mode: %s\n", prog,
			strerror(errno));
		return -1;
	}
	return fd;
}

#endif
