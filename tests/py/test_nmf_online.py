"""specnmf nmf --solver online against sklearn.decomposition.MiniBatchNMF 1.2
(X = V^T: frames are its samples, its W is our H^T, its H our W^T), from the
same start (--init FILE, sklearn's init='custom'):
 - one rank (sklearn's batches, the same at any SN_NP): every step's mean batch
   cost (sklearn's verbose output) within 1e-4 relative, and the final W, the
   transform H and the loss within 1e-4; fro, kl, is, beta 1.5, fresh restarts,
   regularization (--alpha-W = sklearn's alpha_H, --alpha-H = its alpha_W),
   batches that do not divide N, the tol and max_no_improvement stops (same
   step count);
 - SN_NP ranks: the slices (so the steps) depend on the rank count, so no
   match with one rank is asked; what must hold: two runs give identical
   W and H, and after 400 passes the loss is within 5% of one rank's (other
   batches reach other local minima: measured 0.03% fro, 4% kl at 3 ranks), and N = 2 (3 ranks: a rank
   with no frames) runs."""
import contextlib
import io
import re
import numpy as np
from sklearn.decomposition import MiniBatchNMF
from sklearn.decomposition._nmf import _beta_divergence
import nmf_common as C

C.quiet_sklearn()
ck = C.Checker()
T = C.TMP
F, N, R = 65, 240, 5
V = C.spectrogram(F, N)
Vpos = C.spectrogram(F, N, floor=1e-2)
C.write_spec(f"{T}/v.h5", V)
C.write_spec(f"{T}/vpos.h5", Vpos)
rng = np.random.default_rng(1)
avg = np.sqrt(V.mean() / R)
W0 = (avg * np.abs(rng.standard_normal((F, R)))).astype(np.float32) + np.float32(0.01)
H0 = (avg * np.abs(rng.standard_normal((R, N)))).astype(np.float32) + np.float32(0.01)
C.write_model(f"{T}/init.h5", W0, H0)
NAMES = {"fro": "frobenius", "kl": "kullback-leibler", "is": "itakura-saito"}


def sk(X, beta, bs, it=3, tol=0.0, mni=None, fresh=False, aW=0.0, aH="same", l1=0.0, start=(W0, H0)):
    """sklearn with our options mapped under the transpose; returns the batch
    costs of every step, W (F x R), the transform H (R x N) and its loss."""
    W0_, H0_ = start
    m = MiniBatchNMF(n_components=W0_.shape[1], init="custom", batch_size=bs, beta_loss=NAMES.get(beta, beta), tol=tol,
                     max_no_improvement=mni, max_iter=it, fresh_restarts=fresh, verbose=1,
                     alpha_W=aW if aH == "same" else aH, alpha_H=aW, l1_ratio=l1)
    Xd = X.T.astype(np.float64)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        m.fit_transform(Xd, W=H0_.T.astype(np.float64).copy(), H=W0_.T.astype(np.float64).copy())
    costs = np.array([float(x) for x in re.findall(r"mean batch cost: ([0-9.eE+-]+)", out.getvalue())])
    Ht = m.transform(Xd)
    return costs, m.components_.T, Ht.T, _beta_divergence(Xd, Ht, m.components_, m._beta_loss)


def ours(inp, beta, bs, it=3, tol=0.0, mni=0, fresh=False, aW=0.0, aH="same", l1=0.0, np_=1, tag="o",
         init=None, extra=(), k=R):
    out = f"{T}/{tag}.h5"
    C.run([inp, "-k", str(k), "-o", out, "--force", "--init", init or f"{T}/init.h5", "--beta", str(beta),
           "--solver", "online", "--batch-size", str(bs), "--max-iter", str(it), "--tol", str(tol),
           "--max-no-improvement", str(mni), "--alpha-W", str(aW), "--alpha-H", str(aH), "--l1-ratio", str(l1),
           "--tile", "37", "--transform-start", "constant"] + (["--fresh-restarts"] if fresh else []) + list(extra),
          np_=np_)
    return C.read_model(out)


def compare(what, X, inp, beta, bs, start=(W0, H0), init=None, **kw):
    mni = kw.pop("mni", None)
    costs, W, H, loss = sk(X, beta, bs, mni=mni, start=start, **kw)
    m = ours(inp, beta, bs, mni=mni or 0, init=init, k=start[0].shape[1], **kw)
    n = min(len(costs), len(m["loss"]))
    ec = float(np.max(np.abs(m["loss"][:n] - costs[:n]) / np.abs(costs[:n]))) if n else 1.0
    eW, eH = C.rel(m["W"], W), C.rel(m["H"], H)
    eL = abs(m["attrs"]["loss"] - loss) / loss
    ck.check(len(costs) == len(m["loss"]) and ec < 1e-4 and eW < 1e-4 and eH < 1e-4 and eL < 1e-4,
             f"{what}: {len(m['loss'])} steps (sklearn {len(costs)}), batch costs {ec:.1e}, W {eW:.1e}, "
             f"transform H {eH:.1e}, loss {eL:.1e} (< 1e-4)")


for beta in ["fro", "kl"]:
    for bs in [50, 240, 7]:
        compare(f"beta {beta} batch {bs}", V, f"{T}/v.h5", beta, bs)
compare("beta is batch 37", Vpos, f"{T}/vpos.h5", "is", 37)
compare("beta 1.5 batch 64", V, f"{T}/v.h5", 1.5, 64)
compare("beta 0.5 batch 64 fresh restarts", Vpos, f"{T}/vpos.h5", 0.5, 64, fresh=True)
for beta in ["fro", "kl"]:
    compare(f"beta {beta} batch 64 fresh restarts tol 1e-3", V, f"{T}/v.h5", beta, 64, fresh=True, tol=1e-3)
    compare(f"beta {beta} regularized (0.002, same, 0.5)", V, f"{T}/v.h5", beta, 50, aW=0.002, l1=0.5)
    compare(f"beta {beta} regularized (0.001, 0.003, 0)", V, f"{T}/v.h5", beta, 50, aW=0.001, aH=0.003)
    compare(f"beta {beta} tol 1e-2 stop", V, f"{T}/v.h5", beta, 30, it=50, tol=1e-2)
    compare(f"beta {beta} max_no_improvement 3 stop", V, f"{T}/v.h5", beta, 30, it=50, mni=3)

# R = 16: the hand-written AVX-512 kernels where the CPU has them (BLAS elsewhere)
W16 = (avg * np.abs(rng.standard_normal((F, 16)))).astype(np.float32) + np.float32(0.01)
H16 = (avg * np.abs(rng.standard_normal((16, N)))).astype(np.float32) + np.float32(0.01)
C.write_model(f"{T}/init16.h5", W16, H16)
for beta in ["fro", "kl"]:
    compare(f"R = 16, beta {beta} batch 50", V, f"{T}/v.h5", beta, 50, start=(W16, H16), init=f"{T}/init16.h5")

# SN_NP ranks: deterministic, and close to one rank in loss
for beta in ["fro", "kl"]:
    a = ours(f"{T}/v.h5", beta, 48, it=400, np_=None, tag="a")
    b = ours(f"{T}/v.h5", beta, 48, it=400, np_=None, tag="b")
    one = ours(f"{T}/v.h5", beta, 48, it=400, np_=1, tag="one")
    same = np.array_equal(a["W"], b["W"]) and np.array_equal(a["H"], b["H"])
    dl = abs(a["attrs"]["loss"] - one["attrs"]["loss"]) / one["attrs"]["loss"]
    ck.check(same and dl < 0.05 and a["H"].shape == (R, N),
             f"{C.NP} ranks, beta {beta}: two runs identical {same}, loss {a['attrs']['loss']:.6g} vs one rank "
             f"{one['attrs']['loss']:.6g} ({dl:.1e} < 5e-2)")
# --transform-start last (the default): the final pass starts from each frame's
# H of the last pass; T updates from there equal numpy's MU rule (W fixed) on
# the H that --transform-max-iter 0 leaves, at SN_NP ranks
EPS = np.finfo(np.float32).eps


def mu_h(V, W, H, beta):
    V, W, H = (x.astype(np.float64) for x in (V, W, H))
    if beta == "fro":
        return H * (W.T @ V) / np.maximum(W.T @ W @ H, EPS)
    WH = np.maximum(W @ H, EPS)
    return H * (W.T @ (V / WH)) / np.maximum(W.sum(axis=0)[:, None], EPS)


for beta in ["fro", "kl"]:
    base = ["--init", f"{T}/init.h5", "--beta", beta, "--solver", "online", "--batch-size", "50", "--max-iter", "3",
            "--tol", "0", "--max-no-improvement", "0", "--tile", "37"]
    m0, m3 = ({}, {})
    for m, t in ((m0, 0), (m3, 3)):
        C.run([f"{T}/v.h5", "-k", str(R), "-o", f"{T}/w{t}.h5", "--force", "--transform-max-iter", str(t)] + base)
        m.update(C.read_model(f"{T}/w{t}.h5"))
    H = m0["H"]
    for _ in range(3):
        H = mu_h(V, m0["W"], H, beta)
    eH = C.rel(m3["H"], H)
    lossq = 0.5 * np.sum((V - m3["W"].astype(np.float64) @ H) ** 2) if beta == "fro" else None
    ok = np.array_equal(m0["W"], m3["W"]) and eH < 1e-4
    if lossq is not None:
        ok = ok and abs(m3["attrs"]["loss"] - lossq) / lossq < 1e-4
    ck.check(ok, f"{C.NP} ranks, beta {beta}: --transform-start last, 3 updates from the last pass's H: H {eH:.1e} (< 1e-4)")

# a tiny V: N = 2 (a rank with no frames at 3 ranks), batch 1 and 2
V2 = V[:, 100:102].copy()
C.write_spec(f"{T}/v2.h5", V2)
for bs in [1, 2]:
    out = f"{T}/n2.h5"
    p = C.run([f"{T}/v2.h5", "-k", "2", "-o", out, "--force", "--init", "random", "--solver", "online", "--beta", "kl",
               "--batch-size", str(bs), "--max-iter", "20"], check=False, timeout=60)
    okrun = p.returncode == 0
    m = C.read_model(out) if okrun else None
    ck.check(okrun and m["H"].shape == (2, 2) and np.isfinite(m["attrs"]["loss"]) and np.all(np.isfinite(m["W"])),
             f"N = 2 at {C.NP} ranks, batch {bs}: exit {p.returncode}" + (f", loss {m['attrs']['loss']:.4g}" if m else ""))
ck.done()
