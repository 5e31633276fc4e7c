#!/usr/bin/env bash
# The volswap CLI registers a server, lists servers, attaches a volume by
# server name, shows the attachment with its NBD export (which nbdinfo can
# open), lists instance actions, detaches; detaching again fails in one line.
. "$(dirname "$0")/lib.sh"
command -v nbdinfo >/dev/null || skip "nbdinfo not installed"
api_setup
password_env alice demo
V=$CLI_BIN
vid=$("$V" --json volume-create 1 | jq -r .volume.id)
sid=$("$V" --json server-create web | jq -r .server.id)
"$V" server-list >"$T/out"
grep -E "^\| $sid \| web +\| ACTIVE \|" "$T/out" >/dev/null || fail "server-list: $(cat "$T/out")"
"$V" volume-attach web "$vid" >"$T/out"
grep -E "^\| device +\| /dev/vdb +\|$" "$T/out" >/dev/null || fail "attach: $(cat "$T/out")"
"$V" volume-attachments web >"$T/out"
uri=$("$V" --json volume-attachments web | jq -r '.volumeAttachments[0].export')
grep -F "| /dev/vdb | $vid | $uri |" "$T/out" >/dev/null || fail "attachments: $(cat "$T/out")"
[ "$(nbdinfo --size "$uri")" = 1073741824 ] || fail "export not served"
"$V" instance-action-list web >"$T/out"
grep -q "| attach_volume " "$T/out" || fail "actions: $(cat "$T/out")"
"$V" volume-detach web "$vid"
set +e
"$V" volume-detach web "$vid" 2>"$T/err"; rc=$?
"$V" volume-attach nosuch "$vid" 2>"$T/err2"; rc2=$?
set -e
[ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" = 1 ] || fail "second detach: $rc $(cat "$T/err")"
grep -q "is not attached to volume" "$T/err" || fail "detach message"
[ $rc2 -eq 1 ] && grep -q "No server with a name or ID of 'nosuch' exists." "$T/err2" || fail "unknown server"
