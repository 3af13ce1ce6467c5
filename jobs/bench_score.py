#!/usr/bin/python3
"""Benchmark of `specnmf score` against mir_eval 0.7's bss_eval_sources,
measured in the same run, interleaved (medians of --repeat runs).

Three 30 s instrument stems (piano, bass, drums from examples/make_example.py)
at --sr Hz as float WAVs, and three estimates (leakage, noise, short filters,
shuffled): specnmf score at --np ranks (default 1) vs
mir_eval.separation.bss_eval_sources on the same signals already in memory
(file reading not counted for mir_eval).

Times: "command" is specnmf's total phase (from --report: reading, correlations,
projections, JSON); "wall" the whole mpirun (with MPI start-up).
Also prints the largest |difference| of SDR/SIR/SAR against mir_eval.
Usage: bench_score.py SPECNMF [--repeat 3] [--sr 44100] [--seconds 30] [--np 1] [--out DIR]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.signal
import soundfile as sf
import mir_eval

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from make_example import make_mixture  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("specnmf")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sr", type=int, default=44100)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--np", type=int, default=1)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    out = a.out or tempfile.mkdtemp(prefix="bench_score_")
    os.makedirs(out, exist_ok=True)

    _, stems = make_mixture("piano_bass_drums", a.seconds, a.sr)
    names = list(stems)
    S = np.array([stems[k].astype(np.float64) for k in names])
    n, T = S.shape
    rng = np.random.default_rng(5)
    sd = np.std(S)
    refs, ests = [], []
    for j, k in enumerate(names):
        refs.append(os.path.join(out, f"ref_{k}.wav"))
        sf.write(refs[-1], stems[k], a.sr, subtype="FLOAT")
    lv = [0.05, 0.3, 1.0]
    for j in range(n):
        e = S[j] + lv[j] * S[(j + 1) % n] + 0.05 * sd * rng.standard_normal(T)
        e = scipy.signal.lfilter([0.7, 0.2, 0.1], 1, e)
        ests.append(os.path.join(out, f"est{(j + 1) % n}.wav"))
        sf.write(ests[-1], e.astype(np.float32), a.sr, subtype="FLOAT")
    ests.sort()
    Sf = np.array([sf.read(p, dtype="float64")[0] for p in refs])
    Ef = np.array([sf.read(p, dtype="float64")[0] for p in ests])

    launcher = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader",
                "-x", "OPENBLAS_NUM_THREADS=1", "-n", str(a.np)]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    res = os.path.join(out, "score.json")
    rep = os.path.join(out, "report.json")
    t_cmd, t_wall, t_me = [], [], []
    me = None
    for r in range(a.repeat):
        t0 = time.perf_counter()
        subprocess.run(launcher + [a.specnmf, "score", "-q", "--force", "--ref", *refs, "--est", *ests, "-o", res,
                                   "--report", rep], check=True, env=env)
        t_wall.append(time.perf_counter() - t0)
        with open(rep) as f:
            t_cmd.append(json.load(f)["phases"]["total"]["max"])
        t0 = time.perf_counter()
        me = mir_eval.separation.bss_eval_sources(Sf, Ef)
        t_me.append(time.perf_counter() - t0)
        print(f"run {r + 1}: specnmf command {t_cmd[-1]:.3f} s, wall {t_wall[-1]:.3f} s; mir_eval {t_me[-1]:.2f} s",
              flush=True)
    with open(res) as f:
        d = json.load(f)
    keys = list(d["sdr"])
    diff = max(abs(d[w][k] - me[i][j]) for i, w in enumerate(("sdr", "sir", "sar")) for j, k in enumerate(keys))
    perm_ok = all(d["assignment"]["estimates"][k] == [os.path.splitext(os.path.basename(ests[me[3][j]]))[0]]
                  for j, k in enumerate(keys))
    mc, mw, mm = np.median(t_cmd), np.median(t_wall), np.median(t_me)
    print(f"\n{n} stems x {a.seconds:g} s at {a.sr} Hz, {a.np} rank(s), medians of {a.repeat}:")
    print(f"  specnmf score: command {mc:.3f} s, wall {mw:.3f} s")
    print(f"  mir_eval bss_eval_sources: {mm:.2f} s")
    print(f"  ratio (wall / mir_eval): 1/{mm / mw:.0f}   (command / mir_eval: 1/{mm / mc:.0f})")
    print(f"  max |SDR, SIR, SAR - mir_eval| = {diff:.2e} dB, same permutation: {perm_ok}")
    print(f"  mir_eval SDR {np.round(me[0], 2)}")
    return 0 if (mw <= mm / 10 and diff < 0.01 and perm_ok) else 1


if __name__ == "__main__":
    sys.exit(main())
