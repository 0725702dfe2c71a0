/*
 * cmd_monitors.c - `tinybench monitors` (find and identify energy monitors)
 * and the energy part of `tinybench run`'s output.
 */
#include "tb_cli.h"
#include "tb_energy.h"
#include "tb_json.h"
#include "tb_power.h"
#include "tb_session.h"
#include "tb_stats.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- run output -------------------------------------------------------- */

static bool emulated(const struct tb_run_result *r)
{
	return !strncmp(r->energy_method, "emulated:", 9);
}

/* Median etc. of the trials' energy figures. */
static int energy_stats(const struct tb_run_result *r, struct tb_stats *uj,
			struct tb_stats *mw)
{
	double a[1024], b[1024], scratch[1024];
	size_t n = 0;

	for (int i = 0; i < r->n_trials && n < 1024; i++) {
		const struct tb_trial *t = &r->trials[i].t;

		if (t->status == TB_TRIAL_OK && isfinite(t->energy_uj) && isfinite(t->power_mw)) {
			a[n] = t->energy_uj;
			b[n++] = t->power_mw;
		}
	}
	if (!n || tb_stats_summary(a, n, scratch, uj, NULL) < 0 ||
	    tb_stats_summary(b, n, scratch, mw, NULL) < 0)
		return -1;
	return 0;
}

void tb_cli_print_energy(const struct tb_run_result *r)
{
	struct tb_stats uj, mw;

	if (!r->energy_method[0])
		return;
	printf("\nenergy: %s, %s\n", r->energy_method, r->energy_monitor);
	if (emulated(r))
		printf("        EMULATED instrument: the figures exercise the energy path "
		       "against a power model, they are not a measurement of this board\n");
	if (r->caps.flags & TBP_CAP_TICKS_ARE_INSNS)
		printf("        MODELLED from instruction counts: the board's [power] model "
		       "over each window's instructions at %.1f MHz (an estimate, not a "
		       "measurement)\n", r->caps.timer_hz / 1e6);
	printf("%-5s %14s %12s %12s %12s %10s %8s\n", "trial", "uJ/inference", "mW",
	       "window ms", "samples", "rate Hz", "lost");
	for (int i = 0; i < r->n_trials; i++) {
		const struct tb_trial *t = &r->trials[i].t;

		if (t->status != TB_TRIAL_OK || !isfinite(t->energy_uj))
			continue;
		printf("%-5d %14.4f %12.4f %12.3f %12lld %10.0f %8lld\n", i + 1, t->energy_uj,
		       t->power_mw, t->energy_window_ms, (long long)t->energy_samples,
		       t->energy_sample_hz, (long long)t->energy_lost_samples);
	}
	if (energy_stats(r, &uj, &mw) < 0)
		return;
	printf("energy per inference (%s, over trials): median %.4f uJ, min %.4f, max %.4f; "
	       "mean power median %.4f mW\n", emulated(r) ? "emulated" : "measured",
	       uj.median, uj.min, uj.max, mw.median);
}

void tb_cli_json_trial_energy(struct tb_json *j, const struct tb_trial *t)
{
	if (!isfinite(t->energy_uj))
		return;
	tb_json_key_double(j, "energy_uj_per_inference", t->energy_uj);
	tb_json_key_double(j, "power_mw", t->power_mw);
	tb_json_key_double(j, "energy_window_ms", t->energy_window_ms);
	tb_json_key_int(j, "energy_samples", t->energy_samples);
	tb_json_key_double(j, "energy_sample_hz", t->energy_sample_hz);
	tb_json_key_int(j, "energy_lost_samples", t->energy_lost_samples);
}

void tb_cli_json_energy(struct tb_json *j, const struct tb_run_result *r)
{
	struct tb_stats uj, mw;

	if (!r->energy_method[0])
		return;
	tb_json_key(j, "energy");
	tb_json_begin_object(j);
	tb_json_key_string(j, "method", r->energy_method);
	tb_json_key_string(j, "kind", emulated(r) ? "emulated" : "measured");
	/* A QEMU board: the window is its instruction count at the nominal
	 * clock (docs/ENERGY.md, "QEMU boards"). */
	if (r->caps.flags & TBP_CAP_TICKS_ARE_INSNS)
		tb_json_key_string(j, "window", "instruction-count-estimate");
	tb_json_key_string(j, "monitor", r->energy_monitor);
	if (energy_stats(r, &uj, &mw) == 0) {
		tb_json_key(j, "uj_per_inference");
		tb_json_begin_object(j);
		tb_json_key_double(j, "median", uj.median);
		tb_json_key_double(j, "min", uj.min);
		tb_json_key_double(j, "max", uj.max);
		tb_json_key_double(j, "mean", uj.mean);
		tb_json_end_object(j);
		tb_json_key(j, "power_mw");
		tb_json_begin_object(j);
		tb_json_key_double(j, "median", mw.median);
		tb_json_key_double(j, "min", mw.min);
		tb_json_key_double(j, "max", mw.max);
		tb_json_end_object(j);
	}
	tb_json_end_object(j);
}

/* ---- tinybench monitors ------------------------------------------------ */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench monitors [--probe DRIVER:PORT]... [--no-identify] [--json]\n"
		"\n"
		"List the energy monitors attached (serial ports with the USB id of a\n"
		"known instrument: PPK2 1915:c00a, LPM01A 0483:5740) and identify each by\n"
		"asking it (PPK2 metadata; LPM01A `powershield` and `version`).\n"
		"0483:5740 is ST's generic virtual COM port: only an instrument that\n"
		"answers is an LPM01A.\n"
		"\n"
		"      --probe DRIVER:PORT  identify this port as that instrument, e.g. an\n"
		"                           emulator: tinybench-emu-ppk2 --pty\n"
		"      --no-identify        list by USB id only, do not open the ports\n"
		"      --json               JSON on stdout\n"
		"  -h, --help               this help\n");
}

struct found {
	char port[256];
	const struct tb_power_driver *drv;
	char usb[16];
	char product[128];
	char serial[64];
};

struct scan {
	struct found f[32];
	int n;
};

static int on_port(const struct tb_serial_port_info *pi, void *user)
{
	struct scan *s = user;
	const struct tb_power_driver *drv;

	if (!pi->has_usb_id || s->n >= 32)
		return 0;
	drv = tb_power_driver_by_usb(pi->vid, pi->pid);
	if (!drv)
		return 0;
	snprintf(s->f[s->n].port, sizeof(s->f[0].port), "%s", pi->name);
	s->f[s->n].drv = drv;
	snprintf(s->f[s->n].usb, sizeof(s->f[0].usb), "%04x:%04x", pi->vid, pi->pid);
	snprintf(s->f[s->n].product, sizeof(s->f[0].product), "%s",
		 pi->product ? pi->product : pi->description ? pi->description : "");
	snprintf(s->f[s->n].serial, sizeof(s->f[0].serial), "%s", pi->serial ? pi->serial : "");
	s->n++;
	return 0;
}

/* Open, identify, close: fills info or err. */
static int identify(const struct found *f, struct tb_power_info *info, struct tb_error *err)
{
	struct tb_power_dev *d;
	int rc = tb_power_open(f->drv, f->port, &d, err);

	if (rc < 0)
		return rc;
	*info = *tb_power_get_info(d);
	tb_power_close(d);
	return TB_OK;
}

int tb_cmd_monitors(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "probe", required_argument, NULL, 'P' },
		{ "no-identify", no_argument, NULL, 'N' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct scan s = { .n = 0 };
	struct tb_json *j = NULL;
	struct tb_error err = { 0 };
	int json = 0, no_id = 0, c, rc, n_probe = 0, bad = 0;
	char names[64];

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'P': {
			const char *colon = strchr(optarg, ':');
			char name[32];

			if (!colon || !colon[1] || s.n >= 32)
				return tb_cli_usage_error("monitors", "--probe '%s': expected DRIVER:PORT", optarg);
			snprintf(name, sizeof(name), "%.*s", (int)(colon - optarg), optarg);
			s.f[s.n].drv = tb_power_driver_find(name, names, sizeof(names));
			if (!s.f[s.n].drv)
				return tb_cli_usage_error("monitors", "--probe: unknown monitor '%s' (known: %s)",
							  name, names);
			snprintf(s.f[s.n].port, sizeof(s.f[0].port), "%s", colon + 1);
			s.n++;
			n_probe++;
			break;
		}
		case 'N': no_id = 1; break;
		case 'J': json = 1; break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return tb_cli_usage_error("monitors", "bad option");
		}
	}
	if (optind < argc)
		return tb_cli_usage_error("monitors", "unexpected argument '%s'", argv[optind]);
	if (!n_probe) {
		rc = tb_serial_list(on_port, &s, &err);
		if (rc < 0)
			return tb_cli_fail(&err);
	}
	if (json) {
		j = tb_json_new(stdout, 1);
		tb_json_begin_object(j);
		tb_json_key(j, "monitors");
		tb_json_begin_array(j);
	} else if (!s.n) {
		printf("no energy monitor found (PPK2 1915:c00a, LPM01A 0483:5740); "
		       "on board sim, `tinybench run --energy ppk2` uses the emulator\n");
		return 0;
	}
	for (int i = 0; i < s.n; i++) {
		struct tb_power_info info;
		int id_rc = TB_OK;

		memset(&info, 0, sizeof(info));
		tb_error_clear(&err);
		if (!no_id)
			id_rc = identify(&s.f[i], &info, &err);
		if (id_rc < 0)
			bad++;
		if (json) {
			tb_json_begin_object(j);
			tb_json_key_string(j, "port", s.f[i].port);
			tb_json_key_string(j, "driver", s.f[i].drv->name);
			tb_json_key_string(j, "usb_id", s.f[i].usb[0] ? s.f[i].usb : NULL);
			tb_json_key_string(j, "product", s.f[i].product[0] ? s.f[i].product : NULL);
			tb_json_key_string(j, "usb_serial", s.f[i].serial[0] ? s.f[i].serial : NULL);
			if (!no_id) {
				tb_json_key_bool(j, "identified", id_rc == TB_OK);
				if (id_rc == TB_OK) {
					tb_json_key_string(j, "model", info.model);
					tb_json_key_string(j, "version", info.version);
					tb_json_key_string(j, "serial", info.serial[0] ? info.serial : NULL);
					tb_json_key_string(j, "detail", info.detail);
					tb_json_key_bool(j, "emulated", info.emulated);
					tb_json_key_double(j, "default_sample_hz", info.sample_hz);
				} else {
					tb_json_key_string(j, "error", err.msg);
				}
			}
			tb_json_end_object(j);
			continue;
		}
		printf("%s  %s%s%s%s\n", s.f[i].port, s.f[i].drv->name,
		       s.f[i].usb[0] ? " (USB " : "", s.f[i].usb,
		       s.f[i].usb[0] ? ")" : "");
		if (no_id)
			continue;
		if (id_rc == TB_OK)
			printf("    %s, %s%s%s; %s%s\n", info.model, info.version,
			       info.serial[0] ? ", id " : "", info.serial, info.detail,
			       info.emulated ? " [EMULATOR]" : "");
		else
			printf("    not identified: %s\n", err.msg);
	}
	if (json) {
		tb_json_end_array(j);
		tb_json_end_object(j);
		tb_json_free(j);
	}
	/* Probing a named port that does not answer is a failure. */
	return n_probe && bad ? 1 : 0;
}
