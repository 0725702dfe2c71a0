/*
 * tb_shared.h - where the tests find the shared MLPerf Tiny material
 * (../shared beside the checkout, or $TINYBENCH_SHARED).  Test-only.
 */
#ifndef TB_SHARED_H
#define TB_SHARED_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Path of rel inside the shared folder, or NULL (and a reason) when the
 * folder is absent: callers skip with a message. */
static inline const char *tb_shared_path(const char *rel, char *buf, size_t len)
{
	const char *shared = getenv("TINYBENCH_SHARED");
	const char *src = getenv("TB_SOURCE_DIR");
	struct stat st;

	if (shared && *shared)
		snprintf(buf, len, "%s/%s", shared, rel);
	else
		snprintf(buf, len, "%s/../shared/%s", src ? src : ".", rel);
	return stat(buf, &st) == 0 ? buf : NULL;
}

/* Whole file into a malloc()ed buffer (NULL on failure). */
static inline unsigned char *tb_read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

#define TB_SHARED_SKIP_MSG "shared MLPerf Tiny material not found: looked in " \
	"$TINYBENCH_SHARED, then ../shared beside the checkout"

#endif
