#!/usr/bin/python3
"""`--chardev socket,host=,port=,server=on,wait=off` without tls-creds is
a plain QMP monitor on TCP, as in QEMU: greeting, negotiation, commands."""
import os
import socket
import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp  # noqa: E402
from qmp import lib  # noqa: E402

tmp = lib.tmpdir()
port = lib._free_port()
d = qmp.MonitorDaemon(tmp, extra=[
    "--chardev", "socket,id=qtcp,host=127.0.0.1,port=%d,server=on,wait=off" % port,
    "--monitor", "chardev=qtcp"]).start()
s = socket.create_connection(("127.0.0.1", port), timeout=qmp.TIMEOUT)
c = qmp.Client(None, sock=s)
v = c.ok("query-version")
lib.check(v["qemu"]["major"] >= 7, "query-version over TCP: %r" % v)
c.close()
print("ok")
