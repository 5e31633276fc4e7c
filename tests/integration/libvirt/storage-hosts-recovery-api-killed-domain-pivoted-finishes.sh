#!/usr/bin/env bash
# A swap across storage hosts on a libvirt compute host, volswap-api
# killed mid-copy and the copy pivoted while it is down (as if the API
# died just after its pivot). At the next start recovery finds no job and
# the disk on storage2's export, so it finishes the swap: the attachment
# names the new volume and its connection_info storage2's export, the
# domain (live and defined) reads that export, and storage1's export and
# node of the old volume are gone.
NEED_MOUNT_NS=1 . "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
export VOLSWAP_SWAP_SPEED=$(( 4 << 20 ))
LV_STORAGE_HOSTS="storage1 storage2" lv_setup
lv_nbd_disk vs-xhostpiv-$$ storage2-pool storage1-pool
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
wait_phase "$SID" "$OLD" mirroring
kill -9 "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=
pivoted=
for _ in $(seq 600); do
  virsh_lv blockjob "$DOM" sdb --pivot >/dev/null 2>&1 && { pivoted=1; break; }
  sleep 0.1
done
[ -n "$pivoted" ] || fail "the copy never became ready to pivot"
[ "$(nbd_name)" = "$(node_of "$NEW")" ] || fail "live disk after the pivot: $(virsh_lv dumpxml "$DOM" | grep -A3 "<disk")"
api_start
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body") $(grep swap: "$T/api.log" | tail -5)"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(volume_field "$NEW" status)" = in-use ] || fail "new volume is $(volume_field "$NEW" status)"
[ "$(volume_field "$OLD" status)" = available ] || fail "old volume is $(volume_field "$OLD" status)"
CI=$(reg_sql "SELECT connection_info FROM attachments WHERE server_id='$SID'")
[ "$(echo "$CI" | jq -r '[.data.storage.host, .data.export_name, .data.uri] | join(" ")')" = \
  "storage2 $(node_of "$NEW") nbds://127.0.0.1:$STORAGE2_PORT/$(node_of "$NEW")" ] || fail "connection_info after recovery $CI"
[ "$(nbd_name --inactive)" = "$(node_of "$NEW")" ] || fail "definition: $(virsh_lv dumpxml --inactive "$DOM" | grep -A3 "<disk")"
[ -z "$(on_storage storage1 exports)" ] || fail "storage1 still exports $(on_storage storage1 exports)"
[ -z "$(on_storage storage1 nodes)" ] || fail "storage1 still has nodes $(on_storage storage1 nodes)"
[ "$(on_storage storage2 exports)" = "$(node_of "$NEW")" ] || fail "storage2 exports $(on_storage storage2 exports)"
file_check "$NEW_PATH" 0x5a 16
echo ok
