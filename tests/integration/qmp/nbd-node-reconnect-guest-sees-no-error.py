#!/usr/bin/python3
# A guest reads and writes a remote volume through this daemon (an nbd node
# with reconnect-delay, exported again over NBD). The remote daemon is
# killed (SIGKILL) and restarted from its state file while the guest's
# write is in the air: the write waits, runs again on the new connection
# and succeeds; the guest sees no error, and reads back everything it wrote.
import os, signal, sys, threading
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("needs two daemons of the implementation under test")
tmp = lib.tmpdir()
far, d, h = qmp.guest_of_remote_volume(tmp, **{"reconnect-delay": 30})
before = lib.random_bytes(65536, seed=81)
h.pwrite(before, 0)
h.flush()
far.stop(signal.SIGKILL)
restart = threading.Timer(0.3, far.start)   # back while the write below waits
restart.start()
during = lib.random_bytes(65536, seed=82)
h.pwrite(during, 128 << 10)                  # raises if the guest sees an error
restart.join()
h.flush()
check(h.pread(65536, 0) == before, "data written before the outage differs")
check(h.pread(65536, 128 << 10) == during, "the write made during the outage differs")
h.shutdown()
log = d.log_text()
check("connection lost" in log and "reconnected" in log, "no reconnect: %s" % log[-600:])
