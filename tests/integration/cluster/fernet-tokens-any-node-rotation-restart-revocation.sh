#!/usr/bin/env bash
# Fernet tokens on two nodes sharing one key repository: a token node 1
# issued works on node 2 (and is a real Fernet token: Python's cryptography
# opens it with the primary key); after a key rotation the old token still
# works on both and a new one from node 2 works on node 1; after node 2
# restarts both still work there; a token revoked through node 1 is refused
# by both nodes while the other stays good; two more rotations retire the
# key a token was made with, and it is refused.
. "$VOLSWAP_SRC/tests/integration/cluster/lib.sh"
T_KEYS=$T
CLUSTER_JQ=".fernet_keys = \"$T_KEYS/keys\""
"$API_BIN" --fernet-rotate "$T_KEYS/keys" >/dev/null || fail "fernet setup"
cluster_setup 2
works_on() {  # works_on NODE TOKEN -> 0 when NODE accepts TOKEN
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $2" "${NODE_URL[$1]}/v2.1/servers")" = 200 ]
}
on 1; TOK1=$(api_token alice)
case "$TOK1" in gAAAAA*) ;; *) fail "not a Fernet token: $TOK1" ;; esac
works_on 2 "$TOK1" || fail "node 2 refuses node 1's token"
/usr/bin/python3 - "$T_KEYS/keys/1" "$TOK1" <<'PY' || fail "Python's Fernet cannot open the token"
import json, sys
from cryptography.fernet import Fernet
key = open(sys.argv[1]).read().strip()
tok = sys.argv[2] + "=" * (-len(sys.argv[2]) % 4)
payload = json.loads(Fernet(key).decrypt(tok.encode()))
assert len(payload["u"]) == 32 and payload["a"], payload
PY
"$API_BIN" --fernet-rotate "$T_KEYS/keys" >/dev/null || fail "rotate"
sleep 1.2   # every node reads a changed repository again within a second
works_on 1 "$TOK1" && works_on 2 "$TOK1" || fail "a rotation lost the old token"
on 2; TOK2=$(api_token bob other)
works_on 1 "$TOK2" || fail "node 1 refuses a token made with the new primary key"
node_kill 2; node_start 2
works_on 2 "$TOK1" && works_on 2 "$TOK2" || fail "a restart lost tokens"
on 1
api "$ADMIN_TOKEN" DELETE /v3/auth/tokens "" -H "X-Subject-Token: $TOK1" >/dev/null
expect_status 204
works_on 1 "$TOK1" && fail "node 1 still accepts the revoked token"
works_on 2 "$TOK1" && fail "node 2 still accepts the revoked token"
works_on 1 "$TOK2" && works_on 2 "$TOK2" || fail "the revocation took another token"
"$API_BIN" --fernet-rotate "$T_KEYS/keys" >/dev/null && "$API_BIN" --fernet-rotate "$T_KEYS/keys" >/dev/null \
  || fail "rotate"
sleep 1.2
works_on 1 "$TOK2" && fail "a token of a retired key is still accepted"
on 2; TOK3=$(api_token alice)
works_on 1 "$TOK3" || fail "a token of the newest key is refused"
echo ok
