#!/usr/bin/env bash
# A host daemon that stops answering (SIGSTOP) must not hold the HTTP
# workers: with twelve attaches to it in flight (three for each of the
# four workers), GET /v2.1 and reads of the registry are still answered, every
# attach ends with a 503 that names the host instead of hanging, the
# volumes stay available, and once the daemon runs again attaches work.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
PID_DEMO=$(project_id demo)
vids=() sids=()
for i in $(seq 12); do
  api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}' >/dev/null; expect_status 202
  vids+=("$(jq -r .volume.id "$T/last.body")")
  api "$tok" POST /v2.1/servers "{\"server\":{\"name\":\"s$i\"}}" >/dev/null; expect_status 202
  sids+=("$(jq -r .server.id "$T/last.body")")
done
kill -STOP "$HOST_PID"
trap 'rc=$?; kill -CONT "$HOST_PID" 2>/dev/null; (exit $rc); cleanup' EXIT
pids=()
for i in $(seq 0 11); do
  curl -sS -m 60 -o "$T/att$i" -w '%{http_code}\n' -H "X-Auth-Token: $tok" -H 'Content-Type: application/json' \
    -d "{\"volumeAttachment\":{\"volumeId\":\"${vids[$i]}\"}}" \
    "$URL/v2.1/servers/${sids[$i]}/os-volume_attachments" >"$T/code$i" &
  pids+=($!)
done
sleep 1   # the attaches have reached the host
answered=0
for i in $(seq 10); do
  code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$URL/v2.1" || true)
  [ "$code" = 200 ] && answered=$((answered + 1))
  code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $tok" "$URL/v2.1/servers" || true)
  [ "$code" = 200 ] && answered=$((answered + 1))
done
echo "$answered/20 requests answered while the host hangs"
[ "$answered" = 20 ] || fail "the API stalled behind a hung host"
wait "${pids[@]}"
for i in $(seq 0 11); do
  code=$(cat "$T/code$i")
  case "$code" in 503|409) ;; *) fail "attach $i answered $code: $(cat "$T/att$i")";; esac
  grep -q host1 "$T/att$i" || fail "the fault does not name the host: $(cat "$T/att$i")"
  api "$tok" GET "/v3/$PID_DEMO/volumes/${vids[$i]}" >/dev/null
  [ "$(jq -r .volume.status "$T/last.body")" = available ] || fail "volume $i left $(jq -r .volume.status "$T/last.body")"
done
kill -CONT "$HOST_PID"
for _ in $(seq 30); do
  attach "$tok" "${sids[0]}" "${vids[0]}"
  [ "$STATUS" = 200 ] && break
  sleep 1
done
expect_status 200
echo PASS
