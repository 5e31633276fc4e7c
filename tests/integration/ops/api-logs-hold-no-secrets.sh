#!/usr/bin/env bash
# Nothing secret reaches volswap-api's log, even with --verbose: not a
# password (a right one, a wrong one, a user's that does not exist), not a
# token (issued by password, re-scoped by the token method, the static
# admin token, a revoked one, a forged one shown back to its sender), not
# a Fernet key or a password hash from the configuration, however the
# requests that carry them succeed or fail.
. "$VOLSWAP_SRC/tests/integration/api/lib.sh"
host_start
write_config
"$API_BIN" --fernet-rotate "$T/keys" >/dev/null || fail "fernet key repository"
jq ".fernet_keys = \"$T/keys\"" "$T/api.json" >"$T/api.json.new" && mv "$T/api.json.new" "$T/api.json"
api_start

login() {  # login USER PASSWORD -> prints the token (empty when refused)
  curl -sS -D "$T/hdr" -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$1\",\"domain\":{\"id\":\"default\"},\"password\":\"$2\"}}},\"scope\":{\"project\":{\"name\":\"demo\",\"domain\":{\"id\":\"default\"}}}}}" \
    "$URL/v3/auth/tokens"
  tr -d '\r' <"$T/hdr" | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p'
}
alice=$(login alice alicepw)
[ -n "$alice" ] || fail "alice cannot log in"
wrong_pw='Wr0ng-and-secret'
[ -z "$(login alice "$wrong_pw")" ] || fail "a wrong password logged in"
[ -z "$(login nobody "nobody-$wrong_pw")" ] || fail "an unknown user logged in"
# the token method: a new token from alice's
rescoped=$(curl -sS -D - -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"auth\":{\"identity\":{\"methods\":[\"token\"],\"token\":{\"id\":\"$alice\"}},\"scope\":{\"project\":{\"name\":\"demo\",\"domain\":{\"id\":\"default\"}}}}}" \
  "$URL/v3/auth/tokens" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
[ -n "$rescoped" ] || fail "the token method gave no token"
# use, validate and revoke them; a forged and a revoked one are refused
api "$alice" GET /v2.1/servers >/dev/null; expect_status 200
api "$ADMIN_TOKEN" GET /v3/auth/tokens "" -H "X-Subject-Token: $rescoped" >/dev/null; expect_status 200
api "$alice" DELETE /v3/auth/tokens "" -H "X-Subject-Token: $rescoped" >/dev/null; expect_status 204
api "$rescoped" GET /v2.1/servers >/dev/null; expect_status 401
forged="gAAAAA$(head -c 48 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
api "$forged" GET /v2.1/servers >/dev/null; expect_status 401
api "$alice" GET /v3/auth/tokens "" -H "X-Subject-Token: $forged" >/dev/null
[ "$STATUS" -ge 400 ] || fail "a forged subject token was valid"
api_stop

grep -q 'listening on' "$T/api.log" || fail "nothing logged"
secrets=(alicepw adminpw readerpw novapw bobpw "$wrong_pw" "nobody-$wrong_pw" "$alice" "$rescoped"
         "$ADMIN_TOKEN" "$forged")
for f in "$T"/keys/*; do secrets+=("$(cat "$f")"); done
while IFS= read -r h; do secrets+=("$h"); done < <(jq -r '.users[].password_hash' "$T/api.json")
for s in "${secrets[@]}"; do
  [ ${#s} -ge 5 ] || fail "a secret too short to look for: '$s'"
  if grep -qF -- "$s" "$T/api.log"; then
    fail "a secret reached the log: $(grep -F -- "$s" "$T/api.log" | head -n 3)"
  fi
done
echo "ok (${#secrets[@]} secrets, $(wc -l <"$T/api.log") log lines)"
