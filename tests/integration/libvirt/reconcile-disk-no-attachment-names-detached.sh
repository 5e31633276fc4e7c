#!/usr/bin/env bash
# The host reconciler on a libvirt host detaches a disk volswap attached
# (its alias ua-...) that no attachment names while its volume is
# detached (an attach whose registry side was lost; here attached by
# hand): at the next start of volswap-api the disk goes from the live
# domain and from its definition, so the volume can be given to another
# server without two writers. The volume's data stays. A disk the operator
# attached (no ua- alias) and a disk the registry names are left alone.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
lv_setup
DOM=vs-rcdisk-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
KEPT=$(new_volume "$ADMIN_TOKEN" 1)
STRAY=$(new_volume "$ADMIN_TOKEN" 1)
STRAY_PATH=$(volume_path "$STRAY")
qemu-io -f raw "$STRAY_PATH" -c "write -P 0x3c 0 4M" >/dev/null || fail "cannot fill the stray volume"
lv_attach "$SID" "$KEPT" /dev/sdb; expect_status 200
cat >"$T/stray.xml" <<XML
<disk type='file' device='disk'><driver name='qemu' type='raw'/>
<source file='$STRAY_PATH'/><target dev='sdc' bus='scsi'/>
<alias name='ua-exp-00000000000000000000000000000001'/></disk>
XML
virsh_lv attach-device "$DOM" "$T/stray.xml" --live --config >/dev/null || fail "attach by hand"
truncate -s 64M "$T/pool2/operator.img"; chmod 666 "$T/pool2/operator.img"
virsh_lv attach-disk "$DOM" "$T/pool2/operator.img" sdd --targetbus scsi --live --config >/dev/null \
  || fail "the operator's disk"
api_restart
for _ in $(seq 300); do lv_sources "$DOM" | grep -q '^sdc' || break; sleep 0.1; done
grep -q "reconcile: host host1: domain $DOM disk sdc ($STRAY_PATH) is no attachment's" "$T/api.log" \
  || fail "log: $(grep reconcile "$T/api.log" | tail -5)"
lv_sources "$DOM" | grep -q '^sdc' && fail "live: $(lv_sources "$DOM")"
lv_sources "$DOM" --inactive | grep -q '^sdc' && fail "definition: $(lv_sources "$DOM" --inactive)"
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $(volume_path "$KEPT")" ] || fail "the attached disk: $(lv_sources "$DOM")"
[ "$(lv_sources "$DOM" | grep '^sdd')" = "sdd $T/pool2/operator.img" ] || fail "the operator's disk: $(lv_sources "$DOM")"
[ "$(lv_sources "$DOM" --inactive | grep '^sdd')" = "sdd $T/pool2/operator.img" ] || fail "the operator's disk: $(lv_sources "$DOM" --inactive)"
[ "$(volume_field "$STRAY" status)" = available ] || fail "stray volume is $(volume_field "$STRAY" status)"
file_check "$STRAY_PATH" 0x3c 4
echo ok
