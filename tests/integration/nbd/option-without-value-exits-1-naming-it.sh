#!/usr/bin/env bash
# An option that needs a value given as the last argument (--blockdev,
# --export, --nbd-server, --pidfile): exit status 1 and exactly one line on
# stderr that names the option (qsd: "option '--blockdev' requires an
# argument"), in plain text (no NUL or other control bytes).
. "$(dirname "$0")/../lib.sh"
vs_init
vs_find_bin
bin=$VS_BIN
for opt in --blockdev --export --nbd-server --pidfile; do
  rc=0
  timeout 20 "$bin" "$opt" >/dev/null 2>"$VS_TMP/err" </dev/null || rc=$?
  [ $rc = 1 ] || vs_fail "$opt without value: exit status $rc, expected 1"
  [ "$(wc -l <"$VS_TMP/err")" = 1 ] || vs_fail "$opt without value: expected one line: $(cat -v "$VS_TMP/err")"
  if [ "$(LC_ALL=C tr -d '[:print:]\n' <"$VS_TMP/err" | wc -c)" != 0 ]; then
    vs_fail "$opt without value: control bytes in the message: $(cat -v "$VS_TMP/err")"
  fi
  grep -qa -- "$opt" "$VS_TMP/err" || vs_fail "$opt without value: message does not name $opt: $(cat -v "$VS_TMP/err")"
  echo "ok: $(cat "$VS_TMP/err")"
done
