#!/usr/bin/python3
"""Benchmark: the whole separation of a long recording (default 10 minutes: the
bundled example repeated, mono float WAV at 22050 Hz) with R = 16 and exactly
200 NMF iterations (--tol 0), specnmf separate at the given rank counts (time,
per-phase maxima, peak RSS per rank from the run report), beside the seed
notebook's pipeline (scikit-learn NMF(n_components=16, max_iter=200, tol=0) on
|STFT| in numpy, mixture phase, istft; wall time and peak RSS of its process)
on the same file in the same run.

  /usr/bin/python3 jobs/bench_separate.py BUILD/specnmf [--seconds 600] [--ranks 2]
      [--repeat 1] [--no-sklearn] [--dir DIR]
Prints one key=value line per result."""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)


def sklearn_child(path, R, iters):
    """Run in a child process: the seed pipeline; prints seconds and peak RSS."""
    sys.path.insert(0, os.path.join(SRC, "tests", "py"))
    os.environ.setdefault("SN_SRC", SRC)
    import numpy as np
    import soundfile as sf
    from sklearn.decomposition import NMF

    from separate_common import istft
    from sn_testlib import stft
    y, sr = sf.read(path, dtype="float64")
    t0 = time.perf_counter()
    D = stft(y)
    S = np.abs(D)
    model = NMF(n_components=R, max_iter=iters, tol=0)
    W = model.fit_transform(S)
    H = model.components_
    t1 = time.perf_counter()
    ph = np.exp(1j * np.angle(D))
    for k in range(R):
        c = istft(np.outer(W[:, k], H[k]) * ph, length=len(y))
        sf.write(os.path.join(os.path.dirname(path), f"sk-{k:02d}.wav"), c.astype(np.float32), sr, subtype="FLOAT")
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"total": t2 - t0, "nmf": t1 - t0, "istft_write": t2 - t1, "rss_mib": rss,
                      "n_iter": int(model.n_iter_)}))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--sklearn-child":
        sklearn_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("specnmf")
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--ranks", default="2")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("-k", type=int, default=16)
    ap.add_argument("--iter", type=int, default=200)
    ap.add_argument("--no-sklearn", action="store_true")
    ap.add_argument("--dir")
    a = ap.parse_args()
    import numpy as np
    import soundfile as sf
    d = a.dir or tempfile.mkdtemp(prefix="bench_sep_")
    os.makedirs(d, exist_ok=True)
    x, sr = sf.read(os.path.join(SRC, "examples", "example.flac"), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    n = int(a.seconds * sr)
    y = np.tile(x, n // len(x) + 1)[:n]
    inp = os.path.join(d, "long.wav")
    sf.write(inp, y, sr, subtype="FLOAT")
    print(f"input={a.seconds:.0f}s sr={sr} k={a.k} iterations={a.iter}")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    for r in [int(v) for v in a.ranks.split(",")]:
        tot, reps = [], []
        for _ in range(a.repeat):
            out, js = os.path.join(d, f"sep{r}"), os.path.join(d, f"sep{r}.json")
            cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-n", str(r), a.specnmf,
                   "separate", inp, "-k", str(a.k), "--max-iter", str(a.iter), "--tol", "0", "-o", out, "--force",
                   "--quiet", "--report", js]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, env=env)
            tot.append(time.perf_counter() - t0)
            reps.append(json.load(open(js)))
        rep = reps[tot.index(statistics.median(tot))] if len(tot) % 2 else reps[-1]
        print(f"specnmf_np{r}_wall_s={statistics.median(tot):.2f}")
        for ph in ("read", "plan", "stft", "init", "nmf_w", "nmf_h", "allreduce", "istft", "halo", "write", "plot",
                   "total"):
            if ph in rep["phases"]:
                print(f"specnmf_np{r}_{ph}_s={rep['phases'][ph]['max']:.2f}")
        rss = rep.get("peak_rss_mib", {})
        print(f"specnmf_np{r}_peak_rss_mib_per_rank_max={rss.get('max', 0):.1f}")
        print(f"specnmf_np{r}_peak_rss_mib_per_rank_min={rss.get('min', 0):.1f}")
        print(f"specnmf_np{r}_n_iter={rep['facts'].get('n_iter')}")
    if not a.no_sklearn:
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--sklearn-child", inp, str(a.k), str(a.iter)],
                           check=True, capture_output=True, text=True, env=env)
        r = json.loads(p.stdout.strip().splitlines()[-1])
        print(f"sklearn_total_s={r['total']:.2f}")
        print(f"sklearn_nmf_s={r['nmf']:.2f}")
        print(f"sklearn_istft_write_s={r['istft_write']:.2f}")
        print(f"sklearn_peak_rss_mib={r['rss_mib']:.1f}")
        print(f"sklearn_n_iter={r['n_iter']}")


if __name__ == "__main__":
    main()
