#!/usr/bin/env bash
# The volswap CLI with OS_AUTH_TYPE=admin_token, OS_TOKEN and OS_ENDPOINT
# (the compute endpoint): it finds the volume endpoint from the token's
# project and manages volumes and attachments without a Keystone login.
. "$(dirname "$0")/lib.sh"
api_setup
unset OS_AUTH_URL OS_USERNAME OS_PASSWORD OS_PROJECT_NAME
export OS_AUTH_TYPE=admin_token OS_TOKEN=$ADMIN_TOKEN OS_ENDPOINT=$URL/v2.1
V=$CLI_BIN
vid=$("$V" --json volume-create 1 | jq -r .volume.id)
"$V" server-create adm >/dev/null
"$V" volume-attach adm "$vid" >/dev/null
"$V" --json volume-attachments adm | jq -e ".volumeAttachments[0].volumeId == \"$vid\"" >/dev/null || fail "attachments"
"$V" server-list | grep -q "| host1 |" || fail "admin sees the host column"
"$V" volume-detach adm "$vid"
"$V" volume-delete "$vid"
[ "$(grep -c 'POST /v3/auth/tokens' "$T/api.log")" = 0 ] || fail "logged in"
set +e
OS_TOKEN=wrong-token-xyz "$V" volume-list 2>"$T/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "HTTP 401" "$T/err" || fail "wrong token: $rc $(cat "$T/err")"
