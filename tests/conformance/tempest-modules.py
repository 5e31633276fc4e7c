#!/usr/bin/python3
"""Runs Tempest test modules in this process and counts their results.

    tempest-modules.py RESULTS MODULE...

Tempest reads its configuration from TEMPEST_CONFIG_DIR/TEMPEST_CONFIG.
Each test method gets one outcome, pass, fail or skip: a class whose
setUpClass fails (or skips) gives that outcome to each of its tests, so a
module's counts do not change shape when its class fixture is fixed.
RESULTS receives "OUTCOME TEST_ID" lines, the id without Tempest's
[id-...,smoke] attributes; the failures' tracebacks go to stdout.
Exit 0 when nothing failed, 1 otherwise.
"""
import re
import sys
import unittest


def plain_id(test_id):
    return re.sub(r'\[.*\]$', '', test_id)


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


class Collect(unittest.TestResult):
    """Keeps one outcome per test id, and the class fixtures' outcomes."""

    def __init__(self):
        super().__init__()
        self.outcome = {}   # test id -> (outcome, detail)
        self.fixture = {}   # "module.Class" -> (outcome, detail)

    def _record(self, test, outcome, detail):
        desc = str(test)
        m = re.match(r'^(setUpClass|tearDownClass|setUpModule) \((.*)\)$', desc)
        if m and not hasattr(test, '_testMethodName'):
            if m.group(1) == 'tearDownClass':
                # the tests ran; a failed cleanup fails them all the same
                self.fixture.setdefault(m.group(2) + '#teardown', (outcome, detail))
            else:
                self.fixture[m.group(2)] = (outcome, detail)
            return
        tid = plain_id(test.id())
        prev = self.outcome.get(tid)
        if prev is None or prev[0] != 'fail':
            self.outcome[tid] = (outcome, detail)

    def addSuccess(self, test):
        self._record(test, 'pass', '')

    def addError(self, test, err):
        self._record(test, 'fail', self._exc_info_to_string(err, test))

    def addFailure(self, test, err):
        self._record(test, 'fail', self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        self._record(test, 'skip', reason)

    def addExpectedFailure(self, test, err):
        self._record(test, 'pass', '')

    def addUnexpectedSuccess(self, test):
        self._record(test, 'fail', 'unexpected success')


def main():
    results_path, modules = sys.argv[1], sys.argv[2:]
    loader = unittest.TestLoader()
    lines = []
    summary = []
    any_fail = False
    for module in modules:
        suite = loader.loadTestsFromName(module)
        tests = [t for t in flatten(suite)]
        collect = Collect()
        suite.run(collect)
        counts = {'pass': 0, 'fail': 0, 'skip': 0}
        for t in tests:
            tid = plain_id(t.id())
            cls = tid.rsplit('.', 1)[0]
            outcome, detail = collect.outcome.get(tid) or \
                collect.fixture.get(cls) or ('fail', 'no result')
            td = collect.fixture.get(cls + '#teardown')
            if td and td[0] == 'fail' and outcome == 'pass':
                outcome, detail = td
            counts[outcome] += 1
            lines.append('%s %s' % (outcome, tid))
            if outcome == 'fail':
                any_fail = True
                print('FAIL %s\n%s' % (tid, detail.rstrip()))
            elif outcome == 'skip':
                print('SKIP %s (%s)' % (tid, detail.strip().splitlines()[0]
                                        if detail.strip() else ''))
            else:
                print('PASS %s' % tid)
        summary.append('%-48s %3d passed, %3d failed, %3d skipped' %
                       (module, counts['pass'], counts['fail'], counts['skip']))
        sys.stdout.flush()
    with open(results_path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\nTempest counts per module:')
    print('\n'.join(summary))
    total = {k: sum(1 for ln in lines if ln.startswith(k + ' '))
             for k in ('pass', 'fail', 'skip')}
    print('%-48s %3d passed, %3d failed, %3d skipped' %
          ('total', total['pass'], total['fail'], total['skip']))
    return 1 if any_fail else 0


if __name__ == '__main__':
    sys.exit(main())
