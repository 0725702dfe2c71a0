/*
 * transport_fd.c - the fd driver: a tty, pty, pipe or socket descriptor.
 *
 * The descriptor is non-blocking and every wait is a poll() with the time
 * left until the caller's deadline, so a timeout is honoured whatever the
 * kind of fd.  A tty is put in raw mode: no echo, no line editing, no
 * '\n' -> "\r\n", no 4095-byte line limit, VMIN = 1, VTIME = 0.
 *
 * The peer going away shows up differently per kind of fd; all of them
 * become TB_ERR_CLOSED:
 *  - pty master: read() fails with EIO once no process has the slave open;
 *  - pipe/socket: read() returns 0, write() fails with EPIPE/ECONNRESET;
 *  - tty: read() returns 0 after a hang-up.
 */
#include "tb_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "transport_priv.h"

#define DISCARD_MAX (1u << 20)   /* bound on bytes dropped by discard */

struct fd_transport {
	struct tb_transport base;    /* first: we cast from it */
	int fd;
	bool owns_fd;
	bool is_tty;
	bool is_socket;
	bool restore;                /* put saved back on close */
	bool excl;                   /* we set TIOCEXCL */
	struct termios saved;
};

static const struct {
	uint32_t rate;
	speed_t code;
} bauds[] = {
	{ 1200, B1200 }, { 2400, B2400 }, { 4800, B4800 }, { 9600, B9600 },
	{ 19200, B19200 }, { 38400, B38400 }, { 57600, B57600 },
	{ 115200, B115200 }, { 230400, B230400 }, { 460800, B460800 },
	{ 500000, B500000 }, { 576000, B576000 }, { 921600, B921600 },
	{ 1000000, B1000000 }, { 1152000, B1152000 }, { 1500000, B1500000 },
	{ 2000000, B2000000 }, { 3000000, B3000000 }, { 4000000, B4000000 },
};

static struct fd_transport *to_fd(struct tb_transport *t)
{
	return (struct fd_transport *)t;
}

static int speed_code(uint32_t baud, speed_t *code)
{
	size_t i;

	for (i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++) {
		if (bauds[i].rate == baud) {
			*code = bauds[i].code;
			return 0;
		}
	}
	return -1;
}

static int bad_baud(const char *name, uint32_t baud, struct tb_error *err)
{
	return tb_error_set(err, TB_ERR_UNSUPPORTED,
			    "%s: %u baud is not a standard rate; use 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000, 2000000, ... (or the serial transport)",
			    name, (unsigned)baud);
}

/* Raw, 8N1, no flow control; baud 0 keeps the speed.  VMIN = 1 with
 * O_NONBLOCK makes an empty tty answer read() with EAGAIN; with VMIN = 0
 * Linux returns 0, which would look like a hang-up. */
static int tty_configure(struct fd_transport *ft, uint32_t baud,
			 struct tb_error *err)
{
	struct termios tio;
	speed_t code;

	if (tcgetattr(ft->fd, &tio))
		return tb_error_set(err, TB_ERR_IO, "%s: tcgetattr: %s",
				    ft->base.name, strerror(errno));
	ft->saved = tio;
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	tio.c_cflag &= ~(tcflag_t)(CSTOPB | CRTSCTS);
	tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (baud) {
		if (speed_code(baud, &code))
			return bad_baud(ft->base.name, baud, err);
		cfsetispeed(&tio, code);
		cfsetospeed(&tio, code);
	}
	if (tcsetattr(ft->fd, TCSANOW, &tio))
		return tb_error_set(err, TB_ERR_IO, "%s: tcsetattr: %s",
				    ft->base.name, strerror(errno));
	return 0;
}

static int closed(struct fd_transport *ft, struct tb_error *err)
{
	return tb_error_set(err, TB_ERR_CLOSED, "%s: the other end closed the connection",
			    ft->base.name);
}

/* Wait until fd is ready for events or the deadline passes: 1 ready,
 * 0 timeout, < 0 error. */
static int wait_fd(struct fd_transport *ft, short events, int64_t deadline,
		   struct tb_error *err)
{
	struct pollfd pfd = { .fd = ft->fd, .events = events };
	int rc;

	for (;;) {
		rc = poll(&pfd, 1, tb_transport_remaining(deadline));
		if (rc > 0)
			break;
		if (rc == 0)
			return 0;
		if (errno != EINTR)
			return tb_error_set(err, TB_ERR_IO, "%s: poll: %s",
					    ft->base.name, strerror(errno));
	}
	if (pfd.revents & POLLNVAL)
		return tb_error_set(err, TB_ERR_ARG, "%s: fd %d is not open",
				    ft->base.name, ft->fd);
	/* POLLHUP/POLLERR: the next read or write says what happened. */
	return 1;
}

static int fd_read(struct tb_transport *t, uint8_t *buf, size_t cap,
		   int timeout_ms, struct tb_error *err)
{
	struct fd_transport *ft = to_fd(t);
	int64_t deadline = tb_transport_deadline(timeout_ms);
	ssize_t n;
	int rc;

	for (;;) {
		n = read(ft->fd, buf, cap);
		if (n > 0)
			return (int)n;
		if (n == 0)
			return closed(ft, err);
		if (errno == EIO)
			return closed(ft, err);
		if (errno != EAGAIN && errno != EINTR)
			return tb_error_set(err, TB_ERR_IO, "%s: read: %s",
					    t->name, strerror(errno));
		if (errno == EAGAIN) {
			rc = wait_fd(ft, POLLIN, deadline, err);
			if (rc <= 0)
				return rc;
		}
	}
}

static ssize_t write_some(struct fd_transport *ft, const uint8_t *buf,
			  size_t len)
{
	/* send() with MSG_NOSIGNAL: a socket peer going away must not
	 * raise SIGPIPE in a library. */
	if (ft->is_socket)
		return send(ft->fd, buf, len, MSG_NOSIGNAL);
	return write(ft->fd, buf, len);
}

static int fd_write(struct tb_transport *t, const uint8_t *buf, size_t len,
		    int timeout_ms, struct tb_error *err)
{
	struct fd_transport *ft = to_fd(t);
	int64_t deadline = tb_transport_deadline(timeout_ms);
	size_t off = 0;
	ssize_t n;
	int rc;

	while (off < len) {
		n = write_some(ft, buf + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EIO || errno == EPIPE ||
			      errno == ECONNRESET))
			return closed(ft, err);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return tb_error_set(err, TB_ERR_IO, "%s: write: %s",
					    t->name, strerror(errno));
		rc = wait_fd(ft, POLLOUT, deadline, err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return tb_error_set(err, TB_ERR_TIMEOUT,
					    "%s: wrote %zu of %zu bytes in %d ms; the other end is not reading",
					    t->name, off, len, timeout_ms);
	}
	return 0;
}

static int fd_set_baud(struct tb_transport *t, uint32_t baud,
		       struct tb_error *err)
{
	struct fd_transport *ft = to_fd(t);
	struct termios tio;
	speed_t code;

	if (!ft->is_tty)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "%s: not a terminal, it has no baud rate", t->name);
	if (speed_code(baud, &code))
		return bad_baud(t->name, baud, err);
	if (tcgetattr(ft->fd, &tio) || cfsetispeed(&tio, code) ||
	    cfsetospeed(&tio, code) || tcsetattr(ft->fd, TCSANOW, &tio))
		return tb_error_set(err, TB_ERR_IO, "%s: cannot set %u baud: %s",
				    t->name, (unsigned)baud, strerror(errno));
	return 0;
}

static int modem_line(struct fd_transport *ft, unsigned long req, int bits,
		      struct tb_error *err)
{
	if (!ioctl(ft->fd, req, &bits))
		return 0;
	if (errno == ENOTTY || errno == EINVAL)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "%s: no modem control lines (a pty?): %s",
				    ft->base.name, strerror(errno));
	return tb_error_set(err, TB_ERR_IO, "%s: cannot set DTR/RTS: %s",
			    ft->base.name, strerror(errno));
}

static int fd_pulse_reset(struct tb_transport *t, enum tb_reset_line line,
			  int duration_ms, struct tb_error *err)
{
	struct fd_transport *ft = to_fd(t);
	int bits = line == TB_RESET_LINE_DTR ? TIOCM_DTR : TIOCM_RTS;
	int rc;

	if (!ft->is_tty)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "%s: not a terminal, it has no DTR/RTS", t->name);
	rc = modem_line(ft, TIOCMBIS, bits, err);
	if (rc)
		return rc;
	tb_transport_sleep_ms(duration_ms);
	return modem_line(ft, TIOCMBIC, bits, err);
}

/* Read and drop what is pending; bounded in case the peer never stops. */
static int fd_discard_input(struct tb_transport *t, struct tb_error *err)
{
	struct fd_transport *ft = to_fd(t);
	uint8_t buf[4096];
	size_t total = 0;
	ssize_t n;

	if (ft->is_tty)
		tcflush(ft->fd, TCIFLUSH);
	while (total < DISCARD_MAX) {
		n = read(ft->fd, buf, sizeof(buf));
		if (n > 0) {
			total += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		return n == 0 || errno == EIO ? closed(ft, err) :
			tb_error_set(err, TB_ERR_IO, "%s: read: %s", t->name,
				     strerror(errno));
	}
	return 0;
}

static void fd_close(struct tb_transport *t)
{
	struct fd_transport *ft = to_fd(t);

	if (ft->restore)
		tcsetattr(ft->fd, TCSANOW, &ft->saved);
	if (ft->excl)
		ioctl(ft->fd, TIOCNXCL);
	if (ft->owns_fd)
		close(ft->fd);
	free(ft);
}

static const struct tb_transport_ops fd_ops = {
	.version = TB_TRANSPORT_OPS_VERSION,
	.name = "fd",
	.read = fd_read,
	.write = fd_write,
	.set_baud = fd_set_baud,
	.pulse_reset = fd_pulse_reset,
	.discard_input = fd_discard_input,
	.close = fd_close,
};

/* The transport around fd, non-blocking, not yet configured. */
static int fd_wrap(int fd, bool owns_fd, const char *name,
		   struct fd_transport **out, struct tb_error *err)
{
	struct fd_transport *ft;
	struct stat st;
	int fl;

	if (fstat(fd, &st))
		return tb_error_set(err, TB_ERR_ARG, "%s: fd %d: %s",
				    name, fd, strerror(errno));
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return tb_error_set(err, TB_ERR_IO, "%s: fcntl: %s", name,
				    strerror(errno));
	ft = calloc(1, sizeof(*ft));
	if (!ft)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	tb_transport_init(&ft->base, &fd_ops, name);
	ft->fd = fd;
	ft->owns_fd = owns_fd;
	ft->is_socket = S_ISSOCK(st.st_mode);
	ft->is_tty = isatty(fd);
	*out = ft;
	return 0;
}

int tb_transport_fd_new(int fd, bool owns_fd, const char *name,
			struct tb_transport **out, struct tb_error *err)
{
	struct fd_transport *ft;
	char def[32];
	int rc;

	if (!out)
		return tb_error_set(err, TB_ERR_ARG, "tb_transport_fd_new: NULL out");
	*out = NULL;
	if (fd < 0)
		return tb_error_set(err, TB_ERR_ARG, "tb_transport_fd_new: fd %d", fd);
	if (!name) {
		snprintf(def, sizeof(def), "fd %d", fd);
		name = def;
	}
	rc = fd_wrap(fd, owns_fd, name, &ft, err);
	if (rc)
		return rc;
	if (ft->is_tty) {
		rc = tty_configure(ft, 0, err);
		if (rc) {
			ft->owns_fd = false;   /* on error the caller keeps fd */
			fd_close(&ft->base);
			return rc;
		}
	}
	*out = &ft->base;
	return 0;
}

static int open_error(const char *path, int e, struct tb_error *err)
{
	switch (e) {
	case ENOENT:
	case ENXIO:
	case ENODEV:
		return tb_error_set(err, TB_ERR_NOTFOUND, "port %s does not exist (%s)",
				    path, strerror(e));
	case EBUSY:
		return tb_error_set(err, TB_ERR_BUSY,
				    "port %s is busy: another program opened it for exclusive use",
				    path);
	case EACCES:
	case EPERM:
		return tb_error_set(err, TB_ERR_IO,
				    "cannot open port %s: %s (is your user in the dialout group?)",
				    path, strerror(e));
	default:
		return tb_error_set(err, TB_ERR_IO, "cannot open port %s: %s",
				    path, strerror(e));
	}
}

/*
 * Claim the port: flock() works between any two openers that use it (also
 * for root, which TIOCEXCL does not stop), TIOCEXCL keeps out programs that
 * do not use flock (for non-root users).
 */
static int claim_port(struct fd_transport *ft, const char *path,
		      struct tb_error *err)
{
	if (flock(ft->fd, LOCK_EX | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			return tb_error_set(err, TB_ERR_BUSY,
					    "port %s is busy: another program (or another tinybench) is using it",
					    path);
		return tb_error_set(err, TB_ERR_IO, "port %s: flock: %s", path,
				    strerror(errno));
	}
	if (!ioctl(ft->fd, TIOCEXCL))
		ft->excl = true;
	return 0;
}

int tb_transport_tty_open(const char *path, uint32_t baud,
			  struct tb_transport **out, struct tb_error *err)
{
	struct fd_transport *ft;
	char name[TB_TRANSPORT_NAME_MAX];
	speed_t code;
	int fd, rc;

	if (!out || !path)
		return tb_error_set(err, TB_ERR_ARG, "tb_transport_tty_open: NULL argument");
	*out = NULL;
	if (baud && speed_code(baud, &code))
		return bad_baud(path, baud, err);
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return open_error(path, errno, err);
	if (!isatty(fd)) {
		close(fd);
		return tb_error_set(err, TB_ERR_ARG, "%s is not a terminal device",
				    path);
	}
	snprintf(name, sizeof(name), "tty %s", path);
	rc = fd_wrap(fd, true, name, &ft, err);
	if (rc) {
		close(fd);
		return rc;
	}
	rc = claim_port(ft, path, err);
	if (!rc)
		rc = tty_configure(ft, baud, err);
	if (rc) {
		fd_close(&ft->base);
		return rc;
	}
	ft->restore = true;
	*out = &ft->base;
	return 0;
}
