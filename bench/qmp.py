"""The QMP client the Python halves of the benchmarks share: one monitor
on a unix socket (volswapd, qemu-storage-daemon or QEMU), commands in
turn, events read as they come. Events that arrive while a command waits
for its reply are dropped: the benchmarks wait only for the job events
that follow the command that causes them."""
import json
import socket


class QMP:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rw")
        self.f.readline()  # the greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **kw):
        """Runs NAME with the arguments KW; its return value, or
        RuntimeError with QMP's error."""
        self.f.write(json.dumps({"execute": name, "arguments": kw}) + "\n")
        self.f.flush()
        while True:
            m = json.loads(self.f.readline())
            if "return" in m:
                return m["return"]
            if "error" in m:
                raise RuntimeError(f"{name}: {m['error']}")

    def wait(self, *events):
        """The next event named one of EVENTS."""
        while True:
            m = json.loads(self.f.readline())
            if m.get("event") in events:
                return m

    def close(self):
        self.s.close()
