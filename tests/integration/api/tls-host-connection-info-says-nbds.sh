#!/usr/bin/env bash
# A host whose NBD server requires TLS ("nbd": {..., "tls_creds": "tls0"} in
# the config, the daemon started with those credentials): the attachment's
# connection_info says so, with an nbds+unix:// URI and "tls": true; a TLS
# client reaches the volume through that URI and its writes land in the
# volume file, while a plaintext client is refused. Host daemon:
# VOLSWAP_TEST_HOST_DAEMON (qemu-storage-daemon by default; the volswapd-host-
# variant of this test runs it on volswapd).
. "$(dirname "$0")/lib.sh"
command -v nbdinfo >/dev/null || skip "nbdinfo not installed"
/usr/bin/python3 -c "import nbd" 2>/dev/null || skip "python3-libnbd not installed"
export VOLSWAP_TEST_DRIVER=volswapd VOLSWAP_TEST_TLS=1
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
uri=$(export_uri "$tok" "$SID" "$VID")
case "$uri" in nbds+unix:///*"?socket=$T/nbd.sock") ;; *) fail "URI $uri" ;; esac
aid=$(api "$tok" GET "/v2.1/servers/$SID/os-volume_attachments/$VID" "" -H 'OpenStack-API-Version: compute 2.89' | jq -r .volumeAttachment.attachment_id)
api "$tok" GET "/v3/$(project_id demo)/attachments/$aid" "" -H 'OpenStack-API-Version: volume 3.27' |
  jq -e '.attachment.connection_info.data.tls == true' >/dev/null || fail "data.tls is not true"
[ "$(nbdinfo --size "$uri&tls-certificates=$T/pki")" = 1073741824 ] || fail "TLS client: export size"
/usr/bin/python3 -c 'import nbd, sys
h = nbd.NBD()
h.set_uri_allow_local_file(True)
h.connect_uri(sys.argv[1])
h.pwrite(b"over tls" * 64, 4096)
h.flush()' "$uri&tls-certificates=$T/pki"
dd if="$T/pool/volume-$VID" bs=512 skip=8 count=1 status=none | grep -q 'over tlsover tls' ||
  fail "write over TLS did not reach the volume file"
plain=$(echo "$uri" | sed 's|^nbds+unix|nbd+unix|')
if nbdinfo --size "$plain" 2>/dev/null; then fail "a plaintext client was served"; fi
api "$tok" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null; expect_status 202
echo ok
