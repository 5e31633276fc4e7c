#!/usr/bin/python3
"""on-target-error=report with a failing remote target (nbdkit error
filter): the job ends with BLOCK_JOB_COMPLETED carrying an error, the NBD
client of the source never sees an error, and the export stays on the
source."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbdkit_error
nbdkit_error.run("report")
