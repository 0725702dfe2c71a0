/*
 * fuzz_io.c - the playback transport (fuzz_io.h).
 */
#include "fuzz_io.h"
#include "fuzz.h"

#include <string.h>

static int pipe_read(struct tb_transport *t, uint8_t *buf, size_t cap, int timeout_ms,
		     struct tb_error *err)
{
	struct fz_pipe *pp = (struct fz_pipe *)t;
	size_t n = 1 + fz_rand() % pp->max_chunk;

	const uint8_t *turn;

	if (timeout_ms == 0)
		return 0;
	if (pp->turns && pp->at_turn) {
		if (!pp->wrote)
			return tb_error_set(err, TB_ERR_CLOSED, "the device said nothing more");
		pp->at_turn = 0;
		pp->wrote = 0;
	}
	if (pp->pos == pp->n)
		return tb_error_set(err, TB_ERR_CLOSED, "the device went away (end of input)");
	if (n > pp->n - pp->pos)
		n = pp->n - pp->pos;
	if (n > cap)
		n = cap;
	turn = pp->turns ? memchr(pp->p + pp->pos, FZ_TURN, n) : NULL;
	if (turn) {
		n = (size_t)(turn - (pp->p + pp->pos));
		pp->at_turn = 1;
	}
	memcpy(buf, pp->p + pp->pos, n);
	pp->pos += n + (turn ? 1 : 0);
	if (n == 0)
		return pipe_read(t, buf, cap, timeout_ms, err);
	return (int)n;
}

static int pipe_write(struct tb_transport *t, const uint8_t *buf, size_t len, int timeout_ms,
		      struct tb_error *err)
{
	((struct fz_pipe *)t)->wrote = 1;
	return 0;
}

static void pipe_close(struct tb_transport *t)
{
}

static const struct tb_transport_ops pipe_ops = {
	.version = TB_TRANSPORT_OPS_VERSION,
	.name = "fuzz",
	.read = pipe_read,
	.write = pipe_write,
	.close = pipe_close,
};

void fz_pipe_init(struct fz_pipe *pp, const uint8_t *p, size_t n, int turns)
{
	memset(pp, 0, sizeof(*pp));
	tb_transport_init(&pp->base, &pipe_ops, "fuzz");
	pp->p = p;
	pp->n = n;
	pp->max_chunk = 1 + fz_rand() % 512;
	pp->turns = turns;
}
