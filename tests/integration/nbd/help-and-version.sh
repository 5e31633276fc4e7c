#!/usr/bin/env bash
# --help exits 0 and documents the options of the command-line contract;
# --version exits 0 and prints the program name and its version (for
# volswapd, the version in meson.build).
. "$(dirname "$0")/../lib.sh"
vs_init
vs_find_bin
bin=$VS_BIN
"$bin" --help >"$VS_TMP/help" 2>&1 || vs_fail "--help exit status $?"
for opt in --blockdev --nbd-server --export --pidfile --help --version; do
  grep -q -- "$opt" "$VS_TMP/help" || vs_fail "--help does not mention $opt"
done
"$bin" --version >"$VS_TMP/version" 2>&1 || vs_fail "--version exit status $?"
first=$(head -n1 "$VS_TMP/version")
if [ "$(vs_impl)" = qsd ]; then
  name=qemu-storage-daemon
  want=$(qemu-storage-daemon --version | head -n1 | awk '{print $3}')
else
  name=volswapd
  want=$(sed -n "s/^ *version: *'\([^']*\)'.*/\1/p" "$VS_SRC/meson.build" | head -n1)
fi
echo "$first" | grep -q "$name" || vs_fail "--version does not name $name: $first"
echo "$first" | grep -qF "$want" || vs_fail "--version does not print version $want: $first"
echo "ok: $first"
