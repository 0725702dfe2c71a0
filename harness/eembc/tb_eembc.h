/*
 * tb_eembc.h - the host end of the EEMBC serial protocol, which MLPerf Tiny
 * benchmark firmware speaks (docs/EEMBC.md): `name%`, `profile%`,
 * `db load N%` + `db <hex>%` uploads, `infer N W%` with `m-lap-us-`
 * timestamps and `m-results-[...]`.
 *
 * The device is untrusted input: lines are bounded (TB_EEMBC_LINE_MAX; a
 * longer one is cut and refused), numbers are checked for syntax and range
 * before they are believed, and the known quirks of real firmware are
 * tolerated: a trailing comma in m-results, stray debug lines (anything
 * not starting "m-" or "e-"), an m-ready left over from start-up, the
 * misspelt "Insufficent number of hex digits" error.  Commands respect the
 * firmware's 80-character command buffer: `db` carries 31 bytes (62 hex
 * digits) as the MLPerf Tiny runners do, and the host waits for m-ready
 * after every command (the firmware parses commands in the buffer the UART
 * keeps filling, so a second command in flight would corrupt the first).
 *
 * Two links (docs/EEMBC.md): the DUT's UART itself, or MLPerf Tiny's IO
 * manager in between (io_manager): every command goes as `dut CMD%`, the
 * IO manager answers `m-dut-passthrough(CMD)` and its own `m-ready`, then
 * relays the DUT's lines prefixed `[dut]: ` up to the DUT's `m-ready`.
 * Energy-mode firmware (energy_mode) marks its timed window with GPIO
 * pulses an energy monitor records instead of m-lap-us lines: `infer`
 * then reports no time (elapsed_us 0).
 *
 * Layers: tb_eembc_parse_line() classifies one line (pure, no I/O; the
 * tests feed it the quirks); struct tb_eembc is a driver on a transport;
 * tb_eembc_dut_new() wraps it as a device driver for sessions (tb_dut.h).
 *
 * Ownership: tb_eembc_new() returns a driver the caller frees with
 * tb_eembc_free() (NULL accepted); it borrows the transport, which the
 * caller closes afterwards.  Values returned in struct tb_eembc_infer
 * point into the driver and stay valid until the next call.  One thread
 * at a time.
 */
#ifndef TB_EEMBC_H
#define TB_EEMBC_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"
#include "tb_link.h"

struct tb_transport;
struct tb_dut;
struct tb_board;

#define TB_EEMBC_LINE_MAX    16384 /* longest reply line accepted */
#define TB_EEMBC_TEXT_MAX    127   /* name, profile, model, error text */
#define TB_EEMBC_MAX_VALUES  4096  /* numbers in one m-results line */
#define TB_EEMBC_CMD_MAX     80    /* the firmware's command buffer */
#define TB_EEMBC_DB_BYTES    31    /* bytes per `db` command (MLPerf runners) */

/* ----------------------------------------------------------------------
 * One reply line
 */
enum tb_eembc_kind {
	TB_EEMBC_READY = 1,        /* m-ready */
	TB_EEMBC_NAME,             /* m-name-dut-[text] (also m-name-[text]) */
	TB_EEMBC_PROFILE,          /* m-profile-[text] */
	TB_EEMBC_MODEL,            /* m-model-[text] */
	TB_EEMBC_EXPECTING,        /* m-[Expecting N bytes] */
	TB_EEMBC_LOAD_DONE,        /* m-load-done */
	TB_EEMBC_WARMUP_START,     /* m-warmup-start-N */
	TB_EEMBC_WARMUP_DONE,      /* m-warmup-done */
	TB_EEMBC_INFER_START,      /* m-infer-start-N */
	TB_EEMBC_LAP_US,           /* m-lap-us-N (N < 2^32) */
	TB_EEMBC_INFER_DONE,       /* m-infer-done */
	TB_EEMBC_RESULTS,          /* m-results-[v,v,...] (trailing comma ok) */
	TB_EEMBC_ERROR,            /* e-[text] */
	TB_EEMBC_INIT_DONE,        /* m-init-done */
	TB_EEMBC_OTHER,            /* another m- line (m-timestamp-mode-...,
				    * m-buffer-..., m-dut-passthrough(...)) */
	TB_EEMBC_STRAY,            /* not an m-/e- line: debug output */
	TB_EEMBC_MALFORMED,        /* a known m- line whose value is bad */
};

struct tb_eembc_line {
	enum tb_eembc_kind kind;
	uint64_t number;           /* EXPECTING, WARMUP_START, INFER_START, LAP_US */
	char text[TB_EEMBC_TEXT_MAX + 1]; /* NAME, PROFILE, MODEL, ERROR, and
					   * why for MALFORMED; printable,
					   * cut to fit */
	size_t n_values;           /* RESULTS: values written */
};

/*
 * Classify one line (without its line end; a trailing '\r' is ignored).
 * RESULTS values go to values[0..max_values); more than max_values, a
 * value that is not a finite decimal number (optional sign, digits, one
 * point, optional exponent) or an empty item other than a trailing one
 * makes the line MALFORMED.  Never fails otherwise.
 */
void tb_eembc_parse_line(const char *line, size_t len, struct tb_eembc_line *out,
			 double *values, size_t max_values);

/* Name of a kind ("m-lap-us"), for messages. */
const char *tb_eembc_kind_name(enum tb_eembc_kind k);

/* ----------------------------------------------------------------------
 * The driver
 */
struct tb_eembc_config {
	uint32_t bytes_per_sec;    /* line rate for timeouts; 0: not limited */
	int cmd_timeout_ms;        /* base wait for a command's m-ready; 0: 2000 */
	int hello_attempts;        /* `name%` tries; 0: 3 */
	int hello_timeout_ms;      /* per try; 0: 1000 */
	uint32_t db_bytes;         /* bytes per `db` command; 0: 31 (26
				    * through an IO manager, as the MLPerf
				    * Tiny runner); at most 38 (3 + 2 x 38 + 1
				    * = 80 characters) */
	int io_manager;            /* through an IO manager (see above) */
	int energy_mode;           /* energy-mode firmware: no m-lap-us */
	volatile sig_atomic_t *cancel; /* polled while waiting */
};

struct tb_eembc_identity {
	char name[TB_EEMBC_TEXT_MAX + 1];    /* m-name-dut-[name] */
	char profile[TB_EEMBC_TEXT_MAX + 1]; /* m-profile-[...] */
	char model[TB_EEMBC_TEXT_MAX + 1];   /* m-model-[...], "" if none */
	char io_manager[TB_EEMBC_TEXT_MAX + 1]; /* its answer to `name%`
						 * (printable), "" on a
						 * direct link */
};

struct tb_eembc_infer {
	uint32_t count;            /* N, as m-infer-start said */
	uint32_t warmups;
	uint32_t lap0, lap1;       /* the two m-lap-us values */
	uint64_t elapsed_us;       /* lap1 - lap0, modulo 2^32; 0 in energy
				    * mode (the energy monitor has the time) */
	size_t n_values;
	const double *values;      /* m-results, owned by the driver */
};

struct tb_eembc_stats {
	uint32_t commands;
	uint32_t stray_lines;      /* debug output and other m- lines ignored
				    * (and IO manager chatter) */
	uint32_t stale_ready;      /* m-ready that ended no command of ours */
	uint32_t long_lines;       /* lines over TB_EEMBC_LINE_MAX */
	uint32_t timeouts;
	uint32_t retries;
};

struct tb_eembc;

int tb_eembc_new(struct tb_transport *t, const struct tb_eembc_config *cfg,
		 struct tb_eembc **out, struct tb_error *err);
void tb_eembc_free(struct tb_eembc *e);

/* Through an IO manager, its own `name%` first; then the DUT's `name%`
 * (with retries) and `profile%`. */
int tb_eembc_identify(struct tb_eembc *e, struct tb_eembc_identity *id,
		      struct tb_error *err);

/* `db load len%`, then `db <hex>%` commands of cfg.db_bytes, each waiting
 * for m-ready; the last must bring m-load-done.  st may be NULL. */
int tb_eembc_load(struct tb_eembc *e, const void *data, size_t len,
		  struct tb_upload_stats *st, struct tb_error *err);

/* `infer count warmups%`: the two timestamps and the results, checked. */
int tb_eembc_infer(struct tb_eembc *e, uint32_t count, uint32_t warmups,
		   int timeout_ms, struct tb_eembc_infer *res, struct tb_error *err);

void tb_eembc_get_stats(const struct tb_eembc *e, struct tb_eembc_stats *st);

/*
 * Does an EEMBC device answer on t?  Sends `name%` and listens up to
 * timeout_ms for an m-name-, m-ready or e- line: 1 yes, 0 no, < 0 an I/O
 * error.  Harmless to a tinybench runner: the bytes are a partial frame
 * it drops at the next 0x00 (the delimiter tinybench's HELLO starts with).
 */
int tb_eembc_probe(struct tb_transport *t, int timeout_ms, struct tb_error *err);

/*
 * The driver as a session's device (tb_dut.h), owning e.  The board gives
 * the CPU name and clock the protocol does not report.  Inputs are
 * converted to what MLPerf Tiny firmware takes (docs/EEMBC.md): the
 * tensor as it is, a uint8 image for an int8 model with zero point -128,
 * float32 values for ad01.
 */
int tb_eembc_dut_new(struct tb_eembc *e, const struct tb_board *board,
		     struct tb_dut **out, struct tb_error *err);

#endif
