# bench/api --nodes N (sourced by bench/api, which has set up the host, the
# SQLite config in $T/api.json, setup_data and run_wrk): one node on SQLite,
# then 1..N nodes on one PostgreSQL, the same calls, wrk's connections
# spread over the nodes (one wrk per node, CONNECTIONS / n connections and
# THREADS / n threads each, at least one). Requests per second add up over
# the nodes; p99 is the worst node's; CPU per request is given twice: the
# nodes' processes alone, and with the PostgreSQL server's (its postmaster
# and the backends serving the nodes), since on PostgreSQL part of a
# request's work moves into the database server (on SQLite it is all in
# the node). On a small machine PostgreSQL is the part that saturates
# first, and the wall-clock figures show it.

# every node's CPU ticks (user + system) so far
nodes_ticks() {
  local t=0 p
  for p in "${node_pids[@]}"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$t"
}
# the PostgreSQL server's CPU ticks so far (0 on SQLite runs: none is
# counted): its postmaster and every child of it
pg_ticks() {
  local pm t=0 p
  pm=$(head -1 "${VOLSWAP_TEST_PG_DIR:-/nonexistent}/data/postmaster.pid" 2>/dev/null) || { echo 0; return; }
  for p in $pm $(ps -o pid= --ppid "$pm"); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
# run_wrk_nodes PATH: "p50 p99 rps cpu_us cpu_with_pg_us" over the nodes in
# node_urls
run_wrk_nodes() {
  local n=${#node_urls[@]} i t0 t1 pids=() c th
  c=$(( conns / n )); [ "$c" -ge 1 ] || c=1
  th=$(( wthreads / n )); [ "$th" -ge 1 ] || th=1
  t0=$(nodes_ticks) g0=$(pg_ticks)
  for i in "${!node_urls[@]}"; do
    wrk -t"$th" -c"$c" -d"${duration}s" --latency "${H[@]}" "${node_urls[$i]}$1" >"$T/wrk.$i" &
    pids+=($!)
  done
  wait "${pids[@]}"
  t1=$(nodes_ticks) g1=$(pg_ticks)
  local total=0 rps=0 p50=0 p99=0 out
  for i in "${!node_urls[@]}"; do
    out=$(cat "$T/wrk.$i")
    if grep -q Non-2xx <<<"$out"; then echo "bench/api: non-2xx replies from node $((i + 1)) for $1" >&2; exit 1; fi
    total=$((total + $(awk '/requests in/ {print $1}' <<<"$out")))
    rps=$(awk -v a="$rps" -v b="$(awk '$1 == "Requests/sec:" {print $2}' <<<"$out")" 'BEGIN {printf "%.2f", a + b}')
    p50=$(awk -v a="$p50" -v b="$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")" 'BEGIN {print (b > a ? b : a)}')
    p99=$(awk -v a="$p99" -v b="$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")" 'BEGIN {print (b > a ? b : a)}')
  done
  local cpu cpu_pg
  cpu=$(awk -v d=$((t1 - t0)) -v n="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", d * 1e6 / hz / n}')
  cpu_pg=$(awk -v d=$((t1 - t0 + g1 - g0)) -v n="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", d * 1e6 / hz / n}')
  echo "$p50 $p99 $rps $cpu $cpu_pg"
}
start_node() {  # start_node I CONFIG
  rm -f "$T/port-$1"
  "$api_bin" --config "$2" --port-file "$T/port-$1" >>"$T/api-$1.log" 2>&1 &
  node_pids+=($!)
  for _ in $(seq 300); do [ -s "$T/port-$1" ] && break; sleep 0.05; done
  [ -s "$T/port-$1" ] || { cat "$T/api-$1.log" >&2; echo "bench/api: node $1 did not start" >&2; exit 1; }
  node_urls+=("http://127.0.0.1:$(cat "$T/port-$1")")
}
stop_nodes() {
  local p
  for p in "${node_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
  node_pids=() node_urls=()
}

declare -A R
# one node on SQLite
node_urls=()
start_node sqlite "$T/api.json"
url=${node_urls[0]}
setup_data
read -r R[sq,l50] R[sq,l99] R[sq,lrps] R[sq,lcpu] R[sq,lcpg] <<<"$(run_wrk_nodes "$list_path")"
read -r R[sq,s50] R[sq,s99] R[sq,srps] R[sq,scpu] R[sq,scpg] <<<"$(run_wrk_nodes "$show_path")"
stop_nodes

# 1..N nodes on PostgreSQL
db=vs_bench_$$
psql -q -X "$VOLSWAP_TEST_PG" -c "CREATE DATABASE $db" >/dev/null
for i in $(seq "$nodes"); do
  jq --arg db "$VOLSWAP_TEST_PG dbname=$db" --arg node "node$i" '.database = $db | .node = $node' \
    "$T/api.json" >"$T/api-pg-$i.json"
done
start_node pg1 "$T/api-pg-1.json"
url=${node_urls[0]}
setup_data
for n in $(seq "$nodes"); do
  [ "$n" -gt 1 ] && start_node "pg$n" "$T/api-pg-$n.json"
  read -r R[$n,l50] R[$n,l99] R[$n,lrps] R[$n,lcpu] R[$n,lcpg] <<<"$(run_wrk_nodes "$list_path")"
  read -r R[$n,s50] R[$n,s99] R[$n,srps] R[$n,scpu] R[$n,scpg] <<<"$(run_wrk_nodes "$show_path")"
done
stop_nodes

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
printf '\nvolswap-api bench --nodes %s: wrk %s threads, %s connections in all, %ss each, %s API threads a node, %s CPUs\n' \
  "$nodes" "$wthreads" "$conns" "$duration" "$(nproc)" "$(nproc)"
printf '%-30s %10s %10s %12s %12s %14s %14s\n' registry/call p50_ms p99_ms req_per_s 'rps vs sqlite' \
  cpu_us_per_req '+postgres_cpu'
for call in l s; do
  name=$([ $call = l ] && echo "attachments list (3)" || echo "attachment show")
  printf '%-30s %10s %10s %12s %12s %14s %14s\n' "sqlite, 1 node: $name" "${R[sq,${call}50]}" \
    "${R[sq,${call}99]}" "${R[sq,${call}rps]}" 1.00 "${R[sq,${call}cpu]}" "${R[sq,${call}cpu]}"
  for n in $(seq "$nodes"); do
    printf '%-30s %10s %10s %12s %12s %14s %14s\n' "postgresql, $n node(s): $name" "${R[$n,${call}50]}" \
      "${R[$n,${call}99]}" "${R[$n,${call}rps]}" "$(ratio "${R[$n,${call}rps]}" "${R[sq,${call}rps]}")" \
      "${R[$n,${call}cpu]}" "${R[$n,${call}cpg]}"
  done
done
printf 'one node, postgresql/sqlite requests per second: list %s, show %s (target >= 0.70)\n' \
  "$(ratio "${R[1,lrps]}" "${R[sq,lrps]}")" "$(ratio "${R[1,srps]}" "${R[sq,srps]}")"
printf 'one node, sqlite/postgresql CPU a request, the node alone: list %s, show %s; with postgres: list %s, show %s\n' \
  "$(ratio "${R[sq,lcpu]}" "${R[1,lcpu]}")" "$(ratio "${R[sq,scpu]}" "${R[1,scpu]}")" \
  "$(ratio "${R[sq,lcpu]}" "${R[1,lcpg]}")" "$(ratio "${R[sq,scpu]}" "${R[1,scpg]}")"
