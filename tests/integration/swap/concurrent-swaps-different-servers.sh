#!/usr/bin/env bash
# Three servers on one host swap at once: every swap completes (they share
# the host's one QMP session), each server ends on its own new volume with
# its own data, and registry and host agree for each.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
declare -a S O N
for i in 0 1 2; do
  attached_pair 1 0
  nbd_fill "$URI" "0x1$i" 2
  S[$i]=$SID; O[$i]=$OLD; N[$i]=$NEW
done
for i in 0 1 2; do swap_put "$ADMIN_TOKEN" "${S[$i]}" "${O[$i]}" "${N[$i]}"; expect_status 202; done
for i in 0 1 2; do
  [ "$(wait_swap "${S[$i]}" "${O[$i]}")" = completed ] || fail "swap $i: $(cat "$T/last.body")"
done
for i in 0 1 2; do
  [ "$(attached_volume "${S[$i]}")" = "${N[$i]}" ] || fail "server $i on $(attached_volume "${S[$i]}")"
  file_check "$(volume_path "${N[$i]}")" "0x1$i" 2
  [ "$(export_node "${S[$i]}")" = "$(reg_sql "SELECT node_name FROM attachments WHERE server_id='${S[$i]}'")" ] \
    || fail "server $i: registry and host disagree"
done
echo ok
