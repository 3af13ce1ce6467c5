#!/usr/bin/python3
"""specnmf separate --source at SN_NP ranks (named dictionaries held fixed).

Dictionaries are learned (specnmf learn, KL) from other material of each
instrument than the mixture (examples/make_example.py stems, other seconds),
then:
- all columns fixed: NAME.wav per source, and they add up to the mixture
  (soft mask, 1e-5 of the peak); the same files as the hand-glued pipeline
  (W's glued with h5py into /nmf/W, separate --fix-W -k 12 --group ...
  --mask-power 2, the default with --source;
  1e-5 of the peak), since both hold the same W and start H alike;
- --free 3: rest.wav, and sources + rest add up to the mixture; equal to the
  hand-glued --fix-W -k 15 --group run (1e-5);
- result.h5 records the names, each source's columns, the fixed count and the
  beta taken from the dictionaries; no W sums reduced (bytes in the report);
- SN_NP ranks equal 1 rank (1e-5 of the peak);
- --adapt 15: equal to the hand pipeline that starts a joint W, H NMF
  (separate -k 12 --init RESULT.h5 --group ..., 15 iterations) from the held-fixed
  run's W and H (1e-5 of the peak); W moved off the dictionaries, no fixed
  columns recorded; the parts add up to the mixture; SN_NP ranks equal 1 rank;
- --adapt of a run that would stream keeps V in a scratch file, read in chunks
  (several per rank): equal to V in memory at --tol 0 (1e-5 of the peak) at 1
  and SN_NP ranks, and result.h5 has H but no V (OUTDIR's parents made by the
  run, the scratch file in their nearest existing ancestor);
- overcomplete dictionaries (n_fft 64: 33 bins, 3 x 16 = 48 fixed columns) are
  accepted, since only H is learned: the sources add up to the mixture, and
  SN_NP ranks equal 1 rank."""
import json
import os
import sys

import h5py
import numpy as np
import soundfile as sf

from sn_testlib import NP, SRC, check, finish, run, tmp

sys.path.insert(0, os.path.join(SRC, "examples"))
from make_example import make_stems  # noqa: E402

sr = 22050
names = ["piano", "bass", "drums"]
st = make_stems("piano_bass_drums", 9.0, sr)
cut = 6 * sr  # train on the first 6 s, separate the last 3 s
dicts = {}
for n in names:
    wav = tmp(f"train_{n}.wav")
    sf.write(wav, st[n][:cut].astype(np.float32), sr, subtype="FLOAT")
    dicts[n] = tmp(f"{n}.h5")
    # --context 0: plain frames, the dictionaries the hand-glued --fix-W pipeline takes (separate_context tests the
    # stacked ones)
    run(["learn", wav, "--name", n, "-k", "4", "--context", "0", "--max-iter", "80", "-o", dicts[n], "--force", "-q"],
        np_=1)
stems = np.array([st[n][cut:] for n in names])
mix = stems.sum(axis=0).astype(np.float32)
inp = tmp("mix.wav")
sf.write(inp, mix, sr, subtype="FLOAT")
peak = float(np.abs(mix).max())

# the hand-glued dictionary a user builds today: /nmf/W with the attributes copied
glued = tmp("glued.h5")
with h5py.File(glued, "w") as g:
    Ws = [h5py.File(dicts[n])["/dict/W"][()] for n in names]
    d = g.create_dataset("/nmf/W", data=np.hstack(Ws))
    for k, v in h5py.File(dicts[names[0]])["/dict/W"].attrs.items():
        if k in ("sample_rate", "n_fft", "hop_length", "win_length", "window", "center", "power"):
            d.attrs[k] = v
srcs = sum((["--source", f"{n}={dicts[n]}"] for n in names), [])


def read(folder, files):
    return np.array([sf.read(os.path.join(folder, f + ".wav"), dtype="float64")[0] for f in files])


for free in (0, 3):
    tag = f"--free {free}"
    out = tmp(f"out{free}")
    rep = tmp(f"rep{free}.json")
    run(["separate", inp, "-o", out, "--force", "-q", "--max-iter", "60", "--report", rep] + srcs
        + (["--free", free] if free else []))
    parts = names + (["rest"] if free else [])
    est = read(out, parts)
    check(all(os.path.exists(os.path.join(out, p + ".wav")) for p in parts)
          and os.path.exists(os.path.join(out, "rest.wav")) == bool(free), f"{tag}: files {parts}")
    err = np.abs(est.sum(axis=0) - mix).max() / peak
    check(err < 1e-5, f"{tag}: the parts add up to the mixture ({err:.1e} of the peak < 1e-5)")
    k = 12 + free
    groups = ",".join("+".join(str(4 * s + j) for j in range(4)) for s in range(3))
    if free:
        groups += "," + "+".join(str(12 + j) for j in range(free))
    hand = tmp(f"hand{free}")
    # all columns fixed streams: exactly --max-iter H updates, so the batch
    # pipeline runs them all too (--tol 0)
    run(["separate", inp, "-o", hand, "--force", "-q", "--max-iter", "60", "-k", k, "--fix-W", glued,
         "--beta", "kl", "--group", groups, "--mask-power", 2] + ([] if free else ["--tol", "0"]))
    ref = read(hand, [f"source-{s:02d}" for s in range(len(parts))])
    d = np.abs(est - ref).max() / peak
    check(d < 1e-5, f"{tag}: equal to the hand-glued --fix-W --group pipeline ({d:.1e} of the peak < 1e-5)")
    one = tmp(f"one{free}")
    run(["separate", inp, "-o", one, "--force", "-q", "--max-iter", "60"] + srcs + (["--free", free] if free else []),
        np_=1)
    d1 = np.abs(est - read(one, parts)).max() / peak
    check(d1 < 1e-5, f"{tag}: {NP} ranks equal 1 rank ({d1:.1e} of the peak)")
    with h5py.File(os.path.join(out, "result.h5")) as h:
        check(h["/separate"].attrs["source_names"] == ",".join(parts), f"{tag}: source_names {h['/separate'].attrs['source_names']}")
        cols = [list(h[f"/separate/sources/{p}/components"][()].astype(int)) for p in parts]
        want = [list(range(4 * s, 4 * s + 4)) for s in range(3)] + ([list(range(12, 12 + free))] if free else [])
        check(cols == want, f"{tag}: each source's columns recorded")
        check(h["/nmf"].attrs["n_fixed"] == 12 and h["/nmf"].attrs["beta"] == 1.0 and h["/nmf/W"].shape == (1025, k),
              f"{tag}: 12 fixed columns, beta 1 from the dictionaries, W (1025, {k})")
        check(h["/separate"].attrs["mask_power"] == 2.0, f"{tag}: --mask-power 2 by default with --source")
        Wr = h["/nmf/W"][()]
        check(np.array_equal(Wr[:, :12], np.hstack(Ws)), f"{tag}: the dictionaries held fixed")
    if NP > 1:
        # every column fixed: no W sums (F x R doubles each) cross the ranks in 60 iterations
        b = json.load(open(rep))["bytes_reduced"]
        one_w_sum = 1025 * 12 * 8
        check((b < one_w_sum) == (free == 0), f"{tag}: {b} bytes reduced per rank ({'<' if free == 0 else '>'} one W sum, {one_w_sum})")
    SDR = None
    try:
        import mir_eval
        SDR = mir_eval.separation.bss_eval_sources(stems, est[:3])[0]
        print(f"{tag}: SDR {np.round(SDR, 2)} (mean {SDR.mean():.2f} dB)")
        check(SDR.mean() > 3.0, f"{tag}: mean SDR {SDR.mean():.2f} dB > 3 (a sanity floor: the quality goal is measured in jobs/)")
    except ImportError:
        check(False, "mir_eval is needed (python3-mir-eval)")
# --adapt: the held-fixed run's W and H start 15 joint iterations, as --init FILE does by hand
base = tmp("adapt_base")
run(["separate", inp, "-o", base, "--force", "-q", "--no-plot", "--max-iter", "60", "--tol", "0", "--block-seconds", "0"]
    + srcs)
groups = ",".join("+".join(str(4 * s + j) for j in range(4)) for s in range(3))
hand = tmp("adapt_hand")
run(["separate", inp, "-o", hand, "--force", "-q", "--no-plot", "-k", 12, "--init", os.path.join(base, "result.h5"),
     "--beta", "kl", "--group", groups, "--max-iter", "15", "--tol", "0", "--mask-power", 2])
ad = {}
for np_ in sorted({1, NP}):
    ad[np_] = tmp(f"adapt{np_}")
    run(["separate", inp, "-o", ad[np_], "--force", "-q", "--no-plot", "--max-iter", "60", "--tol", "0", "--adapt", "15"]
        + srcs, np_=np_)
est = read(ad[NP], names)
d = float(np.abs(est - read(hand, [f"source-{s:02d}" for s in range(3)])).max()) / peak
check(d < 1e-5, f"--adapt 15: equal to --init RESULT.h5 -k 12 --group, 15 joint iterations ({d:.1e} of the peak)")
err = float(np.abs(est.sum(axis=0) - mix).max()) / peak
check(err < 1e-5, f"--adapt: the sources add up to the mixture ({err:.1e} of the peak)")
d1 = float(np.abs(est - read(ad[1], names)).max()) / peak
check(d1 < 1e-5, f"--adapt: {NP} ranks equal 1 rank ({d1:.1e} of the peak)")
with h5py.File(os.path.join(ad[NP], "result.h5")) as h:
    Wa = h["/nmf/W"][()]
    check(h["/nmf"].attrs["n_fixed"] == 0 and not np.array_equal(Wa, np.hstack(Ws)),
          "--adapt: W moved off the dictionaries, no fixed columns recorded")
# --adapt where the run would stream: V in a scratch file, read a chunk at a time (SPECNMF_READ_CHUNK 32
# frames, --tile 16: several uneven chunks per rank), the held-fixed start found chunk by chunk with
# exactly --max-iter updates: equal to the in-memory path at --tol 0 (1e-5 of the peak) at 1 and SN_NP ranks
mem = tmp("adapt_mem")
common = ["--force", "-q", "--no-plot", "--max-iter", "40", "--tol", "0", "--adapt", "7", "--tile", "16"] + srcs
run(["separate", inp, "-o", mem, "--block-seconds", "0"] + common)
ref = read(mem, names)
os.environ["SPECNMF_READ_CHUNK"] = "32"
for np_ in sorted({1, NP}):
    sc = os.path.join(tmp(f"adapt_scratch{np_}"), "made", "here")  # its parents too: the scratch goes above
    rep = tmp(f"adapt_scratch{np_}.json")
    run(["separate", inp, "-o", sc, "--report", rep] + common, np_=np_)
    d = float(np.abs(read(sc, names) - ref).max()) / peak
    check(d < 1e-5, f"--adapt, V in a scratch file at {np_} rank(s): equal to V in memory ({d:.1e} of the peak)")
    facts = json.load(open(rep))["facts"]
    check(facts.get("v_in_scratch") == 1 and facts.get("n_iter") == 47, f"--adapt: V was not held, 40 + 7 iterations ({facts.get('n_iter')})")
    with h5py.File(os.path.join(sc, "result.h5")) as h:
        check("/stft" not in h and h["/nmf/H"].shape[1] == len(ref[0]) // 512 + 1,
              "--adapt, V in a scratch file: result.h5 keeps H, not V")
del os.environ["SPECNMF_READ_CHUNK"]
# overcomplete: more held-fixed columns (48) than bins (33)
small = {}
for n in names:
    small[n] = tmp(f"{n}.small.h5")
    run(["learn", tmp(f"train_{n}.wav"), "--name", n, "-k", "16", "--context", "0", "--n-fft", "64", "--max-iter", "30", "-o", small[n],
         "--force", "-q"], np_=1)
sm = sum((["--source", f"{n}={small[n]}"] for n in names), [])
outs = {}
for np_ in sorted({1, NP}):
    outs[np_] = tmp(f"over{np_}")
    run(["separate", inp, *sm, "--n-fft", "64", "-o", outs[np_], "--force", "-q", "--no-plot"], np_=np_)
est = read(outs[NP], names)
err = float(np.abs(est.sum(axis=0) - mix).max()) / peak
check(err < 1e-5, f"overcomplete (48 columns, 33 bins): the sources add up to the mixture ({err:.1e} of the peak)")
with h5py.File(os.path.join(outs[NP], "result.h5")) as h:
    check(h["/nmf/W"].shape == (33, 48), f"overcomplete: W {h['/nmf/W'].shape} held as given")
d1 = float(np.abs(est - read(outs[1], names)).max()) / peak
check(d1 < 1e-5, f"overcomplete: {NP} ranks equal 1 rank ({d1:.1e} of the peak)")
finish()
