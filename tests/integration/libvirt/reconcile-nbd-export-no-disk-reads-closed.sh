#!/usr/bin/env bash
# The host reconciler on a libvirt host whose volswapd serves the volumes
# closes the volswapd's export (lv-NODE) and node of a detached volume
# that no domain's disk reads (what a rollback that could not reach the
# volswapd leaves; here opened by hand): at the next start of volswap-api
# the export and the node are gone. The export an attached disk reads
# stays.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
LV_NBD=1 lv_setup
DOM=vs-rcnbd-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
KEPT=$(new_volume "$ADMIN_TOKEN" 1)
STRAY=$(new_volume "$ADMIN_TOKEN" 1)
lv_attach "$SID" "$KEPT" /dev/sdb; expect_status 200
N=$(node_of "$STRAY")
qmp_cmd "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"filename\":\"$(volume_path "$STRAY")\",\"node-name\":\"$N\"}}" \
  | jq -e .return >/dev/null || fail "blockdev-add by hand"
qmp_cmd "{\"execute\":\"block-export-add\",\"arguments\":{\"type\":\"nbd\",\"id\":\"lv-$N\",\"node-name\":\"$N\",\"name\":\"$N\",\"writable\":true}}" \
  | jq -e .return >/dev/null || fail "block-export-add by hand"
exports | grep -q "$N" || fail "exports by hand: $(exports)"
api_restart
for _ in $(seq 300); do exports | grep -q "$N" || break; sleep 0.1; done
[ "$(exports)" = "$(node_of "$KEPT")" ] || fail "volswapd exports: $(exports) $(grep reconcile "$T/api.log" | tail -5)"
for _ in $(seq 100); do nodes | grep -q "$N" || break; sleep 0.1; done
[ "$(nodes)" = "$(node_of "$KEPT")" ] || fail "volswapd nodes: $(nodes)"
grep -q "reconcile: host host1: export lv-$N (node $N) is no disk's" "$T/api.log" \
  || fail "log: $(grep reconcile "$T/api.log" | tail -5)"
[ "$(virsh_lv dumpxml "$DOM" | grep -o "protocol='nbd' name='[^']*'" | sed "s/.*name='//; s/'//")" = "$(node_of "$KEPT")" ] \
  || fail "live disk: $(virsh_lv dumpxml "$DOM" | grep -A3 "<disk")"
echo ok
