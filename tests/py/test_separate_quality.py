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
per source by the assignment): there the default must reach the seed. For the
two-instrument mixtures also at R = 3 and 4, where a known limit is checked
and printed: the soft mask hands the part of the mixture that W H does not
model (large at small R) to the components in proportion, which costs SDR
against the seed's mixture phase (which drops it), while --reconstruct phase
with the same W, H must reach the seed. README ("Separation quality") states
it with the measured numbers."""
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
        for R in (2, 3, 4, 8):
            cases.append((label, st2, R))
except Exception as ex:  # noqa: BLE001
    print(f"cannot make the instrument mixtures: {ex}")
    check(False, "examples/make_example.py, fluidsynth and fluid-soundfont-gm are needed")

for name, stems, R in cases:
    names = list(stems)
    ref = np.array([np.asarray(stems[n], dtype=np.float32) for n in names])
    mix = ref.astype(np.float64).sum(axis=0).astype(np.float32)
    ref = ref.astype(np.float64)
    inp = tmp(name + ".wav")
    sf.write(inp, mix, sr, subtype="FLOAT")
    out = tmp(f"{name}-R{R}")

    def ours_sdr(extra=()):
        run(["separate", inp, "-k", R, "-o", out, "--quiet", "--no-plot", "--force"] + list(extra))
        files = sorted(glob.glob(os.path.join(out, "component-*.wav")))
        comps = np.array([sf.read(f, dtype="float64")[0] for f in files])
        return sdr(best_assignment(comps, ref), ref)

    ours = ours_sdr()
    seed_comps, _ = seed_pipeline(mix.astype(np.float64), R)
    theirs = sdr(best_assignment(seed_comps, ref), ref)
    print(f"{name}, R={R}: SDR per source ({', '.join(names)}): specnmf {np.round(ours, 2)}, "
          f"seed pipeline {np.round(theirs, 2)}; means {np.mean(ours):.2f} vs {np.mean(theirs):.2f} dB")
    if R in (3, 4):
        phase = ours_sdr(["--reconstruct", "phase"])
        print(f"{name}, R={R}: known limit: the default soft mask {np.mean(ours):.2f} dB, --reconstruct phase "
              f"{np.mean(phase):.2f} dB, seed pipeline {np.mean(theirs):.2f} dB")
        check(np.mean(phase) >= np.mean(theirs) - 0.1,
              f"{name}, R={R}: specnmf --reconstruct phase mean SDR {np.mean(phase):.2f} dB >= seed pipeline "
              f"{np.mean(theirs):.2f} dB")
    else:
        check(np.mean(ours) >= np.mean(theirs) - 0.1,
              f"{name}, R={R}: specnmf mean SDR {np.mean(ours):.2f} dB >= seed pipeline {np.mean(theirs):.2f} dB")
    if R > 2 or name == "kick+snare":
        check(np.mean(ours) > 3.0, f"{name}, R={R}: the separation is real (mean SDR {np.mean(ours):.2f} dB > 3 dB)")
finish()
