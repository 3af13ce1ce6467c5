"""SN_MPI_CALL (parallel/comm/sn_comm.h): a failing MPI call ends the job.

test_agree mpi-fail makes MPI_Bcast fail (negative count) under the error
handler MPI_ERRORS_RETURN that specnmf sets; the job must exit nonzero within
the timeout (no rank left waiting), print "specnmf: error: FILE:LINE: CALL:
reason" naming the call, and never continue past it."""
import subprocess
import sys

from sn_testlib import MPIRUN

exe = sys.argv[1]
p = subprocess.run(MPIRUN + [exe, "mpi-fail"], capture_output=True, text=True, timeout=60)
bad = []
if p.returncode == 0:
    bad.append("exit code 0")
lines = [l for l in p.stderr.splitlines() if l.startswith("specnmf: error: ")]
if not any("test_agree.c:" in l and "MPI_Bcast(&x, -1, MPI_INT, 0, c)" in l for l in lines):
    bad.append("no 'specnmf: error: ...test_agree.c:LINE: MPI_Bcast(...): reason' line")
if "SN_MPI_CALL returned" in p.stdout:
    bad.append("the program went on after the failed call")
print("exit", p.returncode, "error lines:", lines[:3])
if bad:
    print("FAIL:", "; ".join(bad))
    print(p.stderr[-2000:])
    sys.exit(1)
print("ok")
