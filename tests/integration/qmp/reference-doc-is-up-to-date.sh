#!/usr/bin/env bash
# docs/qmp-reference.md is what `volswapd --dump-commands` prints from the
# command table; regenerate it with:
#   build/src/daemon/volswapd --dump-commands > docs/qmp-reference.md
. "$(dirname "$0")/../lib.sh"
vs_init
[ "$(vs_impl)" = volswapd ] || vs_skip "volswapd's own documentation"
bin=$(vs_daemon_bin)
"$bin" --dump-commands >"$VS_TMP/ref.md" || vs_fail "--dump-commands failed"
diff -u "$VS_SRC/docs/qmp-reference.md" "$VS_TMP/ref.md" >&2 ||
  vs_fail "docs/qmp-reference.md is stale: regenerate it with volswapd --dump-commands"
