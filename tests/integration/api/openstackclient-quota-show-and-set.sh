#!/usr/bin/env bash
# Quotas through the unmodified clients: `openstack quota show` (Nova's and
# Cinder's quota sets), `nova quota-show`, `cinder quota-show` and
# `cinder quota-usage`. volswap enforces no quota, so every limit is -1
# ("unlimited") but the 128 metadata items it does enforce, and the usage
# counts the project's servers and volumes. An admin's `openstack quota
# set` to those values is accepted and changes nothing; any other value is
# refused with 400 (rather than stored and not enforced); a member may not
# set quotas at all (403).
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/openstack ] || skip "python3-openstackclient not installed"
need_novaclient
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"      # one server, one 1 GiB volume
password_env alice demo
export OS_IDENTITY_API_VERSION=3
osc() { /usr/bin/python3 /usr/bin/openstack "$@" 2>"$T/osc.err"; }
# a member names its project by id (listing projects by name is an
# admin's, as in Keystone)
osc quota show "$PID_DEMO" -f json >"$T/out" || fail "quota show: $(cat "$T/osc.err")"
jq -e '.instances == -1 and .cores == -1 and .ram == -1 and .volumes == -1 and
       .gigabytes == -1 and .snapshots == -1' "$T/out" >/dev/null || fail "quota show: $(cat "$T/out")"
nova quota-show >"$T/out" || fail "nova quota-show: $(cat "$T/nova.err")"
grep -E '^\| instances +\| -1 +\|' "$T/out" >/dev/null || fail "nova quota-show: $(cat "$T/out")"
grep -E '^\| metadata_items +\| 128 +\|' "$T/out" >/dev/null || fail "nova quota-show: $(cat "$T/out")"
/usr/bin/cinder quota-usage "$PID_DEMO" >"$T/out" 2>"$T/osc.err" || fail "cinder quota-usage: $(cat "$T/osc.err")"
grep -E '^\| volumes +\| 1 +\| 0 +\| -1 +\|' "$T/out" >/dev/null || fail "cinder quota-usage: $(cat "$T/out")"
grep -E '^\| gigabytes_pool1 +\| 1 +\|' "$T/out" >/dev/null || fail "cinder quota-usage per type: $(cat "$T/out")"
/usr/bin/cinder quota-show "$PID_DEMO" >"$T/out" 2>"$T/osc.err" || fail "cinder quota-show: $(cat "$T/osc.err")"
grep -E '^\| volumes +\| -1 +\|' "$T/out" >/dev/null || fail "cinder quota-show: $(cat "$T/out")"

if osc quota set --instances -1 "$PID_DEMO"; then fail "a member set a quota"; fi
grep -q "403\|Policy" "$T/osc.err" || fail "member quota set: $(cat "$T/osc.err")"
password_env admin demo
osc quota show demo -f json >"$T/out" || fail "admin quota show by name: $(cat "$T/osc.err")"
osc quota set --instances -1 --volumes -1 demo || fail "quota set to -1: $(cat "$T/osc.err")"
if osc quota set --instances 5 demo; then fail "an unenforceable quota was accepted"; fi
grep -q "volswap enforces no quotas" "$T/osc.err" || fail "quota set 5: $(cat "$T/osc.err")"
api "$ADMIN_TOKEN" PUT "/v3/$PID_DEMO/os-quota-sets/$PID_DEMO" '{"quota_set": {"gigabytes": 100}}' >/dev/null
expect_status 400
api "$ADMIN_TOKEN" GET "/v2.1/os-quota-sets/$PID_DEMO/detail" >/dev/null; expect_status 200
jq -e '.quota_set.instances == {"in_use": 1, "limit": -1, "reserved": 0}' "$T/last.body" >/dev/null \
  || fail "quota detail: $(cat "$T/last.body")"
echo ok
