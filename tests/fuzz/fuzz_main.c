/*
 * fuzz_main.c - the engine and the command line of tb_fuzz (fuzz.h).
 *
 *   tb_fuzz [--seed N] [--iterations N | --seconds S] [--timeout S]
 *           [--crash-dir DIR] [--save-seeds DIR] [TARGET...]
 *   tb_fuzz [--verbose] --replay FILE TARGET
 *   tb_fuzz --list
 *
 * Without --iterations or --seconds each target runs its ci_iterations.
 * Exit 0 when every target held its promises, 1 on the first failure (the
 * input is saved and named), 2 on a bad option.
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct fz_target *const targets[] = {
	&fz_tbp_stream, &fz_tbp_payload, &fz_tbp_link,
	&fz_eembc_line, &fz_eembc_driver,
	&fz_ppk2, &fz_lpm01a,
	&fz_daemon_api,
	&fz_board_ini, &fz_dataset_csv, &fz_elf,
};
#define N_TARGETS (sizeof(targets) / sizeof(targets[0]))

#define CORPUS_MAX   512
#define OUTCOMES_MAX 64
#define LABEL_MAX    48
#define INPUT_MAX    (4u << 20)

struct fz_entry {
	uint8_t *p;
	size_t n;
};

struct fz_corpus {
	struct fz_entry e[CORPUS_MAX];
	size_t n;
};

struct outcome {
	char label[LABEL_MAX];
	unsigned long count;
};

/* The input being run and where it goes on a failure: kept where the
 * signal and sanitizer death handlers can reach them. */
static const uint8_t *cur_data;
static size_t cur_len;
static char crash_path[4096];
static const char *cur_target = "";
static unsigned long cur_iter;
static unsigned exec_timeout = 10;
static int verbose;

static uint64_t rng_state = 1;
static uint64_t target_rng = 1;

/* ---------------------------------------------------------------- helpers */

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint32_t rnd(void)
{
	return (uint32_t)(xorshift(&rng_state) >> 32);
}

static size_t below(size_t n)
{
	return n ? rnd() % n : 0;
}

uint32_t fz_rand(void)
{
	return (uint32_t)(xorshift(&target_rng) >> 32);
}

const char *fz_label(const char *fmt, ...)
{
	static char buf[LABEL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

void fz_note(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	fprintf(stderr, "tb_fuzz: %s: ", cur_target);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int fz_printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7E)
			return 0;
	return 1;
}

int fz_terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

void fz_seed(struct fz_corpus *c, const void *p, size_t n)
{
	uint8_t *copy;

	if (c->n == CORPUS_MAX)
		return;
	copy = malloc(n ? n : 1);
	if (!copy)
		return;
	if (n)
		memcpy(copy, p, n);
	c->e[c->n].p = copy;
	c->e[c->n].n = n;
	c->n++;
}

void fz_seed_str(struct fz_corpus *c, const char *s)
{
	fz_seed(c, s, strlen(s));
}

int fz_seed_file(struct fz_corpus *c, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return -1;
	for (;;) {
		if (n == cap) {
			uint8_t *nb = realloc(buf, cap ? 2 * cap : 65536);

			if (!nb)
				break;
			buf = nb;
			cap = cap ? 2 * cap : 65536;
		}
		size_t got = fread(buf + n, 1, cap - n, f);

		if (!got)
			break;
		n += got;
	}
	fclose(f);
	if (n && n <= INPUT_MAX / 2)
		fz_seed(c, buf, n);
	free(buf);
	return n ? 0 : -1;
}

int fz_write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	const uint8_t *b = p;

	if (fd < 0)
		return -1;
	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return close(fd);
}

static char tmpdir[4096];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void tmpdir_remove(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fz_tmpdir(void)
{
	const char *base;

	if (tmpdir[0])
		return tmpdir;
	base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/tb_fuzz.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		tmpdir[0] = '\0';
		return NULL;
	}
	atexit(tmpdir_remove);
	return tmpdir;
}

/* ------------------------------------------------------------- failures */

/* Async-signal-safe: save the current input and say where. */
static void save_input(const char *why)
{
	static const char saved[] = "tb_fuzz: input saved to ";
	int fd;

	if (!cur_data || !crash_path[0])
		return;
	fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (cur_len && write(fd, cur_data, cur_len) < 0)
			(void)0;
		close(fd);
	}
	if (write(2, "tb_fuzz: ", 9) < 0 || write(2, why, strlen(why)) < 0 ||
	    write(2, " in target ", 11) < 0 ||
	    write(2, cur_target, strlen(cur_target)) < 0 || write(2, "\n", 1) < 0 ||
	    write(2, saved, sizeof(saved) - 1) < 0 ||
	    write(2, crash_path, strlen(crash_path)) < 0 || write(2, "\n", 1) < 0)
		(void)0;
	cur_data = NULL;
}

void fz_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tb_fuzz: %s: iteration %lu: %s:%d: ", cur_target, cur_iter, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	save_input("a broken promise");
	fprintf(stderr, "tb_fuzz: replay: tb_fuzz --replay %s %s\n", crash_path, cur_target);
	exit(1);
}

static void on_signal(int sig)
{
	save_input(sig == SIGALRM ? "an input that ran too long (--timeout)" : "a crash");
	if (sig == SIGALRM)
		_exit(1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Called by ASan/UBSan before they end the process on a report. */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static void on_sanitizer_death(void)
{
	save_input("a sanitizer report");
}

static void install_handlers(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGALRM };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(on_sanitizer_death);
}

/* -------------------------------------------------------------- mutation */

static const uint32_t boundary[] = {
	0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256,
	1023, 1024, 4095, 4096, 4097, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF, 0x10000,
	0x7FFFFFFF, 0x80000000u, 0xFFFFFFFEu, 0xFFFFFFFFu,
};
#define N_BOUNDARY (sizeof(boundary) / sizeof(boundary[0]))

static const char *const numbers[] = {
	"0", "1", "-1", "00", "-0", "255", "256", "4294967295", "4294967296",
	"18446744073709551615", "18446744073709551616", "99999999999999999999999",
	"2147483647", "-2147483648", "1e308", "1e309", "-1e-320", "0.5", ".", "1.",
	"nan", "inf", "0x10", "+5", " 7", "1,5",
};
#define N_NUMBERS (sizeof(numbers) / sizeof(numbers[0]))

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void buf_insert(struct buf *b, size_t at, const void *src, size_t n)
{
	if (b->n + n > b->cap)
		n = b->cap - b->n;
	memmove(b->p + at + n, b->p + at, b->n - at);
	memcpy(b->p + at, src, n);
	b->n += n;
}

static void buf_erase(struct buf *b, size_t at, size_t n)
{
	memmove(b->p + at, b->p + at + n, b->n - at - n);
	b->n -= n;
}

static void put_word(struct buf *b, size_t at, uint32_t v, size_t width, int big)
{
	for (size_t i = 0; i < width && at + i < b->n; i++)
		b->p[at + i] = (uint8_t)(v >> (8 * (big ? width - 1 - i : i)));
}

/* A run of digits (with sign and point) around position at, or 0. */
static size_t digits_at(const struct buf *b, size_t *at)
{
	size_t a = *at, e;

	while (a < b->n && !(b->p[a] >= '0' && b->p[a] <= '9'))
		a++;
	if (a == b->n)
		return 0;
	while (a > 0 && ((b->p[a - 1] >= '0' && b->p[a - 1] <= '9') ||
			 b->p[a - 1] == '-' || b->p[a - 1] == '.'))
		a--;
	for (e = a; e < b->n && ((b->p[e] >= '0' && b->p[e] <= '9') || b->p[e] == '.' ||
				 b->p[e] == 'e' || b->p[e] == '-'); e++)
		;
	*at = a;
	return e - a;
}

static void mutate_once(struct buf *b, const struct fz_corpus *c, const char *const *dict,
			size_t n_dict)
{
	size_t pos = below(b->n + 1), k;
	uint8_t tmp[64];
	const char *tok;

	switch (rnd() % 15) {
	case 0:		/* one bit */
		if (b->n)
			b->p[below(b->n)] ^= (uint8_t)(1u << (rnd() % 8));
		break;
	case 1:		/* a byte set to a boundary value */
		if (b->n)
			b->p[below(b->n)] = (uint8_t)boundary[below(N_BOUNDARY)];
		break;
	case 2:		/* random bytes */
		for (k = 1 + below(4); k-- && b->n;)
			b->p[below(b->n)] = (uint8_t)rnd();
		break;
	case 3:		/* a range deleted */
		if (pos < b->n)
			buf_erase(b, pos, 1 + below(b->n - pos < 64 ? b->n - pos : 64));
		break;
	case 4:		/* random bytes inserted */
		k = 1 + below(sizeof(tmp));
		for (size_t i = 0; i < k; i++)
			tmp[i] = (uint8_t)rnd();
		buf_insert(b, pos, tmp, k);
		break;
	case 5:		/* a range repeated */
		if (b->n) {
			size_t from = below(b->n), n = 1 + below(b->n - from);

			if (n > sizeof(tmp))
				n = sizeof(tmp);
			memcpy(tmp, b->p + from, n);
			for (k = 1 + below(rnd() % 8 ? 2 : 300); k--;)
				buf_insert(b, below(b->n + 1), tmp, n);
		}
		break;
	case 6:		/* truncated */
		b->n = below(b->n + 1);
		break;
	case 7: {	/* spliced with another input */
		const struct fz_entry *o = &c->e[below(c->n)];
		size_t from = below(o->n + 1), n = o->n - from;

		b->n = pos < b->n ? pos : b->n;
		buf_insert(b, b->n, o->p + from, n);
		break;
	}
	case 8:		/* a 16-bit field rewritten */
		if (b->n >= 2)
			put_word(b, below(b->n - 1), boundary[below(N_BOUNDARY)], 2, rnd() & 1);
		break;
	case 9:		/* a 32-bit field rewritten */
		if (b->n >= 4)
			put_word(b, below(b->n - 3), rnd() % 4 ? boundary[below(N_BOUNDARY)] :
				 (uint32_t)b->n - 8 + below(16), 4, rnd() & 1);
		break;
	case 10:	/* a token inserted */
		if (n_dict) {
			tok = dict[below(n_dict)];
			buf_insert(b, pos, tok, strlen(tok));
		}
		break;
	case 11:	/* a token written over */
		if (n_dict) {
			tok = dict[below(n_dict)];
			k = strlen(tok);
			if (pos + k > b->n)
				pos = b->n > k ? b->n - k : 0;
			for (size_t i = 0; i < k && pos + i < b->n; i++)
				b->p[pos + i] = (uint8_t)tok[i];
		}
		break;
	case 12:	/* a number in the text replaced by a boundary one */
		k = digits_at(b, &pos);
		if (k) {
			tok = numbers[below(N_NUMBERS)];
			buf_erase(b, pos, k);
			buf_insert(b, pos, tok, strlen(tok));
		}
		break;
	case 13:	/* a byte nudged */
		if (b->n)
			b->p[below(b->n)] += (uint8_t)(rnd() & 1 ? 1 : -1);
		break;
	default:	/* a line (or record) swapped with another: text formats */
		if (b->n > 2) {
			size_t a = below(b->n), e = a;

			while (e < b->n && b->p[e] != '\n')
				e++;
			if (e > a && e - a <= sizeof(tmp)) {
				memcpy(tmp, b->p + a, e - a);
				k = e - a;
				buf_erase(b, a, k);
				buf_insert(b, below(b->n + 1), tmp, k);
			}
		}
		break;
	}
}

static void mutate(struct buf *b, const struct fz_corpus *c, const struct fz_target *t)
{
	size_t n_dict = 0;
	unsigned rounds = 1;

	while (t->dict && t->dict[n_dict])
		n_dict++;
	while (rounds < 8 && rnd() % 2)
		rounds++;
	while (rounds--)
		mutate_once(b, c, t->dict, n_dict);
}

/* ---------------------------------------------------------------- driver */

struct options {
	uint64_t seed;
	unsigned long iterations;     /* 0: the target's ci_iterations */
	double seconds;               /* 0: by iterations */
	const char *crash_dir;
	const char *seeds_dir;        /* --save-seeds: write the seeds there */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h | 1;
}

static const char *run_one(const struct fz_target *t, const uint8_t *p, size_t n)
{
	const char *label;

	cur_data = p;
	cur_len = n;
	target_rng = hash_bytes(p, n);
	alarm(exec_timeout);
	label = t->run(p, n);
	alarm(0);
	cur_data = NULL;
	return label ? label : "?";
}

static void note(struct outcome *o, size_t *n_o, const char *label, int *is_new)
{
	size_t i;

	*is_new = 0;
	for (i = 0; i < *n_o; i++)
		if (!strcmp(o[i].label, label))
			break;
	if (i == *n_o) {
		if (*n_o == OUTCOMES_MAX)
			return;
		snprintf(o[i].label, LABEL_MAX, "%s", label);
		o[i].count = 0;
		(*n_o)++;
		*is_new = 1;
	}
	o[i].count++;
}

static void corpus_free(struct fz_corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->e[i].p);
	free(c);
}

static int fuzz_target(const struct fz_target *t, const struct options *opt)
{
	struct fz_corpus *c = calloc(1, sizeof(*c));
	struct outcome outcomes[OUTCOMES_MAX];
	size_t n_out = 0, seeds;
	unsigned long iters = opt->iterations ? opt->iterations : t->ci_iterations;
	unsigned long done = 0;
	double t0, dt;
	struct buf b = { 0 };
	const char *skip = NULL;
	int is_new;

	if (!c)
		return 1;
	cur_target = t->name;
	snprintf(crash_path, sizeof(crash_path), "%s/crash-%s-seed%llu.bin", opt->crash_dir,
		 t->name, (unsigned long long)opt->seed);
	if (t->setup)
		skip = t->setup();
	if (!skip) {
		t->seeds(c);
		if (!c->n)
			skip = fz_label("no seeds (%s)", t->what);
	}
	if (skip) {
		printf("%-14s skipped: %s\n", t->name, skip);
		fflush(stdout);
		corpus_free(c);
		if (t->teardown)
			t->teardown();
		return 0;
	}
	seeds = c->n;
	for (size_t i = 0; opt->seeds_dir && i < seeds; i++) {
		char p[4096];

		snprintf(p, sizeof(p), "%s/seed-%s-%zu.bin", opt->seeds_dir, t->name, i);
		if (fz_write_file(p, c->e[i].p, c->e[i].n) < 0)
			fprintf(stderr, "tb_fuzz: cannot write %s\n", p);
	}
	rng_state = opt->seed * 0x9E3779B97F4A7C15ull + 0x1234567 + hash_bytes(
		(const uint8_t *)t->name, strlen(t->name));
	t0 = now_s();
	/* The seeds themselves first. */
	for (size_t i = 0; i < seeds; i++, done++) {
		cur_iter = done;
		note(outcomes, &n_out, run_one(t, c->e[i].p, c->e[i].n), &is_new);
	}
	for (;;) {
		const struct fz_entry *e;

		if (opt->seconds > 0 ? (done % 64 == 0 && now_s() - t0 >= opt->seconds) :
		    done >= iters)
			break;
		e = &c->e[below(c->n)];
		if (b.cap < 2 * e->n + 4096) {
			free(b.p);
			b.cap = 2 * e->n + 4096;
			if (b.cap > INPUT_MAX)
				b.cap = INPUT_MAX;
			b.p = malloc(b.cap);
			if (!b.p)
				break;
		}
		b.n = e->n < b.cap ? e->n : b.cap;
		memcpy(b.p, e->p, b.n);
		mutate(&b, c, t);
		cur_iter = done;
		note(outcomes, &n_out, run_one(t, b.p, b.n), &is_new);
		if (is_new)
			fz_seed(c, b.p, b.n);
		done++;
	}
	dt = now_s() - t0;
	printf("%-14s %9lu execs %10.0f execs/s  %zu seeds + %zu kept  %zu outcomes:",
	       t->name, done, dt > 0 ? done / dt : 0.0, seeds, c->n - seeds, n_out);
	for (size_t i = 0; i < n_out; i++)
		printf("%s %s=%lu", i ? "," : "", outcomes[i].label, outcomes[i].count);
	printf("\n");
	fflush(stdout);
	free(b.p);
	corpus_free(c);
	if (t->teardown)
		t->teardown();
	return 0;
}

static const struct fz_target *find(const char *name)
{
	for (size_t i = 0; i < N_TARGETS; i++)
		if (!strcmp(targets[i]->name, name))
			return targets[i];
	return NULL;
}

static int replay(const char *file, const struct fz_target *t)
{
	struct fz_corpus *c = calloc(1, sizeof(*c));
	const char *label, *skip = NULL;

	if (!c)
		return 1;
	cur_target = t->name;
	if (t->setup)
		skip = t->setup();
	if (skip) {
		fprintf(stderr, "tb_fuzz: %s: %s\n", t->name, skip);
		corpus_free(c);
		return 1;
	}
	if (fz_seed_file(c, file) < 0 && !c->n) {
		/* an empty input is an input too */
		fz_seed(c, "", 0);
	}
	label = run_one(t, c->e[0].p, c->e[0].n);
	printf("%s: %s\n", t->name, label);
	corpus_free(c);
	if (t->teardown)
		t->teardown();
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tb_fuzz [--seed N] [--iterations N | --seconds S] [--timeout S]\n"
		"               [--crash-dir DIR] [--save-seeds DIR] [TARGET...]\n"
		"       tb_fuzz [--verbose] --replay FILE TARGET\n"
		"       tb_fuzz --list\n");
}

int main(int argc, char **argv)
{
	struct options opt = { .seed = 1, .crash_dir = "." };
	const char *replay_file = NULL, *env = getenv("TB_FUZZ_CRASH_DIR");
	const struct fz_target *chosen[N_TARGETS];
	size_t n_chosen = 0;
	int i;

	if (env && *env)
		opt.crash_dir = env;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;

		if (!strcmp(a, "--list")) {
			for (size_t k = 0; k < N_TARGETS; k++)
				printf("%-14s %s\n", targets[k]->name, targets[k]->what);
			return 0;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			verbose = 1;
			continue;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (a[0] != '-') {
			const struct fz_target *t = find(a);

			if (!t) {
				fprintf(stderr, "tb_fuzz: unknown target '%s' (--list)\n", a);
				return 2;
			}
			if (n_chosen < N_TARGETS)
				chosen[n_chosen++] = t;
			continue;
		}
		if (!v) {
			usage(stderr);
			return 2;
		}
		i++;
		if (!strcmp(a, "--seed"))
			opt.seed = strtoull(v, &end, 0);
		else if (!strcmp(a, "--iterations"))
			opt.iterations = strtoul(v, &end, 0);
		else if (!strcmp(a, "--seconds"))
			opt.seconds = strtod(v, &end);
		else if (!strcmp(a, "--timeout"))
			exec_timeout = (unsigned)strtoul(v, &end, 0);
		else if (!strcmp(a, "--crash-dir"))
			opt.crash_dir = v;
		else if (!strcmp(a, "--save-seeds"))
			opt.seeds_dir = v;
		else if (!strcmp(a, "--replay"))
			replay_file = v;
		else {
			usage(stderr);
			return 2;
		}
		if (end && *end) {
			fprintf(stderr, "tb_fuzz: %s: bad value '%s'\n", a, v);
			return 2;
		}
	}
	install_handlers();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (replay_file) {
		if (n_chosen != 1) {
			usage(stderr);
			return 2;
		}
		return replay(replay_file, chosen[0]);
	}
	if (!n_chosen)
		for (size_t k = 0; k < N_TARGETS; k++)
			chosen[n_chosen++] = targets[k];
	printf("tb_fuzz: seed %llu, %s per target\n", (unsigned long long)opt.seed,
	       opt.seconds > 0 ? fz_label("%g s", opt.seconds) :
	       opt.iterations ? fz_label("%lu iterations", opt.iterations) :
	       "the CI iterations");
	for (size_t k = 0; k < n_chosen; k++)
		if (fuzz_target(chosen[k], &opt))
			return 1;
	return 0;
}
