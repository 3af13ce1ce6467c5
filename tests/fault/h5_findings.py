"""The three libhdf5 1.10.8 findings of the fuzz runs (tests/fuzz/regress/fuzz_h5/:
a crash in H5HG_read, a 17 GB allocation and an endless loop, all while
converting a corrupted variable-length string attribute) through the commands
that read those attributes, at SN_NP ranks. Each run must be refused: exit 3
(bad input), exactly one "specnmf: error: FILE: ..." line naming the attribute,
nothing written, well within the time limit (the child that reads the strings
has 1 s of CPU and 5 s of wall time). See io/sn_h5.c and docs/reliability.md."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "py"))
from sn_testlib import MPIRUN, NP, SPECNMF, SRC, check, error_lines, finish, tmp  # noqa: E402

D = os.path.join(SRC, "tests", "fuzz", "regress", "fuzz_h5")
CRASH = "libhdf5 (crashed|failed) reading it"  # a signal; under AddressSanitizer its exit status 1
CASES = [  # file, command, pattern the one error line must hold
    ("libhdf5-H5HG_read-vlen-string-overread.h5", ["mel", "--quiet"], CRASH),
    ("libhdf5-H5HG_read-vlen-string-overread.h5", ["nmf", "-k", "2", "--quiet"], CRASH),
    ("vlen-string-attr-17GB-length.h5", ["mel", "--quiet"], "within 256 MiB"),
    ("vlen-string-attr-17GB-length.h5", ["griffinlim", "--quiet"], "within 256 MiB"),
    ("vlen-string-attr-17GB-length.h5", ["nmf", "-k", "2", "--quiet"], "within 256 MiB"),
    ("libhdf5-H5HG_protect-vlen-string-hang.h5", ["istft", "--quiet"], "time limit"),
]

for name, cmd, words in CASES:
    path = os.path.join(D, name)
    out = tmp("out-" + cmd[0] + (".wav" if cmd[0] in ("istft", "griffinlim") else ".h5"))
    args = MPIRUN + [SPECNMF, cmd[0], path] + cmd[1:] + ["-o", out]
    t0 = time.time()
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=90)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired as ex:
        rc, err = None, (ex.stderr or b"").decode(errors="replace") if isinstance(ex.stderr, bytes) else (ex.stderr or "")
    sec = time.time() - t0
    lines = error_lines(err)
    label = f"{cmd[0]} {name} at {NP} rank(s)"
    check(rc == 3, f"{label}: exit {rc} (want 3), {sec:.1f} s")
    check(len(lines) == 1, f"{label}: {len(lines)} error line(s): {lines}")
    check(len(lines) == 1 and lines[0].startswith(f"specnmf: error: {path}: attribute ") and re.search(words, lines[0]),
          f"{label}: the line names the file, the attribute and '{words}'")
    left = [n for n in os.listdir(os.path.dirname(out)) if n.startswith(os.path.basename(out))]
    check(not left, f"{label}: nothing written ({left})")
    print(f"     {sec:.1f} s: {lines[0] if lines else err[-300:]}")
finish()
