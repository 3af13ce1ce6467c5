#!/usr/bin/python3
"""Separation quality on real instruments at SN_NP ranks. Mixtures of openly
licensed samples with known stems (examples/make_example.py: hydrogen-drumkits
kick + snare, as the seed's Drums.wav; a FluidR3_GM piano over the drums), SDR
by mir_eval.separation.bss_eval_sources at the best assignment of components
to sources. In the same run, the seed notebook's pipeline (scikit-learn NMF
with its defaults on |STFT|, each component W_k H_k with the mixture's phase,
istft) on the same mixtures. specnmf separate with its defaults must reach at
least the seed pipeline's mean SDR (0.1 dB slack for float32 vs float64).
The assignment maximises the summed SNR of the sums (cheap; on these mixtures
it picks what an exhaustive SDR search picks).

Each mixture is separated at R = its number of sources (the seed notebook's
choice: 2 for kick + snare) and at R = 8 (more components than sources, summed
per source by the assignment). Known limit, measured and stated in the README:
at R = 3 or 4 on piano+drums (and by 0.1-0.4 dB on bass+drums) the soft mask
scores below the mixture-phase pipeline, while --reconstruct phase with the
same W, H scores above it."""
import glob
import os
import sys

import numpy as np
import soundfile as sf

from separate_common import best_assignment, sdr, seed_pipeline
from sn_testlib import SRC, check, finish, run, tmp

sys.path.insert(0, os.path.join(SRC, "examples"))
sr = 22050
cases = []
try:
    from make_example import make_stems
    st = make_stems("drums", 6.0, sr)
    cases.append(("kick+snare", {"kick": st["kick"], "snare": st["snare"]}, 2))
    cases.append(("kick+snare", {"kick": st["kick"], "snare": st["snare"]}, 8))
except Exception as ex:  # noqa: BLE001
    print(f"cannot make the drum mixture: {ex}")
    check(False, "examples/make_example.py and hydrogen-drumkits are needed")
try:
    from make_example import make_mixture
    for kind, label in (("piano_drums", "piano+drums"), ("bass_drums", "bass+drums")):
        _, st2 = make_mixture(kind, 6.0, sr)
        cases.append((label, st2, 2))
        cases.append((label, st2, 8))
except Exception as ex:  # noqa: BLE001 - fluidsynth missing: run the drum case only
    print(f"note: piano case skipped ({ex})")

for name, stems, R in cases:
    names = list(stems)
    ref = np.array([np.asarray(stems[n], dtype=np.float32) for n in names])
    mix = ref.astype(np.float64).sum(axis=0).astype(np.float32)
    ref = ref.astype(np.float64)
    inp = tmp(name + ".wav")
    sf.write(inp, mix, sr, subtype="FLOAT")
    out = tmp(f"{name}-R{R}")
    run(["separate", inp, "-k", R, "-o", out, "--quiet", "--no-plot"])
    files = sorted(glob.glob(os.path.join(out, "component-*.wav")))
    comps = np.array([sf.read(f, dtype="float64")[0] for f in files])
    ours = sdr(best_assignment(comps, ref), ref)
    seed_comps, _ = seed_pipeline(mix.astype(np.float64), R)
    theirs = sdr(best_assignment(seed_comps, ref), ref)
    print(f"{name}: SDR per source ({', '.join(names)}): specnmf {np.round(ours, 2)}, seed pipeline {np.round(theirs, 2)}")
    check(np.mean(ours) >= np.mean(theirs) - 0.1,
          f"{name}, R={R}: specnmf mean SDR {np.mean(ours):.2f} dB >= seed pipeline {np.mean(theirs):.2f} dB")
    if R > 2 or name == "kick+snare":
        check(np.mean(ours) > 3.0, f"{name}, R={R}: the separation is real (mean SDR {np.mean(ours):.2f} dB > 3 dB)")
finish()
