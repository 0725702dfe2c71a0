/*
 * tb_energy.c - energy measurement inside a run (tb_energy.h).
 */
#include "tb_energy.h"
#include "tb_config.h"
#include "tb_power_rec.h"
#include "tb_sim_spawn.h"
#include "tb_vline.h"
#include "tbp.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 48
#define POLL_MS 20
#define STALL_GRACE_S 2.0

struct tb_energy {
	const struct tb_board *board;
	const struct tb_power_driver *drv;
	struct tb_energy_opts o;
	char port[256];               /* real port, "" for a spawned emulator */
	char where[PATH_MAX + 64];
	char method[80];
	/* emulator on the sim board */
	struct tb_sim *emu;
	char emu_path[PATH_MAX];
	char dir[PATH_MAX - 64];
	char vline[PATH_MAX];
	const char *runner_args[MAX_ARGS];
	bool faults_used;
	/* a QEMU board: its firmware's timestamp bridge, replayed on the line
	 * (the harness writes the line; docs/ENERGY.md, "QEMU boards") */
	bool qemu;
	struct tb_vline *line;        /* our writable mapping of vline */
	struct tb_transport *bridge;  /* the current QEMU's channel, not ours */
	double bridge_hz;             /* instructions per second (timer_hz) */
	int64_t last_edge_ns;         /* last edge published on the line */
	int line_level;
	double cover_until;           /* mono s the stream must cover, or 0 */
	char bridge_msg[40];          /* a message being received */
	size_t bridge_len;
	/* the instrument */
	struct tb_power_dev *dev;
	struct tb_power_config cfg;
	struct tb_power_rec *rec;
	/* the acquisition of the current trial */
	pthread_t thread;
	bool thread_running;
	atomic_bool stop;
	int thread_rc;
	struct tb_error thread_err;
	uint32_t retries0;
	double t_start;
	struct tb_power_result last;
	bool have_last;
	/* EEMBC energy-mode firmware: timestamps are pulses on a line that
	 * idles high, not a level (docs/EEMBC.md) */
	enum tb_power_ts_style style;
	double probe_window_s;        /* of the last tb_energy_probe_end() */
};

/* Link-level repeats of the batch so far (each one is another window on
 * the line); the EEMBC driver has no link and never repeats. */
static uint32_t link_retries(struct tb_link *link)
{
	struct tb_link_stats st;

	if (!link)
		return 0;
	tb_link_get_stats(link, &st);
	return st.retries;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int tb_energy_emulator_locate(const char *name, char *out, size_t len,
			      struct tb_error *err)
{
	char exe[PATH_MAX], dirs[4][PATH_MAX];
	const char *env = getenv("TINYBENCH_EMU_DIR");
	ssize_t n;
	int nd = 0;

	if (env && *env)
		snprintf(dirs[nd++], PATH_MAX, "%s", env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(dirs[nd++], PATH_MAX, "%s", exe);
		}
	}
	snprintf(dirs[nd++], PATH_MAX, "%s/power/emu", TB_BUILD_DIR);
	snprintf(dirs[nd++], PATH_MAX, "%s", TB_LIBEXECDIR);
	for (int i = 0; i < nd; i++) {
		if ((size_t)snprintf(out, len, "%s/%s", dirs[i], name) < len &&
		    is_executable(out))
			return TB_OK;
	}
	return tb_error_set(err, TB_ERR_NOTFOUND,
			    "emulator %s not found (looked in $TINYBENCH_EMU_DIR, %s, %s/power/emu, %s)",
			    name, nd > 3 ? dirs[nd - 3] : "the executable's folder",
			    TB_BUILD_DIR, TB_LIBEXECDIR);
}

/* ---- finding and opening the instrument ------------------------------- */

struct detect {
	const struct tb_power_driver *drv;
	char ports[8][256];
	int n;
};

static int on_port(const struct tb_serial_port_info *pi, void *user)
{
	struct detect *d = user;

	if (pi->has_usb_id && tb_power_driver_by_usb(pi->vid, pi->pid) == d->drv &&
	    d->n < 8)
		snprintf(d->ports[d->n++], sizeof(d->ports[0]), "%s", pi->name);
	return 0;
}

/* The one port with the driver's USB id. */
static int detect_port(struct tb_energy *e, struct tb_error *err)
{
	struct detect d = { .drv = e->drv };
	char list[600] = "";
	int rc = tb_serial_list(on_port, &d, err);

	if (rc < 0)
		return rc;
	if (d.n == 1) {
		snprintf(e->port, sizeof(e->port), "%s", d.ports[0]);
		return TB_OK;
	}
	for (int i = 0; i < d.n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 i ? ", " : "", d.ports[i]);
	if (!d.n)
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "no %s found (USB %04x:%04x); plug it in or give its port: --energy %s:PORT (`tinybench monitors` lists what is attached)",
				    e->drv->long_name, e->drv->usb_ids[0].vid,
				    e->drv->usb_ids[0].pid, e->drv->name);
	return tb_error_set(err, TB_ERR_ARG,
			    "%d %s devices found (%s); say which: --energy %s:PORT",
			    d.n, e->drv->name, list, e->drv->name);
}

static int spawn_emulator(struct tb_energy *e, struct tb_error *err)
{
	const struct tb_board *b = e->board;
	const char *args[MAX_ARGS + 16];
	char mv[32], act[32], idle[32];
	size_t n = 0;
	int rc;

	snprintf(mv, sizeof(mv), "%u", (unsigned)b->power_voltage_mv);
	snprintf(act, sizeof(act), "%llu", (unsigned long long)b->power_active_ua);
	snprintf(idle, sizeof(idle), "%llu", (unsigned long long)b->power_idle_ua);
	args[n++] = "--tsline";
	args[n++] = e->vline;
	args[n++] = "--voltage-mv";
	args[n++] = mv;
	args[n++] = "--active-ua";
	args[n++] = act;
	args[n++] = "--idle-ua";
	args[n++] = idle;
	args[n++] = "--timestamps";
	args[n++] = e->style == TB_POWER_TS_PULSES ? "pulses" : "level";
	/* Test hooks go to the first emulator only: one restarted after it
	 * "vanished" is a healthy instrument. */
	for (size_t i = 0; !e->faults_used && e->o.emu_args && e->o.emu_args[i] &&
	     n < MAX_ARGS + 15; i++)
		args[n++] = e->o.emu_args[i];
	args[n] = NULL;
	e->faults_used = true;
	rc = tb_sim_spawn(e->emu_path, args, &e->emu, err);
	if (rc < 0)
		return tb_error_prefix(err, "energy monitor emulator: ");
	snprintf(e->where, sizeof(e->where), "emulator %s (pid %ld)", e->emu_path,
		 (long)tb_sim_pid(e->emu));
	return TB_OK;
}

/* Open (or reopen), identify, configure and power the target. */
static int connect_instrument(struct tb_energy *e, struct tb_error *err)
{
	int rc;

	if (e->emu || e->dir[0]) {
		tb_sim_free(e->emu);
		e->emu = NULL;
		rc = spawn_emulator(e, err);
		if (rc < 0)
			return rc;
		rc = tb_power_open_transport(e->drv, tb_sim_transport(e->emu), &e->dev, err);
	} else {
		snprintf(e->where, sizeof(e->where), "%s", e->port);
		rc = tb_power_open(e->drv, e->port, &e->dev, err);
	}
	if (rc < 0)
		return rc;
	rc = tb_power_configure(e->dev, &e->cfg, err);
	if (rc == TB_OK)
		rc = tb_power_target(e->dev, true, err);
	if (rc < 0)
		return tb_error_prefix(err, "energy monitor %s on %s: ", e->drv->name, e->where);
	snprintf(e->method, sizeof(e->method), "%s:%s",
		 e->emu || e->dev->info.emulated ? "emulated" : "measured", e->drv->name);
	return TB_OK;
}

/* A board without a pin anyone can probe (sim, QEMU): the emulated
 * instrument, which samples a virtual timestamp line the harness makes. */
static int setup_virtual_line(struct tb_energy *e, struct tb_error *err)
{
	const struct tb_board *b = e->board;
	const char *tmp = getenv("TMPDIR");
	char name[64];
	int rc;

	if (e->port[0])
		return tb_error_set(err, TB_ERR_ARG,
				    "board '%s' has no physical timestamp pin: its line is virtual and only the emulated %s sees it; drop the port (--energy %s)",
				    b->name, e->drv->name, e->drv->name);
	if (!b->has_power || !b->power_active_ua)
		return tb_error_set(err, TB_ERR_ARG,
				    "board '%s' has no power model ([power] voltage_mv, active_ua, idle_ua in %s): the emulated %s has nothing to measure",
				    b->name, b->path ? b->path : "its board file", e->drv->name);
	snprintf(name, sizeof(name), "tinybench-emu-%s", e->drv->name);
	rc = tb_energy_emulator_locate(name, e->emu_path, sizeof(e->emu_path), err);
	if (rc < 0)
		return rc;
	snprintf(e->dir, sizeof(e->dir), "%s/tinybench-energy-XXXXXX",
		 tmp && *tmp == '/' ? tmp : "/tmp");
	if (!mkdtemp(e->dir)) {
		rc = tb_error_set(err, TB_ERR_IO, "cannot create %s: %s", e->dir, strerror(errno));
		e->dir[0] = '\0';
		return rc;
	}
	snprintf(e->vline, sizeof(e->vline), "%s/timestamp-line", e->dir);
	if (tb_vline_create(e->vline) < 0)
		return tb_error_set(err, TB_ERR_IO, "cannot create the virtual timestamp line %s: %s",
				    e->vline, strerror(errno));
	return TB_OK;
}

/* The sim board: the runner drives the line (--timestamp-line). */
static int setup_sim(struct tb_energy *e, const char *const **runner_args,
		     struct tb_error *err)
{
	size_t n = 0;
	int rc = setup_virtual_line(e, err);

	if (rc < 0)
		return rc;
	for (const char *const *a = *runner_args; a && *a && n < MAX_ARGS - 3; a++)
		e->runner_args[n++] = *a;
	e->runner_args[n++] = "--timestamp-line";
	e->runner_args[n++] = e->vline;
	e->runner_args[n] = NULL;
	*runner_args = e->runner_args;
	return TB_OK;
}

/* A QEMU board: the harness drives the line from the firmware's timestamp
 * bridge (tb_energy_bridge(), tb_energy_wants_timestamp_line()). */
static int setup_qemu(struct tb_energy *e, struct tb_error *err)
{
	const struct tb_board *b = e->board;
	int rc;

	if (b->qemu_tsline == TB_BOARD_QEMU_TSLINE_NONE)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "board '%s' has no timestamp bridge ([qemu] timestamp_line in %s): the emulated %s could not see its timed window",
				    b->name, b->path ? b->path : "its board file", e->drv->name);
	rc = setup_virtual_line(e, err);
	if (rc < 0)
		return rc;
	e->line = tb_vline_map(e->vline, 1);
	if (!e->line)
		return tb_error_set(err, TB_ERR_IO, "cannot map the virtual timestamp line %s: %s",
				    e->vline, strerror(errno));
	e->qemu = true;
	return TB_OK;
}

int tb_energy_open(const struct tb_board *b, const struct tb_energy_opts *o,
		   const char *const **runner_args, struct tb_energy **out,
		   struct tb_error *err)
{
	struct tb_energy *e;
	char names[64], drv_name[32];
	const char *colon;
	int rc;

	*out = NULL;
	if (!o || !o->spec)
		return TB_OK;
	e = calloc(1, sizeof(*e));
	if (!e)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	e->board = b;
	e->o = *o;
	if (!strcmp(o->spec, "default") || !*o->spec) {
		if (b->energy_monitor == TB_BOARD_ENERGY_NONE) {
			rc = tb_error_set(err, TB_ERR_ARG,
					  "board '%s' names no energy_monitor in its file; say which: --energy ppk2 or --energy lpm01a",
					  b->name);
			goto out_free;
		}
		snprintf(drv_name, sizeof(drv_name), "%s", tb_board_energy_name(b->energy_monitor));
	} else {
		colon = strchr(o->spec, ':');
		snprintf(drv_name, sizeof(drv_name), "%.*s",
			 (int)(colon ? (size_t)(colon - o->spec) : strlen(o->spec)), o->spec);
		if (colon)
			snprintf(e->port, sizeof(e->port), "%s", colon + 1);
		if (colon && !colon[1]) {
			rc = tb_error_set(err, TB_ERR_ARG, "--energy %s: the port is empty", o->spec);
			goto out_free;
		}
	}
	e->drv = tb_power_driver_find(drv_name, names, sizeof(names));
	if (!e->drv) {
		rc = tb_error_set(err, TB_ERR_NOTFOUND,
				  "unknown energy monitor '%s'; known: %s", drv_name, names);
		goto out_free;
	}
	e->cfg.voltage_mv = b->has_power ? b->power_voltage_mv : 3300;
	e->cfg.external_supply = b->has_power && b->power_external_supply;
	e->cfg.sample_hz = o->sample_hz;
	e->cfg.ts_input = 0;
	e->style = b->protocol == TB_BOARD_PROTOCOL_EEMBC &&
		   b->eembc_mode == TB_BOARD_EEMBC_ENERGY ? TB_POWER_TS_PULSES : TB_POWER_TS_LEVEL;
	e->cfg.ts_style = e->style;
	switch (b->transport) {
	case TB_BOARD_TRANSPORT_SIM:
		rc = setup_sim(e, runner_args, err);
		break;
	case TB_BOARD_TRANSPORT_SERIAL:
		rc = e->port[0] ? TB_OK : detect_port(e, err);
		break;
	case TB_BOARD_TRANSPORT_QEMU:
		rc = setup_qemu(e, err);
		break;
	default:
		rc = tb_error_set(err, TB_ERR_UNSUPPORTED,
				  "energy on board '%s' (transport %s): its timestamp pin is not bridged to a virtual line the emulated monitors can sample yet (docs/ENERGY.md)",
				  b->name, tb_board_transport_name(b->transport));
		break;
	}
	if (rc < 0)
		goto out_free;
	rc = tb_power_rec_new(&e->rec, err);
	if (rc < 0)
		goto out_free;
	rc = connect_instrument(e, err);
	if (rc < 0)
		goto out_free;
	*out = e;
	return TB_OK;

out_free:
	tb_energy_free(e);
	return rc;
}

const char *tb_energy_method(const struct tb_energy *e)
{
	return e ? e->method : NULL;
}

const struct tb_power_info *tb_energy_info(const struct tb_energy *e)
{
	return e && e->dev ? tb_power_get_info(e->dev) : NULL;
}

const char *tb_energy_port(const struct tb_energy *e)
{
	return e ? e->where : NULL;
}

/* ---- a QEMU board: the timestamp bridge ------------------------------- *
 * Under -icount QEMU's time is instructions, not the host's: its timed
 * window cannot be put on the line as it happens.  The firmware reports
 * each edge on the bridge's channel, the fall with the window's length in
 * instructions (tbr_fw.h); after INFER_RSP the harness replays every
 * window on the line, starting a little after now (ahead of the
 * instrument, which samples 50 ms behind), lasting instructions / the
 * nominal clock.  So the instrument integrates the board's power model
 * over the *estimated* window, in real time: an estimate from instruction
 * counts, not a measurement. */

#define BRIDGE_LEAD_NS 5000000       /* a replayed window starts 5 ms ahead */
#define BRIDGE_GAP_NS 1000000        /* and 1 ms after the previous edge */
#define BRIDGE_WAIT_MS 500           /* for the fall after INFER_RSP */

static int64_t mono_ns(void)
{
	return tb_vline_now_ns();
}

static void line_publish(struct tb_energy *e, int level, int64_t t_ns)
{
	if (t_ns <= e->last_edge_ns)
		t_ns = e->last_edge_ns + 1;
	tb_vline_set_at(e->line, level, t_ns);
	e->last_edge_ns = t_ns;
	e->line_level = level;
}

/* When the next replayed edge may be. */
static int64_t replay_start(const struct tb_energy *e)
{
	int64_t t = mono_ns() + BRIDGE_LEAD_NS;

	return t > e->last_edge_ns + BRIDGE_GAP_NS ? t : e->last_edge_ns + BRIDGE_GAP_NS;
}

void tb_energy_bridge(struct tb_energy *e, struct tb_transport *channel, double units_hz)
{
	if (!e || !e->qemu)
		return;
	e->bridge = channel;
	e->bridge_hz = units_hz;
}

bool tb_energy_wants_timestamp_line(const struct tb_energy *e)
{
	return e && e->qemu;
}

/* Before an acquisition: what the bridge said so far (the calibration's
 * batches, a batch measured again) happened before the instrument
 * sampled; a line left high (a window that never closed: QEMU was
 * restarted) goes low, as a reset pin would. */
static int bridge_begin(struct tb_energy *e, struct tb_error *err)
{
	uint8_t buf[512];
	int n;

	if (!e->qemu)
		return TB_OK;
	if (!e->bridge || e->bridge_hz <= 0)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "board '%s': QEMU runs without the timestamp bridge",
				    e->board->name);
	while ((n = tb_transport_read(e->bridge, buf, sizeof(buf), 0, err)) > 0)
		;
	if (n < 0)
		return tb_error_prefix(err, "timestamp bridge: ");
	e->bridge_len = 0;
	e->cover_until = 0;
	if (e->line_level)
		line_publish(e, 0, mono_ns());
	return TB_OK;
}

/* One message from the bridge: "R" or "F" + 16 hex digits. */
static int bridge_message(struct tb_energy *e, bool *rise, bool *fell, struct tb_error *err)
{
	const char *m = e->bridge_msg;
	uint64_t insns = 0;
	int64_t t0, len_ns;

	if (!strcmp(m, "R")) {
		if (*rise) /* two rises: the line was already high */
			line_publish(e, 1, replay_start(e));
		*rise = true;
		return TB_OK;
	}
	if (m[0] != 'F' || strlen(m) != 17)
		return tb_error_set(err, TB_ERR_PROTO, "timestamp bridge: unexpected message '%.20s'",
				    m);
	for (int i = 1; i <= 16; i++) {
		int c = m[i];

		if (c >= '0' && c <= '9')
			insns = insns << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			insns = insns << 4 | (uint64_t)(c - 'a' + 10);
		else
			return tb_error_set(err, TB_ERR_PROTO,
					    "timestamp bridge: unexpected message '%.20s'", m);
	}
	/* A fall without its rise (it came before the acquisition) is a
	 * window the instrument saw only the end of: the line falls. */
	len_ns = (int64_t)llround((double)insns * 1e9 / e->bridge_hz);
	t0 = replay_start(e);
	if (*rise)
		line_publish(e, 1, t0);
	line_publish(e, 0, t0 + (*rise ? len_ns : 0));
	*rise = false;
	*fell = true;
	e->cover_until = (double)e->last_edge_ns / 1e9;
	return TB_OK;
}

/* After INFER_RSP: read the bridge's messages (sent before the reply) and
 * replay the windows on the line. */
static int bridge_collect(struct tb_energy *e, struct tb_error *err)
{
	double deadline = mono_s() + BRIDGE_WAIT_MS / 1000.0;
	bool rise = false, fell = false;
	uint8_t buf[256];
	int rc;

	if (!e->qemu)
		return TB_OK;
	for (;;) {
		double left = deadline - mono_s();
		int n;

		/* Done: a window closed and nothing more came for 20 ms. */
		if (fell && !rise)
			left = left < 0.02 ? left : 0.02;
		n = tb_transport_read(e->bridge, buf, sizeof(buf),
				      left > 0 ? (int)(left * 1000) + 1 : 0, err);
		if (n < 0)
			return tb_error_prefix(err, "timestamp bridge: ");
		if (n == 0 && (left <= 0 || (fell && !rise)))
			break;
		for (int i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (e->bridge_len + 1 < sizeof(e->bridge_msg))
					e->bridge_msg[e->bridge_len++] = (char)buf[i];
				continue;
			}
			e->bridge_msg[e->bridge_len] = '\0';
			e->bridge_len = 0;
			rc = bridge_message(e, &rise, &fell, err);
			if (rc < 0)
				return rc;
		}
	}
	if (rise) {
		/* A window that did not close: the line rises and stays high
		 * (the analysis reports the missing edge). */
		line_publish(e, 1, replay_start(e));
		e->cover_until = (double)e->last_edge_ns / 1e9 + 0.1;
	}
	return TB_OK;
}

/* ---- one trial --------------------------------------------------------- */

static void *reader(void *arg)
{
	struct tb_energy *e = arg;

	while (!atomic_load(&e->stop)) {
		int rc = tb_power_poll(e->dev, POLL_MS, &e->thread_err);

		if (rc < 0) {
			e->thread_rc = rc;
			break;
		}
	}
	return NULL;
}

/* Stop the reader thread (if any). */
static void join_reader(struct tb_energy *e)
{
	if (!e->thread_running)
		return;
	atomic_store(&e->stop, true);
	pthread_join(e->thread, NULL);
	e->thread_running = false;
}

/* An acquisition that a failed trial left running. */
static void abandon(struct tb_energy *e)
{
	join_reader(e);
	if (e->dev && !tb_power_gone(e->dev))
		tb_power_stop(e->dev, NULL);
}

/* An instrument samples some time after `start` (a real one after its USB
 * round trip, an emulator when it is next scheduled).  The timed window
 * must not open before that, or the line is already high at the first
 * sample: wait until samples flow. */
static int wait_first_sample(struct tb_energy *e, struct tb_error *err)
{
	double deadline = mono_s() + STALL_GRACE_S;
	struct tb_power_rec_progress p;

	for (;;) {
		tb_power_rec_progress(e->rec, &p);
		if (p.samples > 0 || p.ended || e->thread_rc < 0)
			return TB_OK;   /* a reader failure is reported at the end */
		if (mono_s() > deadline)
			return tb_error_set(err, TB_ERR_TIMEOUT,
					    "energy monitor %s sent no samples within %.1f s of start",
					    e->drv->name, STALL_GRACE_S);
		usleep(1000);
	}
}

int tb_energy_trial_begin(struct tb_energy *e, struct tb_link *link, struct tb_error *err)
{
	struct tb_power_sink sink;
	int rc;

	if (!e)
		return TB_OK;
	abandon(e);
	tb_power_result_free(&e->last);
	e->have_last = false;
	/* The instrument failed in an acquisition that was abandoned (the
	 * session measured the trial again, or the link failed): that is
	 * this trial's failure.  The next one brings the instrument back. */
	if (e->thread_rc < 0) {
		rc = e->thread_rc;
		if (err)
			*err = e->thread_err;
		e->thread_rc = TB_OK;
		return rc;
	}
	if (!e->dev || tb_power_gone(e->dev)) {
		/* It went away in an earlier trial: bring it back. */
		tb_power_close(e->dev);
		e->dev = NULL;
		rc = connect_instrument(e, err);
		if (rc < 0)
			return tb_error_prefix(err, "energy monitor did not come back: ");
	}
	rc = bridge_begin(e, err);
	if (rc < 0)
		return rc;
	tb_power_rec_reset(e->rec);
	sink = tb_power_rec_sink(e->rec);
	e->retries0 = link_retries(link);
	e->thread_rc = TB_OK;
	tb_error_clear(&e->thread_err);
	e->t_start = mono_s();
	rc = tb_power_start(e->dev, &sink, err);
	if (rc < 0)
		return tb_error_prefix(err, "energy monitor %s: ", e->drv->name);
	atomic_store(&e->stop, false);
	if (pthread_create(&e->thread, NULL, reader, e) != 0) {
		tb_power_stop(e->dev, NULL);
		return tb_error_set(err, TB_ERR_NOMEM, "cannot start the energy reader thread");
	}
	e->thread_running = true;
	return wait_first_sample(e, err);
}

/* Wait until the stream covers every sample up to now (all of the timed
 * window, which ended before INFER_RSP arrived). */
static int wait_cover(struct tb_energy *e, double hz, struct tb_error *err)
{
	double now = mono_s(), until = now, elapsed, need, deadline;

	/* A QEMU board's replayed window ends ahead of now. */
	if (e->cover_until > 0 && e->cover_until + 0.05 > until)
		until = e->cover_until + 0.05;
	elapsed = until - e->t_start;
	need = elapsed * hz * 1.01 + 0.02 * hz + 2;
	deadline = until + STALL_GRACE_S;
	struct tb_power_rec_progress p;

	for (;;) {
		tb_power_rec_progress(e->rec, &p);
		if ((double)p.samples >= need || p.ended)
			return TB_OK;
		if (e->thread_rc < 0)
			return TB_OK;   /* reported by the caller */
		if (mono_s() > deadline)
			return tb_error_set(err, TB_ERR_TIMEOUT,
					    "energy monitor %s stalled: %llu samples in %.3f s of acquisition, expected %.0f at %.0f Hz",
					    e->drv->name, (unsigned long long)p.samples,
					    mono_s() - e->t_start, need, hz);
		usleep(5000);
	}
}

/* Stop the acquisition once it covers the window, and analyse it (probe:
 * a calibration batch, whose window only has to exist). */
static int end_acquisition(struct tb_energy *e, struct tb_link *link, uint64_t inferences,
			   double duration_s, bool probe, struct tb_error *err)
{
	const struct tb_power_info *in;
	struct tb_power_window_params wp = { 0 };
	int rc;

	if (!e)
		return TB_OK;
	in = tb_power_get_info(e->dev);
	rc = bridge_collect(e, err);
	if (rc < 0) {
		abandon(e);
		return rc;
	}
	rc = wait_cover(e, in->sample_hz, err);
	join_reader(e);
	if (e->thread_rc < 0) {
		rc = e->thread_rc;
		if (err)
			*err = e->thread_err;
		e->thread_rc = TB_OK;
		abandon(e);
		return rc;
	}
	if (rc < 0) {
		abandon(e);
		return rc;
	}
	rc = tb_power_stop(e->dev, err);
	if (rc < 0)
		return tb_error_prefix(err, "energy monitor %s: ", e->drv->name);
	wp.sample_hz = in->sample_hz;
	wp.voltage_v = in->voltage_mv / 1000.0;
	wp.inferences = inferences;
	wp.windows = 1 + (link_retries(link) - e->retries0);
	wp.edges = in->edges;
	wp.style = e->style;
	wp.duration_s = duration_s;
	wp.min_window_s = (e->o.min_window_ms > 0 ? e->o.min_window_ms :
			   TB_ENERGY_DEFAULT_MIN_WINDOW_MS) / 1000.0;
	wp.max_lost_frac = e->o.max_lost_frac > 0 ? e->o.max_lost_frac :
			   e->o.max_lost_frac < 0 ? 0 : TB_ENERGY_DEFAULT_MAX_LOST;
	if (probe) {
		wp.min_window_s = 0;
		wp.max_lost_frac = 1;
	}
	wp.bin_hz = 1000.0;
	wp.instrument = e->drv->name;
	rc = tb_power_rec_analyze(e->rec, &wp, &e->last, err);
	if (rc < 0)
		return tb_error_prefix(err, "energy: ");
	e->have_last = !probe;
	if (probe) {
		e->probe_window_s = e->last.window_s;
		tb_power_result_free(&e->last);
	}
	return TB_OK;
}

int tb_energy_trial_end(struct tb_energy *e, struct tb_link *link, uint64_t inferences,
			double duration_s, struct tb_error *err)
{
	return end_acquisition(e, link, inferences, duration_s, false, err);
}

int tb_energy_probe_end(struct tb_energy *e, struct tb_link *link, uint64_t inferences,
			double *window_s, struct tb_error *err)
{
	int rc = end_acquisition(e, link, inferences, 0, true, err);

	*window_s = rc == TB_OK ? e->probe_window_s : NAN;
	return rc;
}

double tb_energy_window_s(const struct tb_energy *e)
{
	return e && e->have_last ? e->last.window_s : NAN;
}

bool tb_energy_pulses(const struct tb_energy *e)
{
	return e && e->style == TB_POWER_TS_PULSES;
}

void tb_energy_fill(const struct tb_energy *e, struct tb_trial *t)
{
	if (!e || !e->have_last)
		return;
	t->energy_uj = e->last.energy_uj;
	t->power_mw = e->last.power_mw;
	t->energy_window_ms = e->last.window_s * 1e3;
	t->energy_samples = (int64_t)e->last.samples;
	t->energy_sample_hz = e->last.sample_hz;
	t->energy_lost_samples = (int64_t)e->last.lost;
}

int tb_energy_check_device(const struct tb_energy *e, unsigned hello_flags,
			   const char *board, struct tb_error *err)
{
	if (!e || (hello_flags & TBP_CAP_TIMESTAMP_PIN))
		return TB_OK;
	return tb_error_set(err, TB_ERR_UNSUPPORTED,
			    "board '%s': its runner does not drive a timestamp pin (HELLO flags 0x%02x), so %s cannot see the timed window%s",
			    board, hello_flags, e->drv->name,
			    e->qemu ? " (the firmware did not switch its timestamp bridge on: rebuild it)" :
			    e->dir[0] ? " (is the sim runner older than --timestamp-line?)" : "");
}

int tb_energy_store_trace(struct tb_energy *e, struct tb_store *store, int64_t run_id,
			  int64_t idx, struct tb_error *err)
{
	int rc;

	if (!e || !e->have_last || !e->last.n_bins)
		return TB_OK;
	rc = tb_store_trace_add(store, run_id, idx, e->last.bin_hz, e->last.trace,
				e->last.n_bins, err);
	tb_power_result_free(&e->last);
	e->have_last = false;
	return rc;
}

int tb_energy_power_cycle(struct tb_energy *e, unsigned off_ms, struct tb_error *err)
{
	int rc;

	if (!e)
		return tb_error_set(err, TB_ERR_ARG, "no energy monitor to power-cycle the board with");
	abandon(e);
	if (!e->dev || tb_power_gone(e->dev)) {
		tb_power_close(e->dev);
		e->dev = NULL;
		rc = connect_instrument(e, err);
		if (rc < 0)
			return tb_error_prefix(err, "power cycle: ");
	}
	rc = tb_power_target(e->dev, false, err);
	if (rc == TB_OK) {
		usleep(off_ms * 1000u);
		rc = tb_power_target(e->dev, true, err);
	}
	if (rc < 0)
		return tb_error_prefix(err, "power cycle through %s on %s: ", e->drv->name, e->where);
	return TB_OK;
}

int tb_energy_power_cycle_cb(void *user, struct tb_error *err)
{
	struct tb_energy *e = user;

	return tb_energy_power_cycle(e, e ? e->board->reset_pulse_ms : 0, err);
}

void tb_energy_free(struct tb_energy *e)
{
	if (!e)
		return;
	abandon(e);
	if (e->dev && !tb_power_gone(e->dev))
		tb_power_target(e->dev, false, NULL);
	tb_power_close(e->dev);
	tb_sim_free(e->emu);
	tb_power_rec_free(e->rec);
	tb_power_result_free(&e->last);
	tb_vline_unmap(e->line);
	if (e->vline[0])
		unlink(e->vline);
	if (e->dir[0])
		rmdir(e->dir);
	free(e);
}
