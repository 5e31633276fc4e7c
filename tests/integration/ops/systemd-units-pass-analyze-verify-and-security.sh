#!/usr/bin/env bash
# The systemd units meson generates (volswapd.service, volswap-api.service)
# pass `systemd-analyze verify` without a single warning, with ExecStart
# pointing at this build's programs, and their hardening keeps
# `systemd-analyze security`'s exposure at 3.0 or below (both are 1.8 now).
. "$(dirname "$0")/../lib.sh"
vs_init
vs_require systemd-analyze
units="$VS_BUILD/dist/systemd"
[ -f "$units/volswapd.service" ] || vs_fail "no $units/volswapd.service: meson did not generate the units"
for u in volswapd volswap-api; do
  case $u in volswapd) dir=daemon ;; *) dir=api ;; esac
  bindir=$(sed -n 's#^ExecStart=\(.*\)/'"$u"' .*#\1#p' "$units/$u.service")
  [ -n "$bindir" ] || vs_fail "$u.service: no ExecStart naming $u"
  sed "s#$bindir/$u #$VS_BUILD/src/$dir/$u #" "$units/$u.service" >"$VS_TMP/$u.service"
done
out=$(systemd-analyze verify --man=no "$VS_TMP/volswapd.service" "$VS_TMP/volswap-api.service" 2>&1) ||
  vs_fail "systemd-analyze verify failed: $out"
# Outside a booted systemd (CI containers) verify cannot load the default
# dependencies; that is the machine, not the units.
out=$(echo "$out" | grep -v 'Unit sysinit.target not found' || true)
[ -z "$out" ] || vs_fail "systemd-analyze verify warns: $out"
for u in volswapd volswap-api; do
  grep -q '^Type=' "$VS_TMP/$u.service" || vs_fail "$u.service has no Type="
  sec=$(systemd-analyze security --offline=yes --threshold=30 "$VS_TMP/$u.service" 2>&1) ||
    vs_fail "$u.service: exposure above 3.0: $(echo "$sec" | tail -n 1)"
  vs_log "$u: $(echo "$sec" | grep 'Overall exposure')"
done
for u in volswapd volswap-api; do
  grep -q '^Type=notify' "$VS_TMP/$u.service" || vs_fail "$u.service is not Type=notify"
done
