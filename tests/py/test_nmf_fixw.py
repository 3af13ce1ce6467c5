"""Dictionaries (--fix-W) at SN_NP ranks:
 - c = k (supervised): H equals sklearn's non_negative_factorization on V^T with
   the dictionary as fixed components (update_H=False, solver mu, same start),
   beta 2 and 1, 50 iterations, within 1e-4 relative; W stays the dictionary;
 - c < k (semi-supervised): the c columns stay bit-identical, and W, H equal a
   float64 numpy MU reference that skips the fixed columns (1e-4 relative);
 - --sort orders components by peak bin (librosa.decompose) and permutes H alike."""
import numpy as np
from sklearn.decomposition import non_negative_factorization
import nmf_common as C

C.quiet_sklearn()
ck = C.Checker()
T = C.TMP
F, N, k = 65, 200, 4
V = C.spectrogram(F, N, seed=6)
C.write_spec(f"{T}/v.h5", V)
rng = np.random.default_rng(3)
D = (np.abs(rng.standard_normal((F, k))) + 0.05).astype(np.float32)
C.write_model(f"{T}/dict.h5", D, np.ones((k, N)), attrs=C.ATTRS)

for beta in [2, 1]:
    avg = np.sqrt(V.T.mean() / k)
    Hs, _, _ = non_negative_factorization(V.T, W=None, H=D.T.copy(), n_components=k, init="custom",
                                          update_H=False, solver="mu", beta_loss=beta, max_iter=50, tol=0)
    C.write_model(f"{T}/init.h5", D, np.full((k, N), avg, np.float32))
    out = f"{T}/sup.h5"
    C.run([f"{T}/v.h5", "-k", str(k), "-o", out, "--force", "--fix-W", f"{T}/dict.h5", "--init", f"{T}/init.h5",
           "--beta", str(beta), "--max-iter", "50", "--tol", "0"])
    m = C.read_model(out)
    ck.check(np.array_equal(m["W"], D) and C.rel(m["H"], Hs.T) < 1e-4,
             f"supervised beta={beta}: W fixed, rel H {C.rel(m['H'], Hs.T):.1e} vs sklearn update_H=False (< 1e-4)")


def ref_semi(X, W, H, c, beta, it):
    X = X.astype(np.float64); W = W.astype(np.float64).copy(); H = H.astype(np.float64).copy()
    eps = np.finfo(np.float32).eps
    for _ in range(it):
        WH = W @ H
        if beta == 2:
            num, den = X @ H.T, W @ (H @ H.T)
        else:
            WHs = np.where(WH == 0, eps, WH)
            num, den = (X / WHs) @ H.T, np.tile(H.sum(1), (X.shape[0], 1))
        W[:, c:] *= num[:, c:] / den[:, c:]
        WH = W @ H
        if beta == 2:
            H *= (W.T @ X) / (W.T @ W @ H)
        else:
            WHs = np.where(WH == 0, eps, WH)
            H *= (W.T @ (X / WHs)) / W.sum(0)[:, None]
    return W, H


c = 2
kk = 5
W0 = (np.abs(rng.standard_normal((F, kk))) + 0.1).astype(np.float32)
H0 = (np.abs(rng.standard_normal((kk, N))) + 0.1).astype(np.float32)
C.write_model(f"{T}/init5.h5", W0, H0)
D2 = D[:, :c].copy()
with __import__("h5py").File(f"{T}/dict2.h5", "w") as f:
    d = f.create_dataset("/my/dict", data=D2)
for beta in [2, 1]:
    Wr, Hr = ref_semi(V, np.concatenate([D2, W0[:, c:]], 1), H0, c, beta, 50)
    out = f"{T}/semi.h5"
    C.run([f"{T}/v.h5", "-k", str(kk), "-o", out, "--force", "--fix-W", f"{T}/dict2.h5:/my/dict", "--init",
           f"{T}/init5.h5", "--beta", str(beta), "--max-iter", "50", "--tol", "0"])
    m = C.read_model(out)
    ck.check(np.array_equal(m["W"][:, :c], D2) and C.rel(m["W"], Wr) < 1e-4 and C.rel(m["H"], Hr) < 1e-4
             and m["attrs"]["n_fixed"] == c,
             f"semi-supervised c={c} of k={kk}, beta={beta}: fixed columns kept, rel W {C.rel(m['W'], Wr):.1e} H {C.rel(m['H'], Hr):.1e}")

# --sort
C.run([f"{T}/v.h5", "-k", str(kk), "-o", f"{T}/u.h5", "--force", "--init", f"{T}/init5.h5", "--max-iter", "20"])
C.run([f"{T}/v.h5", "-k", str(kk), "-o", f"{T}/s.h5", "--force", "--init", f"{T}/init5.h5", "--max-iter", "20", "--sort"])
u, s = C.read_model(f"{T}/u.h5"), C.read_model(f"{T}/s.h5")
idx = np.argsort(np.argmax(u["W"], axis=0), kind="stable")
ck.check(np.array_equal(s["W"], u["W"][:, idx]) and np.array_equal(s["H"], u["H"][idx]),
         f"--sort: components ordered by peak bin {np.argmax(s['W'], axis=0).tolist()}")
ck.done()
