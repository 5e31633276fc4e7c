#!/usr/bin/python3
"""A TCP proxy for the tests across hosts: listens on LISTEN_HOST:PORT and
forwards every connection to TARGET_HOST:PORT, byte for byte. Killing it
closes every connection it carries (the peers see the link drop at once,
as a cut cable never makes them see), and starting it again on the same
port lets clients reconnect: a storage host that goes away and comes back.
--delay-ms N holds each chunk that long before forwarding it (a slow
link; this kernel has no tc netem).

  tcp-proxy.py [--delay-ms N] LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT
"""
import argparse
import socket
import sys
import threading
import time


def pump(src, dst, delay):
    try:
        while True:
            data = src.recv(1 << 16)
            if not data:
                break
            if delay:
                time.sleep(delay)
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--delay-ms", type=float, default=0)
    ap.add_argument("listen_host")
    ap.add_argument("listen_port", type=int)
    ap.add_argument("target_host")
    ap.add_argument("target_port", type=int)
    a = ap.parse_args()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.listen_host, a.listen_port))
    ls.listen(64)
    while True:
        c, _ = ls.accept()
        try:
            u = socket.create_connection((a.target_host, a.target_port), timeout=5)
            u.settimeout(None)
        except OSError as e:
            print("tcp-proxy: upstream: %s" % e, file=sys.stderr)
            c.close()
            continue
        for s in (c, u):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        d = a.delay_ms / 1000.0
        threading.Thread(target=pump, args=(c, u, d), daemon=True).start()
        threading.Thread(target=pump, args=(u, c, d), daemon=True).start()


if __name__ == "__main__":
    main()
