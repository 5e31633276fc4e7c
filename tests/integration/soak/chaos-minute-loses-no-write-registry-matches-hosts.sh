#!/usr/bin/env bash
# bench/soak for about a minute: randomized swaps and migrations on small
# volumes on two volswapd hosts, consumers writing stamped blocks through
# every export, while volswap-api and volswapd are SIGKILLed and restarted,
# a host is SIGSTOPped and a pool is filled. Every write a consumer was
# acknowledged is on the volume its server ends on (through the export and
# in the file the registry names), no consumer ever read back a block it
# did not write, every fault class was injected, swaps completed, and
# every registry record agrees with what the hosts serve (attachments,
# volume states, no swap left unfinished, no export, node, job or pool
# file the registry does not know). The seed is fixed (and printed) so a
# run replays with bench/soak --seed.
set -euo pipefail
: "${VOLSWAP_BUILD:?VOLSWAP_BUILD not set}" "${VOLSWAP_SRC:?VOLSWAP_SRC not set}"
[ "$(id -u)" = 0 ] || { echo "needs root to mount the tmpfs pool the pool-fill fault fills"; exit 77; }
/usr/bin/python3 -c 'import nbd' 2>/dev/null || { echo "python3-libnbd not installed"; exit 77; }
exec "$VOLSWAP_SRC/bench/soak" --seconds "${VOLSWAP_SOAK_SECONDS:-50}" \
  --seed "${VOLSWAP_SOAK_SEED:-16}" --hosts 2 --servers 2 --spares 2 --workers 3 \
  --swap-patience 60 --check
