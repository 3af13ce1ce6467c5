#!/usr/bin/python3
"""Benchmark: specnmf griffinlim (32 iterations, momentum 0.99) on a 1025 x 5000
magnitude (116 s of drums at 22050 Hz, n_fft 2048, hop 512) at 1 and 2 ranks,
interleaved repetitions, medians of the report's phases (max over ranks),
beside librosa.griffinlim re-implemented in numpy (tests/py/separate_common)
on the same input in the same run.

  /usr/bin/python3 jobs/bench_griffinlim.py BUILD/specnmf [--repeat 5] [--frames 5000]
      [--ranks 1,2] [--no-reference] [--dir DIR]
Prints one key=value line per result."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
os.environ.setdefault("SN_SRC", SRC)
sys.path.insert(0, os.path.join(SRC, "tests", "py"))

import numpy as np  # noqa: E402

from separate_common import griffinlim, spectral_convergence, test_signal, write_spec_h5  # noqa: E402
from sn_testlib import stft  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("specnmf")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--frames", type=int, default=5000)
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--dir")
    a = ap.parse_args()
    d = a.dir or tempfile.mkdtemp(prefix="bench_gl_")
    os.makedirs(d, exist_ok=True)
    sr, hop = 22050, 512
    n = hop * (a.frames - 1)
    y = test_signal(n / sr + 0.1, sr)[:n]
    S = np.abs(stft(y)).astype(np.float32)
    spec = os.path.join(d, "S.h5")
    write_spec_h5(spec, S, sr, n_samples=n)
    print(f"shape={S.shape[0]}x{S.shape[1]}")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    ranks = [int(r) for r in a.ranks.split(",")]
    res = {r: {"griffinlim": [], "plan": [], "total": [], "halo": [], "rss": []} for r in ranks}
    sc = {}
    for rep in range(a.repeat):
        for r in ranks:
            out, js = os.path.join(d, f"gl{r}.wav"), os.path.join(d, f"gl{r}.json")
            cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-n", str(r), a.specnmf,
                   "griffinlim", spec, "-o", out, "--force", "--quiet", "--report", js]
            subprocess.run(cmd, check=True, env=env)
            rep_ = json.load(open(js))
            for k in ("griffinlim", "plan", "total", "halo"):
                res[r][k].append(rep_["phases"].get(k, {"max": 0.0})["max"])
            res[r]["rss"].append(rep_.get("peak_rss_mib", {}).get("max", 0.0))
            sc[r] = rep_["facts"]["spectral_convergence"]
    for r in ranks:
        for k in ("griffinlim", "plan", "halo", "total"):
            print(f"np{r}_{k}_s={statistics.median(res[r][k]):.4f}")
        print(f"np{r}_peak_rss_mib={max(res[r]['rss']):.1f}")
        print(f"np{r}_spectral_convergence={sc[r]:.4f}")
    if 1 in ranks and 2 in ranks:
        print(f"speedup_2_vs_1={statistics.median(res[1]['griffinlim']) / statistics.median(res[2]['griffinlim']):.2f}")
    if not a.no_reference:
        t0 = time.perf_counter()
        yr = griffinlim(S.astype(np.float32), init="random", length=n)
        t = time.perf_counter() - t0
        print(f"librosa_numpy_s={t:.3f}")
        print(f"librosa_numpy_spectral_convergence={spectral_convergence(yr, S):.4f}")


if __name__ == "__main__":
    main()
