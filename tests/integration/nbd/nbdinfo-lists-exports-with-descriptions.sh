#!/usr/bin/env bash
# One daemon with three exports (two writable, one read-only) over two nodes:
# NBD_OPT_LIST (nbdinfo --list) returns every export name with its
# description, and each export reports its own size and read-only flag.
. "$(dirname "$0")/../lib.sh"
vs_require nbdinfo
vs_init
vs_sparse_file "$VS_TMP/a.img" 8M
vs_sparse_file "$VS_TMP/b.img" 16M
vs_start --blockdev file,node-name=nodea,filename="$VS_TMP/a.img" \
         --blockdev file,node-name=nodeb,filename="$VS_TMP/b.img" \
         --export "nbd,node=nodea,name=alpha,description=first volume,writable=on" \
         --export "nbd,node=nodeb,name=beta,description=second volume,writable=on,id=eb" \
         --export "nbd,node=nodea,name=alpha-ro,description=first volume read-only,id=earo"
nbdinfo --list --json "$(vs_uri)" >"$VS_TMP/list.json" || vs_fail "nbdinfo --list failed"
/usr/bin/python3 - "$VS_TMP/list.json" <<'PY' || vs_fail "export list does not match"
import json, sys
j = json.load(open(sys.argv[1]))
got = {e["export-name"]: e for e in j["exports"]}
want = {"alpha": ("first volume", 8 << 20, False),
        "beta": ("second volume", 16 << 20, False),
        "alpha-ro": ("first volume read-only", 8 << 20, True)}
if sorted(got) != sorted(want):
    sys.exit("exports listed: %s, expected %s" % (sorted(got), sorted(want)))
for name, (desc, size, ro) in want.items():
    e = got[name]
    if e.get("description") != desc:
        sys.exit("%s: description %r, expected %r" % (name, e.get("description"), desc))
    if e["export-size"] != size:
        sys.exit("%s: size %d, expected %d" % (name, e["export-size"], size))
    if e["is_read_only"] != ro:
        sys.exit("%s: is_read_only %s, expected %s" % (name, e["is_read_only"], ro))
print("listed:", sorted(got))
PY
