/*
 * test_tflite_fuzz.c - the importer against many deterministic mutations
 * of the real .tflite files: truncations, bit flips, bytes overwritten,
 * 32-bit offsets and lengths rewritten to lying or huge values.  Every
 * mutant must give either a clean error with a message or a model; a
 * model must import into a blob that validates (or fail cleanly), and a
 * validated blob must run.  Nothing may crash or read out of bounds: CI
 * runs this suite under ASan/UBSan (scripts/quickstart, build-asan).
 * Deterministic (fixed seeds), a few seconds.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tb_nn_model.h"
#include "tb_shared.h"
#include "tb_tflite.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

struct stats {
	unsigned parsed, rejected, imported, ran;
};

/* One mutant through the whole pipeline. */
static void try_mutant(const uint8_t *buf, size_t len, struct stats *st, int run)
{
	struct tb_tflite_model *m = NULL;
	struct tb_error err = { 0 };
	uint8_t *blob = NULL, *aligned;
	size_t size = 0;
	int ret;

	ret = tb_tflite_parse(buf, len, &m, &err);
	if (ret) {
		cr_assert(ret < 0 && err.msg[0], "error %d without a message", ret);
		cr_assert_null(m);
		st->rejected++;
		return;
	}
	st->parsed++;
	ret = tb_tflite_to_blob(m, &blob, &size, NULL, &err);
	tb_tflite_free(m);
	if (ret) {
		cr_assert(ret < 0 && err.msg[0], "import error %d without a message", ret);
		return;
	}
	st->imported++;
	aligned = aligned_alloc(8, (size + 7) & ~(size_t)7);
	cr_assert(aligned);
	memcpy(aligned, blob, size);
	free(blob);
	if (run) {
		struct tb_nn_model nm;

		if (tb_nn_model_init(&nm, aligned, size) == 0) {
			struct tb_nn_tensor_info ti, to;
			uint32_t asz = tb_nn_model_arena_size(&nm);
			void *arena, *in, *out;

			tb_nn_model_tensor(&nm, nm.input, &ti);
			tb_nn_model_tensor(&nm, nm.output, &to);
			if (asz <= (64u << 20) && ti.size <= (1u << 24) && to.size <= (1u << 24)) {
				arena = aligned_alloc(8, (asz + 7) & ~7u);
				in = calloc(1, ti.size);
				out = calloc(1, to.size);
				cr_assert(arena && in && out);
				tb_nn_model_invoke(&nm, in, ti.size, out, to.size, arena, asz);
				st->ran++;
				free(arena);
				free(in);
				free(out);
			}
		}
	}
	free(aligned);
}

static uint8_t *load(const char *file, size_t *len)
{
	char rel[256], path[4096];
	uint8_t *buf;

	snprintf(rel, sizeof(rel), "mlperf-tiny/models/%s", file);
	if (!tb_shared_path(rel, path, sizeof(path)))
		cr_skip_test(TB_SHARED_SKIP_MSG);
	buf = tb_read_all(path, len);
	cr_assert(buf, "%s unreadable", path);
	return buf;
}

/* Positions the flatbuffer structure lives at: tables and vtables sit
 * near the start and the end of TFLite files (the converter writes the
 * large buffers in between), so half the mutations aim there. */
static size_t pick_pos(size_t len)
{
	const uint32_t r = next();

	switch (r % 4) {
	case 0:
		return next() % (len < 4096 ? len : 4096);
	case 1:
		return len - 1 - next() % (len < 4096 ? len : 4096);
	default:
		return next() % len;
	}
}

static void fuzz_file(const char *file, unsigned rounds, int run_every)
{
	size_t len;
	uint8_t *orig = load(file, &len);
	uint8_t *buf = malloc(len);
	struct stats st = { 0 };

	cr_assert(buf);
	/* truncations: every prefix length class */
	for (size_t cut = 0; cut < len; cut += cut < 64 ? 1 : 97 + cut / 8) {
		memcpy(buf, orig, cut);
		try_mutant(buf, cut, &st, 0);
	}
	for (unsigned i = 0; i < rounds; i++) {
		static const uint32_t lies[] = {
			0xFFFFFFFFu, 0xFFFFFFFCu, 0x7FFFFFFFu, 0x80000000u, 0x40000000u,
			0, 1, 4, 8, 0xFFFF, 0x10000,
		};
		const unsigned kind = i % 5;
		size_t pos = pick_pos(len);
		uint32_t v;

		memcpy(buf, orig, len);
		switch (kind) {
		case 0:		/* one bit */
			buf[pos] ^= (uint8_t)(1u << (next() % 8));
			break;
		case 1:		/* a few random bytes */
			for (int k = 0; k < 4; k++)
				buf[pick_pos(len)] = (uint8_t)next();
			break;
		case 2:		/* an aligned word: a lying offset or a huge length */
			pos &= ~(size_t)3;
			if (pos + 4 > len)
				pos = len - 4;
			v = lies[next() % (sizeof(lies) / sizeof(lies[0]))];
			if (next() % 3 == 0)
				v = (uint32_t)len - (next() % 64);
			memcpy(buf + pos, &v, 4);
			break;
		case 3:		/* a 16-bit vtable entry */
			pos &= ~(size_t)1;
			if (pos + 2 > len)
				pos = len - 2;
			v = next();
			memcpy(buf + pos, &v, 2);
			break;
		default:	/* the root offset or the vtable of the root */
			v = next() % (uint32_t)(len + 64);
			memcpy(buf + (next() % 2 ? 0 : (orig[0] | orig[1] << 8) % (len - 4)), &v, 4);
			break;
		}
		try_mutant(buf, len, &st, run_every && i % run_every == 0);
	}
	cr_log_info("%s: %u rejected, %u parsed, %u imported, %u run", file, st.rejected,
		    st.parsed, st.imported, st.ran);
	/* the mutations must exercise both outcomes */
	cr_assert_gt(st.rejected, 50, "%s: too few mutants rejected", file);
	cr_assert_gt(st.imported, 10, "%s: too few mutants imported", file);
	free(buf);
	free(orig);
}

Test(tflite_fuzz, kws_int8_mutants_fail_cleanly, .timeout = 120)
{
	fuzz_file("kws_ref_model.tflite", 3000, 25);
}

Test(tflite_fuzz, kws_hybrid_mutants_fail_cleanly, .timeout = 120)
{
	fuzz_file("kws_ref_model_float32.tflite", 1500, 50);
}

Test(tflite_fuzz, resnet_mutants_fail_cleanly, .timeout = 120)
{
	fuzz_file("pretrainedResnet_quant.tflite", 1500, 100);
}

Test(tflite_fuzz, ad_mutants_fail_cleanly, .timeout = 120)
{
	fuzz_file("ad01_int8.tflite", 800, 0);
}
