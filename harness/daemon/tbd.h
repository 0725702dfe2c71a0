/*
 * tbd.h - inside tinybenchd.  Not a public header: the daemon's public
 * face is its socket API (docs/DAEMON.md) and tb_daemon.h.
 *
 * Threads and who owns what:
 *  - The main thread runs the event loop (tbd_server.c): it owns the
 *    listening sockets, every client connection and their buffers, and its
 *    own handle on the queue file.  It never talks to a board.
 *  - One worker thread per configured board instance (tbd_worker.c) owns
 *    that board's connection (struct tb_conn: port, runner process, link),
 *    kept open across jobs, its own handles on the queue and results
 *    files, and the job it is running.
 *  - struct tbd below is shared.  Fields marked [mu] are read and written
 *    under tbd.mu; the rest are set before the threads start and read-only
 *    afterwards.  Workers hand events (progress, log lines, job ends) to the
 *    main thread through tbd.events [mu] and a byte on the wake pipe; the
 *    main thread hands requests to workers through the [mu] fields of
 *    struct tbd_worker and tbd.cond.
 */
#ifndef TBD_H
#define TBD_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tb_board.h"
#include "tb_err.h"
#include "tbd_queue.h"

#define TBD_NAME_MAX 32            /* board instance names: [A-Za-z0-9_.-] */
#define TBD_MAX_BOARDS 64
#define TBD_MAX_REQUEST 65536      /* one request line, newline included */
#define TBD_MAX_CLIENTS_DEFAULT 256
#define TBD_CLIENT_OUT_MAX (4u << 20) /* unsent bytes before a client is dropped */
#define TBD_MAX_INTERRUPTIONS 3

/* ---- configuration (tbd_config.c) ------------------------------------ */

struct tbd_board_config {
	char name[TBD_NAME_MAX + 1];  /* instance: "sim-a", "apollo3-bench1" */
	char board[TBD_NAME_MAX + 1]; /* board file's name: "sim" */
	char port[256];               /* fixed port, or "" */
	bool has_usb;                 /* find the port by USB id (+ serial) */
	uint16_t vid, pid;
	char serial[128];             /* USB serial number, "" = any */
	char monitor[300];            /* energy monitor: DRIVER[:PORT] or default,
				       * "" = none configured (tbd_worker.c) */
	char monitor_args[512];       /* tests: extra emulated-monitor arguments */
	int retries;                  /* trial retries after a reset; -1 default */
	int timeout_ms;               /* INFER timeout, 0 = from calibration */
	int quarantine_after;         /* consecutive failures before quarantine */
	int port_wait_ms;             /* how long to wait for a vanished port */
	char runner_args[512];        /* tests: extra runner arguments */
	char fault[256];              /* tests: fault transport spec */
	int line;                     /* where it was declared */
};

struct tbd_config {
	char path[4096];              /* the config file */
	char socket[108];             /* Unix socket path */
	unsigned socket_mode;         /* 0600 or 0660 */
	char socket_group[64];
	char queue[4096];
	char results[4096];
	char boards_dir[4096];        /* extra board folder, "" none */
	char listen[128];             /* "" off; "[host:]port" */
	char token_file[4096];
	int log_level;                /* enum tbd_log_level */
	int max_clients;
	int64_t max_queued;
	struct tbd_board_config boards[TBD_MAX_BOARDS];
	int n_boards;
};

/* Defaults filled, then the file read (strict: unknown keys are errors). */
int tbd_config_load(const char *path, struct tbd_config *cfg, struct tb_error *err);
/* Config with defaults only (no file): paths from XDG. */
int tbd_config_defaults(struct tbd_config *cfg, struct tb_error *err);
/* Default socket path for this user ($XDG_RUNTIME_DIR, else /run). */
int tbd_default_socket(char *buf, size_t len);
/* [A-Za-z0-9_.-]{1,max} */
bool tbd_valid_name(const char *s, size_t max);

/* ---- logging (tbd_log.c) --------------------------------------------- */

void tbd_log_init(int level);
void tbd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* sd_notify(3) without libsystemd: "READY=1", "STOPPING=1". */
void tbd_notify(const char *state);

/* ---- USB port finding (tbd_port.c) ----------------------------------- */

struct tb_serial_port_info;
/* Does this port match vid:pid (+ serial when not "")? */
bool tbd_port_matches(const struct tb_serial_port_info *p, uint16_t vid,
		      uint16_t pid, const char *serial);
/* Find the port of a board by USB id, waiting up to wait_ms for it to
 * (re)appear.  TB_ERR_NOTFOUND names what was looked for; TB_ERR_BUSY if
 * several ports match. */
int tbd_port_find(uint16_t vid, uint16_t pid, const char *serial, int wait_ms,
		  char *port, size_t len, struct tb_error *err);

/* ---- shared state ---------------------------------------------------- */

enum tbd_board_state {
	TBD_BOARD_OFFLINE     = 0, /* no connection (yet) */
	TBD_BOARD_IDLE        = 1,
	TBD_BOARD_BUSY        = 2,
	TBD_BOARD_QUARANTINED = 3,
	TBD_BOARD_STOPPED     = 4,
};

struct tbd;

struct tbd_worker {
	struct tbd *d;
	const struct tbd_board_config *cfg;
	const struct tb_board *board;  /* from d->registry */
	pthread_t thread;
	bool started;
	/* [mu] */
	enum tbd_board_state state;
	int64_t job_id;                /* running, 0 none */
	int64_t cancel_id;             /* a client asked to cancel this job */
	char reason[512];              /* quarantine / offline reason */
	char port[256];                /* what it is connected to */
	int64_t jobs_done;
	bool release;                  /* lift the quarantine */
	/* set by the main thread, read by the session (signal-safe type) */
	volatile sig_atomic_t cancel;  /* stop the running job now */
	volatile sig_atomic_t stop;    /* finish the current trial, checkpoint */
};

struct tbd_event {
	struct tbd_event *next;
	int64_t job;
	bool end;                      /* the job ended: watchers are done */
	size_t len;
	char line[];                   /* one JSON line, '\n' included */
};

struct tbd {
	struct tbd_config cfg;
	struct tb_board_registry *registry;
	struct tbd_worker workers[TBD_MAX_BOARDS];
	int n_workers;
	char token[512];               /* TCP token, "" = no TCP listener */
	pthread_mutex_t mu;
	pthread_cond_t cond;           /* workers wait here for jobs [mu] */
	bool stopping;                 /* [mu] */
	bool aborting;                 /* [mu] second signal */
	struct tbd_event *events, **events_tail; /* [mu] */
	int wake[2];                   /* worker -> main loop */
	int64_t started_ms;
};

/* Worker side (tbd_worker.c). */
int tbd_workers_start(struct tbd *d, struct tb_error *err);
void tbd_workers_join(struct tbd *d);
/* Wake the workers (a job was queued, a quarantine lifted, stopping). */
void tbd_workers_kick(struct tbd *d);
const char *tbd_board_state_name(enum tbd_board_state s);
/* The energy monitor an instance measures with (docs/DAEMON.md, "Energy"):
 * its monitor = (DRIVER[:PORT]), else "default" (the board file's
 * energy_monitor); NULL if it has none (monitor = none, or neither). */
const char *tbd_monitor_spec(const struct tbd_worker *w);

/* Hand an event line to the main thread (any thread). */
void tbd_emit(struct tbd *d, int64_t job, bool end, const char *line, size_t len);

/* Main loop (tbd_server.c). */
int tbd_server_run(struct tbd *d, struct tb_error *err);

#endif
