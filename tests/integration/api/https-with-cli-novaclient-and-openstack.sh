#!/usr/bin/env bash
# volswap-api over HTTPS ("tls": {"cert", "key"} in the config): the
# catalog names https:// endpoints; curl, the volswap CLI (--os-cacert and
# OS_CACERT), novaclient and the openstack client (--os-cacert) all work
# against it and verify its certificate; a client that does not trust the
# CA is refused, and plain HTTP gets no API answer.
. "$(dirname "$0")/lib.sh"
host_start
write_config
bash "$(dirname "$0")/../gen-tls-certs.sh" "$T/pki" >/dev/null
jq --arg c "$T/pki/server-cert.pem" --arg k "$T/pki/server-key.pem" \
  '.tls = {"cert": $c, "key": $k}' "$T/api.json" >"$T/api.new" && mv "$T/api.new" "$T/api.json"
api_start
URL=https://127.0.0.1:$PORT
export OS_AUTH_URL=$URL/v3
CA=$T/pki/ca-cert.pem
grep -q "listening on https://127.0.0.1:$PORT" "$T/api.log" || fail "not listening on https"
# curl, verifying the certificate
curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' "$URL/v2.1" | grep -q 200 || fail "curl over https"
if curl -sS -o /dev/null "$URL/v2.1" 2>/dev/null; then fail "an untrusted CA was accepted"; fi
if curl -sS -m 5 -o /dev/null "http://127.0.0.1:$PORT/v2.1" 2>/dev/null &&
   [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v2.1")" = 200 ]; then
  fail "plain http answered"
fi
tok=$(curl -sS --cacert "$CA" -D - -o "$T/tok.json" -H 'Content-Type: application/json' \
  -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","domain":{"id":"default"},"password":"alicepw"}}},"scope":{"project":{"name":"demo","domain":{"id":"default"}}}}}' \
  "$URL/v3/auth/tokens" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
[ -n "$tok" ] || fail "no token over https"
jq -r '.token.catalog[].endpoints[].url' "$T/tok.json" | grep -v '^https://' && fail "catalog has non-https endpoints"
# the volswap CLI
password_env alice demo
"$CLI_BIN" --os-cacert "$CA" server-create cli-srv >/dev/null || fail "volswap --os-cacert server-create"
OS_CACERT=$CA "$CLI_BIN" server-list | grep -q cli-srv || fail "volswap server-list with OS_CACERT"
if "$CLI_BIN" server-list >/dev/null 2>&1; then fail "volswap trusted an unknown CA"; fi
# novaclient and the openstack client
if /usr/bin/python3 -c 'import novaclient' 2>/dev/null; then
  nova --os-cacert "$CA" list >"$T/out" || fail "nova --os-cacert list: $(cat "$T/nova.err")"
  grep -q cli-srv "$T/out" || fail "nova list: $(cat "$T/out")"
else
  echo "novaclient not installed: not tried"
fi
if [ -x /usr/bin/openstack ]; then
  /usr/bin/python3 /usr/bin/openstack --os-cacert "$CA" server list -f value -c Name >"$T/out" 2>"$T/osc.err" ||
    fail "openstack --os-cacert server list: $(cat "$T/osc.err")"
  grep -q cli-srv "$T/out" || fail "openstack server list: $(cat "$T/out")"
else
  echo "openstackclient not installed: not tried"
fi
echo PASS
