#!/usr/bin/env bash
# `volswap volume-migrate --wait VOLUME POOL`: the attached volume moves to
# the other pool under the same ID, with the progress bar and summary.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
need_swap_cli
attached_pair 1 4
unset OS_AUTH_URL OS_USERNAME OS_PASSWORD OS_PROJECT_NAME
export OS_AUTH_TYPE=admin_token OS_TOKEN=$ADMIN_TOKEN OS_ENDPOINT=$URL/v2.1
"$CLI_BIN" volume-migrate --wait "$OLD" pool2 >"$T/out" 2>"$T/err" || fail "volume-migrate: $(cat "$T/err")"
grep -q '^Swap completed' "$T/out" || fail "summary: $(cat "$T/out")"
case "$(volume_path "$OLD")" in "$T/pool2/"*) ;; *) fail "volume not in pool2: $(volume_path "$OLD")";; esac
[ "$(attached_volume "$SID")" = "$OLD" ] || fail "attachment changed id"
file_check "$(volume_path "$OLD")" 0x5a 4
echo ok
