/*
 * native.c - the device runner as a host process: board `sim`.
 *
 * Speaks exactly the protocol firmware speaks, over a pseudo-terminal (or
 * any tty).  Latency comes from CLOCK_MONOTONIC in nanoseconds; the
 * inference runs on its own painted stack (a ucontext) so that the stack
 * high-water mark is measured, not estimated.
 *
 *   tinybench-runner-native --port /dev/pts/N   open an existing tty/pty
 *   tinybench-runner-native --pty               make a pty, print its path
 *   ... --model FILE.tbnn [--model-name NAME]   also serve this model blob
 *                                               (workload id 64, docs/IMPORTER.md)
 *   ... --protocol tinybench|eembc|auto         answer tinybench frames (default),
 *                                               MLPerf Tiny's EEMBC commands, or
 *                                               both (docs/EEMBC.md)
 *   ... --eembc-model NAME                      the model EEMBC commands run
 *   ... --baud N [--rx-buffer BYTES]            behave like a UART at N baud (8N1):
 *                                               bytes cross at N/10 per second each
 *                                               way, received ones wait in a ring
 *                                               of BYTES (default 16384; overrun
 *                                               drops them) while an inference runs
 *   ... --eembc-mode performance|energy         EEMBC firmware's two builds: energy
 *                                               mode writes no m-lap-us lines and
 *                                               pulses the timestamp line low
 *                                               (--pulse-us, default 20) at each
 *                                               timestamp; the line idles high
 *   ... --io-manager                            the pty is the host side of an
 *                                               emulated MLPerf Tiny IO manager:
 *                                               `dut CMD%` relayed to the runner
 *                                               (at --baud), its lines back as
 *                                               `[dut]: LINE` (docs/EEMBC.md)
 *
 * Fault injection for the harness's tests (never used in normal runs):
 *   --fault die-after=N      exit(3) during inference number N+1
 *   --fault hang-after=N     stop answering during inference number N+1
 *   --fault silent           read everything, answer nothing
 *   --fault corrupt-every=K  flip one byte in every K-th reply frame
 *   --fault noise            write line noise before every reply
 *   --fault slow=MS          sleep MS milliseconds in every inference
 *   --fault eembc-quirks     EEMBC replies as some firmware writes them:
 *                            a trailing comma in m-results, stray debug
 *                            lines before m-ready
 */
#include "tbr.h"
#include "tb_build_id.h"
#include "tb_nn_model.h"
#include "tb_workload.h"
#include "tb_pty.h"
#include "tb_vline.h"

#include <errno.h>
#include <pthread.h>
#include <sha2.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef TB_SIM_INPUT_MAX
#define TB_SIM_INPUT_MAX 32768
#endif
#ifndef TB_SIM_ARENA_SIZE
#define TB_SIM_ARENA_SIZE 131072
#endif
#ifndef TB_SIM_STACK_SIZE
#define TB_SIM_STACK_SIZE 65536
#endif
#define SIM_MAX_PAYLOAD 1024
#define SIM_OUTPUT_MAX 3968	/* an INFER_RSP within the 4 KiB payload limit */
#define SIM_REPLY_MAX (SIM_OUTPUT_MAX + 128)
#define LINE_QUIRK_MAX 16384	/* --fault eembc-quirks: longest reply line */

static uint8_t input_buf[TB_SIM_INPUT_MAX];
static uint8_t arena_buf[TB_SIM_ARENA_SIZE] __attribute__((aligned(16)));
static uint8_t output_buf[SIM_OUTPUT_MAX];
static uint8_t rx_buf[TBP_WIRE_MAX(SIM_MAX_PAYLOAD)];
static uint8_t payload_buf[SIM_REPLY_MAX];
static uint8_t tx_buf[TBP_WIRE_MAX(SIM_REPLY_MAX)];
static uint8_t infer_stack[TB_SIM_STACK_SIZE] __attribute__((aligned(16)));

struct faults {
	long die_after;     /* -1: off */
	long hang_after;
	int silent;
	long corrupt_every;
	int noise;
	long slow_ms;
	int eembc_quirks;
	long invocations;
	long writes;
};

/* --baud: the pty behaves like a UART line of that rate. */
struct line {
	double bytes_per_s;     /* 0: off, the pty's own speed */
	pthread_t rx_thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint8_t *ring;          /* received bytes the runner has not read */
	size_t cap, head, len;
	int closed;             /* the host hung up */
	uint64_t overruns;      /* bytes dropped on a full ring */
	double tx_free;         /* when the transmit line is next idle */
	int started;            /* the receive thread runs */
};

/* --io-manager: an MLPerf Tiny IO manager between the host (the pty) and
 * the runner's UART.  Host commands end with '%': `dut CMD` is answered
 * `m-dut-passthrough(CMD)`, `m-ready` and CMD% goes on to the runner; the
 * runner's lines come back prefixed `[dut]: `.  Its own commands: `name`,
 * `help`.  Two threads write to the host (the receive thread answers the
 * IO manager's commands): one lock. */
#define IOM_CMD_MAX 256
#define IOM_LINE_MAX 16384
struct iomgr {
	int on;
	pthread_mutex_t lock;
	char cmd[IOM_CMD_MAX + 1]; /* host command being received */
	size_t cmd_len;
	int cmd_long;
	char line[IOM_LINE_MAX];   /* runner line being relayed */
	size_t line_len;
};

struct native {
	int fd;
	struct faults f;
	ucontext_t caller;
	ucontext_t callee;
	void (*fn)(void *);
	void *arg;
	struct tb_vline *vline; /* --timestamp-line: the virtual pin, or NULL */
	int pulses;             /* --eembc-mode energy: a timestamp is a pulse */
	long pulse_ns;          /* its length */
	struct line line;
	struct iomgr io;
};

static struct native g_native; /* one per process: it is the device */

/* ----------------------------------------------------------------------
 * --baud: a UART of that rate.  A thread takes bytes off the pty at line
 * rate into a ring (what an interrupt- or DMA-fed receive buffer does on a
 * microcontroller, also while an inference runs); writes leave at line
 * rate.
 */
static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	double d = t - mono_now();

	if (d > 0) {
		struct timespec ts = { (time_t)d, (long)((d - (time_t)d) * 1e9) };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

static int iom_from_host(struct native *n, const uint8_t *in, size_t len,
			 uint8_t *to_dut, size_t cap);

/* Bytes the runner receives: they arrive one after another at line rate
 * (at once without --baud) and wait in the ring. */
static void line_deliver(struct line *l, const uint8_t *buf, size_t r, double *free_at)
{
	if (l->bytes_per_s > 0) {
		if (*free_at < mono_now())
			*free_at = mono_now();
		*free_at += (double)r / l->bytes_per_s;
		sleep_until(*free_at);
	}
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < r; i++) {
		if (l->len == l->cap) {
			l->overruns++;
			continue;
		}
		l->ring[(l->head + l->len) % l->cap] = buf[i];
		l->len++;
	}
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

static void *line_rx(void *arg)
{
	struct native *n = arg;
	struct line *l = &n->line;
	double free_at = 0;
	uint8_t buf[32], dut[2 * IOM_CMD_MAX];
	ssize_t r;

	for (;;) {
		r = read(n->fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n->io.on) {
			int k = iom_from_host(n, buf, (size_t)r, dut, sizeof(dut));

			if (k < 0)
				break;
			line_deliver(l, dut, (size_t)k, &free_at);
		} else {
			line_deliver(l, buf, (size_t)r, &free_at);
		}
	}
	pthread_mutex_lock(&l->lock);
	l->closed = 1;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

static int line_start(struct native *n, long baud, long ring)
{
	struct line *l = &n->line;

	l->bytes_per_s = (double)baud / 10.0;   /* 0: not paced */
	l->cap = (size_t)ring;
	l->started = 1;
	l->ring = malloc(l->cap);
	if (!l->ring || pthread_mutex_init(&l->lock, NULL) ||
	    pthread_cond_init(&l->cond, NULL) ||
	    pthread_create(&l->rx_thread, NULL, line_rx, n))
		return -1;
	return 0;
}

static int line_read(struct line *l, uint8_t *buf, size_t cap)
{
	size_t k = 0;

	pthread_mutex_lock(&l->lock);
	while (!l->len && !l->closed)
		pthread_cond_wait(&l->cond, &l->lock);
	while (k < cap && l->len) {
		buf[k++] = l->ring[l->head];
		l->head = (l->head + 1) % l->cap;
		l->len--;
	}
	pthread_mutex_unlock(&l->lock);
	return k ? (int)k : -1;
}

/* ----------------------------------------------------------------------
 * Port callbacks
 */
static int native_read(void *ctx, uint8_t *buf, size_t cap)
{
	struct native *n = ctx;
	ssize_t r;

	if (n->line.started) {
		r = line_read(&n->line, buf, cap);
		if (r < 0)
			return -1;
		return n->f.silent ? 0 : (int)r;
	}
	for (;;) {
		r = read(n->fd, buf, cap);
		if (r > 0)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		return -1; /* EOF or EIO: the host hung up */
	}
	if (n->f.silent)
		return 0;
	return (int)r;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* ----------------------------------------------------------------------
 * --io-manager
 */
static int iom_write(struct native *n, const char *s)
{
	int rc;

	pthread_mutex_lock(&n->io.lock);
	rc = write_all(n->fd, (const uint8_t *)s, strlen(s));
	pthread_mutex_unlock(&n->io.lock);
	return rc;
}

/* One command from the host (without its '%'): answer it, and for `dut`
 * put the runner's command in to_dut.  Returns the bytes for the runner. */
static int iom_command(struct native *n, uint8_t *to_dut, size_t cap)
{
	struct iomgr *io = &n->io;
	char reply[IOM_CMD_MAX + 64];
	const char *c = io->cmd;
	size_t k;

	while (*c == ' ')
		c++;
	if (io->cmd_long)
		return iom_write(n, "e-[command too long]\r\nm-ready\r\n");
	if (!strncmp(c, "dut ", 4) || !strcmp(c, "dut")) {
		c += 3;
		while (*c == ' ')
			c++;
		snprintf(reply, sizeof(reply), "m-dut-passthrough(%s)\r\nm-ready\r\n", c);
		if (iom_write(n, reply) < 0)
			return -1;
		k = strlen(c);
		if (k + 1 > cap)
			return 0;
		memcpy(to_dut, c, k);
		to_dut[k] = '%';
		return (int)k + 1;
	}
	if (!strcmp(c, "name"))
		return iom_write(n, "tinybench io-manager (emulated)\r\nm-ready\r\n");
	if (!strcmp(c, "help"))
		return iom_write(n, "help, name, dut CMD (passthrough)\r\nm-ready\r\n");
	snprintf(reply, sizeof(reply), "e-[Unknown command: %s]\r\nm-ready\r\n", c);
	return iom_write(n, reply);
}

static int iom_from_host(struct native *n, const uint8_t *in, size_t len,
			 uint8_t *to_dut, size_t cap)
{
	struct iomgr *io = &n->io;
	size_t k = 0;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '%') {
			int r;

			io->cmd[io->cmd_len] = '\0';
			r = iom_command(n, to_dut + k, cap - k);
			if (r < 0)
				return -1;
			k += (size_t)r;
			io->cmd_len = 0;
			io->cmd_long = 0;
		} else if (in[i] == '\r' || in[i] == '\n' || in[i] == 0) {
			continue;
		} else if (io->cmd_len < IOM_CMD_MAX) {
			io->cmd[io->cmd_len++] = (char)in[i];
		} else {
			io->cmd_long = 1;
		}
	}
	return (int)k;
}

/* What the runner writes reaches the host a line at a time, prefixed. */
static int iom_relay(struct native *n, const uint8_t *buf, size_t len)
{
	struct iomgr *io = &n->io;
	int rc = 0;

	for (size_t i = 0; i < len && rc == 0; i++) {
		if (buf[i] == '\r')
			continue;
		if (buf[i] != '\n') {
			if (io->line_len < sizeof(io->line))
				io->line[io->line_len++] = (char)buf[i];
			continue;
		}
		pthread_mutex_lock(&io->lock);
		rc = write_all(n->fd, (const uint8_t *)"[dut]: ", 7);
		if (rc == 0)
			rc = write_all(n->fd, (const uint8_t *)io->line, io->line_len);
		if (rc == 0)
			rc = write_all(n->fd, (const uint8_t *)"\r\n", 2);
		pthread_mutex_unlock(&io->lock);
		io->line_len = 0;
	}
	return rc;
}

/* Bytes for the host: straight, or through the IO manager. */
static int host_write(struct native *n, const uint8_t *buf, size_t len)
{
	return n->io.on ? iom_relay(n, buf, len) : write_all(n->fd, buf, len);
}

/* --fault eembc-quirks: EEMBC text as some firmware writes it.  Whole
 * lines are collected (the core writes in pieces), then written with a
 * trailing comma inside m-results-[...] and a stray debug line before
 * every m-ready. */
static char quirk_line[LINE_QUIRK_MAX];
static size_t quirk_len;

static int quirky_line(struct native *n)
{
	static const char stray[] = "debug: inference done\r\n";
	char *l = quirk_line;
	size_t k = quirk_len;

	if (k >= 13 && !memcmp(l, "m-results-[", 11) && l[k - 3] == ']' &&
	    k + 1 < sizeof(quirk_line)) {
		memmove(l + k - 2, l + k - 3, 3);
		l[k - 3] = ',';
		k++;
	}
	if (k == 9 && !memcmp(l, "m-ready\r\n", 9) &&
	    host_write(n, (const uint8_t *)stray, sizeof(stray) - 1) < 0)
		return -1;
	return host_write(n, (const uint8_t *)l, k);
}

static int quirky_write(struct native *n, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (quirk_len < sizeof(quirk_line) - 2)
			quirk_line[quirk_len++] = (char)buf[i];
		if (buf[i] == '\n') {
			if (quirky_line(n) < 0)
				return -1;
			quirk_len = 0;
		}
	}
	return 0;
}

static int native_write(void *ctx, const uint8_t *buf, size_t len)
{
	static const uint8_t noise[] = { 0x13, 0x37, 0xFF, 0x00, 0x42, 0x99, 0x00 };
	struct native *n = ctx;
	uint8_t tmp[sizeof(tx_buf)];

	n->f.writes++;
	if (n->line.bytes_per_s > 0) {
		/* Leaves at line rate: the host hears the last byte when
		 * the line would have carried it. */
		if (n->line.tx_free < mono_now())
			n->line.tx_free = mono_now();
		n->line.tx_free += (double)len / n->line.bytes_per_s;
		sleep_until(n->line.tx_free);
	}
	if (n->f.eembc_quirks)
		return quirky_write(n, buf, len);
	if (n->f.noise && host_write(n, noise, sizeof(noise)) < 0)
		return -1;
	if (n->f.corrupt_every > 0 && n->f.writes % n->f.corrupt_every == 0 &&
	    len > 2 && len <= sizeof(tmp)) {
		memcpy(tmp, buf, len);
		tmp[len / 2] ^= 0x5A;
		if (tmp[len / 2] == 0)
			tmp[len / 2] = 0x01;
		return host_write(n, tmp, len);
	}
	return host_write(n, buf, len);
}

static uint64_t native_ticks(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void trampoline(void)
{
	g_native.fn(g_native.arg);
}

/* Run fn on infer_stack.  The stack grows down on every host we build for,
 * so the untouched paint is at the low end. */
static int native_run_on_stack(void *ctx, void (*fn)(void *), void *arg,
			       uint32_t *used)
{
	struct native *n = ctx;
	size_t low = 0;

	memset(infer_stack, TBR_PAINT, sizeof(infer_stack));
	if (getcontext(&n->callee) < 0)
		return -1;
	n->callee.uc_stack.ss_sp = infer_stack;
	n->callee.uc_stack.ss_size = sizeof(infer_stack);
	n->callee.uc_link = &n->caller;
	n->fn = fn;
	n->arg = arg;
	makecontext(&n->callee, trampoline, 0);
	if (swapcontext(&n->caller, &n->callee) < 0)
		return -1;
	while (low < sizeof(infer_stack) && infer_stack[low] == TBR_PAINT)
		low++;
	*used = (uint32_t)(sizeof(infer_stack) - low);
	return 0;
}

/* The timestamp pin: an edge with its CLOCK_MONOTONIC time on the virtual
 * line an emulated energy monitor samples (power/emu/tb_vline.h). */
static void native_timestamp(void *ctx, int level)
{
	struct native *n = ctx;

	if (!n->vline)
		return;
	if (!n->pulses) {
		tb_vline_set(n->vline, level);
		return;
	}
	/* EEMBC energy mode: a timestamp is a low pulse, held (busy, as
	 * firmware does) for pulse_ns. */
	double end = mono_now() + n->pulse_ns / 1e9;

	tb_vline_set(n->vline, 0);
	while (mono_now() < end)
		;
	tb_vline_set(n->vline, 1);
}

static const struct tbr_port native_port = {
	.read = native_read,
	.write = native_write,
	.ticks = native_ticks,
	.timestamp = native_timestamp,
	.run_on_stack = native_run_on_stack,
	.reset = NULL,     /* a process restart is the harness's job */
	.ctx = &g_native,
};

/* ----------------------------------------------------------------------
 * Workloads, wrapped so that faults can be injected into an inference
 */
#define MAX_WL 16
static struct tb_workload wrapped[MAX_WL];
static const struct tb_workload *wrapped_list[MAX_WL + 1];
static const struct tb_workload *all_list[MAX_WL + 1];	/* built-in + --model */

/* A model blob given with --model, served as one more workload. */
static struct tb_workload user_wl;
static struct tb_workload_blob user_src;
static struct tb_nn_model user_state;
static uint8_t user_hash[SHA256_DIGEST_LENGTH];
static char user_name[TBP_STR_WL_NAME + 1];

static const struct tb_workload *find_real(uint8_t id)
{
	for (unsigned i = 0; all_list[i]; i++)
		if (all_list[i]->id == id)
			return all_list[i];
	return NULL;
}

static int faulty_invoke(const struct tb_workload *wl, const void *in,
			 void *out, void *arena, size_t arena_size)
{
	struct faults *f = &g_native.f;
	const struct tb_workload *real = find_real(wl->id);

	if (f->die_after >= 0 && f->invocations >= f->die_after)
		_exit(3);
	if (f->hang_after >= 0 && f->invocations >= f->hang_after)
		for (;;)
			pause();
	f->invocations++;
	if (f->slow_ms > 0) {
		struct timespec ts = { f->slow_ms / 1000, (f->slow_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	return real->invoke(real, in, out, arena, arena_size);
}

static const struct tb_workload *const *workload_list(int faulty)
{
	unsigned i, n = 0;

	for (i = 0; tb_workloads[i] && n < MAX_WL; i++)
		all_list[n++] = tb_workloads[i];
	if (user_wl.name && n < MAX_WL)
		all_list[n++] = &user_wl;
	all_list[n] = NULL;
	if (!faulty)
		return all_list;
	for (i = 0; all_list[i] && i < MAX_WL; i++) {
		wrapped[i] = *all_list[i];
		wrapped[i].invoke = faulty_invoke;
		wrapped_list[i] = &wrapped[i];
	}
	wrapped_list[i] = NULL;
	return wrapped_list;
}

/* ----------------------------------------------------------------------
 * --model: a blob file registered as workload TB_WL_USER
 */
static int load_model(const char *path, const char *name)
{
	struct stat st;
	SHA2_CTX ctx;
	uint8_t *blob;
	FILE *f;
	int ret;

	f = fopen(path, "rb");
	if (!f || fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || st.st_size > (1L << 30)) {
		fprintf(stderr, "tinybench-runner-native: --model %s: %s\n", path,
			f ? "not a regular file under 1 GB" : strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	blob = aligned_alloc(8, ((size_t)st.st_size + 7) & ~(size_t)7);
	if (!blob || fread(blob, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fprintf(stderr, "tinybench-runner-native: --model %s: read failed\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	SHA256Init(&ctx);
	SHA256Update(&ctx, blob, (size_t)st.st_size);
	SHA256Final(user_hash, &ctx);
	snprintf(user_name, sizeof(user_name), "%s", name);
	user_src.blob = blob;
	user_src.size = (uint32_t)st.st_size;
	user_src.state = &user_state;
	ret = tb_workload_from_blob(&user_wl, &user_src, TB_WL_USER, user_name,
				    "model given with --model", user_hash);
	if (ret) {
		fprintf(stderr, "tinybench-runner-native: --model %s: not a valid model blob "
			"(%d, see docs/MODEL_FORMAT.md)\n", path, ret);
		return -1;
	}
	/* Input and arena grow to what the model needs (below); the output
	 * must fit one INFER_RSP. */
	if (user_wl.output_size > SIM_OUTPUT_MAX) {
		fprintf(stderr, "tinybench-runner-native: --model %s has a %u-byte output; "
			"this runner returns at most %u\n", path, user_wl.output_size,
			SIM_OUTPUT_MAX);
		return -1;
	}
	return 0;
}

/* A buffer of at least need bytes: the static one, or a larger heap one
 * (only ever for a --model that needs more than the defaults). */
static uint8_t *buffer_for(uint8_t *fixed, uint32_t fixed_size, uint32_t need,
			   uint32_t *size)
{
	uint8_t *p;

	*size = fixed_size;
	if (need <= fixed_size)
		return fixed;
	p = aligned_alloc(16, ((size_t)need + 15) & ~(size_t)15);
	if (p)
		*size = (uint32_t)(((size_t)need + 15) & ~(size_t)15);
	return p;
}

/* ----------------------------------------------------------------------
 * Set-up
 */
static long parse_long(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0) {
		fprintf(stderr, "tinybench-runner-native: bad number '%s' for %s\n", s, what);
		exit(2);
	}
	return v;
}

static int parse_fault(struct faults *f, const char *s)
{
	if (!strncmp(s, "die-after=", 10))
		f->die_after = parse_long(s + 10, "die-after");
	else if (!strncmp(s, "hang-after=", 11))
		f->hang_after = parse_long(s + 11, "hang-after");
	else if (!strcmp(s, "silent"))
		f->silent = 1;
	else if (!strncmp(s, "corrupt-every=", 14))
		f->corrupt_every = parse_long(s + 14, "corrupt-every");
	else if (!strcmp(s, "noise"))
		f->noise = 1;
	else if (!strncmp(s, "slow=", 5))
		f->slow_ms = parse_long(s + 5, "slow");
	else if (!strcmp(s, "eembc-quirks"))
		f->eembc_quirks = 1;
	else
		return -1;
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench-runner-native (--port TTY | --pty) [--board NAME]\n"
		"                               [--fault SPEC]...\n"
		"The tinybench device runner as a host process (board 'sim').\n"
		"  --port TTY    serve the protocol on an existing tty or pty slave\n"
		"  --pty         create a pty, print its slave path, serve on it\n"
		"  --board NAME  board name reported in HELLO (default: sim)\n"
		"  --model FILE  also serve this model blob (.tbnn) as workload 64\n"
		"  --model-name NAME  its name in HELLO (default: model)\n"
		"  --timestamp-line PATH  drive the virtual timestamp line in PATH\n"
		"                (made by tinybench for an emulated energy monitor)\n"
		"  --protocol P  tinybench (default), eembc (MLPerf Tiny's EEMBC\n"
		"                commands only) or auto (both; docs/EEMBC.md)\n"
		"  --eembc-model NAME  the model EEMBC commands run (default: the\n"
		"                --model one, else the first built-in)\n"
		"  --baud N      behave like a UART at N baud: bytes cross at N/10 per\n"
		"                second; received bytes wait in a ring meanwhile\n"
		"  --rx-buffer BYTES  that ring's size (default 16384; overrun drops)\n"
		"  --eembc-mode M  performance (default: m-lap-us timestamps) or energy\n"
		"                (MLPerf Tiny energy-mode firmware: no m-lap-us; each\n"
		"                timestamp a low pulse on the timestamp line)\n"
		"  --pulse-us N  length of an energy-mode pulse (default 20)\n"
		"  --io-manager  talk through an emulated MLPerf Tiny IO manager:\n"
		"                `dut CMD%%` in, `[dut]: LINE` out (docs/EEMBC.md)\n"
		"  --fault SPEC  test hook: die-after=N, hang-after=N, silent,\n"
		"                corrupt-every=K, noise, slow=MS, eembc-quirks\n");
}

static void host_cpu(char *buf, size_t len)
{
	struct utsname u;

	if (uname(&u) == 0)
		snprintf(buf, len, "%s", u.machine);
	else
		snprintf(buf, len, "unknown");
}

int main(int argc, char **argv)
{
	const char *port = NULL, *board = "sim", *model = NULL, *model_name = NULL;
	const char *eembc_model = NULL;
	struct tbr_config cfg = { 0 };
	static struct tbr runner;
	int use_pty = 0, faulty = 0, protocol = TBR_PROTOCOL_TINYBENCH;
	long baud = 0, rx_buffer = 16384;
	char cpu[TBP_STR_CPU + 1], pty_name[128];

	g_native.f.die_after = -1;
	g_native.f.hang_after = -1;
	g_native.pulse_ns = 20000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			port = argv[++i];
		} else if (!strcmp(argv[i], "--pty")) {
			use_pty = 1;
		} else if (!strcmp(argv[i], "--board") && i + 1 < argc) {
			board = argv[++i];
		} else if (!strcmp(argv[i], "--timestamp-line") && i + 1 < argc) {
			g_native.vline = tb_vline_map(argv[++i], 1);
			if (!g_native.vline) {
				fprintf(stderr, "tinybench-runner-native: timestamp line %s: %s\n",
					argv[i], strerror(errno));
				return 2;
			}
		} else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
			model = argv[++i];
		} else if (!strcmp(argv[i], "--model-name") && i + 1 < argc) {
			model_name = argv[++i];
		} else if (!strcmp(argv[i], "--protocol") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "tinybench"))
				protocol = TBR_PROTOCOL_TINYBENCH;
			else if (!strcmp(argv[i], "eembc"))
				protocol = TBR_PROTOCOL_EEMBC;
			else if (!strcmp(argv[i], "auto"))
				protocol = TBR_PROTOCOL_AUTO;
			else {
				fprintf(stderr, "tinybench-runner-native: --protocol '%s': "
					"expected tinybench, eembc or auto\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--eembc-model") && i + 1 < argc) {
			eembc_model = argv[++i];
		} else if (!strcmp(argv[i], "--eembc-mode") && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "performance") && strcmp(argv[i], "energy")) {
				fprintf(stderr, "tinybench-runner-native: --eembc-mode '%s': "
					"expected performance or energy\n", argv[i]);
				return 2;
			}
			g_native.pulses = !strcmp(argv[i], "energy");
		} else if (!strcmp(argv[i], "--pulse-us") && i + 1 < argc) {
			g_native.pulse_ns = parse_long(argv[++i], "--pulse-us") * 1000;
			if (g_native.pulse_ns > 1000000000L) {
				fprintf(stderr, "tinybench-runner-native: --pulse-us: 0..1000000\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--io-manager")) {
			g_native.io.on = 1;
		} else if (!strcmp(argv[i], "--baud") && i + 1 < argc) {
			baud = parse_long(argv[++i], "--baud");
			if (baud < 300 || baud > 100000000) {
				fprintf(stderr, "tinybench-runner-native: --baud: 300..100000000\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--rx-buffer") && i + 1 < argc) {
			rx_buffer = parse_long(argv[++i], "--rx-buffer");
			if (rx_buffer < 64 || rx_buffer > (1L << 24)) {
				fprintf(stderr, "tinybench-runner-native: --rx-buffer: 64..16777216\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--fault") && i + 1 < argc) {
			if (parse_fault(&g_native.f, argv[++i]) < 0) {
				fprintf(stderr, "tinybench-runner-native: unknown fault '%s'\n", argv[i]);
				return 2;
			}
			faulty = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "tinybench-runner-native: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!port == !use_pty) {
		usage(stderr);
		return 2;
	}
	if (model && load_model(model, model_name ? model_name : "model") < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	g_native.fd = tb_pty_open("tinybench-runner-native", use_pty ? NULL : port,
				  pty_name, sizeof(pty_name));
	if (g_native.fd < 0)
		return 1;
	if (use_pty) {
		printf("%s\n", pty_name);
		fflush(stdout);
	}

	host_cpu(cpu, sizeof(cpu));
	cfg.board = board;
	cfg.cpu = cpu;
	cfg.build_id = TB_BUILD_ID;
	cfg.clock_hz = 0;
	cfg.timer_hz = 1000000000u;
	/* A pty buffers what the host sends while an inference runs, and so
	 * does the --baud ring. */
	cfg.caps = TBP_CAP_PER_INFERENCE | TBP_CAP_RX_BUFFERED |
		   (g_native.vline ? TBP_CAP_TIMESTAMP_PIN : 0);
	cfg.window = 8;
	cfg.stack_size = sizeof(infer_stack);
	cfg.input = buffer_for(input_buf, sizeof(input_buf), user_wl.input_size,
			       &cfg.input_cap);
	cfg.arena = buffer_for(arena_buf, sizeof(arena_buf), user_wl.arena_size,
			       &cfg.arena_size);
	if (!cfg.input || !cfg.arena) {
		fprintf(stderr, "tinybench-runner-native: out of memory for --model\n");
		return 1;
	}
	cfg.output = output_buf;
	cfg.output_cap = sizeof(output_buf);
	cfg.rx = rx_buf;
	cfg.rx_cap = sizeof(rx_buf);
	cfg.payload = payload_buf;
	cfg.payload_cap = sizeof(payload_buf);
	cfg.tx = tx_buf;
	cfg.tx_cap = sizeof(tx_buf);
	cfg.workloads = workload_list(faulty);
	cfg.protocol = (uint8_t)protocol;
	cfg.eembc_energy = (uint8_t)g_native.pulses;
	if (g_native.pulses && protocol != TBR_PROTOCOL_EEMBC) {
		fprintf(stderr, "tinybench-runner-native: --eembc-mode energy needs "
			"--protocol eembc\n");
		return 2;
	}
	/* Energy mode: the timestamp line idles high. */
	if (g_native.pulses && g_native.vline)
		tb_vline_set(g_native.vline, 1);
	if (eembc_model || (user_wl.name && protocol != TBR_PROTOCOL_TINYBENCH)) {
		const char *want = eembc_model ? eembc_model : user_wl.name;

		for (unsigned i = 0; cfg.workloads[i]; i++)
			if (!strcmp(cfg.workloads[i]->name, want))
				cfg.eembc_model = cfg.workloads[i];
		if (!cfg.eembc_model) {
			fprintf(stderr, "tinybench-runner-native: --eembc-model %s: no such "
				"workload\n", want);
			return 2;
		}
	}
	pthread_mutex_init(&g_native.io.lock, NULL);
	if ((baud || g_native.io.on) && line_start(&g_native, baud, rx_buffer) < 0) {
		fprintf(stderr, "tinybench-runner-native: cannot start the --baud line\n");
		return 1;
	}
	if (tbr_init(&runner, &cfg, &native_port) < 0) {
		fprintf(stderr, "tinybench-runner-native: bad runner configuration\n");
		return 1;
	}
	/* Returns only when the host closes its end. */
	tbr_run(&runner);
	return 0;
}
