#!/usr/bin/env bash
# PUT's 409s from the compute API's decorators: a server locked through
# os-lock-server (for a caller the lock applies to: the service role, which
# Nova's swap rule admits, and not admin) and a server in a vm_state other
# than ACTIVE, PAUSED or RESIZED. Then the same service user swaps the
# unlocked server once PAUSED: 202, and the swap completes.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
NOVA_TOKEN=$(api_token nova)
OLD=$(new_volume "$ADMIN_TOKEN" 1); NEW=$(new_volume "$ADMIN_TOKEN" 1)
SID=$(new_server "$ADMIN_TOKEN")
attach "$ADMIN_TOKEN" "$SID" "$OLD"; expect_status 200
api "$ADMIN_TOKEN" POST "/v2.1/servers/$SID/action" '{"lock": null}' >/dev/null
expect_status 202
swap_put "$NOVA_TOKEN" "$SID" "$OLD" "$NEW"
expect_fault 409 conflictingRequest "Instance $SID is locked"
api "$ADMIN_TOKEN" POST "/v2.1/servers/$SID/action" '{"unlock": null}' >/dev/null
expect_status 202
# no API sets vm_state: the registry is edited directly
reg_sql "UPDATE servers SET vm_state='stopped', status='SHUTOFF' WHERE id='$SID'"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_fault 409 conflictingRequest "Cannot 'swap_volume' instance $SID while it is in vm_state stopped"
[ "$(volume_field "$OLD" status)" = in-use ] && [ "$(volume_field "$NEW" status)" = available ] \
  || fail "a refused swap changed volume states"
reg_sql "UPDATE servers SET vm_state='paused', status='PAUSED' WHERE id='$SID'"
swap_put "$NOVA_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap of a paused server: $(cat "$T/last.body")"
echo ok
