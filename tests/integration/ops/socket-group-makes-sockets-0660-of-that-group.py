#!/usr/bin/python3
# --socket-group GROUP: the QMP and NBD unix sockets are 0660 and belong
# to GROUP (for a consumer's group), still whatever the umask.
import grp, os, stat, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ops
from ops import lib, qmp, check
qmp.volswapd_only("qemu-storage-daemon has no --socket-group")
os.umask(0)
groups = os.getgroups() if os.getuid() != 0 else [g.gr_gid for g in grp.getgrall()]
other = [g for g in groups if g != os.getgid()]
if not other:
    lib.skip("no second group to give the sockets")
gid = other[0]
tmp = lib.tmpdir()
d = qmp.MonitorDaemon(tmp, extra=["--socket-group", grp.getgrgid(gid).gr_name]).start()
c = d.client()
nbd = qmp.start_nbd(c, tmp)
for path in (d.qmp_path, nbd):
    st = os.stat(path)
    check(stat.S_IMODE(st.st_mode) == 0o660,
          "%s has mode %o, not 660" % (os.path.basename(path), stat.S_IMODE(st.st_mode)))
    check(st.st_gid == gid, "%s has group %d, not %d" % (os.path.basename(path), st.st_gid, gid))
rc = qmp.MonitorDaemon(tmp, extra=["--socket-group", "no-such-group-here"]).start(expect_fail=True)
check(rc == 1, "an unknown group exits %r, not 1" % rc)
