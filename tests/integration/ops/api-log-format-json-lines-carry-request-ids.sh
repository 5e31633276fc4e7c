#!/usr/bin/env bash
# volswap-api --log-format json: every line it logs is one JSON object with
# volswapd's keys (time, level, program, pid, msg); a request's lines carry
# its request id (the X-Openstack-Request-Id it answers with) and the
# caller's own id when it sent a valid one, also a line logged deep down
# (the host layer's, when the host does not answer); its reply line has
# method, path, status and duration_us. A caller's id that is not
# req-<uuid> is not logged.
API_ARGS=(--log-format json)
. "$VOLSWAP_SRC/tests/integration/api/lib.sh"
api_setup
mine=req-$(cat /proc/sys/kernel/random/uuid)
make_volume_and_server "$ADMIN_TOKEN"
api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID" "" -H "X-Openstack-Request-Id: $mine" >/dev/null
expect_status 200
show_id=$(header x-openstack-request-id)
api "$ADMIN_TOKEN" GET /v2.1/servers/no-such-server "" -H 'X-Openstack-Request-Id: "quoted", not an id' >/dev/null
expect_status 404
missing_id=$(header x-openstack-request-id)
# the host goes away: the attach fails in the host layer, which logs why
kill "$HOST_PID"; wait "$HOST_PID" 2>/dev/null || true; HOST_PID=
attach "$ADMIN_TOKEN" "$SID" "$VID"
[ "$STATUS" -ge 500 ] || fail "attach without a host: $STATUS"
attach_id=$(header x-openstack-request-id)
api_stop;

grep -q . "$T/api.log" || fail "nothing logged"
# has FILTER [jq args]: some line of the log gives FILTER an output
has() { jq -n -e "${@:2}" "[inputs | $1] | length > 0" "$T/api.log"; }
while IFS= read -r line; do
  jq -e 'type == "object" and (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z$"))
         and (.level | IN("error", "warning", "info", "debug")) and .program == "volswap-api"
         and (.pid | type == "number") and (.msg | type == "string")' <<<"$line" >/dev/null \
    || fail "not a log record: $line"
done <"$T/api.log"
pids=$(jq -r .pid "$T/api.log" | sort -u)
[ "$(wc -l <<<"$pids")" = 1 ] || fail "lines of several processes: $pids"
has 'select(.msg | startswith("listening on http://127.0.0.1:")) | .url' >/dev/null ||
  fail "no listening line with its url"

# the GET's reply line: our id, the caller's, the request's fields
has 'select(.request_id == $id and .global_request_id == $mine and .method == "GET"
     and .path == $path and .status == 200 and (.duration_us | type == "number"))' \
  --arg id "$show_id" --arg mine "$mine" --arg path "/v2.1/servers/$SID" >/dev/null ||
  fail "no reply line for $show_id with $mine: $(grep -- "$show_id" "$T/api.log")"
# the caller's id that is not req-<uuid> is nowhere
if grep -q 'quoted' "$T/api.log"; then fail "a malformed caller id reached the log"; fi
has 'select(.request_id == $id and .status == 404 and (has("global_request_id") | not))' \
  --arg id "$missing_id" >/dev/null || fail "no reply line for the 404"
# the attach: the host layer's line and the reply line, both with its id
has 'select(.request_id == $id and .level == "error" and (.msg | startswith("host host1: QMP:")))' \
  --arg id "$attach_id" >/dev/null ||
  fail "the host layer's line lacks the attach's id: $(grep -- "$attach_id" "$T/api.log")"
has 'select(.request_id == $id and .status >= 500 and .level == "error")' --arg id "$attach_id" \
  >/dev/null || fail "no error reply line for the attach"
# lines of no request carry no request id
has 'select(.msg | startswith("signal ")) | select(has("request_id") | not)' >/dev/null ||
  fail "the shutdown line names a request"
echo ok
