"""specnmf nnls vs scipy.optimize.nnls column by column, at SN_NP ranks.

Problems: random tall, rank-deficient tall, wide dense, and a real-spectrogram
problem (basis of spectrogram frames). Checks per problem:
  * objective ||A X - B||^2 within 1e-6 relative of scipy's (floor 1e-9 ||B||^2,
    for problems with an exact fit);
  * X >= 0 and the stored KKT violation attribute <= 1e-6 (relative);
  * KKT recomputed here in numpy from X (relative to max |A^T b|) <= 1e-4
    (X is stored in float32);
  * the same answer at SN_NP ranks as a 1-rank run, compared on what the
    problem makes unique: the fitted values A X (the projection of B on the
    cone {A x : x >= 0} is unique) within 1e-5 of max |A X| and the objective
    within 1e-6 relative; X itself (max |dX| <= 1e-5 max|X|) only when it is
    unique too, i.e. A has full column rank or --l2 > 0. A rank-deficient or
    wide A has many minimizers, and which one a run returns depends on rounding
    (the grouping of columns by passive set differs between rank counts, and
    the kernel level changes the last bits of every sum);
  * --l2 against scipy on the augmented system [A; sqrt(l2) I].
"""
import os
import sys

import h5py
import numpy as np
import scipy.optimize as so

sys.path.insert(0, os.path.dirname(__file__))
from nnls_common import NP, TMP, run, stft_mag, synth_audio  # noqa: E402

fails = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fails.append(msg)


def solve_cmd(name, A, B, extra=(), ranks=True, tag=""):
    bp = os.path.join(TMP, name + "_basis.h5")
    sp = os.path.join(TMP, name + "_spec.h5")
    op = os.path.join(TMP, name + tag + "_out.h5")
    with h5py.File(bp, "w") as f:
        f["/W"] = A.astype(np.float32)
    with h5py.File(sp, "w") as f:
        f["/B"] = B.astype(np.float32)
    run(["nnls", "--basis", bp + ":/W", sp + ":/B", "-o", op, "--force", "-q", "--block", 7] + list(extra),
        ranks=ranks)
    with h5py.File(op, "r") as f:
        d = f["/nnls/X"]
        return d[:].astype(float), dict(d.attrs)


def compare(name, A, B, l2=0.0):
    A = A.astype(np.float32).astype(float)
    B = B.astype(np.float32).astype(float)
    extra = ["--l2", l2] if l2 > 0 else []
    X, at = solve_cmd(name, A, B, extra)
    n = A.shape[1]
    Aa = np.vstack([A, np.sqrt(l2) * np.eye(n)]) if l2 > 0 else A
    worst = 0.0
    for j in range(B.shape[1]):
        b = B[:, j]
        ba = np.concatenate([b, np.zeros(n)]) if l2 > 0 else b
        xs = so.nnls(Aa, ba, maxiter=50 * n)[0]
        fs = np.sum((A @ xs - b) ** 2) + l2 * np.sum(xs ** 2)
        fx = np.sum((A @ X[:, j] - b) ** 2) + l2 * np.sum(X[:, j] ** 2)
        rel = (fx - fs) / (fs + 1e-9 * np.sum(b ** 2) + 1e-300)
        worst = max(worst, rel)
    check(worst <= 1e-6, "%s: objective vs scipy, worst relative excess %.2e" % (name, worst))
    check(X.min() >= 0, "%s: X >= 0" % name)
    check(at["kkt_violation"] <= 1e-6, "%s: stored KKT violation %.2e" % (name, at["kkt_violation"]))
    G = A.T @ (A @ X - B) + l2 * X
    viol = np.where(X > 0, np.abs(G), np.maximum(-G, 0)).max(0) / np.maximum(np.abs(A.T @ B).max(0), 1e-300)
    check(viol.max() <= 1e-4, "%s: KKT recomputed from float32 X %.2e" % (name, viol.max()))
    res = np.linalg.norm(A @ X - B) / np.linalg.norm(B)
    check(abs(res - at["relative_residual"]) <= 1e-5 * max(res, 1e-3), "%s: residual attribute %.6g vs %.6g"
          % (name, at["relative_residual"], res))
    if NP > 1:
        X1, _ = solve_cmd(name, A, B, extra, ranks=False, tag="_1rank")
        F, F1 = A @ X, A @ X1
        d = np.abs(F - F1).max() / max(np.abs(F1).max(), 1e-30)
        check(d <= 1e-5, "%s: %d ranks vs 1 rank, fitted values A X, max relative difference %.2e" % (name, NP, d))
        o, o1 = (np.sum((F - B) ** 2) + l2 * np.sum(X ** 2), np.sum((F1 - B) ** 2) + l2 * np.sum(X1 ** 2))
        dob = abs(o - o1) / (o1 + 1e-9 * np.sum(B ** 2) + 1e-300)
        check(dob <= 1e-6, "%s: %d ranks vs 1 rank, objective %.6g vs %.6g (relative %.2e)" % (name, NP, o, o1, dob))
        # rank at float32 resolution: A is stored in float32, so singular values
        # below its rounding (U V of rank 5 becomes full rank in double) count as 0
        sv = np.linalg.svd(A, compute_uv=False)
        rank = int(np.sum(sv > sv.max() * max(A.shape) * np.finfo(np.float32).eps))
        if l2 > 0 or rank == n:
            d = np.abs(X - X1).max() / max(np.abs(X1).max(), 1e-30)
            check(d <= 1e-5, "%s: %d ranks vs 1 rank (unique X), max relative difference %.2e" % (name, NP, d))
    return at


rng = np.random.default_rng(42)
compare("random_tall", rng.random((80, 20)), rng.random((80, 23)))
compare("signed_data", rng.random((50, 12)), rng.standard_normal((50, 17)))
U, V = rng.random((60, 5)), rng.random((5, 14))
compare("rank_deficient", U @ V, rng.random((60, 19)))
Xt = rng.random((14, 19)) * (rng.random((14, 19)) < 0.5)
compare("rank_deficient_consistent", U @ V, (U @ V) @ Xt)
compare("wide_dense", rng.random((10, 30)), rng.random((10, 11)))
compare("ridge", rng.random((40, 10)), rng.random((40, 9)), l2=0.3)
# wide A with a ridge below the dual solver's internal shift (1e-7 x the largest
# row norm^2): the ridge must still be the problem solved, not the shift's limit
Aw = rng.random((10, 30))
at = compare("ridge_wide_small", Aw, rng.random((10, 11)), l2=3e-8 * np.max(np.sum(Aw ** 2, axis=1)))
check(at["kkt_violation"] <= 1e-8, "ridge_wide_small: KKT of the ridge problem %.2e <= 1e-8 (the shift's "
      "limit, the problem without the ridge, left 6e-8)" % at["kkt_violation"])
compare("ridge_wide", Aw, rng.random((10, 11)), l2=1e-3)
# real spectrogram: basis = 24 frames of one recording, data = another's frames
S = stft_mag(synth_audio(sr=8000, seconds=2.0, seed=1), n_fft=256, hop=64)
S2 = stft_mag(synth_audio(sr=8000, seconds=1.0, seed=2), n_fft=256, hop=64)
compare("spectrogram", S[:, ::10][:, :24] + 1e-3, S2[:, :29])

print("test_nnls_cmd: %s" % ("%d checks failed" % len(fails) if fails else "all checks passed"))
sys.exit(1 if fails else 0)
