"""The OpenStack command-line clients (openstack, cinder, nova), each
invocation a fresh process as from the shell, without paying their start-up
for every one: this process imports the clients once and forks a child per
command, which runs the client's own main() with the caller's arguments,
environment and output files. Their start-up is mostly imports (seconds of
CPU for openstack, more on a loaded machine), so a test of a dozen commands
spent most of its time there.

Not a test (not executable): api/lib.sh's pyclients_start runs it as a
co-process under /usr/bin/python3 (Debian's client modules import only
there) and pyclient sends it one request per line:

    REQ    the prefix of two files: REQ.args holds the program name, the
           stdout and stderr paths and the arguments; REQ.env the
           environment (`env -0`); NUL-separated both

and reads back one line, the command's exit status. With PYCLIENTS_TRACE
set to a file, each child appends the modules it had to import itself:
what WARM_GROUPS and WARM_MODULES might still take in."""
import importlib
import os
import sys
import traceback

MAINS = {}
WARM_GROUPS = ("openstack.cli.base", "openstack.cli.extension", "openstack.common",
               "openstack.compute.v2", "openstack.identity.v3", "openstack.volume.v3",
               "openstack.image.v2", "openstack.network.v2", "openstack.object_store.v1",
               "openstack.neutronclient.v2", "keystoneauth1.plugin", "cliff.formatter.list",
               "cliff.formatter.show")
WARM_MODULES = ("keystoneclient.v3.client", "neutronclient.v2_0.client", "swiftclient.client",
                "keystoneauth1.identity.generic", "oslo_log.log", "dateutil.parser",
                "cliff.help", "cliff.complete", "openstackclient.api.compute_v2",
                "openstackclient.common.module", "cinderclient.v3.shell",
                "cinderclient.contrib.noauth", "novaclient.v2.shell")


def _load():
    # Each client whose modules import; a missing one answers 127 like a
    # command not found.
    try:
        from openstackclient import shell as osc
        MAINS["openstack"] = lambda args: osc.main(args)
        # What every command imports (each plugin's client module and the
        # command groups the shell lists), once for all children.
        from importlib.metadata import entry_points
        for group in WARM_GROUPS:
            for ep in entry_points(group=group):
                try:
                    ep.load()
                except Exception:
                    pass
        for mod in WARM_MODULES:
            try:
                importlib.import_module(mod)
            except Exception:
                pass
    except ImportError:
        pass
    try:
        from cinderclient import shell as cinder
        import cinderclient.v3.client  # noqa: F401

        def cinder_main(args):
            sys.argv = ["cinder"] + args
            return cinder.main()
        MAINS["cinder"] = cinder_main
    except ImportError:
        pass
    try:
        from novaclient import shell as nova
        import novaclient.v2.client  # noqa: F401
        MAINS["nova"] = lambda args: nova.main(args)
    except ImportError:
        pass


def _split(path):
    with open(path, "rb") as f:
        return [p.decode() for p in f.read().split(b"\0")[:-1]]


def _child(prog, out, err, args, env):
    try:
        os.environ.clear()
        os.environ.update(env)
        for fd, path in ((1, out), (2, err)):
            f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(f, fd)
            os.close(f)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.argv = [prog] + args
        before = set(sys.modules)
        rc = MAINS[prog](args)
    except SystemExit as e:
        rc = e.code
    except BaseException:
        traceback.print_exc()
        rc = 1
    if os.environ.get("PYCLIENTS_TRACE"):
        with open(os.environ["PYCLIENTS_TRACE"], "a") as f:
            f.write("\n".join(sorted(set(sys.modules) - before)) + "\n")
    if rc is None:
        rc = 0
    elif not isinstance(rc, int):
        print(rc, file=sys.stderr)
        rc = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(rc & 0xff)


def main():
    _load()
    for line in sys.stdin:
        req = line.rstrip("\n")
        prog, out, err, *args = _split(req + ".args")
        env = dict(kv.split("=", 1) for kv in _split(req + ".env") if "=" in kv)
        if prog not in MAINS:
            with open(err, "w") as f:
                f.write("%s: client not installed\n" % prog)
            rc = 127
        else:
            pid = os.fork()
            if pid == 0:
                _child(prog, out, err, args, env)
            _, status = os.waitpid(pid, 0)
            rc = os.waitstatus_to_exitcode(status)
        print(rc, flush=True)


if __name__ == "__main__":
    main()
