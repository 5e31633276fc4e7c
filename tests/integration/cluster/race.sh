# race N1 METHOD1 PATH1 BODY1 N2 METHOD2 PATH2 BODY2: sends both requests at
# the same moment through nodes N1 and N2 (as admin); CODE_A/CODE_B and
# $T/a.body, $T/b.body hold the answers. Sourced by the cluster tests.
race() {
  one() {  # one NODE METHOD PATH BODY OUT
    local args=(-sS -o "$T/$5.body" -w '%{http_code}' -X "$2" -H "X-Auth-Token: $ADMIN_TOKEN")
    [ -n "$4" ] && args+=(-H 'Content-Type: application/json' -d "$4")
    curl "${args[@]}" "${NODE_URL[$1]}$3" >"$T/$5.code"
  }
  one "$1" "$2" "$3" "$4" a & local pa=$!
  one "$5" "$6" "$7" "$8" b & local pb=$!
  wait "$pa" "$pb"
  CODE_A=$(cat "$T/a.code") CODE_B=$(cat "$T/b.code")
}
