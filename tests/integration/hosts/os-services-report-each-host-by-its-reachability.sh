#!/usr/bin/env bash
# os-services and os-hypervisors say whether each host answers on its
# QMP+TLS monitor now: with storage1's link cut (its veth down) storage1
# is down and compute1 up, in Nova's compute service list, in Cinder's
# volume service list and in the hypervisor list; with the link back, both
# are up again. The API asks the hosts; it keeps no state about them.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
host_volswapd storage1 "$NS_SUBNET.21"
host_volswapd compute1 "$NS_SUBNET.11"
hosts_api_cluster compute1 storage1
states() {
  api "$ADMIN_TOKEN" GET /v2.1/os-services >/dev/null; expect_status 200
  jq -r '[.services[] | "\(.host)=\(.state)"] | sort | join(" ")' "$T/last.body"
  api "$ADMIN_TOKEN" GET /v2.1/os-hypervisors >/dev/null; expect_status 200
  jq -r '[.hypervisors[] | "\(.hypervisor_hostname)=\(.state)"] | sort | join(" ")' "$T/last.body"
  api "$ADMIN_TOKEN" GET "/v3/$PID_DEMO/os-services" >/dev/null; expect_status 200
  jq -r '[.services[] | "\(.host)=\(.state)"] | sort | join(" ")' "$T/last.body"
}
want_up="compute1=up storage1=up
compute1=up storage1=up
compute1@volswap=up storage1@volswap=up"
[ "$(states)" = "$want_up" ] || fail "with every link up: $(states)"
ns_link storage1 down
want="compute1=up storage1=down
compute1=up storage1=down
compute1@volswap=up storage1@volswap=down"
got=$(states)
[ "$got" = "$want" ] || fail "with storage1's link cut: $got"
ns_link storage1 up
# a host that timed out is not asked again for a few seconds: ask until
# it is up (bounded)
for _ in $(seq 40); do got=$(states); [ "$got" = "$want_up" ] && break; sleep 0.5; done
[ "$got" = "$want_up" ] || fail "with the link back: $got"
echo ok
