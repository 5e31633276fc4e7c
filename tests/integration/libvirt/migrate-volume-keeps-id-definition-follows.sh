#!/usr/bin/env bash
# Cinder's os-migrate_volume of a volume attached to a libvirt domain: the
# copy goes to storage in the other pool by libvirt's block copy, the volume
# keeps its ID, the old storage is removed, the attachment's connection_info
# names the new file, and the domain -- live and defined -- runs on it.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
lv_setup
DOM=vs-migrate-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
VID=$(new_volume "$ADMIN_TOKEN" 1)
OLDPATH=$(volume_path "$VID")
qemu-io -f raw "$OLDPATH" -c "write -P 0x4d 0 4M" >/dev/null || fail "cannot fill the volume"
lv_attach "$SID" "$VID" /dev/sdb; expect_status 200
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$VID/action" '{"os-migrate_volume":{"host":"host1@lvm#pool2","force_host_copy":false}}' >/dev/null
expect_status 202
[ "$(wait_swap "$SID" "$VID")" = completed ] || fail "migration: $(cat "$T/last.body") $(grep swap: "$T/api.log" | tail -5)"
[ "$(attached_volume "$SID")" = "$VID" ] || fail "server now on $(attached_volume "$SID")"
NEWPATH=$(volume_path "$VID")
case "$NEWPATH" in "$T/pool2/"*) ;; *) fail "volume still at $NEWPATH";; esac
[ ! -e "$OLDPATH" ] || fail "old storage $OLDPATH left behind"
[ "$(volume_field "$VID" migration_status)" = success ] || fail "migration_status $(volume_field "$VID" migration_status)"
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $NEWPATH" ] || fail "live: $(lv_sources "$DOM")"
[ "$(lv_sources "$DOM" --inactive | grep '^sdb')" = "sdb $NEWPATH" ] || fail "definition: $(lv_sources "$DOM" --inactive)"
ci=$(sqlite3 "$T/registry.db" "SELECT connection_info FROM attachments WHERE server_id='$SID'")
[ "$(echo "$ci" | jq -r .data.device_path)" = "$NEWPATH" ] || fail "connection_info: $ci"
file_check "$NEWPATH" 0x4d 4
echo ok
