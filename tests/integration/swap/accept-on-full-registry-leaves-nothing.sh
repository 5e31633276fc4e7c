#!/usr/bin/env bash
# A swap asked for while the registry's disk is full: the reply is a 507
# naming the cause (the log has it too), and nothing of the accept is left,
# since its writes (OLD detaching, NEW reserved, the swap_volume action,
# the swap record) are one transaction: the server is on OLD, both volumes
# are as they were, there is no swap to show and no action. With room
# again, the same swap runs to the end.
NEED_MOUNT_NS=1 . "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
host_start
write_config
registry_on_small_fs
api_start
need_swap_api
PID_DEMO=$(project_id demo)
attached_pair 1 4
fill_registry_fs
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_fault 507 computeFault "database or disk is full"
grep -q "database or disk is full" "$T/api.log" || fail "the log lacks the cause"
unfill_registry_fs
[ "$(attached_volume "$SID")" = "$OLD" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(volume_field "$OLD" status)" = in-use ] && [ "$(volume_field "$NEW" status)" = available ] \
  || fail "states: $(volume_field "$OLD" status) / $(volume_field "$NEW" status)"
api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID/os-volume_attachments/$OLD/swap-progress" >/dev/null
expect_status 404
api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID/os-instance-actions" >/dev/null
jq -e '[.instanceActions[] | select(.action == "swap_volume")] | length == 0' "$T/last.body" >/dev/null \
  || fail "actions: $(cat "$T/last.body")"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
echo ok
