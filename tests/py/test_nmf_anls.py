"""--solver anls (exact alternating NNLS, Frobenius loss) at SN_NP ranks against
a scipy reference: each half-step solved column by column with
scipy.optimize.nnls (augmented rows for the L2 term), W then H, from the same
start; 15 iterations, W and H within 1e-4 relative, with and without
regularization (L2 only: scipy's nnls has no L1 term) and with 2 fixed columns.
Also: the loss never increases, and anls with beta != 2 is refused."""
import numpy as np
from scipy.optimize import nnls
import nmf_common as C

ck = C.Checker()
T = C.TMP
F, N, R = 33, 70, 4
V = C.spectrogram(F, N, seed=9).astype(np.float64)
C.write_spec(f"{T}/v.h5", V.astype(np.float32))
rng = np.random.default_rng(5)
W0 = (np.abs(rng.standard_normal((F, R))) + 0.1).astype(np.float32)
H0 = (np.abs(rng.standard_normal((R, N))) + 0.1).astype(np.float32)
C.write_model(f"{T}/init.h5", W0, H0)


def nnls_reg(A, b, l2):
    if l2 > 0:
        A = np.vstack([A, np.sqrt(l2) * np.eye(A.shape[1])])
        b = np.concatenate([b, np.zeros(A.shape[1])])
    return nnls(A, b, maxiter=1000)[0]


def ref(it, l2W, l2H, c=0):
    W = W0.astype(np.float64).copy(); H = H0.astype(np.float64).copy()
    for _ in range(it):
        Rm = V - W[:, :c] @ H[:c]
        for i in range(F):
            W[i, c:] = nnls_reg(H[c:].T, Rm[i], l2W)
        for j in range(N):
            H[:, j] = nnls_reg(W, V[:, j], l2H)
    return W, H


for aW, c in [(0.0, 0), (0.002, 0), (0.0, 2)]:
    W, H = ref(15, N * aW, F * aW, c)
    args = [f"{T}/v.h5", "-k", str(R), "-o", f"{T}/m.h5", "--force", "--init", f"{T}/init.h5", "--solver", "anls",
            "--max-iter", "15", "--tol", "0", "--alpha-W", str(aW), "--tile", "16"]
    if c:
        C.write_model(f"{T}/dict.h5", W0[:, :c], np.ones((c, N)))
        args += ["--fix-W", f"{T}/dict.h5"]
    C.run(args)
    m = C.read_model(f"{T}/m.h5")
    ck.check(C.rel(m["W"], W) < 1e-4 and C.rel(m["H"], H) < 1e-4,
             f"anls alpha={aW} fixed={c}: rel W {C.rel(m['W'], W):.1e} H {C.rel(m['H'], H):.1e} vs scipy nnls (< 1e-4)")
C.run([f"{T}/v.h5", "-k", "6", "-o", f"{T}/m.h5", "--force", "--solver", "anls", "--max-iter", "60", "--tol", "0"])
L = C.read_model(f"{T}/m.h5")["loss"]
ck.check(np.all(np.diff(L) <= 1e-6 * L[0]), f"anls loss non-increasing over {len(L)} checks ({L[0]:.4g} -> {L[-1]:.4g})")
p = C.run([f"{T}/v.h5", "-k", "3", "-o", f"{T}/x.h5", "--solver", "anls", "--beta", "kl"], check=False)
ck.check(p.returncode == 2 and "Frobenius" in p.stderr, "anls with beta=kl refused")
ck.done()
