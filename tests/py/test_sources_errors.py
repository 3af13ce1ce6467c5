#!/usr/bin/python3
"""Bad input to specnmf learn and separate --source at SN_NP ranks: exactly
one "specnmf: error:" line naming the problem (the file, the parameter), a
non-zero exit code, and no output (no DICT.h5, no output folder, no
temporary files)."""
import os

import h5py
import numpy as np
import soundfile as sf

from sn_testlib import check, finish, run, tmp
from sn_testlib import expect_fail as _expect_fail

sr = 22050
t = np.arange(int(1.0 * sr)) / sr
x = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 660 * t)).astype(np.float32)
a, b = tmp("a.wav"), tmp("b.wav")
sf.write(a, x, sr, subtype="FLOAT")
sf.write(b, x[::-1].copy(), sr, subtype="FLOAT")
a16 = tmp("a16k.wav")
sf.write(a16, x[: 16000], 16000, subtype="FLOAT")



def expect_fail(args, what, words, code=None, gone=()):
    return _expect_fail(args, what, words, code, gone, no_tmp=True)


# ---- learn ----
d = tmp("d.h5")
lst = tmp("list.txt")
open(lst, "w").write(f"{a}\n{tmp('missing.wav')}\n{b}\n")
expect_fail(["learn", "--list", lst, "--name", "x", "-k", 2, "-o", d], "a missing file in the list", ["missing.wav"], 4, [d])
unread = tmp("unreadable.wav")
open(unread, "w").write("this is not audio\n")
expect_fail(["learn", a, unread, "--name", "x", "-k", 2, "-o", d], "an unreadable file", ["unreadable.wav"], None, [d])
empty = tmp("empty.txt")
open(empty, "w").write("# nothing here\n\n")
expect_fail(["learn", "--list", empty, "--name", "x", "-o", d], "an empty list file", ["empty.txt", "empty"], 2, [d])
expect_fail(["learn", "--list", tmp("nolist.txt"), "--name", "x", "-o", d], "a missing list file", ["nolist.txt"], 4, [d])
expect_fail(["learn", a, "-o", d], "no --name", ["--name"], 2, [d])
expect_fail(["learn", a, "--name", "pi ano", "-o", d], "a bad name", ["pi ano"], 2, [d])
expect_fail(["learn", "--name", "x", "-o", d], "no inputs", ["no inputs"], 2, [d])
expect_fail(["learn", a, a16, "--name", "x", "-k", 2, "-o", d], "inputs at two sample rates", ["a16k.wav", "sample rate"], 3, [d])
spec1024 = tmp("s1024.h5")
run(["stft", a, "--n-fft", 1024, "-o", spec1024, "-q"], np_=1)
expect_fail(["learn", a, spec1024, "--name", "x", "-k", 2, "-o", d], "a stored spectrogram of another n_fft",
            ["s1024.h5", "n_fft"], 3, [d])
expect_fail(["learn", a, "--name", "x", "-k", 10000, "-o", d], "-k larger than min(F, N)", ["-k"], 2, [d])

# ---- good dictionaries for separate ----
da, db = tmp("da.h5"), tmp("db.h5")
# --context 0: plain frames, so that a bare copy of /dict/W (no attributes) is described by the STFT options alone
run(["learn", a, "--name", "a", "-k", 3, "--context", 0, "--max-iter", 20, "-o", da, "-q"])
run(["learn", b, "--name", "b", "-k", 2, "--context", 0, "--max-iter", 20, "-o", db, "-q"])
out = tmp("out")
ok = ["separate", a, "-o", out, "--source", f"a={da}", "--source", f"b={db}"]
p = run(ok + ["-q", "--max-iter", 5, "--no-plot"], check=False)
check(p.returncode == 0 and os.path.exists(os.path.join(out, "a.wav")), f"the good run works ({p.returncode})")
out = tmp("out2")
ok = ["separate", a, "-o", out, "--source", f"a={da}", "--source", f"b={db}"]
d1024 = tmp("d1024.h5")
run(["learn", a, "--name", "a", "-k", 2, "--n-fft", 1024, "--max-iter", 10, "--context", 0, "-o", d1024, "-q"])
expect_fail(["separate", a, "-o", out, "--source", f"a={d1024}", "--source", f"b={db}"],
            "a dictionary of another n_fft", ["d1024.h5", "n_fft=1024", "n_fft=2048"], 3, [out])
dhop = tmp("dhop.h5")
run(["learn", a, "--name", "a", "-k", 2, "--hop", 256, "--max-iter", 10, "--context", 0, "-o", dhop, "-q"])
expect_fail(["separate", a, "-o", out, "--source", f"a={dhop}"], "a dictionary of another hop",
            ["dhop.h5", "hop_length=256"], 3, [out])
dsr = tmp("dsr.h5")
run(["learn", a16, "--name", "a", "-k", 2, "--max-iter", 10, "--context", 0, "-o", dsr, "-q"])
expect_fail(["separate", a, "-o", out, "--source", f"a={dsr}"], "a dictionary of another sample rate",
            ["dsr.h5", "sample_rate=16000"], 3, [out])
expect_fail(["separate", a, "-o", out, "--source", f"a={da}", "--source", f"a={db}"], "a duplicate name",
            ["'a'", "twice"], 2, [out])
for bad in ("rest", "result", "overview", "component-03", "source-1", "x/y", "a b"):
    expect_fail(["separate", a, "-o", out, "--source", f"{bad}={da}"], f"the name {bad!r}", [bad], 2, [out])
expect_fail(["separate", a, "-o", out, "--source", da], "no name", ["NAME=DICT"], 2, [out])
expect_fail(ok + ["--free", -1], "a negative --free", ["--free", "-1"], 2, [out])
expect_fail(["separate", a, "-o", out, "-k", 3, "--free", 2], "--free without --source", ["--free", "--source"], 2, [out])
expect_fail(ok + ["--adapt", -1], "a negative --adapt", ["--adapt", "-1"], 2, [out])
expect_fail(["separate", a, "-o", out, "-k", 3, "--adapt", 5], "--adapt without --source", ["--adapt", "--source"], 2, [out])
expect_fail(ok + ["-k", 4], "-k contradicting the dictionaries", ["-k", "4", "k = 5"], 2, [out])
expect_fail(ok + ["--free", 2, "-k", 5], "-k contradicting dictionaries and --free", ["-k", "k = 7"], 2, [out])
expect_fail(ok + ["--group", "0,1"], "--group with --source", ["--group", "--source"], 2, [out])
expect_fail(ok + ["--fix-W", da], "--fix-W with --source", ["--fix-W", "--source"], 2, [out])
for what, val in (("NaN", np.nan), ("negative", -1.0)):
    bad = tmp(f"bad_{what}.h5")
    with h5py.File(da) as src, h5py.File(bad, "w") as g:
        W = src["/dict/W"][()]
        W[7, 1] = val
        dd = g.create_dataset("/dict/W", data=W)
        for k, v in src["/dict/W"].attrs.items():
            dd.attrs[k] = v
    expect_fail(["separate", a, "-o", out, "--source", f"a={bad}"], f"a dictionary with a {what} entry",
                [f"bad_{what}.h5", "(7, 1)"], 3, [out])
dfro = tmp("dfro.h5")
run(["learn", b, "--name", "b", "-k", 2, "--beta", "fro", "--max-iter", 10, "--context", 0, "-o", dfro, "-q"])
expect_fail(["separate", a, "-o", out, "--source", f"a={da}", "--source", f"b={dfro}"],
            "dictionaries of two betas", ["dfro.h5", "beta", "--beta"], 3, [out])
p = run(["separate", a, "-o", tmp("out4"), "--source", f"a={da}", "--source", f"b={dfro}", "--beta", "kl", "-q", "--max-iter",
         3, "--no-plot"], check=False)
check(p.returncode == 0, f"--beta settles two dictionaries' betas ({p.returncode})")
bare = tmp("bare.h5")
with h5py.File(da) as src, h5py.File(bare, "w") as g:
    g.create_dataset("/nmf/W", data=src["/dict/W"][()])
out3 = tmp("out3")
p = run(["separate", a, "-o", out3, "--source", f"a={bare}", "-q", "--max-iter", 3, "--no-plot"], check=False)
check(p.returncode == 0 and os.path.exists(os.path.join(out3, "a.wav")),
      f"a bare /nmf/W without attributes is taken as the command line's STFT describes it ({p.returncode})")
expect_fail(["separate", a, "-o", out, "--source", f"a={bare}:/nope"], "a missing dataset path", ["bare.h5", "/nope"], 3,
            [out])
expect_fail(["separate", a, "-o", out, "--source", f"a={bare}", "--n-fft", 1024], "a bare dictionary of the wrong size",
            ["bare.h5", "1025 rows", "n_fft=1024"], 3, [out])
finish()
