#!/usr/bin/python3
"""Benchmark of the whole `specnmf stft` job (file -> HDF5) at 1 and 2 ranks,
beside scipy.signal.stft on the same samples in the same run.

usage: jobs/bench_stft_job.py BUILD_DIR [SECONDS=600] [RUNS=5]

Prints medians over RUNS of: the STFT phase (max over ranks), the whole job
(wall clock of mpirun, and the 'total' phase), peak RSS per rank against the
issue's budget (1.2 x the rank's float32 magnitude block + its audio span +
64 MiB), and the 2-rank speedup of the STFT phase."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.signal
import soundfile as sf

build = sys.argv[1] if len(sys.argv) > 1 else "build"
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 600.0
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
sr, n_fft, hop = 22050, 2048, 512
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OPENBLAS_NUM_THREADS="1")
tmp = tempfile.mkdtemp(prefix="sn-bench-stft-")
n = int(seconds * sr)
rng = np.random.default_rng(0)
t = np.arange(n) / sr
x = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)
wav = os.path.join(tmp, "x.wav")
sf.write(wav, x, sr, subtype="FLOAT")
F, N = n_fft // 2 + 1, 1 + n // hop
wisdom = os.path.join(tmp, "wisdom")


def job(np_):
    out, rep = os.path.join(tmp, f"o{np_}.h5"), os.path.join(tmp, f"r{np_}.json")
    t0 = time.perf_counter()
    subprocess.run(["mpirun", "--oversubscribe", "--bind-to", "none", "-n", str(np_), "-x", "OPENBLAS_NUM_THREADS",
                    os.path.join(build, "specnmf"), "stft", wav, "-o", out, "--force", "--quiet", "--wisdom", wisdom,
                    "--report", rep], check=True, env=env)
    wall = time.perf_counter() - t0
    r = json.load(open(rep))
    return dict(stft=r["phases"]["stft"]["max"], read=r["phases"]["read"]["max"], plan=r["phases"]["plan"]["max"],
                write=r["phases"]["write"]["max"], total=r["phases"]["total"]["max"], wall=wall,
                rss=r["peak_rss_mib"]["max"])


res = {1: [], 2: []}
scipy_t = []
job(1)  # make the wisdom once, as a cluster user would with --wisdom
for _ in range(runs):
    for np_ in (1, 2):
        res[np_].append(job(np_))
    t0 = time.perf_counter()
    scipy.signal.stft(x, nperseg=n_fft, noverlap=n_fft - hop, window="hann", boundary="even", padded=False)
    scipy_t.append(time.perf_counter() - t0)

med = {np_: {k: statistics.median(d[k] for d in res[np_]) for k in res[np_][0]} for np_ in res}
sc = statistics.median(scipy_t)
print(f"STFT of {seconds:.0f} s at {sr} Hz: {F} bins x {N} frames, n_fft {n_fft}, hop {hop}; medians of {runs} runs")
for np_ in (1, 2):
    m = med[np_]
    n_local = -(-N // np_)
    budget = 1.2 * F * n_local * 4 / 2**20 + ((n_local - 1) * hop + n_fft) * 4 / 2**20 + 64
    print(f"  {np_} rank(s): stft phase {m['stft']:.4f} s, read {m['read']:.4f}, plan {m['plan']:.4f}, "
          f"write {m['write']:.4f}, total {m['total']:.3f} s, mpirun wall {m['wall']:.3f} s, "
          f"peak RSS/rank {m['rss']:.0f} MiB (budget {budget:.0f} MiB)")
print(f"  scipy.signal.stft float32: {sc:.3f} s -> specnmf stft phase at 1 rank is {sc / med[1]['stft']:.1f}x faster")
print(f"  2-rank speedup of the stft phase: {med[1]['stft'] / med[2]['stft']:.2f}x; "
      f"of the whole job (total): {med[1]['total'] / med[2]['total']:.2f}x")
