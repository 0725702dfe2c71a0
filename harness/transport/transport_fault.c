/*
 * transport_fault.c - the fault driver: damages the bytes of an inner
 * transport (tb_transport_fault.h).
 *
 * Reads: bytes come from the inner transport into rx[], where each one may
 * be dropped or have a bit flipped; a stall marks the time before which
 * nothing in rx[] is handed out (the bytes are late, not lost).  Writes:
 * the caller's bytes are copied, damaged the same way, delayed, then
 * written to the inner transport.  One xorshift64* generator per transport
 * makes a seeded run repeatable byte for byte, as far as the inner
 * transport delivers the same chunks.
 */
#include "tb_transport_fault.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "transport_priv.h"

struct fault_transport {
	struct tb_transport base;    /* first: we cast from it */
	struct tb_transport *inner;
	bool owns_inner;
	struct tb_fault_config cfg;
	uint64_t rng;
	struct tb_fault_stats stats;
	uint8_t rx[4096];
	size_t rx_len, rx_pos;
	int64_t release_at;          /* monotonic ms; rx[] held until then */
	uint8_t tx[4096];
};

static const struct tb_transport_ops fault_ops;
static atomic_ulong instances; /* transports made so far (seed streams) */

static struct fault_transport *to_fault(struct tb_transport *t)
{
	return (struct fault_transport *)t;
}

static uint64_t next_u64(struct fault_transport *f)
{
	uint64_t x = f->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	f->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, 1). */
static double next_unit(struct fault_transport *f)
{
	return (double)(next_u64(f) >> 11) * (1.0 / 9007199254740992.0);
}

static bool applies(const struct fault_transport *f, unsigned dir)
{
	return !f->cfg.dirs || (f->cfg.dirs & dir);
}

/* Damage n bytes in place; returns how many are left (drops close up).
 * *stall is set when a stall starts on one of them. */
static size_t damage(struct fault_transport *f, uint8_t *b, size_t n,
		     bool *stall)
{
	size_t out = 0;

	*stall = false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = b[i];

		f->stats.bytes++;
		if (f->cfg.drop_rate > 0 && next_unit(f) < f->cfg.drop_rate) {
			f->stats.dropped++;
			continue;
		}
		if (f->cfg.ber > 0 && next_unit(f) < f->cfg.ber) {
			c ^= (uint8_t)(1u << (next_u64(f) & 7));
			f->stats.corrupted++;
		}
		if (f->cfg.stall_rate > 0 && f->cfg.stall_ms > 0 &&
		    next_unit(f) < f->cfg.stall_rate) {
			f->stats.stalls++;
			*stall = true;
		}
		b[out++] = c;
	}
	return out;
}

static int fault_read(struct tb_transport *t, uint8_t *buf, size_t cap,
		      int timeout_ms, struct tb_error *err)
{
	struct fault_transport *f = to_fault(t);
	int64_t deadline = tb_transport_deadline(timeout_ms);
	size_t n;

	while (f->rx_pos == f->rx_len) {
		bool stall = false;
		int rc = tb_transport_read(f->inner, f->rx, sizeof(f->rx),
					   tb_transport_remaining(deadline), err);

		if (rc <= 0)
			return rc;
		f->rx_pos = 0;
		f->rx_len = (size_t)rc;
		if (applies(f, TB_FAULT_RX))
			f->rx_len = damage(f, f->rx, f->rx_len, &stall);
		if (stall)
			f->release_at = tb_transport_now_ms() + f->cfg.stall_ms;
		if (f->rx_len == 0 && tb_transport_remaining(deadline) == 0)
			return 0;
	}
	if (tb_transport_now_ms() < f->release_at) {
		int64_t until = f->release_at;

		if (deadline >= 0 && deadline < until)
			until = deadline;
		tb_transport_sleep_ms((int)(until - tb_transport_now_ms()));
		if (tb_transport_now_ms() < f->release_at)
			return 0;
	}
	n = f->rx_len - f->rx_pos;
	if (n > cap)
		n = cap;
	memcpy(buf, f->rx + f->rx_pos, n);
	f->rx_pos += n;
	return (int)n;
}

static int fault_write(struct tb_transport *t, const uint8_t *buf, size_t len,
		       int timeout_ms, struct tb_error *err)
{
	struct fault_transport *f = to_fault(t);
	int64_t deadline = tb_transport_deadline(timeout_ms);
	int rc;

	if (f->cfg.delay_ms > 0 && applies(f, TB_FAULT_TX))
		tb_transport_sleep_ms(f->cfg.delay_ms);
	while (len > 0) {
		size_t n = len > sizeof(f->tx) ? sizeof(f->tx) : len, keep = n;
		bool stall = false;

		memcpy(f->tx, buf, n);
		if (applies(f, TB_FAULT_TX))
			keep = damage(f, f->tx, n, &stall);
		if (stall) {
			int left = tb_transport_remaining(deadline);

			tb_transport_sleep_ms(left >= 0 && left < f->cfg.stall_ms ?
					      left : f->cfg.stall_ms);
		}
		if (keep) {
			rc = tb_transport_write(f->inner, f->tx, keep,
						tb_transport_remaining(deadline), err);
			if (rc < 0)
				return rc;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

static int fault_set_baud(struct tb_transport *t, uint32_t baud,
			  struct tb_error *err)
{
	return tb_transport_set_baud(to_fault(t)->inner, baud, err);
}

static int fault_pulse_reset(struct tb_transport *t, enum tb_reset_line line,
			     int duration_ms, struct tb_error *err)
{
	return tb_transport_pulse_reset(to_fault(t)->inner, line, duration_ms, err);
}

static int fault_discard_input(struct tb_transport *t, struct tb_error *err)
{
	struct fault_transport *f = to_fault(t);

	f->rx_pos = f->rx_len = 0;
	f->release_at = 0;
	return tb_transport_discard_input(f->inner, err);
}

static void fault_close(struct tb_transport *t)
{
	struct fault_transport *f = to_fault(t);

	if (f->owns_inner)
		tb_transport_close(f->inner);
	free(f);
}

static const struct tb_transport_ops fault_ops = {
	.version = TB_TRANSPORT_OPS_VERSION,
	.name = "fault",
	.read = fault_read,
	.write = fault_write,
	.set_baud = fault_set_baud,
	.pulse_reset = fault_pulse_reset,
	.discard_input = fault_discard_input,
	.close = fault_close,
};

int tb_transport_fault_new(struct tb_transport *inner, bool owns_inner,
			   const struct tb_fault_config *cfg,
			   struct tb_transport **out, struct tb_error *err)
{
	struct fault_transport *f;
	char name[TB_TRANSPORT_NAME_MAX];
	struct timespec ts;

	*out = NULL;
	if (!inner || !cfg)
		return tb_error_set(err, TB_ERR_ARG, "fault transport: no inner transport");
	f = calloc(1, sizeof(*f));
	if (!f)
		return tb_error_set(err, TB_ERR_NOMEM, "fault transport: out of memory");
	snprintf(name, sizeof(name), "fault(%.100s)", inner->name);
	tb_transport_init(&f->base, &fault_ops, name);
	f->inner = inner;
	f->owns_inner = owns_inner;
	f->cfg = *cfg;
	/* A board reset opens a new transport: with the same seed it would
	 * damage the same bytes of the same exchange again, forever.  Each
	 * transport of the process takes the next stream of the seed. */
	f->rng = cfg->seed ? cfg->seed + 0x9E3779B97F4A7C15ULL *
			     atomic_fetch_add(&instances, 1) : 0;
	if (!f->rng) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		f->rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)f;
	}
	f->rng |= 1; /* xorshift must not start at 0 */
	*out = &f->base;
	return TB_OK;
}

void tb_transport_fault_stats(const struct tb_transport *t,
			      struct tb_fault_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (t && t->ops == &fault_ops)
		*st = ((const struct fault_transport *)t)->stats;
}

/* ---- configuration text ---------------------------------------------- */

static int parse_rate(const char *v, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(d) || d < 0 || d > 1)
		return -1;
	*out = d;
	return 0;
}

static int parse_ms(const char *v, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 0 || n > 60000)
		return -1;
	*out = (int)n;
	return 0;
}

static int parse_item(char *item, struct tb_fault_config *c, unsigned *seen,
		      struct tb_error *err)
{
	static const char *const keys[] = { "ber", "drop", "stall", "delay", "dir", "seed" };
	char *eq = strchr(item, '='), *v, *colon;
	unsigned k;
	int bad = 0;

	if (!eq)
		return tb_error_set(err, TB_ERR_ARG, "fault spec: '%s' is not key=value", item);
	*eq = '\0';
	v = eq + 1;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (!strcmp(item, keys[k]))
			break;
	if (k == sizeof(keys) / sizeof(keys[0]))
		return tb_error_set(err, TB_ERR_ARG,
				    "fault spec: unknown key '%s' (ber, drop, stall, delay, dir, seed)",
				    item);
	if (*seen & (1u << k))
		return tb_error_set(err, TB_ERR_ARG, "fault spec: '%s' given twice", item);
	*seen |= 1u << k;
	switch (k) {
	case 0:
		bad = parse_rate(v, &c->ber);
		break;
	case 1:
		bad = parse_rate(v, &c->drop_rate);
		break;
	case 2: /* rate:ms */
		colon = strchr(v, ':');
		if (!colon) {
			bad = -1;
			break;
		}
		*colon = '\0';
		bad = parse_rate(v, &c->stall_rate) || parse_ms(colon + 1, &c->stall_ms);
		*colon = ':';
		break;
	case 3:
		bad = parse_ms(v, &c->delay_ms);
		break;
	case 4:
		if (!strcmp(v, "tx"))
			c->dirs = TB_FAULT_TX;
		else if (!strcmp(v, "rx"))
			c->dirs = TB_FAULT_RX;
		else if (!strcmp(v, "both"))
			c->dirs = TB_FAULT_TX | TB_FAULT_RX;
		else
			bad = -1;
		break;
	case 5: {
		char *end;

		errno = 0;
		c->seed = strtoull(v, &end, 10);
		bad = errno || end == v || *end || *v == '-';
		break;
	}
	}
	if (bad)
		return tb_error_set(err, TB_ERR_ARG,
				    "fault spec: bad value '%s' for %s (rates 0..1, ms 0..60000, "
				    "stall=RATE:MS, dir=tx|rx|both, seed=N)",
				    v, item);
	return TB_OK;
}

int tb_fault_config_parse(const char *spec, struct tb_fault_config *cfg,
			  struct tb_error *err)
{
	char buf[256], *item, *save = NULL;
	unsigned seen = 0;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (!spec || strlen(spec) >= sizeof(buf))
		return tb_error_set(err, TB_ERR_ARG, "fault spec: missing or longer than %zu bytes",
				    sizeof(buf) - 1);
	snprintf(buf, sizeof(buf), "%s", spec);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		rc = parse_item(item, cfg, &seen, err);
		if (rc < 0)
			return rc;
	}
	if (!seen)
		return tb_error_set(err, TB_ERR_ARG, "fault spec: empty");
	return TB_OK;
}
