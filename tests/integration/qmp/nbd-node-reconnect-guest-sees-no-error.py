#!/usr/bin/python3
# A guest reads and writes a remote volume through this daemon (an nbd node
# with reconnect-delay, exported again over NBD). The remote daemon is
# killed (SIGKILL) and restarted from its state file while the guest's
# write is in the air: the write waits, runs again on the new connection
# and succeeds; the guest sees no error, and reads back everything it wrote.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib
qmp.volswapd_only("needs two daemons of the implementation under test")
tmp = lib.tmpdir()
far, d, h = qmp.guest_of_remote_volume(tmp, **{"reconnect-delay": 30})
qmp.guest_writes_through_remote_restart(far, d, h, seed=81)
