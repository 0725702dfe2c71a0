#include "tb_json.h"

#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>

#define MAX_DEPTH 32

struct tb_json {
	FILE *out;
	int pretty;
	int depth;
	int count[MAX_DEPTH]; /* values written at each level */
	int after_key;
};

struct tb_json *tb_json_new(FILE *out, int pretty)
{
	struct tb_json *j = calloc(1, sizeof(*j));

	if (j) {
		j->out = out;
		j->pretty = pretty;
	}
	return j;
}

void tb_json_free(struct tb_json *j)
{
	if (!j)
		return;
	if (j->pretty)
		fputc('\n', j->out);
	free(j);
}

static void newline(struct tb_json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->out);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

/* Separator before a value (or a key) at the current level. */
static void before_value(struct tb_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth > 0) {
		if (j->count[j->depth]++)
			fputc(',', j->out);
		newline(j);
	}
}

static void open_(struct tb_json *j, char c)
{
	if (!j)
		return;
	before_value(j);
	fputc(c, j->out);
	if (j->depth < MAX_DEPTH - 1)
		j->depth++;
	j->count[j->depth] = 0;
}

static void close_(struct tb_json *j, char c)
{
	int had;

	if (!j || j->depth == 0)
		return;
	had = j->count[j->depth];
	j->depth--;
	if (had)
		newline(j);
	fputc(c, j->out);
}

void tb_json_begin_object(struct tb_json *j) { open_(j, '{'); }
void tb_json_end_object(struct tb_json *j) { close_(j, '}'); }
void tb_json_begin_array(struct tb_json *j) { open_(j, '['); }
void tb_json_end_array(struct tb_json *j) { close_(j, ']'); }

static void put_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"':  fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (c < 0x20)
				fprintf(out, "\\u%04x", c);
			else
				fputc(c, out);
		}
	}
	fputc('"', out);
}

void tb_json_key(struct tb_json *j, const char *key)
{
	if (!j)
		return;
	before_value(j);
	put_string(j->out, key);
	fputs(j->pretty ? ": " : ":", j->out);
	j->after_key = 1;
}

void tb_json_string(struct tb_json *j, const char *s)
{
	if (!j)
		return;
	before_value(j);
	if (s)
		put_string(j->out, s);
	else
		fputs("null", j->out);
}

void tb_json_int(struct tb_json *j, int64_t v)
{
	if (!j)
		return;
	before_value(j);
	fprintf(j->out, "%" PRId64, v);
}

void tb_json_uint(struct tb_json *j, uint64_t v)
{
	if (!j)
		return;
	before_value(j);
	fprintf(j->out, "%" PRIu64, v);
}

void tb_json_double(struct tb_json *j, double v)
{
	locale_t c, old;

	if (!j)
		return;
	before_value(j);
	if (!isfinite(v)) {
		fputs("null", j->out);
		return;
	}
	/* JSON needs '.' as the decimal point whatever the user's locale. */
	c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	old = c ? uselocale(c) : (locale_t)0;
	fprintf(j->out, "%.17g", v);
	if (c) {
		uselocale(old);
		freelocale(c);
	}
}

void tb_json_bool(struct tb_json *j, int v)
{
	if (!j)
		return;
	before_value(j);
	fputs(v ? "true" : "false", j->out);
}

void tb_json_null(struct tb_json *j)
{
	if (!j)
		return;
	before_value(j);
	fputs("null", j->out);
}

void tb_json_key_string(struct tb_json *j, const char *key, const char *s)
{
	tb_json_key(j, key);
	tb_json_string(j, s);
}

void tb_json_key_int(struct tb_json *j, const char *key, int64_t v)
{
	tb_json_key(j, key);
	tb_json_int(j, v);
}

void tb_json_key_uint(struct tb_json *j, const char *key, uint64_t v)
{
	tb_json_key(j, key);
	tb_json_uint(j, v);
}

void tb_json_key_double(struct tb_json *j, const char *key, double v)
{
	tb_json_key(j, key);
	tb_json_double(j, v);
}

void tb_json_key_bool(struct tb_json *j, const char *key, int v)
{
	tb_json_key(j, key);
	tb_json_bool(j, v);
}
