/*
 * tb_export.h - export results from the store for other tools.
 *
 * The CSV format (columns, units, quoting) is documented in docs/EXPORT.md
 * and is stable: columns may be appended, never renamed, removed or
 * reordered.
 *
 * Ownership: the caller owns the store and the stream; the exporter never
 * closes the stream.  Nothing is printed except to the given stream.
 */
#ifndef TB_EXPORT_H
#define TB_EXPORT_H

#include <stdio.h>

#include "tb_err.h"
#include "tb_store.h"

/*
 * Write the trials of the runs selected by f (NULL = all) to out as CSV
 * (RFC 4180 with CRLF line ends): a header row, then one row per trial with
 * its run's fields, ordered by run id then trial index.  A store with no
 * matching trial gives the header alone.
 *
 * Numbers are written in the C locale whatever the process locale is.
 * The stream is flushed before returning so that write errors are seen;
 * a caller writing to a file must still check fclose().
 *
 * Returns 0, TB_ERR_IO if writing failed (disk full, stream not writable:
 * the message names the system error), or the store's error.
 */
int tb_export_csv(struct tb_store *store, const struct tb_store_filter *f,
		  FILE *out, struct tb_error *err);

#endif
