#!/usr/bin/env bash
# A consumer registered the way an operator boots a server, with the
# unmodified openstack client: `openstack flavor list` shows the one
# flavor, `openstack server create --flavor volswap --volume V --wait`
# comes back ACTIVE with V attached as /dev/vda and exported on the host;
# at microversion 2.37 `--nic none` works too; `openstack server delete`
# leaves the volumes available.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/openstack ] || skip "python3-openstackclient not installed"
pyclients_start           # the clients import while the daemons start
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}' >/dev/null; expect_status 202
V2=$(jq -r .volume.id "$T/last.body")
# Nova boots only from a bootable volume; a blank one is not until marked
for v in "$VID" "$V2"; do
  api "$tok" POST "/v3/$PID_DEMO/volumes/$v/action" '{"os-set_bootable":{"bootable":true}}' >/dev/null
  expect_status 200
done
password_env alice demo
export OS_IDENTITY_API_VERSION=3
osc() { pyclient openstack "$@"; }
osc flavor list -f value -c ID -c Name >"$T/out" || fail "flavor list: $(cat "$T/openstack.err")"
grep -qx "volswap volswap" "$T/out" || fail "flavors: $(cat "$T/out")"
osc server create --flavor volswap --volume "$VID" --wait -f value -c status boot1 \
  >"$T/out" || fail "server create: $(cat "$T/openstack.err")"
grep -qx ACTIVE "$T/out" || fail "create: $(cat "$T/out")"
osc server volume list boot1 -f value -c Device -c "Volume ID" >"$T/out" || fail "volume list: $(cat "$T/openstack.err")"
grep -qx "/dev/vda $VID" "$T/out" || fail "boot volume: $(cat "$T/out")"
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-block-exports | jq -e 'length == 1' >/dev/null \
  || fail "boot volume not exported"
osc --os-compute-api-version 2.37 server create --flavor volswap --volume "$V2" --nic none boot2 \
  >/dev/null || fail "server create 2.37: $(cat "$T/openstack.err")"
api "$tok" GET "/v3/$PID_DEMO/volumes/$V2" >/dev/null
jq -e '.volume.status == "in-use"' "$T/last.body" >/dev/null || fail "second boot volume: $(cat "$T/last.body")"
osc server delete --wait boot1 boot2 || fail "server delete: $(cat "$T/openstack.err")"
for v in "$VID" "$V2"; do
  api "$tok" GET "/v3/$PID_DEMO/volumes/$v" >/dev/null
  jq -e '.volume.status == "available"' "$T/last.body" >/dev/null || fail "volume $v: $(cat "$T/last.body")"
done
echo ok
