#!/usr/bin/env bash
# The tree builds into a Debian package (dpkg-buildpackage -us -uc -b) that
# lintian passes without an error; installed on this machine it creates the
# system user volswap and its directories 0750, its units are in place, the
# installed volswapd answers --version, and the installed volswapd,
# volswap-api and volswap attach a volume that nbdinfo then reads; purged,
# it leaves none of its files behind.
#
# Cost: one package build (about a minute). The package is built from the
# tree with Debian's flags whatever build runs the suite, so the run against
# the sanitizer build skips instead of building the same package again.
# Needs root (it installs a package); elsewhere it skips.
#
# dpkg must never be killed half-way (the package database would be left
# "interrupted" for everyone on the machine): apt-get runs in a session of
# its own, out of reach of tests/run's kill of the test's process group,
# and the installation starts only with enough of the test's time left
# (on a machine so loaded that the build took most of it, the test says
# so and skips the installation).
set -euo pipefail
src=${VOLSWAP_SRC:-$(cd "$(dirname "$0")/../../.." && pwd)}
build=${VOLSWAP_BUILD:-$src/build}
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || skip "installing a package needs root"
for c in dpkg-buildpackage lintian apt-get nbdinfo jq meson; do
  command -v "$c" >/dev/null || skip "$c not installed"
done
sanitize=$(meson introspect "$build" --buildoptions 2>/dev/null |
           jq -r '.[] | select(.name == "b_sanitize") | .value' || echo none)
[ "$sanitize" = none ] || [ -z "$sanitize" ] ||
  skip "the package is built with Debian's flags, not this $sanitize build's: the normal build's run covers it"

budget=${VOLSWAP_TEST_TIMEOUT:-300}
pkg_apt() { setsid --wait apt-get -y -q -o DPkg::Lock::Timeout=120 "$@"; }
W=$(mktemp -d /tmp/volswap-deb-test.XXXXXX)
installed=0
cleanup_pkg() {
  local rc=$?
  if [ $installed = 1 ]; then
    pkg_apt purge volswap >>"$W/purge.log" 2>&1 || true
  fi
  rm -rf "$W"
  exit $rc
}
trap cleanup_pkg EXIT
trap "exit 143" TERM INT

# A copy of the tree without build directories: dpkg-buildpackage writes
# its results beside the source directory.
version=$(sed -n "s/^  version: '\(.*\)',/\1/p" "$src/meson.build")
tree="$W/volswap-$version"
mkdir -p "$tree"
tar -C "$src" --exclude=./build --exclude=./build-asan --exclude=./build-fuzz --exclude=./.git \
  -cf - . | tar -C "$tree" -xf -
# The build gets the test's time but the last 90 s: on a machine so loaded
# that it cannot finish, the test says so and skips rather than be killed.
rc=0
(cd "$tree" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
  timeout -k 5 $((budget - 90 - SECONDS)) dpkg-buildpackage -us -uc -b) >"$W/build.log" 2>&1 || rc=$?
[ $rc -ne 124 ] && [ $rc -ne 137 ] ||
  skip "the package build did not finish within $((budget - 90)) s (load average $(cut -d' ' -f1 /proc/loadavg))"
[ $rc -eq 0 ] || { tail -n 30 "$W/build.log"; fail "dpkg-buildpackage failed"; }
deb=$(ls "$W"/volswap_*_*.deb)
[ -f "$deb" ] || fail "no volswap_*.deb"
lintian --allow-root "$deb" >"$W/lintian.log" 2>&1 || true
if grep -q '^E:' "$W/lintian.log"; then cat "$W/lintian.log"; fail "lintian reports errors"; fi

left=$((budget - SECONDS))
[ "$left" -ge 180 ] ||
  skip "volswap_${version} built and lintian-clean, but the build left ${left} s of the test's ${budget} s: not installing on a machine this loaded"

# One installation at a time on this machine (another checkout may run
# the same test), and the package database's own lock waited for.
exec 9>/tmp/volswap-deb-test.lock
flock 9
if dpkg-query -W -f='${Status}' volswap 2>/dev/null | grep -q installed; then
  pkg_apt purge volswap >"$W/pre-purge.log" 2>&1
fi
installed=1
DEBIAN_FRONTEND=noninteractive pkg_apt install --no-install-recommends "$deb" >"$W/install.log" 2>&1 ||
  { tail -n 20 "$W/install.log"; fail "apt-get install of $deb failed"; }

getent passwd volswap >/dev/null || fail "no user volswap"
getent group volswap >/dev/null || fail "no group volswap"
for d in /var/lib/volswap /var/lib/volswap/pools/default; do
  [ "$(stat -c '%a %U' "$d")" = "750 volswap" ] || fail "$d is $(stat -c '%a %U' "$d"), not 750 volswap"
done
[ "$(stat -c '%a %U:%G' /etc/volswap)" = "750 root:volswap" ] || fail "/etc/volswap is $(stat -c '%a %U:%G' /etc/volswap)"
[ -f /lib/systemd/system/volswapd.service ] || fail "volswapd.service not installed"
grep -q '^ExecStart=/usr/bin/volswapd ' /lib/systemd/system/volswapd.service || fail "the unit does not run /usr/bin/volswapd"
[ -f /usr/share/man/man8/volswapd.8.gz ] || fail "no volswapd(8)"
/usr/bin/volswapd --version | grep -q "^volswapd $version\$" || fail "installed volswapd --version"

# An attach through the installed programs: the API tests' setup, pointed
# at /usr/bin instead of a build directory.
mkdir -p "$W/installed/src/daemon" "$W/installed/src/api" "$W/installed/src/cli"
ln -s /usr/bin/volswapd "$W/installed/src/daemon/volswapd"
ln -s /usr/bin/volswap-api "$W/installed/src/api/volswap-api"
ln -s /usr/bin/volswap "$W/installed/src/cli/volswap"
(
  export VOLSWAP_BUILD="$W/installed" VOLSWAP_TEST_HOST_DAEMON=volswapd
  . "$src/tests/integration/api/lib.sh"
  api_setup
  password_env alice demo
  vid=$(volswap --json volume-create 1 | jq -r .volume.id)
  volswap --json server-create web >/dev/null
  volswap volume-attach web "$vid" >/dev/null
  uri=$(volswap --json volume-attachments web | jq -r '.volumeAttachments[0].export')
  [ "$(nbdinfo --size "$uri")" = 1073741824 ] || fail "the attached volume is not served at $uri"
  volswap volume-detach web "$vid"
) || fail "attach through the installed programs"

pkg_apt purge volswap >"$W/purge.log" 2>&1 ||
  { tail -n 20 "$W/purge.log"; fail "apt-get purge failed"; }
installed=0
dpkg-query -W -f='${Status}' volswap 2>/dev/null | grep -q 'ok installed' && fail "still installed"
for f in /usr/bin/volswapd /usr/bin/volswap-api /usr/bin/volswap /lib/systemd/system/volswapd.service \
         /etc/default/volswapd /etc/volswap /var/lib/volswap \
         /etc/systemd/system/multi-user.target.wants/volswapd.service; do
  [ ! -e "$f" ] || fail "$f left behind by the purge"
done
