#!/usr/bin/env bash
# Cinder's os-migrate_volume of an attached volume to another pool: 202, a
# temporary destination volume, the swap, then migrate_volume_completion:
# the original volume ID now points at storage in the new pool (its data
# there), still attached to the same server through the same export, the
# temporary record and the old storage are gone, and migration_status ends
# at success. A second request for the same pool is refused with 400.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
VID=$(new_volume "$ADMIN_TOKEN" 1); SID=$(new_server "$ADMIN_TOKEN")
attach "$ADMIN_TOKEN" "$SID" "$VID"; expect_status 200
URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$VID")
nbd_fill "$URI" 0x4d 4
OLDPATH=$(volume_path "$VID")
NVOL=$(reg_sql "SELECT count(*) FROM volumes")
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$VID/action" '{"os-migrate_volume":{"host":"host1@lvm#pool2","force_host_copy":false}}' >/dev/null
expect_status 202
[ "$(wait_swap "$SID" "$VID")" = completed ] || fail "migration: $(cat "$T/last.body")"
[ "$(attached_volume "$SID")" = "$VID" ] || fail "server now on $(attached_volume "$SID")"
NEWPATH=$(volume_path "$VID")
case "$NEWPATH" in "$T/pool2/"*) ;; *) fail "volume still at $NEWPATH";; esac
[ ! -e "$OLDPATH" ] || fail "old storage $OLDPATH left behind"
[ "$(reg_sql "SELECT count(*) FROM volumes")" = "$NVOL" ] || fail "temporary record left"
api "$ADMIN_TOKEN" GET "/v3/$PID_DEMO/volumes/$VID" "" -H 'OpenStack-API-Version: volume 3.0' >/dev/null
[ "$(jq -r .volume.status "$T/last.body")" = in-use ] || fail "status: $(cat "$T/last.body")"
[ "$(jq -r '.volume["migration_status"]' "$T/last.body")" = success ] || fail "migration_status: $(cat "$T/last.body")"
file_check "$NEWPATH" 0x4d 4
nbd_fill "$URI" 0x4e 1
file_check "$NEWPATH" 0x4e 1
[ "$(export_node "$SID")" = "$(reg_sql "SELECT node_name FROM attachments WHERE server_id='$SID'")" ] \
  || fail "registry and host disagree"
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$VID/action" '{"os-migrate_volume":{"host":"pool2"}}' >/dev/null
expect_status 400
api "$(api_token alice)" POST "/v3/$PID_DEMO/volumes/$VID/action" '{"os-migrate_volume":{"host":"pool1"}}' >/dev/null
expect_status 403
echo ok
