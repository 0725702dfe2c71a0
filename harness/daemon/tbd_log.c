/*
 * tbd_log.c - the daemon's log: one line per event on stderr, with a level.
 *
 * Under systemd (JOURNAL_STREAM names our stderr) each line starts with the
 * syslog priority in angle brackets ("<3>"), which journald turns into the
 * entry's priority (sd-daemon(3)); elsewhere lines carry a UTC time and the
 * level as a word.  Lines above the configured level are not written.  One
 * write(2) per line, so lines of different threads do not interleave.
 *
 * tbd_notify() is sd_notify(3) for the two messages the unit needs, written
 * to $NOTIFY_SOCKET without linking libsystemd.
 */
#include "tbd.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int log_level = TBD_LOG_INFO;
static int journal;

void tbd_log_init(int level)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	log_level = level;
	journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
		  fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

void tbd_log(int level, const char *fmt, ...)
{
	static const int prio[] = { 3, 4, 6, 7 };
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[2048];
	size_t n = 0;
	va_list ap;
	ssize_t w;

	if (level > log_level || level < 0 || level > TBD_LOG_DEBUG)
		return;
	if (journal) {
		n = (size_t)snprintf(line, sizeof(line), "<%d>", prio[level]);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ tinybenchd[%ld] %s: ",
				      ts.tv_nsec / 1000000, (long)getpid(), names[level]);
	}
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	n = strlen(line);
	line[n++] = '\n';
	w = write(STDERR_FILENO, line, n);
	(void)w;
}

void tbd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}
