#!/usr/bin/env bash
# Cinder's PUT /volumes/{id} (name, description or their display_
# spellings, metadata replaced; the answer is the view) and GET
# /volumes/summary (3.12: count and gigabytes of the project's volumes,
# from 3.36 each metadata key's values); another project's volume is 404,
# an empty update from 3.53 is 400.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
PID_DEMO=$(project_id demo)
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"name":"a","metadata":{"k":"1","old":"x"}}}' >/dev/null
VID=$(jq -r .volume.id "$T/last.body")
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":2,"metadata":{"k":"2"}}}' >/dev/null
api "$tok" PUT "/v3/$PID_DEMO/volumes/$VID" '{"volume":{"name":"b","description":"d","metadata":{"k":"1"}}}' >/dev/null
expect_status 200
jq -e '.volume | .name == "b" and .description == "d" and .metadata == {"k":"1"}' "$T/last.body" \
  >/dev/null || fail "update: $(cat "$T/last.body")"
api "$tok" PUT "/v3/$PID_DEMO/volumes/$VID" '{"volume":{"display_name":"c"}}' >/dev/null; expect_status 200
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume | .name == "c" and .description == "d" and .metadata == {"k":"1"}' "$T/last.body" \
  >/dev/null || fail "show: $(cat "$T/last.body")"
api "$tok" PUT "/v3/$PID_DEMO/volumes/$VID" '{"volume":{}}' -H 'OpenStack-API-Version: volume 3.53' >/dev/null
expect_fault 400 badRequest
bob=$(api_token bob other)
api "$bob" PUT "/v3/$(project_id other bob)/volumes/$VID" '{"volume":{"name":"z"}}' >/dev/null
expect_fault 404 itemNotFound

api "$tok" GET "/v3/$PID_DEMO/volumes/summary" "" -H 'OpenStack-API-Version: volume 3.12' >/dev/null
expect_status 200
jq -e '. == {"volume-summary": {"total_count": 2, "total_size": 3}}' "$T/last.body" >/dev/null \
  || fail "summary: $(cat "$T/last.body")"
api "$tok" GET "/v3/$PID_DEMO/volumes/summary" "" -H 'OpenStack-API-Version: volume 3.36' >/dev/null
jq -e '.["volume-summary"].metadata.k | sort == ["1","2"]' "$T/last.body" >/dev/null \
  || fail "summary 3.36: $(cat "$T/last.body")"
api "$tok" GET "/v3/$PID_DEMO/volumes/summary" >/dev/null; expect_status 404
