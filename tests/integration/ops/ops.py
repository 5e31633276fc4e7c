"""Helpers for the operations tests in this folder (run by /usr/bin/python3):
the QMP helpers of ../qmp and a scrape of volswapd's metrics endpoint.

    import os, sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import ops
    from ops import lib, qmp, check

    text = ops.scrape(path)                  # GET /metrics on a unix socket
    status, body = ops.http(path, b"GET /x HTTP/1.0\\r\\n\\r\\n")
    ops.value(text, 'volswap_nbd_clients')   # a sample's value, or None

Kept out of tests/run's way: this file is not executable.
"""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmp"))
import qmp  # noqa: E402
from qmp import lib  # noqa: E402,F401

check = lib.check


def http(path, request, timeout=30.0):
    """Sends request bytes on the unix socket, reads to EOF; returns
    (status code, body bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(request)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.") else 0
    return status, body


def scrape(path):
    status, body = http(path, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    check(status == 200, "GET /metrics answered %d" % status)
    return body.decode()


def value(text, series):
    """The value of the sample whose name and labels are exactly series."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None
