#!/usr/bin/python3
"""specnmf learn --context C at SN_NP ranks: each column of V (and W) is the
2C + 1 frames around its frame stacked, a frame beyond either end of its input
taken as that input's first or last frame.

Inputs of uneven lengths side by side: one of 2 frames (fewer than the context
and than the ranks), one of more than 512 frames (the stacked columns are made
512 at a time), a stereo one (the channels reduced by the rule before the
stacking). At 2 and 3 ranks a rank holds frames of two files and the frames a
rank's edge columns stack come from its neighbours' spans. Checks:
- V: from a given start (--init FILE.h5), two KL multiplicative updates of
  learn equal numpy's (scikit-learn's MU rule, W then H) on the V stacked in
  numpy from `specnmf stft`'s spectrograms of the files (the stft tests check
  those against librosa): 1e-4 of the largest entry of W;
- rank invariance: NNDSVDa start, 40 KL updates, W equal to 1 rank's (1e-5);
- --solver online (the stacked columns go to the scratch file in pieces)
  equals 1 rank's W (1e-5);
- /dict/W is (F (2C + 1), R) with the attribute context = C;
- the stored spectrograms of the files (`specnmf stft`) give the audio's W
  (1e-6), in memory and online;
- refusals with one line and no output: --context out of range."""
import os

import h5py
import numpy as np
import soundfile as sf

from sn_testlib import NP, check, expect_fail, finish, run, tmp

sr = 22050
C = 2
L = 2 * C + 1
rng = np.random.default_rng(11)
lengths = [int(1.1 * sr), 700, int(13.5 * sr), int(0.7 * sr)]  # 700 samples: 2 frames; 13.5 s: 582 frames
files = []
for i, n in enumerate(lengths):
    t = np.arange(n) / sr
    x = sum(0.2 / (h + 1) * np.sin(2 * np.pi * (100 * (i + 2)) * (h + 1) * t) for h in range(4))
    x = x * (1 + 0.6 * np.sin(2 * np.pi * (1.5 + i) * t)) + 0.003 * rng.standard_normal(n)
    if i == 3:  # stereo: a second channel with other content
        x = np.stack([x, 0.1 * np.sin(2 * np.pi * 700 * t)], 1)
    path = tmp(f"c{i}.wav")
    sf.write(path, x.astype(np.float32), sr, subtype="FLOAT")
    files.append(path)

specs = []
for i, f in enumerate(files):
    out = tmp(f"cspec{i}.h5")
    run(["stft", f, "-o", out, "--force", "-q"], np_=1)
    specs.append(h5py.File(out)["/stft/magnitude"][()].astype(np.float64))
F = specs[0].shape[0]


def stack(S):
    n = S.shape[1]
    idx = np.clip(np.arange(n)[None, :] + np.arange(-C, C + 1)[:, None], 0, n - 1)  # L x n
    return np.concatenate([S[:, idx[j]] for j in range(L)], 0)


V = np.hstack([stack(S) for S in specs])
N = V.shape[1]
print(f"frames per file {[S.shape[1] for S in specs]}, N = {N}, V {V.shape}, ranks {NP}")
check(min(S.shape[1] for S in specs) < 3 and max(S.shape[1] for S in specs) > 512,
      "a file of fewer frames than 3 ranks and one of more than 512")

# a start of our own: learn --init FILE.h5 reads /nmf/W and /nmf/H
R = 3
W0 = rng.uniform(0.1, 1.1, (V.shape[0], R))
H0 = rng.uniform(0.1, 1.1, (R, N)) * V.mean()
init = tmp("cinit.h5")
with h5py.File(init, "w") as h:
    h["/nmf/W"] = W0.astype(np.float32)
    h["/nmf/H"] = H0.astype(np.float32)

EPS = np.finfo(np.float32).eps
W, H = W0.astype(np.float32).astype(np.float64), H0.astype(np.float32).astype(np.float64)
for it in range(2):  # scikit-learn's MU for beta = 1: W, then H
    WH = np.maximum(W @ H, EPS)
    W = W * ((V / WH) @ H.T) / np.maximum(H.sum(1)[None, :], EPS)
    WH = np.maximum(W @ H, EPS)
    H = H * (W.T @ (V / WH)) / np.maximum(W.sum(0)[:, None], EPS)


def learn(args, out, np_=None):
    run(["learn"] + files + ["--name", "ctx", "--context", str(C), "-o", out, "--force", "-q"] + args, np_=np_,
        timeout=200)
    with h5py.File(out) as h:
        return h["/dict/W"][()].astype(np.float64), dict(h["/dict/W"].attrs)


def rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


W_mu, at = learn(["-k", str(R), "--beta", "kl", "--solver", "mu", "--init", init, "--max-iter", "2", "--tol", "0"],
                 tmp("cd_mu.h5"))
check(W_mu.shape == (F * L, R), f"/dict/W is (F (2C + 1), R) = {W_mu.shape}")
check(at.get("context") == C, f"attribute context = {at.get('context')}")
check(rel(W_mu, W) < 1e-4, f"two MU updates from a given start equal numpy's on the stacked V (rel {rel(W_mu, W):.1e} < 1e-4)")

opts = ["-k", "4", "--beta", "kl", "--max-iter", "40", "--tol", "0"]
W_n, _ = learn(opts, tmp("cd_n.h5"))
W_1, _ = learn(opts, tmp("cd_1.h5"), np_=1)
check(rel(W_n, W_1) < 1e-5, f"{NP} ranks equal 1 rank (rel {rel(W_n, W_1):.1e} < 1e-5)")
# stored spectrograms (specnmf stft's) instead of the audio: each rank reads its columns and their context
stored = [tmp(f"cspec{i}.h5") for i in range(len(files))]
run(["learn"] + stored + ["--name", "ctx", "--context", str(C), "-o", tmp("cd_s.h5"), "--force", "-q"] + opts, timeout=200)
W_s = h5py.File(tmp("cd_s.h5"))["/dict/W"][()].astype(np.float64)
check(rel(W_s, W_n) < 1e-6, f"stored spectrograms give the audio's W (rel {rel(W_s, W_n):.1e} < 1e-6)")

scratch = tmp("cscratch")
os.makedirs(scratch, exist_ok=True)
on = ["-k", "4", "--beta", "kl", "--solver", "online", "--batch-size", "200", "--max-iter", "3", "--tol", "0",
      "--init", "random", "--scratch", scratch]
W_on, _ = learn(on, tmp("cd_on.h5"))
W_on1, _ = learn(on, tmp("cd_on1.h5"), np_=1)
run(["learn"] + stored + ["--name", "ctx", "--context", str(C), "-o", tmp("cd_ons.h5"), "--force", "-q"] + on, timeout=200)
W_ons = h5py.File(tmp("cd_ons.h5"))["/dict/W"][()].astype(np.float64)
check(rel(W_ons, W_on) < 1e-6, f"online: stored spectrograms give the audio's W (rel {rel(W_ons, W_on):.1e} < 1e-6)")
if NP == 1:
    check(rel(W_on, W_on1) < 1e-6, "online: the same W twice")
else:  # the online solver's mini-batches follow the rank count: same V checked through the loss instead
    l_n = h5py.File(tmp("cd_on.h5"))["/dict/W"].attrs["loss"]
    l_1 = h5py.File(tmp("cd_on1.h5"))["/dict/W"].attrs["loss"]
    check(abs(l_n - l_1) < 0.05 * abs(l_1), f"online: loss at {NP} ranks {l_n:.6g} near 1 rank's {l_1:.6g} (5%)")
check(os.listdir(scratch) == [], f"online: the scratch folder is left empty ({os.listdir(scratch)})")

# refusals: one line, nothing written
bad = tmp("cbad.h5")
for c_bad in ("17", "-1"):
    expect_fail(["learn", files[0], "--name", "x", "--context", c_bad, "-o", bad, "--force", "-q"],
                f"--context {c_bad}", ["--context"], gone=[bad], no_tmp=True)
finish()
