#!/usr/bin/env bash
# A host run by qemu-storage-daemon cannot tell its uptime (QEMU has no
# such query): GET .../uptime is Nova's 501 for a virt driver without
# one, an unknown hypervisor 404, and from 2.88 the show's uptime is null.
export VOLSWAP_TEST_HOST_DAEMON=qsd
. "$(dirname "$0")/lib.sh"
api_setup
adm=$(api_token admin)
api "$adm" GET /v2.1/os-hypervisors/1/uptime >/dev/null
expect_fault 501 notImplemented "Virt driver does not implement uptime function."
api "$adm" GET /v2.1/os-hypervisors/7/uptime >/dev/null
expect_fault 404 itemNotFound "Hypervisor with ID 7 could not be found."
api "$adm" GET /v2.1/os-hypervisors "" -H "OpenStack-API-Version: compute 2.88" >/dev/null
id=$(jq -r '.hypervisors[0].id' "$T/last.body")
api "$adm" GET "/v2.1/os-hypervisors/$id" "" -H "OpenStack-API-Version: compute 2.88" >/dev/null
expect_status 200
jq -e '.hypervisor.uptime == null and .hypervisor.state == "up"' "$T/last.body" >/dev/null \
  || fail "2.88: $(cat "$T/last.body")"
echo ok
