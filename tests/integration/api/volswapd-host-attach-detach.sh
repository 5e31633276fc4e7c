#!/usr/bin/env bash
# The same attach and detach with our own daemon, volswapd, as the host
# (driver volswapd): its QMP monitor takes blockdev-add and block-export-add,
# nbdinfo sees the export at connection_info, data written through it lands
# in the volume file, and detach removes export and node. (Every test of this
# folder runs against volswapd with VOLSWAP_TEST_HOST_DAEMON=volswapd.)
. "$(dirname "$0")/lib.sh"
command -v nbdinfo >/dev/null || skip "nbdinfo not installed"
/usr/bin/python3 -c "import nbd" 2>/dev/null || skip "python3-libnbd not installed"
[ -x "$VOLSWAP_BUILD/src/daemon/volswapd" ] || skip "volswapd not built"
export VOLSWAP_TEST_HOST_DAEMON=volswapd VOLSWAP_TEST_DRIVER=volswapd
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
uri=$(export_uri "$tok" "$SID" "$VID")
[ "$(nbdinfo --size "$uri")" = 1073741824 ] || fail "export size"
/usr/bin/python3 -m nbd -u "$uri" -c 'h.pwrite(b"volswapd" * 64, 4096); h.flush()'
dd if="$T/pool/volume-$VID" bs=512 skip=8 count=1 status=none | grep -q 'volswapdvolswapd' || fail "write did not reach the file"
api "$tok" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null; expect_status 202
if nbdinfo --size "$uri" 2>/dev/null; then fail "export still served"; fi
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-block-exports | jq -e '. == []' >/dev/null || fail "export left"
