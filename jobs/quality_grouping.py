#!/usr/bin/python3
"""Separation quality of automatic grouping, `specnmf separate MIX -k R
--sources S --beta kl` (no dictionaries, no listening), beside two baselines
measured in the same run, on examples/make_material.py's mixtures (30 s,
22.05 kHz): kick_snare (R = 6, S = 2) and piano_bass_drums (R = 12, S = 3).

  grouping=M   separate -k R --sources S --grouping M (M: auto, ncut, peaks, tiered, both, coact, timbre),
               scored with the permutation mir_eval picks;
  oracle       the best grouping with the true stems: separate -k R (the same
               NMF: it is deterministic) writes one WAV per component; every
               assignment of the R components to the S named sources (2^6 and
               3^12 = 531441) is scored by its exact bss_eval SDR (closed form
               below), the best is scored again by mir_eval;
  direct R=S   separate -k S, scored with mir_eval's permutation.

Exact SDR of any grouping (mir_eval's bss_eval_sources SDR, 512-tap filter):
a source is the sum of its components' WAVs (the soft mask's share of a group
is the sum of its components' shares at any power; the components are made at
the --sources runs' mask power, 2 unless --extra sets one), and
SDR_j = q / (|e|^2 - q), q = c' T^-1 c, where T is the 512 x 512 Toeplitz
autocorrelation of true source j, c the cross-correlation of source j with
the estimate e (the sum of the components' cross-correlations) and |e|^2 the
sum of the components' Gram entries: per assignment only R x R quadratic
forms. It agrees with mir_eval to 1e-8 dB; the oracle's best is rescored by
mir_eval all the same.

Validation (--val-seeds, default 2001-2005) chooses the method: the table of
every grouping method on the validation mixtures (exact SDR, best
permutation) is printed first; the test mixtures (--test-seeds, default
1001-1005, disjoint) are then scored by mir_eval.

  /usr/bin/python3 jobs/quality_grouping.py --specnmf BUILD [--np N] [--work DIR]
      [--methods auto,ncut,peaks,tiered,both,coact,timbre] [--test-seeds ...] [--val-seeds ...] [--out TABLE.md]
"""
import argparse
import itertools
import json
import os
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import quality_sources as qs  # noqa: E402  (material, runner, mir_eval scoring, tables)

RS = {"kick_snare": (6, 2), "piano_bass_drums": (12, 3)}
FLEN = 512


def read_mono(p, n):
    return qs._read(p, n)


class Exact:
    """Exact bss_eval SDR of every grouping of R component signals."""

    def __init__(self, comps, refs):
        from scipy.linalg import cho_factor, cho_solve, toeplitz
        self.S, self.R = len(refs), len(comps)
        n = refs.shape[1]
        nf = 1 << int(np.ceil(np.log2(n + FLEN)))
        Rf, Cf = np.fft.rfft(refs, nf), np.fft.rfft(comps, nf)
        self.G = comps @ comps.T
        self.Q = []
        for j in range(self.S):
            ac = np.fft.irfft(np.abs(Rf[j]) ** 2, nf)[:FLEN]
            xc = np.fft.irfft(np.conj(Rf[j])[None, :] * Cf, nf)[:, :FLEN]
            self.Q.append(xc @ cho_solve(cho_factor(toeplitz(ac)), xc.T))

    def named(self, A):
        """A: (n, R) with A[i, r] = the source of component r: mean SDR per row."""
        tot = 0.0
        for j in range(self.S):
            I = (A == j).astype(float)
            q = np.einsum("ij,jk,ik->i", I, self.Q[j], I)
            e = np.einsum("ij,jk,ik->i", I, self.G, I)
            tot = tot + 10 * np.log10(np.maximum(q, 1e-30) / np.maximum(e - q, 1e-30))
        return tot / self.S

    def unnamed(self, lab):
        lab = np.asarray(lab)
        return max(float(self.named(np.array([p])[:, lab])[0]) for p in itertools.permutations(range(self.S)))

    def best(self):
        A = np.array(list(itertools.product(range(self.S), repeat=self.R)), dtype=np.int8)
        A = A[np.all([(A == j).any(axis=1) for j in range(self.S)], axis=0)]
        v = np.concatenate([self.named(A[i:i + 65536]) for i in range(0, len(A), 65536)])
        i = int(np.argmax(v))
        return A[i], float(v[i]), len(A)


EXTRA = []  # --extra: more separate options for every run (the components, the groupings, the direct run)
SOURCES_MASK_POWER = 2  # separate's soft-mask power with --sources unless --mask-power is given


def comp_extra():
    """Options of the components' run: the mask power the --sources runs use,
    so that the oracle and every grouping (sums of these components' WAVs)
    are scored at it."""
    return [] if "--mask-power" in EXTRA else ["--mask-power", SOURCES_MASK_POWER]


def sep(run, mix, out, R, extra):
    if not os.path.exists(os.path.join(out, "result.h5")):
        run("separate", mix, "-k", R, "--beta", "kl", "-o", out, "--force", "-q", "--no-plot", *extra, *EXTRA)
    return out


def source_of(out):
    import h5py
    with h5py.File(os.path.join(out, "result.h5")) as h:
        return [int(v) for v in h["/separate/source_of_component"][()]]


def mixture_run(run, name, kind, mix, stems, work, methods, final):
    """{label: result} for one mixture; final: mir_eval scores, else exact SDR."""
    R, S = RS[kind]
    order = qs.ORDER[kind]
    w = os.path.join(work, name)
    n = sf.info(stems[order[0]]).frames
    refs = np.stack([read_mono(stems[k], n) for k in order])
    comp_dir = sep(run, mix, os.path.join(w, "components"), R, comp_extra())
    comps = np.stack([read_mono(os.path.join(comp_dir, "component-%02d.wav" % r), n) for r in range(R)])
    ex = Exact(comps, refs)
    res = {}
    for m in methods:
        out = sep(run, mix, os.path.join(w, "grouping-" + m), R, ["--sources", S, "--grouping", m])
        lab = source_of(out)
        if final:
            r = qs.score(stems, order, [os.path.join(out, "source-%02d.wav" % s) for s in range(S)], True)
        else:
            r = {"mean": ex.unnamed(lab)}
        r["_grouping"] = lab
        res["grouping=" + m] = r
    A, v, count = ex.best()
    r = {"mean": v}
    if final:
        # the oracle's sources: sums of its components' WAVs (the soft mask is linear in its components'
        # shares at any power: a source's share is the sum of its components' (W_c H_c)^p over the total)
        paths = []
        for s in range(S):
            p = os.path.join(w, "oracle-%02d.wav" % s)
            sf.write(p, comps[A == s].sum(axis=0).astype(np.float32), 22050, subtype="FLOAT")
            paths.append(p)
        r = qs.score(stems, order, paths, False)
        r["_exact"] = v
    r["_grouping"] = [int(a) for a in A]
    r["_assignments"] = count
    res["oracle"] = r
    if final:
        out = sep(run, mix, os.path.join(w, "direct"), S, [])
        res["direct R=S"] = qs.score(stems, order, [os.path.join(out, "component-%02d.wav" % s) for s in range(S)], True)
    return res


def _mean(r):
    if not isinstance(r, dict):
        return None
    v = [x for k, x in r.items() if not k.startswith("_")]
    return float(np.mean(v))


def table(rows, names):
    kinds = sorted({n.rsplit("-", 1)[0] for n in names})
    groups = [("mean " + k, [n for n in names if n.rsplit("-", 1)[0] == k]) for k in kinds]
    L = ["| method | " + " | ".join(names + [g for g, _ in groups]) + " |",
         "| --- |" + " ---: |" * (len(names) + len(groups))]
    for label, res in rows:
        m = {n: _mean(res.get(n)) for n in names}
        cells = ["%.2f" % m[n] if m[n] is not None else "n/a" for n in names]
        for _, g in groups:
            cells.append("%.2f" % np.mean([m[n] for n in g]) if all(m[n] is not None for n in g) else "n/a")
        L.append("| %s | %s |" % (label, " | ".join(cells)))
    return "\n".join(L)


def evaluate(run, mixtures, work, methods, final):
    per = {}
    for name, kind, mix, stems in mixtures:
        t0 = time.time()
        try:
            per[name] = mixture_run(run, name, kind, mix, stems, work, methods, final)
        except qs.Failed as ex:
            per[name] = {"error": str(ex)}
        print("%s: %s (%.0f s)" % (name, ", ".join("%s %.2f" % (k, _mean(v)) for k, v in per[name].items()
                                                   if isinstance(v, dict)), time.time() - t0),
              file=sys.stderr, flush=True)
    labels = []
    for r in per.values():
        for k in r:
            if k not in labels and k != "error":
                labels.append(k)
    rows = [(lab, {n: per[n].get(lab, "n/a") for n in per}) for lab in labels]
    return per, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--specnmf", required=True, help="build folder (or the specnmf executable)")
    ap.add_argument("--np", type=int, default=1)
    ap.add_argument("--work", help="working folder (default: a new one under /tmp)")
    ap.add_argument("--methods", default="auto,ncut,peaks,tiered,both,coact,timbre")
    ap.add_argument("--kinds", default="kick_snare,piano_bass_drums")
    ap.add_argument("--test-seeds", default="1001,1002,1003,1004,1005")
    ap.add_argument("--val-seeds", default="2001,2002,2003,2004,2005")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--sr", type=int, default=22050)
    ap.add_argument("--out", help="also write the tables to this markdown file")
    ap.add_argument("--extra", default="", help="more separate options for every run, e.g. '--mask-power 2'")
    ap.add_argument("--val-only", action="store_true", help="the validation table only (no test run)")
    a = ap.parse_args()
    EXTRA[:] = a.extra.split()
    exe = os.path.join(a.specnmf, "specnmf") if os.path.isdir(a.specnmf) else a.specnmf
    if not os.access(exe, os.X_OK):
        raise SystemExit("quality_grouping: no specnmf executable at %s" % exe)
    test_seeds = [int(s) for s in a.test_seeds.split(",") if s]
    val_seeds = [int(s) for s in a.val_seeds.split(",") if s]
    if set(test_seeds) & set(val_seeds) or 0 in test_seeds + val_seeds:
        raise SystemExit("quality_grouping: validation and test seeds must be disjoint (and not the training seed 0)")
    kinds = [k for k in a.kinds.split(",") if k]
    methods = [m for m in a.methods.split(",") if m]
    work = a.work or tempfile.mkdtemp(prefix="quality_grouping_")
    run = qs.Runner(exe, a.np)
    t0 = time.time()
    out = []
    sets = {}
    for tag, seeds in (("val", val_seeds), ("test", test_seeds)):
        mat = os.path.join(work, tag + "-material")
        qs.make_material(mat, seeds, 0, a.sr, 120.0, a.seconds, kinds, with_train=False)
        sets[tag] = qs.find_mixtures(mat, kinds)
    vper, vrows = evaluate(run, sets["val"], os.path.join(work, "val"), methods, False)
    vnames = [n for n, _, _, _ in sets["val"]]
    out.append("Validation (seeds %s): mean exact bss_eval SDR (dB) over the sources, best permutation; oracle = "
               "best assignment of the components with the true stems\n\n%s" % (val_seeds, table(vrows, vnames)))
    if a.val_only:
        print(out[0])
        return
    tper, trows = evaluate(run, sets["test"], os.path.join(work, "test"), methods, True)
    tnames = [n for n, _, _, _ in sets["test"]]
    out.append("Test (seeds %s): SDR (dB, mir_eval bss_eval_sources, mean over the sources of each mixture); "
               "R = 6, S = 2 for kick_snare, R = 12, S = 3 for piano_bass_drums; --beta kl\n\n%s"
               % (test_seeds, table(trows, tnames)))
    L = ["| method | mixture | per-source SDR (dB) | grouping (source of each component) |", "| --- | --- | --- | --- |"]
    for label, res in trows:
        for n in tnames:
            r = res.get(n)
            if isinstance(r, dict):
                L.append("| %s | %s | %s | %s |" % (label, n, ", ".join("%s %.2f" % (k, v) for k, v in r.items()
                                                                         if not k.startswith("_")),
                                                    r.get("_grouping", "")))
    out.append("\n".join(L))
    head = "specnmf %s, %d rank(s), work %s, %.0f s" % (exe, a.np, work, time.time() - t0)
    text = "\n\n".join([head] + out)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"val": vper, "test": tper, "commands": run.log}, f, indent=1)


if __name__ == "__main__":
    main()
