"""specnmf nmf against sklearn.decomposition.NMF 1.2 (the reference), at SN_NP
ranks, from the same float32 data and the same starting W, H (--init FILE):
 - solver 'mu', 50 iterations, beta = 2, 1, 0, 1.5, with and without
   regularization: W, H and the final loss within 1e-4 relative (Frobenius norm);
 - solver 'cd' (HALS), 50 iterations: loss within 1e-3 relative;
 - the tol stopping rule stops at the same iteration as sklearn;
 - SN_NP ranks give the same W, H as one rank within 1e-5 relative, on the real
   spectrogram and on N = 2 (a rank owns no column at 3 ranks);
 - MU never increases the loss on a real spectrogram (beta 2, 1, 0.5)."""
import os
import numpy as np
from sklearn.decomposition import NMF
import nmf_common as C

C.quiet_sklearn()
ck = C.Checker()
T = C.TMP
F, N, R = 65, 240, 5
V = C.spectrogram(F, N)
Vpos = C.spectrogram(F, N, floor=1e-2)  # for beta <= 0 (no zeros)
C.write_spec(f"{T}/v.h5", V)
C.write_spec(f"{T}/vpos.h5", Vpos)
rng = np.random.default_rng(1)
avg = np.sqrt(V.mean() / R)
W0 = (avg * np.abs(rng.standard_normal((F, R)))).astype(np.float32) + np.float32(0.01)
H0 = (avg * np.abs(rng.standard_normal((R, N)))).astype(np.float32) + np.float32(0.01)
C.write_model(f"{T}/init.h5", W0, H0)


def sk(X, beta, solver="mu", it=50, tol=0.0, aW=0.0, aH="same", l1=0.0):
    m = NMF(n_components=R, init="custom", solver=solver, beta_loss=beta, max_iter=it, tol=tol,
            alpha_W=aW, alpha_H=aH, l1_ratio=l1)
    W = m.fit_transform(X, W=W0.copy(), H=H0.copy())
    return W, m.components_, m.reconstruction_err_ ** 2 / 2, m.n_iter_


def ours(inp, beta, solver="mu", it=50, tol=0.0, aW=0.0, aH="same", l1=0.0, np_=None, tag="m"):
    out = f"{T}/{tag}.h5"
    C.run([inp, "-k", str(R), "-o", out, "--force", "--init", f"{T}/init.h5", "--beta", str(beta),
           "--solver", solver, "--max-iter", str(it), "--tol", str(tol), "--alpha-W", str(aW),
           "--alpha-H", str(aH), "--l1-ratio", str(l1), "--tile", "37"], np_=np_)
    return C.read_model(out)


for beta in [2, 1, 0, 1.5]:
    X = Vpos if beta <= 0 else V
    inp = f"{T}/vpos.h5" if beta <= 0 else f"{T}/v.h5"
    for reg in [(0.0, "same", 0.0), (0.002, "same", 0.5), (0.001, 0.003, 0.0)]:
        W, H, loss, _ = sk(X, beta, aW=reg[0], aH=reg[1], l1=reg[2])
        m = ours(inp, beta, aW=reg[0], aH=reg[1], l1=reg[2])
        eW, eH = C.rel(m["W"], W), C.rel(m["H"], H)
        eL = abs(m["attrs"]["loss"] - loss) / loss
        ck.check(eW < 1e-4 and eH < 1e-4 and eL < 1e-4,
                 f"mu beta={beta} reg={reg}: rel W {eW:.2e} H {eH:.2e} loss {eL:.2e} (< 1e-4)")

# cd (HALS), plain and regularized
for reg in [(0.0, "same", 0.0), (0.002, "same", 0.5)]:
    W, H, loss, _ = sk(V, 2, solver="cd", aW=reg[0], aH=reg[1], l1=reg[2])
    m = ours(f"{T}/v.h5", 2, solver="cd", aW=reg[0], aH=reg[1], l1=reg[2])
    eL = abs(m["attrs"]["loss"] - loss) / loss
    ck.check(eL < 1e-3, f"cd reg={reg}: loss {m['attrs']['loss']:.6g} vs sklearn {loss:.6g}, rel {eL:.2e} (< 1e-3); rel W {C.rel(m['W'], W):.1e}")

# the tol stopping rule: same n_iter as sklearn
for beta, tol in [(2, 1e-3), (1, 1e-3)]:
    W, H, loss, nit = sk(V, beta, it=400, tol=tol)
    m = ours(f"{T}/v.h5", beta, it=400, tol=tol)
    ck.check(m["attrs"]["n_iter"] == nit and m["attrs"]["converged"] == 1 and C.rel(m["W"], W) < 1e-3,
             f"mu beta={beta} tol={tol}: n_iter {m['attrs']['n_iter']} vs sklearn {nit}, rel W {C.rel(m['W'], W):.1e}")
W, H, loss, nit = sk(V, 2, solver="cd", it=400, tol=1e-3)
m = ours(f"{T}/v.h5", 2, solver="cd", it=400, tol=1e-3)
ck.check(abs(m["attrs"]["n_iter"] - nit) <= 1,
         f"cd tol=1e-3: n_iter {m['attrs']['n_iter']} vs sklearn {nit} (+-1)")

# rank invariance: SN_NP ranks vs one rank
for beta in [2, 1]:
    a = ours(f"{T}/v.h5", beta, tag="a")
    b = ours(f"{T}/v.h5", beta, np_=1, tag="b")
    ck.check(C.rel(a["W"], b["W"]) < 1e-5 and C.rel(a["H"], b["H"]) < 1e-5,
             f"{C.NP} ranks vs 1, beta={beta}: rel W {C.rel(a['W'], b['W']):.1e} H {C.rel(a['H'], b['H']):.1e} (< 1e-5)")
V2 = V[:, 100:102].copy()
C.write_spec(f"{T}/v2.h5", V2)
outs = []
for np_ in [None, 1]:
    out = f"{T}/n2_{np_}.h5"
    C.run([f"{T}/v2.h5", "-k", "2", "-o", out, "--force", "--init", "random", "--seed", "3",
           "--max-iter", "30", "--beta", "kl"], np_=np_)
    outs.append(C.read_model(out))
ck.check(C.rel(outs[0]["W"], outs[1]["W"]) < 1e-5 and C.rel(outs[0]["H"], outs[1]["H"]) < 1e-5
         and outs[0]["H"].shape == (2, 2),
         f"N=2 at {C.NP} ranks vs 1: rel W {C.rel(outs[0]['W'], outs[1]['W']):.1e} H {C.rel(outs[0]['H'], outs[1]['H']):.1e}")

# MU never increases the loss (checked at every 10 iterations and the end)
for beta in [2, 1, 0.5]:
    out = f"{T}/mono.h5"
    C.run([f"{T}/v.h5", "-k", "8", "-o", out, "--force", "--init", "nndsvda", "--beta", str(beta),
           "--max-iter", "150", "--tol", "0"])
    L = C.read_model(out)["loss"]
    ck.check(len(L) >= 15 and np.all(np.diff(L) <= 1e-6 * L[0]),
             f"mu beta={beta}: loss non-increasing over {len(L)} checks ({L[0]:.4g} -> {L[-1]:.4g})")
ck.done()
