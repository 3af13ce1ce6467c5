#!/usr/bin/python3
"""Make a test recording of a given length for specnmf jobs (weak scaling, tests).

Either synthesize one (deterministic from --seed): a few "instruments", each a
harmonic tone with its own spectrum playing a random note sequence with
attack/decay envelopes, plus a quiet noise floor -- audio with a low-rank
magnitude spectrogram, as NMF expects; or tile an existing recording
(--tile IN) to the requested length. Written in chunks (constant memory), as
16-bit PCM WAV (RF64 past 4 GiB), FLAC or float32 WAV by the output suffix
and --subtype.

  make_recording.py OUT.wav --seconds 3600 [--rate 44100] [--seed 1]
  make_recording.py OUT.wav --seconds 7200 --tile base.flac
"""
import argparse
import sys

import numpy as np
import soundfile as sf


def synth_chunk(rng_state, t0, n, rate, voices):
    """Samples [t0, t0+n) of the synthetic mix (float64, mono)."""
    t = (t0 + np.arange(n)) / rate
    out = np.zeros(n)
    for v in voices:
        # note index at each sample: notes of v["dur"] seconds
        k = np.floor(t / v["dur"]).astype(np.int64)
        f0 = v["notes"][k % len(v["notes"])]
        ph = t - k * v["dur"]                      # time since the note started
        env = (1 - np.exp(-ph / 0.01)) * np.exp(-ph / v["decay"])
        on = v["on"][k % len(v["on"])]
        s = np.zeros(n)
        for h, a in enumerate(v["harm"], start=1):
            s += a * np.sin(2 * np.pi * h * f0 * t)
        out += v["gain"] * on * env * s
    out += 0.003 * rng_state.standard_normal(n)
    return out


def make_voices(rng, n_voices, rate):
    voices = []
    for i in range(n_voices):
        base = 55.0 * 2 ** rng.integers(0, 4)               # A1..A4
        scale = base * 2 ** (rng.choice([0, 2, 3, 5, 7, 8, 10, 12], size=16) / 12)
        n_h = int(rng.integers(3, 9))
        harm = rng.uniform(0.2, 1.0, n_h) / np.arange(1, n_h + 1) ** rng.uniform(0.5, 1.5)
        voices.append(dict(
            notes=scale[scale * n_h < rate / 2 * 0.9] if np.any(scale * n_h < rate / 2 * 0.9) else scale[:1],
            harm=harm / harm.sum(), dur=float(rng.uniform(0.15, 0.6)),
            decay=float(rng.uniform(0.1, 0.8)), gain=float(rng.uniform(0.1, 0.3)),
            on=(rng.random(64) < 0.7).astype(float)))
    return voices


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="output file (.wav or .flac)")
    ap.add_argument("--seconds", type=float, required=True, help="length in seconds")
    ap.add_argument("--rate", type=int, default=44100, help="sample rate of a synthetic recording [44100]")
    ap.add_argument("--voices", type=int, default=4, help="instruments in a synthetic recording [4]")
    ap.add_argument("--seed", type=int, default=1, help="random seed [1]")
    ap.add_argument("--tile", metavar="IN", help="repeat this recording (mono mix) instead of synthesizing")
    ap.add_argument("--subtype", default=None, help="soundfile subtype (PCM_16 default, FLOAT, ...)")
    ap.add_argument("--chunk", type=float, default=30.0, help="seconds per chunk written [30]")
    a = ap.parse_args(argv)
    if a.seconds <= 0:
        ap.error("--seconds must be positive")

    src = None
    rate = a.rate
    if a.tile:
        src, rate = sf.read(a.tile, dtype="float32", always_2d=True)
        src = src.mean(axis=1)
        if len(src) == 0:
            sys.exit(f"make_recording.py: error: {a.tile}: empty recording")
    total = int(round(a.seconds * rate))
    fmt = "FLAC" if a.out.lower().endswith(".flac") else None
    subtype = a.subtype or "PCM_16"
    # soundfile picks RF64 for WAV when asked; use it for files past 4 GiB
    if fmt is None:
        bytes_per = {"PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}.get(subtype, 4)
        fmt = "RF64" if total * bytes_per > 4 * 2**30 - 2**20 else "WAV"
    rng = np.random.default_rng(a.seed)
    voices = make_voices(rng, a.voices, rate) if src is None else None
    noise = np.random.default_rng(a.seed + 1000)
    step = max(1, int(a.chunk * rate))
    with sf.SoundFile(a.out, "w", samplerate=rate, channels=1, subtype=subtype, format=fmt) as f:
        pos = 0
        while pos < total:
            n = min(step, total - pos)
            if src is None:
                x = synth_chunk(noise, pos, n, rate, voices)
            else:
                idx = (pos + np.arange(n)) % len(src)
                x = src[idx]
            f.write(np.clip(x, -1.0, 1.0).astype(np.float32))
            pos += n
    print(f"{a.out}: {total} samples at {rate} Hz ({total / rate:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
