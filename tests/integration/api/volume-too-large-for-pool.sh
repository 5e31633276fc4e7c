#!/usr/bin/env bash
# A volume larger than its pool can hold is refused the Cinder way (400,
# nothing created, the quota untouched), and the fault names the pool,
# never a file path on the host.
. "$(dirname "$0")/lib.sh"
api_setup
alice=$(api_token alice)
PID_DEMO=$(project_id demo)
# quota limits first: lift them so the pool is what refuses
adm=$(api_token admin)
api "$adm" PUT "/v3/$PID_DEMO/os-quota-sets/$PID_DEMO" '{"quota_set":{"gigabytes":-1,"per_volume_gigabytes":-1}}' >/dev/null
api "$alice" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1048576}}' >/dev/null
case "$STATUS" in 400|413) ;; *) fail "expected 400 or 413, got $STATUS: $(cat "$T/last.body")";; esac
grep -q "pool1" "$T/last.body" || fail "the fault does not name the pool: $(cat "$T/last.body")"
if grep -q -e "$T" -e '/tmp' "$T/last.body"; then fail "a host path in the fault: $(cat "$T/last.body")"; fi
[ -z "$(ls "$T/pool")" ] || fail "storage left behind: $(ls "$T/pool")"
api "$alice" GET "/v3/$PID_DEMO/volumes" >/dev/null; expect_status 200
[ "$(jq '.volumes | length' "$T/last.body")" = 0 ] || fail "a volume record was left: $(cat "$T/last.body")"
echo PASS
