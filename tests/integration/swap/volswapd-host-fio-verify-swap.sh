#!/usr/bin/env bash
# fio-verify-swap-volswapd-driver.sh with our volswapd as the host daemon (its QMP
# monitor, mirror job and NBD exports) instead of qemu-storage-daemon.
VOLSWAP_TEST_HOST_DAEMON=volswapd exec "$(dirname "$0")/fio-verify-swap-volswapd-driver.sh"
