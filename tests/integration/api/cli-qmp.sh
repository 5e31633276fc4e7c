#!/usr/bin/env bash
# `volswap qmp` talks to a host daemon's monitor (qemu-storage-daemon here):
# it pretty-prints a reply, passes JSON arguments, reports a QMP error class
# and message with exit 1, rejects bad JSON arguments with exit 2, and with
# --events prints the events that follow (BLOCK_EXPORT_DELETED here).
. "$(dirname "$0")/lib.sh"
host_start
V=$CLI_BIN
truncate -s 1M "$T/disk"
"$V" qmp --socket "$T/qmp.sock" query-version >"$T/out"
grep -q '"qemu": {' "$T/out" || fail "pretty print: $(cat "$T/out")"
"$V" --json qmp --socket "$T/qmp.sock" blockdev-add "{\"driver\":\"file\",\"filename\":\"$T/disk\",\"node-name\":\"n0\"}" | grep -qx '{}' || fail "blockdev-add"
"$V" --json qmp --socket "$T/qmp.sock" block-export-add '{"type":"nbd","id":"e0","node-name":"n0","name":"disk"}' >/dev/null
"$V" --json qmp --socket "$T/qmp.sock" query-block-exports | jq -e '.[0].id == "e0"' >/dev/null || fail "export listed"
set +e
"$V" qmp --socket "$T/qmp.sock" blockdev-del '{"node-name":"nope"}' 2>"$T/err"; rc=$?
"$V" qmp --socket "$T/qmp.sock" query-version '{not json' 2>/dev/null; rc2=$?
"$V" qmp --socket "$T/nowhere.sock" query-version 2>"$T/err3"; rc3=$?
set -e
[ $rc -eq 1 ] && grep -q "^ERROR (GenericError): Failed to find node with node-name='nope'" "$T/err" || fail "error: $rc $(cat "$T/err")"
[ $rc2 -eq 2 ] || fail "bad JSON args exit $rc2"
[ $rc3 -eq 1 ] && grep -q ConnectionError "$T/err3" || fail "no socket: $rc3"
"$V" --json qmp --socket "$T/qmp.sock" --events --timeout 1 block-export-del '{"id":"e0"}' >"$T/ev"
head -n1 "$T/ev" | grep -qx '{}' || fail "reply first"
grep -q '"event": *"BLOCK_EXPORT_DELETED"' "$T/ev" || grep -q '"event":"BLOCK_EXPORT_DELETED"' "$T/ev" || fail "event: $(cat "$T/ev")"
