#!/usr/bin/env bash
# The host reconciler on a libvirt host makes a domain's persistent
# definition name the volume its guest runs on, when the live disk and the
# registry agree and the definition does not (a pivot whose definition
# update was lost; here the definition is pointed at another file by
# hand): at the next start of volswap-api the definition names the
# registry's volume again, so the next boot does not go back to a stale
# copy. The live disk is not touched.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
lv_setup
DOM=vs-rcdef-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
VOL=$(new_volume "$ADMIN_TOKEN" 1)
VOL_PATH=$(volume_path "$VOL")
lv_attach "$SID" "$VOL" /dev/sdb; expect_status 200
truncate -s 1G "$T/pool2/stale.img"; chmod 666 "$T/pool2/stale.img"
virsh_lv dumpxml --inactive "$DOM" | /usr/bin/python3 -c '
import sys, re
x = sys.stdin.read()
d = [m for m in re.findall(r"<disk .*?</disk>", x, re.S) if "ua-" in m][0]
print(d.replace(sys.argv[1], sys.argv[2]))' "$VOL_PATH" "$T/pool2/stale.img" >"$T/stale.xml"
virsh_lv update-device "$DOM" "$T/stale.xml" --config >/dev/null || fail "update-device by hand: $(cat "$T/stale.xml")"
[ "$(lv_sources "$DOM" --inactive | grep '^sdb')" = "sdb $T/pool2/stale.img" ] || fail "definition by hand: $(lv_sources "$DOM" --inactive)"
api_restart
for _ in $(seq 300); do
  [ "$(lv_sources "$DOM" --inactive | grep '^sdb')" = "sdb $VOL_PATH" ] && break
  sleep 0.1
done
[ "$(lv_sources "$DOM" --inactive | grep '^sdb')" = "sdb $VOL_PATH" ] \
  || fail "definition: $(lv_sources "$DOM" --inactive) $(grep reconcile "$T/api.log" | tail -5)"
grep -q "reconcile: host host1: domain $DOM disk sdb runs on $VOL_PATH, its definition names $T/pool2/stale.img" "$T/api.log" \
  || fail "log: $(grep reconcile "$T/api.log" | tail -5)"
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $VOL_PATH" ] || fail "live: $(lv_sources "$DOM")"
virsh_lv dumpxml --inactive "$DOM" | grep -q "ua-exp-" || fail "the definition's disk lost its alias"
echo ok
