#!/usr/bin/env python3
"""Benchmark of `specnmf nnls` and `specnmf mel-invert` against the Python
peers, measured in the same run (medians of --repeat runs).

  1. basis 1025 x 128 (spectrogram frames of one synthetic recording), data
     1025 x 2000 (spectrogram of another): specnmf nnls at 1 and 2 ranks vs
     scipy.optimize.nnls column by column, a re-implementation of
     librosa.util.nnls (L-BFGS-B over blocks, as librosa 0.11 publishes it)
     and sklearn's coordinate descent with W fixed
     (non_negative_factorization(update_H=False, solver='cd')).
  2. mel inversion 128 x 5000 (power mel spectrogram, Slaney, 22050 Hz,
     n_fft 2048): specnmf mel-invert vs the librosa.util.nnls re-implementation
     (the solve inside librosa.feature.inverse.mel_to_stft).

Times: "solve" is the command's nnls phase (max over ranks, from --report);
"command" its total phase (with HDF5 I/O); "wall" the whole mpirun.
Usage: bench_nnls.py SPECNMF [--repeat 3] [--out DIR] [--skip-scipy]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import scipy.optimize

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "py"))
from nnls_common import mel_filterbank, stft_mag, synth_audio, write_spec  # noqa: E402

MAX_MEM_BLOCK = 2 ** 8 * 2 ** 10  # librosa.util.utils.MAX_MEM_BLOCK


def librosa_nnls(A, B):
    """librosa 0.11 util.nnls: L-BFGS-B over column blocks of MAX_MEM_BLOCK
    bytes, objective 0.5/B.size ||AX - B||^2, start = clipped pinv(A) @ B."""
    def obj(x, shape, A, B):
        x = x.reshape(shape)
        diff = A @ x - B
        return 0.5 / B.size * np.sum(diff ** 2), (A.T @ diff / B.size).ravel()

    def block(Bb, x0):
        x, _, _ = scipy.optimize.fmin_l_bfgs_b(obj, x0, args=(x0.shape, A, Bb), bounds=[(0, None)] * x0.size,
                                               m=A.shape[1])
        return x.reshape(x0.shape)

    ncol = max(MAX_MEM_BLOCK // (B.shape[0] * A.itemsize), 1)
    x = np.clip(np.linalg.pinv(A) @ B, 0, None)
    if B.shape[1] <= ncol:
        return block(B, x).astype(A.dtype)
    for s in range(0, B.shape[1], ncol):
        t = min(s + ncol, B.shape[1])
        x[:, s:t] = block(B[:, s:t], x[:, s:t])
    return x


def median_time(fn, repeat):
    ts, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), out


def run_specnmf(specnmf, np_, args, report, repeat):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    launcher = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-n", str(np_)]
    solve, total, wall = [], [], []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(launcher + [specnmf] + args + ["--force", "-q", "--report", report], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall.append(time.perf_counter() - t)
        with open(report) as f:
            r = json.load(f)
        solve.append(r["phases"]["nnls"]["max"])
        total.append(r["phases"]["total"]["max"])
    return float(np.median(solve)), float(np.median(total)), float(np.median(wall)), r["facts"]


def rel_res(A, X, B):
    return float(np.linalg.norm(A @ X - B) / np.linalg.norm(B))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("specnmf")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=None)
    ap.add_argument("--skip-scipy", action="store_true")
    a = ap.parse_args()
    tmp = a.out or tempfile.mkdtemp(prefix="bench_nnls_")
    os.makedirs(tmp, exist_ok=True)
    sr, n_fft, hop = 22050, 2048, 512
    res = {}

    # ---- 1. 1025 x 128 basis, 2000 columns --------------------------------
    Sb = stft_mag(synth_audio(sr=sr, seconds=30.0, seed=11), n_fft, hop)
    cols = np.random.default_rng(5).choice(Sb.shape[1], 128, replace=False)
    A = (Sb[:, cols] + 1e-4).astype(np.float32)
    B = stft_mag(synth_audio(sr=sr, seconds=2000 * hop / sr, seed=12), n_fft, hop)[:, :2000].astype(np.float32)
    bp, sp, op, rp = (os.path.join(tmp, x) for x in ("basis.h5", "spec.h5", "x.h5", "r.json"))
    with h5py.File(bp, "w") as f:
        f["/nmf/W"] = A
    write_spec(sp, B, sr, n_fft, hop)
    Ad, Bd = A.astype(float), B.astype(float)
    for np_ in (1, 2):
        s, t, w, facts = run_specnmf(a.specnmf, np_, ["nnls", "--basis", bp, sp, "-o", op], rp, a.repeat)
        with h5py.File(op, "r") as f:
            X = f["/nnls/X"][:].astype(float)
        res["nnls_%drank" % np_] = dict(solve=s, command=t, wall=w, rel_residual=rel_res(Ad, X, Bd),
                                        kkt=facts["kkt_violation"])
    if not a.skip_scipy:
        t, Xs = median_time(lambda: np.stack([scipy.optimize.nnls(Ad, Bd[:, j])[0] for j in range(B.shape[1])], 1),
                            a.repeat)
        res["nnls_scipy"] = dict(solve=t, rel_residual=rel_res(Ad, Xs, Bd))
    t, Xl = median_time(lambda: librosa_nnls(A, B), a.repeat)
    res["nnls_librosa_lbfgsb"] = dict(solve=t, rel_residual=rel_res(Ad, Xl.astype(float), Bd))
    from sklearn.decomposition import non_negative_factorization

    def skl():
        W, _, _ = non_negative_factorization(B.T.astype(float), n_components=A.shape[1], init="custom",
                                             H=Ad.T.copy(), W=np.zeros((B.shape[1], A.shape[1])),
                                             update_H=False, solver="cd", max_iter=200)
        return W.T

    t, Xk = median_time(skl, a.repeat)
    res["nnls_sklearn_cd"] = dict(solve=t, rel_residual=rel_res(Ad, Xk, Bd))

    # ---- 2. mel inversion 128 x 5000 ----------------------------------------
    N = 5000
    S = stft_mag(synth_audio(sr=sr, seconds=N * hop / sr, seed=13), n_fft, hop)[:, :N].astype(np.float32)
    M = mel_filterbank(sr, n_fft, 128)
    mel = (M @ S ** 2).astype(np.float32)
    mp, op2 = os.path.join(tmp, "mel.h5"), os.path.join(tmp, "inv.h5")
    with h5py.File(mp, "w") as f:
        d = f.create_dataset("/mel/spectrogram", data=mel)
        for k, v in dict(sample_rate=float(sr), n_fft=n_fft, hop_length=hop, win_length=n_fft, window="hann",
                         center=1, power=2, n_mels=128, fmin=0.0, fmax=sr / 2.0, htk=0, norm="slaney").items():
            d.attrs[k] = v
        f["/mel/basis"] = M
    Md = M.astype(float)
    for np_ in (1, 2):
        s, t, w, facts = run_specnmf(a.specnmf, np_, ["mel-invert", mp, "-o", op2], rp, a.repeat)
        with h5py.File(op2, "r") as f:
            Xm = f["/stft/magnitude"][:].astype(float)
        res["mel_%drank" % np_] = dict(solve=s, command=t, wall=w, rel_residual=rel_res(Md, Xm ** 2, mel.astype(float)),
                                       err_to_S=float(np.linalg.norm(Xm - S) / np.linalg.norm(S)),
                                       kkt=facts["kkt_violation"])
    t, Pl = median_time(lambda: librosa_nnls(M, mel), a.repeat)
    Xl = np.sqrt(Pl.astype(float))
    res["mel_librosa_lbfgsb"] = dict(solve=t, rel_residual=rel_res(Md, Pl.astype(float), mel.astype(float)),
                                     err_to_S=float(np.linalg.norm(Xl - S) / np.linalg.norm(S)))

    print(json.dumps(res, indent=1))
    n1, m1 = res["nnls_1rank"]["solve"], res["mel_1rank"]["solve"]
    print("nnls 1025x128 x 2000: specnmf solve %.4f s (1 rank), %.4f s (2 ranks, %.2fx)"
          % (n1, res["nnls_2rank"]["solve"], n1 / res["nnls_2rank"]["solve"]))
    for k in ("nnls_scipy", "nnls_librosa_lbfgsb", "nnls_sklearn_cd"):
        if k in res:
            print("  %-22s %.3f s  -> specnmf 1 rank is %.1fx faster; residual %.6f vs %.6f"
                  % (k, res[k]["solve"], res[k]["solve"] / n1, res[k]["rel_residual"], res["nnls_1rank"]["rel_residual"]))
    print("mel-invert 128 x 5000: specnmf solve %.4f s (1 rank), %.4f s (2 ranks); residual %.2e, error to |S| %.4f"
          % (m1, res["mel_2rank"]["solve"], res["mel_1rank"]["rel_residual"], res["mel_1rank"]["err_to_S"]))
    r = res["mel_librosa_lbfgsb"]
    print("  librosa L-BFGS-B        %.3f s -> %.1fx slower; residual %.4f, error to |S| %.4f"
          % (r["solve"], r["solve"] / m1, r["rel_residual"], r["err_to_S"]))


if __name__ == "__main__":
    main()
