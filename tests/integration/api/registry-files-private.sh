#!/usr/bin/env bash
# Under umask 000, the registry database and its -wal and -shm files are
# still 0600: they hold every record and the token hashes. A database
# left world-readable by an earlier start is narrowed to 0600, and a
# world-readable config is warned about at start.
# the files of an SQLite registry: on SQLite whatever the suite runs on
VOLSWAP_TEST_DB=sqlite
. "$(dirname "$0")/lib.sh"
host_start
write_config
chmod 0644 "$T/api.json"
umask 000
api_start
tok=$(api_token alice)
api "$tok" POST /v2.1/servers '{"server":{"name":"s"}}' >/dev/null; expect_status 202
for f in "$T/registry.db" "$T/registry.db-wal" "$T/registry.db-shm"; do
  [ -e "$f" ] || fail "$f does not exist (WAL mode expected)"
  m=$(stat -c %a "$f")
  [ "$m" = 600 ] || fail "$f has mode $m"
done
grep -q "warning: config $T/api.json is accessible to every user" "$T/api.log" || fail "no warning about the config"
api_stop
chmod 0666 "$T/registry.db"
api_start
[ "$(stat -c %a "$T/registry.db")" = 600 ] || fail "a world-readable database was left as it was"
echo PASS
