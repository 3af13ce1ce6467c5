"""specnmf score against mir_eval 0.7 (Debian's python3-mir-eval): BSS Eval v3
(bss_eval_sources: SDR, SIR, SAR, 512-tap filter) on real instrument stems
(examples/make_example.py) with estimates from -5 to 30 dB, mono and stereo,
and the grouping of more estimates (an NMF separation by specnmf separate)
than references, checked for optimality by an independent numpy version of
the same projections over every grouping."""
import itertools
import json
import os
import sys

import numpy as np
import scipy.linalg
import scipy.signal
import soundfile as sf
import mir_eval
from mir_eval.separation import _bss_decomp_mtifilt, _bss_source_crit

from sn_testlib import SRC, NP, check, finish, run, tmp

sys.path.insert(0, os.path.join(SRC, "examples"))
from make_example import make_mixture  # noqa: E402

SR = 22050
TOL = 0.01  # dB, the promise; measured differences are about 1e-8 dB
rng = np.random.default_rng(7)


def write(name, x):
    path = tmp(name)
    sf.write(path, np.asarray(x, dtype=np.float32).T if np.ndim(x) == 2 else np.asarray(x, np.float32), SR,
             subtype="FLOAT")
    return path


def load(path):
    x, _ = sf.read(path, dtype="float64", always_2d=True)
    return x.T  # (channels, samples)


def score(refs, ests, out, *extra):
    run(["score", "-q", "--ref", *refs, "--est", *ests, "-o", out, *extra])
    with open(out) as f:
        return json.load(f)


def stem(p):
    return os.path.splitext(os.path.basename(p))[0]


def si_sdr(e, s):
    a = np.dot(e, s) / np.dot(s, s)
    return 10 * np.log10(np.sum((a * s) ** 2) / np.sum((e - a * s) ** 2))


def pair_matrices(S, E):
    """mir_eval's own pair criteria (sdr, sir, sar)[jest, jtrue], as bss_eval_sources computes them."""
    n = len(S)
    out = np.zeros((3, len(E), n))
    for k in range(len(E)):
        for j in range(n):
            out[:, k, j] = _bss_source_crit(*_bss_decomp_mtifilt(S, E[k], j, 512))
    return out


# 5.9 s: mir_eval's FFTs (next power of two of the length + 511) stay at 2^17
mix, stems = make_mixture("piano_bass_drums", 5.9, SR)
names = list(stems)  # piano, bass, drums
S = np.array([stems[k].astype(np.float64) for k in names])
T = S.shape[1]
refs = [write(f"ref_{k}.wav", stems[k]) for k in names]
noise = rng.standard_normal(T)

# ---- 1. three references, three estimates (shuffled), mono -------------------------
piano, bass, drums = S
# Every estimate has artifacts (noise): without them SAR is infinite and both
# mir_eval and specnmf report rounding noise (100 .. 160 dB).
sd = np.std(S)
est = {
    "e_a": drums + 1.6 * piano + 0.5 * bass + 0.02 * sd * noise,                                 # about -5 dB
    "e_b": piano + 0.02 * bass + 0.01 * sd * noise,                                              # about 30 dB
    "e_c": scipy.signal.lfilter([0.6, 0.3, 0.1], 1, bass) + 0.25 * drums + 0.05 * sd * noise,  # about 10 dB
}
ests = [write(f"{k}.wav", v) for k, v in est.items()]
E = np.array([load(p)[0] for p in ests])
Sf = np.array([load(p)[0] for p in refs])
d = score(refs, ests, tmp("s3.json"))
sdr, sir, sar, perm = mir_eval.separation.bss_eval_sources(Sf, E)
keys = [stem(p) for p in refs]
for w, ref in (("sdr", sdr), ("sir", sir), ("sar", sar)):
    diff = max(abs(d[w][k] - ref[j]) for j, k in enumerate(keys))
    check(diff < TOL, f"3x3 mono {w} equals mir_eval (max |diff| {diff:.2e} dB)")
print("  mir_eval sdr", np.round(sdr, 2), "sir", np.round(sir, 2), "sar", np.round(sar, 2))
check(min(sdr) < 0 and max(sdr) > 25, f"SDRs span a realistic range ({min(sdr):.1f} .. {max(sdr):.1f} dB)")
got_perm = [stem(ests[perm[j]]) for j in range(3)]
check(all(d["assignment"]["estimates"][k] == [got_perm[j]] for j, k in enumerate(keys)),
      f"3x3 uses mir_eval's permutation {got_perm}")
check(d["assignment"]["method"] == "mir_eval_permutation", "3x3 method is mir_eval_permutation")
check(abs(d["mean_sdr"] - np.mean(sdr)) < TOL, "3x3 mean_sdr")
si = [si_sdr(E[perm[j]], Sf[j]) for j in range(3)]
diff = max(abs(d["si_sdr"][k] - si[j]) for j, k in enumerate(keys))
check(diff < 1e-6, f"3x3 si_sdr equals numpy's (max |diff| {diff:.2e} dB)")
# the permutation with the highest mean SDR, from mir_eval's pair criteria
P = pair_matrices(Sf, E)
best = max(itertools.permutations(range(3)), key=lambda p: np.mean(P[0][list(p), range(3)]))
b = d["best_sdr_permutation"]
check(all(b["assignment"]["estimates"][k] == [stem(ests[best[j]])] for j, k in enumerate(keys)),
      "best_sdr_permutation is mir_eval's highest mean SDR")
diff = max(abs(b["sdr"][k] - P[0][best[j], j]) for j, k in enumerate(keys))
check(diff < TOL, f"best_sdr_permutation sdr equals mir_eval (max |diff| {diff:.2e} dB)")

# ---- 2. stereo: per channel, averaged -------------------------------------------------
pan = {"piano": (1.3, 0.7), "drums": (0.8, 1.2)}
T2 = int(2.9 * SR)  # FFTs of 2^16 in mir_eval
S2 = {k: np.array([pan[k][0] * stems[k][:T2], pan[k][1] * stems[k][:T2]], dtype=np.float64) for k in pan}
n2 = noise[:T2]
refs2 = [write(f"st_{k}.wav", S2[k]) for k in pan]
e2 = {"x_drums": S2["drums"] + 0.3 * S2["piano"][::-1] + 0.02 * np.array([n2[::-1], n2]),
      "x_piano": S2["piano"] + 0.1 * S2["drums"] + 0.01 * np.array([n2, n2[::-1]])}
ests2 = [write(f"{k}.wav", v) for k, v in e2.items()]
d2 = score(refs2, ests2, tmp("stereo.json"))
R2 = np.array([load(p) for p in refs2])  # (src, ch, T)
E2 = np.array([load(p) for p in ests2])
crit = np.zeros((3, 2, 2, 2))  # (criterion, channel, est, ref)
for c in range(2):
    crit[:, c] = pair_matrices(R2[:, c], E2[:, c])
mean = crit.mean(axis=1)
perm2 = max(itertools.permutations(range(2)), key=lambda p: np.mean(mean[1][list(p), range(2)]))
keys2 = [stem(p) for p in refs2]
check(all(d2["assignment"]["estimates"][k] == [stem(ests2[perm2[j]])] for j, k in enumerate(keys2)),
      "stereo assignment: highest mean SIR of the channel-averaged criteria")
for w, i in (("sdr", 0), ("sir", 1), ("sar", 2)):
    diff = max(abs(d2[w][k] - mean[i][perm2[j], j]) for j, k in enumerate(keys2))
    check(diff < TOL, f"stereo {w} equals mir_eval per channel, averaged (max |diff| {diff:.2e} dB)")
# and mir_eval's own entry point, channel by channel, on that permutation
me = mir_eval.separation.bss_eval_sources(R2[:, 1], E2[list(perm2), 1], compute_permutation=False)
check(np.allclose(me[0], crit[0, 1][list(perm2), range(2)], atol=1e-9), "pair criteria = bss_eval_sources (channel 1)")
check(d2["channels"] == 2, "stereo: channels 2")


# ---- 3. more estimates than references: an NMF separation ---------------------------
def numpy_energies(S, E, L=512):
    """Independent numpy version: Q_j = D_j^T G_j^-1 D_j per reference and for all."""
    n, m = len(S), len(E)
    N = 1 << int(np.ceil(np.log2(S.shape[1] + L)))
    FS, FE = np.fft.rfft(S, N), np.fft.rfft(E, N)
    def corr(X, Y):  # c[k] = sum_t x[t+k] y[t], k = -(L-1)..L-1
        c = np.fft.irfft(X * np.conj(Y), N)
        return np.concatenate([c[-(L - 1):], c[:L]])
    idx = np.arange(L)
    G = np.zeros((n * L, n * L))
    for i in range(n):
        for j in range(n):
            G[i * L:(i + 1) * L, j * L:(j + 1) * L] = corr(FS[i], FS[j])[idx[None, :] - idx[:, None] + L - 1]
    D = np.zeros((n * L, m))
    for i in range(n):
        for k in range(m):
            D[i * L:(i + 1) * L, k] = corr(FE[k], FS[i])[L - 1:]
    def Q(sl):
        W = scipy.linalg.solve_triangular(np.linalg.cholesky(G[sl, sl]), D[sl], lower=True)
        return W.T @ W
    return [Q(slice(j * L, (j + 1) * L)) for j in range(n)], E @ E.T


mixpath = write("mix.wav", mix)
run(["separate", mixpath, "-k", "5", "-o", tmp("sep"), "--no-plot", "-q", "--max-iter", "100"], np_=1)
comps = sorted(os.path.join(tmp("sep"), f) for f in os.listdir(tmp("sep")) if f.startswith("component-"))
check(len(comps) == 5, f"separate wrote 5 components ({len(comps)})")
d3 = score(refs, comps, tmp("group.json"))
check(d3["assignment"]["method"] == "exhaustive", "5 estimates for 3 references: exhaustive search")
EC = np.array([load(p)[0] for p in comps])
Qs, EE = numpy_energies(Sf, EC)
best_mean, best_g = -np.inf, None
for g in itertools.product(range(3), repeat=5):
    if len(set(g)) < 3:
        continue
    v = 0
    for j in range(3):
        mm = [k for k in range(5) if g[k] == j]
        s1, ee = Qs[j][np.ix_(mm, mm)].sum(), EE[np.ix_(mm, mm)].sum()
        v += 10 * np.log10(s1 / (ee - s1)) / 3
    if v > best_mean:
        best_mean, best_g = v, g
got_g = tuple(next(j for j, k in enumerate(keys) if stem(c) in d3["assignment"]["estimates"][k]) for c in comps)
check(got_g == best_g, f"grouping {got_g} is the best of all 150 (numpy: {best_g}, mean SDR {best_mean:.3f} dB)")
check(abs(d3["mean_sdr"] - best_mean) < TOL, f"grouping mean_sdr {d3['mean_sdr']:.4f} = {best_mean:.4f}")
# mir_eval on the summed estimates of that grouping
summed = np.array([EC[[k for k in range(5) if got_g[k] == j]].sum(axis=0) for j in range(3)])
me = mir_eval.separation.bss_eval_sources(Sf, summed, compute_permutation=False)
for w, i in (("sdr", 0), ("sir", 1), ("sar", 2)):
    diff = max(abs(d3[w][k] - me[i][j]) for j, k in enumerate(keys))
    check(diff < TOL, f"grouped {w} equals mir_eval on the summed estimates (max |diff| {diff:.2e} dB)")
si = [si_sdr(summed[j], Sf[j]) for j in range(3)]
check(max(abs(d3["si_sdr"][k] - si[j]) for j, k in enumerate(keys)) < 1e-6, "grouped si_sdr")
d4 = score(refs, comps, tmp("greedy.json"), "--search", "greedy")
check(d4["assignment"]["method"] == "greedy_local_search", "--search greedy says so")
check(d4["mean_sdr"] <= d3["mean_sdr"] + 1e-9 and d4["mean_sdr"] > d3["mean_sdr"] - 0.5,
      f"greedy mean SDR {d4['mean_sdr']:.3f} close to the optimum {d3['mean_sdr']:.3f}")
print(f"  ranks {NP}")
finish()
