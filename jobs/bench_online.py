#!/usr/bin/python3
"""Online (mini-batch) vs batch MU NMF: learning R components (KL) of the
magnitude spectrogram of a music recording, loss against time.

  bench_online.py [--wav music.wav] [--np 2] [--k 16] [--runs 3] [--out DIR] [--json OUT.json]
                  [--online "NAME=OPTIONS" ...]

Without --wav, makes 30 minutes of music (examples/make_material.py, piano +
bass + drums at 22.05 kHz). One STFT (specnmf stft, defaults), then per run:
 - batch MU (`nmf --beta kl --solver mu --tol TOL --max-iter 2000`, sklearn's
   stopping rule): its final loss L_mu, its NMF time T_mu (the phases nmf_w,
   nmf_h, loss, allreduce of the run report, max over ranks) and whole command
   time, and from its progress lines the time it first came within 5% of L_mu;
 - each online configuration (`--solver online OPTIONS`): the loss of the
   written W, H (after the final H pass over every frame) and the same times.
Every run starts from the same nndsvda start. Goal: an online configuration
with loss <= 1.05 L_mu in NMF time <= T_mu / 4, counting for both the read
phase too (online holds no V: it writes a scratch file once and reads a slice
every step). Peak RSS per rank from the run
reports. Medians over --runs runs (the kinds alternate within a run)."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
SPECNMF = os.environ.get("SPECNMF", os.path.join(HERE, "..", "build", "specnmf"))


def launcher(np_):
    return ["mpirun", "--allow-run-as-root", "--oversubscribe", "-n", str(np_)]


def run_timed(cmd, env):
    """Run cmd; returns (wall seconds, [(t, iteration, loss)] from progress lines, stderr)."""
    t0 = time.time()
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    curve, lines = [], []
    for line in p.stderr:
        lines.append(line)
        m = re.search(r"nmf: iteration (\d+), loss ([0-9.eE+-]+)", line)
        if m:
            curve.append((time.time() - t0, int(m.group(1)), float(m.group(2))))
    rc = p.wait()
    wall = time.time() - t0
    if rc != 0:
        sys.exit("failed: " + " ".join(cmd) + "\n" + "".join(lines[-20:]))
    return wall, curve, "".join(lines)


NMF_PHASES = ("nmf_w", "nmf_h", "loss", "allreduce")


def report(path):
    """(peak RSS MiB max over ranks, NMF seconds: sum of the NMF phases' max over ranks, and the read
    phase's: the input for both; for online also its scratch file, written once and read every step)."""
    with open(path) as f:
        r = json.load(f)
    ph = r.get("phases", {})
    return (r.get("peak_rss_mib", {}).get("max"), sum(ph[k]["max"] for k in NMF_PHASES if k in ph),
            ph.get("read", {}).get("max", 0.0))


def model(path):
    with h5py.File(path, "r") as f:
        a = f["/nmf"].attrs
        return float(a["loss"]), int(a["n_iter"])


DEFAULT_ONLINE = [
    # sklearn's defaults (max_iter 200 passes, stopped by max_no_improvement 10 or tol; transform 200 iterations)
    "defaults-b1024=--batch-size 1024",
    # batches of 4096 frames with a short memory (forget factor 0.05 per pass); the final H pass from
    # sklearn's constant start (30 iterations), or from each frame's H of the last pass (the default)
    "b4096-ff0.05-15pass-t30-constant=--batch-size 4096 --forget-factor 0.05 --max-iter 15 --transform-max-iter 30 --max-no-improvement 0 --transform-start constant",
    "b4096-ff0.05-15pass-t30=--batch-size 4096 --forget-factor 0.05 --max-iter 15 --transform-max-iter 30 --max-no-improvement 0",
    "b4096-ff0.05-17pass-t5=--batch-size 4096 --forget-factor 0.05 --max-iter 17 --transform-max-iter 5 --max-no-improvement 0",
    "b4096-ff0.05-17pass-t10=--batch-size 4096 --forget-factor 0.05 --max-iter 17 --transform-max-iter 10 --max-no-improvement 0",
    "b4096-ff0.05-20pass-t10=--batch-size 4096 --forget-factor 0.05 --max-iter 20 --transform-max-iter 10 --max-no-improvement 0",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wav")
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--online", action="append", help="NAME=OPTIONS of an online configuration (repeatable)")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--out", default="/tmp/bench_online")
    ap.add_argument("--json")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    wav = a.wav
    if not wav:
        wav = os.path.join(a.out, "music30.wav")
        if not os.path.exists(wav):
            sys.path.insert(0, os.path.join(HERE, "..", "examples"))
            import soundfile as sf
            from make_material import test_mixture
            mix, _ = test_mixture("piano_bass_drums", 1800.0, 22050, seed=1001)
            sf.write(wav, mix, 22050, subtype="FLOAT")
    spec = os.path.join(a.out, "v.h5")
    subprocess.run(launcher(a.np) + [SPECNMF, "stft", wav, "-o", spec, "--force", "-q"], env=env, check=True)
    with h5py.File(spec, "r") as f:
        F, N = f["/stft/magnitude"].shape
    print(f"V {F} x {N} ({N * F * 4 / 2**20:.0f} MiB), k = {a.k}, KL, {a.np} ranks", flush=True)
    base = [SPECNMF, "nmf", spec, "-k", str(a.k), "--beta", "kl", "--force", "--init", "nndsvda", "--tol", str(a.tol)]
    configs = [c.split("=", 1) for c in (a.online or DEFAULT_ONLINE)]
    res = {"F": F, "N": N, "k": a.k, "np": a.np, "mu": [], "online": {n: [] for n, _ in configs}}
    for r in range(a.runs):
        out, rep = os.path.join(a.out, "mu.h5"), os.path.join(a.out, "mu.json")
        wall, curve, _ = run_timed(launcher(a.np) + base + ["-o", out, "--report", rep, "--solver", "mu",
                                                           "--max-iter", "2000"], env)
        loss, nit = model(out)
        rss, tn, trd = report(rep)
        t5 = next((t - curve[0][0] for t, it, l in curve if l <= 1.05 * loss), None) if curve else None
        res["mu"].append(dict(wall=wall, nmf=tn, read=trd, loss=loss, n_iter=nit, rss_mib=rss, t_within5=t5,
                              curve=curve))
        print(f"run {r}: mu {nit} iterations, loss {loss:.6g}, NMF {tn:.1f} s (command {wall:.1f} s), within 5% "
              f"after {t5:.1f} s, peak RSS {rss:.0f} MiB/rank", flush=True)
        for name, opts in configs:
            out, rep = os.path.join(a.out, "on.h5"), os.path.join(a.out, "on.json")
            wall, _, _ = run_timed(launcher(a.np) + base + ["-o", out, "--report", rep, "--solver", "online"]
                                   + opts.split(), env)
            loss, nit = model(out)
            rss, tn, trd = report(rep)
            res["online"][name].append(dict(wall=wall, nmf=tn, read=trd, loss=loss, n_iter=nit, rss_mib=rss))
            print(f"run {r}: online {name}: loss {loss:.6g}, NMF {tn:.1f} s + read {trd:.1f} s (command {wall:.1f} s), "
                  f"peak RSS {rss:.0f} MiB/rank", flush=True)
    med = statistics.median
    Lmu, Tmu = med([x["loss"] for x in res["mu"]]), med([x["nmf"] for x in res["mu"]])
    TRmu = med([x["nmf"] + x["read"] for x in res["mu"]])
    print(f"\nmedians of {a.runs} runs at {a.np} ranks, V {F} x {N}, k = {a.k}, KL")
    print(f"batch MU: loss {Lmu:.6g}, NMF {Tmu:.1f} s, command {med([x['wall'] for x in res['mu']]):.1f} s, "
          f"within 5% of its loss after {med([x['t_within5'] for x in res['mu']]):.1f} s, "
          f"peak RSS {med([x['rss_mib'] for x in res['mu']]):.0f} MiB/rank")
    for name, _ in configs:
        xs = res["online"][name]
        L, T = med([x["loss"] for x in xs]), med([x["nmf"] for x in xs])
        TR = med([x["nmf"] + x["read"] for x in xs])
        ok = L <= 1.05 * Lmu and TR <= TRmu / 4
        print(f"online {name}: loss {L:.6g} ({100 * (L / Lmu - 1):+.1f}% of MU's), NMF {T:.1f} s ({T / Tmu:.2f} of MU's), "
              f"NMF + reads {TR:.1f} s ({TR / TRmu:.2f} of MU's {TRmu:.1f} s), "
              f"command {med([x['wall'] for x in xs]):.1f} s, peak RSS {med([x['rss_mib'] for x in xs]):.0f} MiB/rank"
              f"{'  GOAL MET' if ok else ''}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
