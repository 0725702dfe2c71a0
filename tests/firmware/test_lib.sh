# Sourced by the firmware suite's shell tests: a scratch folder removed on
# exit with a results database in it, pass/fail counters and their
# reporters, and a JSON field reader.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db=$tmp/results.db
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# json FIELD-EXPR FILE: tiny extraction without jq: "key": value
jget() { grep -o "\"$1\": *[^,}]*" "$2" | head -1 | sed 's/.*: *//; s/"//g'; }
