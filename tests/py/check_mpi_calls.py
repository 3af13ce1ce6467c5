"""Every MPI call in parallel/ and io/ is checked (issue 13): it goes through
SN_MPI_CALL (parallel/comm/sn_comm.h), or the code turns its return into an
agreed error on purpose and says so in a comment on the call's line or within
the SPAN lines above it (MPI-IO in io/sn_wav.c, the halo exchanges). Calls
without a return code worth checking (MPI_Wtime, MPI_Finalize, MPI_Abort) pass.
Usage: check_mpi_calls.py ROOT [--selftest]."""
import os
import re
import sys

CALL = re.compile(r"\bMPI_([A-Z][a-z_]*)\(")
FREE = {"Wtime", "Finalize", "Abort"}
SPAN = 6


def unchecked(path, text):
    lines = text.splitlines()
    bad = []
    for i, line in enumerate(lines):
        for m in CALL.finditer(line):
            if m.group(1) in FREE or "SN_MPI_CALL(" in line[:m.start()]:
                continue
            before = lines[max(0, i - SPAN):i + 1]
            if any("/*" in b or "//" in b for b in before):
                continue
            bad.append(f"{path}:{i + 1}: {line.strip()}")
    return bad


def scan(root):
    bad = []
    for top in ("parallel", "io"):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    p = os.path.join(d, f)
                    bad += unchecked(os.path.relpath(p, root), open(p, encoding="utf-8").read())
    return bad


if "--selftest" in sys.argv:
    ok = not unchecked("a.c", "x;\nSN_MPI_CALL(MPI_Bcast(&x, 1, MPI_INT, 0, c));\nt = MPI_Wtime();\n")
    ok &= len(unchecked("b.c", "int a;\n\n\n\n\n\n\n\nMPI_Bcast(&x, 1, MPI_INT, 0, c);\n")) == 1
    ok &= not unchecked("c.c", "/* agreed by the caller */\nint mrc = MPI_Allreduce(a, b, 1, t, o, c);\n")
    print("selftest", "ok" if ok else "FAILED")
    sys.exit(0 if ok else 1)
bad = scan(sys.argv[1])
for b in bad:
    print("unchecked MPI call:", b)
print(f"{len(bad)} unchecked MPI calls" if bad else "every MPI call is checked")
sys.exit(1 if bad else 0)
