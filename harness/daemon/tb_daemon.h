/*
 * tb_daemon.h - tinybenchd, the host daemon: a persistent job queue that
 * owns the boards attached to this host (docs/DAEMON.md).
 *
 * The daemon is its own program (`tinybenchd`) and also `tinybench daemon`;
 * both call tb_daemon_main().  Clients talk to it over its socket API; the
 * client side for the CLI is tb_client.h.
 */
#ifndef TB_DAEMON_H
#define TB_DAEMON_H

/* Parse the daemon's command line (argv[0] is the program or "daemon"),
 * run until SIGTERM/SIGINT, return the process exit code. */
int tb_daemon_main(int argc, char **argv);

#endif
