#!/usr/bin/python3
"""Before/after benchmark of two specnmf builds: every command on the same
data, the two builds interleaved (A B A B ...), medians and the ratio B/A.
For a refactoring that must not change speed (issue 13: "unchanged within
noise, measured before and after in the same run"). Not a test.

  bench_ab.py A/specnmf B/specnmf [--work DIR] [--reps 3] [--np 2] [--seconds 120]
              [--only NAME,...] [--md OUT.md]

The data are made here (no peers are run, so one round takes a few minutes):
a synthetic recording of --seconds at 22050 Hz (decaying harmonic notes and
noise bursts, seeded), its spectrogram, mel spectrogram and complex STFT, two
16-column dictionaries learned by build A from its halves. Each case is one
mpirun of the build; the figure is the run report's total phase on the slowest
rank (start-up of mpirun excluded), with the whole mpirun wall time beside it.
Cases (2 ranks unless --np):
  stft, stft-1rank, istft, nmf-mu-fro, nmf-mu-kl, nmf-cd, nmf-anls, nmf-online,
  separate (-k 16, 50 iterations), separate-stream (two dictionaries),
  griffinlim (32 iterations), mel, mel-invert, learn.
Both builds must produce the same files: the outputs of the last round are
compared (HDF5 datasets bit for bit, WAV bytes) and a difference is reported.
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import soundfile as sf

SR = 22050


def make_audio(path, seconds, seed=7):
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = np.zeros(n, np.float32)
    t = np.arange(int(0.6 * SR)) / SR
    env = np.exp(-t * 4.0).astype(np.float32)
    pos = 0
    while pos < n - len(t):
        f0 = 55.0 * 2 ** (rng.integers(0, 48) / 12)
        note = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 8)).astype(np.float32) * env
        x[pos:pos + len(t)] += 0.2 * note
        if rng.random() < 0.3:
            m = min(2000, n - pos)
            x[pos:pos + m] += 0.3 * rng.standard_normal(m).astype(np.float32) * np.exp(-np.arange(m) / 300.0)
        pos += int(rng.integers(SR // 8, SR // 2))
    x /= max(1.0, float(np.abs(x).max()) / 0.9)
    sf.write(path, x, SR, subtype="FLOAT")


def mpirun(np_):
    return ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-n", str(np_)]


def run(cmd, report):
    t0 = time.time()
    p = subprocess.run([str(c) for c in cmd] + ["--report", report, "-q"], capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode != 0:
        sys.exit(f"bench_ab.py: failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stderr[-2000:]}")
    with open(report) as f:
        rep = json.load(f)
    tot = rep.get("phases", {}).get("total", {})
    return (tot.get("max") if isinstance(tot, dict) else None) or wall, wall


def digest(path):
    """Content digest of an output: HDF5 datasets (names, shapes, bytes) or file bytes."""
    h = hashlib.sha256()
    if os.path.isdir(path):
        for f in sorted(os.listdir(path)):
            if f.endswith((".wav", ".h5")):
                h.update(f.encode())
                h.update(digest(os.path.join(path, f)).encode())
        return h.hexdigest()
    if path.endswith(".h5"):
        import h5py

        with h5py.File(path, "r") as f:
            def visit(name, obj):
                if isinstance(obj, h5py.Dataset) and "report" not in name and obj.dtype.kind in "fiu":
                    h.update(name.encode())
                    h.update(np.ascontiguousarray(obj[()]).tobytes())
            f.visititems(visit)
        return h.hexdigest()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def cases(w, np_):
    a = os.path.join(w, "in.wav")
    spec, mel, cplx = os.path.join(w, "spec.h5"), os.path.join(w, "mel.h5"), os.path.join(w, "cplx.h5")
    d1, d2 = os.path.join(w, "d1.h5"), os.path.join(w, "d2.h5")
    small = os.path.join(w, "small.h5")
    P = np_
    nmf = lambda extra: [spec, "-k", 16, "--max-iter", 30, "--tol", 0, "--init", "random", "--seed", 1] + extra
    return [
        ("stft", P, ["stft", a], ".h5"),
        ("stft-1rank", 1, ["stft", a], ".h5"),
        ("istft", P, ["istft", cplx], ".wav"),
        ("nmf-mu-fro", P, ["nmf"] + nmf(["--beta", "fro", "--solver", "mu"]), ".h5"),
        ("nmf-mu-kl", P, ["nmf"] + nmf(["--beta", "kl", "--solver", "mu"]), ".h5"),
        ("nmf-cd", P, ["nmf"] + nmf(["--beta", "fro", "--solver", "cd"]), ".h5"),
        ("nmf-anls", P, ["nmf"] + nmf(["--beta", "fro", "--solver", "anls"]), ".h5"),
        ("nmf-online", P, ["nmf"] + nmf(["--beta", "kl", "--solver", "online", "--batch-size", 2048]), ".h5"),
        ("separate", P, ["separate", a, "-k", 16, "--max-iter", 50, "--tol", 0, "--beta", "kl", "--force"], "/"),
        ("separate-stream", P, ["separate", a, "--source", f"one={d1}", "--source", f"two={d2}", "--max-iter", 30,
                                "--force"], "/"),
        ("griffinlim", P, ["griffinlim", small, "--n-iter", 32], ".wav"),
        ("mel", P, ["mel", a], ".h5"),
        ("mel-invert", P, ["mel-invert", mel], ".h5"),
        ("learn", P, ["learn", a, "--name", "all", "-k", 16, "--max-iter", 30], ".h5"),
    ]


def prepare(a_bin, w, seconds, np_):
    os.makedirs(w, exist_ok=True)
    a = os.path.join(w, "in.wav")
    if not os.path.exists(a):
        make_audio(a, seconds)
    x, _ = sf.read(a, dtype="float32")
    half = len(x) // 2
    for i, part in enumerate((x[:half], x[half:]), 1):
        p = os.path.join(w, f"half{i}.wav")
        if not os.path.exists(p):
            sf.write(p, part, SR, subtype="FLOAT")
    steps = [
        ["stft", a, "-o", os.path.join(w, "spec.h5")],
        ["stft", a, "--complex", "-o", os.path.join(w, "cplx.h5")],
        ["mel", a, "-o", os.path.join(w, "mel.h5")],
        ["learn", os.path.join(w, "half1.wav"), "--name", "one", "-k", 16, "--max-iter", 30, "-o",
         os.path.join(w, "d1.h5")],
        ["learn", os.path.join(w, "half2.wav"), "--name", "two", "-k", 16, "--max-iter", 30, "-o",
         os.path.join(w, "d2.h5")],
    ]
    for s in steps:
        if not os.path.exists(s[-1]):
            subprocess.run(mpirun(np_) + [a_bin] + [str(c) for c in s] + ["-q"], check=True)
    small = os.path.join(w, "small.h5")
    if not os.path.exists(small):
        import h5py

        with h5py.File(os.path.join(w, "spec.h5"), "r") as f, h5py.File(small, "w") as g:
            src = f["/stft/magnitude"]
            d = g.create_dataset("/stft/magnitude", data=src[:, :5000])
            for k, v in src.attrs.items():
                d.attrs[k] = v
            d.attrs["n_samples"] = (5000 - 1) * int(src.attrs["hop_length"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--work", default="/tmp/bench_ab")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--only", default="")
    ap.add_argument("--md", default="")
    a = ap.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    w = a.work
    prepare(a.a, w, a.seconds, a.np)
    only = set(filter(None, a.only.split(",")))
    todo = [c for c in cases(w, a.np) if not only or c[0] in only]
    res = {c[0]: {"A": [], "B": [], "wA": [], "wB": []} for c in todo}
    outs = {}
    for r in range(a.reps):
        for name, P, cmd, kind in todo:
            order = ("A", "B") if r % 2 == 0 else ("B", "A")
            for tag in order:
                binp = a.a if tag == "A" else a.b
                out = os.path.join(w, f"out-{name}-{tag}" + ("" if kind == "/" else kind))
                rep = os.path.join(w, f"rep-{name}-{tag}.json")
                full = mpirun(P) + [binp] + cmd + ["-o", out] + ([] if "--force" in cmd else ["--force"])
                tot, wall = run(full, rep)
                res[name][tag].append(tot)
                res[name]["w" + tag].append(wall)
                outs[(name, tag)] = out
        print(f"round {r + 1}/{a.reps} done", file=sys.stderr, flush=True)
    lines = [f"# bench_ab: A = {a.a}, B = {a.b}",
             f"{a.reps} interleaved rounds, {a.seconds:g} s of audio at {SR} Hz, load {os.getloadavg()[0]:.1f} at the end",
             "", "| case | ranks | A total s (median) | B total s (median) | B/A | A wall s | B wall s | outputs |",
             "|---|---|---|---|---|---|---|---|"]
    ratios = []
    for name, P, cmd, kind in todo:
        ra, rb = statistics.median(res[name]["A"]), statistics.median(res[name]["B"])
        wa, wb = statistics.median(res[name]["wA"]), statistics.median(res[name]["wB"])
        same = digest(outs[(name, "A")]) == digest(outs[(name, "B")])
        ratios.append(rb / ra)
        lines.append(f"| {name} | {P} | {ra:.3f} | {rb:.3f} | {rb / ra:.3f} | {wa:.2f} | {wb:.2f} | "
                     f"{'identical' if same else 'DIFFER'} |")
    gm = float(np.exp(np.mean(np.log(ratios))))
    lines.append("")
    lines.append(f"geometric mean of B/A over {len(ratios)} cases: {gm:.3f}")
    text = "\n".join(lines)
    print(text)
    if a.md:
        with open(a.md, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
