#!/usr/bin/env bash
# The openstack client's image member commands against volswap-api: alice
# shares her (shared) image with project other (`openstack image add
# project`, pending); bob of other sees it with `image show` but not in
# `image list` until he accepts it (`image set --accept`); alice sees the
# membership accepted in `image member list`; once she removes it
# (`image remove project`) bob can no longer see the image at all.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/openstack ] || skip "python3-openstackclient not installed"
api_setup
export OS_IDENTITY_API_VERSION=3
osc() { /usr/bin/python3 /usr/bin/openstack "$@" 2>"$T/osc.err"; }
OTHER=$(project_id other bob)
password_env alice demo
head -c 4096 /dev/urandom >"$T/data"
osc image create --shared --disk-format raw --container-format bare --file "$T/data" \
  -f value -c id shared1 >"$T/out" || fail "image create: $(cat "$T/osc.err")"
IID=$(cat "$T/out")
osc image add project "$IID" "$OTHER" -f json >"$T/out" || fail "add project: $(cat "$T/osc.err")"
jq -e '.status == "pending"' "$T/out" >/dev/null || fail "add project: $(cat "$T/out")"
password_env bob other
osc image show -f value -c name "$IID" >"$T/out" || fail "member's show: $(cat "$T/osc.err")"
[ "$(cat "$T/out")" = shared1 ] || fail "member's show: $(cat "$T/out")"
osc image list -f value -c ID >"$T/out" || fail "image list: $(cat "$T/osc.err")"
! grep -q "$IID" "$T/out" || fail "a pending member lists the image"
osc image set --accept "$IID" || fail "image set --accept: $(cat "$T/osc.err")"
osc image list -f value -c ID >"$T/out" || fail "image list: $(cat "$T/osc.err")"
grep -q "$IID" "$T/out" || fail "an accepting member does not list the image: $(cat "$T/out")"
password_env alice demo
osc image member list -f value -c "Member ID" -c Status "$IID" >"$T/out" \
  || fail "member list: $(cat "$T/osc.err")"
[ "$(cat "$T/out")" = "$OTHER accepted" ] || fail "member list: $(cat "$T/out")"
osc image remove project "$IID" "$OTHER" || fail "remove project: $(cat "$T/osc.err")"
password_env bob other
! osc image show "$IID" >/dev/null || fail "a removed member still sees the image"
echo ok
