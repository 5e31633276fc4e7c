#!/usr/bin/env bash
# Nova microversions: default 2.1, echoed in both headers on every reply;
# "latest" is the maximum; out of range is 406 and malformed is 400 with
# Nova's messages; the legacy X-OpenStack-Nova-API-Version header works
# alone. Cinder's "volume 3.N" is negotiated and echoed the same way.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
api "$tok" GET /v2.1/servers >/dev/null; expect_status 200
[ "$(header X-OpenStack-Nova-API-Version)" = 2.1 ] || fail "default version"
[ "$(header OpenStack-API-Version)" = "compute 2.1" ] || fail "default header"
header x-compute-request-id | grep -q '^req-' || fail "request id"
api "$tok" GET /v2.1/servers "" -H 'OpenStack-API-Version: compute 2.79' >/dev/null
[ "$(header OpenStack-API-Version)" = "compute 2.79" ] || fail "2.79 echo"
[ "$(header X-OpenStack-Nova-API-Version)" = 2.79 ] || fail "2.79 legacy echo"
api "$tok" GET /v2.1/servers "" -H 'X-OpenStack-Nova-API-Version: 2.50' >/dev/null
[ "$(header OpenStack-API-Version)" = "compute 2.50" ] || fail "legacy header"
api "$tok" GET /v2.1/servers "" -H 'OpenStack-API-Version: compute latest' >/dev/null
max=$(header X-OpenStack-Nova-API-Version)
[ "${max#2.}" -ge 89 ] || fail "latest = $max"
# the new header wins over the legacy one; other services' entries are ignored
api "$tok" GET /v2.1/servers "" -H 'OpenStack-API-Version: volume 3.5, compute 2.60' \
  -H 'X-OpenStack-Nova-API-Version: 2.3' >/dev/null
[ "$(header X-OpenStack-Nova-API-Version)" = 2.60 ] || fail "precedence"
for v in 3.0 2.0 2.999 1.1; do
  api "$tok" GET /v2.1/servers "" -H "OpenStack-API-Version: compute $v" >/dev/null
  expect_fault 406 computeFault "Version $v is not supported by the API. Minimum is 2.1 and maximum is $max."
done
for v in 2.x abc 2. 2.01 " 2.5x" 2.5.1; do
  api "$tok" GET /v2.1/servers "" -H "X-OpenStack-Nova-API-Version: $v" >/dev/null
  expect_fault 400 badRequest "is of invalid format. Must be of format MajorNum.MinorNum."
done
pid=$(project_id demo)
api "$tok" GET /v3/$pid/volumes "" -H 'OpenStack-API-Version: volume 3.42' >/dev/null
[ "$(header OpenStack-API-Version)" = "volume 3.42" ] || fail "cinder echo"
api "$tok" GET /v3/$pid/volumes "" -H 'OpenStack-API-Version: volume 3.999' >/dev/null
expect_status 406
api "$tok" GET /v3/$pid/volumes "" -H 'OpenStack-API-Version: volume x' >/dev/null
expect_status 400
