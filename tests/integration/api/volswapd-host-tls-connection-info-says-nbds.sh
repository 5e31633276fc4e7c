#!/usr/bin/env bash
# tls-host-connection-info-says-nbds.sh with our volswapd as the host daemon.
[ -x "$VOLSWAP_BUILD/src/daemon/volswapd" ] || { echo "volswapd not built"; exit 77; }
VOLSWAP_TEST_HOST_DAEMON=volswapd exec "$(dirname "$0")/tls-host-connection-info-says-nbds.sh"
