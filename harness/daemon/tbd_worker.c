/*
 * tbd_worker.c - one thread per board instance: it owns the board's
 * connection and runs that board's jobs, one at a time.
 *
 * The connection (port or spawned runner, link, HELLO done) is opened once
 * and kept across jobs; a job runs on it with tb_session_run_on(), which
 * resets the board (runner restart, DTR/RTS pulse, QEMU restart) and runs a
 * trial again when it fails on the link.  What the worker adds on top:
 *
 *  - reconnecting, with a growing pause, when the board cannot be reached;
 *    a serial board's port is found again by USB id and serial number
 *    before every opening (tbd_port.c);
 *  - quarantine: after quarantine_after failures in a row that were the
 *    board's (cannot connect, or a job failed on the link), the board
 *    takes no more jobs until a client releases it; the reason is kept in
 *    the queue file, so a restart does not forget it;
 *  - the job's bookkeeping: its run id (as soon as the run is begun, so a
 *    requeued job resumes it), the run's tags (job=<id>, daemon.board=...),
 *    log lines and progress events for the clients watching it;
 *  - stopping: on the daemon's first SIGTERM the session finishes the
 *    current trial and leaves the run open (a checkpoint); the job goes
 *    back to the queue and resumes the run at the next start;
 *  - the energy monitor (docs/DAEMON.md, "Energy"): the worker owns it as
 *    it owns the board.  With monitor = DRIVER[:PORT] (or reset = power)
 *    it is opened before the board, which it may power; otherwise the
 *    board file's energy_monitor is opened at the first job that asks for
 *    energy.  Opening it may change how the board is connected (a sim
 *    runner drives the virtual timestamp line, a QEMU firmware switches
 *    its timestamp bridge on), so a connection made without it is made
 *    again.  It stays open across jobs; an instrument that goes away is
 *    brought back by the next trial; jobs without energy ignore it.
 */
#include "tbd.h"
#include "tbd_api.h"
#include "tb_session.h"
#include "tb_store.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RUNNER_ARGS_MAX 32
#define MONITOR_ARGS_MAX 16

struct wctx {
	struct tbd_worker *w;
	struct tbd *d;
	struct tbd_queue *q;
	struct tb_store *store;
	struct tb_conn *conn;
	struct tb_conn_opts copts;
	char args_buf[512];
	const char *args[RUNNER_ARGS_MAX + 1];
	struct tb_energy *energy;     /* the board's monitor, once opened */
	struct tb_energy_opts eopts;
	char margs_buf[512];
	const char *margs[MONITOR_ARGS_MAX + 1];
	bool conn_has_line;       /* the connection drives the monitor's line */
	int fails;                /* board failures in a row */
	int64_t next_try_ms;      /* reconnect not before (monotonic) */
};

struct jctx {
	struct wctx *x;
	struct tbd_job *job;
	struct tbd_request params;
	int64_t run_id;           /* recorded in the queue and tagged */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *tbd_board_state_name(enum tbd_board_state s)
{
	static const char *const names[] = { "offline", "idle", "busy", "quarantined", "stopped" };

	return (unsigned)s < 5 ? names[s] : "?";
}

void tbd_emit(struct tbd *d, int64_t job, bool end, const char *line, size_t len)
{
	struct tbd_event *e = malloc(sizeof(*e) + len + 1);
	ssize_t w;

	if (!e)
		return;
	e->next = NULL;
	e->job = job;
	e->end = end;
	e->len = len;
	memcpy(e->line, line, len);
	e->line[len] = '\0';
	pthread_mutex_lock(&d->mu);
	*d->events_tail = e;
	d->events_tail = &e->next;
	pthread_mutex_unlock(&d->mu);
	w = write(d->wake[1], "e", 1); /* non-blocking; a full pipe is awake already */
	(void)w;
}

static void emit_json(struct tbd *d, int64_t job, bool end, json_t *ev)
{
	size_t n;
	char *line = tbd_json_line(ev, &n);

	if (line)
		tbd_emit(d, job, end, line, n);
	free(line);
}

static void set_state(struct tbd_worker *w, enum tbd_board_state s, const char *reason)
{
	pthread_mutex_lock(&w->d->mu);
	w->state = s;
	if (reason)
		snprintf(w->reason, sizeof(w->reason), "%s", reason);
	pthread_mutex_unlock(&w->d->mu);
}

/* A line in the job's log, the daemon's log and the watchers' stream. */
static void job_log(struct jctx *j, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void job_log(struct jctx *j, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tbd_queue_log(j->x->q, j->job->id, (enum tbd_log_level)level, msg, NULL);
	tbd_log(level, "job %lld on %s: %s", (long long)j->job->id, j->x->w->cfg->name, msg);
	emit_json(j->x->d, j->job->id, false,
		  json_pack("{s:s, s:I, s:I, s:s, s:s}", "event", "log", "job",
			    (json_int_t)j->job->id, "at", (json_int_t)wall_ms(),
			    "level", tbd_log_level_name((enum tbd_log_level)level),
			    "message", msg));
}

/* ---- the board ------------------------------------------------------- */

static int find_port(void *user, char *buf, size_t len, struct tb_error *err)
{
	const struct tbd_board_config *c = user;

	return tbd_port_find(c->vid, c->pid, c->serial, c->port_wait_ms, buf, len, err);
}

static void conn_opts(struct wctx *x)
{
	const struct tbd_board_config *c = x->w->cfg;
	char *save = NULL, *a;
	int n = 0;

	memset(&x->copts, 0, sizeof(x->copts));
	x->copts.port = c->port[0] ? c->port : NULL;
	snprintf(x->args_buf, sizeof(x->args_buf), "%s", c->runner_args);
	for (a = strtok_r(x->args_buf, " \t", &save); a && n < RUNNER_ARGS_MAX;
	     a = strtok_r(NULL, " \t", &save))
		x->args[n++] = a;
	x->args[n] = NULL;
	x->copts.runner_args = n ? x->args : NULL;
	x->copts.fault = c->fault[0] ? c->fault : NULL;
	x->copts.cancel = &x->w->cancel;
	if (c->has_usb) {
		x->copts.find_port = find_port;
		x->copts.find_port_user = (void *)c;
	}
}

const char *tbd_monitor_spec(const struct tbd_worker *w)
{
	const char *m = w->cfg->monitor;

	if (!strcmp(m, "none"))
		return NULL;
	if (m[0])
		return m;
	return w->board->energy_monitor != TB_BOARD_ENERGY_NONE ? "default" : NULL;
}

/* Opened before the board: a monitor named in the config (it may power
 * the board), or one the board's reset needs. */
static bool energy_eager(const struct wctx *x)
{
	const struct tbd_worker *w = x->w;

	return tbd_monitor_spec(w) && (w->cfg->monitor[0] || w->board->reset == TB_BOARD_RESET_POWER);
}

/* Open the board's energy monitor, once; a connection made without the
 * line it samples is dropped, to be made again with it. */
static int ensure_energy(struct wctx *x, struct tb_error *err)
{
	struct tbd_worker *w = x->w;
	const char *spec = tbd_monitor_spec(w);
	const char *const *args = x->copts.runner_args;
	char *save = NULL, *a;
	int n = 0, rc;

	if (x->energy)
		return TB_OK;
	if (!spec)
		return tb_error_set(err, TB_ERR_ARG, "board %s has no energy monitor", w->cfg->name);
	memset(&x->eopts, 0, sizeof(x->eopts));
	x->eopts.spec = spec;
	snprintf(x->margs_buf, sizeof(x->margs_buf), "%s", w->cfg->monitor_args);
	for (a = strtok_r(x->margs_buf, " \t", &save); a && n < MONITOR_ARGS_MAX;
	     a = strtok_r(NULL, " \t", &save))
		x->margs[n++] = a;
	x->margs[n] = NULL;
	x->eopts.emu_args = n ? x->margs : NULL;
	rc = tb_energy_open(w->board, &x->eopts, &args, &x->energy, err);
	if (rc < 0)
		return tb_error_prefix(err, "energy monitor (%s): ", spec);
	x->copts.runner_args = args;
	x->copts.timestamp_line = tb_energy_wants_timestamp_line(x->energy);
	x->copts.power_cycle = tb_energy_power_cycle_cb;
	x->copts.power_cycle_user = x->energy;
	tbd_log(TBD_LOG_INFO, "board %s: energy monitor %s, %s on %s", w->cfg->name,
		tb_energy_method(x->energy), tb_energy_info(x->energy)->model,
		tb_energy_port(x->energy));
	if (x->conn && !x->conn_has_line && w->board->transport != TB_BOARD_TRANSPORT_SERIAL) {
		tbd_log(TBD_LOG_INFO, "board %s: reconnecting it with the timestamp line", w->cfg->name);
		tb_conn_free(x->conn);
		x->conn = NULL;
	}
	return TB_OK;
}

static void quarantine(struct wctx *x, const char *why)
{
	struct tbd_worker *w = x->w;
	struct tb_error err = { 0 };

	tbd_log(TBD_LOG_ERROR, "board %s quarantined: %s", w->cfg->name, why);
	if (tbd_queue_quarantine(x->q, w->cfg->name, why, &err) < 0)
		tbd_log(TBD_LOG_ERROR, "%s", err.msg);
	set_state(w, TBD_BOARD_QUARANTINED, why);
	tb_conn_free(x->conn);
	x->conn = NULL;
}

/* A failure that was the board's: count it, pause, maybe quarantine. */
static void board_failed(struct wctx *x, const char *why)
{
	int64_t pause = 1000LL << (x->fails < 5 ? x->fails : 5);

	x->fails++;
	x->next_try_ms = mono_ms() + (pause > 30000 ? 30000 : pause);
	if (x->fails >= x->w->cfg->quarantine_after) {
		char reason[600];

		snprintf(reason, sizeof(reason), "%d failures in a row; last: %.500s", x->fails, why);
		quarantine(x, reason);
	}
}

static int ensure_connected(struct wctx *x)
{
	struct tbd_worker *w = x->w;
	struct tb_error err = { 0 };
	int rc;

	if (x->conn)
		return TB_OK;
	if (mono_ms() < x->next_try_ms)
		return TB_ERR_BUSY;
	w->cancel = 0;
	rc = energy_eager(x) ? ensure_energy(x, &err) : TB_OK;
	if (rc == TB_OK)
		rc = tb_session_connect(w->board, &x->copts, &x->conn, &err);
	if (rc < 0) {
		tbd_log(TBD_LOG_WARNING, "board %s: cannot connect: %s", w->cfg->name, err.msg);
		set_state(w, TBD_BOARD_OFFLINE, err.msg);
		board_failed(x, err.msg);
		return rc;
	}
	x->conn_has_line = x->energy != NULL;
	pthread_mutex_lock(&w->d->mu);
	snprintf(w->port, sizeof(w->port), "%s", tb_conn_port(x->conn));
	if (w->state != TBD_BOARD_QUARANTINED)
		w->state = TBD_BOARD_IDLE;
	w->reason[0] = '\0';
	pthread_mutex_unlock(&w->d->mu);
	tbd_log(TBD_LOG_INFO, "board %s connected: %s", w->cfg->name, tb_conn_port(x->conn));
	return TB_OK;
}

/* ---- a job ----------------------------------------------------------- */

static const char *phase_name(enum tb_phase p)
{
	switch (p) {
	case TB_PHASE_CONNECT: return "connect";
	case TB_PHASE_CALIBRATE: return "calibrate";
	case TB_PHASE_TRIAL: return "trial";
	case TB_PHASE_DONE: return "done";
	case TB_PHASE_RETRY: return "retry";
	}
	return "?";
}

/* The job's run is known: record it and tag it (once). */
static void note_run(struct jctx *j, int64_t run_id)
{
	struct wctx *x = j->x;
	struct tb_error err = { 0 };
	char id[32];

	if (!run_id || run_id == j->run_id)
		return;
	j->run_id = run_id;
	if (tbd_queue_set_run(x->q, j->job->id, run_id, &err) < 0)
		tbd_log(TBD_LOG_ERROR, "%s", err.msg);
	snprintf(id, sizeof(id), "%lld", (long long)j->job->id);
	if (tb_store_tag_set(x->store, run_id, "job", id, &err) < 0 ||
	    tb_store_tag_set(x->store, run_id, "daemon.board", x->w->cfg->name, &err) < 0)
		tbd_log(TBD_LOG_ERROR, "tagging run %lld: %s", (long long)run_id, err.msg);
	for (int i = 0; i < j->params.n_tags; i++)
		if (tb_store_tag_set(x->store, run_id, j->params.tag_key[i],
				     j->params.tag_value[i], &err) < 0)
			tbd_log(TBD_LOG_ERROR, "tagging run %lld: %s", (long long)run_id, err.msg);
	job_log(j, TBD_LOG_INFO, "run %lld in %s", (long long)run_id, tb_store_path(x->store));
}

static void on_progress(const struct tb_progress *p, void *user)
{
	struct jctx *j = user;

	note_run(j, p->run_id);
	if (p->phase == TB_PHASE_RETRY) {
		if (p->inferences && p->trials)
			job_log(j, TBD_LOG_WARNING, "trial %d, attempt %d failed: %s; resetting the board",
				p->trial + 1, p->attempt, p->message ? p->message : "");
		else
			job_log(j, TBD_LOG_WARNING, "calibration, attempt %d failed: %s; resetting the board",
				p->attempt, p->message ? p->message : "");
	}
	emit_json(j->x->d, j->job->id, false,
		  json_pack("{s:s, s:I, s:s, s:i, s:i, s:I, s:i, s:f, s:I}",
			    "event", "progress", "job", (json_int_t)j->job->id,
			    "phase", phase_name(p->phase), "trial", p->trial,
			    "trials", p->trials, "inferences", (json_int_t)p->inferences,
			    "attempt", p->attempt, "elapsed_s", p->elapsed_s,
			    "run_id", (json_int_t)p->run_id));
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *opt(int64_t v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

/* The run's energy, as `tinybench run --json` has it: method, monitor,
 * medians over the trials. */
static json_t *energy_json(const struct tb_run_result *r)
{
	double uj[1024], mw[1024], scratch[1024];
	struct tb_stats su, sm;
	json_t *o;
	size_t n = 0;

	for (int i = 0; i < r->n_trials && n < 1024; i++) {
		const struct tb_trial *t = &r->trials[i].t;

		if (t->status == TB_TRIAL_OK && isfinite(t->energy_uj) && isfinite(t->power_mw)) {
			uj[n] = t->energy_uj;
			mw[n++] = t->power_mw;
		}
	}
	o = json_pack("{s:s, s:s, s:s}", "method", r->energy_method,
		      "kind", strncmp(r->energy_method, "emulated:", 9) ? "measured" : "emulated",
		      "monitor", r->energy_monitor);
	if (r->caps.flags & TBP_CAP_TICKS_ARE_INSNS)
		json_object_set_new(o, "window", json_string("instruction-count-estimate"));
	if (n && tb_stats_summary(uj, n, scratch, &su, NULL) == 0 &&
	    tb_stats_summary(mw, n, scratch, &sm, NULL) == 0) {
		json_object_set_new(o, "uj_per_inference",
				    json_pack("{s:o, s:o, s:o, s:o}", "median", num(su.median),
					      "min", num(su.min), "max", num(su.max),
					      "mean", num(su.mean)));
		json_object_set_new(o, "power_mw",
				    json_pack("{s:o, s:o, s:o}", "median", num(sm.median),
					      "min", num(sm.min), "max", num(sm.max)));
	}
	return o;
}

/* What the run measured, kept with the job and sent to its watchers. */
static char *result_json(const struct tb_run_result *r)
{
	const struct tbp_workload_info *w = NULL;
	json_t *o = json_object(), *trials = json_array();
	char *s;

	for (unsigned i = 0; i < r->caps.n_workloads; i++)
		if (!strcmp(r->caps.workloads[i].name, r->workload))
			w = &r->caps.workloads[i];
	json_object_set_new(o, "run_id", json_integer(r->run_id));
	json_object_set_new(o, "status", json_string(tb_store_run_status_name(r->status)));
	json_object_set_new(o, "reason", r->reason[0] ? json_string(r->reason) : json_null());
	json_object_set_new(o, "db", json_string(r->db_path));
	json_object_set_new(o, "board", json_string(r->board));
	json_object_set_new(o, "cpu", json_string(r->caps.cpu));
	json_object_set_new(o, "runner_version", json_string(r->caps.runner_version));
	json_object_set_new(o, "build_id", json_string(r->caps.build_id));
	json_object_set_new(o, "workload", json_string(r->workload));
	json_object_set_new(o, "model_hash", json_string(r->model_hash));
	json_object_set_new(o, "timing_method", json_string(r->timing_method));
	json_object_set_new(o, "port", json_string(r->port));
	json_object_set_new(o, "emulated", json_boolean(r->caps.flags & TBP_CAP_TICKS_ARE_INSNS));
	json_object_set_new(o, "trials_planned", json_integer(r->trials_planned));
	json_object_set_new(o, "inferences", json_integer(r->inferences));
	json_object_set_new(o, "warmups", json_integer(r->warmups));
	json_object_set_new(o, "n_trials", json_integer(r->n_trials));
	json_object_set_new(o, "n_failed", json_integer(r->n_failed));
	json_object_set_new(o, "n_retried", json_integer(r->n_retried));
	json_object_set_new(o, "n_resumed", json_integer(r->n_resumed));
	if (r->n_trials > r->n_failed) {
		json_object_set_new(o, "latency_ms",
				    json_pack("{s:o, s:o, s:o, s:o, s:o}",
					      "median", num(r->latency_ms.median),
					      "min", num(r->latency_ms.min),
					      "max", num(r->latency_ms.max),
					      "p90", num(r->latency_ms.p90),
					      "mean", num(r->latency_ms.mean)));
		json_object_set_new(o, "throughput_per_s", num(r->throughput));
	}
	json_object_set_new(o, "macs", json_integer(r->macs));
	json_object_set_new(o, "stack_peak", json_integer(r->stack_peak));
	json_object_set_new(o, "stack_size", json_integer(r->caps.stack_size));
	json_object_set_new(o, "arena_peak", json_integer(r->arena_peak));
	json_object_set_new(o, "arena_size", json_integer(r->caps.arena_size));
	json_object_set_new(o, "arena_planned", json_integer(r->arena_planned));
	json_object_set_new(o, "output_checked", json_integer(r->output_checked));
	json_object_set_new(o, "output_mismatch", json_integer(r->output_mismatch));
	for (int i = 0; i < r->n_trials; i++) {
		const struct tb_trial *t = &r->trials[i].t;
		const uint8_t *out = t->output;
		json_t *values = json_array();

		for (size_t k = 0; out && k < t->output_len && k < 16; k++)
			json_array_append_new(values, json_integer(
				w && w->output_dtype == 1 ? (int8_t)out[k] : out[k]));
		json_array_append_new(trials, json_pack(
			"{s:I, s:s, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:i, s:o}",
			"idx", (json_int_t)t->idx,
			"status", tb_store_trial_status_name(t->status),
			"reason", t->reason ? json_string(t->reason) : json_null(),
			"inferences", (json_int_t)t->inferences,
			"latency_ms", num(t->latency_ms),
			"min_ms", num(t->inf_min_ms),
			"max_ms", num(t->inf_max_ms),
			"stack_peak", opt(t->stack_peak),
			"arena_peak", opt(t->arena_peak),
			"output_check", tb_store_output_check_name(t->output_check),
			"attempts", opt(t->attempts),
			"link_retries", opt(t->link_retries),
			"frames_dropped", opt(t->frames_dropped),
			"output_len", (int)t->output_len,
			"output_head", values));
		if (isfinite(t->energy_uj)) {
			json_t *en = json_pack("{s:o, s:o, s:o, s:I, s:o, s:I}",
					       "energy_uj_per_inference", num(t->energy_uj),
					       "power_mw", num(t->power_mw),
					       "energy_window_ms", num(t->energy_window_ms),
					       "energy_samples", (json_int_t)t->energy_samples,
					       "energy_sample_hz", num(t->energy_sample_hz),
					       "energy_lost_samples",
					       (json_int_t)t->energy_lost_samples);

			json_object_update(json_array_get(trials, json_array_size(trials) - 1), en);
			json_decref(en);
		}
	}
	json_object_set_new(o, "trials", trials);
	if (r->energy_method[0])
		json_object_set_new(o, "energy", energy_json(r));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void end_job(struct jctx *j, enum tbd_job_state state, const char *reason,
		    const char *result, bool requeue)
{
	struct wctx *x = j->x;
	struct tb_error err = { 0 };
	struct tbd_job after;
	int rc;

	rc = requeue ? tbd_queue_requeue(x->q, j->job->id, reason, &err) :
	     tbd_queue_finish(x->q, j->job->id, state, reason, result, &err);
	if (rc < 0)
		tbd_log(TBD_LOG_ERROR, "job %lld: %s", (long long)j->job->id, err.msg);
	tbd_log(requeue || state == TBD_JOB_DONE ? TBD_LOG_INFO : TBD_LOG_WARNING,
		"job %lld on %s: %s%s%s", (long long)j->job->id, x->w->cfg->name,
		requeue ? "requeued" : tbd_job_state_name(state), reason ? ": " : "",
		reason ? reason : "");
	if (tbd_queue_get(x->q, j->job->id, &after, &err) == TB_OK) {
		emit_json(x->d, j->job->id, !requeue,
			  json_pack("{s:s, s:o}", "event", requeue ? "requeued" : "end",
				    "job", tbd_job_json(&after)));
		tbd_job_clear(&after);
	}
}

/* Failures that were the board's, not the job's. */
static bool board_fault(int rc)
{
	return rc == TB_ERR_TIMEOUT || rc == TB_ERR_CLOSED || rc == TB_ERR_IO ||
	       rc == TB_ERR_PROTO || rc == TB_ERR_DEVICE;
}

static void run_job(struct wctx *x, struct tbd_job *job)
{
	struct tbd_worker *w = x->w;
	struct tbd *d = x->d;
	struct jctx j = { .x = x, .job = job, .run_id = job->run_id };
	struct tb_run_opts o = { 0 };
	struct tb_run_result res;
	struct tb_error err = { 0 };
	char msg[256], *result;
	bool user_cancel, aborted;
	int rc, retries;

	pthread_mutex_lock(&d->mu);
	w->job_id = job->id;
	w->state = TBD_BOARD_BUSY;
	w->cancel = w->cancel_id == job->id;
	pthread_mutex_unlock(&d->mu);

	if (tbd_request_parse(job->params_json, strlen(job->params_json), &j.params, msg,
			      sizeof(msg)) < 0) {
		end_job(&j, TBD_JOB_FAILED, msg, NULL, false);
		goto out;
	}
	if (job->run_id)
		job_log(&j, TBD_LOG_INFO, "resuming run %lld", (long long)job->run_id);
	retries = j.params.retries >= 0 ? j.params.retries :
		  w->cfg->retries >= 0 ? w->cfg->retries : 2;
	o.board = w->board->name;
	o.workload = j.params.workload;
	o.trials = j.params.trials;
	o.min_time_s = j.params.min_time_s;
	o.warmups = j.params.warmups;
	o.profile = j.params.profile ? TB_PROFILE_MLPERF : TB_PROFILE_DEFAULT;
	o.infer_timeout_ms = j.params.timeout_ms ? j.params.timeout_ms : w->cfg->timeout_ms;
	o.max_attempts = retries + 1;
	o.stop = &w->stop;
	o.resume_run_id = job->run_id;
	o.input_data = job->input;
	o.input_len = job->input_len;
	if (j.params.energy) {
		rc = ensure_energy(x, &err);
		if (rc == TB_OK && !x->conn && ensure_connected(x) < 0)
			rc = tb_error_set(&err, TB_ERR_CLOSED, "board %s: cannot connect: %s",
					  w->cfg->name, w->reason);
		if (rc < 0) {
			end_job(&j, TBD_JOB_FAILED, err.msg, NULL, false);
			goto out;
		}
		o.monitor = x->energy;
	}
	o.conn = x->copts;
	o.progress = on_progress;
	o.user = &j;

	rc = tb_session_run_on(&x->conn, x->store, &o, &res, &err);
	note_run(&j, res.run_id);

	pthread_mutex_lock(&d->mu);
	user_cancel = w->cancel_id == job->id;
	aborted = d->aborting;
	pthread_mutex_unlock(&d->mu);

	result = res.run_id ? result_json(&res) : NULL;
	if (res.run_id && res.status == TB_RUN_RUNNING) {
		snprintf(msg, sizeof(msg),
			 "the daemon is stopping: checkpointed after %d of %d trials; run %lld "
			 "resumes when the job runs again", res.n_trials, res.trials_planned,
			 (long long)res.run_id);
		end_job(&j, TBD_JOB_QUEUED, msg, NULL, true);
	} else if (rc == TB_ERR_INTERRUPTED && user_cancel) {
		snprintf(msg, sizeof(msg), "cancelled by a client (%d trials kept)",
			 res.n_trials - res.n_failed);
		end_job(&j, TBD_JOB_CANCELLED, msg, result, false);
	} else if (rc == TB_ERR_INTERRUPTED && aborted) {
		/* Second signal: the trial was cut off, the run finished as
		 * interrupted; the job goes back for a new run. */
		end_job(&j, TBD_JOB_QUEUED, "the daemon stopped mid-trial; requeued", NULL, true);
	} else if (rc == TB_OK) {
		snprintf(msg, sizeof(msg), "run %lld ok: %d trials, median %.4f ms%s",
			 (long long)res.run_id, res.n_trials, res.latency_ms.median,
			 res.n_retried ? " (some trials retried after a reset)" : "");
		job_log(&j, TBD_LOG_INFO, "%s", msg);
		end_job(&j, TBD_JOB_DONE, NULL, result, false);
	} else {
		end_job(&j, TBD_JOB_FAILED, err.msg[0] ? err.msg : tb_strerror(rc), result, false);
	}
	free(result);

	if (rc == TB_OK)
		x->fails = 0;
	else if (!user_cancel && !aborted && (board_fault(rc) || !x->conn))
		board_failed(x, err.msg);
	tb_run_result_free(&res);
out:
	tbd_request_free(&j.params);
	pthread_mutex_lock(&d->mu);
	w->job_id = 0;
	w->cancel = 0;
	w->jobs_done++;
	if (w->state == TBD_BOARD_BUSY)
		w->state = x->conn ? TBD_BOARD_IDLE : TBD_BOARD_OFFLINE;
	pthread_mutex_unlock(&d->mu);
}

/* ---- the thread ------------------------------------------------------ */

/* Wait for a kick or ms milliseconds, unless stopping.  Called with mu. */
static void wait_locked(struct tbd *d, int ms)
{
	struct timespec ts;

	if (d->stopping)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&d->cond, &d->mu, &ts);
}

static void *worker_main(void *arg)
{
	struct tbd_worker *w = arg;
	struct tbd *d = w->d;
	struct wctx x = { .w = w, .d = d };
	struct tb_error err = { 0 };
	struct tbd_job job;
	int rc;

	conn_opts(&x);
	/* The files exist (the main thread made them); a busy file or a full
	 * disk is waited out, not fatal. */
	while ((!x.q && tbd_queue_open(d->cfg.queue, &x.q, &err) < 0) ||
	       (!x.store && tb_store_open(d->cfg.results, &x.store, &err) < 0)) {
		tbd_log(TBD_LOG_WARNING, "board %s: %s (trying again)", w->cfg->name, err.msg);
		set_state(w, TBD_BOARD_OFFLINE, err.msg);
		pthread_mutex_lock(&d->mu);
		wait_locked(d, 1000);
		if (d->stopping) {
			pthread_mutex_unlock(&d->mu);
			goto out;
		}
		pthread_mutex_unlock(&d->mu);
	}
	for (;;) {
		pthread_mutex_lock(&d->mu);
		if (d->stopping) {
			pthread_mutex_unlock(&d->mu);
			break;
		}
		if (w->release) {
			w->release = false;
			if (w->state == TBD_BOARD_QUARANTINED) {
				w->state = TBD_BOARD_OFFLINE;
				w->reason[0] = '\0';
			}
			x.fails = 0;
			x.next_try_ms = 0;
		}
		if (w->state == TBD_BOARD_QUARANTINED) {
			wait_locked(d, 1000);
			pthread_mutex_unlock(&d->mu);
			continue;
		}
		pthread_mutex_unlock(&d->mu);

		if (ensure_connected(&x) < 0) {
			pthread_mutex_lock(&d->mu);
			wait_locked(d, 250);
			pthread_mutex_unlock(&d->mu);
			continue;
		}
		rc = tbd_queue_claim(x.q, w->cfg->name, w->cfg->board, tb_store_path(x.store),
				     &job, &err);
		if (rc < 0) {
			tbd_log(TBD_LOG_ERROR, "board %s: %s", w->cfg->name, err.msg);
			pthread_mutex_lock(&d->mu);
			wait_locked(d, 1000);
			pthread_mutex_unlock(&d->mu);
			continue;
		}
		if (rc == 0) {
			pthread_mutex_lock(&d->mu);
			wait_locked(d, 1000);
			pthread_mutex_unlock(&d->mu);
			continue;
		}
		run_job(&x, &job);
		tbd_job_clear(&job);
	}
out:
	tb_conn_free(x.conn);
	tb_energy_free(x.energy);
	tb_store_close(x.store);
	tbd_queue_close(x.q);
	set_state(w, TBD_BOARD_STOPPED, NULL);
	tbd_log(TBD_LOG_DEBUG, "board %s: worker stopped", w->cfg->name);
	return NULL;
}

int tbd_workers_start(struct tbd *d, struct tb_error *err)
{
	for (int i = 0; i < d->n_workers; i++) {
		struct tbd_worker *w = &d->workers[i];
		int rc = pthread_create(&w->thread, NULL, worker_main, w);

		if (rc)
			return tb_error_set(err, TB_ERR_NOMEM, "cannot start the worker of %s: %s",
					    w->cfg->name, strerror(rc));
		w->started = true;
	}
	return TB_OK;
}

void tbd_workers_join(struct tbd *d)
{
	for (int i = 0; i < d->n_workers; i++)
		if (d->workers[i].started)
			pthread_join(d->workers[i].thread, NULL);
}

void tbd_workers_kick(struct tbd *d)
{
	pthread_mutex_lock(&d->mu);
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->mu);
}
