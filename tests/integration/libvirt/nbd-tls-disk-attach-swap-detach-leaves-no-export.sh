#!/usr/bin/env bash
# On a libvirt host whose volswapd's NBD server requires TLS and a client
# certificate of its CA (the host's nbd has tls_creds), a volume is
# attached as a network disk with tls='yes', and QEMU, under the real
# libvirtd, connects with the client credentials libvirt gives it from
# qemu.conf's nbd_tls_x509_cert_dir (a client without TLS, or with TLS
# and no certificate, is refused by the same export). What QEMU writes
# through that disk lands in the old volume; a swap copies over TLS to
# the new volume's own export, whose disk is tls='yes' live and in the
# definition, with the data and QEMU's later writes on the new volume; a
# detach leaves the volswapd no export and no node.
NEED_MOUNT_NS=1 . "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
LV_NBD_TLS=1 lv_setup
[ "$(jq -r .hosts[0].nbd.tls_creds "$T/api.json")" = tls0 ] || fail "the host's NBD has no TLS: $(jq -c .hosts[0] "$T/api.json")"
# QEMU's credentials: its group reads them, nobody else does
[ "$(stat -c '%G %a' "$LV/nbd-pki" "$LV/nbd-pki/client-key.pem" | sort -u | tr '\n' ' ')" = "libvirt-qemu 640 libvirt-qemu 750 " ] \
  || fail "NBD client credentials: $(stat -c '%n %U:%G %a' "$LV/nbd-pki" "$LV/nbd-pki"/*)"
DOM=vs-nbdtls-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
OLD=$(new_volume "$ADMIN_TOKEN" 1)
NEW=$(new_volume "$ADMIN_TOKEN" 1)
OLD_PATH=$(volume_path "$OLD"); NEW_PATH=$(volume_path "$NEW")
lv_attach "$SID" "$OLD" /dev/sdb; expect_status 200

# the disk's <source> as "NAME TLS" (TLS: the tls attribute), nothing
# without an NBD disk
nbd_source() {
  local s
  s=$(virsh_lv dumpxml "$@" "$DOM" | grep -o "<source protocol='nbd'[^>]*>") || return 0
  echo "$(echo "$s" | sed -n "s/.* name='\([^']*\)'.*/\1/p") $(echo "$s" | sed -n "s/.* tls='\([^']*\)'.*/\1/p")"
}
[ "$(nbd_source)" = "$(node_of "$OLD") yes" ] || fail "live disk: $(virsh_lv dumpxml "$DOM" | grep -A4 "<disk type='network'")"
[ "$(nbd_source --inactive)" = "$(node_of "$OLD") yes" ] || fail "definition: $(virsh_lv dumpxml --inactive "$DOM" | grep -A4 "<disk type='network'")"
CI=$(reg_sql "SELECT connection_info FROM attachments WHERE server_id='$SID'")
[ "$(echo "$CI" | jq -r '.driver_volume_type + " " + (.data.tls | tostring)')" = "nbd true" ] || fail "connection_info $CI"

# the export takes TLS clients with the CA's certificate only
mkdir -p "$T/ca-only" && cp "$T/pki/ca-cert.pem" "$T/ca-only/"
nbd_read() {  # nbd_read [CREDENTIALS DIR]: reads the old volume's first 512 bytes
  local tls=() opt=
  [ -n "${1:-}" ] && { tls=(--object "tls-creds-x509,id=t,dir=$1,endpoint=client"); opt=,tls-creds=t,tls-hostname=localhost; }
  timeout 30 qemu-io "${tls[@]}" -r --image-opts \
    "driver=nbd,server.type=unix,server.path=$T/nbd.sock,export=$(node_of "$OLD")$opt" \
    -c "read 0 512" 2>&1
}
case "$(nbd_read)" in *"read 512/512"*) fail "the export took a client without TLS" ;; esac
case "$(nbd_read "$T/ca-only")" in *"read 512/512"*) fail "the export took a TLS client without a certificate" ;; esac
OUT=$(nbd_read "$T/pki") || true
case "$OUT" in *"read 512/512"*) ;; *) fail "a TLS client with the certificate: $OUT" ;; esac

# QEMU writes through its TLS connection to the export
lv_alias
lv_qemu_write 0x3c 0
file_check "$OLD_PATH" 0x3c 4

swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body") $(tail -5 "$T/api.log")"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(nbd_source)" = "$(node_of "$NEW") yes" ] || fail "live disk after swap: $(virsh_lv dumpxml "$DOM" | grep -A4 "<disk type='network'")"
[ "$(nbd_source --inactive)" = "$(node_of "$NEW") yes" ] || fail "definition after swap: $(virsh_lv dumpxml --inactive "$DOM" | grep -A4 "<disk type='network'")"
[ "$(exports)" = "$(node_of "$NEW")" ] || fail "volswapd exports after swap: $(exports)"
[ "$(nodes)" = "$(node_of "$NEW")" ] || fail "volswapd nodes after swap: $(nodes)"
CI=$(reg_sql "SELECT connection_info FROM attachments WHERE server_id='$SID'")
[ "$(echo "$CI" | jq -r '.data.export_name + " " + (.data.tls | tostring)')" = "$(node_of "$NEW") true" ] \
  || fail "connection_info after swap $CI"
# the data moved, and QEMU now writes into the new volume
file_check "$NEW_PATH" 0x3c 4
lv_qemu_write 0x5d 4
lv_range_check "$NEW_PATH" 0x5d 4 || fail "the new volume lacks QEMU's write after the swap"
lv_range_check "$OLD_PATH" 0 4 || fail "QEMU's write after the swap reached the old volume"

api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$SID/os-volume_attachments/$NEW" >/dev/null; expect_status 202
for _ in $(seq 100); do [ "$(volume_field "$NEW" status)" = available ] && break; sleep 0.1; done
[ "$(volume_field "$NEW" status)" = available ] || fail "new volume is $(volume_field "$NEW" status)"
[ -z "$(nbd_source)" ] || fail "still attached live"
[ -z "$(nbd_source --inactive)" ] || fail "still in the definition"
[ -z "$(exports)" ] || fail "volswapd still exports $(exports)"
[ -z "$(nodes)" ] || fail "volswapd still has nodes $(nodes)"
echo ok
