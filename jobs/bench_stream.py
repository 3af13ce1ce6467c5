#!/usr/bin/python3
"""Streamed fixed-dictionary separation (separate --source ... --block-seconds):
quality against --max-iter, memory at 1 and 3 hours, throughput.

  /usr/bin/python3 jobs/bench_stream.py --specnmf BUILD/specnmf --work DIR
      [--material DIR] [--parts sdr,block,memory,throughput] [--np 2]
      [--iters 20,50,100,200,400] [--hours 1,3] [--blocks 5,15,30,60,120]

Material: examples/make_material.py (piano, bass, drums; made into
WORK/material unless --material). Three 32-column KL dictionaries are learned
(specnmf learn -k 32 --beta kl --max-iter 200) from the training recordings.

- sdr: every piano_bass_drums test mixture separated (streamed) at each
  --iters; mean SDR over the sources and mixtures (mir_eval
  bss_eval_sources, no permutation): the default --max-iter is where it stops
  improving.
- block: one long recording (the first test mixture looped to 20 min) at
  each --blocks seconds: wall time and peak RSS per rank (the default block).
- memory: the first test mixture looped to each --hours (WORK/long-H.wav),
  separated at --np ranks at the default block and --max-iter: peak RSS per
  rank (the run report's peak_rss_mib), which must not grow with the length.
- throughput: the same recordings at --np ranks for --iters 20, the default
  and 200: real-time factor (audio seconds / wall seconds of the whole job)
  and the phase times (read, stft, nmf_h, istft, write, checkpoint) that say
  what limits it.
Long files are deleted at the end (--keep keeps them). Prints markdown tables.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import soundfile as sf

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = ["piano", "bass", "drums"]


def sh(cmd, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stderr[-3000:]}")
    return p


def mpirun(np_):
    return ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader",
            "-x", "OPENBLAS_NUM_THREADS=1", "-n", str(np_)]


def material(a):
    mat = a.material or os.path.join(a.work, "material")
    if not os.path.isdir(os.path.join(mat, "train")):
        sh([sys.executable, os.path.join(HERE, "..", "examples", "make_material.py"), "--out", mat])
    return mat


def dictionaries(a, mat):
    d = {}
    for n in NAMES:
        d[n] = os.path.join(a.work, f"dict-{n}-32.h5")
        if not os.path.exists(d[n]):
            sh(mpirun(a.np) + [a.specnmf, "learn", os.path.join(mat, "train", n + ".wav"), "--name", n, "-k", 32,
                               "--beta", "kl", "--max-iter", 200, "-o", d[n], "--force", "-q"])
    return sum((["--source", f"{n}={d[n]}"] for n in NAMES), [])


def separate(a, inp, out, srcs, extra, np_=None):
    rep = out + ".json"
    t0 = time.time()
    sh(mpirun(np_ or a.np) + [a.specnmf, "separate", inp, "-o", out, "--force", "-q", "--report", rep] + srcs
       + [str(x) for x in extra])
    wall = time.time() - t0
    with open(rep) as f:
        return wall, json.load(f)


def sdr_part(a, mat, srcs):
    from mir_eval.separation import bss_eval_sources
    mixes = sorted(glob.glob(os.path.join(mat, "test", "piano_bass_drums-*")))
    rows = []
    for it in a.iters:
        vals = []
        for m in mixes:
            out = os.path.join(a.work, "sdr", os.path.basename(m) + f"-{it}")
            separate(a, os.path.join(m, "mix.wav"), out, srcs, ["--max-iter", it])
            ref = np.array([sf.read(os.path.join(m, n + ".wav"))[0] for n in NAMES])
            est = np.array([sf.read(os.path.join(out, n + ".wav"))[0] for n in NAMES])
            s, _, _, _ = bss_eval_sources(ref, est, compute_permutation=False)
            vals.append(s)
        v = np.array(vals)
        rows.append((it, v.mean(), v.mean(axis=0)))
        print(f"| {it} | {v.mean():.2f} | " + " | ".join(f"{x:.2f}" for x in v.mean(axis=0)) + " |", flush=True)
    return rows


def long_audio(a, mat, seconds, tag):
    path = os.path.join(a.work, f"long-{tag}.wav")
    if os.path.exists(path):
        return path
    m = sorted(glob.glob(os.path.join(mat, "test", "piano_bass_drums-*")))[0]
    x, sr = sf.read(os.path.join(m, "mix.wav"), dtype="float32")
    n = int(seconds * sr)
    with sf.SoundFile(path, "w", sr, 1, subtype="FLOAT") as f:
        done = 0
        while done < n:
            k = min(len(x), n - done)
            f.write(x[:k])
            done += k
    return path


def phases(rep):
    ph = rep.get("phases", {})
    out = {}
    for k in ("read", "stft", "nmf_h", "istft", "write", "checkpoint", "total"):
        v = ph.get(k)
        if isinstance(v, dict):
            out[k] = v.get("max", v.get("mean", 0.0))
    return out


def bench_parser(doc):
    """The options every streamed-separation benchmark takes: --specnmf,
    --work, --material, --np."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--specnmf", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--material")
    ap.add_argument("--np", type=int, default=2)
    return ap


def bench_start(a):
    """The work folder, mpirun as root, the material (made when missing)."""
    os.makedirs(a.work, exist_ok=True)
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return material(a)


def main():
    ap = bench_parser(__doc__)
    ap.add_argument("--parts", default="sdr,block,memory,throughput")
    ap.add_argument("--iters", default="20,50,100,200,400")
    ap.add_argument("--default-iter", type=int, default=0, help="the streamed default --max-iter (0: the binary's)")
    ap.add_argument("--hours", default="1,3")
    ap.add_argument("--blocks", default="5,15,30,60,120")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    a.iters = [int(x) for x in a.iters.split(",")]
    parts = a.parts.split(",")
    mat = bench_start(a)
    srcs = dictionaries(a, mat)
    it_extra = ["--max-iter", a.default_iter] if a.default_iter else []
    if "sdr" in parts:
        print("\n| --max-iter | mean SDR (dB) | " + " | ".join(NAMES) + " |\n|---|---|" + "---|" * len(NAMES))
        sdr_part(a, mat, srcs)
    if "block" in parts:
        inp = long_audio(a, mat, 1200, "20min")
        print(f"\n{a.np} ranks, 20 min of audio: block size\n\n| --block-seconds | wall s | x real time | peak RSS MiB/rank |"
              "\n|---|---|---|---|")
        for b in a.blocks.split(","):
            wall, rep = separate(a, inp, os.path.join(a.work, "out-block"), srcs, ["--block-seconds", b] + it_extra)
            print(f"| {b} | {wall:.1f} | {1200 / wall:.0f} | {rep['peak_rss_mib']['max']:.0f} |", flush=True)
    if "memory" in parts or "throughput" in parts:
        print(f"\n{a.np} ranks, three 32-column KL dictionaries\n\n| audio | --max-iter | wall s | x real time | "
              "peak RSS MiB/rank (min..max) | read | stft | nmf_h | istft | write | checkpoint |\n|---|---|---|---|---|"
              "---|---|---|---|---|---|")
        for h in a.hours.split(","):
            inp = long_audio(a, mat, float(h) * 3600, f"{h}h")
            iters = [None] if "throughput" not in parts else [20, None, 200]
            for it in iters:
                ex = ["--max-iter", it] if it else it_extra
                wall, rep = separate(a, inp, os.path.join(a.work, "out-long"), srcs, ex)
                ph = phases(rep)
                rss = rep["peak_rss_mib"]
                label = it or (a.default_iter or "default")
                print(f"| {h} h | {label} | {wall:.1f} | {float(h) * 3600 / wall:.0f} | {rss['min']:.0f}..{rss['max']:.0f} | "
                      + " | ".join(f"{ph.get(k, 0):.1f}" for k in ("read", "stft", "nmf_h", "istft", "write", "checkpoint"))
                      + " |", flush=True)
                shutil.rmtree(os.path.join(a.work, "out-long"), ignore_errors=True)
            if not a.keep:
                os.remove(inp)
    if not a.keep:
        for f in glob.glob(os.path.join(a.work, "long-*.wav")):
            os.remove(f)
        shutil.rmtree(os.path.join(a.work, "out-block"), ignore_errors=True)


if __name__ == "__main__":
    main()
