#!/usr/bin/env bash
# The openstack client's image and volume commands together: `openstack
# image create --file` uploads an image; `openstack volume create --image`
# makes a volume holding the image's bytes at its start, bootable, with
# volume_image_metadata naming the image; `openstack image create
# --volume` (os-volume_upload_image) makes an image of the volume, whose
# data is the volume's bytes, the volume available again.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/openstack ] || skip "python3-openstackclient not installed"
api_setup
password_env alice demo
export OS_IDENTITY_API_VERSION=3
osc() { /usr/bin/python3 /usr/bin/openstack "$@" 2>"$T/osc.err"; }
head -c $((2 * 1024 * 1024 + 5)) /dev/urandom >"$T/data"
osc image create --disk-format raw --container-format bare --file "$T/data" -f value -c id img1 \
  >"$T/out" || fail "image create: $(cat "$T/osc.err")"
IID=$(cat "$T/out")
osc volume create --image img1 --size 1 -f value -c id vol1 >"$T/out" \
  || fail "volume create: $(cat "$T/osc.err")"
VID=$(cat "$T/out")
tok=$(api_token alice)
PID_DEMO=$(project_id demo)
for _ in $(seq 200); do
  api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
  [ "$(jq -r .volume.status "$T/last.body")" = available ] && break
  sleep 0.1
done
jq -e --arg i "$IID" '.volume.status == "available" and .volume.bootable == "true" and
  .volume.volume_image_metadata.image_id == $i and .volume.volume_image_metadata.image_name == "img1"' \
  "$T/last.body" >/dev/null || fail "volume: $(cat "$T/last.body")"
path=$(reg_sql "SELECT path FROM volumes WHERE id='$VID'")
cmp -n $((2 * 1024 * 1024 + 5)) "$T/data" "$path" || fail "the volume does not hold the image's bytes"
# and back: the volume's bytes (1 GiB, the image's at its start) as a new image
osc image create --volume vol1 img2 >/dev/null || fail "image create --volume: $(cat "$T/osc.err")"
for _ in $(seq 600); do
  api "$tok" GET "/image/v2/images?name=img2" >/dev/null
  [ "$(jq -r '.images[0].status' "$T/last.body")" = active ] && break
  sleep 0.1
done
jq -e '.images[0].status == "active" and .images[0].size == 1073741824 and .images[0].disk_format == "raw"' \
  "$T/last.body" >/dev/null || fail "uploaded image: $(cat "$T/last.body")"
[ "$(jq -r '.images[0].checksum' "$T/last.body")" = "$(md5sum <"$path" | cut -d' ' -f1)" ] \
  || fail "the image's checksum is not the volume's"
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume.status == "available"' "$T/last.body" >/dev/null || fail "volume after upload: $(cat "$T/last.body")"
echo ok
