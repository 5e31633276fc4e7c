#!/usr/bin/env bash
# A remote libvirt host, reached through libvirt's own TLS transport: the
# host's URI is qemu+tls://localhost:PORT/system with a pkipath holding a
# client certificate made by the test, which libvirtd (listen_tls, its own
# certificates, tls_allowed_dn_list) accepts. Over that connection the
# server adopts its domain, a volume is attached, swapped and detached,
# and the domain is stopped and started.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
LV_TLS=1 LV_HOST_EXTRA='{"shutdown_timeout": 0}' lv_setup
case "$(jq -r .hosts[0].uri "$T/api.json")" in qemu+tls://*) ;; *) fail "the host is not reached over TLS" ;; esac
# the client certificate is what lets volswap-api in
virsh -q -c "qemu+tls://localhost:$LV_TLS_PORT/system?pkipath=$T/nowhere" version >/dev/null 2>&1 \
  && fail "libvirtd took a client without a certificate"
DOM=vs-tls-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
[ "$SID" = "$(virsh_lv domuuid "$DOM")" ] || fail "server $SID"
OLD=$(new_volume "$ADMIN_TOKEN" 1)
NEW=$(new_volume "$ADMIN_TOKEN" 1)
OLD_PATH=$(volume_path "$OLD"); NEW_PATH=$(volume_path "$NEW")
qemu-io -f raw "$OLD_PATH" -c "write -P 0x2e 0 4M" >/dev/null || fail "cannot fill the old volume"
lv_attach "$SID" "$OLD" /dev/sdb; expect_status 200
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $OLD_PATH" ] || fail "live: $(lv_sources "$DOM")"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body") $(tail -5 "$T/api.log")"
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $NEW_PATH" ] || fail "live after swap: $(lv_sources "$DOM")"
[ "$(lv_sources "$DOM" --inactive | grep '^sdb')" = "sdb $NEW_PATH" ] || fail "definition after swap"
file_check "$NEW_PATH" 0x2e 4
api "$ADMIN_TOKEN" POST "/v2.1/servers/$SID/action" '{"os-stop": null}' >/dev/null; expect_status 202
[ "$(wait_server_idle "$SID")" = SHUTOFF ] || fail "after stop: $(cat "$T/last.body")"
api "$ADMIN_TOKEN" POST "/v2.1/servers/$SID/action" '{"os-start": null}' >/dev/null; expect_status 202
[ "$(wait_server_idle "$SID")" = ACTIVE ] || fail "after start: $(cat "$T/last.body")"
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $NEW_PATH" ] || fail "booted on: $(lv_sources "$DOM")"
api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$SID/os-volume_attachments/$NEW" >/dev/null; expect_status 202
for _ in $(seq 100); do [ "$(volume_field "$NEW" status)" = available ] && break; sleep 0.1; done
[ "$(volume_field "$NEW" status)" = available ] || fail "new volume is $(volume_field "$NEW" status)"
lv_sources "$DOM" | grep -q '^sdb' && fail "still attached: $(lv_sources "$DOM")"
echo ok
