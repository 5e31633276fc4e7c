#!/usr/bin/env bash
# The unmodified Debian novaclient, `--os-auth-type admin_token`: `nova
# volume-update SERVER OLD NEW` swaps the disk (novaclient's PUT, 202), the
# data follows, and `nova instance-action-list` shows the swap_volume action.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
need_novaclient
swap_setup
attached_pair 1 2
export OS_PROJECT_NAME=demo
unset OS_USERNAME OS_PASSWORD
at=(--os-auth-type admin_token --os-token "$ADMIN_TOKEN" --os-endpoint "$URL/v2.1")
nova "${at[@]}" volume-update "$SID" "$OLD" "$NEW" || fail "volume-update: $(cat "$T/nova.err")"
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
nova "${at[@]}" volume-attachments "$SID" >"$T/out" || fail "volume-attachments: $(cat "$T/nova.err")"
grep -q "| $SID | $NEW " "$T/out" || fail "attachments: $(cat "$T/out")"
nova "${at[@]}" instance-action-list "$SID" >"$T/out" || fail "instance-action-list: $(cat "$T/nova.err")"
grep -q "| swap_volume " "$T/out" || fail "actions: $(cat "$T/out")"
file_check "$(volume_path "$NEW")" 0x5a 2
echo ok
