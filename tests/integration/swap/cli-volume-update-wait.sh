#!/usr/bin/env bash
# `volswap volume-update --wait SERVER OLD NEW` (server by name): the swap
# runs, the progress bar shows percent, rate and ETA, and the last line
# reports the bytes copied and the pivot's duration (the bound on the consumer's
# pause); exit 0.
# A refused swap (smaller volume) exits 1 with Nova's one-line message, and
# a rolled-back one (missing target) exits 1 after --wait.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$((8 << 20))
swap_setup
need_swap_cli
attached_pair 1 4
NAME=srv
unset OS_AUTH_URL OS_USERNAME OS_PASSWORD OS_PROJECT_NAME
export OS_AUTH_TYPE=admin_token OS_TOKEN=$ADMIN_TOKEN OS_ENDPOINT=$URL/v2.1
"$CLI_BIN" volume-update --wait "$SID" "$OLD" "$NEW" >"$T/out" 2>"$T/err" || fail "volume-update: $(cat "$T/err")"
grep -q '%' "$T/err" || fail "no progress bar: $(cat "$T/err")"
grep -q 'ETA' "$T/err" || fail "no ETA: $(cat "$T/err")"
grep -q '/s' "$T/err" || fail "no rate: $(cat "$T/err")"
grep -qE '100\.0%' "$T/err" || fail "bar never reached 100%: $(cat "$T/err")"
grep -qE '^Swap completed: .* copied in .* pivot [0-9]+ ms \(the consumer is held for at most that\)' "$T/out" \
  || fail "summary: $(cat "$T/out")"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "not swapped"
SMALL=$(new_volume "$ADMIN_TOKEN" 1)
BIG=$(new_volume "$ADMIN_TOKEN" 2)
attach "$ADMIN_TOKEN" "$SID" "$BIG"; expect_status 200
set +e
"$CLI_BIN" volume-update "$NAME" "$BIG" "$SMALL" 2>"$T/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "New volume must be the same size or larger." "$T/err" || fail "refusal: $rc $(cat "$T/err")"
rm -f "$(volume_path "$SMALL")"
set +e
"$CLI_BIN" volume-update --wait "$NAME" "$NEW" "$SMALL" >/dev/null 2>"$T/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "ERROR: swap rolled-back" "$T/err" || fail "rollback: $rc $(cat "$T/err")"
echo ok
