#!/usr/bin/env bash
# os-services (admin) tells whether each host's daemon answers: Nova's
# nova-compute and Cinder's cinder-volume for host1 are up while the
# daemon runs, down once it is killed, and up again after it restarts; a
# member gets 403. The unmodified openstack client lists them
# (compute service list, volume service list).
. "$(dirname "$0")/lib.sh"
api_setup
adm=$(api_token admin)
PID_DEMO=$(project_id demo)
state() {  # state PATH -> prints the host1 service's state
  api "$adm" GET "$1" "" -H 'OpenStack-API-Version: compute 2.53' >/dev/null
  jq -r '.services[] | select(.host == "host1" or .host == "host1@volswap") | .state' "$T/last.body"
}
[ "$(state /v2.1/os-services)" = up ] || fail "compute: $(cat "$T/last.body")"
jq -e '.services[0].binary == "nova-compute" and (.services[0].id | test("^[0-9a-f-]{36}$"))
  and .services[0].forced_down == false' "$T/last.body" >/dev/null || fail "$(cat "$T/last.body")"
[ "$(state "/v3/$PID_DEMO/os-services")" = up ] || fail "volume: $(cat "$T/last.body")"
api "$(api_token alice)" GET /v2.1/os-services >/dev/null
expect_fault 403 forbidden "Policy doesn't allow os_compute_api:os-services:list to be performed."
if [ -x /usr/bin/openstack ]; then
  password_env admin demo
  export OS_IDENTITY_API_VERSION=3
  /usr/bin/python3 /usr/bin/openstack compute service list -f value -c Host -c State >"$T/out" \
    2>"$T/err" || fail "compute service list: $(cat "$T/err")"
  grep -qx "host1 up" "$T/out" || fail "compute service list: $(cat "$T/out")"
fi
kill "$HOST_PID"; wait "$HOST_PID" 2>/dev/null || true; HOST_PID=
rm -f "$T/qmp.sock" "$T/nbd.sock"
[ "$(state /v2.1/os-services)" = down ] || fail "compute after kill: $(cat "$T/last.body")"
[ "$(state "/v3/$PID_DEMO/os-services")" = down ] || fail "volume after kill: $(cat "$T/last.body")"
if [ -x /usr/bin/openstack ]; then
  /usr/bin/python3 /usr/bin/openstack volume service list -f value -c Host -c State >"$T/out" \
    2>"$T/err" || fail "volume service list: $(cat "$T/err")"
  grep -qx "host1@volswap down" "$T/out" || fail "volume service list: $(cat "$T/out")"
fi
host_start
[ "$(state /v2.1/os-services)" = up ] || fail "compute after restart: $(cat "$T/last.body")"
echo ok
