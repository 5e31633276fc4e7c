#!/usr/bin/env bash
# An attach of a volume through one node races the volume's delete through
# another: exactly one wins. Either the attach (200) and the delete gets
# Cinder's 400 (the volume is no longer available), or the delete (202)
# and the attach gets a 4xx with the volume gone; never both, never an
# attachment to a deleted volume. Five rounds.
. "$VOLSWAP_SRC/tests/integration/cluster/lib.sh"
. "$VOLSWAP_SRC/tests/integration/cluster/race.sh"
cluster_setup 3
for round in 1 2 3 4 5; do
  V=$(new_volume "$ADMIN_TOKEN" 1); S=$(new_server "$ADMIN_TOKEN")
  race 2 POST "/v2.1/servers/$S/os-volume_attachments" "{\"volumeAttachment\":{\"volumeId\":\"$V\"}}" \
       3 DELETE "/v3/$PID_DEMO/volumes/$V" ""
  on 1
  api "$ADMIN_TOKEN" GET "/v3/$PID_DEMO/volumes/$V" >/dev/null
  case "$CODE_A $CODE_B" in
    "200 400")
      jq -e '.badRequest.code == 400' "$T/b.body" >/dev/null || fail "round $round: delete's fault: $(cat "$T/b.body")"
      [ "$STATUS" = 200 ] && [ "$(jq -r .volume.status "$T/last.body")" = in-use ] \
        || fail "round $round: attach won but the volume is $(cat "$T/last.body")" ;;
    "400 202"|"404 202")
      [ "$(attached_volume "$S")" = "" ] || fail "round $round: an attachment to a deleted volume"
      [ "$STATUS" = 404 ] || [ "$(jq -r .volume.status "$T/last.body")" = deleting ] \
        || fail "round $round: delete won but the volume is $(cat "$T/last.body")" ;;
    *) fail "round $round: attach $CODE_A, delete $CODE_B: $(cat "$T/a.body" "$T/b.body")" ;;
  esac
  echo "round $round: attach $CODE_A, delete $CODE_B"
done
echo ok
