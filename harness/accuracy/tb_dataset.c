/*
 * tb_dataset.c - MLPerf Tiny datasets: y_labels.csv through libcsv, and
 * files turned into model inputs (tb_dataset.h).
 */
#include "tb_dataset.h"
#include "tb_nn.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FIELDS 8
#define FIELD_MAX  1024

static const char *const format_names[] = { "tensor", "uint8-image", "f32-windows" };

const char *tb_input_format_name(enum tb_input_format f)
{
	return (unsigned)f < 3 ? format_names[f] : NULL;
}

int tb_input_format_parse(const char *s, enum tb_input_format *f)
{
	for (unsigned i = 0; i < 3; i++)
		if (!strcmp(s, format_names[i])) {
			*f = (enum tb_input_format)i;
			return 0;
		}
	return -1;
}

/* ----------------------------------------------------------------------
 * y_labels.csv
 */
struct parse {
	struct tb_dataset *d;
	size_t cap;
	unsigned line;             /* line being fed to libcsv */
	unsigned row_line;         /* line the current row started on */
	char fields[MAX_FIELDS][FIELD_MAX + 1];
	size_t n_fields;
	int too_long;              /* a field over FIELD_MAX */
	int fields_per_row;        /* 3 or 5, from the first row */
	struct tb_error *err;
	int rc;
};

static int failf(struct parse *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int failf(struct parse *p, unsigned line, const char *fmt, ...)
{
	char msg[TB_ERROR_MSG_MAX];
	va_list ap;

	if (p->rc)
		return p->rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->rc = tb_error_set(p->err, TB_ERR_FORMAT, "%s:%u: %s", p->d->labels_path, line, msg);
	return p->rc;
}

static void on_field(void *s, size_t len, void *user)
{
	struct parse *p = user;

	if (p->rc)
		return;
	if (p->n_fields == 0)
		p->row_line = p->line;
	if (p->n_fields < MAX_FIELDS) {
		if (len > FIELD_MAX) {
			p->too_long = 1;
			len = FIELD_MAX;
		}
		memcpy(p->fields[p->n_fields], s ? s : "", len);
		p->fields[p->n_fields][len] = '\0';
	}
	p->n_fields++;
}

/* A whole number in [min, max], white space around it allowed. */
static int parse_num(const char *s, long long min, long long max, long long *v)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!(*s >= '0' && *s <= '9') && *s != '-')
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (errno || *end || *v < min || *v > max)
		return -1;
	return 0;
}

static void trim(char *s)
{
	size_t n = strlen(s), a = 0;

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	while (s[a] == ' ' || s[a] == '\t')
		a++;
	memmove(s, s + a, n - a + 1);
}

static int is_header(struct parse *p)
{
	static const char *const names[] = { "file", "num_classes", "label",
					     "window_bytes", "stride_bytes" };

	if (p->d->n || p->n_fields > 5)
		return 0;
	for (size_t i = 0; i < p->n_fields; i++)
		if (strcmp(p->fields[i], names[i]))
			return 0;
	return 1;
}

/* A file name that stays inside the dataset folder. */
static int safe_name(const char *f)
{
	if (!*f || f[0] == '/')
		return 0;
	for (const char *s = f; *s; s++) {
		if ((unsigned char)*s < 0x20)
			return 0;
		if ((s == f || s[-1] == '/') && s[0] == '.' && s[1] == '.' &&
		    (s[2] == '/' || !s[2]))
			return 0;
	}
	return 1;
}

static void on_row(int c, void *user)
{
	struct parse *p = user;
	struct tb_dataset_item *it;
	long long nc, label, wb = 0, sb = 0;
	unsigned line = p->row_line;

	(void)c;
	if (p->rc)
		return;
	if (p->n_fields == 0)
		return;
	for (size_t i = 0; i < p->n_fields && i < MAX_FIELDS; i++)
		trim(p->fields[i]);
	if (p->n_fields == 1 && !p->fields[0][0])
		goto next;	/* a line of blanks */
	if (p->n_fields != 3 && p->n_fields != 5) {
		failf(p, line, "%zu fields; expected 3 (file,num_classes,label) or 5 "
		      "(file,num_classes,label,window_bytes,stride_bytes)", p->n_fields);
		return;
	}
	if (is_header(p))
		goto next;
	if (p->fields_per_row && (int)p->n_fields != p->fields_per_row) {
		failf(p, line, "%zu fields, but the rows before have %d", p->n_fields,
		      p->fields_per_row);
		return;
	}
	p->fields_per_row = (int)p->n_fields;
	if (p->too_long) {
		failf(p, line, "a field longer than %d characters", FIELD_MAX);
		return;
	}
	if (!safe_name(p->fields[0])) {
		failf(p, line, "file '%s' is not a file name inside the dataset folder",
		      p->fields[0]);
		return;
	}
	if (parse_num(p->fields[1], 1, 1000000, &nc) < 0) {
		failf(p, line, "num_classes '%s' is not a whole number from 1 to 1000000",
		      p->fields[1]);
		return;
	}
	if (parse_num(p->fields[2], INT32_MIN, INT32_MAX, &label) < 0) {
		failf(p, line, "label '%s' is not a whole number", p->fields[2]);
		return;
	}
	if (label < 0 || label >= nc) {
		failf(p, line, "label %lld is out of range 0..%lld (num_classes %lld)",
		      label, nc - 1, nc);
		return;
	}
	if (p->d->n && nc != p->d->num_classes) {
		failf(p, line, "num_classes %lld, but the rows before say %d", nc,
		      p->d->num_classes);
		return;
	}
	if (p->n_fields == 5) {
		if (parse_num(p->fields[3], 1, TB_DATASET_MAX_FILE, &wb) < 0) {
			failf(p, line, "window_bytes '%s' is not a whole number from 1 to %u",
			      p->fields[3], TB_DATASET_MAX_FILE);
			return;
		}
		if (parse_num(p->fields[4], 1, TB_DATASET_MAX_FILE, &sb) < 0) {
			failf(p, line, "stride_bytes '%s' is not a whole number from 1 to %u",
			      p->fields[4], TB_DATASET_MAX_FILE);
			return;
		}
	}
	if (p->d->n >= TB_DATASET_MAX_ITEMS) {
		failf(p, line, "more than %u rows", TB_DATASET_MAX_ITEMS);
		return;
	}
	if (p->d->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		struct tb_dataset_item *n = realloc(p->d->items, cap * sizeof(*n));

		if (!n) {
			p->rc = tb_error_set(p->err, TB_ERR_NOMEM, "out of memory");
			return;
		}
		p->d->items = n;
		p->cap = cap;
	}
	it = &p->d->items[p->d->n];
	memset(it, 0, sizeof(*it));
	it->file = strdup(p->fields[0]);
	if (!it->file) {
		p->rc = tb_error_set(p->err, TB_ERR_NOMEM, "out of memory");
		return;
	}
	it->label = (int32_t)label;
	it->num_classes = (int32_t)nc;
	it->window_bytes = (uint32_t)wb;
	it->stride_bytes = (uint32_t)sb;
	it->line = line;
	p->d->num_classes = (int32_t)nc;
	p->d->windowed = p->n_fields == 5;
	p->d->n++;
next:
	p->n_fields = 0;
	p->too_long = 0;
}

static void hex32(const uint8_t *d, char out[65])
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[64] = '\0';
}

static void sha256_of(const void *data, size_t len, char out[65])
{
	uint8_t dg[SHA256_DIGEST_LENGTH];
	SHA2_CTX ctx;

	SHA256Init(&ctx);
	SHA256Update(&ctx, data, len);
	SHA256Final(dg, &ctx);
	hex32(dg, out);
}

int tb_dataset_open(const char *dir, struct tb_dataset **out, struct tb_error *err)
{
	struct parse p = { .err = err };
	struct csv_parser csv;
	struct tb_dataset *d;
	struct stat st;
	char *text = NULL;
	size_t len = 0, pos = 0;
	FILE *f;
	int rc;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	p.d = d;
	d->dir = strdup(dir);
	if (d->dir && asprintf(&d->labels_path, "%s/y_labels.csv", dir) < 0)
		d->labels_path = NULL;
	if (!d->dir || !d->labels_path) {
		tb_dataset_free(d);
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	}
	if (stat(dir, &st) < 0) {
		rc = tb_error_set(err, TB_ERR_NOTFOUND, "dataset '%s': %s", dir, strerror(errno));
		goto fail;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = tb_error_set(err, TB_ERR_NOTFOUND, "dataset '%s': not a folder", dir);
		goto fail;
	}
	f = fopen(d->labels_path, "rb");
	if (!f) {
		rc = tb_error_set(err, errno == ENOENT ? TB_ERR_NOTFOUND : TB_ERR_IO,
				  "dataset '%s': no labels: %s: %s (the MLPerf Tiny layout has "
				  "y_labels.csv beside the input files)", dir, d->labels_path,
				  strerror(errno));
		goto fail;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > 1024L * 1024 * 1024) {
		fclose(f);
		rc = tb_error_set(err, TB_ERR_FORMAT, "%s: not a regular file under 1 GB",
				  d->labels_path);
		goto fail;
	}
	len = (size_t)st.st_size;
	text = malloc(len + 1);
	if (!text || fread(text, 1, len, f) != len) {
		fclose(f);
		rc = tb_error_set(err, text ? TB_ERR_IO : TB_ERR_NOMEM, "%s: cannot read it",
				  d->labels_path);
		goto fail;
	}
	fclose(f);
	sha256_of(text, len, d->labels_sha256);

	if (csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
		rc = tb_error_set(err, TB_ERR_NOMEM, "libcsv: out of memory");
		goto fail;
	}
	/* Line by line, so that every row knows its line number. */
	while (pos < len && !p.rc) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) + 1 : len - pos;

		p.line++;
		if (csv_parse(&csv, text + pos, n, on_field, on_row, &p) != n && !p.rc)
			failf(&p, p.line, "not valid CSV (%s)", csv_strerror(csv_error(&csv)));
		pos += n;
	}
	if (!p.rc && csv_fini(&csv, on_field, on_row, &p) != 0)
		failf(&p, p.line, "not valid CSV at the end of the file (%s)",
		      csv_strerror(csv_error(&csv)));
	csv_free(&csv);
	rc = p.rc;
	if (rc)
		goto fail;
	if (!d->n) {
		rc = tb_error_set(err, TB_ERR_FORMAT, "%s: no rows (expected "
				  "file,num_classes,label per line)", d->labels_path);
		goto fail;
	}
	free(text);
	*out = d;
	return TB_OK;
fail:
	free(text);
	tb_dataset_free(d);
	return rc;
}

void tb_dataset_free(struct tb_dataset *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->items[i].file);
	free(d->items);
	free(d->dir);
	free(d->labels_path);
	free(d);
}

/* ----------------------------------------------------------------------
 * Formats
 */
static const char *base_name(const char *path)
{
	static char buf[256];
	size_t n = strlen(path);
	const char *b;

	while (n > 1 && path[n - 1] == '/')
		n--;
	b = path + n;
	while (b > path && b[-1] != '/')
		b--;
	snprintf(buf, sizeof(buf), "%.*s", (int)(path + n - b), b);
	return buf;
}

static int by_name(const char *name, enum tb_input_format *f)
{
	if (!strcmp(name, "kws01"))
		*f = TB_INPUT_TENSOR;
	else if (!strcmp(name, "vww01") || !strcmp(name, "ic01"))
		*f = TB_INPUT_UINT8_IMAGE;
	else if (!strcmp(name, "ad01"))
		*f = TB_INPUT_F32_WINDOWS;
	else
		return -1;
	return 0;
}

enum tb_input_format tb_dataset_guess_format(const struct tb_dataset *d,
					     const struct tb_workload *wl)
{
	enum tb_input_format f;

	if (wl && by_name(wl->name, &f) == 0)
		return f;
	if (by_name(base_name(d->dir), &f) == 0)
		return f;
	return d->windowed ? TB_INPUT_F32_WINDOWS : TB_INPUT_TENSOR;
}

int tb_dataset_check_format(const struct tb_dataset *d, const struct tb_workload *wl,
			    enum tb_input_format f, struct tb_error *err)
{
	switch (f) {
	case TB_INPUT_TENSOR:
		return TB_OK;
	case TB_INPUT_UINT8_IMAGE:
		if (wl->input_dtype != TB_DTYPE_INT8 || wl->input_zero_point != -128)
			return tb_error_set(err, TB_ERR_ARG,
					    "input format uint8-image needs an int8 model input "
					    "with zero point -128; %s's is %s with zero point %ld",
					    wl->name, wl->input_dtype == TB_DTYPE_INT8 ? "int8" :
					    "not int8", (long)wl->input_zero_point);
		return TB_OK;
	case TB_INPUT_F32_WINDOWS:
		if (!d->windowed)
			return tb_error_set(err, TB_ERR_FORMAT,
					    "input format f32-windows needs window_bytes and "
					    "stride_bytes in %s (five fields a row)", d->labels_path);
		if (wl->input_dtype != TB_DTYPE_INT8 && wl->input_dtype != TB_DTYPE_FLOAT32)
			return tb_error_set(err, TB_ERR_ARG,
					    "input format f32-windows needs an int8 or float32 "
					    "model input");
		for (size_t i = 0; i < d->n; i++) {
			const struct tb_dataset_item *it = &d->items[i];
			uint32_t need = wl->input_dtype == TB_DTYPE_INT8 ? 4 * wl->input_size :
					wl->input_size;

			if (it->window_bytes != need || it->stride_bytes % 4)
				return tb_error_set(err, TB_ERR_FORMAT,
						    "%s:%u: window_bytes %u, stride_bytes %u: %s "
						    "takes windows of %u bytes of float32 and the "
						    "stride must be whole values",
						    d->labels_path, it->line, it->window_bytes,
						    it->stride_bytes, wl->name, need);
		}
		return TB_OK;
	}
	return tb_error_set(err, TB_ERR_ARG, "unknown input format");
}

/* ----------------------------------------------------------------------
 * Reading inputs
 */
int tb_dataset_read(const struct tb_dataset *d, size_t i, const struct tb_workload *wl,
		    enum tb_input_format f, uint8_t **data, size_t *len,
		    uint32_t *n_inputs, char sha256[65], struct tb_error *err)
{
	const struct tb_dataset_item *it = &d->items[i];
	char path[4096 + 1024];
	struct stat st;
	uint8_t *buf;
	FILE *fp;

	*data = NULL;
	snprintf(path, sizeof(path), "%s/%s", d->dir, it->file);
	fp = fopen(path, "rb");
	if (!fp)
		return tb_error_set(err, errno == ENOENT ? TB_ERR_NOTFOUND : TB_ERR_IO,
				    "%s:%u: input file %s: %s", d->labels_path, it->line,
				    path, strerror(errno));
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > TB_DATASET_MAX_FILE) {
		fclose(fp);
		return tb_error_set(err, TB_ERR_FORMAT, "%s:%u: input file %s is not a "
				    "regular file of at most %u bytes", d->labels_path,
				    it->line, path, TB_DATASET_MAX_FILE);
	}
	*len = (size_t)st.st_size;
	if (f == TB_INPUT_F32_WINDOWS) {
		if (*len < it->window_bytes) {
			fclose(fp);
			return tb_error_set(err, TB_ERR_FORMAT,
					    "%s:%u: input file %s has %zu bytes, less than one "
					    "window of %u", d->labels_path, it->line, path, *len,
					    it->window_bytes);
		}
		*n_inputs = (uint32_t)((*len - it->window_bytes) / it->stride_bytes + 1);
	} else {
		if (*len != wl->input_size) {
			fclose(fp);
			return tb_error_set(err, TB_ERR_FORMAT,
					    "%s:%u: input file %s has %zu bytes; %s takes "
					    "exactly %lu (%s)", d->labels_path, it->line, path,
					    *len, wl->name, (unsigned long)wl->input_size,
					    f == TB_INPUT_TENSOR ? "the input tensor" :
					    "one uint8 per input value");
		}
		*n_inputs = 1;
	}
	buf = malloc(*len ? *len : 1);
	if (!buf || fread(buf, 1, *len, fp) != *len) {
		fclose(fp);
		free(buf);
		return tb_error_set(err, buf ? TB_ERR_IO : TB_ERR_NOMEM,
				    "%s:%u: input file %s: read failed", d->labels_path,
				    it->line, path);
	}
	fclose(fp);
	sha256_of(buf, *len, sha256);
	*data = buf;
	return TB_OK;
}

int tb_dataset_input(const struct tb_dataset *d, size_t i, const struct tb_workload *wl,
		     enum tb_input_format f, const uint8_t *data, size_t len,
		     uint32_t k, uint8_t *tensor, struct tb_error *err)
{
	const struct tb_dataset_item *it = &d->items[i];

	switch (f) {
	case TB_INPUT_TENSOR:
		memcpy(tensor, data, wl->input_size);
		return TB_OK;
	case TB_INPUT_UINT8_IMAGE:
		for (uint32_t j = 0; j < wl->input_size; j++)
			tensor[j] = data[j] ^ 0x80u;
		return TB_OK;
	case TB_INPUT_F32_WINDOWS: {
		size_t off = (size_t)k * it->stride_bytes;
		uint32_t n = it->window_bytes / 4;
		float x[1024];

		if (off + it->window_bytes > len)
			return tb_error_set(err, TB_ERR_ARG, "window %u past the end", k);
		if (wl->input_dtype == TB_DTYPE_FLOAT32) {
			memcpy(tensor, data + off, it->window_bytes);
			return TB_OK;
		}
		for (uint32_t j = 0; j < n; j += 1024) {
			uint32_t m = n - j < 1024 ? n - j : 1024;

			memcpy(x, data + off + 4 * (size_t)j, 4 * (size_t)m);
			if (tb_nn_quantize_f32_s8(x, (int32_t)m, wl->input_scale,
						  wl->input_zero_point, (int8_t *)tensor + j) < 0)
				return tb_error_set(err, TB_ERR_ARG,
						    "%s: cannot quantise with scale %g, zero point %ld",
						    wl->name, (double)wl->input_scale,
						    (long)wl->input_zero_point);
		}
		return TB_OK;
	}
	}
	return tb_error_set(err, TB_ERR_ARG, "unknown input format");
}
