#!/usr/bin/env bash
# A project one volume short of its quota: two creates through two nodes at
# the same moment give exactly one 202 and Cinder's 413
# VolumeLimitExceeded; the project then holds exactly its quota. Then the
# gigabytes: two 3 GiB creates for the last 4 GiB, one wins.
. "$VOLSWAP_SRC/tests/integration/cluster/lib.sh"
. "$VOLSWAP_SRC/tests/integration/cluster/race.sh"
cluster_setup 3
new_volume "$ADMIN_TOKEN" 1 >/dev/null
api "$ADMIN_TOKEN" PUT "/v3/$PID_DEMO/os-quota-sets/$PID_DEMO" '{"quota_set":{"volumes":2}}' >/dev/null
expect_status 200
race 1 POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}' 2 POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}'
[ "$(echo "$CODE_A $CODE_B" | tr ' ' '\n' | sort | tr '\n' ' ')" = "202 413 " ] \
  || fail "expected one 202 and one 413, got $CODE_A $CODE_B"
grep -h -q VolumeLimitExceeded "$T/a.body" "$T/b.body" || fail "no VolumeLimitExceeded: $(cat "$T/a.body" "$T/b.body")"
[ "$(reg_sql "SELECT count(*) FROM volumes WHERE project_id='$PID_DEMO'")" = 2 ] || fail "the quota was passed"
api "$ADMIN_TOKEN" PUT "/v3/$PID_DEMO/os-quota-sets/$PID_DEMO" '{"quota_set":{"volumes":-1,"gigabytes":6}}' >/dev/null
expect_status 200
race 2 POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":3}}' 3 POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":3}}'
[ "$(echo "$CODE_A $CODE_B" | tr ' ' '\n' | sort | tr '\n' ' ')" = "202 413 " ] \
  || fail "gigabytes: expected one 202 and one 413, got $CODE_A $CODE_B"
grep -h -q VolumeSizeExceedsAvailableQuota "$T/a.body" "$T/b.body" || fail "no VolumeSizeExceedsAvailableQuota"
[ "$(reg_sql "SELECT sum(size_gb) FROM volumes WHERE project_id='$PID_DEMO'")" = 5 ] || fail "the gigabytes quota was passed"
echo ok
