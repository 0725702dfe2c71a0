#!/usr/bin/env bash
# User models on firmware boards (docs/IMPORTER.md, "Running a user
# model"), through the CLI as a user runs them: `tinybench run --board B
# --model FILE.tflite` on a QEMU board builds the image that carries the
# model (scripts/build-firmware --model, into <build>/fw/<board>-model-
# <hash12>/, incremental once built), runs it, and every trial's output
# matches the host running the same blob.  Checked: the MLPerf Tiny
# reference kws_ref_model.tflite (int8) on qemu-m4 and qemu-rv32 and the
# official ad01_int8.tflite on qemu-m4; the run is stored with the blob's
# SHA-256 and the image's; the built-in image is left as it was; the
# built-in image, asked for the model, refuses it by name; a model too
# large for a board (vww_96_float on the nrf52840dk's 256 KiB of RAM) fails
# its build with the sizes, exit 2.  The models come from
# ../shared/mlperf-tiny/models ($TINYBENCH_SHARED): skipped (77) when
# absent, or without QEMU or the cross compilers.  The first run builds
# four images (about 12 s each on two cores), later runs only link-check
# them.
set -uo pipefail

cli=${TB_CLI:?TB_CLI not set}
build=${TB_BUILD_DIR:?}
fwroot=${TINYBENCH_FIRMWARE_DIR:-$build/fw}
models=${TINYBENCH_SHARED:-${TB_SOURCE_DIR:?}/../shared}/mlperf-tiny/models
for f in kws_ref_model.tflite ad01_int8.tflite vww_96_float.tflite; do
	if [ ! -f "$models/$f" ]; then
		echo "SKIP: $models/$f not found (the MLPerf Tiny reference models, ../shared/mlperf-tiny)"
		exit 77
	fi
done
for tool in qemu-system-arm qemu-system-riscv32 arm-none-eabi-gcc riscv64-unknown-elf-gcc; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool not found (scripts/quickstart setup installs it)"
		exit 77
	fi
done
export TINYBENCH_DAEMON=/nonexistent
# tmp, db, ok, bad, jget
. "$(dirname "${BASH_SOURCE[0]}")/test_lib.sh"

builtin=$fwroot/qemu-m4/tinybench-runner-qemu-m4.elf
before=$(sha256sum "$builtin" 2>/dev/null | cut -c1-64)

# run BOARD MODEL NAME: the model on the board, outputs checked.
run_model() {
	local b=$1 file=$2 name=$3 out=$tmp/$1-$3.json blob=$tmp/$3.tbnn sha start
	"$cli" model import "$models/$file" -o "$blob" >/dev/null || { bad "import $file"; return; }
	sha=$(sha256sum "$blob" | cut -c1-64)
	start=$(date +%s)
	if timeout 300 "$cli" run --board "$b" --model "$models/$file" --trials 2 \
		--min-time 0.01 --db "$db" --json >"$out" 2>"$tmp/err"; then
		ok "$b: $file ran ($(( $(date +%s) - start )) s with the build)"
	else
		bad "$b: $file failed: $(tail -5 "$tmp/err")"
		return
	fi
	[ "$(jget workload "$out")" = "$name" ] && ok "$b: workload named $name" ||
		bad "$b: workload named $(jget workload "$out"), not $name"
	[ "$(grep -c '"output_check": *"match"' "$out")" -eq 2 ] && ! grep -q '"mismatch"' "$out" &&
		ok "$b: $file outputs match the host" || bad "$b: $file outputs not checked or differ"
	[ "$(jget model_sha256 "$out")" = "$sha" ] && ok "$b: stored with the blob's sha256" ||
		bad "$b: model sha256 $(jget model_sha256 "$out"), blob $sha"
	[ "$(jget timing_method "$out")" = qemu-icount-instructions ] &&
		[ "$(jget firmware_sha256 "$out" | wc -c)" -eq 65 ] &&
		ok "$b: instruction counts, firmware sha256 stored" ||
		bad "$b: timing $(jget timing_method "$out"), firmware $(jget firmware_sha256 "$out")"
	[ -f "$build/fw/$b-model-${sha:0:12}/tinybench-runner-$b.elf" ] &&
		ok "$b: image in fw/$b-model-${sha:0:12}/" || bad "$b: no image in $build/fw/$b-model-${sha:0:12}/"
}

run_model qemu-m4 kws_ref_model.tflite kws_ref_model
run_model qemu-rv32 kws_ref_model.tflite kws_ref_model
run_model qemu-m4 ad01_int8.tflite ad01_int8

# The built-in image is untouched, and does not carry the model.
after=$(sha256sum "$builtin" 2>/dev/null | cut -c1-64)
[ "$before" = "$after" ] && ok "built-in qemu-m4 image unchanged" ||
	bad "built-in qemu-m4 image changed ($before -> $after)"
if [ -f "$builtin" ]; then
	timeout 60 "$cli" run --board qemu-m4 --model "$models/kws_ref_model.tflite" --trials 1 \
		--min-time 0.01 --db "$db" --firmware "$builtin" >/dev/null 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 3 ] && grep -q "does not have the model kws_ref_model (it has: kws01" "$tmp/err" &&
		ok "built-in image refuses the model: $(cat "$tmp/err")" ||
		bad "built-in image asked for the model: exit $rc: $(cat "$tmp/err")"
fi

# Too large for the board: the build says so, with the sizes.
timeout 300 "$cli" flash --board nrf52840dk --model "$models/vww_96_float.tflite" --dry-run \
	>/dev/null 2>"$tmp/err"
rc=$?
msg=$(grep 'does not fit' "$tmp/err")
[ "$rc" -eq 2 ] && [[ "$msg" == *"model vww_96_float does not fit nrf52840dk: its RAM of 262144 bytes overflows by "*"221184-byte arena, a 110592-byte input"* ]] &&
	ok "vww_96_float refused on nrf52840dk: $msg" || bad "vww_96_float on nrf52840dk: exit $rc: $(tail -3 "$tmp/err")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
