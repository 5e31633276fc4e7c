#!/usr/bin/python3
"""on-target-error=stop with a failing remote target (nbdkit error filter):
the job pauses (BLOCK_JOB_ERROR write/stop, io-status failed) while an NBD
client of the source keeps writing without error; once the target heals,
block-job-resume, READY, pivot, and the remote volume equals the source."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbdkit_error
nbdkit_error.run("stop")
