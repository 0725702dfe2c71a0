/*
 * tb_client.c - connecting to tinybenchd and exchanging JSON lines.
 */
#include "tb_client.h"
#include "tbd.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_LINE_MAX (16u << 20)

struct tb_client {
	int fd;
	char token[257];
	char *buf;
	size_t len, cap;
	char addr[256];
};

void tb_client_default_addr(char *buf, size_t len)
{
	const char *env = getenv("TINYBENCH_DAEMON");
	const char *rt = getenv("XDG_RUNTIME_DIR");

	if (env && env[0]) {
		snprintf(buf, len, "%s", env);
		return;
	}
	if (rt && rt[0] == '/') {
		snprintf(buf, len, "%s/tinybench/tinybenchd.sock", rt);
		if (access(buf, F_OK) == 0)
			return;
	}
	snprintf(buf, len, "/run/tinybench/tinybenchd.sock");
}

static void load_token(struct tb_client *c, const char *token)
{
	const char *env = getenv("TINYBENCH_TOKEN"), *file = getenv("TINYBENCH_TOKEN_FILE");
	FILE *f;

	if (token) {
		snprintf(c->token, sizeof(c->token), "%s", token);
	} else if (env) {
		snprintf(c->token, sizeof(c->token), "%s", env);
	} else if (file && (f = fopen(file, "re")) != NULL) {
		if (!fgets(c->token, sizeof(c->token), f))
			c->token[0] = '\0';
		fclose(f);
		c->token[strcspn(c->token, "\r\n")] = '\0';
	}
}

static int open_tcp(const char *hostport, int *fd, struct tb_error *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char host[128], *port;
	int rc;

	snprintf(host, sizeof(host), "%s", hostport);
	port = strrchr(host, ':');
	if (!port)
		return tb_error_set(err, TB_ERR_ARG, "daemon address 'tcp:%s': need HOST:PORT", hostport);
	*port++ = '\0';
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc)
		return tb_error_set(err, TB_ERR_NOTFOUND, "daemon tcp:%s: %s", hostport, gai_strerror(rc));
	*fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0 || connect(*fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		rc = tb_error_set(err, TB_ERR_NOTFOUND, "no daemon at tcp:%s: %s", hostport,
				  strerror(errno));
		freeaddrinfo(ai);
		return rc;
	}
	freeaddrinfo(ai);
	return TB_OK;
}

int tb_client_open(const char *addr, const char *token, struct tb_client **out,
		   struct tb_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tb_client *c;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	c->fd = -1;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	if (!strncmp(addr, "tcp:", 4)) {
		load_token(c, token);
		rc = open_tcp(addr + 4, &c->fd, err);
		if (rc < 0)
			goto out_free;
	} else {
		if (strlen(addr) >= sizeof(sa.sun_path)) {
			rc = tb_error_set(err, TB_ERR_ARG, "socket path '%s' is too long", addr);
			goto out_free;
		}
		memcpy(sa.sun_path, addr, strlen(addr));
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			rc = tb_error_set(err, errno == EACCES ? TB_ERR_IO : TB_ERR_NOTFOUND,
					  "no daemon on '%s': %s", addr, strerror(errno));
			goto out_free;
		}
	}
	*out = c;
	return TB_OK;

out_free:
	tb_client_close(c);
	return rc;
}

void tb_client_close(struct tb_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

int tb_client_send(struct tb_client *c, json_t *req, struct tb_error *err)
{
	char *s;
	size_t n, off = 0;

	if (c->token[0])
		json_object_set_new(req, "token", json_string(c->token));
	s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!s)
		return tb_error_set(err, TB_ERR_NOMEM, "cannot encode the request");
	n = strlen(s);
	s[n++] = '\n'; /* json_dumps' NUL becomes the newline */
	while (off < n) {
		ssize_t w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			free(s);
			return tb_error_set(err, TB_ERR_CLOSED, "daemon on '%s': %s", c->addr,
					    strerror(errno));
		}
		off += (size_t)w;
	}
	free(s);
	return TB_OK;
}

int tb_client_recv(struct tb_client *c, json_t **msg, int timeout_ms,
		   struct tb_error *err)
{
	struct timespec t0, now;
	json_error_t jerr;
	char *nl;

	*msg = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!c->buf || !(nl = memchr(c->buf, '\n', c->len))) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int left = -1;
		ssize_t n;

		if (timeout_ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left = timeout_ms - (int)((now.tv_sec - t0.tv_sec) * 1000 +
						  (now.tv_nsec - t0.tv_nsec) / 1000000);
			if (left <= 0)
				return tb_error_set(err, TB_ERR_TIMEOUT, "no reply from the daemon");
		}
		if (poll(&p, 1, left) < 0) {
			if (errno == EINTR)
				return tb_error_set(err, TB_ERR_TIMEOUT, "interrupted");
			return tb_error_set(err, TB_ERR_IO, "poll: %s", strerror(errno));
		}
		if (!p.revents)
			continue;
		if (c->cap - c->len < 65536) {
			size_t cap = c->cap ? c->cap * 2 : 131072;
			char *b;

			if (cap > CLIENT_LINE_MAX)
				return tb_error_set(err, TB_ERR_PROTO, "daemon sent a line over %u bytes",
						    CLIENT_LINE_MAX);
			b = realloc(c->buf, cap);
			if (!b)
				return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
			c->buf = b;
			c->cap = cap;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return tb_error_set(err, TB_ERR_CLOSED, "the daemon closed the connection");
		c->len += (size_t)n;
	}
	*msg = json_loadb(c->buf, (size_t)(nl - c->buf), 0, &jerr);
	memmove(c->buf, nl + 1, c->len - (size_t)(nl + 1 - c->buf));
	c->len -= (size_t)(nl + 1 - c->buf);
	if (!*msg || !json_is_object(*msg)) {
		json_decref(*msg);
		*msg = NULL;
		return tb_error_set(err, TB_ERR_PROTO, "daemon sent something that is not a JSON object");
	}
	return TB_OK;
}

int tb_client_call(struct tb_client *c, json_t *req, json_t **resp, struct tb_error *err)
{
	json_t *m, *e;
	const char *code, *msg;
	int rc;

	*resp = NULL;
	rc = tb_client_send(c, req, err);
	if (rc < 0)
		return rc;
	/* Events of a stream set up earlier on this connection come first. */
	do {
		rc = tb_client_recv(c, &m, 30000, err);
		if (rc < 0)
			return rc;
		if (!json_object_get(m, "event"))
			break;
		json_decref(m);
	} while (1);
	if (json_is_true(json_object_get(m, "ok"))) {
		*resp = m;
		return TB_OK;
	}
	e = json_object_get(m, "error");
	code = json_string_value(json_object_get(e, "code"));
	msg = json_string_value(json_object_get(e, "message"));
	code = code ? code : "?";
	rc = !strcmp(code, "not_found") ? TB_ERR_NOTFOUND :
	     !strcmp(code, "bad_request") || !strcmp(code, "too_large") ||
	     !strcmp(code, "unauthorized") ? TB_ERR_ARG :
	     !strcmp(code, "stopping") || !strcmp(code, "queue_full") ||
	     !strcmp(code, "busy") ? TB_ERR_BUSY : TB_ERR_IO;
	tb_error_set(err, rc, "daemon: %s (%s)", msg ? msg : "error", code);
	json_decref(m);
	return rc;
}
