#!/usr/bin/env bash
# The same scenario as converges-under-fio-write-load.py in copy-mode
# write-blocking: READY and the pivot under full fio write load, fio's
# verification clean.
VS_MIRROR_MODE=write-blocking exec "$(dirname "$0")/converges-under-fio-write-load.py"
