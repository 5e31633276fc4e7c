#!/usr/bin/env bash
# Nova's os-stop, os-start and reboot act on the server's libvirt domain,
# through the unmodified novaclient: the API answers 202 with Nova's
# task_state set, the domain is powered off (a clean ACPI shutdown, forced
# after the host's shutdown_timeout: this domain has no guest OS to
# answer), started from its definition, rebooted hard and soft (a new QEMU
# each time), and each instance action records its compute_* event.
# Starting a running server is 409.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
need_novaclient
LV_HOST_EXTRA='{"shutdown_timeout": 1}' lv_setup
DOM=vs-power-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
password_env admin demo
state() { virsh_lv domstate "$DOM" | head -n1; }

nova stop "$SID" >/dev/null 2>"$T/nova.err" || fail "nova stop: $(cat "$T/nova.err")"
[ "$(wait_server_idle "$SID")" = SHUTOFF ] || fail "after stop: $(cat "$T/last.body")"
[ "$(state)" = "shut off" ] || fail "domain after stop: $(state)"
[ "$(server_field "$SID" OS-EXT-STS:vm_state)" = stopped ] || fail "vm_state: $(cat "$T/last.body")"
[ "$(server_field "$SID" OS-EXT-STS:power_state)" = 4 ] || fail "power_state: $(cat "$T/last.body")"
[ "$(action_event_result "$SID" stop compute_stop_instance)" = Success ] || fail "stop event: $(cat "$T/last.body")"
grep -q "did not power off within 1 s" "$T/api.log" || fail "the shutdown was not forced: $(tail -5 "$T/api.log")"

nova start "$SID" >/dev/null 2>"$T/nova.err" || fail "nova start: $(cat "$T/nova.err")"
[ "$(wait_server_idle "$SID")" = ACTIVE ] || fail "after start: $(cat "$T/last.body")"
[ "$(state)" = running ] || fail "domain after start: $(state)"
[ "$(action_event_result "$SID" start compute_start_instance)" = Success ] || fail "start event: $(cat "$T/last.body")"

api "$ADMIN_TOKEN" POST "/v2.1/servers/$SID/action" '{"os-start": null}' >/dev/null
expect_fault 409 conflictingRequest "vm_state active"

ID0=$(virsh_lv domid "$DOM")
nova reboot --hard "$SID" >/dev/null 2>"$T/nova.err" || fail "nova reboot --hard: $(cat "$T/nova.err")"
[ "$(wait_server_idle "$SID")" = ACTIVE ] || fail "after hard reboot: $(cat "$T/last.body")"
ID1=$(virsh_lv domid "$DOM")
[ "$(state)" = running ] && [ "$ID1" != "$ID0" ] || fail "hard reboot: domain $(state), id $ID0 -> $ID1"

nova reboot "$SID" >/dev/null 2>"$T/nova.err" || fail "nova reboot: $(cat "$T/nova.err")"
[ "$(wait_server_idle "$SID")" = ACTIVE ] || fail "after soft reboot: $(cat "$T/last.body")"
ID2=$(virsh_lv domid "$DOM")
[ "$(state)" = running ] && [ "$ID2" != "$ID1" ] || fail "soft reboot: domain $(state), id $ID1 -> $ID2"
[ "$(action_event_result "$SID" reboot compute_reboot_instance)" = Success ] || fail "reboot event: $(cat "$T/last.body")"
echo ok
