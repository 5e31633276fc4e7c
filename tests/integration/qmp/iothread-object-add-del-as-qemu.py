#!/usr/bin/python3
"""object-add and object-del of iothread objects, block-export-add's
iothread and nbd-server-add without one, in one scripted session against
qemu-storage-daemon (the reference) and volswapd: the same replies and
the same error classes and descriptions word for word. Covered: an
iothread with defaults and with every property, a duplicate id (against
an iothread and against TLS credentials), a bad id, a negative
poll-max-ns, a property of the wrong type, an unknown property,
thread-pool-min above thread-pool-max, an export bound to an iothread
(with and without fixed-iothread), to one that does not exist, and
nbd-server-add given an iothread (qsd has no such argument there), then
object-del of an unbound iothread and of an unknown id. (qsd lets an
iothread go while an export is bound to it, volswapd refuses:
iothread-object-del-refused-while-an-export-is-bound.py.) Skips if
qemu-storage-daemon is not installed."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.both_servers()


def session(impl):
    tmp, d, c = qmp.session_on(impl)
    img = lib.sparse_file(tmp, "a.img", 1 << 20)
    out = []

    def step(cmd_, **args):
        r = c.cmd(cmd_, args)
        if "error" in r:
            out.append((cmd_, args, "error", r["error"]["class"], r["error"]["desc"]))
        else:
            out.append((cmd_, args, "return", r["return"]))

    def add(id_, **props):
        step("object-add", **dict(props, **{"qom-type": "iothread", "id": id_}))

    add("io0")
    add("io1", **{"poll-max-ns": 1000, "poll-grow": 2, "poll-shrink": 3, "aio-max-batch": 5,
                  "thread-pool-min": 1, "thread-pool-max": 8})
    add("io0")
    step("object-add", **{"qom-type": "authz-simple", "id": "io1", "identity": "x"})
    step("object-add", **{"qom-type": "authz-simple", "id": "az", "identity": "x"})
    add("az")
    add("bad id")
    add("2io")
    add("neg", **{"poll-max-ns": -1})
    add("neg2", **{"poll-grow": -5})
    add("str", **{"poll-max-ns": "many"})
    add("unk", bogus=1)
    add("pool", **{"thread-pool-min": 9, "thread-pool-max": 2})
    qmp.file_node(c, "n0", img)
    qmp.file_node(c, "n1", img, **{"read-only": True})
    qmp.start_nbd(c, tmp)
    step("block-export-add", type="nbd", id="e0", writable=True, iothread="io0",
         **{"node-name": "n0"})
    step("block-export-add", type="nbd", id="e1", iothread="io1",
         **{"node-name": "n1", "fixed-iothread": True})
    step("block-export-add", type="nbd", id="e2", name="x", iothread="nope",
         **{"node-name": "n0"})
    step("block-export-add", type="nbd", id="e3", name="y", iothread="nope",
         **{"node-name": "n0", "fixed-iothread": True})
    step("nbd-server-add", device="n1", name="z", iothread="io1")
    out.append(sorted((e["id"], e["node-name"]) for e in c.ok("query-block-exports")))
    step("block-export-del", id="e1")
    c.wait_event("BLOCK_EXPORT_DELETED")
    step("object-del", id="io1")
    step("object-del", id="io1")
    step("object-del", id="nope")
    add("io1")
    return out


ref = session("qsd")
ours = session("volswapd")
qmp.same_steps(ref, ours)
