"""Bad input to specnmf stft: each case must give exactly one line
"specnmf: error: ..." on stderr (mpirun may add its own lines), a non-zero
exit code, no hang (timeout) and no output file (nor a temporary one)."""
import os
import struct

import numpy as np
import soundfile as sf

from sn_testlib import TMP, check, error_lines, finish, run, tmp

good = tmp("good.wav")
sf.write(good, (0.1 * np.sin(np.arange(8000) / 5.0)).astype(np.float32), 8000, subtype="FLOAT")

text = tmp("text.wav")
with open(text, "w") as f:
    f.write("this is not audio\n" * 50)

truncated = tmp("truncated.wav")
with open(good, "rb") as f:
    data = f.read()
with open(truncated, "wb") as f:
    f.write(data[:30])

corrupt = tmp("corrupt.wav")
with open(corrupt, "wb") as f:
    f.write(b"RIFF" + struct.pack("<I", 1000) + b"WAVEfmt " + struct.pack("<I", 16) + b"\xff" * 16 + b"data" +
            struct.pack("<I", 100) + b"\0" * 100)

empty = tmp("empty.wav")
sf.write(empty, np.zeros(0, dtype=np.float32), 8000, subtype="FLOAT")

nan = tmp("nan.wav")
x = np.zeros(8000, dtype=np.float32)
x[4321] = np.nan
sf.write(nan, x, 8000, subtype="FLOAT")
inf = tmp("inf.wav")
x[4321] = np.inf
sf.write(inf, x, 8000, subtype="FLOAT")

regular = tmp("regular-file")
with open(regular, "w") as f:
    f.write("x")
existing = tmp("existing.h5")
with open(existing, "w") as f:
    f.write("keep me")

cases = [
    ("missing file", [tmp("no-such-file.wav")], "out1.h5"),
    ("not audio", [text], "out2.h5"),
    ("truncated header", [truncated], "out3.h5"),
    ("corrupt header", [corrupt], "out4.h5"),
    ("zero-length audio", [empty], "out5.h5"),
    ("NaN sample", [nan], "out6.h5"),
    ("Inf sample", [inf], "out7.h5"),
    ("hop 0", [good, "--hop", "0"], "out8.h5"),
    ("hop > n_fft", [good, "--hop", "4096"], "out9.h5"),
    ("n_fft 0", [good, "--n-fft", "0"], "out10.h5"),
    ("n_fft negative", [good, "--n-fft", "-4"], "out11.h5"),
    ("win_length > n_fft", [good, "--win-length", "4096"], "out12.h5"),
    ("power 3", [good, "--power", "3"], "out13.h5"),
    ("unknown window", [good, "--window", "kaiser-ish"], "out14.h5"),
    ("unknown option", [good, "--frobnicate"], "out15.h5"),
    ("bad number", [good, "--n-fft", "12x"], "out16.h5"),
    ("unwritable output", [good], os.path.join(regular, "out.h5")),
    ("existing output without --force", [good], existing),
]
before = set(os.listdir(TMP))
for name, args, out in cases:
    out_path = out if os.path.isabs(out) else tmp(out)
    p = run(["stft"] + args + ["-o", out_path, "--quiet"], check=False, timeout=60)
    lines = error_lines(p.stderr)
    check(p.returncode != 0, f"{name}: non-zero exit ({p.returncode})")
    check(len(lines) == 1, f"{name}: exactly one error line: {lines}")
    if out_path == existing:
        with open(existing) as f:
            check(f.read() == "keep me", f"{name}: existing file untouched")
    else:
        check(not os.path.exists(out_path), f"{name}: no output file")
leftover = [n for n in set(os.listdir(TMP)) - before if ".tmp-" in n]
check(not leftover, f"no temporary files left behind: {leftover}")

# --force overwrites.
p = run(["stft", good, "-o", existing, "--force", "--quiet", "--n-fft", "256"], check=False)
check(p.returncode == 0, "existing output with --force: exit 0")
finish()
