/*
 * tbr_fw_libc.c - memcpy and memset for the Arm footprint build (no
 * workloads, bench/firmware-footprint): plain byte loops of a few dozen
 * bytes.  newlib-nano's are its unrolled Cortex-M versions, 470 bytes
 * together, and the runner alone only ever copies and clears a few hundred
 * bytes (frames, its state, the small buffers of that build).  An image
 * with workloads links the C library's: the kernels copy and clear whole
 * tensors.  (picolibc's, on qemu-rv32, are already 38 bytes.)
 */
#include <stddef.h>
#include <string.h>

/* no-tree-loop-distribute-patterns: GCC would otherwise recognise the
 * loops and compile them into calls of memcpy/memset themselves. */
__attribute__((used, optimize("no-tree-loop-distribute-patterns")))
void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

__attribute__((used, optimize("no-tree-loop-distribute-patterns")))
void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}
