/*
 * tb_board.c - board files (INI, parsed with libinih) and the registry.
 *
 * Parsing is strict on purpose: a typo in a board file should stop the run
 * with "apollo3.ini:7: unknown key 'buad'" rather than silently benchmark
 * at the wrong baud rate.  libinih's handler does not get line numbers in
 * the Debian build (INI_HANDLER_LINENO=0), so we feed it through our own
 * line reader (ini_parse_stream), which also counts lines, rejects lines
 * longer than libinih's buffer (it would split them), checks [section]
 * names (libinih calls the handler only for keys, so an empty unknown
 * section would go unnoticed) and remembers whether a line is indented
 * (libinih's multi-line continuation).
 */
#include "tb_board.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tb_config.h"

#define ARGV_MAX 64          /* arguments in one command */
#define DIRS_TEXT_MAX 1024   /* tb_board_registry_dirs() text */
#define BAUD_MAX 20000000u   /* above any USB-UART made */
#define PULSE_MS_MAX 60000u
#define ICOUNT_SHIFT_MAX 10u /* QEMU accepts 0..10 */

/* ---- enum names, used both to parse and to print ---------------------- */

struct enum_def {
	const char *name;
	int value;
};

static const struct enum_def transport_defs[] = {
	{ "sim", TB_BOARD_TRANSPORT_SIM },
	{ "serial", TB_BOARD_TRANSPORT_SERIAL },
	{ "qemu", TB_BOARD_TRANSPORT_QEMU },
	{ NULL, 0 },
};

static const struct enum_def reset_defs[] = {
	{ "none", TB_BOARD_RESET_NONE },
	{ "process", TB_BOARD_RESET_PROCESS },
	{ "dtr", TB_BOARD_RESET_DTR },
	{ "rts", TB_BOARD_RESET_RTS },
	{ "command", TB_BOARD_RESET_COMMAND },
	{ "power", TB_BOARD_RESET_POWER },
	{ NULL, 0 },
};

static const struct enum_def energy_defs[] = {
	{ "none", TB_BOARD_ENERGY_NONE },
	{ "ppk2", TB_BOARD_ENERGY_PPK2 },
	{ "lpm01a", TB_BOARD_ENERGY_LPM01A },
	{ NULL, 0 },
};

static const struct enum_def image_defs[] = {
	{ "elf", TB_BOARD_IMAGE_ELF },
	{ "bin", TB_BOARD_IMAGE_BIN },
	{ NULL, 0 },
};

static const struct enum_def timing_defs[] = {
	{ "host-monotonic-clock", TB_BOARD_TIMING_HOST_MONOTONIC },
	{ "cycle-counter", TB_BOARD_TIMING_CYCLE_COUNTER },
	{ "systick", TB_BOARD_TIMING_SYSTICK },
	{ "qemu-icount", TB_BOARD_TIMING_QEMU_ICOUNT },
	{ NULL, 0 },
};

static const struct enum_def protocol_defs[] = {
	{ "tinybench", TB_BOARD_PROTOCOL_TINYBENCH },
	{ "eembc", TB_BOARD_PROTOCOL_EEMBC },
	{ "auto", TB_BOARD_PROTOCOL_AUTO },
	{ NULL, 0 },
};

static const struct enum_def eembc_mode_defs[] = {
	{ "performance", TB_BOARD_EEMBC_PERFORMANCE },
	{ "energy", TB_BOARD_EEMBC_ENERGY },
	{ NULL, 0 },
};

static const struct enum_def eembc_link_defs[] = {
	{ "direct", TB_BOARD_EEMBC_DIRECT },
	{ "io-manager", TB_BOARD_EEMBC_IO_MANAGER },
	{ NULL, 0 },
};

/* Fixed architectures; RISC-V ISA strings are checked by pattern. */
static const char *const arch_names[] = {
	"native", "armv6-m", "armv7-m", "armv7e-m", "armv8-m.base",
	"armv8-m.main", "armv8.1-m.main", "xtensa-lx6", "xtensa-lx7", NULL,
};

static const char *enum_name(const struct enum_def *defs, int v)
{
	for (; defs->name; defs++)
		if (defs->value == v)
			return defs->name;
	return "?";
}

const char *tb_board_transport_name(enum tb_board_transport v)
{
	return enum_name(transport_defs, v);
}

const char *tb_board_reset_name(enum tb_board_reset v)
{
	return enum_name(reset_defs, v);
}

const char *tb_board_energy_name(enum tb_board_energy v)
{
	return enum_name(energy_defs, v);
}

const char *tb_board_timing_name(enum tb_board_timing v)
{
	return enum_name(timing_defs, v);
}

const char *tb_board_protocol_name(enum tb_board_protocol v)
{
	return enum_name(protocol_defs, v);
}

const char *tb_board_eembc_mode_name(enum tb_board_eembc_mode v)
{
	return enum_name(eembc_mode_defs, v);
}

const char *tb_board_eembc_link_name(enum tb_board_eembc_link v)
{
	return enum_name(eembc_link_defs, v);
}

/* ---- the schema ------------------------------------------------------- */

enum section { SEC_NONE, SEC_BOARD, SEC_FLASH, SEC_RESET, SEC_QEMU, SEC_POWER,
	SEC_EEMBC, SEC__COUNT };

static const char *const section_names[SEC__COUNT] = {
	[SEC_NONE] = "",
	[SEC_BOARD] = "board",
	[SEC_FLASH] = "flash",
	[SEC_RESET] = "reset",
	[SEC_QEMU] = "qemu",
	[SEC_POWER] = "power",
	[SEC_EEMBC] = "eembc",
};

enum key_id {
	K_NAME, K_DESCRIPTION, K_CPU, K_ARCH, K_CLOCK_HZ, K_FLASH_BYTES,
	K_RAM_BYTES, K_TRANSPORT, K_BAUD, K_USB_IDS, K_RESET, K_ENERGY,
	K_RUNNER, K_TIMING, K_FLASH_COMMAND, K_RESET_COMMAND, K_PULSE_MS,
	K_FIRMWARE, K_QEMU_PROGRAM, K_QEMU_MACHINE, K_QEMU_CPU,
	K_QEMU_ICOUNT_SHIFT, K_QEMU_EXTRA, K_QEMU_TSLINE, K_FLASH_IMAGE,
	K_POWER_VOLTAGE, K_POWER_ACTIVE, K_POWER_IDLE, K_POWER_SUPPLY, K_POWER_PIN,
	K_PROTOCOL, K_EEMBC_MODE, K_EEMBC_LINK, K_EEMBC_DUT_BAUD,
	K__COUNT
};

struct key_def {
	enum section sec;
	const char *name;
	bool required;
	bool multiline;       /* indented lines continue the value */
};

static const struct key_def keys[K__COUNT] = {
	[K_NAME]          = { SEC_BOARD, "name", true, false },
	[K_DESCRIPTION]   = { SEC_BOARD, "description", false, false },
	[K_CPU]           = { SEC_BOARD, "cpu", true, false },
	[K_ARCH]          = { SEC_BOARD, "arch", true, false },
	[K_CLOCK_HZ]      = { SEC_BOARD, "clock_hz", true, false },
	[K_FLASH_BYTES]   = { SEC_BOARD, "flash_bytes", false, false },
	[K_RAM_BYTES]     = { SEC_BOARD, "ram_bytes", false, false },
	[K_TRANSPORT]     = { SEC_BOARD, "transport", true, false },
	[K_BAUD]          = { SEC_BOARD, "baud", false, false },
	[K_USB_IDS]       = { SEC_BOARD, "usb_ids", false, false },
	[K_RESET]         = { SEC_BOARD, "reset", true, false },
	[K_ENERGY]        = { SEC_BOARD, "energy_monitor", false, false },
	[K_RUNNER]        = { SEC_BOARD, "runner", false, false },
	/* required unless protocol = eembc (check_protocol) */
	[K_TIMING]        = { SEC_BOARD, "timing", false, false },
	[K_FLASH_COMMAND] = { SEC_FLASH, "command", false, true },
	[K_RESET_COMMAND] = { SEC_RESET, "command", false, true },
	[K_PULSE_MS]      = { SEC_RESET, "pulse_ms", false, false },
	[K_FIRMWARE]      = { SEC_BOARD, "firmware", false, false },
	[K_QEMU_PROGRAM]  = { SEC_QEMU, "program", false, false },
	[K_QEMU_MACHINE]  = { SEC_QEMU, "machine", false, false },
	[K_QEMU_CPU]      = { SEC_QEMU, "cpu", false, false },
	[K_QEMU_ICOUNT_SHIFT] = { SEC_QEMU, "icount_shift", false, false },
	[K_QEMU_EXTRA]    = { SEC_QEMU, "extra", false, true },
	[K_QEMU_TSLINE]   = { SEC_QEMU, "timestamp_line", false, false },
	[K_FLASH_IMAGE]   = { SEC_FLASH, "image", false, false },
	[K_POWER_VOLTAGE] = { SEC_POWER, "voltage_mv", false, false },
	[K_POWER_ACTIVE]  = { SEC_POWER, "active_ua", false, false },
	[K_POWER_IDLE]    = { SEC_POWER, "idle_ua", false, false },
	[K_POWER_SUPPLY]  = { SEC_POWER, "supply", false, false },
	[K_POWER_PIN]     = { SEC_POWER, "timestamp_pin", false, false },
	[K_PROTOCOL]      = { SEC_BOARD, "protocol", false, false },
	[K_EEMBC_MODE]    = { SEC_EEMBC, "mode", false, false },
	[K_EEMBC_LINK]    = { SEC_EEMBC, "link", false, false },
	[K_EEMBC_DUT_BAUD] = { SEC_EEMBC, "dut_baud", false, false },
};

/* [qemu] timestamp_line: the channel of the firmware's timestamp bridge. */
static const struct enum_def qemu_tsline_defs[] = {
	{ "none", TB_BOARD_QEMU_TSLINE_NONE },
	{ "serial1", TB_BOARD_QEMU_TSLINE_SERIAL1 },
	{ "pci-serial", TB_BOARD_QEMU_TSLINE_PCI_SERIAL },
	{ NULL, 0 },
};

/* [power] supply: who powers the board while its energy is measured. */
static const struct enum_def supply_defs[] = {
	{ "monitor", 0 },            /* the energy monitor's output */
	{ "external", 1 },           /* its own supply (PPK2 ampere meter) */
	{ NULL, 0 },
};

#define POWER_MV_MIN 800u            /* the PPK2's range, the widest */
#define POWER_MV_MAX 5000u
#define POWER_UA_MAX 5000000u        /* 5 A */

/* Placeholders a command may use, by section. */
enum placeholder {
	PH_NONE, PH_LBRACE, PH_RBRACE, PH_PORT, PH_IMAGE, PH_BAUD, PH_BOARD,
	PH_BAD,
};

/* ---- parse state ------------------------------------------------------ */

struct board_parse {
	const char *path;
	FILE *fp;
	char *line;               /* getline() buffer */
	size_t line_cap;
	unsigned lineno;          /* line the reader returned last */
	bool indented;            /* that line starts with white space */
	unsigned board_line;      /* line of the [board] header, 0 if none */
	unsigned key_line[K__COUNT]; /* where each key was set, 0 = not set */
	size_t n_argv[K__COUNT];  /* arguments so far, command keys */
	struct tb_board *b;
	struct tb_error *err;
	int rc;                   /* first error, sticky */
};

/*
 * Record the first error as "file:line: key: message".  line 0 leaves the
 * line out, key NULL the key.  Returns the sticky error code.
 */
static int fail_at(struct board_parse *p, unsigned line, const char *key,
		   int code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail_at(struct board_parse *p, unsigned line, const char *key,
		   int code, const char *fmt, ...)
{
	char msg[TB_ERROR_MSG_MAX];
	char where[TB_ERROR_MSG_MAX / 2];
	va_list ap;

	if (p->rc)
		return p->rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(where, sizeof(where), "%s:%u: ", p->path, line);
	else
		snprintf(where, sizeof(where), "%s: ", p->path);
	p->rc = tb_error_set(p->err, code, "%s%s%s%s", where, key ? key : "",
			     key ? ": " : "", msg);
	return p->rc;
}

/* An error about the value of the key on the current line. */
#define fail_key(p, id, ...) \
	fail_at((p), (p)->lineno, keys[id].name, TB_ERR_FORMAT, __VA_ARGS__)

/* ---- value parsers ---------------------------------------------------- */

static void accepted_list(const struct enum_def *defs, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (; defs->name && off < len; defs++)
		off += snprintf(buf + off, len - off, "%s%s",
				off ? ", " : "", defs->name);
}

static int parse_enum(struct board_parse *p, enum key_id id, const char *v,
		      const struct enum_def *defs, int *out)
{
	const struct enum_def *d;
	char accepted[160];

	for (d = defs; d->name; d++) {
		if (!strcmp(d->name, v)) {
			*out = d->value;
			return 0;
		}
	}
	accepted_list(defs, accepted, sizeof(accepted));
	return fail_key(p, id, "'%s' is not accepted; use one of: %s",
			v, accepted);
}

/* Decimal digits only: no sign, no suffix, no hex, at most max. */
static int parse_uint(struct board_parse *p, enum key_id id, const char *v,
		      uint64_t min, uint64_t max, uint64_t *out)
{
	const char *s = v;
	uint64_t n = 0;

	if (*s == '-')
		return fail_key(p, id, "'%s' is negative; expected a whole number from %llu to %llu",
				v, (unsigned long long)min,
				(unsigned long long)max);
	if (!isdigit((unsigned char)*s))
		goto junk;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (n > (max - d) / 10)
			return fail_key(p, id, "'%s' is too large; expected a whole number from %llu to %llu",
					v, (unsigned long long)min,
					(unsigned long long)max);
		n = n * 10 + d;
	}
	if (*s)
		goto junk;
	if (n < min)
		return fail_key(p, id, "'%s' is too small; expected a whole number from %llu to %llu",
				v, (unsigned long long)min,
				(unsigned long long)max);
	*out = n;
	return 0;
junk:
	return fail_key(p, id, "'%s' is not a whole number; expected decimal digits only (no sign, unit or suffix), from %llu to %llu",
			v, (unsigned long long)min, (unsigned long long)max);
}

static int parse_u32(struct board_parse *p, enum key_id id, const char *v,
		     uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t n;
	int rc;

	rc = parse_uint(p, id, v, min, max, &n);
	if (!rc)
		*out = (uint32_t)n;
	return rc;
}

static int set_string(struct board_parse *p, char **field, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return fail_at(p, 0, NULL, TB_ERR_NOMEM, "out of memory");
	free(*field);
	*field = s;
	return 0;
}

/* A value without white space ("cortex-m4f", a runner name). */
static int parse_word(struct board_parse *p, enum key_id id, const char *v,
		      char **field)
{
	const char *s;

	if (!*v)
		return fail_key(p, id, "is empty; a value is required");
	for (s = v; *s; s++)
		if (isspace((unsigned char)*s))
			return fail_key(p, id, "'%s' contains white space; expected one word",
					v);
	return set_string(p, field, v);
}

static bool name_char_ok(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '-' || c == '_' || c == '.');
}

/* A firmware build name: the same rules as a board name. */
static int parse_firmware(struct board_parse *p, const char *v)
{
	size_t i, len = strlen(v);

	for (i = 0; i < len; i++)
		if (!name_char_ok(v[i], i == 0))
			break;
	if (len == 0 || len > TB_BOARD_NAME_MAX || i < len)
		return fail_key(p, K_FIRMWARE, "'%s' is not a valid firmware name; use the board name its firmware is built for (scripts/build-firmware BOARD): 1 to %d lowercase letters, digits, '-', '_' or '.'",
				v, TB_BOARD_NAME_MAX);
	return set_string(p, &p->b->firmware, v);
}

static int parse_name(struct board_parse *p, const char *v)
{
	size_t i, len = strlen(v);

	for (i = 0; i < len; i++)
		if (!name_char_ok(v[i], i == 0))
			break;
	if (len == 0 || len > TB_BOARD_NAME_MAX || i < len)
		return fail_key(p, K_NAME, "'%s' is not a valid board name; use 1 to %d lowercase letters, digits, '-', '_' or '.', starting with a letter or digit",
				v, TB_BOARD_NAME_MAX);
	return set_string(p, &p->b->name, v);
}

/* rv32/rv64 + base ISA letter (i or e) + extension letters, e.g. rv32imac
 * or rv32imac_zicsr. */
static bool riscv_isa_ok(const char *v)
{
	const char *s;

	if (strncmp(v, "rv32", 4) && strncmp(v, "rv64", 4))
		return false;
	if (v[4] != 'i' && v[4] != 'e' && v[4] != 'g')
		return false;
	for (s = v + 5; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || isdigit((unsigned char)*s) ||
		      *s == '_'))
			return false;
	return true;
}

static int parse_arch(struct board_parse *p, const char *v)
{
	const char *const *a;

	for (a = arch_names; *a; a++)
		if (!strcmp(*a, v))
			return set_string(p, &p->b->arch, v);
	if (riscv_isa_ok(v))
		return set_string(p, &p->b->arch, v);
	return fail_key(p, K_ARCH, "'%s' is not accepted; use one of: native, armv6-m, armv7-m, armv7e-m, armv8-m.base, armv8-m.main, armv8.1-m.main, xtensa-lx6, xtensa-lx7, or a RISC-V ISA string such as rv32imac",
			v);
}

static int hex4(const char *s, uint16_t *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return -1;
		v = v * 16 + (unsigned)(isdigit((unsigned char)s[i]) ?
			s[i] - '0' : tolower((unsigned char)s[i]) - 'a' + 10);
	}
	*out = (uint16_t)v;
	return 0;
}

/* One "vvvv:pppp" item, [s, s + len). */
static int parse_usb_id(struct board_parse *p, const char *s, size_t len)
{
	struct tb_board *b = p->b;
	struct tb_usb_id id;

	if (len != 9 || s[4] != ':' || hex4(s, &id.vid) || hex4(s + 5, &id.pid))
		return fail_key(p, K_USB_IDS, "'%.*s' is not a USB id; expected vvvv:pppp (4 hex digits each, e.g. 1a86:7523), comma-separated",
				(int)len, s);
	if (b->n_usb_ids == TB_BOARD_USB_IDS_MAX)
		return fail_key(p, K_USB_IDS, "more than %d USB ids",
				TB_BOARD_USB_IDS_MAX);
	b->usb_ids[b->n_usb_ids++] = id;
	return 0;
}

static int parse_usb_ids(struct board_parse *p, const char *v)
{
	const char *s = v;

	if (!*v)
		return fail_key(p, K_USB_IDS, "is empty; expected vvvv:pppp[, vvvv:pppp...] or leave the key out");
	for (;;) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);

		while (len && isspace((unsigned char)*s)) {
			s++;
			len--;
		}
		while (len && isspace((unsigned char)s[len - 1]))
			len--;
		if (parse_usb_id(p, s, len))
			return p->rc;
		if (!end)
			return 0;
		s = end + 1;
	}
}

/* ---- commands: splitting and placeholders ----------------------------- */

/*
 * Classify the text at s.  *len is how many characters it spans.
 * PH_NONE: an ordinary character.  PH_BAD: a '{' that starts no known
 * placeholder.
 */
static enum placeholder placeholder_at(const char *s, size_t *len)
{
	static const struct {
		const char *text;
		enum placeholder ph;
	} names[] = {
		{ "{{", PH_LBRACE }, { "}}", PH_RBRACE }, { "{port}", PH_PORT },
		{ "{image}", PH_IMAGE }, { "{baud}", PH_BAUD },
		{ "{board}", PH_BOARD },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i].text);

		if (!strncmp(s, names[i].text, n)) {
			*len = n;
			return names[i].ph;
		}
	}
	*len = 1;
	return *s == '{' ? PH_BAD : PH_NONE;
}

static int check_placeholders(struct board_parse *p, enum key_id id,
			      const char *arg)
{
	enum placeholder ph;
	size_t len;

	for (; *arg; arg += len) {
		ph = placeholder_at(arg, &len);
		if (id == K_QEMU_EXTRA && ph != PH_NONE && ph != PH_LBRACE &&
		    ph != PH_RBRACE)
			return fail_key(p, id, "placeholder at '%.20s': [qemu] extra takes none; use {{ or }} for a literal brace",
					arg);
		if (ph == PH_BAD || (ph == PH_IMAGE && id == K_RESET_COMMAND))
			return fail_key(p, id, "unknown placeholder at '%.20s'; use %s, and {{ or }} for a literal brace",
					arg, id == K_FLASH_COMMAND ?
					"{port}, {image}, {baud}, {board}" :
					"{port}, {baud}, {board}");
	}
	return 0;
}

static int argv_push(struct board_parse *p, enum key_id id, char ***argv,
		     char *arg)
{
	size_t n = p->n_argv[id];
	char **grown;

	if (n == ARGV_MAX) {
		free(arg);
		return fail_key(p, id, "more than %d arguments", ARGV_MAX);
	}
	grown = realloc(*argv, (n + 2) * sizeof(*grown));
	if (!grown) {
		free(arg);
		return fail_at(p, 0, NULL, TB_ERR_NOMEM, "out of memory");
	}
	grown[n] = arg;
	grown[n + 1] = NULL;
	*argv = grown;
	p->n_argv[id] = n + 1;
	return check_placeholders(p, id, arg);
}

/*
 * Split one line of a command into arguments (docs/BOARDS.md): white space
 * separates; "double quotes" group, and inside them \" and \\ stand for "
 * and \.  Nothing else is special: no shell is ever involved.
 */
static int split_command(struct board_parse *p, enum key_id id,
			 const char *v, char ***argv)
{
	const char *s = v;
	char *arg, *o;

	if (!*v)
		return fail_key(p, id, "is empty; expected a program and its arguments");
	while (*s) {
		bool quoted = false, any = false;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		arg = malloc(strlen(s) + 1);
		if (!arg)
			return fail_at(p, 0, NULL, TB_ERR_NOMEM, "out of memory");
		for (o = arg; *s && (quoted || (*s != ' ' && *s != '\t')); s++) {
			any = true;
			if (*s == '"') {
				quoted = !quoted;
			} else if (quoted && *s == '\\' &&
				   (s[1] == '"' || s[1] == '\\')) {
				*o++ = *++s;
			} else {
				*o++ = *s;
			}
		}
		*o = '\0';
		if (quoted) {
			free(arg);
			return fail_key(p, id, "unterminated double quote in '%s'",
					v);
		}
		if (any && argv_push(p, id, argv, arg))
			return p->rc;
	}
	return 0;
}

/* ---- the handler and the line reader ---------------------------------- */

static int find_key(const char *section, const char *name, enum section *sec)
{
	int i;

	*sec = SEC_NONE;
	for (i = 1; i < SEC__COUNT; i++)
		if (!strcmp(section, section_names[i]))
			*sec = (enum section)i;
	for (i = 0; i < K__COUNT; i++)
		if (keys[i].sec == *sec && !strcmp(keys[i].name, name))
			return i;
	return -1;
}

static void known_keys(enum section sec, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < K__COUNT && off < len; i++)
		if (keys[i].sec == sec)
			off += snprintf(buf + off, len - off, "%s%s",
					off ? ", " : "", keys[i].name);
}

static int store_value(struct board_parse *p, enum key_id id, const char *v)
{
	struct tb_board *b = p->b;
	int e = 0, rc;

	switch (id) {
	case K_NAME:
		return parse_name(p, v);
	case K_DESCRIPTION:
		return set_string(p, &b->description, v);
	case K_CPU:
		return parse_word(p, id, v, &b->cpu);
	case K_ARCH:
		return parse_arch(p, v);
	case K_CLOCK_HZ:
		return parse_uint(p, id, v, 0, UINT64_MAX, &b->clock_hz);
	case K_FLASH_BYTES:
		return parse_uint(p, id, v, 0, UINT64_MAX, &b->flash_bytes);
	case K_RAM_BYTES:
		return parse_uint(p, id, v, 0, UINT64_MAX, &b->ram_bytes);
	case K_BAUD:
		return parse_u32(p, id, v, 1, BAUD_MAX, &b->baud);
	case K_PULSE_MS:
		return parse_u32(p, id, v, 1, PULSE_MS_MAX, &b->reset_pulse_ms);
	case K_USB_IDS:
		return parse_usb_ids(p, v);
	case K_RUNNER:
		return parse_word(p, id, v, &b->runner);
	case K_FLASH_COMMAND:
		return split_command(p, id, v, &b->flash_argv);
	case K_RESET_COMMAND:
		return split_command(p, id, v, &b->reset_argv);
	case K_FIRMWARE:
		return parse_firmware(p, v);
	case K_QEMU_PROGRAM:
		return parse_word(p, id, v, &b->qemu_program);
	case K_QEMU_MACHINE:
		return parse_word(p, id, v, &b->qemu_machine);
	case K_QEMU_CPU:
		return parse_word(p, id, v, &b->qemu_cpu);
	case K_QEMU_ICOUNT_SHIFT:
		return parse_u32(p, id, v, 0, ICOUNT_SHIFT_MAX, &b->qemu_icount_shift);
	case K_QEMU_EXTRA:
		return split_command(p, id, v, &b->qemu_extra);
	case K_QEMU_TSLINE:
		rc = parse_enum(p, id, v, qemu_tsline_defs, &e);
		b->qemu_tsline = (enum tb_board_qemu_tsline)e;
		return rc;
	case K_POWER_VOLTAGE:
		b->has_power = true;
		return parse_u32(p, id, v, POWER_MV_MIN, POWER_MV_MAX, &b->power_voltage_mv);
	case K_POWER_ACTIVE:
		b->has_power = true;
		return parse_uint(p, id, v, 0, POWER_UA_MAX, &b->power_active_ua);
	case K_POWER_IDLE:
		b->has_power = true;
		return parse_uint(p, id, v, 0, POWER_UA_MAX, &b->power_idle_ua);
	case K_POWER_SUPPLY:
		b->has_power = true;
		rc = parse_enum(p, id, v, supply_defs, &e);
		b->power_external_supply = e == 1;
		return rc;
	case K_POWER_PIN:
		b->has_power = true;
		if (!*v)
			return fail_key(p, id, "is empty; name the pin (e.g. 'Arduino D7 (PF13)') or leave the key out");
		return set_string(p, &b->timestamp_pin, v);
	case K_FLASH_IMAGE:
		rc = parse_enum(p, id, v, image_defs, &e);
		b->flash_image = (enum tb_board_image)e;
		return rc;
	case K_TRANSPORT:
		rc = parse_enum(p, id, v, transport_defs, &e);
		b->transport = (enum tb_board_transport)e;
		return rc;
	case K_RESET:
		rc = parse_enum(p, id, v, reset_defs, &e);
		b->reset = (enum tb_board_reset)e;
		return rc;
	case K_ENERGY:
		rc = parse_enum(p, id, v, energy_defs, &e);
		b->energy_monitor = (enum tb_board_energy)e;
		return rc;
	case K_TIMING:
		rc = parse_enum(p, id, v, timing_defs, &e);
		b->timing = (enum tb_board_timing)e;
		return rc;
	case K_PROTOCOL:
		rc = parse_enum(p, id, v, protocol_defs, &e);
		b->protocol = (enum tb_board_protocol)e;
		return rc;
	case K_EEMBC_MODE:
		rc = parse_enum(p, id, v, eembc_mode_defs, &e);
		b->eembc_mode = (enum tb_board_eembc_mode)e;
		return rc;
	case K_EEMBC_LINK:
		rc = parse_enum(p, id, v, eembc_link_defs, &e);
		b->eembc_link = (enum tb_board_eembc_link)e;
		return rc;
	case K_EEMBC_DUT_BAUD:
		return parse_u32(p, id, v, 300, BAUD_MAX, &b->eembc_dut_baud);
	case K__COUNT:
		break;
	}
	return fail_at(p, p->lineno, NULL, TB_ERR_ARG, "internal: key %d", id);
}

/* libinih callback: one key = value, or one continuation line. */
static int board_ini_handler(void *user, const char *section,
			     const char *name, const char *value)
{
	struct board_parse *p = user;
	char known[256];
	enum section sec;
	int id;

	if (p->rc)
		return 0;
	id = find_key(section, name, &sec);
	if (sec == SEC_NONE) {
		fail_at(p, p->lineno, NULL, TB_ERR_FORMAT,
			"'%s' is outside any section; board keys go under [board]",
			name);
		return 0;
	}
	if (id < 0) {
		known_keys(sec, known, sizeof(known));
		fail_at(p, p->lineno, NULL, TB_ERR_FORMAT,
			"unknown key '%s' in [%s]; known keys: %s",
			name, section, known);
		return 0;
	}
	if (p->key_line[id] && !(p->indented && keys[id].multiline)) {
		fail_at(p, p->lineno, name, TB_ERR_FORMAT, p->indented ?
			"an indented line continues the previous value, which only [flash]/[reset] command and [qemu] extra allow" :
			"given twice (first on line %u)", p->key_line[id]);
		return 0;
	}
	if (!p->key_line[id])
		p->key_line[id] = p->lineno;
	return store_value(p, (enum key_id)id, value) == 0;
}

/* If line is a "[section]" header, check the name the way libinih reads
 * it (the text between '[' and the first ']', not trimmed). */
static int check_section(struct board_parse *p, const char *line)
{
	const char *end;
	size_t len;
	int i;

	while (isspace((unsigned char)*line))
		line++;
	if (*line != '[')
		return 0;
	end = strchr(line, ']');
	if (!end)
		return 0;        /* libinih reports the syntax error */
	len = (size_t)(end - line - 1);
	for (i = 1; i < SEC__COUNT; i++) {
		if (strlen(section_names[i]) == len &&
		    !strncmp(section_names[i], line + 1, len)) {
			if (i == SEC_BOARD && !p->board_line)
				p->board_line = p->lineno;
			return 0;
		}
	}
	return fail_at(p, p->lineno, NULL, TB_ERR_FORMAT,
		       "unknown section [%.*s]; known sections: [board], [flash], [reset], [qemu], [power], [eembc]",
		       (int)len, line + 1);
}

/* libinih reader: one physical line per call, so lineno matches. */
static char *board_ini_reader(char *str, int num, void *stream)
{
	struct board_parse *p = stream;
	ssize_t n;

	if (p->rc)
		return NULL;
	n = getline(&p->line, &p->line_cap, p->fp);
	if (n < 0)
		return NULL;
	p->lineno++;
	if ((size_t)n != strlen(p->line)) {
		fail_at(p, p->lineno, NULL, TB_ERR_FORMAT,
			"contains a NUL byte; is this a text file?");
		return NULL;
	}
	/* libinih's buffer is num bytes: the line, its '\n' and a '\0'. */
	if (n > num - 1) {
		fail_at(p, p->lineno, NULL, TB_ERR_FORMAT,
			"line is longer than %d characters; split a long command over indented lines",
			num - 2);
		return NULL;
	}
	p->indented = n > 0 && (p->line[0] == ' ' || p->line[0] == '\t');
	if (check_section(p, p->line))
		return NULL;
	memcpy(str, p->line, (size_t)n + 1);
	return str;
}

/* ---- checks across keys, after the whole file is read ----------------- */

static int check_required(struct board_parse *p)
{
	int i;

	if (!p->board_line)
		return fail_at(p, 0, NULL, TB_ERR_FORMAT,
			       "no [board] section; a board file needs at least [board] with name, cpu, arch, clock_hz, transport, reset and timing");
	for (i = 0; i < K__COUNT; i++)
		if (keys[i].required && !p->key_line[i])
			return fail_at(p, p->board_line, keys[i].name,
				       TB_ERR_FORMAT,
				       "required key missing from [board] (see docs/BOARDS.md)");
	return 0;
}

/* [qemu] goes with transport = qemu, and a QEMU board needs it. */
static int check_qemu(struct board_parse *p)
{
	static const enum key_id qkeys[] = {
		K_QEMU_PROGRAM, K_QEMU_MACHINE, K_QEMU_CPU, K_QEMU_ICOUNT_SHIFT,
		K_QEMU_EXTRA, K_QEMU_TSLINE,
	};
	struct tb_board *b = p->b;
	size_t i;

	if (b->transport != TB_BOARD_TRANSPORT_QEMU) {
		for (i = 0; i < sizeof(qkeys) / sizeof(qkeys[0]); i++)
			if (p->key_line[qkeys[i]])
				return fail_at(p, p->key_line[qkeys[i]],
					       keys[qkeys[i]].name, TB_ERR_FORMAT,
					       "[qemu] keys need transport = qemu, not %s",
					       tb_board_transport_name(b->transport));
		return 0;
	}
	if (!p->key_line[K_QEMU_PROGRAM] || !p->key_line[K_QEMU_MACHINE] ||
	    !p->key_line[K_QEMU_ICOUNT_SHIFT])
		return fail_at(p, p->key_line[K_TRANSPORT], "transport",
			       TB_ERR_FORMAT,
			       "qemu needs a [qemu] section with program, machine and icount_shift (e.g. program = qemu-system-arm, machine = mps2-an386, icount_shift = 7)");
	if (b->timing != TB_BOARD_TIMING_QEMU_ICOUNT)
		return fail_at(p, p->key_line[K_TIMING], "timing",
			       TB_ERR_FORMAT,
			       "a QEMU board runs under -icount: use timing = qemu-icount");
	if (b->reset != TB_BOARD_RESET_PROCESS && b->reset != TB_BOARD_RESET_NONE)
		return fail_at(p, p->key_line[K_RESET], "reset", TB_ERR_FORMAT,
			       "a QEMU board resets by restarting QEMU: use reset = process");
	return 0;
}

/* [power]: a model needs both currents; the LPM01A always supplies. */
static int check_power(struct board_parse *p)
{
	struct tb_board *b = p->b;

	if (!b->has_power)
		return 0;
	if (!p->key_line[K_POWER_VOLTAGE])
		b->power_voltage_mv = 3300;
	if (!p->key_line[K_POWER_ACTIVE] != !p->key_line[K_POWER_IDLE])
		return fail_at(p, p->key_line[K_POWER_ACTIVE] ? p->key_line[K_POWER_ACTIVE] :
			       p->key_line[K_POWER_IDLE],
			       p->key_line[K_POWER_ACTIVE] ? "idle_ua" : "active_ua",
			       TB_ERR_FORMAT,
			       "[power] needs both active_ua and idle_ua (the current while inferring and between inferences), or neither");
	if (b->power_external_supply && b->energy_monitor == TB_BOARD_ENERGY_LPM01A)
		return fail_at(p, p->key_line[K_POWER_SUPPLY], "supply", TB_ERR_FORMAT,
			       "external is not possible with energy_monitor = lpm01a: the LPM01A powers the board itself");
	return 0;
}

/* An EEMBC board's time comes from its m-lap-us timestamps, not from a
 * timer tinybench knows: no timing key; every other board needs one. */
static int check_protocol(struct board_parse *p)
{
	struct tb_board *b = p->b;

	if (b->protocol != TB_BOARD_PROTOCOL_TINYBENCH &&
	    b->transport == TB_BOARD_TRANSPORT_QEMU)
		return fail_at(p, p->key_line[K_PROTOCOL], "protocol", TB_ERR_FORMAT,
			       "%s is not possible with transport = qemu: under -icount "
			       "EEMBC timestamps would be instruction counts",
			       tb_board_protocol_name(b->protocol));
	if (b->protocol != TB_BOARD_PROTOCOL_EEMBC) {
		if (!p->key_line[K_TIMING])
			return fail_at(p, p->board_line, "timing", TB_ERR_FORMAT,
				       "required key missing from [board] (see docs/BOARDS.md)");
		return 0;
	}
	if (p->key_line[K_TIMING])
		return fail_at(p, p->key_line[K_TIMING], "timing", TB_ERR_FORMAT,
			       "not used with protocol = eembc: the firmware's m-lap-us "
			       "timestamps are microseconds; leave timing out");
	return 0;
}

/* [eembc] describes EEMBC firmware: protocol = eembc only (with `auto`
 * the host learns the protocol when it connects, too late for a mode). */
static int check_eembc(struct board_parse *p)
{
	struct tb_board *b = p->b;
	static const enum key_id ks[] = { K_EEMBC_MODE, K_EEMBC_LINK, K_EEMBC_DUT_BAUD };

	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++)
		if (p->key_line[ks[i]] && b->protocol != TB_BOARD_PROTOCOL_EEMBC)
			return fail_at(p, p->key_line[ks[i]], keys[ks[i]].name, TB_ERR_FORMAT,
				       "[eembc] keys describe EEMBC firmware: they need protocol = eembc in [board]");
	if (b->eembc_link == TB_BOARD_EEMBC_IO_MANAGER && !b->eembc_dut_baud)
		b->eembc_dut_baud = 9600;   /* MLPerf Tiny's energy set-up */
	if (b->eembc_link == TB_BOARD_EEMBC_DIRECT && p->key_line[K_EEMBC_DUT_BAUD])
		return fail_at(p, p->key_line[K_EEMBC_DUT_BAUD], "dut_baud", TB_ERR_FORMAT,
			       "is the DUT's rate behind an IO manager: it needs link = io-manager (a direct link's rate is [board] baud)");
	if (b->eembc_mode == TB_BOARD_EEMBC_ENERGY && b->energy_monitor == TB_BOARD_ENERGY_NONE)
		return fail_at(p, p->key_line[K_EEMBC_MODE], "mode", TB_ERR_FORMAT,
			       "energy-mode firmware is timed by an energy monitor: name it with energy_monitor in [board]");
	return 0;
}

static int check_transport(struct board_parse *p)
{
	struct tb_board *b = p->b;

	if (b->transport == TB_BOARD_TRANSPORT_SERIAL && !b->baud)
		return fail_at(p, p->key_line[K_TRANSPORT], "baud",
			       TB_ERR_FORMAT,
			       "required with transport = serial (e.g. baud = 115200)");
	if (p->key_line[K_RUNNER] && b->transport != TB_BOARD_TRANSPORT_SIM)
		return fail_at(p, p->key_line[K_RUNNER], "runner",
			       TB_ERR_FORMAT,
			       "only used with transport = sim, not %s",
			       tb_board_transport_name(b->transport));
	if (b->timing == TB_BOARD_TIMING_HOST_MONOTONIC &&
	    b->transport != TB_BOARD_TRANSPORT_SIM)
		return fail_at(p, p->key_line[K_TIMING], "timing",
			       TB_ERR_FORMAT,
			       "host-monotonic-clock needs transport = sim");
	if (b->timing == TB_BOARD_TIMING_QEMU_ICOUNT &&
	    b->transport != TB_BOARD_TRANSPORT_QEMU)
		return fail_at(p, p->key_line[K_TIMING], "timing",
			       TB_ERR_FORMAT,
			       "qemu-icount needs transport = qemu");
	if (b->transport == TB_BOARD_TRANSPORT_SIM && !b->runner &&
	    set_string(p, &b->runner, TB_BOARD_DEFAULT_RUNNER))
		return p->rc;
	return check_qemu(p);
}

static int check_reset(struct board_parse *p)
{
	struct tb_board *b = p->b;
	unsigned line = p->key_line[K_RESET];
	bool serial = b->transport == TB_BOARD_TRANSPORT_SERIAL;
	bool lines = b->reset == TB_BOARD_RESET_DTR ||
		     b->reset == TB_BOARD_RESET_RTS;

	if (b->reset == TB_BOARD_RESET_PROCESS && serial)
		return fail_at(p, line, "reset", TB_ERR_FORMAT,
			       "process needs transport = sim or qemu; a serial board uses dtr, rts, command or none");
	if (lines && !serial)
		return fail_at(p, line, "reset", TB_ERR_FORMAT,
			       "%s needs transport = serial (a pty has no modem lines)",
			       tb_board_reset_name(b->reset));
	if (b->reset == TB_BOARD_RESET_COMMAND && !b->reset_argv)
		return fail_at(p, line, "reset", TB_ERR_FORMAT,
			       "command needs a [reset] section with command = ...");
	if (b->reset_argv && b->reset != TB_BOARD_RESET_COMMAND)
		return fail_at(p, p->key_line[K_RESET_COMMAND],
			       "[reset] command", TB_ERR_FORMAT,
			       "only used with reset = command, not %s",
			       tb_board_reset_name(b->reset));
	if (b->reset == TB_BOARD_RESET_POWER && !serial)
		return fail_at(p, line, "reset", TB_ERR_FORMAT,
			       "power needs transport = serial (sim and QEMU boards reset by process)");
	if (b->reset == TB_BOARD_RESET_POWER && b->energy_monitor == TB_BOARD_ENERGY_NONE)
		return fail_at(p, line, "reset", TB_ERR_FORMAT,
			       "power cycles the board through its energy monitor: set energy_monitor");
	if (b->reset == TB_BOARD_RESET_POWER && b->power_external_supply)
		return fail_at(p, line, "reset", TB_ERR_FORMAT,
			       "power needs the board powered by its monitor, not [power] supply = external");
	if (p->key_line[K_PULSE_MS] && !lines && b->reset != TB_BOARD_RESET_POWER)
		return fail_at(p, p->key_line[K_PULSE_MS], "[reset] pulse_ms",
			       TB_ERR_FORMAT,
			       "only used with reset = dtr, rts or power");
	if (!b->reset_pulse_ms)
		b->reset_pulse_ms = b->reset == TB_BOARD_RESET_POWER ?
				    TB_BOARD_DEFAULT_POWER_OFF_MS : TB_BOARD_DEFAULT_PULSE_MS;
	return 0;
}

/* ---- loading one file ------------------------------------------------- */

void tb_board_argv_free(char **argv)
{
	char **a;

	if (!argv)
		return;
	for (a = argv; *a; a++)
		free(*a);
	free(argv);
}

void tb_board_free(struct tb_board *b)
{
	if (!b)
		return;
	free(b->name);
	free(b->description);
	free(b->cpu);
	free(b->arch);
	free(b->runner);
	free(b->firmware);
	free(b->qemu_program);
	free(b->qemu_machine);
	free(b->qemu_cpu);
	tb_board_argv_free(b->qemu_extra);
	free(b->timestamp_pin);
	tb_board_argv_free(b->flash_argv);
	tb_board_argv_free(b->reset_argv);
	free(b->path);
	free(b->overrides);
	free(b);
}

static int open_board_file(struct board_parse *p)
{
	struct stat st;
	int e;

	p->fp = fopen(p->path, "re");
	if (!p->fp) {
		e = errno;
		return fail_at(p, 0, NULL, e == ENOENT ? TB_ERR_NOTFOUND :
			       TB_ERR_IO, "cannot open board file: %s",
			       strerror(e));
	}
	if (fstat(fileno(p->fp), &st) == 0 && !S_ISREG(st.st_mode))
		return fail_at(p, 0, NULL, TB_ERR_ARG,
			       "not a regular file");
	return 0;
}

static int parse_board_file(struct board_parse *p)
{
	int line;

	if (open_board_file(p))
		return p->rc;
	line = ini_parse_stream(board_ini_reader, p, board_ini_handler, p);
	if (p->rc)
		return p->rc;
	if (ferror(p->fp))
		return fail_at(p, p->lineno, NULL, TB_ERR_IO,
			       "read error: %s", strerror(errno));
	if (line > 0)
		return fail_at(p, (unsigned)line, NULL, TB_ERR_FORMAT,
			       "syntax error; expected 'key = value', '[section]', a comment (; or #) or a blank line");
	if (line < 0)
		return fail_at(p, 0, NULL, TB_ERR_NOMEM, "libinih failed (%d)",
			       line);
	if (check_required(p) || check_protocol(p) || check_eembc(p) || check_transport(p) ||
	    check_reset(p) || check_power(p))
		return p->rc;
	if (!p->b->firmware && p->b->transport != TB_BOARD_TRANSPORT_SIM &&
	    set_string(p, &p->b->firmware, p->b->name))
		return p->rc;
	if (!p->b->description)
		return set_string(p, &p->b->description, "");
	return 0;
}

int tb_board_load_file(const char *path, struct tb_board **out,
		       struct tb_error *err)
{
	struct board_parse p = { .path = path, .err = err };
	int rc;

	if (!out || !path)
		return tb_error_set(err, TB_ERR_ARG, "tb_board_load_file: NULL argument");
	*out = NULL;
	p.b = calloc(1, sizeof(*p.b));
	if (!p.b)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	rc = parse_board_file(&p);
	if (!rc)
		rc = set_string(&p, &p.b->path, path);
	if (p.fp)
		fclose(p.fp);
	free(p.line);
	if (rc) {
		tb_board_free(p.b);
		return rc;
	}
	*out = p.b;
	return 0;
}

/* ---- command expansion ------------------------------------------------ */

static int expand_one(const char *arg, const struct tb_board_vars *vars,
		      char **out, struct tb_error *err)
{
	char baud[16];
	size_t size = 0, len;
	const char *val;
	FILE *m;
	int rc = 0;

	m = open_memstream(out, &size);
	if (!m)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	snprintf(baud, sizeof(baud), "%u", (unsigned)vars->baud);
	for (; *arg && !rc; arg += len) {
		switch (placeholder_at(arg, &len)) {
		case PH_NONE:   val = NULL; fputc(*arg, m); break;
		case PH_LBRACE: val = "{"; break;
		case PH_RBRACE: val = "}"; break;
		case PH_PORT:   val = vars->port; break;
		case PH_IMAGE:  val = vars->image; break;
		case PH_BOARD:  val = vars->board; break;
		case PH_BAUD:   val = vars->baud ? baud : NULL; break;
		default:
			rc = tb_error_set(err, TB_ERR_ARG, "command: unknown placeholder at '%.20s'", arg);
			continue;
		}
		if (len > 1 && !val)
			rc = tb_error_set(err, TB_ERR_ARG, "command uses %.*s but no value was given",
					  (int)len, arg);
		else if (len > 1)
			fputs(val, m);
	}
	if (fclose(m) && !rc)
		rc = tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int tb_board_command_expand(char *const *tmpl, const struct tb_board_vars *vars,
			    char ***out, struct tb_error *err)
{
	static const struct tb_board_vars none;
	char **argv;
	size_t n, i;
	int rc;

	if (!tmpl || !out)
		return tb_error_set(err, TB_ERR_ARG, "tb_board_command_expand: no command");
	*out = NULL;
	for (n = 0; tmpl[n]; n++)
		;
	argv = calloc(n + 1, sizeof(*argv));
	if (!argv)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		rc = expand_one(tmpl[i], vars ? vars : &none, &argv[i], err);
		if (rc) {
			tb_board_argv_free(argv);
			return rc;
		}
	}
	*out = argv;
	return 0;
}

/* ---- the registry ----------------------------------------------------- */

struct tb_board_registry {
	struct tb_board **boards;    /* sorted by name */
	size_t n;
	size_t cap;
	char dirs[DIRS_TEXT_MAX];    /* folders loaded, for messages */
};

int tb_board_registry_new(struct tb_board_registry **out, struct tb_error *err)
{
	if (!out)
		return tb_error_set(err, TB_ERR_ARG, "tb_board_registry_new: NULL out");
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	return 0;
}

void tb_board_registry_free(struct tb_board_registry *reg)
{
	size_t i;

	if (!reg)
		return;
	for (i = 0; i < reg->n; i++)
		tb_board_free(reg->boards[i]);
	free(reg->boards);
	free(reg);
}

/* Index of name, or where it would go (*found false). */
static size_t registry_index(const struct tb_board_registry *reg,
			     const char *name, bool *found)
{
	size_t lo = 0, hi = reg->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(reg->boards[mid]->name, name);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int registry_reserve(struct tb_board_registry *reg, size_t more,
			    struct tb_error *err)
{
	struct tb_board **grown;
	size_t cap;

	if (reg->n + more <= reg->cap)
		return 0;
	cap = reg->cap ? reg->cap : 8;
	while (cap < reg->n + more)
		cap *= 2;
	grown = realloc(reg->boards, cap * sizeof(*grown));
	if (!grown)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	reg->boards = grown;
	reg->cap = cap;
	return 0;
}

/* Insert or replace; room must be reserved and overrides already set. */
static void registry_insert(struct tb_board_registry *reg,
			    struct tb_board *board)
{
	bool found;
	size_t i = registry_index(reg, board->name, &found);

	if (found) {
		tb_board_free(reg->boards[i]);
		reg->boards[i] = board;
		return;
	}
	memmove(&reg->boards[i + 1], &reg->boards[i],
		(reg->n - i) * sizeof(*reg->boards));
	reg->boards[i] = board;
	reg->n++;
}

/* Record in board->overrides which file it is about to replace. */
static int note_override(struct tb_board_registry *reg, struct tb_board *board,
			 struct tb_error *err)
{
	const struct tb_board *old = tb_board_registry_get(reg, board->name);

	if (!old || board->overrides)
		return 0;
	board->overrides = strdup(old->path);
	if (!board->overrides)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	return 0;
}

int tb_board_registry_add(struct tb_board_registry *reg,
			  struct tb_board *board, struct tb_error *err)
{
	int rc;

	if (!reg || !board || !board->name || !board->path) {
		tb_board_free(board);
		return tb_error_set(err, TB_ERR_ARG, "tb_board_registry_add: incomplete board");
	}
	rc = registry_reserve(reg, 1, err);
	if (!rc)
		rc = note_override(reg, board, err);
	if (rc) {
		tb_board_free(board);
		return rc;
	}
	registry_insert(reg, board);
	return 0;
}

static bool ini_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 4 && !strcmp(name + len - 4, ".ini");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int open_board_dir(const char *dir, DIR **out, struct tb_error *err)
{
	int e;

	*out = opendir(dir);
	if (*out)
		return 0;
	e = errno;
	if (e == ENOENT)
		return tb_error_set(err, TB_ERR_NOTFOUND, "board folder '%s' does not exist", dir);
	if (e == ENOTDIR)
		return tb_error_set(err, TB_ERR_ARG, "board folder '%s' is not a folder", dir);
	return tb_error_set(err, TB_ERR_IO, "cannot read board folder '%s': %s",
			    dir, strerror(e));
}

/* The regular "*.ini" files of dir as full paths, sorted. */
static int list_board_files(const char *dir, char ***out, size_t *count,
			    struct tb_error *err)
{
	char **names = NULL, **grown, *path;
	struct dirent *de;
	struct stat st;
	size_t n = 0;
	DIR *d;
	int rc;

	rc = open_board_dir(dir, &d, err);
	if (rc)
		return rc;
	while ((de = readdir(d))) {
		if (!ini_name(de->d_name))
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			goto out_nomem;
		if (stat(path, &st) || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown) {
			free(path);
			goto out_nomem;
		}
		names = grown;
		names[n++] = path;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	*out = names;
	*count = n;
	return 0;
out_nomem:
	closedir(d);
	free_names(names, n);
	return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
}

static int check_unique(struct tb_board **boards, size_t n,
			struct tb_error *err)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (!strcmp(boards[i]->name, boards[j]->name))
				return tb_error_set(err, TB_ERR_FORMAT,
						    "board '%s' is defined twice: in %s and in %s",
						    boards[i]->name,
						    boards[i]->path,
						    boards[j]->path);
	return 0;
}

static void note_dir(struct tb_board_registry *reg, const char *dir)
{
	size_t off = strlen(reg->dirs);

	snprintf(reg->dirs + off, sizeof(reg->dirs) - off, "%s%s",
		 off ? ", " : "", dir);
}

/* Parse all files, check them, then add them all: all or nothing. */
static int load_boards(struct tb_board_registry *reg, char **paths, size_t n,
		       struct tb_board **boards, struct tb_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = tb_board_load_file(paths[i], &boards[i], err);
		if (rc)
			return rc;
	}
	rc = check_unique(boards, n, err);
	if (!rc)
		rc = registry_reserve(reg, n, err);
	for (i = 0; i < n && !rc; i++)
		rc = note_override(reg, boards[i], err);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		registry_insert(reg, boards[i]);
		boards[i] = NULL;
	}
	return 0;
}

int tb_board_registry_load_dir(struct tb_board_registry *reg, const char *dir,
			       struct tb_error *err)
{
	struct tb_board **boards = NULL;
	char **paths = NULL;
	size_t n = 0, i;
	int rc;

	if (!reg || !dir)
		return tb_error_set(err, TB_ERR_ARG, "tb_board_registry_load_dir: NULL argument");
	rc = list_board_files(dir, &paths, &n, err);
	if (rc)
		return rc;
	boards = calloc(n + 1, sizeof(*boards));
	if (!boards) {
		rc = tb_error_set(err, TB_ERR_NOMEM, "out of memory");
		goto out_paths;
	}
	rc = load_boards(reg, paths, n, boards, err);
	if (!rc)
		note_dir(reg, dir);
	for (i = 0; i < n; i++)
		tb_board_free(boards[i]);
	free(boards);
out_paths:
	free_names(paths, n);
	return rc;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int project_dir(char *buf, size_t len, struct tb_error *err)
{
	const char *env = getenv("TINYBENCH_BOARDS_DIR");

	if (env && *env) {
		if ((size_t)snprintf(buf, len, "%s", env) >= len)
			return tb_error_set(err, TB_ERR_ARG, "TINYBENCH_BOARDS_DIR is too long");
		return 0;
	}
	snprintf(buf, len, "%s/boards", TB_SOURCE_DIR);
	if (is_dir(buf))
		return 0;
	snprintf(buf, len, "%s/boards", TB_DATADIR);
	if (is_dir(buf))
		return 0;
	return tb_error_set(err, TB_ERR_NOTFOUND,
			    "no board folder: neither %s/boards nor %s/boards exists; set TINYBENCH_BOARDS_DIR",
			    TB_SOURCE_DIR, TB_DATADIR);
}

/* The user's board folder, or "" when there is none to load. */
static void user_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;

	buf[0] = '\0';
	/* The XDG spec says to ignore a relative XDG_CONFIG_HOME. */
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/tinybench/boards", xdg);
	else if (home && *home)
		n = snprintf(buf, len, "%s/.config/tinybench/boards", home);
	else
		return;
	if (n < 0 || (size_t)n >= len || !is_dir(buf))
		buf[0] = '\0';
}

int tb_board_registry_load_default(struct tb_board_registry *reg,
				   struct tb_error *err)
{
	char dir[4096];
	int rc;

	rc = project_dir(dir, sizeof(dir), err);
	if (!rc)
		rc = tb_board_registry_load_dir(reg, dir, err);
	if (rc) {
		if (getenv("TINYBENCH_BOARDS_DIR") && rc == TB_ERR_NOTFOUND)
			tb_error_prefix(err, "TINYBENCH_BOARDS_DIR: ");
		return rc;
	}
	user_dir(dir, sizeof(dir));
	if (!dir[0])
		return 0;
	return tb_board_registry_load_dir(reg, dir, err);
}

size_t tb_board_registry_count(const struct tb_board_registry *reg)
{
	return reg ? reg->n : 0;
}

const struct tb_board *tb_board_registry_at(const struct tb_board_registry *reg,
					    size_t i)
{
	return reg && i < reg->n ? reg->boards[i] : NULL;
}

const struct tb_board *tb_board_registry_get(const struct tb_board_registry *reg,
					     const char *name)
{
	bool found;
	size_t i;

	if (!reg || !name)
		return NULL;
	i = registry_index(reg, name, &found);
	return found ? reg->boards[i] : NULL;
}

size_t tb_board_registry_names(const struct tb_board_registry *reg, char *buf,
			       size_t len)
{
	size_t i, need = 0, n = tb_board_registry_count(reg);

	if (!n) {
		if (len)
			snprintf(buf, len, "(none)");
		return strlen("(none)");
	}
	for (i = 0; i < n; i++)
		need += strlen(reg->boards[i]->name) + (i ? 2 : 0);
	if (!len)
		return need;
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		size_t off = strlen(buf);
		int w = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
				 reg->boards[i]->name);

		if (w < 0 || (size_t)w >= len - off)
			break;
	}
	if (need >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
	return need;
}

const char *tb_board_registry_dirs(const struct tb_board_registry *reg)
{
	return reg ? reg->dirs : "";
}

int tb_board_registry_find(const struct tb_board_registry *reg,
			   const char *name, const struct tb_board **out,
			   struct tb_error *err)
{
	char names[300];
	const struct tb_board *b = tb_board_registry_get(reg, name);

	if (out)
		*out = b;
	if (b)
		return 0;
	if (!tb_board_registry_count(reg))
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "unknown board '%s'; no boards are defined (folders read: %s)",
				    name ? name : "", reg && reg->dirs[0] ?
				    reg->dirs : "none");
	tb_board_registry_names(reg, names, sizeof(names));
	return tb_error_set(err, TB_ERR_NOTFOUND,
			    "unknown board '%s'; known boards: %s",
			    name ? name : "", names);
}

static bool board_has_usb(const struct tb_board *b, uint16_t vid, uint16_t pid)
{
	size_t i;

	for (i = 0; i < b->n_usb_ids; i++)
		if (b->usb_ids[i].vid == vid && b->usb_ids[i].pid == pid)
			return true;
	return false;
}

size_t tb_board_match_usb_all(const struct tb_board_registry *reg,
			      uint16_t vid, uint16_t pid,
			      const struct tb_board **out, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; reg && i < reg->n; i++) {
		if (!board_has_usb(reg->boards[i], vid, pid))
			continue;
		if (out && n < cap)
			out[n] = reg->boards[i];
		n++;
	}
	return n;
}

const struct tb_board *tb_board_match_usb(const struct tb_board_registry *reg,
					  uint16_t vid, uint16_t pid)
{
	const struct tb_board *b = NULL;

	tb_board_match_usb_all(reg, vid, pid, &b, 1);
	return b;
}
