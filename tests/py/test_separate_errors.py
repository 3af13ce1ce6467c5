#!/usr/bin/python3
"""Bad input to specnmf separate / griffinlim at SN_NP ranks: exactly one
"specnmf: error:" line naming the problem, a non-zero exit code, and nothing
left behind (no output folder, no temporary files)."""
import os

import numpy as np
import soundfile as sf

from sn_testlib import check, expect_fail, finish, tmp

sr = 22050
t = np.arange(int(0.5 * sr)) / sr
x = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
inp = tmp("a.wav")
sf.write(inp, x, sr, subtype="FLOAT")
n_frames = 1 + len(x) // 512



out = tmp("out")
# R larger than allowed: R > min(F, N)
expect_fail(["separate", inp, "-k", n_frames + 1, "-o", out], "R > N", ["-k", "exceed"], 2, [out])
# R = 0
expect_fail(["separate", inp, "-k", 0, "-o", out], "R = 0", ["-k"], 2, [out])
# an OUTDIR under a regular file
blocker = tmp("plainfile")
open(blocker, "w").write("not a folder\n")
bad = os.path.join(blocker, "sub", "out")
expect_fail(["separate", inp, "-k", 2, "-o", bad], "OUTDIR under a file", [bad, "not a folder"], 4)
# OUTDIR itself a regular file
expect_fail(["separate", inp, "-k", 2, "-o", blocker], "OUTDIR is a file", [blocker, "not a folder"], 4)
# a group naming a missing component
expect_fail(["separate", inp, "-k", 3, "-o", out, "--group", "0+1,5"], "missing component", ["--group", "component 5"],
            2, [out])
expect_fail(["separate", inp, "-k", 3, "-o", out, "--group", "0+1,1"], "component twice", ["--group", "twice"], 2, [out])
for bad_group in ["0+,1", "", "0,1,", "+0,1", "-1,0", "0 + 1,2", "0,,1", "a"]:
    expect_fail(["separate", inp, "-k", 3, "-o", out, "--group", bad_group], f"group syntax '{bad_group}'", ["--group"],
                2, [out])
expect_fail(["separate", inp, "-k", 3, "-o", out, "--reconstruct", "magic"], "bad --reconstruct", ["--reconstruct"], 2, [out])
expect_fail(["separate", inp, "-k", 3, "-o", out, "--mask-power", "0"], "bad --mask-power", ["--mask-power"], 2, [out])
# missing input
expect_fail(["separate", tmp("missing.wav"), "-k", 2, "-o", out], "missing input", ["missing.wav"], None, [out])
# an existing part without --force: the run fails, the old file stays, nothing else is left
os.makedirs(tmp("exists"), exist_ok=True)
old = os.path.join(tmp("exists"), "component-00.wav")
open(old, "w").write("old")
expect_fail(["separate", inp, "-k", 2, "-o", tmp("exists"), "--quiet"], "existing output", ["component-00.wav", "--force"],
            4, [os.path.join(tmp("exists"), "result.h5"), os.path.join(tmp("exists"), "overview.png")])
check(open(old).read() == "old", "existing output: the old file is untouched")
check(sorted(os.listdir(tmp("exists"))) == ["component-00.wav"], f"existing output: nothing else left {os.listdir(tmp('exists'))}")
# griffinlim: not a spectrogram file
expect_fail(["griffinlim", inp, "-o", tmp("gl.wav")], "griffinlim of a WAV", ["a.wav"], None, [tmp("gl.wav")])
left = [f for f in os.listdir(tmp("")) if ".tmp-" in f or f.startswith("out")]
check(not left, f"no temporary or partial files left: {left}")
finish()
