/*
 * fuzz.h - tinybench's fuzz driver: one program, one target per parser of
 * bytes from outside (the device, an instrument, a client, a file), and a
 * small mutation engine shared by all of them (docs/FUZZING.md).
 *
 * A target gives seeds (valid inputs, built in code or read from the
 * repository), a run() that feeds one input to the parser and checks the
 * outcome against what the parser's header promises (FZ_CHECK), and
 * optionally a dictionary of tokens its format is made of.  run() returns
 * a short label of the outcome ("ok", "E:protocol error", ...); the engine
 * counts the distinct labels and keeps inputs that gave a new one as
 * further seeds.
 *
 * Deterministic: the same --seed and --iterations give the same inputs.
 */
#ifndef TB_FUZZ_H
#define TB_FUZZ_H

#include <stddef.h>
#include <stdint.h>

struct fz_corpus;

struct fz_target {
	const char *name;
	const char *what;              /* one line for --list */
	unsigned ci_iterations;        /* the default run (CI: a few seconds
					* under ASan) */
	/* Optional: prepare (a temporary folder...); a message (static) to
	 * skip the target, or NULL. */
	const char *(*setup)(void);
	void (*teardown)(void);        /* optional */
	void (*seeds)(struct fz_corpus *c);
	const char *(*run)(const uint8_t *data, size_t len);
	const char *const *dict;       /* NULL-terminated, or NULL */
};

/* Add a seed (copied). */
void fz_seed(struct fz_corpus *c, const void *p, size_t n);
void fz_seed_str(struct fz_corpus *c, const char *s);
/* A whole file as a seed; returns 0, or -1 if it cannot be read. */
int fz_seed_file(struct fz_corpus *c, const char *path);

/* Deterministic random numbers for targets (seeded per input). */
uint32_t fz_rand(void);

/* A label made with printf; valid until the next call. */
const char *fz_label(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A scratch folder for targets that parse files: made once per run,
 * removed at exit.  Returns its path, or NULL. */
const char *fz_tmpdir(void);
/* Write n bytes to path; returns 0 or -1. */
int fz_write_file(const char *path, const void *p, size_t n);

/* With --verbose (replaying an input): say what happened, on stderr. */
void fz_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report a broken promise (or a crash) with the input that caused it
 * saved to a file, then abort. */
void fz_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#define FZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) \
			fz_fail(__FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

/* Every character printable ASCII (what the parsers promise of texts). */
int fz_printable(const char *s);
/* s is NUL-terminated within cap bytes. */
int fz_terminated(const char *s, size_t cap);

/* The targets, by file. */
extern const struct fz_target fz_tbp_stream, fz_tbp_payload, fz_tbp_link;
extern const struct fz_target fz_eembc_line, fz_eembc_driver;
extern const struct fz_target fz_ppk2, fz_lpm01a;
extern const struct fz_target fz_daemon_api;
extern const struct fz_target fz_board_ini, fz_dataset_csv, fz_elf;

#endif
