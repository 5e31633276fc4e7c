#!/usr/bin/env bash
# Nova's os-keypairs against OpenSSH's own tool: a generated pair's private
# key (answered once) gives, through ssh-keygen -y, the public key the pair
# shows, and its fingerprint is ssh-keygen's MD5 one; an imported key keeps
# ssh-keygen's fingerprint too. A server created with key_name shows it; an
# unknown key_name is 400; another user cannot see the pair (404); a
# duplicate name is 409; delete is 202, then 404. A generated x509 pair
# (2.2) is a certificate openssl reads, with the same fingerprint and key.
. "$(dirname "$0")/lib.sh"
command -v ssh-keygen >/dev/null || skip "ssh-keygen not installed"
api_setup
tok=$(api_token alice)
api "$tok" POST /v2.1/os-keypairs '{"keypair": {"name": "gen key"}}' >/dev/null; expect_status 200
jq -r .keypair.private_key "$T/last.body" >"$T/gen"
chmod 600 "$T/gen"
pub=$(jq -r .keypair.public_key "$T/last.body")
fp=$(jq -r .keypair.fingerprint "$T/last.body")
[ "$(ssh-keygen -y -f "$T/gen" | cut -d' ' -f1-2)" = "$(cut -d' ' -f1-2 <<<"$pub")" ] || fail "private and public keys differ"
[ "$(ssh-keygen -l -E md5 -f <(echo "$pub") | awk '{print $2}')" = "MD5:$fp" ] || fail "fingerprint $fp"
ssh-keygen -q -t ed25519 -N '' -C imported -f "$T/imp"
api "$tok" POST /v2.1/os-keypairs "{\"keypair\": {\"name\": \"imp\", \"public_key\": \"$(cat "$T/imp.pub")\"}}" >/dev/null
expect_status 200
[ "MD5:$(jq -r .keypair.fingerprint "$T/last.body")" = "$(ssh-keygen -l -E md5 -f "$T/imp.pub" | awk '{print $2}')" ] || fail "imported fingerprint"
jq -e '.keypair | has("private_key") | not' "$T/last.body" >/dev/null || fail "an import answered a private key"
api "$tok" POST /v2.1/os-keypairs '{"keypair": {"name": "imp"}}' >/dev/null; expect_fault 409 conflictingRequest
api "$tok" GET /v2.1/os-keypairs >/dev/null
[ "$(jq -r '[.keypairs[].keypair.name] | sort | join(",")' "$T/last.body")" = "gen key,imp" ] || fail "list $(cat "$T/last.body")"
api "$tok" POST /v2.1/servers '{"server": {"name": "s", "key_name": "imp"}}' >/dev/null; expect_status 202
sid=$(jq -r .server.id "$T/last.body")
api "$tok" GET "/v2.1/servers/$sid" >/dev/null
[ "$(jq -r .server.key_name "$T/last.body")" = imp ] || fail "server key_name $(cat "$T/last.body")"
api "$tok" POST /v2.1/servers '{"server": {"name": "s2", "key_name": "nope"}}' >/dev/null
expect_fault 400 badRequest "Invalid key_name provided."
bob=$(api_token bob other)
api "$bob" GET /v2.1/os-keypairs/imp >/dev/null; expect_fault 404 itemNotFound
api "$tok" DELETE /v2.1/os-keypairs/imp >/dev/null; expect_status 202
api "$tok" GET /v2.1/os-keypairs/imp >/dev/null; expect_fault 404 itemNotFound
# type x509 (2.2): a generated pair is a self-signed certificate whose SHA-1
# fingerprint openssl agrees with, and whose key is the one answered
if command -v openssl >/dev/null; then
  api "$tok" POST /v2.1/os-keypairs '{"keypair": {"name": "cert", "type": "x509"}}' -H 'X-OpenStack-Nova-API-Version: 2.2' >/dev/null
  expect_status 201
  jq -r .keypair.public_key "$T/last.body" >"$T/cert.pem"
  jq -r .keypair.private_key "$T/last.body" >"$T/cert.key"
  want=$(openssl x509 -in "$T/cert.pem" -noout -fingerprint -sha1 | cut -d= -f2 | tr 'A-F' 'a-f')
  [ "$(jq -r .keypair.fingerprint "$T/last.body")" = "$want" ] || fail "x509 fingerprint"
  [ "$(openssl x509 -in "$T/cert.pem" -noout -pubkey)" = "$(openssl pkey -in "$T/cert.key" -pubout)" ] || fail "x509 key and certificate differ"
fi
