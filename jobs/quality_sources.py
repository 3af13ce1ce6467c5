#!/usr/bin/python3
"""Separation quality by named source: SDR (mir_eval.separation.bss_eval_sources)
of specnmf on test mixtures with known stems, for three ways of working:

  a     unsupervised: `specnmf separate MIX -k S` (S = number of sources), scored
        with the permutation mir_eval picks (a_kl: the same with --beta kl);
  b     the supervised pipeline a user glues by hand today: per training stem
        `specnmf stft` + `specnmf nmf -k 16 --beta kl`, the W's joined with h5py
        into one (F, 16 S) /nmf/W (attributes copied from the first model), then
        `specnmf separate MIX -k 16S --fix-W GLUED.h5 --beta kl --group 0+..+15,...`,
        scored source by source (no permutation);
  c     the named-source workflow: `specnmf learn TRAIN.wav --name NAME -k K -o D.h5`
        per source, then `specnmf separate MIX --source NAME=D.h5 ... -o OUT`
        (OUT/NAME.wav), scored source by source; a sweep over --grid. If the grid
        has several points, the point is chosen on validation mixtures (other
        seeds, --val-seeds) and only that point is run on the test mixtures, so
        the test numbers are not tuned to the test mixtures. Fails cleanly (n/a)
        when specnmf has no `learn` command.
  irm   the ceiling of every magnitude-mask method: the ideal ratio mask
        |S_i| / sum_j |S_j| from the true stems' STFTs (Hann, n_fft 2048, hop
        512, specnmf's defaults) applied to the mixture's STFT; needs no specnmf.
  d     semi-supervised: `--source` dictionaries for every source but the last
        (piano, bass of piano_bass_drums; kick of kick_snare) and `--free 8` (grid
        key free), the last source scored in OUT/rest.wav; at the grid's first point.

Material: by default made with examples/make_material.py into WORK/material
(training seed --train-seed, test seeds --test-seeds); --material DIR uses any
folder of the same layout instead (DIR/train/NAME.wav, DIR/test/*/mix.wav beside
one WAV per stem), e.g. material the developers never saw; --val-material VDIR
then gives the validation mixtures (VDIR/test/*) for the sweep.

  /usr/bin/python3 jobs/quality_sources.py --specnmf BUILD [--np N] [--methods a,a_kl,b,c]
      [--kinds piano_bass_drums,kick_snare] [--material DIR] [--work DIR]
      [--grid "k=8,16,32;beta=kl,fro,1.5;iter=200;alpha_h=0;l1=0;mask_power=1"] [--out TABLE.md]

Grid keys (value lists joined by commas, keys by semicolons): k (learn -k),
beta (learn and separate --beta), iter (both --max-iter), learn_iter, alpha_h /
l1 (separate --alpha-H / --l1-ratio), learn_alpha_h / learn_l1 (learn's),
mask_power (separate --mask-power; passed whenever in the grid, since its
default with --source is 2), free (separate --free; rest.wav is not scored),
adapt (separate --adapt: joint W, H iterations after the activations). Other
options at their defaults (0) are not passed. alpha is scaled as
sklearn's (by the number of frequency bins for H), so useful values are small:
on this material alpha_h=0.001,l1=1 changed little, alpha_h=0.1,l1=1 silenced
the sources (SDR -28 dB). One point is picked for all kinds of mixture (mean
over the validation mixtures); use --kinds to pick one per kind.
Prints a markdown table of mean SDR (dB) over the sources, per method and
mixture, with the mean over mixtures; then per-source SDRs.
"""
import argparse
import glob
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
DEFAULT_GRID = "k=8,16,32;beta=kl,fro,1.5;iter=200;alpha_h=0;l1=0;mask_power=1"
GRID_KEYS = ("k", "beta", "iter", "learn_iter", "alpha_h", "l1", "learn_alpha_h", "learn_l1", "mask_power", "free",
             "adapt")
KIND_OF = {("bass", "drums", "piano"): "piano_bass_drums", ("kick", "snare"): "kick_snare"}
ORDER = {"piano_bass_drums": ["piano", "bass", "drums"], "kick_snare": ["kick", "snare"]}


class Failed(Exception):
    pass


class Runner:
    def __init__(self, exe, np_):
        self.exe, self.np = exe, np_
        self.log = []

    def __call__(self, *args, check=True):
        cmd = [self.exe] + [str(a) for a in args]
        if self.np > 1:
            cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-n", str(self.np)] + cmd
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
        self.log.append((" ".join(cmd), p.returncode, time.perf_counter() - t0))
        if check and p.returncode != 0:
            msg = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]
            raise Failed("%s: %s" % (" ".join(cmd[cmd.index(self.exe):][:2]), msg))
        return p


# ---------------------------------------------------------------- material --

def make_material(d, seeds, train_seed, sr, train_seconds, test_seconds, kinds, with_train=True):
    """Write training stems and the test mixtures of seeds with make_material."""
    sys.path.insert(0, os.path.join(SRC, "examples"))
    import make_material as mm
    os.makedirs(os.path.join(d, "train"), exist_ok=True)
    for inst in ("piano", "bass", "drums", "kick", "snare") if with_train else ():
        p = os.path.join(d, "train", inst + ".wav")
        if not os.path.exists(p):
            sf.write(p, mm.train_stem(inst, train_seconds, sr, train_seed), sr, subtype="FLOAT")
    for kind in kinds:
        for s in seeds:
            t = os.path.join(d, "test", "%s-%d" % (kind, s))
            if os.path.exists(os.path.join(t, "mix.wav")):
                continue
            os.makedirs(t, exist_ok=True)
            mix, stems = mm.test_mixture(kind, test_seconds, sr, s)
            for k, v in stems.items():
                sf.write(os.path.join(t, k + ".wav"), v, sr, subtype="FLOAT")
            sf.write(os.path.join(t, "mix.wav"), mix, sr, subtype="FLOAT")


def find_mixtures(d, kinds):
    """[(name, kind, mix path, {stem: path})] of DIR/test/*/mix.wav."""
    out = []
    for mix in sorted(glob.glob(os.path.join(d, "test", "*", "mix.wav"))):
        t = os.path.dirname(mix)
        stems = {os.path.basename(p)[:-4]: p for p in glob.glob(os.path.join(t, "*.wav")) if not p.endswith("mix.wav")}
        kind = KIND_OF.get(tuple(sorted(stems)))
        if kind in kinds:
            out.append((os.path.basename(t), kind, mix, stems))
    return out


# ----------------------------------------------------------------- scoring --

def _read(p, n):
    x, _ = sf.read(p, dtype="float64", always_2d=True)
    x = x.mean(axis=1)
    y = np.zeros(n)
    y[:min(n, len(x))] = x[:n]
    return y


def score(stems, order, est_paths, permute):
    """Per-source SDR (in order), mean SDR; est_paths in the order of order."""
    from mir_eval.separation import bss_eval_sources
    ref = np.stack([_read(stems[k], sf.info(stems[k]).frames) for k in order])
    est = np.stack([_read(p, ref.shape[1]) for p in est_paths])
    est = est + 1e-9 * np.random.default_rng(0).standard_normal(est.shape)   # mir_eval refuses silent estimates
    sdr, _, _, perm = bss_eval_sources(ref, est, compute_permutation=permute)
    return {k: float(v) for k, v in zip(order, sdr)}


# ----------------------------------------------------------------- methods --

def method_a(run, mix, order, work, beta=None):
    out = os.path.join(work, "out")
    args = ["separate", mix, "-k", len(order), "-o", out, "--force", "-q", "--no-plot"]
    if beta:
        args += ["--beta", beta]
    run(*args)
    return [os.path.join(out, "component-%02d.wav" % i) for i in range(len(order))], True


def method_irm(mix, order, stems, work, n_fft=2048, hop=512):
    """Ideal ratio masks from the true stems, applied to the mixture's STFT."""
    from scipy.signal import stft, istft
    kw = dict(nperseg=n_fft, noverlap=n_fft - hop, window="hann")
    x, sr = sf.read(mix, dtype="float64")
    mags = [np.abs(stft(sf.read(stems[n], dtype="float64")[0], **kw)[2]) for n in order]
    X = stft(x, **kw)[2]
    total = np.sum(mags, axis=0) + 1e-12
    out = []
    for n, A in zip(order, mags):
        y = istft(A / total * X, **kw)[1][:len(x)]
        path = os.path.join(work, "irm-%s.wav" % n)
        sf.write(path, y.astype(np.float32), sr, subtype="FLOAT")
        out.append(path)
    return out, False


def glued_dictionary(run, train, order, work, k=16, beta="kl"):
    """GLUED.h5 with /nmf/W = [W_1 ... W_S] of per-stem models (k each)."""
    import h5py
    glued = os.path.join(work, "glued-%s-k%d-%s.h5" % ("+".join(order), k, beta))
    if os.path.exists(glued):
        return glued
    Ws, attrs = [], None
    for name in order:
        spec, model = os.path.join(work, name + ".stft.h5"), os.path.join(work, "%s.nmf-k%d-%s.h5" % (name, k, beta))
        if not os.path.exists(model):
            run("stft", train[name], "-o", spec, "--force", "-q")
            run("nmf", spec, "-k", k, "--beta", beta, "-o", model, "--force", "-q")
        with h5py.File(model, "r") as f:
            Ws.append(f["/nmf/W"][...])
            if attrs is None:
                attrs = dict(f["/nmf/W"].attrs)
    with h5py.File(glued + ".tmp", "w") as f:
        d = f.create_dataset("/nmf/W", data=np.concatenate(Ws, axis=1).astype(np.float32))
        for a, v in attrs.items():
            d.attrs[a] = v
    os.replace(glued + ".tmp", glued)
    return glued


def method_b(run, mix, order, train, work, dicts, k=16, beta="kl"):
    glued = glued_dictionary(run, train, order, dicts, k, beta)
    S = len(order)
    groups = ",".join("+".join(str(s * k + j) for j in range(k)) for s in range(S))
    out = os.path.join(work, "out")
    run("separate", mix, "-k", S * k, "--fix-W", glued, "--beta", beta, "--group", groups, "-o", out, "--force",
        "-q", "--no-plot")
    return [os.path.join(out, "source-%02d.wav" % i) for i in range(S)], False


def parse_grid(s):
    g = {}
    for part in filter(None, (p.strip() for p in s.split(";"))):
        key, _, vals = part.partition("=")
        key = key.strip()
        if key not in GRID_KEYS or not vals:
            raise SystemExit("quality_sources: --grid: '%s' is not KEY=V1,V2 with KEY one of %s"
                             % (part, ", ".join(GRID_KEYS)))
        g[key] = [v.strip() for v in vals.split(",") if v.strip()]
    g.setdefault("k", ["16"])
    g.setdefault("beta", ["kl"])
    g.setdefault("iter", ["200"])
    keys = sorted(g)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(g[k] for k in keys))]


def _label(pt):
    return " ".join("%s=%s" % kv for kv in sorted(pt.items()))


def learn_dict(run, train, name, pt, dicts):
    li = pt.get("learn_iter", pt["iter"])
    tag = "k%s-%s-i%s-a%s-l%s" % (pt["k"], pt["beta"], li, pt.get("learn_alpha_h", "0"), pt.get("learn_l1", "0"))
    out = os.path.join(dicts, "%s.%s.dict.h5" % (name, tag))
    if not os.path.exists(out):
        args = ["learn", train[name], "--name", name, "-k", pt["k"], "--beta", pt["beta"], "--max-iter", li,
                "-o", out + ".tmp.h5", "--force", "-q"]
        if float(pt.get("learn_alpha_h", 0)):
            args += ["--alpha-H", pt["learn_alpha_h"]]
        if float(pt.get("learn_l1", 0)):
            args += ["--l1-ratio", pt["learn_l1"]]
        run(*args)
        os.replace(out + ".tmp.h5", out)
    return out


def method_c(run, mix, order, train, work, dicts, pt):
    args = ["separate", mix]
    for name in order:
        args += ["--source", "%s=%s" % (name, learn_dict(run, train, name, pt, dicts))]
    args += ["--beta", pt["beta"], "--max-iter", pt["iter"]]
    for key, flag, default in (("alpha_h", "--alpha-H", 0.0), ("l1", "--l1-ratio", 0.0),
                               ("mask_power", "--mask-power", None), ("free", "--free", 0.0),
                               ("adapt", "--adapt", 0.0)):
        if key in pt and (default is None or float(pt[key]) != default):
            args += [flag, pt[key]]
    out = os.path.join(work, "out")
    run(*(args + ["-o", out, "--force", "-q", "--no-plot"]))
    return [os.path.join(out, name + ".wav") for name in order], False


def method_d(run, mix, order, train, work, dicts, pt):
    """Semi-supervised: dictionaries for every source but the last of order,
    --free F learned columns (F = pt['free'], default 8) for the rest; the
    last source is scored in rest.wav."""
    pt = dict(pt, free=pt.get("free", "8"))
    args = ["separate", mix]
    for name in order[:-1]:
        args += ["--source", "%s=%s" % (name, learn_dict(run, train, name, pt, dicts))]
    args += ["--beta", pt["beta"], "--max-iter", pt["iter"], "--free", pt["free"]]
    if "mask_power" in pt:
        args += ["--mask-power", pt["mask_power"]]
    out = os.path.join(work, "out")
    run(*(args + ["-o", out, "--force", "-q", "--no-plot"]))
    return [os.path.join(out, name + ".wav") for name in order[:-1]] + [os.path.join(out, "rest.wav")], False


def has_learn(run):
    p = run("learn", "--help", check=False)
    return p.returncode == 0


# -------------------------------------------------------------------- main --

def evaluate(run, method, mixtures, train, work, dicts, pt=None):
    """{mixture name: {source: SDR} or error string}."""
    res = {}
    for name, kind, mix, stems in mixtures:
        order = ORDER[kind]
        w = os.path.join(work, method, name)
        os.makedirs(w, exist_ok=True)
        try:
            if method == "a":
                est, perm = method_a(run, mix, order, w)
            elif method == "a_kl":
                est, perm = method_a(run, mix, order, w, "kl")
            elif method == "b":
                est, perm = method_b(run, mix, order, train, w, dicts)
            elif method == "irm":
                est, perm = method_irm(mix, order, stems, w)
            elif method == "d":
                est, perm = method_d(run, mix, order, train, w, dicts, pt)
            else:
                est, perm = method_c(run, mix, order, train, w, dicts, pt)
            res[name] = score(stems, order, est, perm)
        except Failed as ex:
            res[name] = str(ex)
    return res


def _mean(r):
    return float(np.mean(list(r.values()))) if isinstance(r, dict) else None


def table(rows, names):
    """rows: [(method label, {mixture: {source: sdr} | error})]; a mean per
    kind of mixture (the name's part before the last '-') and over all."""
    kinds = sorted({n.rsplit("-", 1)[0] for n in names})
    groups = [("mean " + k, [n for n in names if n.rsplit("-", 1)[0] == k]) for k in kinds] if len(kinds) > 1 else []
    groups.append(("mean", names))
    L = ["| method | " + " | ".join(names + [g for g, _ in groups]) + " |",
         "| --- |" + " ---: |" * (len(names) + len(groups))]
    for label, res in rows:
        m = {n: _mean(res.get(n, "n/a")) for n in names}
        cells = ["%.2f" % m[n] if m[n] is not None else "n/a" for n in names]
        for _, g in groups:
            ok = all(m[n] is not None for n in g)
            cells.append("%.2f" % np.mean([m[n] for n in g]) if ok else "n/a")
        L.append("| %s | %s |" % (label, " | ".join(cells)))
    return "\n".join(L)


def source_table(rows, mixtures):
    L = ["| method | mixture | " + "per-source SDR (dB) |", "| --- | --- | --- |"]
    for label, res in rows:
        for name, kind, _, _ in mixtures:
            r = res.get(name)
            txt = ", ".join("%s %.2f" % kv for kv in r.items()) if isinstance(r, dict) else (r or "n/a")
            L.append("| %s | %s | %s |" % (label, name, txt))
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--specnmf", required=True, help="build folder (or the specnmf executable)")
    ap.add_argument("--np", type=int, default=1, help="MPI ranks (1: no mpirun)")
    ap.add_argument("--methods", default="a,a_kl,b,c")
    ap.add_argument("--kinds", default="piano_bass_drums,kick_snare")
    ap.add_argument("--material", help="folder with train/ and test/ (default: made with make_material)")
    ap.add_argument("--work", help="working folder (default: a new one under /tmp)")
    ap.add_argument("--sr", type=int, default=22050)
    ap.add_argument("--train-seconds", type=float, default=120.0)
    ap.add_argument("--test-seconds", type=float, default=30.0)
    ap.add_argument("--train-seed", type=int, default=0)
    ap.add_argument("--test-seeds", default="1001,1002,1003")
    ap.add_argument("--val-seeds", default="2001,2002", help="mixtures on which a sweep of c picks its point")
    ap.add_argument("--val-material", help="folder whose test/ mixtures are the validation set (not --val-seeds)")
    ap.add_argument("--grid", default=DEFAULT_GRID)
    ap.add_argument("--out", help="also write the tables to this markdown file")
    a = ap.parse_args()
    exe = os.path.join(a.specnmf, "specnmf") if os.path.isdir(a.specnmf) else a.specnmf
    if not os.access(exe, os.X_OK):
        raise SystemExit("quality_sources: no specnmf executable at %s" % exe)
    kinds = [k for k in a.kinds.split(",") if k]
    methods = [m for m in a.methods.split(",") if m]
    grid = parse_grid(a.grid) if ("c" in methods or "d" in methods) else []
    work = a.work or tempfile.mkdtemp(prefix="quality_sources_")
    os.makedirs(work, exist_ok=True)
    test_seeds = [int(s) for s in a.test_seeds.split(",")]
    val_seeds = [int(s) for s in a.val_seeds.split(",") if s]
    if set(val_seeds) & set(test_seeds) or a.train_seed in test_seeds + val_seeds:
        raise SystemExit("quality_sources: training, validation and test seeds must be disjoint")
    mat = a.material or os.path.join(work, "material")
    if not a.material:
        make_material(mat, test_seeds, a.train_seed, a.sr, a.train_seconds, a.test_seconds, kinds)
    train = {os.path.basename(p)[:-4]: p for p in glob.glob(os.path.join(mat, "train", "*.wav"))}
    mixtures = find_mixtures(mat, kinds)
    if not mixtures:
        raise SystemExit("quality_sources: no test mixtures of kinds %s under %s/test" % (kinds, mat))
    dicts = os.path.join(work, "dicts")
    os.makedirs(dicts, exist_ok=True)
    run = Runner(exe, a.np)
    t0 = time.time()
    rows, notes = [], []
    for m in methods:
        if m in ("a", "a_kl", "b", "irm"):
            rows.append(({"a": "a: separate -k S (best permutation)", "a_kl": "a_kl: separate -k S --beta kl",
                          "b": "b: glued W (nmf -k 16 kl per stem), --fix-W",
                          "irm": "irm: ideal ratio mask from the true stems (ceiling of masking)"}[m],
                         evaluate(run, m, mixtures, train, work, dicts)))
        elif m == "c":
            if not has_learn(run):
                notes.append("c: n/a: `%s learn --help` fails (no learn command in this build)" % exe)
                rows.append(("c: learn + separate --source", {}))
                continue
            chosen = grid[0]
            if len(grid) > 1 and (val_seeds or a.val_material):
                vmat = a.val_material or os.path.join(work, "val-material")
                if not a.val_material:
                    make_material(vmat, val_seeds, a.train_seed, a.sr, a.train_seconds, a.test_seconds, kinds, False)
                vmix = [(n + "(val)", k, mx, st) for n, k, mx, st in find_mixtures(vmat, kinds)]
                sweep = []
                for pt in grid:
                    r = evaluate(run, "c", vmix, train, os.path.join(work, "sweep", _label(pt).replace(" ", "_")),
                                 dicts, pt)
                    ms = [_mean(v) for v in r.values()]
                    sweep.append((float(np.mean(ms)) if all(x is not None for x in ms) else -np.inf, pt, r))
                    print("sweep %s: %s" % (_label(pt), "%.2f dB" % sweep[-1][0] if np.isfinite(sweep[-1][0])
                                            else [v for v in r.values() if not isinstance(v, dict)][:1]),
                          file=sys.stderr, flush=True)
                sweep.sort(key=lambda s: -s[0])
                chosen = sweep[0][1]
                vnames = [n for n, _, _, _ in vmix]
                notes.append("c sweep on validation mixtures (%s), mean SDR over sources:\n\n" % (a.val_material or
                                                                                     "seeds %s" % val_seeds)
                             + table([(_label(pt), r) for _, pt, r in sweep], vnames))
            rows.append(("c: learn + separate --source (%s)" % _label(chosen),
                         evaluate(run, "c", mixtures, train, work, dicts, chosen)))
        elif m == "d":
            pt = grid[0] if grid else parse_grid("")[0]
            rows.append(("d: --source for all but the last source, --free %s, the last scored in rest.wav (%s)"
                         % (pt.get("free", "8"), _label(pt)), evaluate(run, "d", mixtures, train, work, dicts, pt)))
        else:
            raise SystemExit("quality_sources: unknown method %s (a, a_kl, b, c, d, irm)" % m)
    names = [n for n, _, _, _ in mixtures]
    head = ("SDR (dB, mir_eval bss_eval_sources, mean over the sources of each mixture); specnmf %s, %d rank(s); "
            "material %s; %.0f s" % (exe, a.np, mat, time.time() - t0))
    text = "\n\n".join([head, table(rows, names), source_table(rows, mixtures)] + notes)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    with open(os.path.join(work, "runs.json"), "w") as f:
        json.dump({"rows": rows, "commands": run.log}, f, indent=1)


if __name__ == "__main__":
    main()
