#!/usr/bin/python3
"""The batch path's memory: separate with learned columns (-k R) at any
length, against the bound V block x (1.1 + 3R/F) + 128 MiB per rank.

  /usr/bin/python3 jobs/bench_batch_memory.py --specnmf BUILD/specnmf --work DIR
      [--material DIR] [--minutes 10,30,60] [--np 2] [-k 16] [--max-iter 10] [--runs 1] [--channels 1]

The first piano_bass_drums test mixture (examples/make_material.py) looped to
each length, mono, 22.05 kHz, n_fft 2048, hop 512 (F = 1025). Each length is
separated twice in the same run: with the parts made in blocks (the default)
and from the whole span in memory (--block-seconds 0, the old path). Peak RSS
per rank is the run report's peak_rss_mib (max over ranks); wall is the whole
job, median of --runs. The parts of the two runs are compared sample by
sample. Prints a markdown table.

--channels C (> 1) makes a C-channel file of it: channel c is the mixture
delayed by 37c samples and scaled by 1 - 0.3c/C, so the channels differ; V is
then the channels' magnitudes reduced by the default rule (one V per frame,
as mono) and every part has C channels.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_stream import bench_parser, bench_start, long_audio, mpirun  # noqa: E402


def separate(a, inp, out, extra):
    rep = out + ".json"
    t0 = time.time()
    cmd = mpirun(a.np) + [a.specnmf, "separate", inp, "-o", out, "--force", "-q", "--report", rep, "-k", str(a.k),
                          "--beta", "kl", "--max-iter", str(a.max_iter), "--tol", "0", "--init", "random",
                          "--no-plot"] + extra
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    wall = time.time() - t0
    with open(rep) as f:
        return wall, json.load(f)


def multichannel(inp, C):
    """inp made C channels (see the module's doc), written beside it; inp is removed."""
    out = inp[:-4] + f"-{C}ch.wav"
    x, sr = sf.read(inp, dtype="float32")
    with sf.SoundFile(out, "w", sr, C, subtype="FLOAT") as f:
        for i0 in range(0, len(x), 1 << 20):
            n = min(1 << 20, len(x) - i0)
            y = np.zeros((n, C), np.float32)
            for c in range(C):
                lo = max(i0 - 37 * c, 0)
                seg = x[lo:i0 + n - 37 * c]
                y[n - len(seg):, c] = seg * (1 - 0.3 * c / C)
            f.write(y)
    os.remove(inp)
    return out


def main():
    ap = bench_parser(__doc__)
    ap.add_argument("--minutes", default="10,30,60")
    ap.add_argument("-k", type=int, default=16)
    ap.add_argument("--max-iter", type=int, default=10)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--channels", type=int, default=1)
    a = ap.parse_args()
    mat = bench_start(a)
    print(f"\n{a.np} ranks, -k {a.k}, KL, {a.max_iter} iterations, {a.channels} channel(s)\n\n| audio | parts | V block MiB/rank | bound MiB | "
          "peak RSS MiB/rank | peak / bound | wall s (median) | max part difference / peak |\n"
          "|---|---|---|---|---|---|---|---|")
    for m in a.minutes.split(","):
        inp = long_audio(a, mat, float(m) * 60, f"{m}min")
        if a.channels > 1:
            inp = multichannel(inp, a.channels)
        res = {}
        for label, extra in (("in blocks", []), ("in memory", ["--block-seconds", "0"])):
            walls, rss = [], []
            for _ in range(a.runs):
                out = os.path.join(a.work, "out-" + label.replace(" ", "-"))
                wall, rep = separate(a, inp, out, extra)
                walls.append(wall)
                rss.append(rep["peak_rss_mib"]["max"])
            F, N = rep["facts"]["F"], rep["facts"]["N"]
            vblock = F * -(-N // a.np) * 4 / 2**20
            bound = vblock * (1.1 + 3 * a.k / F) + 128
            res[label] = (vblock, bound, max(rss), statistics.median(walls), out)
        peak = float(np.abs(sf.read(inp, dtype="float32")[0]).max())  # over every channel
        d = 0.0
        for i in range(a.k):
            x = sf.read(os.path.join(res["in blocks"][4], f"component-{i:02d}.wav"), dtype="float64")[0]
            y = sf.read(os.path.join(res["in memory"][4], f"component-{i:02d}.wav"), dtype="float64")[0]
            d = max(d, float(np.abs(x - y).max()) / peak)
        for label, (vblock, bound, rss, wall, _) in res.items():
            print(f"| {m} min | {label} | {vblock:.1f} | {bound:.1f} | {rss:.1f} | {rss / bound:.2f} | {wall:.1f} | "
                  f"{d:.1e} |", flush=True)
        os.remove(inp)
        for _, _, _, _, out in res.values():
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
