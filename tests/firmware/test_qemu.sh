#!/usr/bin/env bash
# QEMU boards end to end through the CLI (issue 4): the firmware images
# come from scripts/build-firmware (scripts/quickstart test builds them
# first).  Checks, per board in $TB_QEMU_BOARDS (default: every QEMU
# board) and per built-in workload its image carries (the build's
# tbr_fw_workloads.c says which; $TB_QEMU_WORKLOADS narrows them): a run
# stores instruction counts, the firmware's flash/RAM and SHA-256, and
# every trial's output matches the host's; two runs of the same firmware
# give identical instruction counts; a workload the image does not carry
# is refused with a clear error; a hang (firmware hook hang-at=N) is
# caught by the timeout, QEMU is restarted, the trial is stored failed
# with the reason and the run goes on; an idle runner lets QEMU sleep;
# `tinybench results` shows the boards side by side.  A board whose image
# is missing is a failure, not a skip: CI must build them.  One inference
# per trial (--min-time 0.01 is below every workload's estimated
# latency), so the whole matrix takes about a minute.
set -uo pipefail

cli=${TB_CLI:?TB_CLI not set}
src=${TB_SOURCE_DIR:?}
fwroot=${TINYBENCH_FIRMWARE_DIR:-${TB_BUILD_DIR:?}/fw}
boards=${TB_QEMU_BOARDS:-qemu-m4 qemu-m7 qemu-m33 qemu-m55 qemu-rv32}
all_workloads="kws01 vww01 ad01 ic01"
only=${TB_QEMU_WORKLOADS:-$all_workloads}
# tmp, db, ok, bad, jget
. "$(dirname "${BASH_SOURCE[0]}")/test_lib.sh"

for b in $boards; do
	elf="$fwroot/$b/tinybench-runner-$b.elf"
	if [ ! -f "$elf" ]; then
		bad "$b: no firmware image $elf (run scripts/build-firmware $b)"
		continue
	fi
	# The workloads the image carries (scripts/build-firmware --workloads).
	carried=$(sed -n 's/.*Carries: *//p' \
		"$fwroot/$b/device_runner/firmware/tbr_fw_workloads.c" 2>/dev/null)
	[ -n "$carried" ] || carried=$all_workloads
	for w in $all_workloads; do
		case " $carried " in *" $w "*) continue ;; esac
		# Not carried: refused by name, exit 3 (not found), no QEMU hang.
		timeout 60 "$cli" run --board "$b" --workload "$w" --trials 1 --min-time 0.01 \
			--db "$db" --firmware "$elf" >/dev/null 2>"$tmp/err"
		rc=$?
		[ "$rc" -eq 3 ] && grep -q "does not have workload $w (it has: " "$tmp/err" &&
			ok "$b: $w not carried, refused: $(cat "$tmp/err")" ||
			bad "$b: $w not carried: exit $rc: $(cat "$tmp/err")"
	done
	for w in $carried; do
		case " $only " in *" $w "*) ;; *) continue ;; esac
		ticks=()
		for i in 1 2; do
			out=$tmp/$b-$w-$i.json
			if timeout 300 "$cli" run --board "$b" --workload "$w" --trials 2 \
				--min-time 0.01 --db "$db" --firmware "$elf" --json >"$out" 2>"$tmp/err"; then
				ok "$b: run $i of $w"
			else
				bad "$b: run $i of $w failed: $(cat "$tmp/err")"
				continue
			fi
			ticks+=("$(grep -o '"ticks": *[0-9]*' "$out" | tr -d ' ' | tr '\n' ' ')")
			[ "$(jget timing_method "$out")" = qemu-icount-instructions ] &&
				ok "$b: timing method qemu-icount-instructions" ||
				bad "$b: timing method is $(jget timing_method "$out")"
			[ "$(jget latency_kind "$out")" = estimate-at-nominal-clock ] &&
				ok "$b: latency labelled an estimate" || bad "$b: latency not labelled an estimate"
			fl=$(jget flash_bytes "$out"); ram=$(jget static_ram_bytes "$out")
			[ -n "$fl" ] && [ "$fl" -gt 1000 ] && [ -n "$ram" ] && [ "$ram" -gt 1000 ] &&
				ok "$b: firmware flash $fl B, static RAM $ram B" ||
				bad "$b: no firmware footprint ($fl, $ram)"
			[ "$(jget firmware_sha256 "$out" | wc -c)" -eq 65 ] && ok "$b: firmware sha256 stored" ||
				bad "$b: no firmware sha256"
			[ "$(grep -c '"output_check": *"match"' "$out")" -eq 2 ] &&
				! grep -q '"mismatch"' "$out" &&
				ok "$b: $w outputs match the host" || bad "$b: $w outputs differ from the host"
		done
		if [ ${#ticks[@]} -eq 2 ] && [ -n "${ticks[0]}" ] && [ "${ticks[0]}" = "${ticks[1]}" ]; then
			ok "$b: $w identical instruction counts across two runs (${ticks[0]})"
		else
			bad "$b: $w instruction counts differ across runs: '${ticks[0]:-}' vs '${ticks[1]:-}'"
		fi
	done

	# A hang: INFER number 3 after boot spins forever (calibration is #1,
	# trial 1 #2).  One attempt per trial, so the trial is stored failed.
	out=$tmp/$b-hang.json
	start=$(date +%s)
	timeout 300 "$cli" run --board "$b" --workload kws --trials 3 --min-time 0.2 \
		--db "$db" --firmware "$elf" --runner-arg hang-at=3 --attempts 1 \
		--timeout 2000 --json >"$out" 2>"$tmp/err"
	rc=$?
	took=$(( $(date +%s) - start ))
	# the run and the hung trial are "failed", the other two trials "ok"
	nfail=$(grep -c '"status": *"failed"' "$out")
	nok=$(grep -c '"status": *"ok"' "$out")
	if [ "$rc" -eq 1 ] && [ "$nfail" -eq 2 ] && [ "$nok" -eq 2 ] &&
	   grep -q '"reason": *"trial 2: device did not finish' "$out" && [ "$took" -lt 60 ]; then
		ok "$b: hang caught by the timeout, trial stored failed, run went on ($took s)"
	else
		bad "$b: hang handling: exit $rc, $nfail failed, $nok ok, ${took}s: $(head -c 2000 "$out") $(cat "$tmp/err")"
	fi
done

# An idle runner waits with WFI: QEMU must not burn a core.
b=${boards%% *}
elf="$fwroot/$b/tinybench-runner-$b.elf"
if [ -f "$elf" ]; then
	machine=$(sed -n 's/^machine *= *//p' "$src/boards/$b.ini")
	prog=$(sed -n 's/^program *= *//p' "$src/boards/$b.ini")
	extra=$(sed -n 's/^extra *= *//p' "$src/boards/$b.ini")
	# shellcheck disable=SC2086
	"$prog" -M "$machine" -nodefaults -display none -monitor none -icount shift=7 \
		-chardev socket,id=s0,path="$tmp/idle.sock",server=on,wait=off \
		-serial chardev:s0 -kernel "$elf" $extra >/dev/null 2>&1 &
	qpid=$!
	sleep 3
	cpu=$(ps -o times= -p "$qpid" | tr -d ' ')
	sleep 3
	cpu2=$(ps -o times= -p "$qpid" | tr -d ' ')
	kill "$qpid"; wait "$qpid" 2>/dev/null
	used=$((cpu2 - cpu))
	[ "$used" -le 1 ] && ok "$b: idle QEMU used ${used}s of CPU in 3 s (WFI)" ||
		bad "$b: idle QEMU used ${used}s of CPU in 3 s: the runner is not sleeping"
fi

# Side by side.
"$cli" results --db "$db" --workload kws01 >"$tmp/results" 2>&1
for b in $boards; do
	grep -q " $b .*est@" "$tmp/results" && ok "results: $b listed with its estimate label" ||
		bad "results: $b missing: $(cat "$tmp/results")"
done
grep -q "instr/inf" "$tmp/results" && ok "results: instructions column" || bad "results: no instructions column"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
