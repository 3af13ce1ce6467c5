#!/usr/bin/python3
"""The bundled example recording and its stem recipe (examples/make_example.py):
  - examples/example.flac is FLAC, stereo, 22050 Hz, <= 30 s, <= 1.5 MB;
  - its channel mean is make_mixture("piano_bass_drums", 20, 22050) up to
    16-bit rounding (|diff| <= 1/32768), so the recipe regenerates the true
    stems of the bundled file;
  - for every kind: mixture == sum of the stems (float32 rounding, <= 1e-6),
    length round(seconds * sr), deterministic, every stem audible (RMS > 0.01)
    and the stems differ from each other (|correlation| < 0.5).
Needs fluidsynth, fluid-soundfont-gm, hydrogen-drumkits (Debian packages)."""
import os
import sys

import numpy as np
import soundfile as sf

SRC = os.environ.get("SN_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "examples"))
from make_example import KINDS, make_mixture  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


path = os.path.join(SRC, "examples", "example.flac")
info = sf.info(path)
size = os.path.getsize(path)
check(info.format == "FLAC" and info.channels == 2 and info.samplerate == 22050 and info.duration <= 30
      and size <= 1.5e6, "example.flac: %s %d ch %d Hz %.1f s %d bytes" % (info.format, info.channels,
                                                                          info.samplerate, info.duration, size))
st, sr = sf.read(path, dtype="float64")
mix, stems = make_mixture("piano_bass_drums", 20.0, 22050)
m = st.mean(axis=1)
err = np.max(np.abs(m - mix)) if len(m) == len(mix) else np.inf
check(err <= 1.0 / 32768, "channel mean of example.flac == make_mixture('piano_bass_drums', 20, 22050): max diff %.3g" % err)

for kind in KINDS:
    mix, stems = make_mixture(kind, 3.0, 22050)
    mix2, _ = make_mixture(kind, 3.0, 22050)
    tot = np.sum([v.astype(np.float64) for v in stems.values()], axis=0)
    rms = {k: float(np.sqrt(np.mean(v.astype(np.float64) ** 2))) for k, v in stems.items()}
    names = list(stems)
    corr = max([abs(np.corrcoef(stems[a], stems[b])[0, 1]) for i, a in enumerate(names) for b in names[i + 1:]] or [0])
    check(mix.dtype == np.float32 and len(mix) == 66150 and all(len(v) == 66150 for v in stems.values())
          and np.max(np.abs(tot - mix)) <= 1e-6 and np.array_equal(mix, mix2) and min(rms.values()) > 0.01
          and corr < 0.5 and np.max(np.abs(mix)) <= 0.9 + 1e-6 and names == KINDS[kind],
          "make_mixture(%r, 3, 22050): stems %s, rms %s, max |corr| %.2f" % (
              kind, names, {k: round(v, 3) for k, v in rms.items()}, corr))

if failures:
    print("FAILED:", *failures, sep="\n  ")
    sys.exit(1)
print("example checks passed")
