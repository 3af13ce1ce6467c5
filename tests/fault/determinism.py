"""Determinism (issue 7), at SN_NP ranks: the same seed, rank count, build and
FFTW wisdom give identical dataset values (stft magnitude and complex, nmf W/H
with a random and an nndsvda start, mu and cd, nnls X); 1 rank vs SN_NP ranks
agree within the NMF tolerance, 1e-5 relative to the largest entry. Without a
wisdom file, two runs of separate, istft and griffinlim write identical WAV
bytes (FFTW_MEASURE's timing once made them differ in the last bit)."""
import os
import shlex
import subprocess
import sys

import h5py
import numpy as np
import soundfile as sf

SPECNMF = os.environ["SPECNMF"]
MPIRUN = shlex.split(os.environ["SN_MPIRUN"])
NP = int(os.environ.get("SN_NP", "1"))
TMP = os.environ["SN_TMP"]
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILS.append(what)


def t(n):
    return os.path.join(TMP, n)


def run(args, np_=NP):
    cmd = list(MPIRUN)
    cmd[-1] = str(np_)
    p = subprocess.run(cmd + [SPECNMF] + [str(a) for a in args] + ["-q", "--force"], capture_output=True, text=True,
                       timeout=120)
    if p.returncode:
        print(p.stderr)
        sys.exit(1)


def read(path, dsets):
    with h5py.File(path, "r") as f:
        return {d: f[d][...] for d in dsets}


n = np.arange(16000)
rng = np.random.default_rng(11)
y = 0.3 * np.sin(2 * np.pi * 330 * n / 8000) * (n % 4000 < 2500) + 0.2 * np.sin(2 * np.pi * 990 * n / 8000) * \
    (n % 3000 > 1000) + 0.01 * rng.standard_normal(len(n))
sf.write(t("a.wav"), y.astype(np.float32), 8000, subtype="FLOAT")
W = ["--wisdom", t("wisdom")]
S = ["--n-fft", "512", "--hop", "128"]

runs = {}
for tag, np_ in (("a", NP), ("b", NP), ("one", 1)):
    run(["stft", t("a.wav"), "-o", t(f"s-{tag}.h5"), "--complex"] + S + W, np_)
    spec = t("s-a.h5")  # every NMF reads the same spectrogram
    run(["nmf", spec, "-k", "4", "--init", "random", "--seed", "3", "--max-iter", "60", "--tol", "0", "--beta", "kl",
         "-o", t(f"mu-{tag}.h5")], np_)
    run(["nmf", spec, "-k", "4", "--init", "nndsvda", "--solver", "cd", "--max-iter", "30", "--tol", "0",
         "-o", t(f"cd-{tag}.h5")], np_)
    run(["nnls", "--basis", t(f"mu-{tag}.h5"), spec, "-o", t(f"x-{tag}.h5")], np_)
    runs[tag] = {"stft": read(t(f"s-{tag}.h5"), ["/stft/magnitude", "/stft/complex"]),
                 "mu": read(t(f"mu-{tag}.h5"), ["/nmf/W", "/nmf/H"]),
                 "cd": read(t(f"cd-{tag}.h5"), ["/nmf/W", "/nmf/H"]),
                 "nnls": read(t(f"x-{tag}.h5"), ["/nnls/X"])}

# audio out, no wisdom: the plans must not depend on timing
for tag in ("a", "b"):
    run(["separate", t("a.wav"), "-k", "3", "--max-iter", "30", "--no-plot", "-o", t(f"sep-{tag}")] + S)
    run(["istft", t("s-one.h5"), "-o", t(f"istft-{tag}.wav")])
    run(["griffinlim", t("s-one.h5"), "--n-iter", "8", "-o", t(f"gl-{tag}.wav")])
for f in ["component-00.wav", "component-01.wav", "component-02.wav"]:
    same = open(t(f"sep-a/{f}"), "rb").read() == open(t(f"sep-b/{f}"), "rb").read()
    check(same, f"separate {f}: identical bytes in two {NP}-rank runs without wisdom")
for f in ("istft", "gl"):
    same = open(t(f"{f}-a.wav"), "rb").read() == open(t(f"{f}-b.wav"), "rb").read()
    check(same, f"{f}: identical bytes in two {NP}-rank runs without wisdom")

for k, d in runs["a"].items():
    for name, v in d.items():
        check(np.array_equal(v, runs["b"][k][name]), f"{k} {name}: identical in two {NP}-rank runs")
for k, d in runs["a"].items():
    for name, v in d.items():
        ref = runs["one"][k][name]
        rel = float(np.max(np.abs(v - ref)) / max(np.max(np.abs(ref)), 1e-30))
        tol = 1e-5
        check(rel <= tol, f"{k} {name}: {NP} ranks vs 1 rank, max relative difference {rel:.2e} <= {tol:g}")
print(f"{len(FAILS)} failed checks" if FAILS else "all checks passed")
sys.exit(1 if FAILS else 0)
