#!/usr/bin/env bash
# Keystone's token method: a token (here an unscoped one) buys a token
# scoped to a project the user has a role in, with methods token+password,
# the parent's expiry and its audit id second in audit_ids; what `openstack
# --os-auth-type v3token` does. A bad parent, or a project without a role,
# is 401.
. "$(dirname "$0")/lib.sh"
api_setup
body() {  # body PARENT [PROJECT]
  local scope=
  [ -n "${2:-}" ] && scope=",\"scope\":{\"project\":{\"name\":\"$2\",\"domain\":{\"id\":\"default\"}}}"
  echo "{\"auth\":{\"identity\":{\"methods\":[\"token\"],\"token\":{\"id\":\"$1\"}}$scope}}"
}
login() {  # login BODY: sets STATUS and SUBJECT; the body lands in $T/last.body
  STATUS=$(curl -sS -D "$T/hdr" -o "$T/last.body" -w '%{http_code}' \
    -H 'Content-Type: application/json' -d "$1" "$URL/v3/auth/tokens")
  SUBJECT=$(tr -d '\r' <"$T/hdr" | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
}
login '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","domain":{"id":"default"},"password":"alicepw"}}}}}'
expect_status 201
unscoped=$SUBJECT
parent=$(jq -c .token "$T/last.body")
jq -e '.token.project == null' "$T/last.body" >/dev/null || fail "not unscoped: $(cat "$T/last.body")"

login "$(body "$unscoped" demo)"
expect_status 201
scoped=$SUBJECT
jq -e --argjson p "$parent" '.token | .methods == ["token","password"] and .project.name == "demo"
    and (.roles | map(.name) | index("member")) != null and .expires_at == $p.expires_at
    and (.audit_ids | length) == 2 and .audit_ids[1] == $p.audit_ids[0]
    and .audit_ids[0] != $p.audit_ids[0] and (.catalog | length) > 0' "$T/last.body" >/dev/null \
  || fail "rescoped token: $(cat "$T/last.body")"
api "$scoped" GET /v2.1/servers >/dev/null; expect_status 200

# re-scoping the re-scoped token keeps the chain's first audit id second
login "$(body "$scoped" demo)"; expect_status 201
jq -e --argjson p "$parent" '.token.audit_ids[1] == $p.audit_ids[0]' "$T/last.body" >/dev/null \
  || fail "chain: $(cat "$T/last.body")"

login "$(body not-a-token demo)"; expect_status 401
login "$(body "$unscoped" other)"; expect_status 401
login "$(body "$ADMIN_TOKEN" demo)"; expect_status 401
login '{"auth":{"identity":{"methods":["token"],"token":{"id":"x","extra":1}}}}'
expect_status 400
api "$scoped" DELETE /v3/auth/tokens "" -H "X-Subject-Token: $unscoped" >/dev/null; expect_status 204
login "$(body "$unscoped" demo)"; expect_status 401

# the openstack client's v3token plugin
if /usr/bin/python3 -c 'import openstackclient' 2>/dev/null; then
  /usr/bin/python3 -m openstackclient.shell --os-auth-type v3token --os-auth-url "$URL/v3" \
    --os-token "$scoped" --os-project-name demo --os-project-domain-id default \
    server list -f value -c ID >"$T/osc.out" 2>"$T/osc.err" || fail "openstack v3token: $(cat "$T/osc.err")"
fi
