#!/usr/bin/env bash
# The registry's disk fills up under a request that writes: the reply is a
# clear 507 naming SQLite's own cause ("database or disk is full", not what
# a failed rollback says afterwards), the log has it too, nothing of the
# request is applied (a metadata replace keeps the old items), and once
# there is room again the same request succeeds. The registry lives on a
# tmpfs of its own (registry_on_small_fs).
NEED_MOUNT_NS=1 . "$(dirname "$0")/lib.sh"
host_start
write_config
registry_on_small_fs
api_start
PID_DEMO=$(project_id demo)
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"metadata":{"keep":"1"}}}' >/dev/null
expect_status 202
VID=$(jq -r .volume.id "$T/last.body")
M=/v3/$PID_DEMO/volumes/$VID/metadata
big=$(printf 'v%.0s' $(seq 255))
body=$(for i in $(seq 100); do printf '"k%d":"%s",' "$i" "$big"; done)
body="{\"metadata\":{${body%,}}}"
fill_registry_fs
api "$ADMIN_TOKEN" PUT "$M" "$body" >/dev/null
expect_fault 507 computeFault "database or disk is full"
grep -q "no transaction is active" "$T/last.body" && fail "reply names the rollback: $(cat "$T/last.body")"
grep -q "database or disk is full" "$T/api.log" || fail "the log lacks the cause"
unfill_registry_fs
api "$ADMIN_TOKEN" GET "$M" >/dev/null
expect_status 200
jq -e '.metadata == {"keep":"1"}' "$T/last.body" >/dev/null || fail "half applied: $(cat "$T/last.body")"
api "$ADMIN_TOKEN" PUT "$M" "$body" >/dev/null
expect_status 200
jq -e '.metadata | length == 100' "$T/last.body" >/dev/null || fail "after: $(cat "$T/last.body")"
echo ok
