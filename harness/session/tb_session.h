/*
 * tb_session.h - connecting to a board and running the measurement method.
 *
 * A connection is a transport (pty, serial port), the runner process when
 * the board is `sim`, and a protocol link that has said HELLO.  A run is T
 * trials, each of N timed inferences after W warm-ups, with N chosen so that
 * a trial lasts at least min_time; every finished trial is stored at once
 * (one transaction), so an interrupted or failed run keeps what it measured.
 *
 * Ownership: tb_session_connect() returns a connection the caller frees
 * with tb_conn_free() (NULL accepted); it kills and reaps a spawned runner.
 * A struct tb_run_result is filled by tb_session_run() and its heap parts
 * are freed with tb_run_result_free().  Nothing here prints; progress is
 * reported through the callback in the options.
 */
#ifndef TB_SESSION_H
#define TB_SESSION_H

#include <signal.h>
#include <stdint.h>

#include "tb_board.h"
#include "tb_dut.h"
#include "tb_energy.h"
#include "tb_err.h"
#include "tb_link.h"
#include "tb_stats.h"
#include "tb_store.h"
#include "tbp.h"

enum tb_profile {
	TB_PROFILE_DEFAULT = 0, /* --trials/--min-time as given */
	TB_PROFILE_MLPERF  = 1, /* MLPerf Tiny: 5 trials of >= 10 s each */
};

struct tb_conn;

struct tb_conn_opts {
	const char *port;                /* NULL: spawn (sim) / auto-detect */
	const char *const *runner_args;  /* extra runner arguments (sim), or
					  * test hooks of a QEMU board's
					  * firmware ("hang-at=N") */
	const char *firmware;            /* QEMU board: this image instead of
					  * build/fw/<board>/ (--firmware) */
	/* QEMU board without firmware: run the image that carries this user
	 * model blob (.tbnn) as workload model_name, built or brought up to
	 * date first (tb_firmware_model()).  NULL: the board's built-in
	 * image. */
	const char *model;
	const char *model_name;
	int hello_timeout_ms;            /* 0: default */
	volatile sig_atomic_t *cancel;
	/* Tests only: damage the link with the fault transport, e.g.
	 * "ber=1e-3" (tb_transport_fault.h).  NULL: a clean link. */
	const char *fault;
	/* Serial boards: called before every opening of the port to (re)find
	 * it -- the daemon names a board by USB id and serial number, and a
	 * port that vanished comes back under another name.  Writes the port
	 * into buf.  NULL: use port. */
	int (*find_port)(void *user, char *buf, size_t len, struct tb_error *err);
	void *find_port_user;
	/* A sim board whose protocol is eembc (or auto): the model its runner
	 * serves to EEMBC commands (--eembc-model).  NULL: the runner's
	 * default (the --model one, else the first built-in). */
	const char *eembc_model;
	/* A QEMU board: switch the firmware's timestamp bridge on (its
	 * [qemu] timestamp_line) so that an energy monitor can see the timed
	 * window (docs/ENERGY.md, "QEMU boards"); tb_energy_open() asks for
	 * it.  The firmware must carry the bridge (tbr_fw_tsline). */
	bool timestamp_line;
	/* Boards with reset = power: cycle the target's supply through the
	 * energy monitor that powers it (tb_energy_power_cycle()).  NULL:
	 * no monitor open, such a board cannot be reset. */
	int (*power_cycle)(void *user, struct tb_error *err);
	void *power_cycle_user;
};

/* Open the board's transport, start its runner if it is `sim`, say HELLO. */
int tb_session_connect(const struct tb_board *board,
		       const struct tb_conn_opts *o, struct tb_conn **out,
		       struct tb_error *err);
void tb_conn_free(struct tb_conn *c);

/* Reset a board that stopped answering (restart its runner process, or
 * pulse DTR/RTS, as its board file says) and say HELLO again.  *c may be
 * replaced; on failure it may be NULL. */
int tb_conn_recover(struct tb_conn **c, struct tb_error *err);

/* The tinybench link, or NULL when the device speaks EEMBC. */
struct tb_link *tb_conn_link(struct tb_conn *c);
/* The device, whatever its protocol (tb_dut.h); owned by the connection. */
struct tb_dut *tb_conn_dut(struct tb_conn *c);
/* The byte pipe under the device (its counters: bytes on the wire). */
struct tb_transport *tb_conn_transport(struct tb_conn *c);
const struct tbp_hello_rsp *tb_conn_caps(const struct tb_conn *c);
/* A QEMU board's timestamp bridge (read only), or NULL. */
struct tb_transport *tb_conn_tsline(struct tb_conn *c);
/* Port path or transport description ("pty /dev/pts/4 (spawned runner)"). */
const char *tb_conn_port(const struct tb_conn *c);
/* SHA-256 (hex) of the runner executable / firmware image, or NULL. */
const char *tb_conn_firmware_sha256(const struct tb_conn *c);
/* Static footprint of the firmware image from its ELF (QEMU boards), or
 * TB_STORE_UNKNOWN for both. */
void tb_conn_footprint(const struct tb_conn *c, int64_t *flash_bytes,
		       int64_t *static_ram_bytes);
/* When a link error may mean the runner died: a description of how it
 * ended ("runner exited with status 3"), or NULL if it still runs or the
 * board has no runner process. */
const char *tb_conn_runner_status(struct tb_conn *c);

enum tb_phase {
	TB_PHASE_CONNECT   = 0,
	TB_PHASE_CALIBRATE = 1,
	TB_PHASE_TRIAL     = 2,
	TB_PHASE_DONE      = 3,
	TB_PHASE_RETRY     = 4, /* an attempt failed on the link (message
				 * says why): the board is being reset and
				 * the same trial (or the calibration) run
				 * again */
};

struct tb_progress {
	enum tb_phase phase;
	int trial;          /* 0-based index of the current trial */
	int trials;
	uint32_t inferences;/* N per trial once calibrated */
	double est_trial_s; /* expected duration of a trial */
	double elapsed_s;   /* since the run started */
	int64_t run_id;     /* the stored run once begun, else 0 */
	int attempt;        /* 1, or more while a trial is being retried */
	const char *message;/* TB_PHASE_RETRY: the failure; else NULL.  Valid
			     * during the callback only. */
};

struct tb_run_opts {
	const char *board;
	const char *workload;            /* name or alias ("kws") */
	const char *input_path;          /* NULL: deterministic test inputs */
	const char *model_path;          /* a model blob (.tbnn) to run instead of
	                                  * a built-in workload: the sim runner gets
	                                  * it with --model (docs/IMPORTER.md) */
	const char *db_path;             /* NULL: tb_store_default_path() */
	int trials;                      /* 0: 5 */
	double min_time_s;               /* 0: 1.0 */
	int warmups;                     /* < 0: automatic */
	enum tb_profile profile;
	int infer_timeout_ms;            /* 0: derived from the calibration */
	/* A trial (or the calibration) that fails on the link -- timeout,
	 * runner died, damaged replies -- is run again after the board is
	 * reset (tb_conn_recover), up to max_attempts times in all; it is
	 * stored as failed only when every attempt failed.  0: default (3);
	 * 1: no retry. */
	int max_attempts;
	/* Checked between trials (set it from a signal handler): finish the
	 * current trial, then return TB_ERR_INTERRUPTED leaving the run
	 * "running" in the store -- a checkpoint that resume_run_id
	 * continues.  (conn.cancel instead stops at once and finishes the
	 * run as "interrupted".) */
	volatile sig_atomic_t *stop;
	/* Continue this stored run (status "running", same board, workload
	 * and model) from its first missing trial, with the N and warm-ups
	 * its trials used.  A run that cannot be continued (finished,
	 * another device or model) is marked "interrupted" with the reason
	 * and a new run is begun.  0: a new run. */
	int64_t resume_run_id;
	/* The input bytes for every trial, instead of reading input_path
	 * (input_path, if set, is then only the name recorded). */
	const void *input_data;
	size_t input_len;
	/* Tags to store with the run: n_tags "key=value" texts (the key
	 * 1..64 characters of [A-Za-z0-9_.-]), set with tb_store_tag_set()
	 * once the run is begun or resumed.  A bad tag fails the run before
	 * anything is measured. */
	const char *const *tags;
	int n_tags;
	/* Energy per inference (docs/ENERGY.md): a monitor measures each
	 * trial's timed window; energy.spec NULL = no energy. */
	struct tb_energy_opts energy;
	/* tb_session_run_on() only: an energy monitor the caller opened
	 * (tb_energy_open(), before connecting: it may add the runner's
	 * timestamp line) and keeps across runs, as the daemon's workers do
	 * with their boards'; the run measures energy with it.  NULL: no
	 * energy (energy.spec is not used there). */
	struct tb_energy *monitor;
	struct tb_conn_opts conn;
	void (*progress)(const struct tb_progress *p, void *user);
	void *user;
};

struct tb_trial_result {
	struct tb_trial t;               /* as stored; pointers into this struct */
	char input_hash[65];
	uint8_t output[TBP_MAX_PAYLOAD];
	double duration_s;               /* length of the timed window */
	char reason[TB_ERROR_MSG_MAX];   /* why it failed (t.reason points here) */
};

struct tb_run_result {
	int64_t run_id;                  /* 0 if the run was never stored */
	char db_path[4096];
	char board[TBP_STR_BOARD + 1];
	char workload[TBP_STR_WL_NAME + 1];
	char model_hash[2 * TBP_HASH_SIZE + 1];
	char input_source[512];
	char timing_method[64];
	char firmware_sha256[65];        /* "" if unknown */
	int64_t flash_bytes;             /* firmware footprint, or TB_STORE_UNKNOWN */
	int64_t static_ram_bytes;
	char port[256];
	char energy_method[80];          /* "emulated:ppk2", "measured:lpm01a";
					  * "" without energy */
	char energy_monitor[160];        /* the instrument and where it is */
	struct tbp_hello_rsp caps;
	uint32_t inferences;             /* N per trial */
	uint32_t warmups;                /* W per trial */
	uint32_t arena_planned;          /* the workload's planned arena */
	uint32_t macs;                   /* per inference, 0 if unknown */
	int trials_planned;
	int n_trials;                    /* trials stored (ok and failed) */
	int n_failed;                    /* of which failed */
	int n_resumed;                   /* trials found stored when resuming */
	int n_retried;                   /* trials that needed > 1 attempt */
	char first_failure[TB_ERROR_MSG_MAX];
	struct tb_trial_result *trials;
	struct tb_stats latency_ms;      /* over the trials' mean latencies */
	double throughput;               /* inferences per second, from the median */
	int64_t stack_peak;              /* max over trials */
	int64_t arena_peak;
	int output_checked;              /* outputs compared with the host */
	int output_mismatch;             /* ... and found different */
	struct tb_upload_stats upload;   /* the first input's upload */
	enum tb_run_status status;
	char reason[TB_ERROR_MSG_MAX];
	int64_t started_at;
	int64_t ended_at;
	/* The device's protocol (0 before connecting).  TB_DUT_EEMBC: no
	 * memory figures (stack/arena fields TB_STORE_UNKNOWN), outputs are
	 * float32 values (tb_dut.h). */
	enum tb_dut_protocol protocol;
};

/*
 * Run the measurement method and store it.  Returns 0 when every trial
 * finished; otherwise the error, with res->status/reason describing the
 * stored run (if res->run_id != 0 the run and its finished trials are in
 * the database).
 */
int tb_session_run(const struct tb_run_opts *o, struct tb_run_result *res,
		   struct tb_error *err);

/*
 * The same on a connection and a store the caller owns: what the daemon
 * does, keeping one connection per board open across jobs.  o->board,
 * o->db_path and o->conn.port are not used (the connection's board and
 * the store are); o->conn is used to reconnect.  The run may reset the
 * board (tb_conn_recover), so *conn may be replaced, and is NULL on return
 * if the board could not be brought back; the caller frees what is left.
 * res->db_path is the store's path.  With o->monitor the run measures
 * energy per inference with that monitor, which stays the caller's.
 * Return value as tb_session_run().
 */
int tb_session_run_on(struct tb_conn **conn, struct tb_store *store,
		      const struct tb_run_opts *o, struct tb_run_result *res,
		      struct tb_error *err);
/* The board a connection was made for (owned by the caller's registry). */
const struct tb_board *tb_conn_board(const struct tb_conn *c);
void tb_run_result_free(struct tb_run_result *res);

/* Resolve a workload name or alias ("kws" -> "kws01"); NULL if unknown.
 * `names` (may be NULL) receives "kws01 (kws), ..." for error messages. */
const struct tb_workload *tb_session_find_workload(const char *name,
						   char *names, size_t len);

/* A model file (.tbnn) as the user workload: id TB_WL_USER, named by
 * tb_session_model_name(), its model hash the blob's SHA-256 (run --model,
 * run --mode accuracy --model).  On error *out may be set: free it. */
struct tb_user_model;
struct tb_workload;
int tb_user_model_load(const char *path, struct tb_user_model **out, struct tb_error *err);
const struct tb_workload *tb_user_model_workload(const struct tb_user_model *u);
const char *tb_user_model_name(const struct tb_user_model *u);
void tb_user_model_free(struct tb_user_model *u);

/* The name a user model (run --model FILE) has on the wire: the file
 * name up to its first '.', printable, at most 16 characters;
 * "user-model" if that is empty or a built-in workload's name.  out:
 * at least 17 bytes. */
void tb_session_model_name(const char *path, char *out, size_t len);

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
void tb_hex(const uint8_t *in, size_t n, char *out);
/* SHA-256 of a file (a runner, a firmware image, a model) as 64 lowercase
 * hex digits into out; -1 if it cannot be read to the end. */
int tb_sha256_file(const char *path, char out[65]);

#endif
