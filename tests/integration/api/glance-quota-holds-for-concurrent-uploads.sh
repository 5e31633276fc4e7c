#!/usr/bin/env bash
# images.quota_bytes holds however many uploads run at once: with a 3 MiB
# quota, two 2 MiB uploads sent side by side (slowly, so that both are
# under way together) end with one image active and the other refused
# with 413 and queued again, never both kept; so do two uploads of
# unknown length (chunked), which reserve their room as they go.
. "$(dirname "$0")/lib.sh"
export VOLSWAP_TEST_IMAGE_QUOTA=$((3 * 1024 * 1024))
api_setup
tok=$(api_token alice)
head -c $((2 * 1024 * 1024)) /dev/urandom >"$T/data"
new_image() {
  api "$tok" POST /image/v2/images "{\"name\":\"$1\"}" >/dev/null; expect_status 201
  jq -r .id "$T/last.body"
}
# upload IMAGE OUT [curl args]: the status code into OUT
upload() {
  local id=$1 out=$2; shift 2
  curl -sS -o /dev/null -w '%{http_code}' --limit-rate 1M -X PUT -H "X-Auth-Token: $tok" \
    -H 'Content-Type: application/octet-stream' "$@" --data-binary @"$T/data" \
    "$URL/image/v2/images/$id/file" >"$out" 2>/dev/null || true
}
round() {
  local a b
  a=$(new_image "$1-a"); b=$(new_image "$1-b")
  shift
  upload "$a" "$T/a.code" "$@" & local pa=$!
  upload "$b" "$T/b.code" "$@" & local pb=$!
  wait $pa $pb
  local codes
  codes=$(sort "$T/a.code" "$T/b.code" | tr '\n' ' ')
  [ "$codes" = "204 413 " ] || fail "two uploads past the quota ended $codes"
  local active=0 queued=0
  for id in "$a" "$b"; do
    api "$tok" GET "/image/v2/images/$id" >/dev/null
    case $(jq -r .status "$T/last.body") in
      active) active=$((active + 1)) ;;
      queued) queued=$((queued + 1)) ;;
    esac
  done
  [ "$active$queued" = 11 ] || fail "images after the race: $active active, $queued queued"
  [ "$(find "$T/images" -type f | wc -l)" = 1 ] || fail "store: $(ls -l "$T/images")"
  # make room for the next round
  for id in "$a" "$b"; do api "$tok" DELETE "/image/v2/images/$id" >/dev/null; done
}
round sized
round chunked -H 'Transfer-Encoding: chunked'
echo ok
