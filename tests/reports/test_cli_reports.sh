#!/usr/bin/env bash
# test_cli_reports.sh - the reporting commands end to end, on a fixture
# database (tb-report-fixture: sim, QEMU-like and hardware-like boards over
# six nights):
#
#   export   CSV per trial / per run re-read with Python's csv module, the
#            header equal to the column tables of docs/EXPORT.md; JSON
#            parsed; Markdown rows
#   compare  text, CSV, JSON; estimates and emulated energy flagged
#   check    passes on normal nights, fails on a slowed-down one; the JUnit
#            file is well-formed and its counts agree with its test cases
#   report   well-formed XML (xmllint), every chart present, rendered by
#            headless Chromium to a PNG that is checked for content -- and
#            the same check rejects a page whose charts are removed
#   errors   malformed filters, unknown baseline, empty or missing
#            database, malformed limits: a message and the documented exit
#            code
#
# Env: TB_CLI, TB_FIXTURE, TB_SOURCE_DIR; TB_REQUIRE_BROWSER=1 makes a
# missing chromium/xmllint a failure instead of a skip (CI sets it).
set -uo pipefail

cli=${TB_CLI:?}
fixture=${TB_FIXTURE:?}
src=${TB_SOURCE_DIR:?}
here="$src/tests/reports"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

ok() { printf 'ok   %s\n' "$*"; }
bad() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }
# expect CODE PATTERN CMD...: exit code CODE and PATTERN in stderr+stdout.
expect() {
	local want=$1 pat=$2 got
	shift 2
	"$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" != "$want" ]; then
		bad "$* -> exit $got, want $want: $(head -c 400 "$tmp/out")"
	elif ! grep -qiE -- "$pat" "$tmp/out"; then
		bad "$* -> message lacks /$pat/: $(head -c 400 "$tmp/out")"
	else
		ok "$* -> $want"
	fi
}

db="$tmp/f.db"
"$fixture" "$db" || { echo "fixture failed"; exit 1; }
slowdb="$tmp/slow.db"
"$fixture" "$slowdb" --slow-last || { echo "fixture failed"; exit 1; }

# ------------------------------------------------------------ export

"$cli" export --db "$db" --format csv -o "$tmp/trials.csv" || bad "export csv"
"$cli" export --db "$db" --format csv --per run -o "$tmp/runs.csv" || bad "export csv per run"
python3 - "$tmp/trials.csv" "$tmp/runs.csv" "$src/docs/EXPORT.md" <<'EOF' && ok "CSV re-read: documented columns, one row per trial / run" || bad "CSV re-read"
import csv, re, sys
trials, runs, doc = sys.argv[1:4]
text = open(doc, encoding="utf-8").read()
# The column tables: "| 1 | `run_id` | ..." rows, per section.
sections = re.split(r"\n## ", text)
def cols(title):
    for s in sections:
        if s.startswith(title):
            return re.findall(r"^\| *\d+ *\| *`([a-z0-9_]+)`", s, re.M)
    raise SystemExit("docs/EXPORT.md has no section " + title)
want_trial, want_run = cols("Columns"), cols("One row per run")
for path, want, nrows in ((trials, want_trial, 6 * 3 * 2 * 5 + 3), (runs, want_run, 6 * 3 * 2 + 1)):
    with open(path, newline="", encoding="utf-8") as f:
        raw = f.read()
    assert raw.endswith("\r\n"), path + ": records end with CRLF"
    rows = list(csv.reader(raw.splitlines(keepends=True)))
    assert rows[0] == want, "%s header %s != documented %s" % (path, rows[0], want)
    assert len(rows) - 1 == nrows, "%s: %d rows, want %d" % (path, len(rows) - 1, nrows)
    assert all(len(r) == len(want) for r in rows), path + ": ragged rows"
r = list(csv.DictReader(open(runs, newline="")))
q = [x for x in r if x["board"] == "qemu-m4"]
assert all(x["latency_basis"] == "estimate" and x["energy_basis"] == "emulated" for x in q)
assert all(x["latency_basis"] == "measured" for x in r if x["board"] == "sim")
EOF
"$cli" export --db "$db" --format json -o "$tmp/e.json" || bad "export json"
"$cli" export --db "$db" --format json --per run --board sim -o "$tmp/r.json" || bad "export json per run"
python3 - "$tmp/e.json" "$tmp/r.json" <<'EOF' && ok "JSON export parses" || bad "JSON export"
import json, sys
e = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
assert e["format"] == "tinybench-export" and e["per"] == "trial"
assert len(e["runs"]) == 37 and sum(len(x["trials"]) for x in e["runs"]) == 183
assert r["per"] == "run" and len(r["runs"]) == 12 and "trials" not in r["runs"][0]
assert r["runs"][0]["tags"]["git.branch"] == "main"
assert r["runs"][0]["summary"]["latency_ms"]["median"] > 0
EOF
"$cli" export --db "$db" --format md --workload kws >"$tmp/e.md" || bad "export md"
[ "$(grep -c '^| [0-9]' "$tmp/e.md")" = 18 ] && grep -q '(est.)' "$tmp/e.md" &&
	ok "Markdown: 18 kws runs, estimates marked" || bad "Markdown export: $(head -3 "$tmp/e.md")"
"$cli" export --db "$db" --format csv --since 2024-05-06 --until 2024-05-07 --run 1-100 \
	--tag git.branch=main --tag nightly -o "$tmp/w.csv" || bad "export with every filter"
[ "$(($(wc -l <"$tmp/w.csv") - 1))" = 30 ] && ok "filters combine (one night: 30 trials)" ||
	bad "filters: $(wc -l <"$tmp/w.csv") lines"

# ------------------------------------------------------------ compare

"$cli" compare --db "$db" --format text --baseline sim >"$tmp/c.txt" || bad "compare text"
grep -q 'qemu-m4' "$tmp/c.txt" && grep -q 'nucleo-l4r5zi' "$tmp/c.txt" &&
	grep -q 'estimate, not a measured time' "$tmp/c.txt" && grep -q 'emulated energy' "$tmp/c.txt" &&
	ok "compare: every board, estimates and emulated energy named" || bad "compare text: $(cat "$tmp/c.txt")"
"$cli" compare --db "$db" --baseline run:1 >"$tmp/c.csv" || bad "compare csv"
[ "$(head -c 22 "$tmp/c.csv")" = "board,workload,run_id," ] && [ "$(wc -l <"$tmp/c.csv")" = 7 ] &&
	ok "compare: CSV when not a terminal, 6 cells" || bad "compare csv: $(cat "$tmp/c.csv")"
"$cli" compare --db "$db" --format json >"$tmp/c.json" &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["cells"]) == 6 and d["notes"]' "$tmp/c.json" &&
	ok "compare json" || bad "compare json"

# ------------------------------------------------------------ check

expect 0 'gate: [0-9]+ passed, 0 failed' "$cli" check --db "$db" --baseline nightly=n00 --tag nightly=n05 \
	--max-latency-regression 5% --max-energy-regression 5% --max-ram-growth 0 --junit "$tmp/pass.xml"
expect 1 'REGRESSION' "$cli" check --db "$slowdb" --baseline nightly=n04 --tag nightly=n05 \
	--max-latency-regression 5% --max-energy-regression 5% --max-ram-growth 0 --junit "$tmp/fail.xml"
expect 1 'did not finish ok' "$cli" check --db "$db" --baseline nightly=n05 --board nucleo-l4r5zi
junit_ok() {	# FILE TESTS FAILURES
	local f=$1 n t fl s
	xmllint --noout "$f" || return 1
	n=$(xmllint --xpath 'count(//testcase)' "$f")
	t=$(xmllint --xpath 'string(/testsuites/@tests)' "$f")
	fl=$(xmllint --xpath 'string(/testsuites/@failures)' "$f")
	s=$(xmllint --xpath 'string(/testsuites/@skipped)' "$f")
	[ "$n" = "$t" ] && [ "$n" = "$2" ] && [ "$fl" = "$3" ] &&
		[ "$(xmllint --xpath 'count(//testcase/failure)' "$f")" = "$fl" ] &&
		[ "$(xmllint --xpath 'count(//testcase/skipped)' "$f")" = "$s" ]
}
if command -v xmllint >/dev/null; then
	# 3 boards x 2 workloads x (latency, energy, ram) = 18 cases; slowed:
	# latency x 6, energy x 4 (boards with energy), ram x 6 fail.
	junit_ok "$tmp/pass.xml" 18 0 && ok "JUnit (pass) well-formed, 18 cases, 0 failures" ||
		bad "JUnit pass: $(cat "$tmp/pass.xml")"
	junit_ok "$tmp/fail.xml" 18 16 && ok "JUnit (fail) well-formed, 18 cases, 16 failures" ||
		bad "JUnit fail: $(head -c 1500 "$tmp/fail.xml")"
elif [ "${TB_REQUIRE_BROWSER:-0}" = 1 ]; then
	bad "xmllint not installed (libxml2-utils)"
fi

# ------------------------------------------------------------ errors

empty="$tmp/empty.db"
"$fixture" "$empty" --empty || bad "empty fixture"
expect 2 "--run 'x'.*not a run id" "$cli" export --db "$db" --format csv --run x
expect 2 'range 9-3 is empty' "$cli" results --db "$db" --run 9-3
expect 2 "time 'yesterday'.*YYYY-MM-DD" "$cli" report --db "$db" -o "$tmp/x.html" --since yesterday
expect 2 'since is not before --until' "$cli" compare --db "$db" --since 2024-05-03 --until 2024-05-02
expect 2 "tag 'bad key'" "$cli" check --db "$db" --baseline nightly=n00 --tag 'bad key'
expect 2 "format 'xml'" "$cli" export --db "$db" --format xml
expect 2 "ambiguous" "$cli" check --db "$db" --baseline nightly=n00 --max-latency-regression 5
expect 2 "expected a percentage" "$cli" check --db "$db" --baseline nightly=n00 --max-ram-growth lots
expect 2 "baseline.*key" "$cli" check --db "$db" --baseline 'no such=1'
expect 3 "unknown baseline 'nightly=n99'" "$cli" check --db "$db" --baseline nightly=n99
expect 3 "baseline run 999 not found" "$cli" check --db "$db" --baseline 999
expect 3 "baseline board 'nope'" "$cli" compare --db "$db" --baseline nope
expect 3 "has no runs yet" "$cli" check --db "$empty" --baseline nightly=n00
expect 3 "has no runs yet" "$cli" compare --db "$empty"
expect 3 "has no runs yet" "$cli" report --db "$empty" -o "$tmp/x.html"
expect 3 "no results database" "$cli" export --db "$tmp/missing.db" --format csv
expect 3 "no run matches" "$cli" report --db "$db" --board nope -o "$tmp/x.html"
expect 3 "no stored power trace" "$cli" report --db "$db" --trace 1 -o "$tmp/x.html"
[ ! -e "$tmp/x.html" ] && ok "no partial report left behind" || bad "partial report left"
expect 2 "--tag 'nokey': expected key=value" "$cli" run --board sim --workload kws --tag nokey --db "$tmp/run.db"
[ ! -e "$tmp/run.db" ] && ok "run --tag checked before anything is opened" || bad "run.db created"

# ------------------------------------------------------------ tag

expect 0 "tagged 2 runs" "$cli" tag --db "$db" --run 1,2 review=ok "note=a;b"
"$cli" export --db "$db" --format csv --per run --tag review=ok >"$tmp/tag.csv"
[ "$(($(wc -l <"$tmp/tag.csv") - 1))" = 2 ] && grep -q 'note=a\\;b' "$tmp/tag.csv" &&
	ok "tags set afterwards select runs and are escaped in CSV" || bad "tag: $(cat "$tmp/tag.csv")"
expect 3 "run 999" "$cli" tag --db "$db" --run 999 a=b
expect 2 "expected key=value" "$cli" tag --db "$db" --run 1 novalue

# ------------------------------------------------------------ report

"$cli" report --db "$db" -o "$tmp/report.html" --title 'fixture & <report>' || bad "report"
if command -v xmllint >/dev/null; then
	xmllint --noout "$tmp/report.html" && ok "report is well-formed XML" || bad "report XML"
	for k in latency energy memory trend trend-energy trace; do
		n=$(xmllint --xpath "count(//*[local-name()='svg'][@data-chart='$k'])" "$tmp/report.html")
		[ "${n:-0}" -ge 1 ] && ok "report has $n '$k' chart(s)" || bad "report lacks '$k' charts"
	done
	grep -q 'http' <(grep -oE '(src|href)="[^"]*"' "$tmp/report.html") &&
		bad "report refers to an external resource" || ok "report has no external resource"
elif [ "${TB_REQUIRE_BROWSER:-0}" = 1 ]; then
	bad "xmllint not installed (libxml2-utils)"
fi

browser=$(command -v chromium || command -v chromium-browser || true)
shot() {	# HTML PNG
	local prof
	prof=$(mktemp -d "$tmp/profile.XXXXXX")
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking --disable-component-update \
		--disable-sync --user-data-dir="$prof" --force-device-scale-factor=0.5 \
		--window-size=1100,5400 --screenshot="$2" "file://$1" >"$tmp/chromium.log" 2>&1
	[ -s "$2" ]
}
if [ -n "$browser" ]; then
	colours=(--expect-colour 3366cc:400 --expect-colour d9822b:400 --expect-colour 2e86c1:400
		 --expect-colour c0392b:30)
	if shot "$tmp/report.html" "$tmp/report.png"; then
		python3 "$here/png_check.py" "$tmp/report.png" "${colours[@]}" &&
			ok "Chromium renders the report with its charts" || bad "report screenshot"
		# The check must be able to fail: the same page without its charts.
		sed 's/<svg /<svgx /g; s#</svg>#</svgx>#g' "$tmp/report.html" >"$tmp/nocharts.html"
		shot "$tmp/nocharts.html" "$tmp/nocharts.png" &&
			! python3 "$here/png_check.py" "$tmp/nocharts.png" "${colours[@]}" >/dev/null &&
			ok "the screenshot check rejects a page without charts" ||
			bad "the screenshot check passed a page without charts"
		if [ -n "${TB_ARTIFACT_DIR:-}" ]; then
			mkdir -p "$TB_ARTIFACT_DIR" && cp "$tmp/report.html" "$tmp/report.png" "$TB_ARTIFACT_DIR/"
		fi
	else
		bad "chromium wrote no screenshot: $(tail -5 "$tmp/chromium.log")"
	fi
elif [ "${TB_REQUIRE_BROWSER:-0}" = 1 ]; then
	bad "chromium not installed"
else
	echo "skip: chromium not installed (Debian package chromium); no screenshot"
fi

echo "$fails failure(s)"
[ "$fails" = 0 ]
