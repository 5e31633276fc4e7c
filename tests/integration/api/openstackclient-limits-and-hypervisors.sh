#!/usr/bin/env bash
# The operators' capacity views through the unmodified clients: `openstack
# limits show --absolute` (Nova's and Cinder's limits), `nova
# absolute-limits`, `cinder absolute-limits`, and `openstack hypervisor
# list/show`. volswap enforces no quotas, so the limits say -1 (Nova's and
# Cinder's "unlimited") except the 128 metadata items it does enforce; the
# used figures count the project's servers and volumes; the hypervisor is
# the configured host, up while its daemon answers and down once it is
# killed; only an admin may list hypervisors.
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
osc limits show --absolute -f json >"$T/out" || fail "limits show: $(cat "$T/openstack.err")"
lim() { jq -r --arg n "$1" '.[] | select(.Name == $n) | .Value' "$T/out"; }
[ "$(lim totalInstancesUsed)" = 1 ] || fail "totalInstancesUsed: $(cat "$T/out")"
[ "$(lim totalCoresUsed)" = 1 ] && [ "$(lim totalRAMUsed)" = 512 ] || fail "cores/RAM used: $(cat "$T/out")"
[ "$(lim maxTotalInstances)" = -1 ] || fail "maxTotalInstances: $(cat "$T/out")"
[ "$(lim maxServerMeta)" = 128 ] || fail "maxServerMeta: $(cat "$T/out")"
[ "$(lim totalVolumesUsed)" = 1 ] && [ "$(lim totalGigabytesUsed)" = 1 ] || fail "volumes used: $(cat "$T/out")"
[ "$(lim maxTotalVolumes)" = -1 ] || fail "maxTotalVolumes: $(cat "$T/out")"
pyclient nova limits >"$T/out" || fail "nova limits: $(cat "$T/nova.err")"
grep -E '^\| Instances +\| 1 +\| -1 +\|' "$T/out" >/dev/null || fail "nova limits: $(cat "$T/out")"
pyclient cinder absolute-limits >"$T/out" || fail "cinder absolute-limits: $(cat "$T/cinder.err")"
grep -E '^\| totalVolumesUsed +\| 1 +\|' "$T/out" >/dev/null || fail "cinder absolute-limits: $(cat "$T/out")"

# hypervisors: admin only
if osc hypervisor list >/dev/null; then fail "a member listed hypervisors"; fi
grep -q "403\|Policy\|HTTP 403" "$T/openstack.err" || fail "member: $(cat "$T/openstack.err")"
password_env admin demo
osc hypervisor list -f json >"$T/out" || fail "hypervisor list: $(cat "$T/openstack.err")"
jq -e 'length == 1 and .[0]["Hypervisor Hostname"] == "host1" and .[0].State == "up"' "$T/out" \
  >/dev/null || fail "hypervisor list: $(cat "$T/out")"
osc hypervisor show host1 -f json >"$T/out" || { grep -i hypervisor "$T/api.log" | tail -5; fail "hypervisor show: $(cat "$T/openstack.err")"; }
jq -e '.running_vms == 1 and .state == "up" and .hypervisor_version > 0' "$T/out" >/dev/null \
  || fail "hypervisor show: $(cat "$T/out")"
kill "$HOST_PID"; wait "$HOST_PID" 2>/dev/null || true; HOST_PID=
osc hypervisor list -f json >"$T/out" || fail "hypervisor list, host down: $(cat "$T/openstack.err")"
jq -e '.[0].State == "down"' "$T/out" >/dev/null || fail "host down: $(cat "$T/out")"
echo ok
