/* tb_json: nesting, commas, escaping, non-finite numbers, pretty output. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tb_json.h"

static char *render(int pretty, void (*fn)(struct tb_json *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct tb_json *j;

	cr_assert_not_null(f);
	j = tb_json_new(f, pretty);
	fn(j);
	tb_json_free(j);
	fclose(f);
	return buf;
}

static void doc(struct tb_json *j)
{
	tb_json_begin_object(j);
	tb_json_key_string(j, "s", "a\"b\\c\n\t\x01");
	tb_json_key_int(j, "i", -5);
	tb_json_key_uint(j, "u", 18446744073709551615ull);
	tb_json_key_double(j, "d", 0.5);
	tb_json_key_double(j, "nan", NAN);
	tb_json_key_double(j, "inf", INFINITY);
	tb_json_key_bool(j, "t", 1);
	tb_json_key_string(j, "null", NULL);
	tb_json_key(j, "a");
	tb_json_begin_array(j);
	tb_json_int(j, 1);
	tb_json_begin_object(j);
	tb_json_end_object(j);
	tb_json_begin_array(j);
	tb_json_end_array(j);
	tb_json_end_array(j);
	tb_json_end_object(j);
}

Test(json, compact_document)
{
	char *s = render(0, doc);

	cr_assert_str_eq(s, "{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\",\"i\":-5,"
			    "\"u\":18446744073709551615,\"d\":0.5,\"nan\":null,"
			    "\"inf\":null,\"t\":true,\"null\":null,\"a\":[1,{},[]]}");
	free(s);
}

static void small(struct tb_json *j)
{
	tb_json_begin_object(j);
	tb_json_key_int(j, "a", 1);
	tb_json_key(j, "b");
	tb_json_begin_array(j);
	tb_json_int(j, 2);
	tb_json_end_array(j);
	tb_json_end_object(j);
}

Test(json, pretty_document)
{
	char *s = render(1, small);

	cr_assert_str_eq(s, "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}\n");
	free(s);
}

static void round_trip_double(struct tb_json *j)
{
	tb_json_double(j, 0.1 + 0.2);
}

Test(json, doubles_read_back_exactly)
{
	char *s = render(0, round_trip_double);

	cr_assert_eq(strtod(s, NULL), 0.1 + 0.2, "%s", s);
	free(s);
}
