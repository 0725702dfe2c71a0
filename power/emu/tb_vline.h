/*
 * tb_vline.h - the virtual timestamp line: a GPIO between processes.
 *
 * A board without a pin anyone can probe (the native `sim` runner) drives
 * its timestamp "pin" by publishing edges, each with its CLOCK_MONOTONIC
 * time, into a small shared-memory file; an emulated energy monitor maps
 * the same file and samples the line at its own sample times, exactly as a
 * real monitor samples a wire.  The harness creates the file and passes its
 * path to both (runner: --timestamp-line PATH, emulator: --tsline PATH).
 *
 * Layout (host byte order, one writer, any number of readers): a header,
 * then a ring of TB_VLINE_CAP edges.  The writer fills edge number `count`
 * (slot count % CAP) and then publishes it by incrementing `count` with
 * release ordering; a reader loads `count` with acquire ordering and reads
 * the edges it has not seen.  A reader more than CAP edges behind has lost
 * edges (it can tell: count - seen > CAP).
 *
 * Header-only (static inline) so that the runner needs no library.  No
 * allocation; the mapping belongs to the caller (tb_vline_unmap()).
 */
#ifndef TB_VLINE_H
#define TB_VLINE_H

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define TB_VLINE_MAGIC 0x4c565754u   /* "TWVL" */
#define TB_VLINE_VERSION 1u
#define TB_VLINE_CAP 4096u

struct tb_vline_edge {
	int64_t t_ns;                /* CLOCK_MONOTONIC */
	uint32_t level;              /* 0 or 1 */
	uint32_t pad;
};

struct tb_vline {
	uint32_t magic;
	uint32_t version;
	uint32_t cap;
	uint32_t pad;
	int64_t created_ns;          /* CLOCK_MONOTONIC when created */
	_Atomic uint64_t count;      /* edges published */
	struct tb_vline_edge edges[TB_VLINE_CAP];
};

static inline int64_t tb_vline_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Map an existing file; writable for the writer.  NULL on error (errno). */
static inline struct tb_vline *tb_vline_map(const char *path, int writable)
{
	int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	struct tb_vline *v;

	if (fd < 0)
		return NULL;
	v = mmap(NULL, sizeof(*v), writable ? PROT_READ | PROT_WRITE : PROT_READ,
		 MAP_SHARED, fd, 0);
	close(fd);
	if (v == MAP_FAILED)
		return NULL;
	if (v->magic != TB_VLINE_MAGIC || v->version != TB_VLINE_VERSION ||
	    v->cap != TB_VLINE_CAP) {
		munmap(v, sizeof(*v));
		errno = EINVAL;
		return NULL;
	}
	return v;
}

/* Create (truncate) the file at path with an empty line.  0 or -1 (errno). */
static inline int tb_vline_create(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct tb_vline *v;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)sizeof(*v)) < 0) {
		close(fd);
		return -1;
	}
	v = mmap(NULL, sizeof(*v), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (v == MAP_FAILED)
		return -1;
	memset(v, 0, sizeof(*v));
	v->version = TB_VLINE_VERSION;
	v->cap = TB_VLINE_CAP;
	v->created_ns = tb_vline_now_ns();
	atomic_store(&v->count, 0);
	/* The magic last: a reader never sees a half-made line. */
	atomic_thread_fence(memory_order_release);
	v->magic = TB_VLINE_MAGIC;
	munmap(v, sizeof(*v));
	return 0;
}

static inline void tb_vline_unmap(struct tb_vline *v)
{
	if (v)
		munmap(v, sizeof(*v));
}

/* Writer: the line goes to level now. */
static inline void tb_vline_set(struct tb_vline *v, int level)
{
	uint64_t n = atomic_load_explicit(&v->count, memory_order_relaxed);
	struct tb_vline_edge *e = &v->edges[n % TB_VLINE_CAP];

	e->t_ns = tb_vline_now_ns();
	e->level = level ? 1u : 0u;
	atomic_store_explicit(&v->count, n + 1, memory_order_release);
}

/* Writer: the line goes to level at t_ns (CLOCK_MONOTONIC), which may lie
 * ahead: a bridge that learns of a window after the fact (a QEMU board,
 * docs/ENERGY.md) publishes both its edges before a reader samples that
 * far.  Times must not decrease from one edge to the next. */
static inline void tb_vline_set_at(struct tb_vline *v, int level, int64_t t_ns)
{
	uint64_t n = atomic_load_explicit(&v->count, memory_order_relaxed);
	struct tb_vline_edge *e = &v->edges[n % TB_VLINE_CAP];

	e->t_ns = t_ns;
	e->level = level ? 1u : 0u;
	atomic_store_explicit(&v->count, n + 1, memory_order_release);
}

/* Reader: edges published so far. */
static inline uint64_t tb_vline_count(const struct tb_vline *v)
{
	return atomic_load_explicit(&((struct tb_vline *)v)->count, memory_order_acquire);
}

/* Reader: edge number i (i < count, count - i <= CAP). */
static inline struct tb_vline_edge tb_vline_edge(const struct tb_vline *v, uint64_t i)
{
	return v->edges[i % TB_VLINE_CAP];
}

#endif
