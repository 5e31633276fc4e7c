#!/usr/bin/env bash
# The unmodified Debian novaclient logging in with a password through our
# Keystone (OS_AUTH_URL): as admin `nova volume-update` swaps the disk and
# `nova instance-action-list` shows swap_volume; as a project member the
# same command fails with Nova's 403 policy message.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
need_novaclient
swap_setup
attached_pair 1 2
password_env alice demo
if nova volume-update "$SID" "$OLD" "$NEW" >/dev/null; then fail "a member swapped"; fi
grep -q "HTTP 403" "$T/nova.err" || fail "403: $(cat "$T/nova.err")"
grep -q "os-volumes-attachments:swap" "$T/nova.err" || fail "policy message: $(cat "$T/nova.err")"
password_env admin demo
nova volume-update "$SID" "$OLD" "$NEW" || fail "volume-update: $(cat "$T/nova.err")"
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
nova instance-action-list "$SID" >"$T/out" || fail "instance-action-list: $(cat "$T/nova.err")"
grep -q "| swap_volume " "$T/out" || fail "actions: $(cat "$T/out")"
nova volume-attachments "$SID" >"$T/out" || fail "volume-attachments: $(cat "$T/nova.err")"
grep -q "| $SID | $NEW " "$T/out" || fail "attachments: $(cat "$T/out")"
echo ok
