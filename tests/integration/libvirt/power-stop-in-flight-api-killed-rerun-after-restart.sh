#!/usr/bin/env bash
# Nova's os-stop in flight when volswap-api is killed: the domain has no
# guest OS to answer the ACPI request, so the stop waits out the host's
# shutdown_timeout (here an hour) and volswap-api is killed (SIGKILL)
# meanwhile, the server still powering-off. At the next start (with a
# 1 s shutdown_timeout) the stop is carried out again, as Nova's compute
# manager does with a stop it finds in flight at init: the domain is shut
# off, the task_state cleared, vm_state stopped, and the instance action
# of the stop records its compute_stop_instance event, once, as Success.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
LV_HOST_EXTRA='{"shutdown_timeout": 3600}' lv_setup
DOM=vs-pwrkill-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
state() { virsh_lv domstate "$DOM" | head -n1; }
api "$ADMIN_TOKEN" POST "/v2.1/servers/$SID/action" '{"os-stop": null}' >/dev/null
expect_status 202
[ "$(server_field "$SID" OS-EXT-STS:task_state)" = powering-off ] || fail "task_state: $(cat "$T/last.body")"
# the stop is under way (the request went to the guest), then the kill
sleep 1
kill -9 "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=
[ "$(state)" = running ] || fail "the domain is $(state) before the restart"
jq '.hosts[0].shutdown_timeout = 1' "$T/api.json" >"$T/api.json.new" && mv "$T/api.json.new" "$T/api.json"
api_start
[ "$(wait_server_idle "$SID")" = SHUTOFF ] || fail "after the restart: $(cat "$T/last.body")"
grep -q "power stop of $SID was in flight" "$T/api.log" || fail "log: $(grep power "$T/api.log" | tail -5)"
[ "$(state)" = "shut off" ] || fail "domain after the restart: $(state)"
[ "$(server_field "$SID" OS-EXT-STS:vm_state)" = stopped ] || fail "vm_state: $(cat "$T/last.body")"
[ "$(server_field "$SID" OS-EXT-STS:power_state)" = 4 ] || fail "power_state: $(cat "$T/last.body")"
[ "$(action_event_result "$SID" stop compute_stop_instance)" = Success ] || fail "stop event: $(cat "$T/last.body")"
[ "$(jq '[.instanceAction.events[] | select(.event == "compute_stop_instance")] | length' "$T/last.body")" = 1 ] \
  || fail "stop events: $(cat "$T/last.body")"
api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID/os-instance-actions" >/dev/null
[ "$(jq '[.instanceActions[] | select(.action == "stop")] | length' "$T/last.body")" = 1 ] \
  || fail "stop actions: $(cat "$T/last.body")"
echo ok
