#!/usr/bin/env bash
# Tempest's conformance modules (tests/conformance/run) against this build:
# fails when a test fails that tests/conformance/expected-failures does not
# list, and reports the listed ones that pass now (remove them from the
# list). Skips when Debian's tempest is not installed.
set -uo pipefail
: "${VOLSWAP_BUILD:?VOLSWAP_BUILD not set}"
src=${VOLSWAP_SRC:-$(cd "$(dirname "$0")/../../.." && pwd)}
out=$(mktemp -d /tmp/volswap-tempest.XXXXXX)
trap 'rm -rf "$out"' EXIT

"$src/tests/conformance/run" -b "$VOLSWAP_BUILD" -o "$out/results" >"$out/log" 2>&1
rc=$?
[ $rc -eq 77 ] && { tail -n1 "$out/log"; exit 77; }
if [ ! -s "$out/results" ]; then
  tail -n 60 "$out/log"; echo "FAIL: the conformance run gave no results (exit $rc)"; exit 1
fi
sed -n '/^Tempest counts per module:/,$p' "$out/log"

grep -v '^#' "$src/tests/conformance/expected-failures" | awk 'NF {print $1}' | sort -u >"$out/expected"
awk '$1 == "fail" {print $2}' "$out/results" | sort -u >"$out/failed"
comm -23 "$out/failed" "$out/expected" >"$out/new"
awk '$1 != "fail" {print $2}' "$out/results" | sort -u | comm -12 - "$out/expected" >"$out/fixed"

if [ -s "$out/fixed" ]; then
  echo "Passing or skipped now, remove from tests/conformance/expected-failures:"
  sed 's/^/  /' "$out/fixed"
fi
if [ -s "$out/new" ]; then
  echo "New failures:"
  while read -r t; do
    # the traceback of each, from the runner's log
    awk -v t="FAIL $t" '$0 == t {p=1; print; next} p && /^(PASS|FAIL|SKIP) tempest\./ {p=0} p && /^Tempest counts/ {p=0} p' \
      "$out/log" | tail -n 40
  done <"$out/new"
  exit 1
fi
# a sanitizer report in a daemon's log fails the run whatever Tempest says
if grep -q 'sanitizer report' "$out/log"; then
  sed -n '/sanitizer report/,$p' "$out/log" | head -n 60; exit 1
fi
exit 0
