#!/usr/bin/env bash
# The registry's disk fills up under a request that writes: the reply is a
# clear 507 naming SQLite's own cause ("database or disk is full", not what
# a failed rollback says afterwards), the log has it too, nothing of the
# request is applied (a metadata replace keeps the old items), and once
# there is room again the same request succeeds. The registry lives on a
# tmpfs of its own, mounted in a private mount namespace of this test.
if [ -z "${VOLSWAP_TEST_IN_MOUNT_NS:-}" ]; then
  unshare --mount --propagation private true 2>/dev/null \
    || { echo "cannot make a mount namespace (unshare --mount)"; exit 77; }
  VOLSWAP_TEST_IN_MOUNT_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/regfs"
mount -t tmpfs -o size=4m tmpfs "$T/regfs" 2>/dev/null || skip "cannot mount a tmpfs"
trap 'rc=$?; umount -l "$T/regfs" 2>/dev/null; (exit $rc); cleanup' EXIT
host_start
write_config
sed -i "s|\"database\": \"$T/registry.db\"|\"database\": \"$T/regfs/registry.db\"|" "$T/api.json"
api_start
PID_DEMO=$(project_id demo)
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"metadata":{"keep":"1"}}}' >/dev/null
expect_status 202
VID=$(jq -r .volume.id "$T/last.body")
M=/v3/$PID_DEMO/volumes/$VID/metadata
big=$(printf 'v%.0s' $(seq 255))
body=$(for i in $(seq 100); do printf '"k%d":"%s",' "$i" "$big"; done)
body="{\"metadata\":{${body%,}}}"
# no room left on the registry's disk
dd if=/dev/zero of="$T/regfs/fill" bs=64k 2>/dev/null || true
api "$ADMIN_TOKEN" PUT "$M" "$body" >/dev/null
expect_fault 507 computeFault "database or disk is full"
grep -q "no transaction is active" "$T/last.body" && fail "reply names the rollback: $(cat "$T/last.body")"
grep -q "database or disk is full" "$T/api.log" || fail "the log lacks the cause"
rm -f "$T/regfs/fill"
api "$ADMIN_TOKEN" GET "$M" >/dev/null
expect_status 200
jq -e '.metadata == {"keep":"1"}' "$T/last.body" >/dev/null || fail "half applied: $(cat "$T/last.body")"
api "$ADMIN_TOKEN" PUT "$M" "$body" >/dev/null
expect_status 200
jq -e '.metadata | length == 100' "$T/last.body" >/dev/null || fail "after: $(cat "$T/last.body")"
echo ok
