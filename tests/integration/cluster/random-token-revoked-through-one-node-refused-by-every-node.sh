#!/usr/bin/env bash
# Tokens without a Fernet key repository (random ids recorded in the
# registry) on two nodes: a token node 1 issued works on node 2, which then
# holds it in its cache; revoked through node 1, it is refused by node 2 on
# the very next request (the cache never spares the registry's look-up on
# a shared registry), and by node 1; another token stays good on both. A
# token node 2 cached and revoked itself is refused by node 1 too.
. "$VOLSWAP_SRC/tests/integration/cluster/lib.sh"
cluster_setup 2
works_on() {  # works_on NODE TOKEN -> 0 when NODE accepts TOKEN
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $2" "${NODE_URL[$1]}/v2.1/servers")" = 200 ]
}
on 1; TOK1=$(api_token alice); TOK2=$(api_token bob other)
case "$TOK1" in gAAAAA*) fail "a Fernet token without a repository" ;; esac
works_on 2 "$TOK1" && works_on 2 "$TOK1" || fail "node 2 refuses node 1's token"
works_on 1 "$TOK2" && works_on 2 "$TOK2" || fail "the second token"
api "$ADMIN_TOKEN" DELETE /v3/auth/tokens "" -H "X-Subject-Token: $TOK1" >/dev/null
expect_status 204
works_on 2 "$TOK1" && fail "node 2 still accepts the token revoked through node 1"
works_on 1 "$TOK1" && fail "node 1 still accepts the revoked token"
works_on 1 "$TOK2" && works_on 2 "$TOK2" || fail "the revocation took another token"
on 2
api "$ADMIN_TOKEN" DELETE /v3/auth/tokens "" -H "X-Subject-Token: $TOK2" >/dev/null
expect_status 204
works_on 1 "$TOK2" && fail "node 1 still accepts the token revoked through node 2"
works_on 2 "$TOK2" && fail "node 2 still accepts the token it revoked"
echo ok
