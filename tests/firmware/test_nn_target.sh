#!/usr/bin/env bash
# The kernel check image on QEMU (tests/firmware/nn/tb_nn_check.c): every
# fast path of the int8 kernels against the plain C kernel, on the target's
# own instructions: MVE on qemu-m55 (the host cannot run them), the DSP
# extension on qemu-m4, -m7, -m33.  The images come from the firmware
# builds (scripts/build-firmware: <build>/fw/<board>/).  Skips (77) when
# qemu-system-arm or arm-none-eabi-gcc is missing; with both, a missing
# qemu-m55 image is a failure (CI must build it); the other boards' are
# checked when built.
set -uo pipefail

fwroot=${TINYBENCH_FIRMWARE_DIR:-${TB_BUILD_DIR:?}/fw}
for tool in qemu-system-arm arm-none-eabi-gcc; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool not found (scripts/quickstart setup installs it)"
		exit 77
	fi
done

declare -A machine=([qemu-m4]=mps2-an386 [qemu-m7]=mps2-an500 [qemu-m33]=mps2-an505
	[qemu-m55]=mps3-an547)
fail=0 ran=0
for b in qemu-m55 qemu-m4 qemu-m7 qemu-m33; do
	elf=$fwroot/$b/tests/firmware/nn/tb-nn-check-$b.elf
	if [ ! -f "$elf" ]; then
		if [ "$b" = qemu-m55 ]; then
			echo "FAIL: $b: no kernel check image $elf (scripts/build-firmware $b)"
			fail=1
		fi
		continue
	fi
	ran=$((ran + 1))
	# Semihosting reports the result and ends QEMU with its exit code.
	timeout 120 qemu-system-arm -M "${machine[$b]}" -nodefaults -display none \
		-monitor none -serial none -nic none -icount shift=7 \
		-semihosting-config enable=on,target=native -kernel "$elf"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "ok: $b kernel check passed"
	else
		echo "FAIL: $b kernel check: exit $rc (124: timed out)"
		fail=1
	fi
done
[ "$ran" -gt 0 ] || fail=1
exit $fail
