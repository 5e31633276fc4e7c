#!/usr/bin/env bash
# Quotas through the unmodified clients: `openstack quota show` (Nova's and
# Cinder's quota sets), `nova quota-show`, `cinder quota-show` and `cinder
# quota-usage` show -1 (unlimited) by default but the 128 metadata items
# volswap always enforces, and the project's usage. A member may not set
# quotas (403). An admin's `openstack quota set` of instances, volumes and
# gigabytes is enforced: the next server is refused with Nova's 403, the
# next volume with Cinder's 413, a volume larger than per_volume_gigabytes
# and an extend past the gigabytes too; `nova limits` shows the maxima. A
# limit below what is used needs --force; key pairs, and snapshots (which
# volswap never holds: a limit that cannot bind) are stored and shown, as
# Nova and Cinder do; deleting the project's quotas lifts the limits.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/openstack ] || skip "python3-openstackclient not installed"
need_novaclient
pyclients_start           # the clients import while the daemons start
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"      # one server, one 1 GiB volume
password_env alice demo
export OS_IDENTITY_API_VERSION=3
osc() { pyclient openstack "$@"; }
cinder() { pyclient cinder "$@"; }
nova() { pyclient nova "$@"; }
# a member names its project by id (listing projects by name is an
# admin's, as in Keystone)
osc quota show "$PID_DEMO" -f json >"$T/out" || fail "quota show: $(cat "$T/openstack.err")"
jq -e '.instances == -1 and .cores == -1 and .ram == -1 and .volumes == -1 and
       .gigabytes == -1 and .snapshots == -1' "$T/out" >/dev/null || fail "quota show: $(cat "$T/out")"
nova quota-show >"$T/out" || fail "nova quota-show: $(cat "$T/nova.err")"
grep -E '^\| instances +\| -1 +\|' "$T/out" >/dev/null || fail "nova quota-show: $(cat "$T/out")"
grep -E '^\| metadata_items +\| 128 +\|' "$T/out" >/dev/null || fail "nova quota-show: $(cat "$T/out")"
cinder quota-usage "$PID_DEMO" >"$T/out" || fail "cinder quota-usage: $(cat "$T/cinder.err")"
grep -E '^\| volumes +\| 1 +\| 0 +\| -1 +\|' "$T/out" >/dev/null || fail "cinder quota-usage: $(cat "$T/out")"
grep -E '^\| gigabytes_pool1 +\| 1 +\|' "$T/out" >/dev/null || fail "cinder quota-usage per type: $(cat "$T/out")"
cinder quota-show "$PID_DEMO" >"$T/out" || fail "cinder quota-show: $(cat "$T/cinder.err")"
grep -E '^\| volumes +\| -1 +\|' "$T/out" >/dev/null || fail "cinder quota-show: $(cat "$T/out")"

if osc quota set --instances -1 "$PID_DEMO"; then fail "a member set a quota"; fi
grep -q "403\|Policy" "$T/openstack.err" || fail "member quota set: $(cat "$T/openstack.err")"
password_env admin demo
osc quota show demo -f json >"$T/out" || fail "admin quota show by name: $(cat "$T/openstack.err")"
osc quota set --instances 1 --volumes 2 --gigabytes 3 demo || fail "quota set: $(cat "$T/openstack.err")"
osc quota show demo -f json >"$T/out" || fail "quota show: $(cat "$T/openstack.err")"
jq -e '.instances == 1 and .volumes == 2 and .gigabytes == 3' "$T/out" >/dev/null || fail "quota show after set: $(cat "$T/out")"

# instances: one server exists, the second is refused
api "$tok" POST /v2.1/servers '{"server":{"name":"two"}}' >/dev/null
expect_fault 403 forbidden "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances"
nova limits >"$T/out" || fail "nova limits: $(cat "$T/nova.err")"
grep -E '^\| Instances +\| 1 +\| 1 +\|' "$T/out" >/dev/null || fail "nova limits: $(cat "$T/out")"
# volumes and gigabytes: one 1 GiB volume exists
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":3}}' >/dev/null
expect_status 413
grep -q "Requested 3G, quota is 3G and 1G has been consumed" "$T/last.body" || fail "gigabytes: $(cat "$T/last.body")"
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":2}}' >/dev/null; expect_status 202
v2=$(jq -r .volume.id "$T/last.body")
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}' >/dev/null
expect_status 413
grep -q "Maximum number of volumes allowed (2) exceeded for quota 'volumes'" "$T/last.body" || fail "volumes: $(cat "$T/last.body")"
api "$tok" POST "/v3/$PID_DEMO/volumes/$v2/action" '{"os-extend":{"new_size":3}}' >/dev/null
expect_status 413
osc quota set --gigabytes 10 --per-volume-gigabytes 2 demo || fail "quota set per volume: $(cat "$T/openstack.err")"
api "$tok" POST "/v3/$PID_DEMO/volumes/$v2/action" '{"os-extend":{"new_size":3}}' >/dev/null
expect_status 413
grep -q "Requested volume size 3G is larger than maximum allowed limit 2G" "$T/last.body" || fail "per volume: $(cat "$T/last.body")"

# below what is used: only with --force; key pairs and snapshots are kept
if osc quota set --instances 0 demo; then fail "a limit below usage was accepted"; fi
grep -q "must be greater than or equal to already used" "$T/openstack.err" || fail "below usage: $(cat "$T/openstack.err")"
osc quota set --instances 0 --force demo || fail "quota set --force: $(cat "$T/openstack.err")"
osc quota set --key-pairs 5 demo || fail "quota set key pairs: $(cat "$T/openstack.err")"
api "$ADMIN_TOKEN" PUT "/v3/$PID_DEMO/os-quota-sets/$PID_DEMO" '{"quota_set": {"snapshots": 10}}' >/dev/null
expect_status 200
osc quota show demo -f json >"$T/out" || fail "quota show: $(cat "$T/openstack.err")"
jq -e '."key-pairs" == 5 and .snapshots == 10' "$T/out" >/dev/null || fail "quota show after set: $(cat "$T/out")"

# delete: back to unlimited
api "$ADMIN_TOKEN" DELETE "/v2.1/os-quota-sets/$PID_DEMO" >/dev/null; expect_status 202
api "$ADMIN_TOKEN" DELETE "/v3/$PID_DEMO/os-quota-sets/$PID_DEMO" >/dev/null; expect_status 200
api "$tok" POST /v2.1/servers '{"server":{"name":"two"}}' >/dev/null; expect_status 202
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}' >/dev/null; expect_status 202
api "$ADMIN_TOKEN" GET "/v2.1/os-quota-sets/$PID_DEMO/detail" >/dev/null; expect_status 200
jq -e '.quota_set.instances == {"in_use": 2, "limit": -1, "reserved": 0}' "$T/last.body" >/dev/null \
  || fail "quota detail: $(cat "$T/last.body")"
echo ok
