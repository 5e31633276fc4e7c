#!/usr/bin/env bash
# The unmodified Debian openstack client (python3-openstackclient, password
# auth through our Keystone catalog, which names an image service with no
# images) runs an operator's day: server and volume lists, a volume
# created, attached, listed as the server's, given properties (metadata) on
# both sides, detached and deleted, the server's events, and its delete.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/openstack ] || skip "python3-openstackclient not installed"
pyclients_start           # the clients import while the daemons start
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
password_env alice demo
export OS_IDENTITY_API_VERSION=3
osc() { pyclient openstack "$@"; }
osc server list -f value -c ID -c Name -c Status >"$T/out" || fail "server list: $(cat "$T/openstack.err")"
grep -qx "$SID srv ACTIVE" "$T/out" || fail "server list: $(cat "$T/out")"
osc volume create --size 1 -f value -c id v2 >"$T/out" || fail "volume create: $(cat "$T/openstack.err")"
v2=$(cat "$T/out")
osc volume list -f value -c ID -c Name -c Status >"$T/out" || fail "volume list: $(cat "$T/openstack.err")"
grep -qx "$v2 v2 available" "$T/out" || fail "volume list: $(cat "$T/out")"
osc server add volume srv v2 >/dev/null || fail "add volume: $(cat "$T/openstack.err")"
osc server volume list srv -f value -c "Volume ID" -c Device >"$T/out" || fail "server volume list: $(cat "$T/openstack.err")"
grep -qx "/dev/vdb $v2" "$T/out" || fail "server volume list: $(cat "$T/out")"
osc volume set --property tier=gold v2 || fail "volume set: $(cat "$T/openstack.err")"
osc server set --property role=db srv || fail "server set: $(cat "$T/openstack.err")"
api "$tok" GET "/v3/$PID_DEMO/volumes/$v2" >/dev/null
# the view's metadata carries Cinder's visible admin metadata too (attached_mode)
jq -e '.volume.metadata == {"tier":"gold","attached_mode":"rw"} and .volume.status == "in-use"' "$T/last.body" >/dev/null \
  || fail "volume: $(cat "$T/last.body")"
api "$tok" GET "/v2.1/servers/$SID" >/dev/null
jq -e '.server.metadata == {"role":"db"}' "$T/last.body" >/dev/null || fail "server: $(cat "$T/last.body")"
osc server remove volume srv v2 || fail "remove volume: $(cat "$T/openstack.err")"
osc volume delete v2 || fail "volume delete: $(cat "$T/openstack.err")"
osc server event list srv -f value -c Action >"$T/out" || fail "event list: $(cat "$T/openstack.err")"
for a in create attach_volume detach_volume; do grep -qx "$a" "$T/out" || fail "events: $(cat "$T/out")"; done
osc server delete srv || fail "server delete: $(cat "$T/openstack.err")"
osc server list -f value -c ID >"$T/out" || fail "server list: $(cat "$T/openstack.err")"
[ ! -s "$T/out" ] || fail "servers left: $(cat "$T/out")"
echo ok
