#!/usr/bin/env bash
# NBD_INFO_BLOCK_SIZE is sent (minimum <= preferred <= maximum, powers of
# two, maximum no more than the 32 MiB payload cap), and CAN_MULTI_CONN is
# advertised for a writable file-backed export and for a read-only one.
. "$(dirname "$0")/../lib.sh"
vs_require nbdinfo
vs_init
vs_sparse_file "$VS_TMP/disk.img" 8M
vs_start --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=rw,writable=on \
         --export nbd,node=vol0,name=ro,id=ero
for e in rw ro; do
  nbdinfo --json "$(vs_uri $e)" >"$VS_TMP/$e.json" || vs_fail "nbdinfo $e failed"
  /usr/bin/python3 - "$VS_TMP/$e.json" "$e" <<'PY' || vs_fail "export $e: wrong block size or multi-conn"
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
name = sys.argv[2]
for k in ("block_size_minimum", "block_size_preferred", "block_size_maximum"):
    if k not in e:
        sys.exit("%s missing: NBD_INFO_BLOCK_SIZE not sent" % k)
mn, pref, mx = e["block_size_minimum"], e["block_size_preferred"], e["block_size_maximum"]
p2 = lambda v: v > 0 and v & (v - 1) == 0
if not (p2(mn) and p2(pref) and mn <= pref <= mx <= 32 << 20):
    sys.exit("block sizes min=%d pref=%d max=%d" % (mn, pref, mx))
if not e["can_multi_conn"]:
    sys.exit("can_multi_conn false")
if e["is_read_only"] != (name == "ro"):
    sys.exit("is_read_only %s" % e["is_read_only"])
print(name, "min", mn, "pref", pref, "max", mx, "multi_conn", e["can_multi_conn"])
PY
done
