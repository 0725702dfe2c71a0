/*
 * tb_test_runner.c - a stand-in device runner for the sim spawner tests.
 *
 *   tb_test_runner --port PATH --mode MODE [--delay-ms N]
 *
 * Modes:
 *   echo         open PATH raw (after --delay-ms), echo every byte back,
 *                exit 0 when the host hangs up
 *   exit3        exit with status 3 at once, never opening PATH
 *   kill-self    die of SIGTERM at once
 *   noport       never open PATH; sleep until killed
 *   ignore-term  ignore SIGTERM, open PATH, sleep until SIGKILL
 *   hello-exit   open PATH, write "hello", exit 0
 *   pgid         write our process group id and whether stdin is a tty
 *                ("pgid=N tty=1") to PATH, then echo
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int open_port(const char *path)
{
	struct termios tio;
	int fd = open(path, O_RDWR | O_NOCTTY);

	if (fd < 0) {
		perror(path);
		exit(10);
	}
	if (tcgetattr(fd, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(fd, TCSANOW, &tio);
	}
	return fd;
}

static void write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			exit(11);
		buf += n;
		len -= (size_t)n;
	}
}

static int echo(int fd)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;       /* EIO: the host hung up */
		write_all(fd, buf, (size_t)n);
	}
}

static void sleep_forever(void)
{
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	const char *port = NULL, *mode = "echo";
	char msg[64];
	int i, fd, delay = 0;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			port = argv[i + 1];
		else if (!strcmp(argv[i], "--mode"))
			mode = argv[i + 1];
		else if (!strcmp(argv[i], "--delay-ms"))
			delay = atoi(argv[i + 1]);
	}
	if (!port) {
		fprintf(stderr, "usage: %s --port PATH --mode MODE\n", argv[0]);
		return 2;
	}
	/* If a failed test never stops us, do not linger. */
	alarm(60);
	if (delay) {
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	if (!strcmp(mode, "exit3"))
		return 3;
	if (!strcmp(mode, "kill-self"))
		raise(SIGTERM);
	if (!strcmp(mode, "noport"))
		sleep_forever();
	if (!strcmp(mode, "ignore-term"))
		signal(SIGTERM, SIG_IGN);
	fd = open_port(port);
	if (!strcmp(mode, "ignore-term"))
		sleep_forever();
	if (!strcmp(mode, "hello-exit")) {
		write_all(fd, "hello", 5);
		return 0;
	}
	if (!strcmp(mode, "pgid")) {
		snprintf(msg, sizeof(msg), "pgid=%d tty=%d\n", (int)getpgrp(),
			 isatty(0));
		write_all(fd, msg, strlen(msg));
	}
	return echo(fd);
}
