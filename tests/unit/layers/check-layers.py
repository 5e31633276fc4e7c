#!/usr/bin/env python3
"""Checks the direction of #include "..." between the folders under src/.

A folder is a layer; it may include its own files and the public header of
a layer below it, nothing else. The layers below each folder are listed in
BELOW (each list closed under "below", so the check needs no transitivity).
Fails, naming the file and line, on:
  - an include of a folder that is not below (an upward or sideways include,
    which is how an include cycle starts), or of a folder missing from BELOW;
  - in src/api and src/qmpclient, an include of another folder's private
    header (each folder has one public header, named after the folder);
  - any cycle in the folder graph (reported even if BELOW allowed it).

  check-layers.py SRC_DIR            check a tree (exit 0 when clean)
  check-layers.py --self-test        prove it catches a cycle, an upward
                                     include and a private header
"""
import os
import re
import sys
import tempfile

API = ['api/base', 'api/registry', 'api/config', 'api/hosts', 'api/domain',
       'api/swap', 'api/http', 'api/rest']
BELOW = {
    'common': [],
    'crypto': ['common'],
    'block': ['common', 'crypto'],
    'nbd': ['common', 'crypto', 'block'],
    'jobs': ['common', 'crypto', 'block'],
    'monitor': ['common', 'crypto', 'block', 'nbd', 'jobs'],
    'daemon': ['common', 'crypto', 'block', 'nbd', 'jobs', 'monitor'],
    'qmpclient': [],
    'cli': ['common', 'qmpclient'],
    'api/base': ['common'],
    'api/registry': ['common', 'api/base'],
    'api/config': ['common', 'api/base'],
    'api/hosts': ['common', 'api/base', 'api/registry', 'api/config', 'qmpclient'],
    'api/domain': ['common', 'api/base', 'api/registry', 'api/config', 'api/hosts', 'qmpclient'],
    'api/swap': ['common', 'api/base', 'api/registry', 'api/config', 'api/hosts', 'api/domain',
                 'qmpclient'],
    'api/http': ['common', 'api/base', 'api/registry', 'api/config', 'api/hosts', 'api/domain',
                 'qmpclient'],
    'api/rest': ['common', 'api/base', 'api/registry', 'api/config', 'api/hosts', 'api/domain',
                 'api/swap', 'api/http', 'qmpclient'],
    'api': API + ['api/rest/identity', 'api/rest/compute', 'api/rest/volume',
                  'api/rest/image', 'qmpclient', 'common'],
}
for svc in ('identity', 'compute', 'volume', 'image'):
    BELOW['api/rest/' + svc] = BELOW['api/rest'] + ['api/rest']

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def sources(src):
    for root, _, files in os.walk(src):
        for f in sorted(files):
            if f.endswith(('.c', '.h')):
                yield os.path.join(root, f)


def folder_of(src, path):
    return os.path.relpath(os.path.dirname(path), src).replace(os.sep, '/')


def resolve(src, path, name, by_name):
    """The file an include names: beside the includer, then under the
    include roots (src/api for "layer/x.h", any folder for a bare name)."""
    for cand in (os.path.join(os.path.dirname(path), name),
                 os.path.join(src, 'api', name), os.path.join(src, name)):
        if os.path.isfile(cand):
            return os.path.normpath(cand)
    hits = by_name.get(os.path.basename(name), [])
    return hits[0] if len(hits) == 1 else None


def public_header(folder):
    return folder.rsplit('/', 1)[-1] + '.h'


def check(src):
    files = list(sources(src))
    by_name = {}
    for f in files:
        by_name.setdefault(os.path.basename(f), []).append(os.path.normpath(f))
    problems, edges = [], {}
    for f in files:
        here = folder_of(src, f)
        with open(f, encoding='utf-8', errors='replace') as fh:
            for lineno, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = resolve(src, f, m.group(1), by_name)
                if target is None or not target.startswith(os.path.normpath(src) + os.sep):
                    continue  # a test helper or a system header spelled with quotes
                there = folder_of(src, target)
                if there == here:
                    continue
                where = '%s:%d' % (os.path.relpath(f, src), lineno)
                edges.setdefault(here, set()).add(there)
                if here not in BELOW:
                    problems.append('%s: folder %s is not in the layer table' % (where, here))
                elif there not in BELOW[here]:
                    problems.append('%s: %s includes %s, which is not below it'
                                    % (where, here, m.group(1)))
                if ((there.startswith('api/') or there == 'qmpclient')
                        and os.path.basename(target) != public_header(there)
                        and not (there == 'qmpclient' and target.endswith('qmp-client.h'))):
                    problems.append('%s: %s is not the public header of %s (%s is)'
                                    % (where, m.group(1), there, public_header(there)))
    problems += ['include cycle: ' + ' -> '.join(c) for c in cycles(edges)]
    return problems


def cycles(edges):
    found, state, stack = [], {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                found.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n)
    return found


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as fh:
        fh.write(text)


def self_test():
    ok = True
    cases = {
        'cycle': {'api/base/base.h': '', 'api/base/x.c': '#include "registry/registry.h"\n',
                  'api/registry/registry.h': '', 'api/registry/y.c': '#include "base/base.h"\n'},
        'upward': {'api/hosts/hosts.h': '', 'api/swap/swap.h': '',
                   'api/hosts/z.c': '#include "swap/swap.h"\n'},
        'private': {'api/domain/domain.h': '', 'api/hosts/internal.h': '',
                    'api/domain/d.c': '#include "hosts/internal.h"\n'},
        'sideways-service': {'api/rest/rest.h': '', 'api/rest/volume/volume.h': '',
                             'api/rest/compute/c.c': '#include "rest/volume/volume.h"\n'},
    }
    for name, tree in cases.items():
        with tempfile.TemporaryDirectory() as d:
            for rel, text in tree.items():
                write(d, rel, text)
            got = check(d)
            if not got:
                print('self-test %s: not detected' % name)
                ok = False
    with tempfile.TemporaryDirectory() as d:
        write(d, 'api/base/base.h', '')
        write(d, 'api/registry/registry.h', '#include "base/base.h"\n')
        if check(d):
            print('self-test clean: a downward include was refused')
            ok = False
    return ok


def main():
    if sys.argv[1:] == ['--self-test']:
        return 0 if self_test() else 1
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    problems = check(sys.argv[1])
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
