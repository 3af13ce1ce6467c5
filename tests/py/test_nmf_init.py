"""Starting points of specnmf nmf at SN_NP ranks (--max-iter 0 writes the start):
 - nndsvd / nndsvda equal sklearn's _initialize_nmf definitions computed from an
   exact SVD (numpy, float64, svd_flip signs) within 1e-4 relative, with the
   Gram's eigenpairs from LAPACK on every rank (the default at this F), by
   subspace iteration on every rank (SPECNMF_EIGEN=subspace, the default above
   F = 2049) and from ScaLAPACK's distributed solver (SPECNMF_EIGEN=scalapack);
 - nndsvdar: the deterministic (nonzero NNDSVD) part equals nndsvd, the fill is
   in (0, mean(V)/100 * 6] and mean |N(0,1)| * mean(V)/100 within 15%;
 - random: the same start at SN_NP ranks and at one rank (exactly), scale
   sqrt(mean(V)/k) * E|N(0,1)| within 10%."""
import numpy as np
from sklearn.utils.extmath import svd_flip
import nmf_common as C

ck = C.Checker()
T = C.TMP
F, N, R = 65, 240, 6
V = C.spectrogram(F, N, seed=4)
C.write_spec(f"{T}/v.h5", V)


def sk_nndsvd(X, k, variant):
    X = X.astype(np.float64)
    U, S, Vt = np.linalg.svd(X, full_matrices=False)
    U, Vt = svd_flip(U[:, :k], Vt[:k])
    S = S[:k]
    W = np.zeros((X.shape[0], k))
    H = np.zeros((k, X.shape[1]))
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0, :] = np.sqrt(S[0]) * np.abs(Vt[0, :])
    for j in range(1, k):
        x, y = U[:, j], Vt[j, :]
        x_p, y_p = np.maximum(x, 0), np.maximum(y, 0)
        x_n, y_n = np.abs(np.minimum(x, 0)), np.abs(np.minimum(y, 0))
        x_p_nrm, y_p_nrm = np.linalg.norm(x_p), np.linalg.norm(y_p)
        x_n_nrm, y_n_nrm = np.linalg.norm(x_n), np.linalg.norm(y_n)
        m_p, m_n = x_p_nrm * y_p_nrm, x_n_nrm * y_n_nrm
        if m_p > m_n:
            u, v, sigma = x_p / x_p_nrm, y_p / y_p_nrm, m_p
        else:
            u, v, sigma = x_n / x_n_nrm, y_n / y_n_nrm, m_n
        lbd = np.sqrt(S[j] * sigma)
        W[:, j] = lbd * u
        H[j, :] = lbd * v
    W[W < 1e-6] = 0
    H[H < 1e-6] = 0
    if variant == "nndsvda":
        avg = X.mean()
        W[W == 0] = avg
        H[H == 0] = avg
    return W, H


def start(init, np_=None, seed=0, tag="s", env=None):
    out = f"{T}/{tag}.h5"
    C.run([f"{T}/v.h5", "-k", str(R), "-o", out, "--force", "--init", init, "--max-iter", "0",
           "--seed", str(seed)], np_=np_, env=env)
    return C.read_model(out)


# the Gram's eigenpairs: replicated LAPACK on every rank (the default at this F), subspace iteration on
# every rank (the default above F = 2049) and ScaLAPACK's distributed solver on a process grid
for solver, env in (("local", None), ("subspace", {"SPECNMF_EIGEN": "subspace"}),
                    ("scalapack", {"SPECNMF_EIGEN": "scalapack"})):
    for init in ["nndsvd", "nndsvda"]:
        W, H = sk_nndsvd(V, R, init)
        m = start(init, env=env)
        ck.check(C.rel(m["W"], W) < 1e-4 and C.rel(m["H"], H) < 1e-4,
                 f"{init} ({solver} eigensolver): rel W {C.rel(m['W'], W):.1e} H {C.rel(m['H'], H):.1e} vs "
                 f"exact-SVD sklearn definition (< 1e-4)")

W, H = sk_nndsvd(V, R, "nndsvd")
m = start("nndsvdar", seed=7)
avg = V.mean()
nzW, nzH = W > 0, H > 0
det = C.rel(m["W"][nzW], W[nzW]) < 1e-4 and C.rel(m["H"][nzH], H[nzH]) < 1e-4
fill = np.concatenate([m["W"][~nzW], m["H"][~nzH]])
rng_ok = fill.size > 0 and fill.min() > 0 and fill.max() <= 6 * avg / 100
mean_ok = abs(fill.mean() / (avg / 100 * np.sqrt(2 / np.pi)) - 1) < 0.15
ck.check(det and rng_ok and mean_ok,
         f"nndsvdar: deterministic part {det}, {fill.size} filled in (0, 6 avg/100]: {rng_ok}, mean ratio "
         f"{fill.mean() / (avg / 100 * np.sqrt(2 / np.pi)):.3f}")

a = start("random", seed=11, tag="ra")
b = start("random", seed=11, np_=1, tag="rb")
c = start("random", seed=12, np_=1, tag="rc")
scale = np.sqrt(V.mean() / R) * np.sqrt(2 / np.pi)
ck.check(np.array_equal(a["W"], b["W"]) and np.array_equal(a["H"], b["H"]),
         f"random: {C.NP} ranks == 1 rank (same seed)")
ck.check(not np.array_equal(b["H"], c["H"]) and abs(b["H"].mean() / scale - 1) < 0.1
         and abs(b["W"].mean() / scale - 1) < 0.1 and b["W"].min() >= 0,
         f"random: other seed differs; mean H/scale {b['H'].mean() / scale:.3f}, W/scale {b['W'].mean() / scale:.3f}")
ck.done()
