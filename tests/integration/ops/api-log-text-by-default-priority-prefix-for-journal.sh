#!/usr/bin/env bash
# volswap-api logs text by default: "volswap-api[SECONDS.MILLIS] LEVEL: "
# and, for a request's lines, its request id. When its stderr is the
# journal's stream (JOURNAL_STREAM names that file's device and inode, as
# systemd sets it), a line is "<PRIORITY>" and the message, without the
# time the journal adds itself. --log-format takes text or json only.
. "$VOLSWAP_SRC/tests/integration/api/lib.sh"
api_setup
make_volume_and_server "$ADMIN_TOKEN"
id=$(header x-openstack-request-id)
api_stop
grep -Eq '^volswap-api\[[0-9]+\.[0-9]{3}\] info: listening on http://' "$T/api.log" ||
  fail "no text listening line: $(head -3 "$T/api.log")"
grep -Eq "^volswap-api\[[0-9]+\.[0-9]{3}\] info: $id POST /v2.1/servers -> 202\$" "$T/api.log" ||
  fail "no text reply line for $id: $(grep -- "$id" "$T/api.log")"
if grep -v '^volswap-api\[' "$T/api.log" | grep -q .; then
  fail "a line in another form: $(grep -v '^volswap-api\[' "$T/api.log" | head -3)"
fi

# under the journal: the priority, no time
: >"$T/journal.log"
export JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal.log")
"$API_BIN" --config "$T/api.json" --port-file "$T/port2" --verbose 2>>"$T/journal.log" &
API_PID=$!
for _ in $(seq 200); do [ -s "$T/port2" ] && break; sleep 0.05; done
[ -s "$T/port2" ] || fail "volswap-api did not start: $(cat "$T/journal.log")"
api_stop
unset JOURNAL_STREAM
grep -Eq '^<6>listening on http://' "$T/journal.log" || fail "journal line: $(head -3 "$T/journal.log")"
grep -Eq '^<4>config .* is accessible to every user' "$T/journal.log" || fail "no warning at priority 4"
if grep -q 'volswap-api\[' "$T/journal.log"; then fail "a time stamp for the journal"; fi

rc=0
"$API_BIN" --config "$T/api.json" --log-format xml 2>"$T/err" || rc=$?
[ "$rc" = 2 ] || fail "--log-format xml exits $rc"
grep -q "log-format" "$T/err" || fail "no word about --log-format: $(cat "$T/err")"
echo ok
