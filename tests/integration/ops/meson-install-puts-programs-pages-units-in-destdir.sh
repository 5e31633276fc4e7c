#!/usr/bin/env bash
# `meson install` with DESTDIR puts the three programs, the four man
# pages, the systemd units (naming the installed programs), the sysusers
# entry, the example configuration and volswapd's defaults under the
# build's prefix inside DESTDIR, and the state directory 0750; the
# installed volswapd runs.
. "$(dirname "$0")/../lib.sh"
vs_init
vs_require meson jq
root="$VS_TMP/root"
meson install -C "$VS_BUILD" --no-rebuild --destdir "$root" >"$VS_TMP/install.log" 2>&1 ||
  vs_fail "meson install failed: $(tail -n 5 "$VS_TMP/install.log")"
opt() { meson introspect "$VS_BUILD" --buildoptions | jq -r ".[] | select(.name == \"$1\") | .value"; }
prefix=$(opt prefix); bindir=$(opt bindir); mandir=$(opt mandir); datadir=$(opt datadir)
sysconfdir=$(opt sysconfdir); localstatedir=$(opt localstatedir)
abs() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
for p in volswapd volswap-api volswap; do
  [ -x "$root$(abs "$bindir")/$p" ] || vs_fail "$p not installed in $(abs "$bindir")"
done
for page in man8/volswapd.8 man8/volswap-api.8 man1/volswap.1 man5/volswap-api.conf.5; do
  if [ -d "$root$(abs "$mandir")" ]; then
    [ -s "$root$(abs "$mandir")/$page" ] || vs_fail "$page not installed"
  fi
done
unit=$(find "$root" -name volswapd.service | head -n 1)
[ -n "$unit" ] || vs_fail "volswapd.service not installed"
[ -f "$(dirname "$unit")/volswap-api.service" ] || vs_fail "volswap-api.service not beside volswapd.service"
grep -q "^ExecStart=$(abs "$bindir")/volswapd " "$unit" || vs_fail "the unit does not start $(abs "$bindir")/volswapd"
[ -f "$root$prefix/lib/sysusers.d/volswap.conf" ] || vs_fail "no sysusers.d entry"
[ -f "$root$(abs "$datadir")/doc/volswap/examples/volswap-api.json.example" ] || vs_fail "no example configuration"
jq -e .hosts "$root$(abs "$datadir")/doc/volswap/examples/volswap-api.json.example" >/dev/null ||
  vs_fail "the example configuration is not JSON with hosts"
[ -f "$root$(abs "$sysconfdir")/default/volswapd" ] || vs_fail "no default/volswapd"
state="$root$(abs "$localstatedir")/lib/volswap"
[ -d "$state/pools/default" ] || vs_fail "no state directory with its default pool"
[ "$(stat -c %a "$state/pools/default")" = 750 ] || vs_fail "pools/default is $(stat -c %a "$state/pools/default"), not 750"
"$root$(abs "$bindir")/volswapd" --version | grep -q '^volswapd ' || vs_fail "installed volswapd --version"
