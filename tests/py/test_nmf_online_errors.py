#!/usr/bin/python3
"""Bad input to --solver online (nmf, learn, separate) at SN_NP ranks: a
non-zero exit, exactly one "specnmf: error:" line naming the problem, and no
output (no file, no folder): among them a --scratch folder that does not
exist, and --store-spectrogram (online holds no V). Also: a good online run
of each command works."""
import os

import h5py
import numpy as np
import soundfile as sf

import nmf_common as C
from sn_testlib import check, finish, run, tmp
from sn_testlib import expect_fail as _expect_fail


def expect_fail(args, what, words, gone):
    return _expect_fail(args, what, words, None, gone, no_tmp=True, timeout=60)


F, N = 33, 40
C.write_spec(tmp("v.h5"), C.spectrogram(F, N, seed=1))
C.write_model(tmp("dict3.h5"), np.ones((F, 3)), np.ones((3, N)))
v, o = tmp("v.h5"), tmp("out.h5")
nmf = ["nmf", v, "-k", 3, "-o", o, "--solver", "online"]
expect_fail(nmf + ["--batch-size", 0], "nmf --batch-size 0", ["--batch-size"], [o])
expect_fail(nmf + ["--batch-size", -5], "nmf --batch-size -5", ["--batch-size"], [o])
expect_fail(nmf + ["--batch-size", N + 1], "nmf --batch-size > N", ["--batch-size", str(N + 1), str(N)], [o])
expect_fail(nmf + ["--forget-factor", 1.5], "nmf --forget-factor 1.5", ["--forget-factor"], [o])
expect_fail(nmf + ["--transform-start", "warm"], "nmf --transform-start warm", ["--transform-start", "last or constant"], [o])
expect_fail(nmf + ["--max-no-improvement", -1], "nmf --max-no-improvement -1", ["--max-no-improvement"], [o])
expect_fail(nmf + ["--max-iter", 0], "nmf --solver online --max-iter 0", ["--max-iter"], [o])
expect_fail(nmf + ["--resume"], "nmf --solver online --resume", ["checkpoint"], [o])
expect_fail(nmf + ["--fix-W", tmp("dict3.h5")], "nmf --fix-W of every column", ["nothing to learn"], [o])
expect_fail(nmf + ["--scratch", tmp("no/such/dir")], "nmf --scratch in a missing folder",
            ["no/such/dir", "scratch file"], [o])
p = run(nmf + ["--batch-size", N, "--max-iter", 5, "-q"], check=False, timeout=60)
check(p.returncode == 0 and os.path.exists(o), f"nmf --solver online --batch-size N works ({p.returncode})")
p = run(["nmf", v, "-k", 3, "-o", tmp("fix.h5"), "--solver", "online", "--fix-W", tmp("dict3.h5") + ":/nmf/W",
         "-q", "--max-iter", 3], check=False, timeout=60)
check(p.returncode != 0, "nmf -k 3 with 3 fixed columns refused")

# learn and separate
sr = 8000
t = np.arange(int(1.0 * sr)) / sr
x = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 660 * t)).astype(np.float32)
a = tmp("a.wav")
sf.write(a, x, sr, subtype="FLOAT")
d = tmp("d.h5")
learn = ["learn", a, "--name", "a", "-k", 2, "-o", d, "--solver", "online", "--n-fft", 256]
expect_fail(learn + ["--batch-size", 0], "learn --batch-size 0", ["--batch-size"], [d])
expect_fail(learn + ["--batch-size", 100000], "learn --batch-size > N", ["--batch-size"], [d])
p = run(learn + ["--max-iter", 5, "--batch-size", 16, "-q"], check=False, timeout=60)
check(p.returncode == 0 and os.path.exists(d), f"learn --solver online works ({p.returncode}) {p.stderr[-300:]}")
out = tmp("sep")
sep = ["separate", a, "-o", out, "--solver", "online", "--no-plot", "--n-fft", 256]
expect_fail(sep + ["-k", 2, "--batch-size", 0], "separate --batch-size 0", ["--batch-size"], [out])
expect_fail(sep + ["-k", 2, "--batch-size", 100000], "separate --batch-size > N", ["--batch-size"], [out])
expect_fail(sep + ["--source", f"a={d}"], "separate --source only (every column fixed)", ["nothing to learn"], [out])
expect_fail(sep + ["--source", f"a={d}", "--free", 2, "--adapt", 5], "separate --solver online --adapt",
            ["--adapt", "online"], [out])
expect_fail(sep + ["-k", 2, "--store-spectrogram"], "separate --solver online --store-spectrogram",
            ["--store-spectrogram", "online"], [out])
p = run(sep + ["--source", f"a={d}", "--free", 2, "--max-iter", 3, "--batch-size", 16, "-q"], check=False, timeout=60)
check(p.returncode == 0 and os.path.exists(os.path.join(out, "a.wav")),
      f"separate --source + --free 2 --solver online works ({p.returncode}) {p.stderr[-300:]}")
finish()
