/*
 * lpm01a_emu.c - tinybench-emu-lpm01a: an ST X-NUCLEO-LPM01A on a pty.
 *
 *   tinybench-emu-lpm01a (--port TTY | --pty) [--tsline PATH] [--truth FILE]
 *                        [--active-ua UA] [--idle-ua UA] [--per-line K]
 *                        [--fault SPEC]... [--fault-window K]
 *
 * It speaks the PowerShield's ASCII command set (../shared/reference/
 * instruments.md): `ack <cmd> [value]` or `error <cmd>` + `Error detail:
 * <text>`; setup commands need `htc` first; `start` checks the limits the
 * real firmware has (ascii_dec above 5 kHz is not unlimited, `output
 * energy` stops at 10 kHz).  While acquiring it streams ascii_dec lines
 * (K values a line) or bin_hexa words at the configured rate, "TimeStamp"
 * lines / F3 records once a second, and "event NN ris|fal" lines (F2
 * records in bin_hexa) for edges of the polarity `eventsrc` chose; `stop`
 * ends with F4 (bin_hexa), "ack stop" and "Acquisition completed".  The
 * voltage is what `volt` set (1800m..3300m); `output energy` samples are
 * the exact energy of each sample period.
 *
 * Faults, in window K (--fault-window, default 1; 0 = every window):
 *   drop=G          do not send G samples from 10 ms after the rise (the
 *                   TimeStamps show the loss)
 *   miss-edge       no event for the window's rising edge
 *   extra-edge      an extra event 5 ms after the rise
 *   error-in-window an error line / F1 record 5 ms after the rise
 *   vanish          exit 5 ms after the rise
 *   error-on=CMD    refuse the first CMD (any window) with an error reply
 *   miss-pulse=MS   (--timestamps pulses) no event for the pulse that
 *                   closes a window at least MS ms long (any window)
 *
 * The event input is edge-triggered: with --timestamps pulses every edge
 * of the polarity `eventsrc` chose is an event at the next sample, however
 * short the pulse (level style: the line's level at each sample).
 */

#include "emu.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_DYN_A 0.05

struct lpm {
	struct emu e;
	bool htc;
	unsigned volt_mv;
	double freq;
	double acqtime;        /* 0: unlimited */
	bool energy;
	bool binary;           /* configured format: bin_hexa */
	bool sbin;             /* the stream being sent is binary */
	int eventsrc;          /* -1 none, 1 ris, 0 fal */
	bool pwr_auto;
	unsigned per_line;
	unsigned events;       /* event counter */
	int sampled;           /* sampled level of the line */
	/* output being built */
	char *out;
	size_t n_out, cap_out;
	unsigned on_line;      /* values on the current ascii line */
	/* faults */
	uint64_t drop, dropped;
	bool miss_edge, extra_edge, error_in_window, vanish;
	double miss_pulse_ms;  /* < 0: off */
	bool extra_done, error_done;
	unsigned fault_win;    /* window the one-shot fault state is for */
	char error_on[32];
	char line[512];
	size_t n_line;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tinybench-emu-lpm01a (--port TTY | --pty) [--tsline PATH] [--truth FILE]\n"
		"       [--active-ua UA] [--idle-ua UA] [--ripple FRAC] [--ripple-hz HZ]\n"
		"       [--noise-ua UA] [--seed N] [--lag-ms MS] [--per-line K]\n"
		"       [--timestamps level|pulses]\n"
		"       [--fault SPEC]... [--fault-window K]\n"
		"An emulated ST X-NUCLEO-LPM01A PowerShield (tinybench tests; docs/ENERGY.md).\n"
		"faults: drop=G, miss-edge, extra-edge, error-in-window, vanish, error-on=CMD,\n"
		"        miss-pulse=MS\n");
}

static void out_reserve(struct lpm *l, size_t n)
{
	if (l->n_out + n <= l->cap_out)
		return;
	l->cap_out = (l->n_out + n) * 2;
	l->out = realloc(l->out, l->cap_out);
	if (!l->out)
		exit(1);
}

static void out_bytes(struct lpm *l, const void *b, size_t n)
{
	out_reserve(l, n);
	memcpy(l->out + l->n_out, b, n);
	l->n_out += n;
}

static void out_flush(struct lpm *l)
{
	if (l->n_out && emu_write_all(&l->e, l->out, l->n_out) < 0)
		exit(0);
	l->n_out = 0;
}

/* End a partial ascii sample line. */
static void end_sample_line(struct lpm *l)
{
	if (l->on_line) {
		out_bytes(l, "\r\n", 2);
		l->on_line = 0;
	}
}

static void printf_line(struct lpm *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void printf_line(struct lpm *l, const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	int n;

	end_sample_line(l);
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 3)
		n = (int)sizeof(buf) - 3;
	buf[n++] = '\r';
	buf[n++] = '\n';
	out_bytes(l, buf, (size_t)n);
}

/* A metadata record (bin_hexa): 0xF0 type payload 0xFF 0xFF. */
static void record(struct lpm *l, uint8_t type, const void *payload, size_t n)
{
	uint8_t hdr[2] = { 0xF0, type }, end[2] = { 0xFF, 0xFF };

	out_bytes(l, hdr, 2);
	out_bytes(l, payload, n);
	out_bytes(l, end, 2);
}

/* An error, in the stream's format. */
static void stream_error(struct lpm *l, const char *text)
{
	if (l->sbin)
		record(l, 0xF1, text, strlen(text));
	else {
		printf_line(l, "error during acquisition");
		printf_line(l, "Error detail: %s", text);
	}
}

static void reply_error(struct lpm *l, const char *cmd, const char *detail)
{
	printf_line(l, "error %s", cmd);
	printf_line(l, "Error detail: %s", detail);
}

/* "6409-07": four significant digits, exponent of ten. */
static void ascii_dec(double v, char out[8])
{
	int e;
	long m;

	if (!(v > 0)) {
		memcpy(out, "0000+00", 8);
		return;
	}
	e = (int)floor(log10(v)) - 3;
	m = lround(v / pow(10.0, e));
	if (m >= 10000) {
		e++;
		m = lround(v / pow(10.0, e));
	}
	if (m < 1000)
		m = 1000;
	if (m > 9999)
		m = 9999;
	snprintf(out, 8, "%04d%c%02d", (int)m, e < 0 ? '-' : '+', abs(e) > 99 ? 99 : abs(e));
}

/* mantissa x 16^-e, the largest e (<= 14) that keeps the mantissa <= 4095. */
static uint16_t bin_hexa(double v)
{
	if (!(v > 0))
		return 0;
	for (int e = 14; e >= 0; e--) {
		double m = floor(ldexp(v, 4 * e) + 0.5);

		if (m <= 4095)
			return (uint16_t)((unsigned)e << 12 | (unsigned)m);
	}
	return 0x0FFF;
}

static void sample(struct lpm *l, double v)
{
	if (l->sbin) {
		uint16_t w = bin_hexa(v);
		uint8_t b[2] = { (uint8_t)(w >> 8), (uint8_t)w };

		out_bytes(l, b, 2);
		return;
	}
	char s[8];

	ascii_dec(v, s);
	if (l->on_line)
		out_bytes(l, " ", 1);
	out_bytes(l, s, 7);
	if (++l->on_line >= l->per_line)
		end_sample_line(l);
}

static void event(struct lpm *l, int level)
{
	char text[32];

	snprintf(text, sizeof(text), "event %02u %s", l->events++ % 100, level ? "ris" : "fal");
	if (l->sbin)
		record(l, 0xF2, text, strlen(text));
	else
		printf_line(l, "%s", text);
}

static void timestamp(struct lpm *l, uint64_t ms)
{
	if (l->sbin) {
		uint8_t p[5] = { (uint8_t)(ms >> 24), (uint8_t)(ms >> 16), (uint8_t)(ms >> 8),
				 (uint8_t)ms, 0 };

		record(l, 0xF3, p, 5);
	} else {
		printf_line(l, "TimeStamp: %03llus %03llums, buff 00%%",
			    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
	}
}

static void end_acquisition(struct lpm *l, bool acked_stop)
{
	if (l->sbin) {
		record(l, 0xF4, NULL, 0);
		l->sbin = false;
	}
	end_sample_line(l);
	if (acked_stop)
		printf_line(l, "ack stop");
	printf_line(l, "Acquisition completed");
	emu_stop(&l->e);
	out_flush(l);
}

static void stream(struct emu *e)
{
	struct lpm *l = (struct lpm *)e;
	double dt = 1.0 / l->freq;
	uint64_t due;

	emu_line_update(e);
	due = emu_due(e);
	for (uint64_t j = 0; j < due && e->streaming; j++) {
		uint64_t k = e->k++;
		int64_t t = emu_sample_ns(e, k);
		int level = emu_track(e, k);
		bool faulty = emu_faulty(e);
		double since = faulty ? (double)(t - e->window_rise_ns) * 1e-9 : -1;
		double v, cur;

		if (faulty && l->fault_win != e->window) {
			l->fault_win = e->window;   /* a new faulty window */
			l->dropped = 0;
			l->extra_done = l->error_done = false;
		}
		if (e->pulses && l->eventsrc >= 0) {
			int64_t prev = k ? emu_sample_ns(e, k - 1) : e->t_start_ns - 1;
			unsigned n = emu_line_edges_in(e, prev, t, l->eventsrc);

			if (l->miss_pulse_ms >= 0 && n &&
			    emu_just_closed(e, t, l->miss_pulse_ms, 1e3 / l->freq))
				n--;
			while (n--)
				event(l, l->eventsrc);
		} else if (!e->pulses && level != l->sampled) {
			bool skip = l->miss_edge && level && faulty;

			if (level == l->eventsrc && !skip)
				event(l, level);
			l->sampled = level;
		}
		if (faulty && since >= 0.005) {
			if (l->vanish)
				_exit(0);
			if (l->extra_edge && !l->extra_done && l->eventsrc >= 0) {
				event(l, l->eventsrc);
				l->extra_done = true;
			}
			if (l->error_in_window && !l->error_done) {
				stream_error(l, "acquisition buffer overflow");
				l->error_done = true;
			}
		}
		cur = emu_current(&e->prof, t, level);
		if (cur > MAX_DYN_A) {
			if (l->sbin)
				record(l, 0xF5, NULL, 0);
			else
				stream_error(l, "overcurrent");
		}
		if (l->energy)
			v = e->prof.volt_v * (emu_charge(e, t, emu_sample_ns(e, k + 1)) +
					      e->prof.noise_a * emu_noise(e) * dt);
		else
			v = cur + e->prof.noise_a * emu_noise(e);
		if (l->drop && faulty && since >= 0.010 && l->dropped < l->drop)
			l->dropped++;
		else
			sample(l, v);
		if ((k + 1) % (uint64_t)l->freq == 0)
			timestamp(l, (k + 1) / (uint64_t)l->freq * 1000);
		if (l->acqtime > 0 && (double)(k + 1) >= l->acqtime * l->freq)
			end_acquisition(l, false);
	}
	out_flush(l);
}

static bool parse_number(const char *s, double *v)
{
	char *end;
	double x;

	if (!strcmp(s, "inf")) {
		*v = 0;    /* unlimited */
		return true;
	}
	x = strtod(s, &end);
	if (end == s)
		return false;
	if (*end == 'u')
		x *= 1e-6, end++;
	else if (*end == 'm')
		x *= 1e-3, end++;
	else if (*end == 'k')
		x *= 1e3, end++;
	else if ((*end == '-' || *end == '+') && isdigit((unsigned char)end[1])) {
		x *= pow(10.0, (*end == '-' ? -1 : 1) * atoi(end + 1));
		end += strlen(end);
	}
	if (*end)
		return false;
	*v = x;
	return true;
}

static bool freq_ok(double f)
{
	static const double ok[] = { 100000, 50000, 20000, 10000, 5000, 2000, 1000,
				     500, 200, 100, 50, 20, 10, 5, 2, 1 };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (ok[i] == f)
			return true;
	return false;
}

static void command(struct lpm *l, char *c)
{
	char w[8][64] = { { 0 } };
	int n = sscanf(c, "%63s %63s %63s %63s", w[0], w[1], w[2], w[3]);
	const char *cmd = w[0];
	double v;

	if (n <= 0)
		return;
	if (l->error_on[0] && !strcmp(cmd, l->error_on)) {
		l->error_on[0] = '\0';
		reply_error(l, c, "emulated failure (--fault error-on)");
		return;
	}
	if (l->e.streaming && strcmp(cmd, "stop")) {
		reply_error(l, c, "acquisition in progress: send stop first");
		return;
	}
	if (!strcmp(cmd, "powershield")) {
		printf_line(l, "ack powershield PowerShield present EMU-0042");
		return;
	}
	if (!strcmp(cmd, "version")) {
		printf_line(l, "ack version 1.0.2-emulated");
		return;
	}
	if (!strcmp(cmd, "status")) {
		printf_line(l, "ack status ok");
		return;
	}
	if (!strcmp(cmd, "echo") || !strcmp(cmd, "help")) {
		printf_line(l, "ack %s", c);
		return;
	}
	if (!strcmp(cmd, "htc")) {
		l->htc = true;
		printf_line(l, "ack htc");
		return;
	}
	if (!strcmp(cmd, "hrc")) {
		l->htc = false;
		printf_line(l, "ack hrc");
		return;
	}
	if (!strcmp(cmd, "stop")) {
		if (l->e.streaming)
			end_acquisition(l, true);
		else
			printf_line(l, "ack stop");
		return;
	}
	if (!l->htc) {
		reply_error(l, c, "host does not have control (send htc)");
		return;
	}
	if (!strcmp(cmd, "volt") && n == 2 && parse_number(w[1], &v)) {
		if (v < 1.8 - 1e-9 || v > 3.3 + 1e-9) {
			reply_error(l, c, "voltage out of range [1800m; 3300m]");
			return;
		}
		l->volt_mv = (unsigned)lround(v * 1000);
		l->e.prof.volt_v = l->volt_mv / 1000.0;
	} else if (!strcmp(cmd, "freq") && n == 2 && parse_number(w[1], &v)) {
		if (!freq_ok(v)) {
			reply_error(l, c, "frequency not in {100k, 50k, 20k, 10k, 5k, 2k, 1k, 500, 200, 100, 50, 20, 10, 5, 2, 1}");
			return;
		}
		l->freq = v;
	} else if (!strcmp(cmd, "acqtime") && n == 2 && parse_number(w[1], &v) && v >= 0) {
		l->acqtime = v;
	} else if (!strcmp(cmd, "acqmode") && n == 2 && (!strcmp(w[1], "dyn") || !strcmp(w[1], "stat"))) {
	} else if (!strcmp(cmd, "funcmode") && n == 2 && (!strcmp(w[1], "optim") || !strcmp(w[1], "high"))) {
	} else if (!strcmp(cmd, "output") && n == 2 && (!strcmp(w[1], "current") || !strcmp(w[1], "energy"))) {
		l->energy = !strcmp(w[1], "energy");
	} else if (!strcmp(cmd, "format") && n == 2 && (!strcmp(w[1], "ascii_dec") || !strcmp(w[1], "bin_hexa"))) {
		l->binary = !strcmp(w[1], "bin_hexa");
	} else if (!strcmp(cmd, "trigsrc") && n == 2 && (!strcmp(w[1], "sw") || !strcmp(w[1], "d7"))) {
	} else if (!strcmp(cmd, "trigdelay") && n == 2 && parse_number(w[1], &v)) {
	} else if (!strcmp(cmd, "eventsrc") && n == 3 && !strcmp(w[1], "d7") &&
		   (!strcmp(w[2], "ris") || !strcmp(w[2], "fal"))) {
		l->eventsrc = !strcmp(w[2], "ris");
	} else if (!strcmp(cmd, "pwr") && n >= 2 && (!strcmp(w[1], "on") || !strcmp(w[1], "off") ||
						     !strcmp(w[1], "auto"))) {
		l->pwr_auto = !strcmp(w[1], "auto");
		l->e.prof.powered = !strcmp(w[1], "on");
	} else if (!strcmp(cmd, "lcd") || !strcmp(cmd, "temp") || !strcmp(cmd, "calib") ||
		   !strcmp(cmd, "psrst") || !strcmp(cmd, "pwrend") || !strcmp(cmd, "currthres") ||
		   !strcmp(cmd, "targrst") || !strcmp(cmd, "range") || !strcmp(cmd, "autotest")) {
	} else if (!strcmp(cmd, "start")) {
		if (l->energy && l->freq > 10000) {
			reply_error(l, c, "output energy is limited to 10 kHz");
			return;
		}
		if (!l->binary && l->freq > 5000 && (l->acqtime == 0 || l->acqtime * l->freq > 10000)) {
			reply_error(l, c, "ascii_dec above 5 kHz is limited to 10000 samples (use bin_hexa)");
			return;
		}
		if (l->pwr_auto)
			l->e.prof.powered = true;
		printf_line(l, "ack start");
		out_flush(l);
		l->sbin = l->binary;
		l->sampled = 0;
		emu_start(&l->e, l->freq);
		l->sampled = l->e.level;
		return;
	} else {
		reply_error(l, c, n >= 1 && strchr("abcdefghijklmnopqrstuvwxyz", cmd[0]) ?
			    "unknown command or bad argument" : "syntax error");
		return;
	}
	/* A setter: echo it. */
	printf_line(l, "ack %s", c);
}

static void input(struct emu *e, const uint8_t *b, int n)
{
	struct lpm *l = (struct lpm *)e;

	for (int i = 0; i < n; i++) {
		if (b[i] == '\n' || b[i] == '\r') {
			l->line[l->n_line] = '\0';
			if (l->n_line)
				command(l, l->line);
			l->n_line = 0;
		} else if (l->n_line < sizeof(l->line) - 1) {
			l->line[l->n_line++] = (char)b[i];
		}
	}
	out_flush(l);
}

static int parse_fault(struct lpm *l, const char *s)
{
	if (!strncmp(s, "drop=", 5))
		l->drop = strtoull(s + 5, NULL, 10);
	else if (!strcmp(s, "miss-edge"))
		l->miss_edge = true;
	else if (!strcmp(s, "extra-edge"))
		l->extra_edge = true;
	else if (!strncmp(s, "miss-pulse=", 11))
		l->miss_pulse_ms = strtod(s + 11, NULL);
	else if (!strcmp(s, "error-in-window"))
		l->error_in_window = true;
	else if (!strcmp(s, "vanish"))
		l->vanish = true;
	else if (!strncmp(s, "error-on=", 9))
		snprintf(l->error_on, sizeof(l->error_on), "%s", s + 9);
	else
		return -1;
	return 0;
}

/* The LPM01A's own options (emu_parse_args()). */
static int option(struct emu *e, const char *opt, const char *val)
{
	struct lpm *l = (struct lpm *)e;

	if (!strcmp(opt, "--per-line")) {
		l->per_line = (unsigned)atoi(val);
		if (l->per_line < 1 || l->per_line > 32) {
			fprintf(stderr, "tinybench-emu-lpm01a: --per-line 1..32\n");
			return -1;
		}
	} else if (!strcmp(opt, "--fault")) {
		if (parse_fault(l, val) < 0) {
			fprintf(stderr, "tinybench-emu-lpm01a: unknown fault '%s'\n", val);
			return -1;
		}
	} else {
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	static struct lpm l;
	int rc;

	emu_init(&l.e, "tinybench-emu-lpm01a", "lpm01a", 0xD1B54A32D192ED03ull);
	l.volt_mv = 3300;
	l.freq = 100;
	l.acqtime = 10;
	l.eventsrc = -1;
	l.miss_pulse_ms = -1;
	l.pwr_auto = true;
	l.per_line = 1;
	rc = emu_parse_args(&l.e, argc, argv, usage, option);
	if (rc >= 0)
		return rc;
	/* The voltage comes from `volt` (default 3300m), as on the device. */
	l.e.prof.volt_v = l.volt_mv / 1000.0;
	if (emu_setup(&l.e) < 0)
		return 1;
	emu_run(&l.e, input, stream);
	return 0;
}
