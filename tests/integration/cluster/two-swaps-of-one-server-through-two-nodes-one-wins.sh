#!/usr/bin/env bash
# Two swaps of one server, of two different volumes, asked at the same
# moment through two different nodes: exactly one is accepted (202), the
# other gets Nova's 409 and changes nothing; the winner completes with the
# data on its new volume.
. "$VOLSWAP_SRC/tests/integration/cluster/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
cluster_setup 3
attached_pair 1 4
V3=$(new_volume "$ADMIN_TOKEN" 1); V4=$(new_volume "$ADMIN_TOKEN" 1)
attach "$ADMIN_TOKEN" "$SID" "$V3"; expect_status 200
put() {  # put NODE OLD NEW OUT
  curl -sS -o "$T/$4.body" -w '%{http_code}' -X PUT -H "X-Auth-Token: $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' -H 'OpenStack-API-Version: compute 2.79' \
    -d "{\"volumeAttachment\":{\"volumeId\":\"$3\"}}" \
    "${NODE_URL[$1]}/v2.1/servers/$SID/os-volume_attachments/$2" >"$T/$4.code"
}
put 1 "$OLD" "$NEW" a & pa=$!
put 2 "$V3" "$V4" b & pb=$!
wait "$pa" "$pb"
codes="$(cat "$T/a.code") $(cat "$T/b.code")"
case "$codes" in
  "202 409") winner=a; loser=b ;;
  "409 202") winner=b; loser=a ;;
  *) fail "expected one 202 and one 409, got $codes: $(cat "$T/a.body" "$T/b.body")" ;;
esac
jq -e '.conflictingRequest.code == 409' "$T/$loser.body" >/dev/null || fail "not Nova's fault: $(cat "$T/$loser.body")"
[ "$(reg_sql "SELECT count(*) FROM swaps WHERE server_id='$SID'")" = 1 ] || fail "two swap records"
if [ $winner = a ]; then ov=$OLD nv=$NEW lo=$V3 ln=$V4; else ov=$V3 nv=$V4 lo=$OLD ln=$NEW; fi
[ "$(volume_field "$lo" status)" = in-use ] && [ "$(volume_field "$ln" status)" = available ] \
  || fail "the refused swap changed states: $(volume_field "$lo" status) / $(volume_field "$ln" status)"
[ "$(wait_settled "$(latest_swap "$SID")")" = done ] || fail "the accepted swap did not complete"
attached_volume "$SID" | grep -qx "$nv" || fail "the server is not on $nv"
[ $winner = a ] && file_check "$(volume_path "$NEW")" 0x5a 4
echo ok
