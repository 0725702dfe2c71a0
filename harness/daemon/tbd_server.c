/*
 * tbd_server.c - the daemon's event loop: sockets, clients, requests.
 *
 * One thread, one poll() over: the signalfd, the wake pipe the workers
 * write to, the Unix socket, the optional TCP listener and every client.
 * Clients speak JSON lines (docs/DAEMON.md): each request line is read
 * whole (at most TBD_MAX_REQUEST bytes), validated by tbd_api.c, answered
 * with one line; "watch" (and submit/logs with follow) then streams event
 * lines for that job until it ends.  Replies are queued per client and
 * written as the socket takes them; a client that does not read loses its
 * connection rather than the daemon's memory.
 *
 * The loop owns every client and the listening sockets; the workers own
 * the boards.  They meet in struct tbd (tbd.h): the loop queues jobs in
 * the queue file and kicks the workers; the workers hand back events.
 */
#include "tbd.h"
#include "tbd_api.h"
#include "tb_config.h"
#include "tb_session.h"
#include "tb_workload.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define WATCH_ALL  1
#define WATCH_LOGS 2
#define IDLE_CLOSE_MS (600 * 1000)
#define MAX_AUTH_FAILURES 3

struct client {
	int fd;
	bool tcp;
	char peer[64];
	char *in;                 /* TBD_MAX_REQUEST bytes */
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	bool closing;             /* close once out is written */
	int64_t watch;            /* job whose events are streamed, 0 none */
	int watch_kind;
	int auth_failures;
	int64_t last_ms;
};

struct server {
	struct tbd *d;
	struct tbd_queue *q;
	int unix_fd, tcp_fd, sig_fd;
	struct client *clients;   /* max_clients slots; fd < 0 is free */
	int n_clients;
	int signals;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- output ---------------------------------------------------------- */

static void client_close(struct server *s, struct client *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	s->n_clients--;
}

static void put(struct client *c, const char *line, size_t len)
{
	if (c->fd < 0 || c->closing)
		return;
	if (c->out_len - c->out_off + len > TBD_CLIENT_OUT_MAX) {
		tbd_log(TBD_LOG_WARNING, "client %s does not read its replies: dropped", c->peer);
		c->closing = true;
		c->out_len = c->out_off = 0;
		shutdown(c->fd, SHUT_RDWR);
		return;
	}
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *n;

		if (c->out_off) {
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		while (cap < c->out_len + len)
			cap *= 2;
		n = realloc(c->out, cap);
		if (!n) {
			c->closing = true;
			return;
		}
		c->out = n;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, line, len);
	c->out_len += len;
}

static void reply(struct client *c, json_t *v)
{
	size_t n;
	char *line = tbd_json_line(v, &n);

	if (line)
		put(c, line, n);
	free(line);
}

static void reply_error(struct client *c, const char *code, const char *msg)
{
	reply(c, tbd_error_json(code, msg));
}

static void flush(struct server *s, struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			client_close(s, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	if (c->closing)
		client_close(s, c);
}

/* ---- requests -------------------------------------------------------- */

static struct tbd_worker *worker_named(struct tbd *d, const char *name)
{
	for (int i = 0; i < d->n_workers; i++)
		if (!strcmp(d->workers[i].cfg->name, name))
			return &d->workers[i];
	return NULL;
}

/* A job may name a board instance or a board (any instance of it). */
static bool board_known(struct tbd *d, const char *name)
{
	for (int i = 0; i < d->n_workers; i++)
		if (!strcmp(d->workers[i].cfg->name, name) ||
		    !strcmp(d->workers[i].cfg->board, name))
			return true;
	return false;
}

/* An instance of name (instance or board name) with an energy monitor.
 * (A job for a board name may still go to an instance without one: it
 * fails there with the reason.) */
static bool board_has_monitor(struct tbd *d, const char *name)
{
	for (int i = 0; i < d->n_workers; i++)
		if ((!strcmp(d->workers[i].cfg->name, name) ||
		     !strcmp(d->workers[i].cfg->board, name)) &&
		    tbd_monitor_spec(&d->workers[i]))
			return true;
	return false;
}

static void board_names(struct tbd *d, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < d->n_workers && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s (%s)", i ? ", " : "",
				      d->workers[i].cfg->name, d->workers[i].cfg->board);
}

static void send_job(struct server *s, struct client *c, int64_t id, bool follow,
		     int kind)
{
	struct tb_error err = { 0 };
	struct tbd_job job;
	bool final;

	if (tbd_queue_get(s->q, id, &job, &err) < 0) {
		reply_error(c, err.code == TB_ERR_NOTFOUND ? TBD_E_NOT_FOUND : TBD_E_INTERNAL,
			    err.msg);
		return;
	}
	final = job.state == TBD_JOB_DONE || job.state == TBD_JOB_FAILED ||
		job.state == TBD_JOB_CANCELLED;
	reply(c, json_pack("{s:b, s:o}", "ok", 1, "job", tbd_job_json(&job)));
	if (follow && !final) {
		c->watch = id;
		c->watch_kind = kind;
	}
	tbd_job_clear(&job);
}

static void op_submit(struct server *s, struct client *c, struct tbd_request *rq)
{
	struct tbd *d = s->d;
	const struct tb_workload *wl;
	struct tb_error err = { 0 };
	int64_t counts[TBD_JOB_NSTATES], id;
	char msg[600], names[512], submitter[64];
	char *params;
	bool stopping;

	pthread_mutex_lock(&d->mu);
	stopping = d->stopping;
	pthread_mutex_unlock(&d->mu);
	if (stopping) {
		reply_error(c, TBD_E_STOPPING, "the daemon is stopping; submit again when it is back");
		return;
	}
	if (!board_known(d, rq->board)) {
		board_names(d, names, sizeof(names));
		snprintf(msg, sizeof(msg), "this daemon has no board '%s'; it has: %s", rq->board,
			 names);
		reply_error(c, TBD_E_NOT_FOUND, msg);
		return;
	}
	wl = tb_session_find_workload(rq->workload, names, sizeof(names));
	if (!wl) {
		snprintf(msg, sizeof(msg), "unknown workload '%s'; known workloads: %s",
			 rq->workload, names);
		reply_error(c, TBD_E_NOT_FOUND, msg);
		return;
	}
	snprintf(rq->workload, sizeof(rq->workload), "%s", wl->name);
	if (rq->energy && !board_has_monitor(d, rq->board)) {
		snprintf(msg, sizeof(msg),
			 "board '%s' has no energy monitor here (monitor = in its [board] section of the daemon's config, or energy_monitor in its board file)",
			 rq->board);
		reply_error(c, TBD_E_BAD_REQUEST, msg);
		return;
	}
	if (rq->input && rq->input_len != wl->input_size) {
		snprintf(msg, sizeof(msg), "input of %zu bytes; workload %s takes exactly %lu bytes",
			 rq->input_len, wl->name, (unsigned long)wl->input_size);
		reply_error(c, TBD_E_BAD_REQUEST, msg);
		return;
	}
	if (tbd_queue_counts(s->q, counts, &err) < 0) {
		reply_error(c, TBD_E_INTERNAL, err.msg);
		return;
	}
	if (counts[TBD_JOB_QUEUED] + counts[TBD_JOB_RUNNING] >= d->cfg.max_queued) {
		snprintf(msg, sizeof(msg), "the queue holds %lld jobs, its limit (max_queued)",
			 (long long)(counts[TBD_JOB_QUEUED] + counts[TBD_JOB_RUNNING]));
		reply_error(c, TBD_E_FULL, msg);
		return;
	}
	params = tbd_request_params_json(rq);
	snprintf(submitter, sizeof(submitter), "%s", c->peer);
	if (!params || tbd_queue_submit(s->q, rq->board, rq->workload, params, rq->input,
					rq->input_len, submitter, &id, &err) < 0) {
		free(params);
		reply_error(c, TBD_E_INTERNAL, params ? err.msg : "out of memory");
		return;
	}
	free(params);
	tbd_log(TBD_LOG_INFO, "job %lld queued for %s (%s) by %s", (long long)id, rq->board,
		rq->workload, c->peer);
	tbd_workers_kick(d);
	send_job(s, c, id, rq->follow, WATCH_ALL);
}

struct list_ctx {
	json_t *arr;
};

static int list_one(const struct tbd_job *job, void *user)
{
	struct list_ctx *l = user;
	json_t *j = tbd_job_json(job);

	/* Listings stay small: the full result is in `status`. */
	json_object_del(j, "result");
	json_array_append_new(l->arr, j);
	return 0;
}

static void op_jobs(struct server *s, struct client *c, struct tbd_request *rq)
{
	struct list_ctx l = { json_array() };
	struct tb_error err = { 0 };
	int64_t counts[TBD_JOB_NSTATES];
	json_t *cj;

	if (tbd_queue_list(s->q, rq->state, rq->board[0] ? rq->board : NULL, rq->limit,
			   list_one, &l, &err) < 0 ||
	    tbd_queue_counts(s->q, counts, &err) < 0) {
		json_decref(l.arr);
		reply_error(c, TBD_E_INTERNAL, err.msg);
		return;
	}
	cj = json_object();
	for (int i = 0; i < TBD_JOB_NSTATES; i++)
		json_object_set_new(cj, tbd_job_state_name((enum tbd_job_state)i),
				    json_integer(counts[i]));
	reply(c, json_pack("{s:b, s:o, s:o}", "ok", 1, "jobs", l.arr, "counts", cj));
}

static void op_cancel(struct server *s, struct client *c, struct tbd_request *rq)
{
	struct tbd *d = s->d;
	struct tb_error err = { 0 };
	enum tbd_job_state state;
	struct tbd_job job;
	char msg[160];
	int rc;

	rc = tbd_queue_cancel_queued(s->q, rq->job, &state, &err);
	if (rc < 0) {
		reply_error(c, rc == TB_ERR_NOTFOUND ? TBD_E_NOT_FOUND : TBD_E_INTERNAL, err.msg);
		return;
	}
	if (rc == 0 && state != TBD_JOB_RUNNING) {
		snprintf(msg, sizeof(msg), "job %lld is already %s", (long long)rq->job,
			 tbd_job_state_name(state));
		reply_error(c, TBD_E_BAD_REQUEST, msg);
		return;
	}
	if (rc == 0 && tbd_queue_get(s->q, rq->job, &job, &err) == TB_OK) {
		struct tbd_worker *w = worker_named(d, job.worker);

		pthread_mutex_lock(&d->mu);
		if (w) {
			w->cancel_id = rq->job;
			if (w->job_id == rq->job)
				w->cancel = 1;
		}
		pthread_mutex_unlock(&d->mu);
		tbd_queue_log(s->q, rq->job, TBD_LOG_WARNING, "cancel requested", NULL);
		tbd_job_clear(&job);
	}
	if (rc == 1 && tbd_queue_get(s->q, rq->job, &job, &err) == TB_OK) {
		/* Cancelled before it ran: no worker will say it ended. */
		size_t n;
		char *line = tbd_json_line(json_pack("{s:s, s:o}", "event", "end", "job",
						     tbd_job_json(&job)), &n);

		if (line)
			tbd_emit(d, rq->job, true, line, n);
		free(line);
		tbd_job_clear(&job);
	}
	tbd_log(TBD_LOG_INFO, "job %lld: cancel requested by %s", (long long)rq->job, c->peer);
	send_job(s, c, rq->job, false, 0);
}

struct logs_ctx {
	json_t *arr;
};

static int log_one(int64_t seq, int64_t at, enum tbd_log_level level, const char *message,
		   void *user)
{
	struct logs_ctx *l = user;

	json_array_append_new(l->arr, json_pack("{s:I, s:I, s:s, s:s}", "seq", (json_int_t)seq,
						"at", (json_int_t)at, "level",
						tbd_log_level_name(level), "message", message));
	return 0;
}

static void op_logs(struct server *s, struct client *c, struct tbd_request *rq)
{
	struct logs_ctx l = { json_array() };
	struct tb_error err = { 0 };
	struct tbd_job job;
	bool final;

	if (tbd_queue_get(s->q, rq->job, &job, &err) < 0) {
		json_decref(l.arr);
		reply_error(c, err.code == TB_ERR_NOTFOUND ? TBD_E_NOT_FOUND : TBD_E_INTERNAL,
			    err.msg);
		return;
	}
	final = job.state == TBD_JOB_DONE || job.state == TBD_JOB_FAILED ||
		job.state == TBD_JOB_CANCELLED;
	if (tbd_queue_logs(s->q, rq->job, 0, log_one, &l, &err) < 0) {
		json_decref(l.arr);
		tbd_job_clear(&job);
		reply_error(c, TBD_E_INTERNAL, err.msg);
		return;
	}
	reply(c, json_pack("{s:b, s:I, s:s, s:o}", "ok", 1, "job", (json_int_t)rq->job,
			   "state", tbd_job_state_name(job.state), "logs", l.arr));
	if (rq->follow && !final) {
		c->watch = rq->job;
		c->watch_kind = WATCH_LOGS;
	}
	tbd_job_clear(&job);
}

static void op_boards(struct server *s, struct client *c)
{
	struct tbd *d = s->d;
	json_t *arr = json_array();

	pthread_mutex_lock(&d->mu);
	for (int i = 0; i < d->n_workers; i++) {
		struct tbd_worker *w = &d->workers[i];

		json_array_append_new(arr, json_pack(
			"{s:s, s:s, s:s, s:o, s:o, s:o, s:I}",
			"name", w->cfg->name, "board", w->cfg->board,
			"state", tbd_board_state_name(w->state),
			"reason", w->reason[0] ? json_string(w->reason) : json_null(),
			"job", w->job_id ? json_integer(w->job_id) : json_null(),
			"port", w->port[0] ? json_string(w->port) : json_null(),
			"jobs_done", (json_int_t)w->jobs_done));
	}
	pthread_mutex_unlock(&d->mu);
	reply(c, json_pack("{s:b, s:o}", "ok", 1, "boards", arr));
}

static void op_release(struct server *s, struct client *c, struct tbd_request *rq)
{
	struct tbd_worker *w = worker_named(s->d, rq->board);
	struct tb_error err = { 0 };
	char msg[128];

	if (!w) {
		snprintf(msg, sizeof(msg), "no board instance '%s'", rq->board);
		reply_error(c, TBD_E_NOT_FOUND, msg);
		return;
	}
	if (tbd_queue_release(s->q, rq->board, &err) < 0) {
		reply_error(c, TBD_E_INTERNAL, err.msg);
		return;
	}
	pthread_mutex_lock(&s->d->mu);
	w->release = true;
	pthread_mutex_unlock(&s->d->mu);
	tbd_workers_kick(s->d);
	tbd_log(TBD_LOG_INFO, "board %s released from quarantine by %s", rq->board, c->peer);
	reply(c, json_pack("{s:b, s:s}", "ok", 1, "board", rq->board));
}

static void handle_line(struct server *s, struct client *c, const char *line, size_t len)
{
	struct tbd_request *rq = malloc(sizeof(*rq));
	char msg[256];

	if (!rq) {
		reply_error(c, TBD_E_INTERNAL, "out of memory");
		return;
	}
	if (c->watch) {
		reply_error(c, TBD_E_BAD_REQUEST,
			    "this connection is streaming a job's events; open another");
		free(rq);
		return;
	}
	if (tbd_request_parse(line, len, rq, msg, sizeof(msg)) < 0) {
		reply_error(c, TBD_E_BAD_REQUEST, msg);
		if (c->tcp && ++c->auth_failures >= MAX_AUTH_FAILURES)
			c->closing = true;
		free(rq);
		return;
	}
	if (c->tcp && (!rq->has_token || !tbd_token_equal(rq->token, s->d->token))) {
		tbd_log(TBD_LOG_WARNING, "client %s: request without a valid token refused",
			c->peer);
		reply_error(c, TBD_E_UNAUTHORIZED, "a valid token is required on TCP");
		if (++c->auth_failures >= MAX_AUTH_FAILURES)
			c->closing = true;
		goto out;
	}
	switch (rq->op) {
	case TBD_OP_PING:
		reply(c, json_pack("{s:b, s:i, s:s, s:I, s:I}", "ok", 1, "api", TBD_API_VERSION,
				   "version", TB_VERSION, "pid", (json_int_t)getpid(),
				   "uptime_ms", (json_int_t)(mono_ms() - s->d->started_ms)));
		break;
	case TBD_OP_SUBMIT:
		op_submit(s, c, rq);
		break;
	case TBD_OP_JOBS:
		op_jobs(s, c, rq);
		break;
	case TBD_OP_STATUS:
		send_job(s, c, rq->job, false, 0);
		break;
	case TBD_OP_WATCH:
		send_job(s, c, rq->job, true, WATCH_ALL);
		break;
	case TBD_OP_CANCEL:
		op_cancel(s, c, rq);
		break;
	case TBD_OP_LOGS:
		op_logs(s, c, rq);
		break;
	case TBD_OP_BOARDS:
		op_boards(s, c);
		break;
	case TBD_OP_RELEASE:
		op_release(s, c, rq);
		break;
	}
out:
	tbd_request_free(rq);
	free(rq);
}

static void client_read(struct server *s, struct client *c)
{
	for (;;) {
		size_t room = TBD_MAX_REQUEST - c->in_len;
		ssize_t n = recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			c->closing = true;
			c->watch = 0;
			if (c->out_off == c->out_len)
				client_close(s, c);
			return;
		}
		c->last_ms = mono_ms();
		c->in_len += (size_t)n;
		while (c->fd >= 0 && !c->closing &&
		       (nl = memchr(c->in, '\n', c->in_len)) != NULL) {
			size_t len = (size_t)(nl - c->in);

			if (len && c->in[len - 1] == '\r')
				len--;
			handle_line(s, c, c->in, len);
			memmove(c->in, nl + 1, c->in_len - (size_t)(nl + 1 - c->in));
			c->in_len -= (size_t)(nl + 1 - c->in);
		}
		if (c->fd < 0 || c->closing)
			return;
		if (c->in_len == TBD_MAX_REQUEST) {
			char msg[96];

			snprintf(msg, sizeof(msg), "request longer than %d bytes", TBD_MAX_REQUEST);
			reply_error(c, TBD_E_TOO_LARGE, msg);
			c->closing = true; /* cannot find where the next request starts */
			c->in_len = 0;
			return;
		}
	}
}

/* ---- accepting ------------------------------------------------------- */

static void accept_one(struct server *s, int lfd, bool tcp)
{
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	struct client *c = NULL;
	int fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	for (int i = 0; i < s->d->cfg.max_clients; i++)
		if (s->clients[i].fd < 0) {
			c = &s->clients[i];
			break;
		}
	if (!c) {
		static const char full[] =
			"{\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"too many clients\"}}\n";

		(void)!send(fd, full, sizeof(full) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		tbd_log(TBD_LOG_WARNING, "too many clients (%d): connection refused",
			s->d->cfg.max_clients);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->in = malloc(TBD_MAX_REQUEST);
	if (!c->in) {
		close(fd);
		c->fd = -1;
		return;
	}
	c->fd = fd;
	c->tcp = tcp;
	c->last_ms = mono_ms();
	s->n_clients++;
	if (tcp) {
		char host[64] = "?", port[16] = "?";

		getnameinfo((struct sockaddr *)&sa, sl, host, sizeof(host), port, sizeof(port),
			    NI_NUMERICHOST | NI_NUMERICSERV);
		snprintf(c->peer, sizeof(c->peer), "tcp %s:%s", host, port);
	} else {
		struct ucred cred;
		socklen_t cl = sizeof(cred);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
			snprintf(c->peer, sizeof(c->peer), "uid %ld pid %ld", (long)cred.uid,
				 (long)cred.pid);
		else
			snprintf(c->peer, sizeof(c->peer), "unix client");
	}
	tbd_log(TBD_LOG_DEBUG, "client %s connected", c->peer);
}

/* ---- events from the workers ----------------------------------------- */

static void drain_events(struct server *s)
{
	struct tbd *d = s->d;
	struct tbd_event *e, *next;
	char buf[256];

	while (read(d->wake[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&d->mu);
	e = d->events;
	d->events = NULL;
	d->events_tail = &d->events;
	pthread_mutex_unlock(&d->mu);
	for (; e; e = next) {
		bool is_log = strstr(e->line, "\"event\":\"log\"") != NULL;

		next = e->next;
		for (int i = 0; i < d->cfg.max_clients; i++) {
			struct client *c = &s->clients[i];

			if (c->fd < 0 || c->watch != e->job)
				continue;
			if (c->watch_kind == WATCH_LOGS && !is_log && !e->end)
				continue;
			put(c, e->line, e->len);
			if (e->end)
				c->watch = 0;
		}
		free(e);
	}
}

/* ---- listening ------------------------------------------------------- */

static int listen_unix(struct tbd *d, struct tb_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = d->cfg.socket;
	char dir[sizeof(sa.sun_path)], *slash;
	struct stat st;
	mode_t old;
	int fd, probe;

	if (strlen(path) >= sizeof(sa.sun_path))
		return tb_error_set(err, TB_ERR_ARG, "socket path '%s' is too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, d->cfg.socket_mode == 0660 ? 0750 : 0700) < 0 && errno != EEXIST)
			return tb_error_set(err, TB_ERR_IO, "cannot create '%s' for the socket: %s",
					    dir, strerror(errno));
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return tb_error_set(err, TB_ERR_BUSY,
					    "'%s' exists and is not a socket; not touching it", path);
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			return tb_error_set(err, TB_ERR_BUSY,
					    "another tinybenchd answers on '%s'", path);
		}
		if (probe >= 0)
			close(probe);
		unlink(path); /* stale, from a daemon that died */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return tb_error_set(err, TB_ERR_IO, "socket: %s", strerror(errno));
	/* Created with its final permissions: no moment when others may connect. */
	old = umask(d->cfg.socket_mode == 0660 ? 0117 : 0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		close(fd);
		return tb_error_set(err, TB_ERR_IO, "cannot bind '%s': %s", path, strerror(errno));
	}
	umask(old);
	if (chmod(path, d->cfg.socket_mode) < 0)
		goto out_fail;
	if (d->cfg.socket_group[0]) {
		struct group *g = getgrnam(d->cfg.socket_group);

		if (!g) {
			close(fd);
			unlink(path);
			return tb_error_set(err, TB_ERR_NOTFOUND, "socket_group '%s' does not exist",
					    d->cfg.socket_group);
		}
		if (chown(path, (uid_t)-1, g->gr_gid) < 0)
			goto out_fail;
	}
	if (listen(fd, 128) < 0)
		goto out_fail;
	return fd;

out_fail:
	tb_error_set(err, TB_ERR_IO, "socket '%s': %s", path, strerror(errno));
	close(fd);
	unlink(path);
	return err ? err->code : TB_ERR_IO;
}

static int listen_tcp(struct tbd *d, struct tb_error *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST };
	char host[128], port[32], *colon;
	struct addrinfo *ai = NULL;
	int fd, one = 1, rc;

	/* [ADDRESS:]PORT; the address is loopback unless one is given. */
	snprintf(host, sizeof(host), "%s", d->cfg.listen);
	colon = strrchr(host, ':');
	if (colon) {
		snprintf(port, sizeof(port), "%s", colon + 1);
		*colon = '\0';
		if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:7700 */
			memmove(host, host + 1, strlen(host));
			host[strlen(host) - 1] = '\0';
		}
	} else {
		snprintf(port, sizeof(port), "%s", host);
		host[0] = '\0';
	}
	if (!host[0])
		strcpy(host, "127.0.0.1");
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc)
		return tb_error_set(err, TB_ERR_ARG, "listen = %s: %s (give [ADDRESS:]PORT)",
				    d->cfg.listen, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		rc = tb_error_set(err, TB_ERR_IO, "listen = %s: %s", d->cfg.listen, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return rc;
	}
	freeaddrinfo(ai);
	tbd_log(TBD_LOG_INFO, "listening on TCP %s:%s (token required)", host, port);
	return fd;
}

/* ---- the loop -------------------------------------------------------- */

static void on_signal(struct server *s)
{
	struct tbd *d = s->d;
	struct signalfd_siginfo si;

	while (read(s->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			tbd_log(TBD_LOG_INFO, "SIGHUP: nothing to reload (restart to read the config)");
			continue;
		}
		s->signals++;
		pthread_mutex_lock(&d->mu);
		d->stopping = true;
		for (int i = 0; i < d->n_workers; i++) {
			d->workers[i].stop = 1;
			if (s->signals > 1)
				d->workers[i].cancel = 1;
		}
		if (s->signals > 1)
			d->aborting = true;
		pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->mu);
		if (s->signals == 1) {
			tbd_notify("STOPPING=1");
			tbd_log(TBD_LOG_INFO, "signal %u: stopping after the current trials "
				"(signal again to stop now)", si.ssi_signo);
		} else {
			tbd_log(TBD_LOG_WARNING, "signal %u: stopping now", si.ssi_signo);
		}
		if (s->unix_fd >= 0) {
			close(s->unix_fd);
			unlink(d->cfg.socket);
			s->unix_fd = -1;
		}
		if (s->tcp_fd >= 0) {
			close(s->tcp_fd);
			s->tcp_fd = -1;
		}
	}
}

static bool workers_stopped(struct tbd *d)
{
	bool all = true;

	pthread_mutex_lock(&d->mu);
	for (int i = 0; i < d->n_workers; i++)
		if (d->workers[i].started && d->workers[i].state != TBD_BOARD_STOPPED)
			all = false;
	pthread_mutex_unlock(&d->mu);
	return all;
}

int tbd_server_run(struct tbd *d, struct tb_error *err)
{
	struct server s = { .d = d, .unix_fd = -1, .tcp_fd = -1, .sig_fd = -1 };
	struct pollfd *pfd;
	int *slot;                /* pfd[i] is client slot[i] (i >= 4) */
	sigset_t set;
	int rc = TB_OK, nfds;

	s.clients = calloc((size_t)d->cfg.max_clients, sizeof(*s.clients));
	pfd = calloc((size_t)d->cfg.max_clients + 4, sizeof(*pfd));
	slot = calloc((size_t)d->cfg.max_clients + 4, sizeof(*slot));
	if (!s.clients || !pfd || !slot) {
		rc = tb_error_set(err, TB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < d->cfg.max_clients; i++)
		s.clients[i].fd = -1;
	rc = tbd_queue_open(d->cfg.queue, &s.q, err);
	if (rc < 0)
		goto out;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	s.sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s.sig_fd < 0) {
		rc = tb_error_set(err, TB_ERR_IO, "signalfd: %s", strerror(errno));
		goto out;
	}
	rc = s.unix_fd = listen_unix(d, err);
	if (rc < 0)
		goto out;
	if (d->cfg.listen[0]) {
		rc = s.tcp_fd = listen_tcp(d, err);
		if (rc < 0)
			goto out;
	}
	rc = tbd_workers_start(d, err);
	if (rc < 0)
		goto out;
	tbd_log(TBD_LOG_INFO, "ready: %d board%s, socket %s, queue %s, results %s", d->n_workers,
		d->n_workers == 1 ? "" : "s", d->cfg.socket, d->cfg.queue, d->cfg.results);
	tbd_notify("READY=1");

	for (;;) {
		int64_t now = mono_ms();
		bool stopping;

		pthread_mutex_lock(&d->mu);
		stopping = d->stopping;
		pthread_mutex_unlock(&d->mu);
		if (stopping && workers_stopped(d))
			break;
		nfds = 0;
		pfd[nfds++] = (struct pollfd){ .fd = s.sig_fd, .events = POLLIN };
		pfd[nfds++] = (struct pollfd){ .fd = d->wake[0], .events = POLLIN };
		pfd[nfds++] = (struct pollfd){ .fd = s.unix_fd, .events = POLLIN };
		pfd[nfds++] = (struct pollfd){ .fd = s.tcp_fd, .events = POLLIN };
		for (int i = 0; i < d->cfg.max_clients; i++) {
			struct client *c = &s.clients[i];

			if (c->fd >= 0 && !c->watch && !c->closing && c->out_len == c->out_off &&
			    now - c->last_ms > IDLE_CLOSE_MS) {
				client_close(&s, c);
				continue;
			}
			if (c->fd < 0)
				continue;
			slot[nfds] = i;
			pfd[nfds++] = (struct pollfd){
				.fd = c->fd,
				.events = (short)((c->closing ? 0 : POLLIN) |
						  (c->out_len > c->out_off ? POLLOUT : 0)),
			};
		}
		if (poll(pfd, (nfds_t)nfds, stopping ? 100 : 1000) < 0 && errno != EINTR) {
			rc = tb_error_set(err, TB_ERR_IO, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents)
			on_signal(&s);
		if (pfd[1].revents)
			drain_events(&s);
		if (pfd[2].revents & POLLIN && s.unix_fd >= 0)
			accept_one(&s, s.unix_fd, false);
		if (pfd[3].revents & POLLIN && s.tcp_fd >= 0)
			accept_one(&s, s.tcp_fd, true);
		for (int i = 4; i < nfds; i++) {
			struct client *c = &s.clients[slot[i]];

			if (c->fd != pfd[i].fd)
				continue; /* closed meanwhile */
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				client_read(&s, c);
			if (c->fd >= 0 && c->out_len > c->out_off)
				flush(&s, c);
		}
	}
	drain_events(&s);
	for (int i = 0; i < d->cfg.max_clients; i++)
		if (s.clients[i].fd >= 0) {
			flush(&s, &s.clients[i]);
			client_close(&s, &s.clients[i]);
		}
out:
	if (rc < 0) {
		pthread_mutex_lock(&d->mu);
		d->stopping = true;
		for (int i = 0; i < d->n_workers; i++)
			d->workers[i].stop = d->workers[i].cancel = 1;
		pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->mu);
	}
	tbd_workers_join(d);
	if (s.unix_fd >= 0) {
		close(s.unix_fd);
		unlink(d->cfg.socket);
	}
	if (s.tcp_fd >= 0)
		close(s.tcp_fd);
	if (s.sig_fd >= 0)
		close(s.sig_fd);
	tbd_queue_close(s.q);
	free(s.clients);
	free(pfd);
	free(slot);
	return rc;
}
