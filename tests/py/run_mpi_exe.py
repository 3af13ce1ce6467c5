"""Run a compiled MPI test program under the test's launcher (SN_MPIRUN)."""
import subprocess
import sys

from sn_testlib import MPIRUN

p = subprocess.run(MPIRUN + sys.argv[1:], timeout=100)
sys.exit(p.returncode)
