#!/usr/bin/env bash
# Registering a server on a libvirt host adopts the domain of that name:
# the server's id is the domain's UUID (as a Nova instance's is), and its
# power state is the domain's (running 1, paused 3, shut off 4). A name no
# domain has is refused with 400; adopting a domain twice with 409.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
lv_setup
DOM=vs-adopt-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
[ "$SID" = "$(virsh_lv domuuid "$DOM")" ] || fail "server $SID is not domain $(virsh_lv domuuid "$DOM")"
power() {
  api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID" >/dev/null; expect_status 200
  jq -r '.server["OS-EXT-STS:power_state"]' "$T/last.body"
}
[ "$(power)" = 1 ] || fail "running domain: power_state $(power)"
virsh_lv suspend "$DOM" >/dev/null
[ "$(power)" = 3 ] || fail "paused domain: power_state $(power)"
virsh_lv destroy "$DOM" >/dev/null
[ "$(power)" = 4 ] || fail "shut off domain: power_state $(power)"
api "$ADMIN_TOKEN" POST /v2.1/servers '{"server":{"name":"no-such-domain"}}' >/dev/null
expect_fault 400 badRequest "no libvirt domain named no-such-domain"
api "$ADMIN_TOKEN" POST /v2.1/servers "{\"server\":{\"name\":\"$DOM\"}}" >/dev/null
expect_fault 409 conflictingRequest "already server"
echo ok
