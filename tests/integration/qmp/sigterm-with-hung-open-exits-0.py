#!/usr/bin/python3
# SIGTERM while a blockdev-add's open(2) never returns (a FIFO nobody
# writes to, standing for a dead NFS server): volswapd still shuts down
# cleanly, says what it left behind, and does not wait forever.
import os, signal, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("qemu-storage-daemon opens files on its main loop")
tmp = lib.tmpdir()
fifo = os.path.join(tmp, "hung")
os.mkfifo(fifo)
d = qmp.MonitorDaemon(tmp).start()
w = d.client()
w.send("blockdev-add", {"driver": "file", "node-name": "slow", "filename": fifo,
                        "read-only": True}, req_id=1)
check(w.no_message(0.3), "blockdev-add of a FIFO answered without a writer")
rc = d.stop(signal.SIGTERM)
check(rc == 0, "exit status %r after SIGTERM with a hung open" % rc)
check("still running" in d.log_text(), "no word of the hung open in the log: %r"
      % d.log_text()[-500:])
