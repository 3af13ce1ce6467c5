#!/usr/bin/python3
"""specnmf separate at SN_NP ranks: the parts of the default soft mask (p = 1)
add up to the mixture within 1e-5; --group sums components; --reconstruct
phase equals numpy's istft(W_k H_k * mixture phase) made from the stored W, H
(librosa conventions); result.h5 holds V (= numpy's |STFT|), W, H; WAV
headers read back with soundfile; the outputs equal those of a 1-rank run;
overview.png is a real picture; griffinlim parts have the mixture's length."""
import glob
import json
import os

import h5py
import numpy as np
import soundfile as sf

from separate_common import istft, test_signal
from sn_testlib import NP, check, finish, run, stft, tmp

sr = 22050
mix = test_signal(3.0, sr)
inp = tmp("mix.wav")
sf.write(inp, mix, sr, subtype="FLOAT")
K = 4


def read_parts(d, prefix="component"):
    files = sorted(glob.glob(os.path.join(d, prefix + "-*.wav")))
    return files, [sf.read(f, dtype="float64")[0] for f in files]


# ---- default: soft mask, p = 1 ----
out = tmp("out")
p = run(["separate", inp, "-k", K, "-o", out, "--quiet", "--report", tmp("rep.json")])
files, parts = read_parts(out)
check(len(files) == K, f"{K} component WAVs written ({len(files)})")
for f in files:
    info = sf.info(f)
    check(info.samplerate == sr and info.channels == 1 and info.frames == len(mix) and info.subtype == "FLOAT",
          f"{os.path.basename(f)}: header {info.samplerate} Hz, {info.channels} ch, {info.frames} frames, {info.subtype}")
total = np.sum(parts, axis=0)
err = np.max(np.abs(total - mix))
check(err <= 1e-5, f"mask p=1: sum of components = mixture, max |diff| {err:.2e} <= 1e-5")
check(all(np.std(x) > 1e-4 for x in parts), "every component carries sound")

with h5py.File(os.path.join(out, "result.h5"), "r") as f:
    V = f["/stft/magnitude"][...]
    W = f["/nmf/W"][...]
    H = f["/nmf/H"][...]
    rep = f["/separate"].attrs["report"]
    n_iter = int(f["/nmf"].attrs["n_iter"])
D = stft(mix)
check(V.shape == D.shape, f"result.h5 V shape {V.shape} = (F, N) {D.shape}")
verr = np.max(np.abs(V - np.abs(D))) / np.max(np.abs(D))
check(verr < 1e-4, f"V = |STFT(mixture)| (numpy, librosa conventions), rel. max err {verr:.1e}")
check(W.shape == (D.shape[0], K) and H.shape == (K, D.shape[1]), f"W {W.shape}, H {H.shape}")
check(n_iter > 0 and "options" in str(rep), f"report stored in result.h5 ({n_iter} NMF iterations)")


def unique_keys(pairs):
    keys = [k for k, _ in pairs]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    assert not dup, f"duplicate keys {dup}"
    return dict(pairs)


for what, text in (("--report", open(tmp("rep.json")).read()), ("result.h5", rep)):
    try:
        opts = json.loads(text, object_pairs_hook=unique_keys)["options"]
        ok, why = opts.get("max-iter") == 200, f"max-iter {opts.get('max-iter')}"
    except (AssertionError, ValueError, KeyError) as x:
        ok, why = False, str(x)
    check(ok, f"the report's options ({what}) have one value per key, the one used ({why})")
# the mask parts are numpy's masks applied to numpy's STFT (independent of the C kernels)
WH = np.einsum("fk,kn->kfn", W.astype(np.float64), H.astype(np.float64))
den = WH.sum(axis=0)
for kk in range(K):
    ref = istft(np.where(den > 0, WH[kk] / np.where(den > 0, den, 1), 1.0 / K) * D, length=len(mix))
    e = np.max(np.abs(ref - parts[kk])) / np.max(np.abs(mix))
    check(e < 1e-4, f"component {kk}: equals numpy istft(mask_k * X), rel. max err {e:.1e}")

png = os.path.join(out, "overview.png")
with open(png, "rb") as f:
    sig = f.read(8)
check(sig == b"\x89PNG\r\n\x1a\n", "overview.png is a PNG")
import matplotlib.image as mpimg
img = mpimg.imread(png)
check(img.shape[0] >= 600 and img.shape[1] >= 1000 and float(img[..., :3].std()) > 0.1,
      f"overview.png {img.shape[1]} x {img.shape[0]}, not blank (std {float(img[..., :3].std()):.2f})")

# ---- rank-count invariance: a 1-rank run of the same job ----
if NP > 1:
    out1 = tmp("out1")
    run(["separate", inp, "-k", K, "-o", out1, "--quiet"], np_=1)
    _, parts1 = read_parts(out1)
    d = max(np.max(np.abs(a - b)) for a, b in zip(parts, parts1)) / np.max(np.abs(mix))
    check(d < 1e-4, f"components at {NP} ranks equal those at 1 rank (rel. max diff {d:.1e})")
    with h5py.File(os.path.join(out1, "result.h5"), "r") as f:
        dW = np.max(np.abs(f["/nmf/W"][...] - W)) / np.max(W)
    check(dW < 1e-3, f"W at {NP} ranks equals W at 1 rank (rel. max diff {dW:.1e})")

# ---- --group: sources are sums of the components' parts ----
outg = tmp("outg")
run(["separate", inp, "-k", K, "-o", outg, "--quiet", "--group", "0+1,3"])
gfiles, gparts = read_parts(outg, "source")
check(len(gfiles) == 2 and not glob.glob(os.path.join(outg, "component-*")), f"--group 0+1,3: two source WAVs ({len(gfiles)})")
if len(gfiles) == 2:
    e0 = np.max(np.abs(gparts[0] - parts[0] - parts[1]))
    e1 = np.max(np.abs(gparts[1] - parts[3]))
    check(max(e0, e1) < 1e-5, f"source-00 = comp 0 + comp 1, source-01 = comp 3 (max diff {max(e0, e1):.1e})")

# ---- --reconstruct phase: W_k H_k with the mixture's phase, against numpy ----
outp = tmp("outp")
run(["separate", inp, "-k", K, "-o", outp, "--quiet", "--reconstruct", "phase", "--no-plot"])
_, pparts = read_parts(outp)
with h5py.File(os.path.join(outp, "result.h5"), "r") as f:
    Wp = f["/nmf/W"][...].astype(np.float64)
    Hp = f["/nmf/H"][...].astype(np.float64)
phase = np.exp(1j * np.angle(D))
for kk in range(K):
    ref = istft(np.outer(Wp[:, kk], Hp[kk]) * phase, length=len(mix))
    e = np.max(np.abs(ref - pparts[kk])) / max(np.max(np.abs(ref)), 1e-12)
    check(e < 1e-3, f"phase: component {kk} = numpy istft(W_k H_k e^(i angle X)), rel. max err {e:.1e}")
check(not os.path.exists(os.path.join(outp, "overview.png")), "--no-plot: no picture")

# ---- --reconstruct griffinlim, parts stored in result.h5 ----
outl = tmp("outl")
run(["separate", inp, "-k", 2, "-o", outl, "--quiet", "--reconstruct", "griffinlim", "--gl-iter", 8, "--store-audio",
     "--no-plot"])
_, lparts = read_parts(outl)
check(len(lparts) == 2 and all(len(x) == len(mix) and np.isfinite(x).all() and np.std(x) > 1e-4 for x in lparts),
      "griffinlim: two finite parts of the mixture's length")
with h5py.File(os.path.join(outl, "result.h5"), "r") as f:
    a = f["/separate/audio/component-01"][...]
check(np.max(np.abs(a - lparts[1])) == 0, "--store-audio: result.h5 /separate/audio/component-01 = the WAV")
check(not os.path.exists(os.path.join(outl, "nmf.ckpt.h5")), "no checkpoint left after a complete run")

# ---- NMF options shared with 'specnmf nmf': a start from a file, a fixed dictionary ----
res = os.path.join(out, "result.h5")
outi = tmp("outi")
run(["separate", inp, "-k", K, "-o", outi, "--quiet", "--no-plot", "--init", res, "--max-iter", 0])
with h5py.File(os.path.join(outi, "result.h5"), "r") as f:
    ok = np.array_equal(f["/nmf/W"][...], W) and np.array_equal(f["/nmf/H"][...], H)
check(ok, "--init result.h5 --max-iter 0: W and H are the file's")
outf = tmp("outf")
run(["separate", inp, "-k", K + 1, "-o", outf, "--quiet", "--no-plot", "--fix-W", res])
with h5py.File(os.path.join(outf, "result.h5"), "r") as f:
    W2 = f["/nmf/W"][...]
check(np.array_equal(W2[:, :K], W) and W2.shape == (W.shape[0], K + 1),
      f"--fix-W: the first {K} columns stay the given dictionary, one more is learned")
finish()
