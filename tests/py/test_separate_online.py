#!/usr/bin/python3
"""separate --solver online at SN_NP ranks holds no V: the frames go to a
scratch file (--scratch) piece by piece, pooled for overview.png on the way.
Checks against `nmf --solver online` on the stored spectrogram of the same
input (same V, same options): W equal within 1e-5 relative; the parts add up
to the mixture (mask reconstruction, within 1e-5 of the peak) both through
the block reconstruction (default) and in memory (--block-seconds 0);
result.h5 holds W and H but no V; a stereo input keeps its channels and its
parts add up per channel; the scratch folder is left empty."""
import os

import h5py
import numpy as np
import soundfile as sf

from sn_testlib import NP, check, finish, run, tmp

sr = 22050
rng = np.random.default_rng(11)
n = int(14 * sr)
t = np.arange(n) / sr
x = (0.3 * np.sin(2 * np.pi * 220 * t) * (t % 1.0 < 0.5) + 0.2 * np.sin(2 * np.pi * 330 * t) * (t % 0.7 > 0.3)
     + 0.01 * rng.standard_normal(n)).astype(np.float32)
wav = tmp("mix.wav")
sf.write(wav, x, sr, subtype="FLOAT")
spec = tmp("mix_spec.h5")
run(["stft", wav, "-o", spec, "--force", "-q"], np_=1)
scratch = tmp("scratch")
os.makedirs(scratch, exist_ok=True)
opts = ["-k", "4", "--beta", "kl", "--solver", "online", "--batch-size", "128", "--max-iter", "3", "--tol", "0",
        "--init", "random", "--tile", "256", "--scratch", scratch]
run(["nmf", spec, "-o", tmp("ref.h5"), "--force", "-q"] + opts)
W_ref = h5py.File(tmp("ref.h5"))["/nmf/W"][()].astype(np.float64)
for tag, extra in (("blocks", []), ("in memory", ["--block-seconds", "0"])):
    out = tmp("out_" + tag.replace(" ", "_"))
    run(["separate", wav, "-o", out, "--force", "-q"] + opts + extra, timeout=200)
    with h5py.File(os.path.join(out, "result.h5")) as h:
        W = h["/nmf/W"][()].astype(np.float64)
        check("/stft/magnitude" not in h, f"{tag}: result.h5 holds no V (online does not hold it)")
        check(h["/nmf/H"].shape[1] > 0, f"{tag}: result.h5 holds H")
    rel = float(np.abs(W - W_ref).max() / np.abs(W_ref).max())
    check(rel < 1e-5, f"{tag}: W equals nmf --solver online on the stored V (rel {rel:.1e} < 1e-5)")
    parts = [sf.read(os.path.join(out, f"component-{g:02d}.wav"), dtype="float32")[0] for g in range(4)]
    err = float(np.abs(sum(p.astype(np.float64) for p in parts) - x).max() / np.abs(x).max())
    check(err < 1e-5, f"{tag}: the parts add up to the mixture ({err:.1e} of the peak < 1e-5)")
    check(os.path.exists(os.path.join(out, "overview.png")), f"{tag}: overview.png written")
# a stereo input: the model's V is the channels' reduced magnitude (streamed to the scratch file the
# same way), the parts keep both channels and add up to the mixture channel by channel
xs = np.stack([x, 0.6 * x[::-1] + 0.01 * rng.standard_normal(n).astype(np.float32)], axis=1).astype(np.float32)
wav2 = tmp("mix2.wav")
sf.write(wav2, xs, sr, subtype="FLOAT")
out2 = tmp("out_stereo")
run(["separate", wav2, "-o", out2, "--force", "-q"] + opts, timeout=200)
parts = [sf.read(os.path.join(out2, f"component-{g:02d}.wav"), dtype="float32")[0] for g in range(4)]
check(all(p.shape == xs.shape for p in parts), f"stereo: the parts keep 2 channels ({parts[0].shape})")
err = float(np.abs(sum(p.astype(np.float64) for p in parts) - xs).max() / np.abs(xs).max())
check(err < 1e-5, f"stereo: the parts add up to the mixture per channel ({err:.1e} of the peak < 1e-5)")
check(os.listdir(scratch) == [], f"the scratch folder is left empty ({os.listdir(scratch)})")
finish()
