/*
 * tinybenchd.c - the daemon's executable; everything is in tbd_main.c.
 */
#include "tb_daemon.h"

int main(int argc, char **argv)
{
	return tb_daemon_main(argc, argv);
}
