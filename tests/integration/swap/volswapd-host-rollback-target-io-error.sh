#!/usr/bin/env bash
# rollback-target-io-error.sh with our volswapd as the host daemon: its
# mirror meets the failing block device and the swap rolls back.
VOLSWAP_TEST_HOST_DAEMON=volswapd exec "$(dirname "$0")/rollback-target-io-error.sh"
