/*
 * tb_dataset.h - an MLPerf Tiny dataset in its own layout: a folder of
 * input files and the y_labels.csv that names them (docs/ACCURACY.md).
 *
 *   y_labels.csv   file,num_classes,label                      (kws01, vww01, ic01)
 *                  file,num_classes,label,window_bytes,stride_bytes   (ad01)
 *
 * no header (a header line naming those columns is accepted), parsed with
 * libcsv.  Every error names the file and line: a missing y_labels.csv, a
 * row with the wrong number of fields, a number that is not one, a label
 * outside 0..num_classes-1, a file name that leaves the folder; and, when
 * an input is read, a missing input file or one of the wrong size.
 *
 * How a file becomes the model's input (enum tb_input_format) is what the
 * MLPerf Tiny reference firmware does on the device, done on the host:
 * kws01 files are the int8 tensor; vww01 and ic01 files are uint8 images
 * for an int8 model with zero point -128 (q = u - 128); ad01 files are
 * float32 frames cut into windows of window_bytes every stride_bytes, each
 * window quantised with the model's input scale and zero point.
 *
 * Ownership: tb_dataset_open() returns a dataset the caller frees with
 * tb_dataset_free() (NULL accepted); item strings belong to it.
 */
#ifndef TB_DATASET_H
#define TB_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"
#include "tb_workload.h"

enum tb_input_format {
	TB_INPUT_TENSOR      = 0, /* "tensor": the file is the input tensor */
	TB_INPUT_UINT8_IMAGE = 1, /* "uint8-image": uint8 pixels, q = u - 128 */
	TB_INPUT_F32_WINDOWS = 2, /* "f32-windows": float32 frames, windows of
				   * window_bytes every stride_bytes */
};

#define TB_DATASET_MAX_ITEMS 10000000u
#define TB_DATASET_MAX_FILE  100000000u  /* bytes of one input file */

struct tb_dataset_item {
	char *file;                /* as y_labels.csv names it */
	int32_t label;
	int32_t num_classes;
	uint32_t window_bytes;     /* 0 unless the row has five fields */
	uint32_t stride_bytes;
	unsigned line;             /* of y_labels.csv, from 1 */
};

struct tb_dataset {
	char *dir;
	char *labels_path;         /* dir/y_labels.csv */
	char labels_sha256[65];
	struct tb_dataset_item *items;
	size_t n;
	int32_t num_classes;       /* the same on every row */
	int windowed;              /* rows have window_bytes, stride_bytes */
};

/* Read dir/y_labels.csv and check every row. */
int tb_dataset_open(const char *dir, struct tb_dataset **out, struct tb_error *err);
void tb_dataset_free(struct tb_dataset *d);

/* "tensor", "uint8-image", "f32-windows"; NULL for a bad value. */
const char *tb_input_format_name(enum tb_input_format f);
int tb_input_format_parse(const char *s, enum tb_input_format *f);

/*
 * The format for a workload and dataset when none is given: by the
 * workload's name (kws01 tensor, vww01/ic01 uint8-image, ad01 f32-windows),
 * else by the dataset folder's name (the MLPerf layout keeps each in
 * datasets/<workload>/), else f32-windows for a five-column y_labels.csv,
 * else tensor.
 */
enum tb_input_format tb_dataset_guess_format(const struct tb_dataset *d,
					     const struct tb_workload *wl);

/* Can the format feed this model?  The message says why not. */
int tb_dataset_check_format(const struct tb_dataset *d, const struct tb_workload *wl,
			    enum tb_input_format f, struct tb_error *err);

/*
 * One item, read: the file's bytes (checked against the workload: the
 * tensor size, or for f32-windows at least one window), its SHA-256, and
 * the number of model inputs it gives (1, or its windows).  *data is
 * malloc()ed, the caller frees it.
 */
int tb_dataset_read(const struct tb_dataset *d, size_t i, const struct tb_workload *wl,
		    enum tb_input_format f, uint8_t **data, size_t *len,
		    uint32_t *n_inputs, char sha256[65], struct tb_error *err);

/* Model input k (< n_inputs) of an item read with tb_dataset_read(),
 * into tensor (wl->input_size bytes). */
int tb_dataset_input(const struct tb_dataset *d, size_t i, const struct tb_workload *wl,
		     enum tb_input_format f, const uint8_t *data, size_t len,
		     uint32_t k, uint8_t *tensor, struct tb_error *err);

#endif
