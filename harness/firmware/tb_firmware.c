/*
 * tb_firmware.c - locate, build and inspect runner firmware (libelf).
 */
#include "tb_firmware.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <sha2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tb_config.h"

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool name_ok(const char *name)
{
	if (!name || !*name || strlen(name) > 64)
		return false;
	for (const char *s = name; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return name[0] != '.';
}

static int sha256_file(int fd, const char *path, char out[65],
		       struct tb_error *err);

/* tinybench-runner-<name>.elf in <root>/<sub>/ for the first root that has
 * it (tb_firmware_locate()). */
static int locate_in(const char *name, const char *sub, char *out, size_t len,
		     struct tb_error *err)
{
	const char *env = getenv("TINYBENCH_FIRMWARE_DIR");
	char dirs[3][PATH_MAX], looked[TB_ERROR_MSG_MAX] = "";
	size_t n = 0, off = 0;

	if (env && *env)
		snprintf(dirs[n++], PATH_MAX, "%s", env);
	snprintf(dirs[n++], PATH_MAX, "%s/fw", TB_BUILD_DIR);
	snprintf(dirs[n++], PATH_MAX, "%s/build/fw", TB_SOURCE_DIR);
	for (size_t i = 0; i < n; i++) {
		if ((size_t)snprintf(out, len, "%s/%s/tinybench-runner-%s.elf",
				     dirs[i], sub, name) < len && is_file(out))
			return 0;
		if (off < sizeof(looked))
			off += (size_t)snprintf(looked + off, sizeof(looked) - off,
						"%s%s/%s", off ? ", " : "", dirs[i], sub);
	}
	out[0] = '\0';
	return tb_error_set(err, TB_ERR_NOTFOUND,
			    "no firmware image tinybench-runner-%s.elf in %s; build it with scripts/build-firmware %s, or pass --firmware FILE",
			    name, looked, name);
}

int tb_firmware_locate(const char *name, char *out, size_t len,
		       struct tb_error *err)
{
	if (!name_ok(name) || !out || !len)
		return tb_error_set(err, TB_ERR_ARG, "bad firmware name '%s'",
				    name ? name : "");
	return locate_in(name, name, out, len, err);
}

static const char *script_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/scripts/build-firmware", TB_SOURCE_DIR);
	return buf;
}

/* Run scripts/build-firmware --out-root <build dir>/fw ARGS..., its output
 * on our standard error. */
static int build_script(const char *name, const char *const *args,
			struct tb_error *err)
{
	char script[PATH_MAX], root[PATH_MAX];
	const char *argv[12];
	size_t n = 0;
	int status;
	pid_t pid;

	script_path(script, sizeof(script));
	snprintf(root, sizeof(root), "%s/fw", TB_BUILD_DIR);
	if (access(script, X_OK) < 0)
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "cannot build firmware %s: %s is missing (an installed tinybench builds no firmware; pass --firmware FILE)",
				    name, script);
	argv[n++] = script;
	argv[n++] = "--out-root";
	argv[n++] = root;
	while (*args && n < sizeof(argv) / sizeof(argv[0]) - 1)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		return tb_error_set(err, TB_ERR_IO, "fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(2, 1);
		execv(script, (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return tb_error_set(err, TB_ERR_IO, "waitpid: %s", strerror(errno));
	/* Its exit status 2: a bad model, or one that does not fit the
	 * board; 3: not found (a file, a board, the host CLI). */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return tb_error_set(err, !WIFEXITED(status) ? TB_ERR_IO :
				    WEXITSTATUS(status) == 2 ? TB_ERR_FORMAT :
				    WEXITSTATUS(status) == 3 ? TB_ERR_NOTFOUND : TB_ERR_IO,
				    "scripts/build-firmware %s failed (%s %d); see its output above",
				    name, WIFEXITED(status) ? "exit status" : "signal",
				    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 0;
}

int tb_firmware_build(const char *name, char *out, size_t len,
		      struct tb_error *err)
{
	const char *args[] = { name, NULL };
	int rc;

	if (!name_ok(name))
		return tb_error_set(err, TB_ERR_ARG, "bad firmware name '%s'",
				    name ? name : "");
	rc = build_script(name, args, err);
	return rc ? rc : tb_firmware_locate(name, out, len, err);
}

int tb_firmware_model(const char *name, const char *blob, const char *model_name,
		      bool build, char *out, size_t len, struct tb_error *err)
{
	const char *args[] = { "--model", blob, "--model-name", model_name, name, NULL };
	char sub[PATH_MAX], hash[65], path[PATH_MAX];
	bool found;
	int fd, rc;

	if (!name_ok(name) || !blob || !model_name || !out || !len)
		return tb_error_set(err, TB_ERR_ARG, "bad firmware name '%s'",
				    name ? name : "");
	fd = open(blob, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tb_error_set(err, errno == ENOENT ? TB_ERR_NOTFOUND : TB_ERR_IO,
				    "model %s: %s", blob, strerror(errno));
	rc = sha256_file(fd, blob, hash, err);
	close(fd);
	if (rc)
		return rc;
	snprintf(sub, sizeof(sub), "%s-model-%.12s", name, hash);
	found = locate_in(name, sub, out, len, NULL) == 0;
	if (found && !build)
		return 0;
	if (found && access(script_path(path, sizeof(path)), X_OK) < 0)
		return 0;       /* installed: no build script, the image is there */
	rc = build_script(name, args, err);
	return rc ? rc : locate_in(name, sub, out, len, err);
}

/* ---- ELF --------------------------------------------------------------- */

static int sha256_file(int fd, const char *path, char out[65],
		       struct tb_error *err)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t buf[65536], d[SHA256_DIGEST_LENGTH];
	SHA2_CTX ctx;
	ssize_t n;

	SHA256Init(&ctx);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return tb_error_set(err, TB_ERR_IO, "%s: %s", path, strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return tb_error_set(err, TB_ERR_IO, "%s: %s", path, strerror(errno));
		SHA256Update(&ctx, buf, (size_t)n);
	}
	SHA256Final(d, &ctx);
	for (size_t i = 0; i < sizeof(d); i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
	return 0;
}

/* Open path as ELF: *fd and *elf on success. */
static int elf_open(const char *path, int *fd, Elf **elf, struct tb_error *err)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return tb_error_set(err, TB_ERR_IO, "libelf: %s", elf_errmsg(-1));
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return tb_error_set(err, errno == ENOENT ? TB_ERR_NOTFOUND : TB_ERR_IO,
				    "firmware %s: %s", path, strerror(errno));
	*elf = elf_begin(*fd, ELF_C_READ, NULL);
	if (!*elf || elf_kind(*elf) != ELF_K_ELF) {
		if (*elf)
			elf_end(*elf);
		close(*fd);
		return tb_error_set(err, TB_ERR_FORMAT, "firmware %s is not an ELF file",
				    path);
	}
	return 0;
}

int tb_firmware_info(const char *path, struct tb_firmware_info *info,
		     struct tb_error *err)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf *elf;
	int fd, rc;

	memset(info, 0, sizeof(*info));
	rc = elf_open(path, &fd, &elf, err);
	if (rc)
		return rc;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC))
			continue;
		if (sh.sh_type == SHT_NOBITS)
			info->bss_bytes += sh.sh_size;
		else if (sh.sh_flags & SHF_WRITE)
			info->data_bytes += sh.sh_size;
		else if (sh.sh_flags & SHF_EXECINSTR)
			info->text_bytes += sh.sh_size;
		else
			info->rodata_bytes += sh.sh_size;
	}
	elf_end(elf);
	info->flash_bytes = info->text_bytes + info->rodata_bytes + info->data_bytes;
	info->static_ram_bytes = info->data_bytes + info->bss_bytes;
	rc = sha256_file(fd, path, info->sha256, err);
	close(fd);
	return rc;
}

int tb_firmware_symbol(const char *path, const char *symbol, uint64_t *addr,
		       uint64_t *size, struct tb_error *err)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Sym sym;
	Elf_Data *data;
	Elf *elf;
	int fd, rc = 1;

	if (elf_open(path, &fd, &elf, err))
		return err ? err->code : TB_ERR_IO;
	while (rc == 1 && (scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && sh.sh_entsize &&
		     i < sh.sh_size / sh.sh_entsize; i++) {
			const char *n;

			if (!gelf_getsym(data, (int)i, &sym))
				continue;
			n = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (n && !strcmp(n, symbol)) {
				*addr = sym.st_value;
				if (size)
					*size = sym.st_size;
				rc = 0;
				break;
			}
		}
	}
	elf_end(elf);
	close(fd);
	if (rc)
		return tb_error_set(err, TB_ERR_NOTFOUND, "firmware %s has no symbol %s",
				    path, symbol);
	return 0;
}
