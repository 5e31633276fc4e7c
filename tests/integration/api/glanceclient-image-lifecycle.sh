#!/usr/bin/env bash
# Debian's python3-glanceclient (the `glance` command, image API v2)
# against volswap-api: image-create --file uploads 3 MiB (past the API's
# 1 MiB cap on JSON bodies) and the image is active with their MD5;
# image-update sets a custom property (a JSON patch); image-list shows the
# image; image-download gives the bytes back; image-delete removes it.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/glance ] || skip "python3-glanceclient not installed"
api_setup
password_env alice demo
export OS_IMAGE_API_VERSION=2
g() { /usr/bin/python3 /usr/bin/glance "$@" 2>"$T/glance.err"; }
head -c $((3 * 1024 * 1024)) /dev/urandom >"$T/data"
g image-create --name gc1 --disk-format raw --container-format bare --file "$T/data" \
  >"$T/out" || fail "image-create: $(cat "$T/glance.err")"
IID=$(awk '$2 == "id" {print $4}' "$T/out")
[ -n "$IID" ] || fail "no id: $(cat "$T/out")"
tok=$(api_token alice)
api "$tok" GET "/image/v2/images/$IID" >/dev/null; expect_status 200
jq -e --arg md5 "$(md5sum <"$T/data" | cut -d' ' -f1)" \
  '.status == "active" and .size == 3145728 and .checksum == $md5' "$T/last.body" >/dev/null \
  || fail "after create: $(cat "$T/last.body")"
g image-update --property os_distro=cirros "$IID" >/dev/null || fail "image-update: $(cat "$T/glance.err")"
api "$tok" GET "/image/v2/images/$IID" >/dev/null
jq -e '.os_distro == "cirros"' "$T/last.body" >/dev/null || fail "property: $(cat "$T/last.body")"
g image-list >"$T/out" || fail "image-list: $(cat "$T/glance.err")"
grep -q "$IID" "$T/out" || fail "image-list: $(cat "$T/out")"
g image-download --file "$T/back" "$IID" || fail "image-download: $(cat "$T/glance.err")"
cmp "$T/data" "$T/back" || fail "downloaded bytes differ"
g image-delete "$IID" || fail "image-delete: $(cat "$T/glance.err")"
api "$tok" GET "/image/v2/images/$IID" >/dev/null; expect_status 404
echo ok
