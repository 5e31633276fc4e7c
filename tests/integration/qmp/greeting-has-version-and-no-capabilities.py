#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# The greeting is QEMU's: version.qemu {micro, minor, major}, package,
# capabilities [], on one CRLF-terminated line; nothing else before a command.
tmp = lib.tmpdir()
d = qmp.MonitorDaemon(tmp).start()
c = d.client(negotiate=False)
g = c.greeting["QMP"]
check(set(g) == {"version", "capabilities"}, "greeting keys %r" % g)
check(set(g["version"]["qemu"]) == {"micro", "minor", "major"}, "version %r" % g["version"])
check(all(isinstance(v, int) for v in g["version"]["qemu"].values()), "version numbers %r" % g)
check(isinstance(g["version"]["package"], str), "package %r" % g)
if lib.impl() == "volswapd":
    check(g["version"]["package"].startswith("volswap "), "package %r" % g)
    check(g["capabilities"] == [], "capabilities %r" % g["capabilities"])
check(c.no_message(), "something was sent after the greeting before any command")
