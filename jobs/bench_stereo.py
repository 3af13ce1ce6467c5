#!/usr/bin/python3
"""Stereo separation (issue 11): quality per channel and cost.

Quality: stereo test mixtures of examples/make_material.py (each stem panned
to its own place), separated with -k R --beta kl under each channel rule
(mag-mean, rms) and under --mono, at the same R. Components are grouped onto
the true stems by `specnmf score` (the best grouping, so that the model and
not a grouping method is measured), channel by channel: the stereo parts
against each channel of the stereo stems; the --mono parts (mono) against
the mono stems (the channel mean, their own target) and, copied to both
channels, against each channel of the stereo stems (what a user of --mono
gets for a stereo track).

Cost: a 10-minute stereo file (a 30 s stereo mixture tiled, with a little
noise) vs its mono down-mix, separate -k 16 --max-iter 200 at 2 ranks,
median wall time of 3 runs, interleaved (mono, stereo, mono, ...).

    /usr/bin/python3 jobs/bench_stereo.py --exe build/specnmf --work /tmp/bst [--quality] [--cost]
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import soundfile as sf

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
KINDS = {"kick_snare": (["kick", "snare"], 6), "piano_bass_drums": (["piano", "bass", "drums"], 12)}


def run(exe, np_, *args):
    cmd = [exe] + [str(a) for a in args]
    if np_ > 1:
        cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-n", str(np_)] + cmd
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=3600)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), p.stderr[-2000:]))
    return dt


def channel_files(paths, c, d, tag):
    """Channel c of each file (or the file itself when mono) as mono WAVs in d."""
    out = []
    for p in paths:
        x, sr = sf.read(p, dtype="float32", always_2d=True)
        q = os.path.join(d, "%s-%s-ch%d.wav" % (tag, os.path.basename(p)[:-4], c))
        sf.write(q, x[:, min(c, x.shape[1] - 1)], sr, subtype="FLOAT")
        out.append(q)
    return out


def score(exe, refs, ests, out):
    """Mean SDR over the references (best grouping of the estimates, by
    `specnmf score`) and the mean SNR 10 log10(|s|^2 / |s - s_hat|^2) of the
    same grouping: SDR forgives any gain, so it cannot see a part at the
    wrong level in a channel (a mono part copied to both channels); SNR can."""
    if not os.path.exists(out):
        run(exe, 1, "score", "--ref", *refs, "--est", *ests, "-o", out, "--force", "-q")
    r = json.load(open(out))
    snr = []
    for ref in refs:
        key = os.path.basename(ref)[:-4]
        s = sf.read(ref, dtype="float64")[0]
        e = sum(sf.read(p, dtype="float64")[0] for p in ests if os.path.basename(p)[:-4] in r["assignment"]["estimates"][key])
        snr.append(10 * np.log10(np.sum(s ** 2) / max(np.sum((s - e) ** 2), 1e-30)))
    return float(r["mean_sdr"]), float(np.mean(snr))


def quality(a):
    sys.path.insert(0, os.path.join(SRC, "examples"))
    import make_material as mm
    rows = []
    for kind, (order, R) in KINDS.items():
        for seed in a.seeds:
            d = os.path.join(a.work, "%s-%d" % (kind, seed))
            os.makedirs(d, exist_ok=True)
            mix_p = os.path.join(d, "mix.wav")
            if not os.path.exists(mix_p):
                mix, stems = mm.test_mixture(kind, a.seconds, 22050, seed, stereo=True)
                for k, v in stems.items():
                    sf.write(os.path.join(d, k + ".wav"), v, 22050, subtype="FLOAT")
                    sf.write(os.path.join(d, k + "-mono.wav"), v.mean(axis=1), 22050, subtype="FLOAT")
                sf.write(mix_p, mix, 22050, subtype="FLOAT")
            refs = [os.path.join(d, k + ".wav") for k in order]
            row = {"mixture": "%s-%d" % (kind, seed), "R": R}
            for name, extra in [("mag-mean", []), ("rms", ["--channel-rule", "rms"]), ("mono", ["--mono"])]:
                o = os.path.join(d, "sep-" + name)
                if not os.path.exists(os.path.join(o, "result.h5")):
                    run(a.exe, a.np, "separate", mix_p, "-k", R, "--beta", "kl", "--max-iter", 200, "--seed", 0,
                        "-o", o, "--force", "--no-plot", "-q", *extra)
                ests = sorted(glob.glob(os.path.join(o, "component-*.wav")))
                for c in (0, 1):
                    row["%s ch%d SDR, SNR" % (name, c)] = score(a.exe, channel_files(refs, c, d, "ref"),
                                                                channel_files(ests, c, o, "est"),
                                                                os.path.join(o, "s%d.json" % c))
                if name == "mono":
                    row["mono vs mono stems SDR, SNR"] = score(a.exe, [os.path.join(d, k + "-mono.wav") for k in order],
                                                               ests, os.path.join(o, "smono.json"))
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def cost(a):
    sys.path.insert(0, os.path.join(SRC, "examples"))
    import make_material as mm
    st_p, mo_p = os.path.join(a.work, "long-stereo.wav"), os.path.join(a.work, "long-mono.wav")
    if not os.path.exists(st_p):
        mix, _ = mm.test_mixture("piano_bass_drums", 30.0, 22050, 1001, stereo=True)
        reps = int(np.ceil(a.long_seconds / 30.0))
        x = np.tile(mix, (reps, 1))[: int(a.long_seconds * 22050)]
        x = x + 1e-4 * np.random.default_rng(0).standard_normal(x.shape)
        sf.write(st_p, x.astype(np.float32), 22050, subtype="FLOAT")
        sf.write(mo_p, x.mean(axis=1).astype(np.float32), 22050, subtype="FLOAT")
    times = {"mono file": [], "stereo file": [], "stereo --mono": []}
    for i in range(a.runs):
        for name, inp, extra in [("mono file", mo_p, []), ("stereo file", st_p, []), ("stereo --mono", st_p, ["--mono"])]:
            o = os.path.join(a.work, "cost-out")
            rep = os.path.join(a.work, "cost-%s-%d.json" % (name.replace(" ", "_"), i))
            times[name].append(run(a.exe, 2, "separate", inp, "-k", 16, "--max-iter", 200, "--tol", 0, "-o", o,
                                   "--force", "--no-plot", "-q", "--report", rep, *extra))
    med = {k: statistics.median(v) for k, v in times.items()}
    phases = {}  # median over runs of each phase's max over ranks (from --report)
    for name in times:
        reps = [json.load(open(os.path.join(a.work, "cost-%s-%d.json" % (name.replace(" ", "_"), i))))
                for i in range(a.runs)]
        keys = [k for k, v in reps[0].get("phases", {}).items() if isinstance(v, dict)]
        phases[name] = {k: round(statistics.median(r["phases"][k]["max"] for r in reps), 2) for k in keys}
    out = {"runs": times, "median_s": med, "stereo/mono": med["stereo file"] / med["mono file"], "phases_max_s": phases}
    print(json.dumps(out), flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exe", default=os.path.join(SRC, "build", "specnmf"))
    ap.add_argument("--work", default="/tmp/bench_stereo")
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1001, 1002, 1003])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--long-seconds", type=float, default=600.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quality", action="store_true")
    ap.add_argument("--cost", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    res = {}
    if a.quality or not a.cost:
        res["quality"] = quality(a)
    if a.cost or not a.quality:
        res["cost"] = cost(a)
    json.dump(res, open(os.path.join(a.work, "bench_stereo.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
