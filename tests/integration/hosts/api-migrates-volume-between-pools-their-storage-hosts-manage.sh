#!/usr/bin/env bash
# os-migrate_volume between two pools their storage hosts manage
# ("managed_by": "host"), neither directory visible to the API: the
# destination's file is created by storage2's volswapd before the
# migration is accepted, the in-use volume moves under fio writing 4k
# random blocks with crc32c, and the old file is deleted by storage1's
# volswapd. fio's read-back verifies, and a verify-only pass run in
# storage2's own mount namespace finds every write in its file.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
HOST_NBD_TLS=1 host_volswapd_own_pool storage1 "$NS_SUBNET.21"
HOST_NBD_TLS=1 host_volswapd_own_pool storage2 "$NS_SUBNET.22"
host_volswapd compute1 "$NS_SUBNET.11"
hosts_api_cluster compute1 storage1 storage2
VOL=$(cluster_volume storage1 1)
SID=$(cluster_server compute1)
attach "$ADMIN_TOKEN" "$SID" "$VOL"; expect_status 200
URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$VOL")
fio_start "$URI" 32
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$VOL/action" \
  '{"os-migrate_volume": {"host": "storage2@volswap#storage2-pool"}}' >/dev/null
expect_status 202
[ "$(wait_swap "$SID" "$VOL")" = completed ] || fail "migration: $(cat "$T/last.body")"
fio_wait
[ "$(volume_field "$VOL" 'migration_status')" = success ] || fail "migration_status $(volume_field "$VOL" migration_status)"
path=$(volume_path "$VOL")
case "$path" in "$T/storage2-pool/"*) ;; *) fail "volume path $path is not in storage2's pool" ;; esac
[ -z "$(host_pool_ls storage1)" ] || fail "storage1's pool holds: $(host_pool_ls storage1)"
[ "$(host_pool_ls storage2 | cut -d' ' -f1)" = "$(basename "$path")" ] ||
  fail "storage2's pool holds: $(host_pool_ls storage2)"
[ -z "$(find "$T/storage1-pool" "$T/storage2-pool" -mindepth 1)" ] || fail "the API's machine sees pool files"
nsenter -t "${HOST_PIDS[storage2]}" -m -- fio --name=consumer --ioengine=psync --filename="$path" \
  --rw=randwrite --bs=4k --size=32M --verify=crc32c --verify_fatal=1 --randrepeat=1 \
  --verify_state_save=0 --verify_only --output="$T/fio-verify.out" >/dev/null 2>&1 ||
  { cat "$T/fio-verify.out" >&2; fail "data missing from storage2's file"; }
expect_clean storage1
api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VOL" >/dev/null
expect_status 202
api "$ADMIN_TOKEN" DELETE "/v3/$PID_DEMO/volumes/$VOL" >/dev/null
expect_status 202
[ -z "$(host_pool_ls storage2)" ] || fail "after delete storage2's pool holds: $(host_pool_ls storage2)"
for h in storage1 storage2 compute1; do expect_clean "$h"; done
echo ok
