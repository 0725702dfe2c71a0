/*
 * tb_store_priv.h - for the store's own files (tb_store_*.c): the SQLite
 * handle behind a struct tb_store.  Not for other layers.
 */
#ifndef TB_STORE_PRIV_H
#define TB_STORE_PRIV_H

#include <sqlite3.h>

#include "tb_store.h"

sqlite3 *tb_store_sqlite(struct tb_store *s);

#endif
