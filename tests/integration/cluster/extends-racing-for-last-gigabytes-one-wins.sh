#!/usr/bin/env bash
# Two volumes of 1 GiB in a project with 4 GiB of quota: extends of each to
# 3 GiB through two nodes at the same moment want 4 GiB more where 2 are
# left. Exactly one wins (202) and the other gets Cinder's 413
# VolumeSizeExceedsAvailableQuota; the project never holds more than its
# quota, and once the winner ended its reservation is gone (an extend of
# the loser by the 0 GiB left is refused, a 1 GiB quota raise lets it).
. "$VOLSWAP_SRC/tests/integration/cluster/lib.sh"
. "$VOLSWAP_SRC/tests/integration/cluster/race.sh"
cluster_setup 3
A=$(new_volume "$ADMIN_TOKEN" 1); B=$(new_volume "$ADMIN_TOKEN" 1)
api "$ADMIN_TOKEN" PUT "/v3/$PID_DEMO/os-quota-sets/$PID_DEMO" '{"quota_set":{"gigabytes":4}}' >/dev/null
expect_status 200
race 1 POST "/v3/$PID_DEMO/volumes/$A/action" '{"os-extend":{"new_size":3}}' \
     3 POST "/v3/$PID_DEMO/volumes/$B/action" '{"os-extend":{"new_size":3}}'
case "$CODE_A $CODE_B" in
  "202 413") won=$A lost=$B; f=b ;;
  "413 202") won=$B lost=$A; f=a ;;
  *) fail "expected one 202 and one 413, got $CODE_A $CODE_B: $(cat "$T/a.body" "$T/b.body")" ;;
esac
grep -q VolumeSizeExceedsAvailableQuota "$T/$f.body" || fail "loser's fault: $(cat "$T/$f.body")"
[ "$(volume_field "$won" size)" = 3 ] && [ "$(volume_field "$lost" size)" = 1 ] \
  || fail "sizes: $(volume_field "$won" size) / $(volume_field "$lost" size)"
[ "$(volume_field "$lost" status)" = available ] || fail "the refused extend left $(volume_field "$lost" status)"
[ "$(reg_sql "SELECT count(*) FROM metadata WHERE kind='reservation'")" = 0 ] || fail "a reservation outlived its extend"
on 2
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$lost/action" '{"os-extend":{"new_size":2}}' >/dev/null
expect_status 413
api "$ADMIN_TOKEN" PUT "/v3/$PID_DEMO/os-quota-sets/$PID_DEMO" '{"quota_set":{"gigabytes":5}}' >/dev/null
expect_status 200
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$lost/action" '{"os-extend":{"new_size":2}}' >/dev/null
expect_status 202
[ "$(volume_field "$lost" size)" = 2 ] || fail "the later extend did not apply"
echo ok
