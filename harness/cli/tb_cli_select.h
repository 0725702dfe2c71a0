/*
 * tb_cli_select.h - the run-selection options shared by `results`,
 * `export`, `compare`, `report` and `check`:
 *
 *   --db FILE  -b/--board B  -w/--workload W  --run IDS (repeatable: 12,
 *   3,5,9, 10-20)  --tag KEY[=VALUE] (repeatable, all must match)
 *   --since TIME  --until TIME
 *
 * Every value is checked when the option is read, with a message that
 * says what is accepted, before the database is opened.
 */
#ifndef TB_CLI_SELECT_H
#define TB_CLI_SELECT_H

#include <getopt.h>

#include "tb_select.h"
#include "tb_store.h"

enum {
	TB_SEL_OPT_DB = 1000,
	TB_SEL_OPT_RUN,
	TB_SEL_OPT_TAG,
	TB_SEL_OPT_SINCE,
	TB_SEL_OPT_UNTIL,
};

#define TB_CLI_SELECT_OPTIONS						\
	{ "db", required_argument, NULL, TB_SEL_OPT_DB },		\
	{ "board", required_argument, NULL, 'b' },			\
	{ "workload", required_argument, NULL, 'w' },			\
	{ "run", required_argument, NULL, TB_SEL_OPT_RUN },		\
	{ "tag", required_argument, NULL, TB_SEL_OPT_TAG },		\
	{ "since", required_argument, NULL, TB_SEL_OPT_SINCE },		\
	{ "until", required_argument, NULL, TB_SEL_OPT_UNTIL }

/* The help lines for those options. */
#define TB_CLI_SELECT_HELP						\
	"      --db FILE          results database (default\n"		\
	"                         $XDG_DATA_HOME/tinybench/results.db)\n"	\
	"  -b, --board B          only runs on board B\n"			\
	"  -w, --workload W       only runs of workload W (aliases: kws, vww, ad, ic)\n" \
	"      --run IDS          only these runs: 12, 3,5,9, 10-20, 10- (repeatable)\n" \
	"      --tag KEY[=VALUE]  only runs carrying the tag (with that value);\n" \
	"                         repeatable: all must match\n"		\
	"      --since TIME       runs started at or after TIME: 2024-05-01,\n" \
	"                         2024-05-01T13:45[Z|+02:00] (UTC by default),\n" \
	"                         @UNIX_SECONDS, or an age: 30m, 36h, 7d, 2w\n" \
	"      --until TIME       runs started before TIME (same forms)\n"

struct tb_cli_sel {
	const char *db;
	struct tb_select sel;
	char workload_buf[64];		/* canonical name of an alias */
	char text[512];			/* the filters, for a report header */
};

/*
 * Handle option c (with its argument) if it is a selection option.
 * Returns 1 when handled, 0 when c is not a selection option, and 2 after
 * printing a usage error (the command should exit with it).
 */
int tb_cli_select_opt(const char *cmd, int c, const char *arg,
		      struct tb_cli_sel *s);

/* Open an existing database (--db or the default): reading never creates
 * one.  TB_ERR_NOTFOUND naming the path when it does not exist. */
int tb_cli_open_db(const char *db, struct tb_store **st, struct tb_error *err);

/* TB_ERR_NOTFOUND "the results database ... has no runs" when it is
 * empty; 0 otherwise. */
int tb_cli_require_runs(struct tb_store *st, struct tb_error *err);

/* Unix time now, in milliseconds. */
int64_t tb_cli_now_ms(void);

#endif
