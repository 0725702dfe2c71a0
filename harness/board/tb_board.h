/*
 * tb_board.h - the board registry: which boards exist and how to reach them.
 *
 * A board is data, not code: one INI file per board (docs/BOARDS.md lists
 * every key).  The project ships its boards in boards/; a user adds or
 * overrides boards in $XDG_CONFIG_HOME/tinybench/boards/.  Files are parsed
 * with libinih and checked strictly: an unknown key or section, a missing
 * required key, a bad number or a bad value is an error that names the file,
 * the line, the key and the accepted values.
 *
 * Ownership: a registry owns every board in it.  The const struct tb_board
 * pointers it hands out stay valid until the registry is freed or a board of
 * the same name is loaded over them (tb_board_registry_load_dir/_add).
 * Boards and registries are plain data: they may be read from several
 * threads at once, but loading must not run concurrently with anything else
 * on the same registry.
 */
#ifndef TB_BOARD_H
#define TB_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"

/* How the host talks to the board.  Stored: append only. */
enum tb_board_transport {
	TB_BOARD_TRANSPORT_SIM    = 1, /* native runner on a pty (tb_sim_spawn) */
	TB_BOARD_TRANSPORT_SERIAL = 2, /* USB/UART serial port (libserialport) */
	TB_BOARD_TRANSPORT_QEMU   = 3, /* firmware in QEMU ([qemu] keys) */
};

/* How the host resets the board.  Stored: append only. */
enum tb_board_reset {
	TB_BOARD_RESET_NONE    = 0, /* cannot be reset by the host */
	TB_BOARD_RESET_PROCESS = 1, /* kill and restart the runner process */
	TB_BOARD_RESET_DTR     = 2, /* pulse the serial port's DTR line */
	TB_BOARD_RESET_RTS     = 3, /* pulse the serial port's RTS line */
	TB_BOARD_RESET_COMMAND = 4, /* run [reset] command */
	TB_BOARD_RESET_POWER   = 5, /* cycle the supply through the energy
				     * monitor that powers the board */
};

/* Energy monitor wired to the board.  Stored: append only. */
enum tb_board_energy {
	TB_BOARD_ENERGY_NONE   = 0,
	TB_BOARD_ENERGY_PPK2   = 1, /* Nordic Power Profiler Kit II */
	TB_BOARD_ENERGY_LPM01A = 2, /* ST X-NUCLEO-LPM01A */
};

/* What one tick of the runner's timer is.  Stored: append only. */
enum tb_board_timing {
	TB_BOARD_TIMING_HOST_MONOTONIC = 1, /* host CLOCK_MONOTONIC, ns */
	TB_BOARD_TIMING_CYCLE_COUNTER  = 2, /* CPU cycles (DWT CYCCNT, mcycle) */
	TB_BOARD_TIMING_SYSTICK        = 3, /* SysTick at clock_hz */
	TB_BOARD_TIMING_QEMU_ICOUNT    = 4, /* QEMU -icount instructions */
};

/* The protocol the board's firmware speaks (docs/BOARDS.md, docs/EEMBC.md).
 * Stored: append only. */
enum tb_board_protocol {
	TB_BOARD_PROTOCOL_TINYBENCH = 0, /* tinybench frames (the default) */
	TB_BOARD_PROTOCOL_EEMBC     = 1, /* MLPerf Tiny's EEMBC serial commands */
	TB_BOARD_PROTOCOL_AUTO      = 2, /* ask `name%` first, else tinybench */
};

/* [eembc] mode: which build of MLPerf Tiny firmware the board runs
 * (docs/EEMBC.md).  Stored: append only. */
enum tb_board_eembc_mode {
	TB_BOARD_EEMBC_PERFORMANCE = 0, /* m-lap-us timestamps (the default) */
	TB_BOARD_EEMBC_ENERGY      = 1, /* GPIO timestamp pulses, no m-lap-us:
					 * the energy monitor times the window */
};

/* [eembc] link: how the host reaches the firmware's UART. */
enum tb_board_eembc_link {
	TB_BOARD_EEMBC_DIRECT     = 0, /* the port is the DUT's UART */
	TB_BOARD_EEMBC_IO_MANAGER = 1, /* through MLPerf Tiny's IO manager:
					* `dut CMD%`, replies `[dut]: ...` */
};

/* [qemu] timestamp_line: how the firmware's timestamp bridge reaches the
 * harness under QEMU (docs/ENERGY.md, "QEMU boards"). */
enum tb_board_qemu_tsline {
	TB_BOARD_QEMU_TSLINE_NONE       = 0, /* no bridge: no energy */
	TB_BOARD_QEMU_TSLINE_SERIAL1    = 1, /* QEMU's second -serial (mps2 UART1) */
	TB_BOARD_QEMU_TSLINE_PCI_SERIAL = 2, /* -device pci-serial,addr=1 */
};

/* The image file [flash] command gets as {image}. */
enum tb_board_image {
	TB_BOARD_IMAGE_ELF = 0, /* tinybench-runner-<fw>.elf (default) */
	TB_BOARD_IMAGE_BIN = 1, /* tinybench-runner-<fw>.bin, raw */
};

struct tb_usb_id {
	uint16_t vid;
	uint16_t pid;
};

#define TB_BOARD_USB_IDS_MAX 8
#define TB_BOARD_NAME_MAX 32         /* characters, without the NUL */
#define TB_BOARD_DEFAULT_RUNNER "tinybench-runner-native"
#define TB_BOARD_DEFAULT_PULSE_MS 100
#define TB_BOARD_DEFAULT_POWER_OFF_MS 500

/*
 * One board, as read from its file.  Strings are never NULL unless the
 * comment says so; numbers are 0 when the file says "unknown" (clock_hz = 0)
 * or leaves an optional key out.
 */
struct tb_board {
	char *name;                  /* [board] name: unique key */
	char *description;           /* "" when not given */
	char *cpu;                   /* "cortex-m4f", "host" */
	char *arch;                  /* "armv7e-m", "native", "rv32imac" */
	uint64_t clock_hz;           /* 0 = unknown */
	uint64_t flash_bytes;        /* 0 = unknown */
	uint64_t ram_bytes;          /* 0 = unknown */
	enum tb_board_transport transport;
	uint32_t baud;               /* 0 when not given (sim, qemu) */
	struct tb_usb_id usb_ids[TB_BOARD_USB_IDS_MAX];
	size_t n_usb_ids;
	enum tb_board_reset reset;
	uint32_t reset_pulse_ms;     /* [reset] pulse_ms: dtr/rts asserted,
				      * power: the supply off */
	enum tb_board_energy energy_monitor;
	char *runner;                /* transport = sim only, else NULL */
	enum tb_board_timing timing;
	/* NULL-terminated argv templates with {placeholders}, NULL if absent;
	 * expand with tb_board_command_expand(). */
	char **flash_argv;           /* [flash] command */
	enum tb_board_image flash_image; /* [flash] image */
	char **reset_argv;           /* [reset] command */
	/* The firmware build the board runs (scripts/build-firmware NAME,
	 * image build/fw/NAME/tinybench-runner-NAME.elf): [board] firmware,
	 * default the board's name; NULL for transport = sim. */
	char *firmware;
	/* [qemu], transport = qemu only (else NULL / 0). */
	char *qemu_program;          /* "qemu-system-arm" */
	char *qemu_machine;          /* -M "mps2-an386" */
	char *qemu_cpu;              /* -cpu, or NULL for the machine's */
	uint32_t qemu_icount_shift;  /* -icount shift=N */
	char **qemu_extra;           /* more arguments, NULL-terminated, or NULL */
	enum tb_board_qemu_tsline qemu_tsline; /* [qemu] timestamp_line */
	/* [power]: the power model and energy wiring (docs/BOARDS.md). */
	bool has_power;              /* the file has a [power] section */
	uint32_t power_voltage_mv;   /* supply voltage, default 3300 */
	uint64_t power_active_ua;    /* current while inferring, 0 = unknown */
	uint64_t power_idle_ua;      /* current between inferences */
	bool power_external_supply;  /* supply = external: the board has its
				      * own supply (PPK2 ampere-meter mode) */
	char *timestamp_pin;         /* where the timestamp GPIO is, for
				      * people ("Arduino D7 (PF13)"), or NULL */
	char *path;                  /* the file this board came from */
	char *overrides;             /* file it replaced, or NULL */
	enum tb_board_protocol protocol; /* [board] protocol */
	/* [eembc], protocol = eembc only (docs/BOARDS.md) */
	enum tb_board_eembc_mode eembc_mode;
	enum tb_board_eembc_link eembc_link;
	uint32_t eembc_dut_baud;     /* the DUT's UART behind the IO manager
				      * (default 9600); 0 with link = direct */
};

/* Names of enum values as written in board files ("serial", "dtr"). */
const char *tb_board_transport_name(enum tb_board_transport v);
const char *tb_board_reset_name(enum tb_board_reset v);
const char *tb_board_energy_name(enum tb_board_energy v);
const char *tb_board_timing_name(enum tb_board_timing v);
const char *tb_board_protocol_name(enum tb_board_protocol v);
const char *tb_board_eembc_mode_name(enum tb_board_eembc_mode v);
const char *tb_board_eembc_link_name(enum tb_board_eembc_link v);

/*
 * Parse one board file.  On success *out is a new board the caller owns
 * (tb_board_free); on error *out is NULL and err names file:line and key.
 */
int tb_board_load_file(const char *path, struct tb_board **out,
		       struct tb_error *err);
void tb_board_free(struct tb_board *board);

/*
 * Values substituted into command templates.  A NULL member may only be
 * left NULL (or 0) if the template does not use its placeholder.
 */
struct tb_board_vars {
	const char *port;            /* {port}  */
	const char *image;           /* {image} */
	const char *board;           /* {board} */
	uint32_t baud;               /* {baud}, 0 = not known */
};

/*
 * Expand a template such as board->flash_argv.  On success *out is a new
 * NULL-terminated argv the caller frees with tb_board_argv_free(); it is
 * meant for execv(), never for a shell.
 */
int tb_board_command_expand(char *const *argv_template,
			    const struct tb_board_vars *vars, char ***out,
			    struct tb_error *err);
void tb_board_argv_free(char **argv);

struct tb_board_registry;

/* A new empty registry; the caller owns it (tb_board_registry_free). */
int tb_board_registry_new(struct tb_board_registry **out, struct tb_error *err);
void tb_board_registry_free(struct tb_board_registry *reg);

/*
 * Load every "*.ini" file of dir (hidden files skipped) in byte order of
 * their names.  All or nothing: if one file is bad, nothing is added.  A
 * board whose name is already in the registry replaces it (a later folder
 * overrides an earlier one); two files of one folder naming the same board
 * are an error.  A folder that does not exist is TB_ERR_NOTFOUND.
 */
int tb_board_registry_load_dir(struct tb_board_registry *reg, const char *dir,
			       struct tb_error *err);

/*
 * Load the project's boards, then the user's:
 *  1. $TINYBENCH_BOARDS_DIR if set (it must exist), else the source tree's
 *     boards/ if it exists, else the installed <datadir>/tinybench/boards;
 *  2. $XDG_CONFIG_HOME/tinybench/boards (or ~/.config/tinybench/boards if
 *     XDG_CONFIG_HOME is unset or relative), skipped if it does not exist.
 */
int tb_board_registry_load_default(struct tb_board_registry *reg,
				   struct tb_error *err);

/*
 * Take ownership of board and add it, replacing a board of the same name
 * (the replaced one is freed and its path recorded in board->overrides).
 */
int tb_board_registry_add(struct tb_board_registry *reg,
			  struct tb_board *board, struct tb_error *err);

/* Iteration: boards are kept sorted by name; i < count. */
size_t tb_board_registry_count(const struct tb_board_registry *reg);
const struct tb_board *tb_board_registry_at(const struct tb_board_registry *reg,
					    size_t i);

/* The board called name, or NULL. */
const struct tb_board *tb_board_registry_get(const struct tb_board_registry *reg,
					     const char *name);

/* Same, as an error: "unknown board 'x'; known boards: a, b". */
int tb_board_registry_find(const struct tb_board_registry *reg,
			   const char *name, const struct tb_board **out,
			   struct tb_error *err);

/*
 * Write "a, b, c" (or "(none)") into buf, cut with "..." if it does not
 * fit.  Returns the length the full list needs, like snprintf.
 */
size_t tb_board_registry_names(const struct tb_board_registry *reg, char *buf,
			       size_t len);

/* The folders loaded so far, "dir1, dir2" (for messages); never NULL. */
const char *tb_board_registry_dirs(const struct tb_board_registry *reg);

/*
 * Auto-detection by USB id.  A generic USB-serial chip (CH340, FT232, CP210x)
 * may be listed by several boards, so _all reports every match (up to cap,
 * sorted by name) and returns how many there are; tb_board_match_usb returns
 * the first match or NULL.
 */
const struct tb_board *tb_board_match_usb(const struct tb_board_registry *reg,
					  uint16_t vid, uint16_t pid);
size_t tb_board_match_usb_all(const struct tb_board_registry *reg,
			      uint16_t vid, uint16_t pid,
			      const struct tb_board **out, size_t cap);

#endif
