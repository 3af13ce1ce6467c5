#!/usr/bin/python3
"""specnmf separate -k R --sources S at SN_NP ranks: automatic grouping of the
components into sources with no dictionaries.

On an 8 s kick + snare mixture of examples/make_material.py (--beta kl, R = 6,
S = 2):
- source-00.wav, source-01.wav and overview.png; the sources add up to the
  mixture (soft mask, 1e-5 of the peak);
- result.h5: /separate/source_of_component uses every source 0..S-1, numbered
  in order of first appearance, and agrees with the `groups` attribute (a
  --group list), `grouping` = ncut (what the default, auto, takes at S = 2),
  n_sources = 2, mask_power = 2 (the default with --sources);
- the same grouping and files at SN_NP ranks as at 1 rank (1e-5 of the peak);
- determinism: a second run gives the same grouping, W and H (bit for bit) and
  the same sources (1e-6 of the peak: see below);
- `--group` with the recorded list (and --mask-power 2) gives the same
  sources (the wiring);
- --grouping peaks, tiered, both, coact and timbre run and group every
  component, and --grouping auto is ncut;
- S = 3 on an 8 s piano + bass + drums mixture, R = 12, by the default (auto:
  peaks) and by ncut (repeated cuts): every source used, the same grouping at
  SN_NP ranks as at 1 rank;
- a quality floor: mean SDR > 12 dB (the goals are measured by
  jobs/quality_grouping.py);
- bad input (each: one error line, non-zero exit, no output folder):
  --sources with --group, with --source, S > R, S = 0, S < 0, an unknown
  --grouping, --grouping without --sources."""
import os
import sys

import h5py
import numpy as np
import soundfile as sf

from sn_testlib import NP, SRC, check, error_lines, finish, run, tmp

sys.path.insert(0, os.path.join(SRC, "examples"))
from make_material import test_mixture  # noqa: E402

sr = 22050
mix, stems = test_mixture("kick_snare", 8.0, sr, 3001)
inp = tmp("mix.wav")
sf.write(inp, mix, sr, subtype="FLOAT")
peak = float(np.abs(mix).max())
R, S = 6, 2
base = ["separate", inp, "-k", R, "--sources", S, "--beta", "kl", "--max-iter", 150, "--force", "-q"]


def sources(out, n=S):
    return np.array([sf.read(os.path.join(out, "source-%02d.wav" % s), dtype="float64")[0] for s in range(n)])


def grouping(out):
    with h5py.File(os.path.join(out, "result.h5")) as h:
        g = h["/separate"]
        return (list(h["/separate/source_of_component"][()].astype(int)), g.attrs["groups"], g.attrs["grouping"],
                int(g.attrs["n_sources"]))


out = tmp("out")
run(base + ["-o", out])
check(all(os.path.exists(os.path.join(out, f)) for f in ("source-00.wav", "source-01.wav", "overview.png")),
      "source-00.wav, source-01.wav, overview.png written")
check(not os.path.exists(os.path.join(out, "source-02.wav")) and not os.path.exists(os.path.join(out, "component-00.wav")),
      "no other parts written")
est = sources(out)
err = np.abs(est.sum(axis=0) - mix).max() / peak
check(err < 1e-5, f"the sources add up to the mixture ({err:.1e} of the peak < 1e-5)")
lab, groups, how, ns = grouping(out)
print(f"grouping {lab}, groups '{groups}'")
check(sorted(set(lab)) == list(range(S)), f"every source used: {lab}")
check(all(lab[r] <= max(lab[:r] + [-1]) + 1 for r in range(R)), f"sources numbered in order of first appearance: {lab}")
want = ",".join("+".join(str(r) for r in range(R) if lab[r] == s) for s in range(S))
check(groups == want, f"groups attribute '{groups}' agrees with source_of_component ('{want}')")
check(how == "ncut" and ns == S, f"grouping '{how}', n_sources {ns}")
with h5py.File(os.path.join(out, "result.h5")) as h:
    mp = h["/separate"].attrs["mask_power"]
check(mp == 2.0, f"mask_power {mp}: 2 by default with --sources")

# rank invariance
one = tmp("one")
run(base + ["-o", one], np_=1)
check(grouping(one) == (lab, groups, how, ns), f"{NP} ranks group as 1 rank: {grouping(one)[0]} vs {lab}")
d1 = np.abs(est - sources(one)).max() / peak
check(d1 < 1e-5, f"{NP} ranks: the sources equal 1 rank's ({d1:.1e} of the peak)")

# determinism: a second run. At 2+ ranks separate's WAVs (with or without
# --sources) can differ in the last bit between identical runs, while W and H
# do not: the reconstruction, not the grouping; so W, H and the grouping are
# compared bit for bit, the WAVs to 1e-6 of the peak.
again = tmp("again")
run(base + ["--no-plot", "-o", again])
check(grouping(again) == grouping(out), "a second run groups alike")
with h5py.File(os.path.join(out, "result.h5")) as a, h5py.File(os.path.join(again, "result.h5")) as b:
    check(all(np.array_equal(a[k][()], b[k][()]) for k in ("/nmf/W", "/nmf/H", "/separate/source_of_component")),
          "two runs: identical W, H and source_of_component")
dd = np.abs(est - sources(again)).max() / peak
check(dd < 1e-6, f"two runs write the same sources ({dd:.1e} of the peak < 1e-6)")

# --group with the recorded list: the same sources
hand = tmp("hand")
run(["separate", inp, "-k", R, "--group", groups, "--beta", "kl", "--max-iter", 150, "--force", "-q", "--no-plot",
     "--mask-power", 2, "-o", hand])
dh = np.abs(est - sources(hand)).max() / peak
check(dh < 1e-6, f"--group '{groups}' gives the same sources ({dh:.1e} of the peak)")

# the other methods
for m in ("peaks", "tiered", "both", "coact", "timbre"):
    o = tmp(m)
    run(base + ["--grouping", m, "--no-plot", "-o", o])
    lm, _, hm, _ = grouping(o)
    check(hm == m and sorted(set(lm)) == list(range(S)) and len(lm) == R, f"--grouping {m}: {lm}")
o = tmp("auto")
run(base + ["--grouping", "auto", "--no-plot", "-o", o])
check(grouping(o) == (lab, groups, "ncut", S), f"--grouping auto at S = 2 is ncut: {grouping(o)}")

# S = 3 on piano + bass + drums: the peaks split itself, rank-invariant
mix3, _ = test_mixture("piano_bass_drums", 8.0, sr, 3001)
inp3 = tmp("mix3.wav")
sf.write(inp3, mix3, sr, subtype="FLOAT")
base3 = ["separate", inp3, "-k", 12, "--sources", 3, "--beta", "kl", "--max-iter", 100, "--force", "-q", "--no-plot"]
o3, o31 = tmp("pbd"), tmp("pbd1")
run(base3 + ["-o", o3])
run(base3 + ["-o", o31], np_=1)
l3, _, h3, n3 = grouping(o3)
print(f"piano_bass_drums grouping {l3}")
check(h3 == "peaks" and n3 == 3 and sorted(set(l3)) == [0, 1, 2] and len(l3) == 12, f"S = 3: grouping '{h3}' {l3}")
check(grouping(o31) == grouping(o3), f"S = 3: {NP} ranks group as 1 rank: {grouping(o31)[0]} vs {l3}")
o3n, o3n1 = tmp("pbd_ncut"), tmp("pbd_ncut1")
run(base3 + ["--grouping", "ncut", "-o", o3n])
run(base3 + ["--grouping", "ncut", "-o", o3n1], np_=1)
l3n, _, h3n, _ = grouping(o3n)
print(f"piano_bass_drums ncut grouping {l3n}")
check(h3n == "ncut" and sorted(set(l3n)) == [0, 1, 2] and len(l3n) == 12, f"S = 3 by ncut: grouping '{h3n}' {l3n}")
check(grouping(o3n1) == grouping(o3n), f"S = 3 by ncut: {NP} ranks group as 1 rank: {grouping(o3n1)[0]} vs {l3n}")

# quality floor
try:
    from mir_eval.separation import bss_eval_sources
    ref = np.array([stems["kick"], stems["snare"]], dtype=np.float64)
    sdr = bss_eval_sources(ref, est + 1e-9 * np.random.default_rng(0).standard_normal(est.shape))[0]
    print(f"SDR {np.round(sdr, 2)} (mean {sdr.mean():.2f} dB)")
    check(sdr.mean() > 12.0, f"mean SDR {sdr.mean():.2f} dB > 12 (a floor; goals in jobs/quality_grouping.py)")
except ImportError:
    check(False, "mir_eval is needed (python3-mir-eval)")


# bad input: one error line, non-zero exit, nothing created
def expect_fail(args, what, words):
    o = tmp("bad")
    p = run(["separate", inp, "-o", o, "-q"] + args, check=False, timeout=60)
    lines = error_lines(p.stderr)
    check(p.returncode != 0, f"{what}: exit code {p.returncode}")
    check(len(lines) == 1 and all(w in lines[0] for w in words), f"{what}: one error line naming {words}: {lines}")
    check(not os.path.exists(o), f"{what}: no output folder")


expect_fail(["-k", 6, "--sources", 2, "--group", "0+1,2+3+4+5"], "--sources with --group", ["--sources", "--group"])
expect_fail(["--source", f"kick={tmp('nodict.h5')}", "--sources", 2], "--sources with --source", ["--sources", "--source"])
expect_fail(["-k", 3, "--sources", 4], "S > R", ["--sources", "4"])
expect_fail(["-k", 3, "--sources", 0], "S = 0", ["--sources", ">= 1"])
expect_fail(["-k", 3, "--sources", -2], "S < 0", ["--sources", ">= 1"])
expect_fail(["-k", 3, "--sources", 2, "--grouping", "mfcc"], "unknown --grouping", ["--grouping", "mfcc"])
expect_fail(["-k", 3, "--grouping", "coact"], "--grouping without --sources", ["--grouping", "--sources"])
finish()
