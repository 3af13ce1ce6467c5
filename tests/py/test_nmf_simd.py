"""specnmf nmf with R = 16 and 32 (the hand-written AVX-512 kernels of
src/sn_nmf.c at the avx512 kernel level; the BLAS path at the others) against
sklearn.decomposition.NMF 1.2 at SN_NP ranks, from the same float32 data and
starting W, H; F = 65 and --tile 37 so row and column remainders are hit:
 - solver 'mu', 50 iterations, beta = 2, 1, 0.5 (and beta 2, 1 regularized):
   W, H and the final loss within 1e-4 relative (Frobenius norm);
 - solver 'cd', 50 iterations: loss within 1e-3 relative (as test_nmf_sklearn);
 - SN_NP ranks give the same W, H as one rank within 1e-5 (mu beta 2, 1; cd)."""
import numpy as np
from sklearn.decomposition import NMF
import nmf_common as C

C.quiet_sklearn()
ck = C.Checker()
T = C.TMP
F, N = 65, 240
V = C.spectrogram(F, N, floor=1e-2)
C.write_spec(f"{T}/v.h5", V)


def init(R):
    rng = np.random.default_rng(R)
    avg = np.sqrt(V.mean() / R)
    W0 = (avg * np.abs(rng.standard_normal((F, R)))).astype(np.float32) + np.float32(0.01)
    H0 = (avg * np.abs(rng.standard_normal((R, N)))).astype(np.float32) + np.float32(0.01)
    C.write_model(f"{T}/init{R}.h5", W0, H0)
    return W0, H0


def sk(R, W0, H0, beta, solver="mu", aW=0.0):
    m = NMF(n_components=R, init="custom", solver=solver, beta_loss=beta, max_iter=50, tol=0.0,
            alpha_W=aW, alpha_H="same", l1_ratio=0.5)
    W = m.fit_transform(V, W=W0.copy(), H=H0.copy())
    return W, m.components_, m.reconstruction_err_ ** 2 / 2


def ours(R, beta, solver="mu", aW=0.0, np_=None, tag="m"):
    out = f"{T}/{tag}.h5"
    C.run([f"{T}/v.h5", "-k", str(R), "-o", out, "--force", "--init", f"{T}/init{R}.h5", "--beta", str(beta),
           "--solver", solver, "--max-iter", "50", "--tol", "0", "--alpha-W", str(aW), "--alpha-H", "same",
           "--l1-ratio", "0.5", "--tile", "37"], np_=np_)
    return C.read_model(out)


for R in [16, 32]:
    W0, H0 = init(R)
    for beta, aW in [(2, 0.0), (1, 0.0), (0.5, 0.0), (2, 0.002), (1, 0.002)]:
        if R == 32 and aW > 0:
            continue
        W, H, loss = sk(R, W0, H0, beta, aW=aW)
        m = ours(R, beta, aW=aW)
        eW, eH = C.rel(m["W"], W), C.rel(m["H"], H)
        eL = abs(m["attrs"]["loss"] - loss) / loss
        ck.check(eW < 1e-4 and eH < 1e-4 and eL < 1e-4,
                 f"R={R} mu beta={beta} alpha_W={aW}: rel W {eW:.2e} H {eH:.2e} loss {eL:.2e} (< 1e-4)")
    W, H, loss = sk(R, W0, H0, 2, solver="cd")
    m = ours(R, 2, solver="cd")
    eL = abs(m["attrs"]["loss"] - loss) / loss
    ck.check(eL < 1e-3, f"R={R} cd: loss {m['attrs']['loss']:.6g} vs sklearn {loss:.6g}, rel {eL:.2e} (< 1e-3)")

for beta, solver in [(2, "mu"), (1, "mu"), (2, "cd")]:
    a = ours(16, beta, solver=solver, tag="a")
    b = ours(16, beta, solver=solver, np_=1, tag="b")
    ck.check(C.rel(a["W"], b["W"]) < 1e-5 and C.rel(a["H"], b["H"]) < 1e-5,
             f"R=16 {solver} beta={beta}: {C.NP} ranks vs 1: rel W {C.rel(a['W'], b['W']):.1e} H {C.rel(a['H'], b['H']):.1e} (< 1e-5)")
ck.done()
