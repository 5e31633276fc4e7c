#!/usr/bin/env bash
# NBD_OPT_LIST_META_CONTEXT: nbdinfo lists base:allocation among the export's
# metadata contexts, and structured replies are negotiated.
. "$(dirname "$0")/../lib.sh"
vs_require nbdinfo
vs_init
vs_sparse_file "$VS_TMP/disk.img" 8M
vs_start --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=vol0,writable=on
nbdinfo --json "$(vs_uri vol0)" >"$VS_TMP/info.json" || vs_fail "nbdinfo failed"
/usr/bin/python3 - "$VS_TMP/info.json" <<'PY' || vs_fail "base:allocation not listed"
import json, sys
j = json.load(open(sys.argv[1]))
if not j.get("structured"):
    sys.exit("structured replies not negotiated")
ctx = j["exports"][0].get("contexts", [])
if "base:allocation" not in ctx:
    sys.exit("contexts: %r" % ctx)
print("contexts:", ctx)
PY
nbdinfo --can structured-reply "$(vs_uri vol0)" || vs_fail "nbdinfo --can structured-reply says no"
