#!/usr/bin/env bash
# An operator's migration with the unmodified cinderclient: `cinder
# get-pools` names the pools, `cinder migrate VOLUME host1@volswap#pool2`
# moves the attached volume there live (same ID, its data in pool2), and a
# pool named under another host is refused with 400, changing nothing.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
/usr/bin/python3 -c 'import cinderclient' 2>/dev/null || skip "python3-cinderclient not installed"
swap_setup
VID=$(new_volume "$ADMIN_TOKEN" 1); SID=$(new_server "$ADMIN_TOKEN")
attach "$ADMIN_TOKEN" "$SID" "$VID"; expect_status 200
nbd_fill "$(export_uri "$ADMIN_TOKEN" "$SID" "$VID")" 0x6b 2
password_env admin demo
cinder() { /usr/bin/python3 -m cinderclient.shell "$@" 2>"$T/cinder.err"; }
cinder get-pools >"$T/out" || fail "get-pools: $(cat "$T/cinder.err")"
dest=$(awk -F'|' '$2 ~ /^ name / && $3 ~ /#pool2/ {gsub(/ /, "", $3); print $3}' "$T/out")
[ "$dest" = "host1@volswap#pool2" ] || fail "pools: $(cat "$T/out")"
# cinderclient reports a refused migration on stdout and exits 0
cinder migrate "$VID" "host9@volswap#pool2" >"$T/out" || true
grep -q "Migration for volume $VID failed: .*No pool named pool2 on host host9" "$T/out" \
  || fail "refusal: $(cat "$T/out" "$T/cinder.err")"
[ "$(volume_field "$VID" migration_status)" = null ] || fail "a refused migration left a status"
cinder migrate "$VID" "$dest" >"$T/out" || fail "migrate: $(cat "$T/cinder.err")"
grep -q "Request to migrate volume $VID has been accepted" "$T/out" || fail "migrate: $(cat "$T/out")"
[ "$(wait_swap "$SID" "$VID")" = completed ] || fail "migration: $(cat "$T/last.body")"
case "$(volume_path "$VID")" in "$T/pool2/"*) ;; *) fail "volume at $(volume_path "$VID")";; esac
file_check "$(volume_path "$VID")" 0x6b 2
echo ok
