/*
 * tb_store.h - the results store: one SQLite file holding every run and the
 * trials measured in it.  The schema is documented in docs/SCHEMA.md.
 *
 * Ownership
 *   - struct tb_store is opaque; tb_store_open() allocates it and
 *     tb_store_close() frees it (NULL is accepted).
 *   - Structs and strings passed *in* stay owned by the caller; the store
 *     copies what it needs before returning.
 *   - Structs handed to foreach callbacks, and every pointer inside them,
 *     belong to the store and are valid only until the callback returns.
 *     Copy what must outlive the call.
 *   - tb_store_run_get() returns one heap block owned by the caller, freed
 *     with tb_store_run_free().
 *   - tb_store_trace_get() returns a malloc()ed array owned by the caller,
 *     freed with free().
 *
 * Values
 *   - Times are Unix time in milliseconds (UTC).
 *   - A NULL string is stored as SQL NULL and read back as NULL.
 *   - An integer field marked "optional" may be TB_STORE_UNKNOWN (any
 *     negative value is taken as unknown): it is stored as SQL NULL and read
 *     back as TB_STORE_UNKNOWN.  Other integer fields must be >= 0.
 *   - A double that is NaN means "not measured": stored as NULL, read back
 *     as NaN.
 *
 * Threads and processes
 *   A struct tb_store must be used by one thread at a time.  Several
 *   processes (or several handles) may open the same file at once: the file
 *   is in WAL mode and a writer waits up to TB_STORE_BUSY_TIMEOUT_MS for
 *   another one before failing with TB_ERR_BUSY.
 *
 * Errors
 *   Every function returns 0 or a negative enum tb_err and, when err is not
 *   NULL, leaves a message in it naming the file, the run or the trial, with
 *   SQLite's own message kept.  Nothing is printed.
 */
#ifndef TB_STORE_H
#define TB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"

/* Schema version this build writes (PRAGMA user_version).  Databases with a
 * lower version are migrated on open; a higher one is refused. */
#define TB_STORE_SCHEMA_VERSION 4

/* PRAGMA application_id of a tinybench results database ("tinb"). */
#define TB_STORE_APPLICATION_ID 0x74696e62

#define TB_STORE_BUSY_TIMEOUT_MS 5000

/* Value of an optional integer field that is not known. */
#define TB_STORE_UNKNOWN ((int64_t)-1)

struct tb_store;

/*
 * Stored status values.  The numbers are this API's; the database stores
 * the text given in the comment, which is stable and may only be appended
 * to (docs/SCHEMA.md).
 */
enum tb_run_status {
	TB_RUN_RUNNING     = 0, /* "running": begun, not finished (yet) */
	TB_RUN_OK          = 1, /* "ok" */
	TB_RUN_FAILED      = 2, /* "failed" */
	TB_RUN_INTERRUPTED = 3, /* "interrupted": stopped by the user/signal */
};

enum tb_trial_status {
	TB_TRIAL_OK     = 0, /* "ok" */
	TB_TRIAL_FAILED = 1, /* "failed" */
};

enum tb_output_check {
	TB_OUTPUT_UNCHECKED = 0, /* "unchecked": no reference to compare with */
	TB_OUTPUT_MATCH     = 1, /* "match" */
	TB_OUTPUT_MISMATCH  = 2, /* "mismatch" */
};

/* What is known about a run when it starts. */
struct tb_run_info {
	const char *board;            /* board name (required) */
	const char *board_cpu;        /* e.g. "cortex-m4" */
	int64_t board_clock_hz;       /* optional: core clock */
	int64_t timer_hz;             /* optional: tick rate of the timer used */
	const char *timing_method;    /* e.g. "host-monotonic-clock" */
	const char *workload;         /* workload name (required) */
	const char *model_hash;       /* hex digest of the model, or NULL */
	const char *runner_version;   /* device runner's version string */
	const char *runner_build_id;  /* device runner's build id (git rev) */
	int64_t protocol_version;     /* optional: wire protocol version */
	const char *harness_version;
	const char *harness_build_id;
	const char *host;             /* host name of the machine running it */
	const char *port;             /* serial port / pty / transport address */
	const char *input_source;     /* where inputs came from (dataset, file) */
	const char *params_json;      /* all run parameters as a JSON text
				       * (stored as given, not validated) */
	int64_t started_at;           /* Unix ms (required) */
	/* Schema version 2.  A zero-initialised struct leaves flash_bytes and
	 * static_ram_bytes at 0 (a size, stored as such): set them to
	 * TB_STORE_UNKNOWN when they are not known. */
	const char *firmware_sha256;  /* hex SHA-256 (64 digits) of the runner
				       * executable or firmware image, or NULL */
	int64_t flash_bytes;          /* optional: text + rodata + initialised
				       * data of the firmware ELF */
	int64_t static_ram_bytes;     /* optional: data + bss */
	const char *energy_method;    /* NULL: no energy measured; else
				       * "measured:<instrument>" (a real meter)
				       * or "emulated:<instrument>" (an
				       * emulator), e.g. "measured:ppk2",
				       * "emulated:lpm01a"; instrument is
				       * [A-Za-z0-9_.-]+ */
};

/* A run as read back. */
struct tb_run {
	int64_t id;
	struct tb_run_info info;
	enum tb_run_status status;
	const char *reason;           /* why it failed/was interrupted, or NULL */
	int64_t ended_at;             /* optional: Unix ms; unknown while running */
};

/* One trial: a batch of timed inferences on the device. */
struct tb_trial {
	int64_t idx;                  /* position in the run, from 0 */
	int64_t started_at;           /* Unix ms */
	int64_t ended_at;             /* Unix ms */
	int64_t inferences;           /* timed inferences in the trial */
	int64_t warmups;              /* untimed inferences run before them */
	uint64_t ticks;               /* total elapsed timer ticks for the timed
				       * inferences; must be <= INT64_MAX */
	int64_t timer_hz;             /* optional: tick rate of ticks */
	double latency_ms;            /* mean per inference, or NaN */
	double inf_min_ms;            /* fastest single inference, or NaN */
	double inf_max_ms;            /* slowest single inference, or NaN */
	int64_t stack_peak;           /* optional: bytes of stack used */
	int64_t stack_size;           /* optional: bytes of stack available */
	int64_t arena_peak;           /* optional: bytes of tensor arena used */
	int64_t arena_size;           /* optional: bytes of tensor arena */
	const char *input_hash;       /* hex SHA-256 of the input, or NULL */
	const void *output;           /* raw output tensor bytes, or NULL */
	size_t output_len;            /* bytes at output (0 = no output) */
	enum tb_output_check output_check;
	enum tb_trial_status status;
	const char *reason;           /* why it failed, or NULL */
	/* Schema version 2.  A zero-initialised struct leaves the counts at 0
	 * (stored as 0): set them to TB_STORE_UNKNOWN when not counted. */
	int64_t link_retries;         /* optional: requests repeated because a
				       * frame was damaged or lost */
	int64_t frames_dropped;       /* optional: damaged frames received */
	/*
	 * Energy figures.  They need the run's energy_method: in a run without
	 * one they must be unset (NaN / negative) or 0 -- what a zeroed struct
	 * holds -- and are stored as NULL; any other value is TB_ERR_ARG, so
	 * that no energy figure is stored without saying whether a meter or an
	 * emulator produced it.  In a run with an energy_method, a set value
	 * must be finite and >= 0 (window and sample rate > 0).
	 */
	double energy_uj;             /* energy per inference, microjoules */
	double power_mw;              /* mean power over the timed window, mW */
	double energy_window_ms;      /* length of the integration window, ms */
	int64_t energy_samples;       /* optional: meter samples integrated */
	double energy_sample_hz;      /* meter sample rate, Hz */
	int64_t energy_lost_samples;  /* optional: samples the meter lost */
	/* Schema version 3.  0 (a zeroed struct) or negative: not counted,
	 * stored as NULL. */
	int64_t attempts;             /* optional: times the trial was run; > 1
				       * when it failed on the link, the board
				       * was reset and it was run again */
};

/*
 * Selects runs.  A zeroed filter (or a NULL pointer) selects everything;
 * each set field narrows the selection (fields are ANDed).
 */
struct tb_store_filter {
	const char *board;            /* exact board name, or NULL for any */
	const char *workload;         /* exact workload name, or NULL for any */
	int64_t run_id;               /* one run, or 0 for any */
	const char *tag;              /* "key=value": runs with that tag and
				       * value; "key": runs having the tag at
				       * all; NULL for any.  A malformed text
				       * makes the walk fail with TB_ERR_ARG. */
};

/* Return 0 to continue, non-zero to stop the walk. */
typedef int (*tb_store_run_cb)(const struct tb_run *run, void *user);
typedef int (*tb_store_trial_cb)(const struct tb_run *run,
				 const struct tb_trial *trial, void *user);
typedef int (*tb_store_tag_cb)(const char *key, const char *value, void *user);

/* Limits of run tags (tb_store_tag_set()). */
#define TB_STORE_TAG_KEY_MAX   64	/* characters of [A-Za-z0-9_.-] */
#define TB_STORE_TAG_VALUE_MAX 1024	/* bytes */

/*
 * Default location: $XDG_DATA_HOME/tinybench/results.db, or
 * $HOME/.local/share/tinybench/results.db when XDG_DATA_HOME is unset, empty
 * or relative (as the XDG Base Directory spec says).  Writes a
 * NUL-terminated path into the caller's buf.
 * TB_ERR_NOTFOUND if neither variable is usable, TB_ERR_ARG if len is too
 * small.
 */
int tb_store_default_path(char *buf, size_t len, struct tb_error *err);

/*
 * Open (creating if needed) the results database at path and bring its
 * schema to TB_STORE_SCHEMA_VERSION.  Missing parent directories are created
 * (mode 0700, as XDG asks for data directories).  ":memory:" opens a private
 * in-memory store.  *store is set to the new handle, or NULL on error.
 *
 * Errors: TB_ERR_IO (cannot create directories or open/write the file),
 * TB_ERR_FORMAT (the file is not a SQLite database, or is one that does not
 * belong to tinybench), TB_ERR_UNSUPPORTED (written by a newer tinybench: the
 * file is not modified), TB_ERR_BUSY, TB_ERR_DB, TB_ERR_NOMEM.
 */
int tb_store_open(const char *path, struct tb_store **store,
		  struct tb_error *err);

/* Close and free.  NULL is accepted. */
void tb_store_close(struct tb_store *store);

/* The path given to tb_store_open(); owned by the store. */
const char *tb_store_path(const struct tb_store *store);

/* Stable text of a status ("ok"); NULL for a value outside the enum. */
const char *tb_store_run_status_name(enum tb_run_status status);
const char *tb_store_trial_status_name(enum tb_trial_status status);
const char *tb_store_output_check_name(enum tb_output_check check);

/*
 * Record the start of a run (status "running") and return its id (> 0) in
 * *run_id.  TB_ERR_ARG if board, workload or started_at is missing, or
 * model_hash is not hexadecimal.
 */
int tb_store_run_begin(struct tb_store *store, const struct tb_run_info *info,
		       int64_t *run_id, struct tb_error *err);

/*
 * Finish a running run with status ok, failed or interrupted, an optional
 * reason and the end time (Unix ms).  TB_ERR_NOTFOUND for an unknown run,
 * TB_ERR_ARG for status TB_RUN_RUNNING or a run that is already finished.
 */
int tb_store_run_finish(struct tb_store *store, int64_t run_id,
			enum tb_run_status status, const char *reason,
			int64_t ended_at, struct tb_error *err);

/*
 * Append one trial to a running run, in its own transaction: once this
 * returns 0 the trial survives a crash or interruption of the caller.
 * TB_ERR_NOTFOUND for an unknown run; TB_ERR_ARG for a finished run, a
 * trial index already present, ticks > INT64_MAX, a negative count or a
 * non-hexadecimal input_hash.
 */
int tb_store_trial_add(struct tb_store *store, int64_t run_id,
		       const struct tb_trial *trial, struct tb_error *err);

/*
 * Look up one run.  On success *run is a single heap block owned by the
 * caller (strings included), to be freed with tb_store_run_free().
 * TB_ERR_NOTFOUND if there is no such run (*run set to NULL).
 */
int tb_store_run_get(struct tb_store *store, int64_t run_id,
		     struct tb_run **run, struct tb_error *err);

/* Free what tb_store_run_get() returned.  NULL is accepted. */
void tb_store_run_free(struct tb_run *run);

/* Number of trials stored for a run.  TB_ERR_NOTFOUND for an unknown run. */
int tb_store_trial_count(struct tb_store *store, int64_t run_id,
			 int64_t *count, struct tb_error *err);

/*
 * Call cb for each run selected by f (NULL = all), in ascending id order.
 * Returns 0 after the last run, a negative tb_err on a database error, or
 * the callback's non-zero value unchanged if it stopped the walk (err is
 * then left as the callback left it).  The store must not be modified from
 * inside the callback.
 */
int tb_store_runs_foreach(struct tb_store *store,
			  const struct tb_store_filter *f,
			  tb_store_run_cb cb, void *user,
			  struct tb_error *err);

/*
 * Call cb for each trial of the runs selected by f, together with its run,
 * ordered by run id then trial idx.  Return value as tb_store_runs_foreach().
 */
int tb_store_trials_foreach(struct tb_store *store,
			    const struct tb_store_filter *f,
			    tb_store_trial_cb cb, void *user,
			    struct tb_error *err);

/*
 * Store the power trace of one trial: n > 0 values of mean power in
 * milliwatts, one per bin of 1 / bin_hz seconds, kept as float32
 * little-endian.  NaN may mark a bin without samples.  One transaction.
 * The trial must exist (TB_ERR_NOTFOUND naming the run or trial); the run
 * may be finished.  TB_ERR_ARG for n == 0, a NULL mw, a bin_hz that is not
 * a finite number > 0, or a trial that already has a trace.
 */
int tb_store_trace_add(struct tb_store *store, int64_t run_id, int64_t idx,
		       double bin_hz, const float *mw, size_t n,
		       struct tb_error *err);

/*
 * Read the power trace of one trial.  On success *mw is a malloc()ed array
 * of *n values owned by the caller (free() it) and *bin_hz its bin rate
 * (bin_hz may be NULL).  TB_ERR_NOTFOUND if the trial has no trace (*mw = NULL, *n = 0).
 */
int tb_store_trace_get(struct tb_store *store, int64_t run_id, int64_t idx,
		       double *bin_hz, float **mw, size_t *n,
		       struct tb_error *err);

/*
 * Label a run (any status): insert the tag, or replace the value of an
 * existing key.  key: 1..TB_STORE_TAG_KEY_MAX characters of [A-Za-z0-9_.-];
 * value: text of at most TB_STORE_TAG_VALUE_MAX bytes ("" allowed, NULL
 * not).  TB_ERR_ARG for a bad key or value, TB_ERR_NOTFOUND for an unknown
 * run.
 */
int tb_store_tag_set(struct tb_store *store, int64_t run_id, const char *key,
		     const char *value, struct tb_error *err);

/*
 * Call cb for each tag of a run, in key order (bytewise).  The strings are
 * the store's, valid during the call.  TB_ERR_NOTFOUND for an unknown run;
 * otherwise as tb_store_runs_foreach().
 */
int tb_store_tags_foreach(struct tb_store *store, int64_t run_id,
			  tb_store_tag_cb cb, void *user,
			  struct tb_error *err);

#endif
