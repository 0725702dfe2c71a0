/*
 * cmd_flash.c - `tinybench flash`: build a board's runner firmware and
 * write it to the board with the board file's [flash] command.
 */
#include "tb_board.h"
#include "tb_cli.h"
#include "tb_firmware.h"
#include "tb_session.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench flash --board BOARD [--port PORT] [--firmware FILE | --model FILE]\n"
		"                       [--dry-run]\n"
		"\n"
		"Build the board's runner firmware (scripts/build-firmware) and run the\n"
		"board file's [flash] command on it.  A QEMU board is only built: tinybench\n"
		"starts QEMU with the image on every run.\n"
		"\n"
		"  -b, --board BOARD    board name (`tinybench boards`)\n"
		"  -p, --port PORT      serial port, for commands that use {port}\n"
		"      --firmware FILE  flash this image instead of building one\n"
		"      --model FILE     build and flash an image that carries this model\n"
		"                       (.tflite, imported, or .tbnn) instead of the\n"
		"                       built-in workloads; then `run --model FILE`\n"
		"  -n, --dry-run        build and print the command, do not run it\n"
		"  -h, --help           this help\n");
}

/* The .bin next to the .elf build/fw/<fw>/tinybench-runner-<fw>.elf. */
static int bin_path(const char *elf, char *out, size_t len, struct tb_error *err)
{
	size_t n = strlen(elf);

	if (n < 4 || strcmp(elf + n - 4, ".elf") || n + 1 > len)
		return tb_error_set(err, TB_ERR_ARG, "%s: not a .elf path", elf);
	memcpy(out, elf, n - 4);
	memcpy(out + n - 4, ".bin", 5);
	if (access(out, R_OK) < 0)
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "the board's flasher wants a raw image and %s is missing",
				    out);
	return 0;
}

static int run_argv(char **argv, struct tb_error *err)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return tb_error_set(err, TB_ERR_IO, "fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "tinybench flash: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return tb_error_set(err, TB_ERR_IO, "waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return tb_error_set(err, TB_ERR_DEVICE, "flash command %s failed (%s %d)",
			    argv[0], WIFEXITED(status) ? "exit status" : "signal",
			    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

int tb_cmd_flash(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "board", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "firmware", required_argument, NULL, 'f' },
		{ "model", required_argument, NULL, 'm' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *board_name = NULL, *port = NULL, *firmware = NULL, *model = NULL;
	struct tb_board_registry *reg = NULL;
	const struct tb_board *b;
	struct tb_error err = { 0 };
	char elf[4096], image[4096], blob[4096] = "", name[17];
	char **cmd = NULL;
	int dry = 0, c, rc, blob_tmp = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "b:p:nh", opts, NULL)) != -1) {
		switch (c) {
		case 'b': board_name = optarg; break;
		case 'p': port = optarg; break;
		case 'f': firmware = optarg; break;
		case 'm': model = optarg; break;
		case 'n': dry = 1; break;
		case 'h': usage(stdout); return 0;
		default: return tb_cli_usage_error("flash", "bad option");
		}
	}
	if (optind < argc)
		return tb_cli_usage_error("flash", "unexpected argument '%s'", argv[optind]);
	if (!board_name)
		return tb_cli_usage_error("flash", "--board is required (see `tinybench boards`)");
	if (firmware && model)
		return tb_cli_usage_error("flash", "give --firmware or --model, not both");
	rc = tb_board_registry_new(&reg, &err);
	if (!rc)
		rc = tb_board_registry_load_default(reg, &err);
	if (!rc)
		rc = tb_board_registry_find(reg, board_name, &b, &err);
	if (rc)
		goto out;
	if (b->transport == TB_BOARD_TRANSPORT_SIM) {
		rc = tb_error_set(&err, TB_ERR_ARG,
				  "board '%s' is the native runner: there is no firmware to flash",
				  b->name);
		goto out;
	}
	if (firmware) {
		rc = snprintf(elf, sizeof(elf), "%s", firmware) >= (int)sizeof(elf) ?
			tb_error_set(&err, TB_ERR_ARG, "--firmware path too long") : 0;
	} else if (model) {
		/* Named as `run --model` names it, so that a run finds it. */
		rc = tb_cli_model_blob_file(model, blob, sizeof(blob), &blob_tmp, &err);
		if (!rc) {
			tb_session_model_name(blob, name, sizeof(name));
			rc = tb_firmware_model(b->firmware, blob, name, true, elf,
					       sizeof(elf), &err);
		}
	} else {
		rc = tb_firmware_build(b->firmware, elf, sizeof(elf), &err);
	}
	if (rc)
		goto out;
	if (b->transport == TB_BOARD_TRANSPORT_QEMU) {
		printf("%s: built %s (QEMU boards run it directly; nothing to flash)\n",
		       b->name, elf);
		goto out;
	}
	if (!b->flash_argv) {
		rc = tb_error_set(&err, TB_ERR_ARG,
				  "board '%s' has no [flash] command in %s; the image is %s",
				  b->name, b->path, elf);
		goto out;
	}
	if (b->flash_image == TB_BOARD_IMAGE_BIN)
		rc = bin_path(elf, image, sizeof(image), &err);
	else
		snprintf(image, sizeof(image), "%s", elf);
	if (!rc) {
		struct tb_board_vars vars = {
			.port = port, .image = image, .board = b->name, .baud = b->baud,
		};

		rc = tb_board_command_expand(b->flash_argv, &vars, &cmd, &err);
		if (rc == TB_ERR_ARG && !port)
			tb_error_prefix(&err, "(pass --port) ");
	}
	if (rc)
		goto out;
	printf("%s: flashing %s:", b->name, image);
	for (size_t i = 0; cmd[i]; i++)
		printf(" %s", cmd[i]);
	printf("\n");
	fflush(stdout);
	if (!dry)
		rc = run_argv(cmd, &err);
out:
	if (blob_tmp)
		tb_cli_model_blob_remove(blob);
	tb_board_argv_free(cmd);
	tb_board_registry_free(reg);
	return rc ? tb_cli_fail(&err) : 0;
}
