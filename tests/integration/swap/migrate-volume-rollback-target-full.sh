#!/usr/bin/env bash
# os-migrate_volume into a pool that fills up (a 4 MiB tmpfs) while 16 MiB
# are mirrored: the migration rolls back -- the original volume stays where
# it was, in-use, attached through the same export, with its data; its
# migration_status is error; the temporary destination record and its file
# are gone.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
mkdir -p "$T/pool2"
mount -t tmpfs -o size=4M tmpfs "$T/pool2" 2>/dev/null || skip "cannot mount a tmpfs here"
trap 'umount "$T/pool2" 2>/dev/null || true; cleanup' EXIT
swap_setup
VID=$(new_volume "$ADMIN_TOKEN" 1); SID=$(new_server "$ADMIN_TOKEN")
attach "$ADMIN_TOKEN" "$SID" "$VID"; expect_status 200
URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$VID")
nbd_fill "$URI" 0x4d 16
OLDPATH=$(volume_path "$VID")
NVOL=$(reg_sql "SELECT count(*) FROM volumes")
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$VID/action" '{"os-migrate_volume":{"host":"pool2"}}' >/dev/null
expect_status 202
[ "$(wait_swap "$SID" "$VID")" = rolled-back ] || fail "migration: $(cat "$T/last.body")"
[ "$(volume_path "$VID")" = "$OLDPATH" ] || fail "volume moved to $(volume_path "$VID")"
api "$ADMIN_TOKEN" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
[ "$(jq -r .volume.status "$T/last.body")" = in-use ] || fail "status: $(cat "$T/last.body")"
[ "$(jq -r '.volume["migration_status"]' "$T/last.body")" = error ] || fail "migration_status: $(cat "$T/last.body")"
[ "$(reg_sql "SELECT count(*) FROM volumes")" = "$NVOL" ] || fail "temporary record left"
[ -z "$(ls "$T/pool2")" ] || fail "temporary storage left: $(ls "$T/pool2")"
file_check "$OLDPATH" 0x4d 16
nbd_fill "$URI" 0x4e 1
file_check "$OLDPATH" 0x4e 1
echo ok
