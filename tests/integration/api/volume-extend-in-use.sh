#!/usr/bin/env bash
# From Cinder 3.42 an in-use volume may be extended. The host grows its open
# node (block_resize) so the export the server uses changes size with the
# record; a host that cannot resize an exported node (QEMU refuses: the NBD
# export does not share the resize permission) gets a 400 and nothing
# changes. Either way the registry agrees with what the host serves.
. "$(dirname "$0")/lib.sh"
command -v nbdinfo >/dev/null || skip "nbdinfo not installed"
api_setup
tok=$(api_token alice)
pid=$(project_id demo)
G=$((1024 * 1024 * 1024))
vid=$(api "$tok" POST /v3/$pid/volumes '{"volume":{"size":1}}' | jq -r .volume.id)
sid=$(api "$tok" POST /v2.1/servers '{"server":{"name":"s"}}' | jq -r .server.id)
api "$tok" POST /v2.1/servers/$sid/os-volume_attachments "{\"volumeAttachment\":{\"volumeId\":\"$vid\"}}" >/dev/null
expect_status 200
api "$tok" POST /v3/$pid/volumes/$vid/action '{"os-extend":{"new_size":2}}' >/dev/null
expect_fault 400 badRequest "must be available to extend"
api "$tok" POST /v3/$pid/volumes/$vid/action '{"os-extend":{"new_size":2}}' -H 'OpenStack-API-Version: volume 3.42' >/dev/null
st=$STATUS
api "$tok" GET /v3/$pid/volumes/$vid >/dev/null
size=$(jq -r .volume.size "$T/last.body")
[ "$(jq -r .volume.status "$T/last.body")" = in-use ] || fail "status after extend: $(cat "$T/last.body")"
aid=$(api "$tok" GET /v2.1/servers/$sid/os-volume_attachments "" -H 'OpenStack-API-Version: compute 2.89' | jq -r '.volumeAttachments[0].attachment_id')
uri=$(api "$tok" GET /v3/$pid/attachments/$aid "" -H 'OpenStack-API-Version: volume 3.27' | jq -r .attachment.connection_info.data.uri)
served=$(nbdinfo --size "$uri")
case $st in
  202) [ "$size" = 2 ] && [ "$served" = $((2 * G)) ] || fail "extended: record $size, served $served" ;;
  400) [ "$size" = 1 ] && [ "$served" = $G ] && [ "$(stat -c %s "$T/pool/volume-$vid")" = $G ] ||
         fail "refused: record $size, served $served" ;;
  *) fail "extend answered $st" ;;
esac
