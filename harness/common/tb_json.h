/*
 * tb_json.h - a small streaming JSON writer for the CLI's --json output and
 * for the parameters stored with a run.
 *
 * The writer tracks nesting and commas; the caller emits keys and values in
 * order.  Strings are escaped (control characters, quotes, backslashes;
 * bytes >= 0x80 are passed through, so callers give it UTF-8).  Doubles
 * that are NaN or infinite are written as null.  Output goes to a FILE the
 * caller owns; write errors are left in the stream (check ferror()).
 */
#ifndef TB_JSON_H
#define TB_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct tb_json;

/* pretty: indent with two spaces per level.  NULL on allocation failure;
 * every other function accepts a NULL writer and does nothing. */
struct tb_json *tb_json_new(FILE *out, int pretty);
/* Ends the line after the top-level value; does not close the stream. */
void tb_json_free(struct tb_json *j);

void tb_json_begin_object(struct tb_json *j);
void tb_json_end_object(struct tb_json *j);
void tb_json_begin_array(struct tb_json *j);
void tb_json_end_array(struct tb_json *j);

void tb_json_key(struct tb_json *j, const char *key);
void tb_json_string(struct tb_json *j, const char *s);   /* NULL -> null */
void tb_json_int(struct tb_json *j, int64_t v);
void tb_json_uint(struct tb_json *j, uint64_t v);
void tb_json_double(struct tb_json *j, double v);
void tb_json_bool(struct tb_json *j, int v);
void tb_json_null(struct tb_json *j);

/* key + value shorthands */
void tb_json_key_string(struct tb_json *j, const char *key, const char *s);
void tb_json_key_int(struct tb_json *j, const char *key, int64_t v);
void tb_json_key_uint(struct tb_json *j, const char *key, uint64_t v);
void tb_json_key_double(struct tb_json *j, const char *key, double v);
void tb_json_key_bool(struct tb_json *j, const char *key, int v);

#endif
