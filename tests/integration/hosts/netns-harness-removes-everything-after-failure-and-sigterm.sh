#!/usr/bin/env bash
# The namespace harness (tests/integration/netns.sh) cleans up after
# itself however a test ends. A scripted test makes two hosts, checks
# that one reaches the other over the test's subnet (and that its
# namespace is not the one it was started from), starts a long-running
# process on each host, then fails: its exit status is the failure's, and
# afterwards none of its namespaces, links or processes is left. The same
# when the test is killed with SIGTERM (tests/run's timeout) while its
# processes run.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "SKIP: network namespaces need root"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cat >"$T/child.sh" <<CHILD
#!/usr/bin/env bash
set -euo pipefail
. "$VOLSWAP_SRC/tests/integration/netns.sh"
ns_enter "\$@"
echo "\$NS_PREFIX" >"$T/prefix"
ns_host a 10.77.0.11
ns_host b 10.77.0.12
ns_spawn a /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("10.77.0.11", 5000)); s.listen(); c, _ = s.accept(); c.sendall(b"hello"); import time; time.sleep(1000)'
ns_wait_port a 10.77.0.11 5000
got=\$(ns_exec b /usr/bin/python3 -c 'import socket; print(socket.create_connection(("10.77.0.11", 5000), timeout=10).recv(5).decode())')
[ "\$got" = hello ] || { echo "no connection between hosts: \$got"; exit 3; }
[ "\$(readlink /proc/self/ns/net)" != "\$(cat "$T/outer-ns")" ] || { echo "test runs in the outer namespace"; exit 3; }
ns_spawn b sleep 1000
echo "\$NS_PID" >"$T/sleeper"
touch "$T/ready"
[ "\${1:-}" = wait ] && sleep 1000
exit 7
CHILD
chmod +x "$T/child.sh"
readlink /proc/self/ns/net >"$T/outer-ns"
left() {  # what is left of the child's run with prefix P
  local p=$1
  ip netns list | awk '{print $1}' | grep "^$p-" || true
  ip -o link | grep -o "v-[ab]@" || true
  ps -eo pid,args | grep -v grep | grep -E "sleep 1000|5000" | grep -v "$$" || true
}
set +e
"$T/child.sh" >"$T/out1" 2>&1; rc=$?
set -e
[ $rc -eq 7 ] || fail "failing test: exit $rc, want 7: $(cat "$T/out1")"
[ -z "$(left "$(cat "$T/prefix")")" ] || fail "left after a failure: $(left "$(cat "$T/prefix")")"
rm -f "$T/ready" "$T/prefix"
"$T/child.sh" wait >"$T/out2" 2>&1 &
child=$!
for _ in $(seq 300); do [ -f "$T/ready" ] && break; sleep 0.1; done
[ -f "$T/ready" ] || fail "child never got ready: $(cat "$T/out2")"
kill -0 "$(cat "$T/sleeper")" || fail "the host's process is not running"
kill -TERM "$child"
set +e
wait "$child"; rc=$?
set -e
[ $rc -ne 0 ] || fail "a test killed by SIGTERM exited 0"
[ -z "$(left "$(cat "$T/prefix")")" ] || fail "left after SIGTERM: $(left "$(cat "$T/prefix")")"
echo ok
