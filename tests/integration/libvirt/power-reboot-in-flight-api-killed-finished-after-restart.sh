#!/usr/bin/env bash
# Nova's soft reboot in flight when volswap-api is killed: the domain has
# no guest OS to answer the ACPI request, so the reboot's clean shutdown
# waits out the host's shutdown_timeout (here an hour) and volswap-api is
# killed (SIGKILL) meanwhile, the server still rebooting. At the next
# start (with a 1 s shutdown_timeout) the reboot is carried out again:
# the domain runs again in a new QEMU, the task_state is cleared, vm_state
# active, and the reboot's instance action records its
# compute_reboot_instance event, once, as Success.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
LV_HOST_EXTRA='{"shutdown_timeout": 3600}' lv_setup
DOM=vs-rbtkill-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
state() { virsh_lv domstate "$DOM" | head -n1; }
ID0=$(virsh_lv domid "$DOM")
api "$ADMIN_TOKEN" POST "/v2.1/servers/$SID/action" '{"reboot": {"type": "SOFT"}}' >/dev/null
expect_status 202
for _ in $(seq 100); do
  [ "$(server_field "$SID" OS-EXT-STS:task_state)" = reboot_started ] && break
  sleep 0.1
done
[ "$(server_field "$SID" OS-EXT-STS:task_state)" = reboot_started ] || fail "task_state: $(cat "$T/last.body")"
sleep 1
kill -9 "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=
[ "$(virsh_lv domid "$DOM")" = "$ID0" ] || fail "the domain restarted before the kill"
jq '.hosts[0].shutdown_timeout = 1' "$T/api.json" >"$T/api.json.new" && mv "$T/api.json.new" "$T/api.json"
api_start
[ "$(wait_server_idle "$SID")" = ACTIVE ] || fail "after the restart: $(cat "$T/last.body")"
grep -q "power reboot of $SID was in flight" "$T/api.log" || fail "log: $(grep power "$T/api.log" | tail -5)"
ID1=$(virsh_lv domid "$DOM")
[ "$(state)" = running ] && [ "$ID1" != "$ID0" ] || fail "reboot: domain $(state), id $ID0 -> $ID1"
[ "$(server_field "$SID" OS-EXT-STS:vm_state)" = active ] || fail "vm_state: $(cat "$T/last.body")"
[ "$(action_event_result "$SID" reboot compute_reboot_instance)" = Success ] || fail "reboot event: $(cat "$T/last.body")"
[ "$(jq '[.instanceAction.events[] | select(.event == "compute_reboot_instance")] | length' "$T/last.body")" = 1 ] \
  || fail "reboot events: $(cat "$T/last.body")"
echo ok
