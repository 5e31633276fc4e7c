#!/usr/bin/env bash
# libvirtd restarts under a running volswap-api (its domains keep running):
# the driver notices the closed connection and reconnects on next use, so
# the power state, a swap and a detach all work afterwards.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
lv_setup
DOM=vs-restart-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
OLD=$(new_volume "$ADMIN_TOKEN" 1)
NEW=$(new_volume "$ADMIN_TOKEN" 1)
lv_attach "$SID" "$OLD" /dev/sdb; expect_status 200
libvirtd_restart
api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID" >/dev/null; expect_status 200
[ "$(jq -r '.server["OS-EXT-STS:power_state"]' "$T/last.body")" = 1 ] || fail "power state: $(cat "$T/last.body")"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $(volume_path "$NEW")" ] || fail "live: $(lv_sources "$DOM")"
api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$SID/os-volume_attachments/$NEW" >/dev/null; expect_status 202
for _ in $(seq 100); do [ "$(volume_field "$NEW" status)" = available ] && break; sleep 0.1; done
[ "$(volume_field "$NEW" status)" = available ] || fail "new volume is $(volume_field "$NEW" status)"
lv_sources "$DOM" | grep -q '^sdb' && fail "still attached: $(lv_sources "$DOM")"
echo ok
