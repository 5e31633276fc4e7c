# shellcheck shell=bash
# Shared setup for the libvirt host tests (sourced, not run). Builds on the
# swap tests' helpers and replaces the host daemon by a real libvirtd the
# test starts itself: no systemd here, so lv_setup starts virtlogd and
# libvirtd (system mode, as root: QEMU runs as libvirt-qemu) with a config
# of its own whose sockets live under $T, and stops them at exit. Their
# state directories (/run/libvirt, /var/lib/libvirt) are the system's, so
# libvirt tests take a lock and run one at a time.
#   lv_setup            libvirtd + volswap-api with host1 on driver libvirt
#                       (LV_HOST_EXTRA: a JSON object of more host keys;
#                       LV_NBD=1: a volswapd serves the volumes over NBD,
#                       the domains' disks are network disks; LV_TLS=1:
#                       libvirtd also listens for qemu+tls:// on loopback
#                       and volswap-api reaches it that way; LV_NBD_TLS=1,
#                       LV_NBD's and more: the volswapd's NBD server requires
#                       TLS and a client certificate, x509 in $T/pki, and
#                       QEMU gets the client's in $LV/nbd-pki through
#                       qemu.conf's nbd_tls_x509_cert_dir; needs
#                       NEED_MOUNT_NS=1, see lv_qemu_conf; LV_STORAGE_HOSTS
#                       "NAME...": a volswapd per name serving its own pool
#                       NAME-pool as a storage host, NBD on 127.0.0.1 over
#                       TLS with client certificates, see lv_storage_host;
#                       needs NEED_MOUNT_NS=1 too)
#   lv_nbd_disk NAME [NEW_POOL [OLD_POOL]]   after LV_NBD=1 lv_setup (or
#                       with LV_STORAGE_HOSTS): domain NAME ($DOM) as
#                       server $SID, $OLD (in OLD_POOL, 16 MiB of 0x5a)
#                       attached as sdb, $NEW (in NEW_POOL), their files
#   nbd_name [--inactive]   the export the NBD disk sdb of $DOM reads
#   exports, nodes      the volswapd's exports and volume nodes
#                       (QMP_SOCK: another volswapd's monitor; on_storage
#                       NAME exports: storage host NAME's)
#   lv_qemu_write BYTE MIB, lv_range_check PATH BYTE MIB   4 MiB written
#                       by QEMU through $DOM's disk $ALIAS at MIB MiB, and
#                       checked in a volume's file; lv_alias sets ALIAS
#   lv_nbd_expect_rolled_back   after lv_nbd_disk's swap rolled back: the
#                       registry, disk (live, defined), job and volswapd
#                       back on $OLD alone, which takes writes
#   lv_domain NAME      defines and starts a persistent TCG domain with a
#                       virtio-scsi controller and no disk (no guest OS is
#                       needed to hotplug, block-copy or pivot)
#   lv_sources NAME [--inactive]   "target path" lines of the domain's disks
#   virsh_lv ARGS       virsh on the test's libvirtd
#   libvirtd_restart    stops libvirtd (domains keep running) and starts it
# shellcheck source=../swap/lib.sh
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"

LV=$T/lv
LV_URI="qemu:///system?socket=$LV/run/libvirt-sock"
LV_DOMAINS=()
LIBVIRTD_PID=
VIRTLOGD_PID=
LV_STORAGE_PIDS=()

virsh_lv() { virsh -q -c "$LV_URI" "$@"; }

lv_cleanup() {
  local rc=$? d
  for d in "${LV_DOMAINS[@]+"${LV_DOMAINS[@]}"}"; do
    virsh_lv destroy "$d" >/dev/null 2>&1 || true
    virsh_lv undefine "$d" >/dev/null 2>&1 || true
  done
  if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -f "$LV/libvirtd.log" ]; then
    { echo "--- libvirtd.log"; grep -v dmidecode "$LV/libvirtd.log" | tail -n 20; } >&2
  fi
  if [ -n "$API_PID" ]; then kill "$API_PID" 2>/dev/null; wait "$API_PID" 2>/dev/null; API_PID=; fi
  for d in "${LV_STORAGE_PIDS[@]+"${LV_STORAGE_PIDS[@]}"}"; do
    kill "$d" 2>/dev/null; wait "$d" 2>/dev/null
  done
  [ -n "$LIBVIRTD_PID" ] && { kill "$LIBVIRTD_PID" 2>/dev/null; wait "$LIBVIRTD_PID" 2>/dev/null; }
  [ -n "$VIRTLOGD_PID" ] && { kill "$VIRTLOGD_PID" 2>/dev/null; wait "$VIRTLOGD_PID" 2>/dev/null; }
  (exit $rc)
  cleanup
}
trap lv_cleanup EXIT
# a test stopped by tests/run's timeout still removes its domains: they
# belong to libvirtd, not to the test's process group, and a persistent
# one left behind would be defined in the system's libvirt for good
trap 'exit 143' TERM

libvirtd_start() {
  libvirtd --config "$LV/libvirtd.conf" --pid-file "$LV/libvirtd.pid" ${LV_TLS:+--listen} \
    >>"$LV/libvirtd.log" 2>&1 &
  LIBVIRTD_PID=$!
  for _ in $(seq 300); do
    virsh_lv version >/dev/null 2>&1 && return 0
    kill -0 "$LIBVIRTD_PID" 2>/dev/null || break
    sleep 0.1
  done
  grep -v dmidecode "$LV/libvirtd.log" | tail -n 20 >&2
  skip "libvirtd cannot start here"
}

libvirtd_restart() {
  kill "$LIBVIRTD_PID"; wait "$LIBVIRTD_PID" 2>/dev/null || true
  libvirtd_start
}

lv_start_daemons() {
  command -v libvirtd >/dev/null || skip "libvirtd not installed (libvirt-daemon-system)"
  command -v virtlogd >/dev/null || skip "virtlogd not installed"
  command -v virsh >/dev/null || skip "virsh not installed (libvirt-clients)"
  command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
  [ "$(id -u)" = 0 ] || skip "the libvirt tests run libvirtd in system mode, as root"
  mkdir -p "$LV/run"
  # QEMU runs as libvirt-qemu: it must reach the pools under $T
  chmod 755 "$T"
  exec 9>/tmp/volswap-libvirtd.lock
  flock -w 250 9 || fail "another libvirt test held the lock too long"
  cat >"$LV/libvirtd.conf" <<CONF
unix_sock_dir = "$LV/run"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
CONF
  if [ -n "${LV_TLS:-}" ]; then
    # libvirt's own TLS transport on loopback, certificates made here: the
    # server's for localhost, a client's whose DN libvirtd allows, and the
    # client's files where the URI's pkipath points
    bash "$VOLSWAP_SRC/tests/integration/gen-tls-certs.sh" "$LV/pki" >/dev/null || fail "certificates"
    mkdir -p "$LV/pki-client"
    cp "$LV/pki/ca-cert.pem" "$LV/pki-client/cacert.pem"
    cp "$LV/pki/client-cert.pem" "$LV/pki-client/clientcert.pem"
    cp "$LV/pki/client-key.pem" "$LV/pki-client/clientkey.pem"
    LV_TLS_PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat >>"$LV/libvirtd.conf" <<CONF
listen_tls = 1
listen_tcp = 0
listen_addr = "127.0.0.1"
tls_port = "$LV_TLS_PORT"
key_file = "$LV/pki/server-key.pem"
cert_file = "$LV/pki/server-cert.pem"
ca_file = "$LV/pki/ca-cert.pem"
tls_allowed_dn_list = ["O=Test Org,CN=client"]
CONF
    LV_TLS_URI="qemu+tls://localhost:$LV_TLS_PORT/system?pkipath=$LV/pki-client"
  fi
  # QEMU's console logs go through virtlogd (qemu.conf's default)
  if ! [ -S /run/libvirt/virtlogd-sock ] || ! pgrep -x virtlogd >/dev/null; then
    virtlogd -p "$LV/virtlogd.pid" >"$LV/virtlogd.log" 2>&1 &
    VIRTLOGD_PID=$!
  fi
  [ -z "${LV_NBD_TLS:-}${LV_STORAGE_HOSTS:-}" ] || lv_qemu_conf
  libvirtd_start
  # domains of a test killed before its cleanup (under the lock, no other
  # libvirt test runs: every vs-* domain is such a leftover)
  local d
  for d in $(virsh_lv list --all --name | grep '^vs-'); do
    virsh_lv destroy "$d" >/dev/null 2>&1 || true
    virsh_lv undefine "$d" >/dev/null 2>&1 || true
  done
}

# libvirtd reads qemu.conf from /etc/libvirt alone. The test's copy, with
# nbd_tls_x509_cert_dir naming the NBD client credentials made here, is
# bind-mounted over it in the test's private mount namespace (the test
# sets NEED_MOUNT_NS=1 before sourcing this file): only this test's
# libvirtd sees it, the system's file never changes, and the mount goes
# with the namespace however the test ends. The credentials are QEMU's
# (libvirt-qemu), through the group, and nobody else's.
lv_qemu_conf() {
  [ -n "${VOLSWAP_TEST_IN_MOUNT_NS:-}" ] || fail "LV_NBD_TLS needs NEED_MOUNT_NS=1"
  [ -d "$T/pki" ] || bash "$VOLSWAP_SRC/tests/integration/gen-tls-certs.sh" "$T/pki" >/dev/null \
    || fail "certificates"
  mkdir -p "$LV/nbd-pki"
  cp "$T/pki/ca-cert.pem" "$T/pki/client-cert.pem" "$T/pki/client-key.pem" "$LV/nbd-pki/"
  chown -R root:libvirt-qemu "$LV/nbd-pki" && chmod 0750 "$LV/nbd-pki" \
    && chmod 0640 "$LV/nbd-pki"/* || fail "NBD client credentials' permissions"
  grep -v '^[[:space:]]*nbd_tls_x509_cert_dir' /etc/libvirt/qemu.conf >"$LV/qemu.conf" || true
  echo "nbd_tls_x509_cert_dir = \"$LV/nbd-pki\"" >>"$LV/qemu.conf"
  mount --bind "$LV/qemu.conf" /etc/libvirt/qemu.conf || fail "cannot bind-mount qemu.conf"
}

lv_setup() {
  if [ -n "${LV_NBD_TLS:-}" ]; then
    LV_NBD=1 VOLSWAP_TEST_TLS=1 VOLSWAP_TEST_TLS_VERIFY=1
  fi
  lv_start_daemons
  local keep='{name: "host1", driver: "libvirt", uri: $uri, pools: .hosts[0].pools}'
  if [ -n "${LV_NBD:-}" ]; then
    # a volswapd beside libvirtd serves the volumes; QEMU (libvirt-qemu)
    # reaches its NBD socket through the group, nobody else can
    VOLSWAP_TEST_HOST_DAEMON=volswapd host_start
    chgrp libvirt-qemu "$T/nbd.sock" && chmod 0660 "$T/nbd.sock" || fail "NBD socket permissions"
    keep='.hosts[0] + {driver: "libvirt", uri: $uri}'
  fi
  write_config 3600
  local s
  for s in ${LV_STORAGE_HOSTS:-}; do lv_storage_host "$s"; done
  # over the unix socket QEMU checks the volswapd's certificate against
  # nbd.tls_hostname: gen-tls-certs.sh's server is localhost
  jq --arg uri "${LV_TLS_URI:-$LV_URI}" --argjson extra "${LV_HOST_EXTRA:-{\}}" \
    --arg tlsname "${LV_NBD_TLS:+localhost}" \
    ".hosts[0] = (($keep) + \$extra) | if \$tlsname != \"\" then .hosts[0].nbd.tls_hostname = \$tlsname else . end" \
    "$T/api.json" >"$T/api.json.new" && mv "$T/api.json.new" "$T/api.json"
  mkdir -p "$T/pool" "$T/pool2"
  api_start
  need_swap_api
  PID_DEMO=$(project_id demo)
}

# A storage host: a volswapd with a monitor on $T/NAME-qmp.sock and an
# NBD server on 127.0.0.1:$NAME_PORT (NAME upper-cased, e.g.
# STORAGE1_PORT) that requires TLS and a client certificate of the test
# CA ($T/pki, QEMU's through lv_qemu_conf), serving its pool NAME-pool
# ($T/NAME-pool); the API's config gains the host. The volswapd goes at
# exit.
lv_storage_host() {  # lv_storage_host NAME
  local name=$1 port var
  [ -d "$T/pki" ] || bash "$VOLSWAP_SRC/tests/integration/gen-tls-certs.sh" "$T/pki" >/dev/null \
    || fail "certificates"
  port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$T/$name-pool"
  "$VOLSWAP_BUILD/src/daemon/volswapd" --object "tls-creds-x509,id=tls0,dir=$T/pki,endpoint=server" \
    --chardev "socket,path=$T/$name-qmp.sock,server=on,wait=off,id=m0" --monitor chardev=m0 \
    --nbd-server "addr.type=inet,addr.host=127.0.0.1,addr.port=$port,tls-creds=tls0" \
    >"$T/$name.log" 2>&1 &
  LV_STORAGE_PIDS+=($!)
  wait_started "$!" sh -c "[ -S '$T/$name-qmp.sock' ] && ss -Hltn 'sport = :$port' | grep -q ." \
    || { cat "$T/$name.log" >&2; fail "storage host $name did not start"; }
  var=$(echo "$name" | tr '[:lower:]-' '[:upper:]_')_PORT
  printf -v "$var" %s "$port"
  jq --arg n "$name" --arg q "$T/$name-qmp.sock" --argjson p "$port" --arg pool "$T/$name-pool" \
    '.hosts += [{name: $n, driver: "volswapd", qmp: $q,
                 nbd: {type: "inet", host: "127.0.0.1", port: $p, tls_creds: "tls0"},
                 pools: [{name: ($n + "-pool"), type: "dir", path: $pool}]}]' \
    "$T/api.json" >"$T/api.json.new" && mv "$T/api.json.new" "$T/api.json"
}

# A helper of swap/lib.sh (exports, nodes, qmp_cmd) run against storage
# host NAME's volswapd.
on_storage() { QMP_SOCK=$T/$1-qmp.sock "${@:2}"; }  # on_storage NAME COMMAND [ARGS]

lv_domain() {  # lv_domain NAME
  cat >"$LV/$1.xml" <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/></features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='scsi' model='virtio-scsi'/>
  </devices>
</domain>
XML
  virsh_lv define "$LV/$1.xml" >/dev/null || fail "define $1"
  LV_DOMAINS+=("$1")
  virsh_lv start "$1" >/dev/null || fail "start $1"
}

lv_sources() {  # lv_sources NAME [--inactive]
  virsh_lv domblklist "$@" | awk '{print $1, $2}'
}

# Registers the domain NAME as a server; prints its id.
lv_server() {
  api "$ADMIN_TOKEN" POST /v2.1/servers "{\"server\":{\"name\":\"$1\"}}" >/dev/null
  expect_status 202
  jq -r .server.id "$T/last.body"
}

lv_attach() {  # lv_attach SERVER VOLUME DEVICE
  api "$ADMIN_TOKEN" POST "/v2.1/servers/$1/os-volume_attachments" \
    "{\"volumeAttachment\":{\"volumeId\":\"$2\",\"device\":\"$3\"}}" >/dev/null
}

server_field() {  # server_field SERVER FIELD
  api "$ADMIN_TOKEN" GET "/v2.1/servers/$1" >/dev/null
  jq -r ".server[\"$2\"]" "$T/last.body"
}

# Waits for SERVER's task_state to clear and prints its status.
wait_server_idle() {
  for _ in $(seq 600); do
    [ "$(server_field "$1" OS-EXT-STS:task_state)" = null ] && { server_field "$1" status; return; }
    sleep 0.1
  done
  fail "server $1 still in task_state $(server_field "$1" OS-EXT-STS:task_state)"
}

# The result of event EVENT of SERVER's newest action ACTION.
action_event_result() {  # action_event_result SERVER ACTION EVENT
  api "$ADMIN_TOKEN" GET "/v2.1/servers/$1/os-instance-actions" >/dev/null
  local req
  req=$(jq -r --arg a "$2" '[.instanceActions[] | select(.action == $a)] | sort_by(.start_time) | last | .request_id' "$T/last.body")
  api "$ADMIN_TOKEN" GET "/v2.1/servers/$1/os-instance-actions/$req" >/dev/null
  jq -r --arg e "$3" '[.instanceAction.events[] | select(.event == $e)] | last | .result' "$T/last.body"
}

node_of() { echo "vol-$(echo "$1" | tr -d - | cut -c1-26)"; }  # node_of VOLUME

# A volume of NAME's pool (lv_storage_host, or pool2): prints its id.
lv_volume_in() {  # lv_volume_in POOL
  api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" "{\"volume\":{\"size\":1,\"volume_type\":\"$1\"}}" >/dev/null
  expect_status 202
  jq -r .volume.id "$T/last.body"
}

lv_nbd_disk() {  # lv_nbd_disk NAME [NEW_POOL [OLD_POOL]]
  DOM=$1
  lv_domain "$DOM"
  SID=$(lv_server "$DOM")
  if [ -n "${3:-}" ]; then OLD=$(lv_volume_in "$3"); else OLD=$(new_volume "$ADMIN_TOKEN" 1); fi
  if [ -n "${2:-}" ]; then NEW=$(lv_volume_in "$2"); else NEW=$(new_volume "$ADMIN_TOKEN" 1); fi
  OLD_PATH=$(volume_path "$OLD"); NEW_PATH=$(volume_path "$NEW")
  qemu-io -f raw "$OLD_PATH" -c "write -P 0x5a 0 16M" >/dev/null || fail "cannot fill the old volume"
  lv_attach "$SID" "$OLD" /dev/sdb; expect_status 200
}

lv_nbd_expect_rolled_back() {
  HOST_PID= expect_rolled_back  # the volswapd checks follow, for its lv- exports
  [ "$(nbd_name)" = "$(node_of "$OLD")" ] || fail "live disk: $(virsh_lv dumpxml "$DOM" | grep -A3 "<disk")"
  [ "$(nbd_name --inactive)" = "$(node_of "$OLD")" ] || fail "definition: $(virsh_lv dumpxml --inactive "$DOM" | grep -A3 "<disk")"
  ! virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" || fail "a job is left: $(virsh_lv blockjob "$DOM" sdb --info 2>&1)"
  [ "$(exports)" = "$(node_of "$OLD")" ] || fail "volswapd exports after the rollback: $(exports)"
  [ "$(nodes)" = "$(node_of "$OLD")" ] || fail "volswapd nodes after the rollback: $(nodes)"
  # the guest's disk still writes into the old volume
  nbd_fill "nbd+unix:///$(node_of "$OLD")?socket=$T/nbd.sock" 0x77 1
  file_check "$OLD_PATH" 0x77 1
}

nbd_name() { virsh_lv dumpxml "$@" "$DOM" | grep -o "protocol='nbd' name='[^']*'" | sed "s/.*name='//; s/'//"; }
exports() { qmp_cmd '{"execute":"query-block-exports"}' | jq -r '[.return[]["node-name"]] | sort | join(" ")'; }
nodes() { qmp_cmd '{"execute":"query-named-block-nodes"}' | jq -r '[.return[]["node-name"] | select(startswith("vol-"))] | unique | join(" ")'; }

# QEMU writes 4 MiB of BYTE at MIB MiB through the disk whose alias is
# $ALIAS, by HMP's qemu-io (which says nothing on success: its report goes
# to QEMU's stdout; the volumes' files show what it wrote).
lv_qemu_write() {  # lv_qemu_write BYTE MIB
  local out
  out=$(virsh_lv qemu-monitor-command "$DOM" --hmp "qemu-io -d $ALIAS \"write -P $1 ${2}M 4M\"" 2>&1) \
    || fail "QEMU's write: $out"
  [ -z "$(echo "$out" | tr -d '[:space:]')" ] || fail "QEMU's write: $out"
}
lv_range_check() {  # lv_range_check PATH BYTE MIB: its 4 MiB there hold BYTE
  local out
  out=$(qemu-io -f raw -r "$1" -c "read -P $2 ${3}M 4M") || return 1
  case "$out" in *"Pattern verification failed"*) return 1 ;; *"read 4194304/4194304"*) return 0 ;; esac
  return 1
}
# The user alias (ua-...) of $DOM's disk, into ALIAS.
lv_alias() {
  ALIAS=$(virsh_lv dumpxml "$DOM" | grep -o "<alias name='ua-[^']*'/>" | sed "s/.*name='//; s/'.*//") || true
  [ -n "$ALIAS" ] || fail "no user alias: $(virsh_lv dumpxml "$DOM" | grep -A8 "<disk type='network'")"
}
