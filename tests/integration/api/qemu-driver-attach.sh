#!/usr/bin/env bash
# The `qemu` host driver against a real QEMU (qemu-system-x86_64, paused,
# TCG, no guest): the driver starts QEMU's NBD server itself, attach opens
# the volume in QEMU and exports it, nbdinfo sees it at connection_info, and
# detach removes it. This is the proof that the driver speaks QEMU's QMP.
. "$(dirname "$0")/lib.sh"
command -v nbdinfo >/dev/null || skip "nbdinfo not installed"
export VOLSWAP_TEST_HOST_DAEMON=qemu VOLSWAP_TEST_DRIVER=qemu VOLSWAP_TEST_NBD_START=true
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
uri=$(export_uri "$tok" "$SID" "$VID")
[ "$(nbdinfo --size "$uri")" = 1073741824 ] || fail "export size via QEMU"
# a second attach reuses the running NBD server ("already running" is fine)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
api "$tok" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null; expect_status 202
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-block-exports | jq -e 'length == 1' >/dev/null || fail "exports after detach"
