/*
 * tbd_queue.h - the daemon's job queue: one SQLite file (docs/DAEMON.md,
 * "The queue file").
 *
 * The queue is the daemon's state, not results: it lives in its own file
 * ($XDG_STATE_HOME/tinybench/queue.db by default), while the runs a job
 * produces go to the results database; a job records the id of its run
 * and the path of that database, and the run carries the tag job=<id>.
 *
 * Every statement is prepared (values are bound, never formatted into SQL);
 * the file is in WAL mode with synchronous = FULL, so a job acknowledged to
 * a client survives a crash, a kill -9 or a power cut.  Job states are
 * stored as the text of enum tbd_job_state (stable, only appended to).
 *
 * Threads: a struct tbd_queue is used by one thread at a time; the daemon
 * opens one per thread (server + each board worker) on the same file, and
 * writers wait for each other up to TBD_QUEUE_BUSY_MS.
 *
 * Ownership: struct tbd_job is filled by the caller-owned struct; its
 * params_json and input are heap copies freed by tbd_job_clear().  Strings
 * passed in are copied before the call returns.
 */
#ifndef TBD_QUEUE_H
#define TBD_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"

#define TBD_QUEUE_SCHEMA_VERSION 1
#define TBD_QUEUE_APPLICATION_ID 0x74626471 /* "tbdq" */
#define TBD_QUEUE_BUSY_MS 10000

/* Stored as text; values only appended to. */
enum tbd_job_state {
	TBD_JOB_QUEUED    = 0, /* "queued": waiting for a worker of its board */
	TBD_JOB_RUNNING   = 1, /* "running": a worker has it */
	TBD_JOB_DONE      = 2, /* "done": its run finished ok */
	TBD_JOB_FAILED    = 3, /* "failed": its run failed, or it could not run */
	TBD_JOB_CANCELLED = 4, /* "cancelled": by a client */
};

#define TBD_JOB_NSTATES 5

enum tbd_log_level {
	TBD_LOG_ERROR   = 0,
	TBD_LOG_WARNING = 1,
	TBD_LOG_INFO    = 2,
	TBD_LOG_DEBUG   = 3,
};

struct tbd_job {
	int64_t id;
	enum tbd_job_state state;
	char board[64];            /* as submitted: a board instance or board name */
	char workload[33];
	char *params_json;         /* the validated request's parameters */
	void *input;               /* input bytes, or NULL */
	size_t input_len;
	char submitter[64];        /* "uid 1000", "tcp 127.0.0.1:5122" */
	int64_t submitted_at;      /* Unix ms */
	int64_t started_at;        /* 0 = not yet */
	int64_t ended_at;          /* 0 = not yet */
	char worker[64];           /* instance that took it last, "" none */
	int64_t run_id;            /* 0 = no run yet */
	char results_db[1024];
	int starts;                /* times a worker took it */
	int interruptions;         /* times the daemon stopped under it */
	char reason[512];          /* why it failed / was requeued, "" */
	char *result_json;         /* run summary (JSON object) once ended, or NULL */
};

struct tbd_queue;

const char *tbd_job_state_name(enum tbd_job_state s);
int tbd_job_state_parse(const char *name);   /* -1 if unknown */
const char *tbd_log_level_name(enum tbd_log_level l);
void tbd_job_clear(struct tbd_job *job);

/* $XDG_STATE_HOME/tinybench/queue.db (or ~/.local/state/...). */
int tbd_queue_default_path(char *buf, size_t len, struct tb_error *err);

/* Open/create and migrate.  Parent folders are created 0700. */
int tbd_queue_open(const char *path, struct tbd_queue **out, struct tb_error *err);
void tbd_queue_close(struct tbd_queue *q);

int tbd_queue_submit(struct tbd_queue *q, const char *board, const char *workload,
		     const char *params_json, const void *input, size_t input_len,
		     const char *submitter, int64_t *id, struct tb_error *err);

/*
 * Take the oldest queued job whose board is `instance` or `board` (the
 * instance's board name): it becomes running, started by instance, with
 * starts + 1; a log line is added in the same transaction.  Returns 1 and
 * fills job, or 0 when there is none.
 */
int tbd_queue_claim(struct tbd_queue *q, const char *instance, const char *board,
		    const char *results_db, struct tbd_job *job, struct tb_error *err);

/* The job's run, as soon as it is known. */
int tbd_queue_set_run(struct tbd_queue *q, int64_t id, int64_t run_id,
		      struct tb_error *err);

/* End a running job: done, failed or cancelled, with reason and result. */
int tbd_queue_finish(struct tbd_queue *q, int64_t id, enum tbd_job_state state,
		     const char *reason, const char *result_json,
		     struct tb_error *err);

/* Put a running job back in the queue (the daemon is stopping; the run is
 * checkpointed), counting an interruption. */
int tbd_queue_requeue(struct tbd_queue *q, int64_t id, const char *reason,
		      struct tb_error *err);

/*
 * At start: every job left running by a daemon that died is requeued with
 * an interruption counted and a log line, or failed once it has been
 * interrupted more than max_interruptions times.
 */
int tbd_queue_recover(struct tbd_queue *q, int max_interruptions, int *requeued,
		      int *failed, struct tb_error *err);

/* Cancel a queued job (returns 1), or report its state without changing
 * it (returns 0; *state set). TB_ERR_NOTFOUND for an unknown job. */
int tbd_queue_cancel_queued(struct tbd_queue *q, int64_t id,
			    enum tbd_job_state *state, struct tb_error *err);

int tbd_queue_get(struct tbd_queue *q, int64_t id, struct tbd_job *job,
		  struct tb_error *err);

typedef int (*tbd_job_cb)(const struct tbd_job *job, void *user);

/* Jobs newest first; state < 0 for any, board NULL for any; at most limit. */
int tbd_queue_list(struct tbd_queue *q, int state, const char *board, int limit,
		   tbd_job_cb cb, void *user, struct tb_error *err);

/* Count of jobs per state (counts[TBD_JOB_NSTATES]). */
int tbd_queue_counts(struct tbd_queue *q, int64_t counts[TBD_JOB_NSTATES],
		     struct tb_error *err);

int tbd_queue_log(struct tbd_queue *q, int64_t id, enum tbd_log_level level,
		  const char *message, struct tb_error *err);

typedef int (*tbd_log_cb)(int64_t seq, int64_t at, enum tbd_log_level level,
			  const char *message, void *user);

/* Log lines of a job with seq > after, in order. */
int tbd_queue_logs(struct tbd_queue *q, int64_t id, int64_t after,
		   tbd_log_cb cb, void *user, struct tb_error *err);

/* Quarantine of board instances: set (replacing), clear, walk. */
int tbd_queue_quarantine(struct tbd_queue *q, const char *instance,
			 const char *reason, struct tb_error *err);
int tbd_queue_release(struct tbd_queue *q, const char *instance,
		      struct tb_error *err);
typedef int (*tbd_quarantine_cb)(const char *instance, const char *reason,
				 int64_t since, void *user);
int tbd_queue_quarantined(struct tbd_queue *q, tbd_quarantine_cb cb, void *user,
			  struct tb_error *err);

/* PRAGMA integrity_check: TB_OK or TB_ERR_FORMAT with SQLite's first line. */
int tbd_queue_check(struct tbd_queue *q, struct tb_error *err);

#endif
