#!/usr/bin/env bash
# The swap-progress extension: 404 before any swap; while the (rate-
# limited) mirror copies 40 MiB, state "running", phase "mirroring", bytes_done
# growing between two samples, a rate and an ETA; once over, "completed",
# phase "done", nothing remaining, the pivot pause and the timings; the same
# record is found through the new volume's id; another project's member
# does not see the server (404).
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$((8 * $(slow_speed)))
swap_setup
attached_pair 1 40
api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID/os-volume_attachments/$OLD/swap-progress" >/dev/null
expect_fault 404 itemNotFound "No volume swap"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
wait_phase "$SID" "$OLD" mirroring
P1=$(progress "$SID" "$OLD")
[ "$(echo "$P1" | jq -r .state)" = running ] || fail "state: $P1"
D1=$(echo "$P1" | jq .bytes_done)
# the job reports progress in chunks: sample until it moves
for _ in $(seq 300); do
  P2=$(progress "$SID" "$NEW")
  [ "$(echo "$P2" | jq -r .state)" = running ] || fail "ended before progress was seen: $P2"
  [ "$(echo "$P2" | jq .bytes_done)" -gt "$D1" ] && break
  sleep 0.1
done
[ "$(echo "$P2" | jq .bytes_done)" -gt "$D1" ] || fail "no progress: $P1 / $P2"
echo "$P2" | jq -e '.rate_bytes_per_sec > 0 and (.eta_seconds | type) == "number" and .bytes_remaining > 0 and .percent < 100' >/dev/null \
  || fail "running figures: $P2"
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
P3=$(progress "$SID" "$NEW")
echo "$P3" | jq -e '.phase == "done" and .bytes_remaining == 0 and .percent == 100 and (.pivot_pause_ms | type) == "number" and .mirror_ms > 0 and .total_ms >= .mirror_ms and .error == null' >/dev/null \
  || fail "final figures: $P3"
api "$(api_token bob other)" GET "/v2.1/servers/$SID/os-volume_attachments/$NEW/swap-progress" >/dev/null
expect_fault 404 itemNotFound "Instance $SID could not be found."
echo ok
