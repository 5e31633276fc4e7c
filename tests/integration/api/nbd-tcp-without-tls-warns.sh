#!/usr/bin/env bash
# A host whose NBD server listens on TCP without TLS serves its exports to
# anyone who can reach the address: volswap-api says so at start, naming
# the host and the address; a host on a unix socket, or with TLS, gets no
# such warning.
. "$(dirname "$0")/lib.sh"
host_start
write_config
jq '.hosts += [{"name": "host2", "driver": "volswapd", "qmp": "'"$T"'/qmp2.sock",
                "nbd": {"type": "inet", "host": "192.0.2.7", "port": 10809}, "pools": []},
               {"name": "host3", "driver": "volswapd", "qmp": "'"$T"'/qmp3.sock",
                "nbd": {"type": "inet", "host": "192.0.2.8", "port": 10809, "tls_creds": "tls0"},
                "pools": []}]' "$T/api.json" >"$T/api.new" && mv "$T/api.new" "$T/api.json"
api_start
grep -q "warning: host host2 serves NBD on TCP 192.0.2.7:10809 without TLS" "$T/api.log" || { cat "$T/api.log"; fail "no warning for host2"; }
if grep -q -e "host host1 serves" -e "host host3 serves" "$T/api.log"; then fail "a warning for a host that needs none"; fi
echo PASS
