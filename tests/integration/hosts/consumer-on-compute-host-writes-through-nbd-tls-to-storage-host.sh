#!/usr/bin/env bash
# A volume on one host, its consumer on another: the storage host's
# volswapd exports the volume over NBD with TLS (client certificates
# required) at 10.77.0.21:10809; the compute host's volswapd opens that
# export as an nbd node (TLS with its own client certificate,
# reconnect-delay) and exports it to its consumer, fio, which runs on the
# compute host and writes 4k random blocks with crc32c verification. Its
# read-back verifies, and a verify-only pass on the storage host's file
# finds every write: the bytes crossed the link encrypted and landed.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
HOST_NBD_TLS=1 host_volswapd storage1 "$NS_SUBNET.21"
host_volswapd compute1 "$NS_SUBNET.11"
truncate -s 64M "$T/pool/vol1.img"
host_qmp storage1 blockdev-add "{\"driver\":\"file\",\"node-name\":\"vol1\",\"filename\":\"$T/pool/vol1.img\"}" >/dev/null
host_qmp storage1 block-export-add '{"type":"nbd","id":"vol1","node-name":"vol1","writable":true}' >/dev/null
host_qmp compute1 blockdev-add "{\"driver\":\"nbd\",\"node-name\":\"rvol1\",\"export\":\"vol1\",\"tls-creds\":\"ctls\",\"reconnect-delay\":5,\"server\":{\"type\":\"inet\",\"host\":\"$NS_SUBNET.21\",\"port\":\"10809\"}}" >/dev/null
host_qmp compute1 block-export-add '{"type":"nbd","id":"g1","node-name":"rvol1","writable":true}' >/dev/null
# a plaintext client is refused by the storage host
if ns_exec compute1 nbdinfo --size "nbd://$NS_SUBNET.21:10809/vol1" >/dev/null 2>&1; then
  fail "the storage host served a client without TLS"
fi
ns_exec compute1 fio --name=consumer --ioengine=nbd --uri="nbd://$NS_SUBNET.11:10809/rvol1" \
  --rw=randwrite --bs=4k --iodepth=16 --size=16M --verify=crc32c --verify_fatal=1 \
  --randrepeat=1 --verify_state_save=0 --output="$T/fio.out" >"$T/fio.log" 2>&1 ||
  { cat "$T/fio.log" "$T/fio.out" >&2; fail "fio on the compute host failed"; }
host_qmp compute1 block-export-del '{"id":"g1"}' >/dev/null
fio_verify_file "$T/pool/vol1.img" 16
echo ok
