#!/usr/bin/env bash
# test_nightly.sh - the nightly flow (scripts/nightly) for real, three
# nights in a fresh database, and the regression gate proven both ways:
#
#   night 1  normal runner   no baseline yet: passes, becomes the baseline
#   night 2  normal runner   the gate passes (JUnit: 0 failures)
#   night 3  slowed down     the gate fails (exit 1; JUnit: a latency
#                            failure per workload), and is not promoted
#
# Boards: $TB_NIGHTLY_BOARDS (default sim; meson runs it twice: qemu-m4 +
# qemu-rv32 as `nightly_gate`, sim as `nightly_gate_sim`).  Firmware is
# built under $TB_BUILD_DIR/fw, where scripts/quickstart test has built it
# already (the slowed build goes to a directory of its own).
#
# On QEMU boards (instruction counts: deterministic) the slowdown is the
# firmware built with -O0 appended to its compiler flags (kernels
# included) and the latency limit 5 %.  On sim the slowdown is the native
# runner's test hook (--fault slow=MS, 20 ms per inference) and the limit
# 100 %: the host clock is noisy under load (a busy 2-core machine has
# doubled the median of one workload between two normal nights), while
# the slowdown makes every workload at least 5 times slower.
#
# Each night's artifacts (trials.csv, runs.csv, report.html, junit.xml)
# are checked: CSV rows and columns, JUnit well-formed with the right
# counts, the report well-formed with its trend charts (and rendered by
# headless Chromium when it is installed).
#
# Env: TB_CLI, TB_SOURCE_DIR; TB_NIGHTLY_BOARDS, TB_NIGHTLY_WORKLOADS;
# TB_NIGHTLY_ENERGY (e.g. default: measure energy too -- the emulated
# meter on sim -- with the same limit as latency); TB_ARTIFACT_DIR (keep
# the last night's artifacts there).
set -uo pipefail

cli=${TB_CLI:?}
src=${TB_SOURCE_DIR:?}
boards=${TB_NIGHTLY_BOARDS:-sim}
workloads=${TB_NIGHTLY_WORKLOADS:-kws01 ad01 ic01}
energy=${TB_NIGHTLY_ENERGY:-}
energy_args=()
[ -n "$energy" ] && energy_args=(--energy "$energy")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { printf 'ok   %s\n' "$*"; }
bad() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }

qemu=0
for b in $boards; do [[ $b == qemu-* ]] && qemu=1; done
if [ "$qemu" = 1 ]; then
	for t in qemu-system-arm arm-none-eabi-gcc; do
		if ! command -v "$t" >/dev/null; then
			echo "skip: $t not installed (scripts/quickstart setup installs the QEMU boards' tools)"
			exit 77
		fi
	done
	slow=(--firmware-cflags -O0)
	lat=5%
	trials=3
	min_time=0.05
else
	slow=(--run-arg=--runner-arg=--fault --run-arg=--runner-arg=slow=20)
	lat=100%
	trials=3
	min_time=0.2
fi
n_boards=$(wc -w <<<"$boards")
n_wl=$(wc -w <<<"$workloads")
cells=$((n_boards * n_wl))

night() {	# NAME EXPECTED_EXIT ARGS...
	local name=$1 want=$2 rc
	shift 2
	"$src/scripts/nightly" --boards "$boards" --workloads "$workloads" \
		--db "$tmp/results.db" --out "$tmp/$name" --stamp "$name" \
		--trials "$trials" --min-time "$min_time" --tinybench "$cli" \
		--fw-root "${TB_BUILD_DIR:-$tmp}/fw" --promote always \
		--max-latency-regression "$lat" --max-energy-regression "$lat" \
		--max-ram-growth 0 "${energy_args[@]}" "$@" >"$tmp/$name.log" 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then
		ok "night $name exits $rc"
	else
		bad "night $name exits $rc, want $want:"
		tail -n 30 "$tmp/$name.log"
		[ -f "$tmp/$name/runs.log" ] && tail -n 20 "$tmp/$name/runs.log"
		for f in "$tmp/$name"/build-*.log; do
			[ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }
		done
	fi
}

artifacts() {	# NAME
	local d=$tmp/$1 n
	for f in trials.csv runs.csv runs.md report.html junit.xml; do
		[ -s "$d/$f" ] || bad "night $1: no $f"
	done
	python3 - "$d/trials.csv" "$d/runs.csv" "$cells" "$trials" <<'EOF' &&
import csv, sys
t = list(csv.DictReader(open(sys.argv[1], newline="")))
r = list(csv.DictReader(open(sys.argv[2], newline="")))
cells, trials = int(sys.argv[3]), int(sys.argv[4])
assert len(r) == cells, "%d runs, want %d" % (len(r), cells)
assert len(t) == cells * trials, "%d trials, want %d" % (len(t), cells * trials)
assert all("nightly=" in x["tags"] and "git.commit=" in x["tags"] for x in r), "tags"
assert all(x["run_status"] == "ok" for x in r), "runs ok"
EOF
		ok "night $1: CSV has $cells runs x $trials trials, tagged" || bad "night $1: CSV"
	if command -v xmllint >/dev/null; then
		xmllint --noout "$d/report.html" && xmllint --noout "$d/junit.xml" &&
			ok "night $1: report and JUnit well-formed" || bad "night $1: XML"
		n=$(xmllint --xpath 'count(//testcase)' "$d/junit.xml")
		[ "$n" = "$(xmllint --xpath 'string(/testsuites/@tests)' "$d/junit.xml")" ] &&
			[ "$(xmllint --xpath 'count(//testcase/failure)' "$d/junit.xml")" = \
			  "$(xmllint --xpath 'string(/testsuites/@failures)' "$d/junit.xml")" ] &&
			ok "night $1: JUnit counts agree ($n cases)" || bad "night $1: JUnit counts"
	fi
}

failures() { xmllint --xpath 'count(//testcase/failure)' "$tmp/$1/junit.xml"; }

night n1 0
artifacts n1
grep -q 'no baseline' "$tmp/n1.log" && ok "night n1: no baseline yet, said so" || bad "n1: baseline message"

# Night 2 runs the image night 1 built (--no-build): in a tree that is
# being edited, a rebuild could pick up a real change to the firmware.
night n2 0 --no-build
artifacts n2
if command -v xmllint >/dev/null; then
	n=$(xmllint --xpath 'count(//testcase)' "$tmp/n2/junit.xml")
	[ "$n" = $((cells * 3)) ] && [ "$(failures n2)" = 0 ] &&
		ok "night n2: gate passes, $n cases (latency, energy, ram per board x workload)" ||
		bad "night n2: $n cases, $(failures n2) failures: $(cat "$tmp/n2/gate.txt")"
	n=$(xmllint --xpath "count(//*[local-name()='svg'][@data-chart='trend'])" "$tmp/n2/report.html")
	[ "$n" = "$cells" ] && ok "night n2: report has a trend chart per board x workload" ||
		bad "night n2: $n trend charts, want $cells"
fi

night n3 1 "${slow[@]}"
artifacts n3
if command -v xmllint >/dev/null; then
	n=$(xmllint --xpath 'count(//testcase[@name="latency"]/failure)' "$tmp/n3/junit.xml")
	[ "$n" = "$cells" ] && ok "night n3: gate fails on latency for all $cells board x workload" ||
		bad "night n3: $n latency failures, want $cells: $(cat "$tmp/n3/gate.txt")"
fi
grep -q 'REGRESSION' "$tmp/n3/gate.txt" && grep -q 'latency regression' "$tmp/n3/gate.txt" &&
	ok "night n3: the gate says why" || bad "night n3: gate output $(cat "$tmp/n3/gate.txt")"
promoted=$("$cli" export --db "$tmp/results.db" --format csv --per run --tag gate.baseline=n3 | wc -l)
[ "$promoted" = 1 ] && ok "night n3 (failed) is not the new baseline" || bad "n3 was promoted"

browser=$(command -v chromium || true)
if [ -n "$browser" ]; then
	prof=$(mktemp -d "$tmp/prof.XXXXXX")
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$prof" --force-device-scale-factor=0.5 --window-size=1100,4000 \
		--screenshot="$tmp/n3/report.png" "file://$tmp/n3/report.html" >/dev/null 2>&1
	# The trend line's colour: drawn for measured and estimated latency.
	python3 "$src/tests/reports/png_check.py" "$tmp/n3/report.png" --expect-colour 1f4e99:60 &&
		ok "night n3: report renders in Chromium" || bad "night n3: screenshot"
fi
if [ -n "${TB_ARTIFACT_DIR:-}" ]; then
	mkdir -p "$TB_ARTIFACT_DIR" && rm -rf "$TB_ARTIFACT_DIR/nightly-n3" &&
		cp -r "$tmp/n3" "$TB_ARTIFACT_DIR/nightly-n3" &&
		cp "$tmp/n2/junit.xml" "$TB_ARTIFACT_DIR/nightly-n2-junit.xml"
fi

echo "boards: $boards; workloads: $workloads; $fails failure(s)"
[ "$fails" = 0 ]
