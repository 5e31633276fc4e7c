#!/usr/bin/python3
"""Command flags the spec does not define, or defines only for another
command (DF is for READ, NO_HOLE/FAST_ZERO for WRITE_ZEROES, REQ_ONE for
BLOCK_STATUS), get EINVAL ("The server SHOULD return EINVAL if it receives
an unknown command flag ... or a flag not explicitly documented as
applicable to the given request"); a rejected write changes nothing; FUA,
which the spec makes valid on every command once SEND_FUA is advertised,
is accepted; the connection goes on after each error."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402
import nbd  # noqa: E402
import errno  # noqa: E402

SIZE = 1 << 20
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()
h = lib.connect(d, "vol0")
h.pwrite(b"\x42" * 4096, 0)
UNKNOWN = [1 << 6, 1 << 10, 1 << 15]
cb = lambda *a: 0  # noqa: E731
bad = [("read", h.pread, (512, 0), f) for f in UNKNOWN + [nbd.CMD_FLAG_NO_HOLE,
                                                          nbd.CMD_FLAG_REQ_ONE,
                                                          nbd.CMD_FLAG_FAST_ZERO]]
bad += [("write", h.pwrite, (b"\x99" * 512, 0), f) for f in UNKNOWN + [
    nbd.CMD_FLAG_DF, nbd.CMD_FLAG_NO_HOLE, nbd.CMD_FLAG_REQ_ONE, nbd.CMD_FLAG_FAST_ZERO]]
bad += [("zero", h.zero, (512, 0), f) for f in UNKNOWN + [nbd.CMD_FLAG_DF, nbd.CMD_FLAG_REQ_ONE]]
bad += [("trim", h.trim, (512, 0), f) for f in UNKNOWN + [nbd.CMD_FLAG_NO_HOLE, nbd.CMD_FLAG_DF]]
bad += [("flush", h.flush, (), f) for f in UNKNOWN + [nbd.CMD_FLAG_DF, nbd.CMD_FLAG_NO_HOLE]]
bad += [("block_status", h.block_status, (512, 0, cb), f) for f in UNKNOWN + [nbd.CMD_FLAG_DF]]
for name, fn, args, flag in bad:
    e = lib.expect_nbd_error(errno.EINVAL, fn, *args, flag)
    lib.check(h.pread(4096, 0) == b"\x42" * 4096,
              "%s with flag %#x changed the data" % (name, flag))
lib.log("%d badly flagged requests rejected" % len(bad))
if h.can_fua():
    h.pread(512, 0, nbd.CMD_FLAG_FUA)
    h.pwrite(b"\x43" * 512, 0, nbd.CMD_FLAG_FUA)
    h.zero(512, 512, nbd.CMD_FLAG_FUA)
    h.flush(nbd.CMD_FLAG_FUA)
    lib.check(h.pread(1024, 0) == b"\x43" * 512 + b"\0" * 512, "FUA writes wrong")
h.pread(512, 0, nbd.CMD_FLAG_DF)
h.shutdown()
lib.still_serves(d, "vol0", SIZE)
print("ok")
