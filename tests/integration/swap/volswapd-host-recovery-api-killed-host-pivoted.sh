#!/usr/bin/env bash
# recovery-api-killed-host-pivoted.sh with our volswapd as the host daemon (its QMP
# monitor, mirror job and NBD exports) instead of qemu-storage-daemon.
VOLSWAP_TEST_HOST_DAEMON=volswapd exec "$(dirname "$0")/recovery-api-killed-host-pivoted.sh"
