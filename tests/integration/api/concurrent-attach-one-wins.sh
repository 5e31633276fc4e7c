#!/usr/bin/env bash
# Eight servers race to attach the same volume: the reserve transition is
# atomic in the registry, so exactly one wins (200) and every other gets
# Cinder's 400; the host exports the volume exactly once.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
sids=()
for i in $(seq 8); do
  sids+=("$(api "$tok" POST /v2.1/servers "{\"server\":{\"name\":\"s$i\"}}" | jq -r .server.id)")
done
pids=()
for i in $(seq 0 7); do
  curl -sS -o "$T/r$i" -w '%{http_code}\n' -H "X-Auth-Token: $tok" -H 'Content-Type: application/json' \
    -d "{\"volumeAttachment\":{\"volumeId\":\"$VID\"}}" \
    "$URL/v2.1/servers/${sids[$i]}/os-volume_attachments" >"$T/code$i" &
  pids+=($!)
done
wait "${pids[@]}"   # not the daemons
[ "$(cat "$T"/code* | grep -c '^200$')" = 1 ] || fail "winners: $(cat "$T"/code* | tr '\n' ' ')"
[ "$(cat "$T"/code* | grep -c '^400$')" = 7 ] || fail "losers: $(cat "$T"/code* | tr '\n' ' ')"
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-block-exports | jq -e 'length == 1' >/dev/null || fail "exports"
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume.status == "in-use" and (.volume.attachments | length) == 1' "$T/last.body" >/dev/null || fail "volume"
