# A byte pipe between unix sockets, for the tests that cut one node off the
# database: listens on argv[1] and joins every connection to argv[2]. Killed
# (SIGKILL), every connection through it drops at once and new ones are
# refused, as when the node's network to PostgreSQL goes. One thread, one
# selector.
import os, selectors, socket, sys

listen_path, target_path = sys.argv[1], sys.argv[2]
if os.path.exists(listen_path):
    os.unlink(listen_path)
srv = socket.socket(socket.AF_UNIX)
srv.bind(listen_path)
os.chmod(listen_path, 0o777)
srv.listen(64)
srv.setblocking(False)
sel = selectors.DefaultSelector()
sel.register(srv, selectors.EVENT_READ, None)


def close(a, b):
    for s in (a, b):
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()


while True:
    for key, _ in sel.select():
        if key.data is None:
            c, _ = srv.accept()
            t = socket.socket(socket.AF_UNIX)
            try:
                t.connect(target_path)
            except OSError:
                c.close()
                continue
            sel.register(c, selectors.EVENT_READ, t)
            sel.register(t, selectors.EVENT_READ, c)
            continue
        src, dst = key.fileobj, key.data
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        if not data:
            close(src, dst)
            continue
        try:
            dst.sendall(data)
        except OSError:
            close(src, dst)
