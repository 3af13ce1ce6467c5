#!/usr/bin/python3
"""Multichannel input at SN_NP ranks (issue 11): the channel rule of stft and
learn, separate's parts per channel (they keep the channel count and add up
to the mixture channel by channel; made block by block by default, equal to
the in-memory parts of --block-seconds 0 within 1e-6 of the peak), --mono as before (equal to a run on a file
down-mixed here), --channel K, the refusal of a dictionary made under another
rule, and bad channel options. The same numbers at 1, 2 and 3 ranks: every
separate is compared with a 1-rank run of the same command."""
import glob
import os
import sys

import h5py
import numpy as np
import soundfile as sf

from sn_testlib import MPIRUN, NP, check, expect_fail, finish, run, stft, tmp

sr, n_fft, hop = 8000, 256, 64
rng = np.random.default_rng(11)
n = int(1.5 * sr)
t = np.arange(n) / sr
tone = np.sin(2 * np.pi * 440 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 1.3 * t))
noise = rng.standard_normal(n) * 0.1 * (np.sin(2 * np.pi * 2.1 * t) > 0)
low = 0.4 * np.sin(2 * np.pi * 150 * t) * (np.sin(2 * np.pi * 0.7 * t) > 0)
six = np.stack([0.8 * tone + 0.2 * noise, 0.3 * tone + 0.7 * noise + low, 0.5 * tone, 0.4 * noise,
                0.1 * tone + 0.1 * noise + 0.5 * low, 0.6 * tone - 0.2 * noise], 1).astype(np.float32)
st = six[:, :2]
f_st, f_six, f_dm, f_mono = tmp("st.wav"), tmp("six.wav"), tmp("dm.wav"), tmp("mono.wav")
sf.write(f_st, st, sr, subtype="FLOAT")
sf.write(f_six, six, sr, subtype="FLOAT")
sf.write(f_dm, ((st[:, 0].astype(np.float64) + st[:, 1]) / 2).astype(np.float32), sr, subtype="FLOAT")
sf.write(f_mono, six[:, 2], sr, subtype="FLOAT")
STFT = ["--n-fft", n_fft, "--hop", hop]
NMF = ["-k", 3, "--max-iter", 30, "--seed", 1]


def parts(d):
    return [sf.read(f, dtype="float32", always_2d=True)[0] for f in sorted(glob.glob(os.path.join(d, "component-*.wav")))]


def separate(inp, out, extra=(), np_=None):
    run(["separate", inp, "-o", out, "--force", "--no-plot"] + NMF + STFT + list(extra), np_=np_)
    return parts(out)


def same_at_one_rank(inp, out, got, extra, what):
    """The same command at 1 rank gives the same parts (rank-count invariance)."""
    if NP == 1:
        return
    ref = separate(inp, out + "-np1", extra, np_=1)
    d = max(float(np.abs(a - b).max()) for a, b in zip(got, ref))
    check(len(ref) == len(got) and d <= 1e-5 * max(float(np.abs(a).max()) for a in ref),
          f"{what}: {NP} ranks equal 1 rank (max diff {d:.2e})")


# ---- stft: the rules against numpy ----
mags = [np.abs(stft(st[:, c], n_fft, hop)) for c in range(2)]
for rule, want in [("mag-mean", (mags[0] + mags[1]) / 2), ("rms", np.sqrt((mags[0] ** 2 + mags[1] ** 2) / 2))]:
    out = tmp(f"v-{rule}.h5")
    run(["stft", f_st, "-o", out, "--channel-rule", rule, "--force"] + STFT)
    with h5py.File(out) as f:
        V = f["/stft/magnitude"][()]
        a = dict(f["/stft/magnitude"].attrs)
    check(V.shape == want.shape and np.abs(V - want).max() <= 1e-5 * want.max(), f"stft {rule}: V = reduced |X_c|")
    check(a.get("channels") == 2 and a.get("channel_rule") in (rule, rule.encode()), f"stft {rule}: attributes {a.get('channels')}, {a.get('channel_rule')}")
run(["stft", f_st, "-o", tmp("v-default.h5"), "--force"] + STFT)
with h5py.File(tmp("v-default.h5")) as f:
    rule = f["/stft/magnitude"].attrs["channel_rule"]
check((rule.decode() if isinstance(rule, bytes) else rule) == "mag-mean", "stft: default rule mag-mean")
run(["stft", f_st, "-o", tmp("v-ch1.h5"), "--channel", 1, "--force"] + STFT)
with h5py.File(tmp("v-ch1.h5")) as f:
    V = f["/stft/magnitude"][()]
check(np.abs(V - mags[1]).max() <= 1e-5 * mags[1].max(), "stft --channel 1: channel 1 only")

# ---- separate: parts per channel add up to the mixture, channel count kept ----
for inp, C, name in [(f_st, 2, "stereo"), (f_six, 6, "6-channel")]:
    x = sf.read(inp, dtype="float32", always_2d=True)[0]
    for recon in ["mask", "phase"]:
        out = tmp(f"sep-{name}-{recon}")
        extra = ["--reconstruct", recon]
        p = separate(inp, out, extra)
        check(len(p) == 3 and all(q.shape == (n, C) for q in p), f"{name} {recon}: 3 parts of {C} channels")
        with h5py.File(os.path.join(out, "result.h5")) as f:
            rep = f["/separate"].attrs["report"]
            ch_attr = int(f["/separate"].attrs["channels"])
        rep = rep.decode() if isinstance(rep, bytes) else rep
        check('"parts_block_frames"' in rep, f"{name} {recon}: the parts made block by block (the default)")
        if recon == "mask":
            err = max(float(np.abs(sum(p)[:, c] - x[:, c]).max()) for c in range(C))
            check(err <= 1e-5 * float(np.abs(x).max()), f"{name} mask: parts add up per channel (max err {err:.2e})")
            check(ch_attr == C, f"{name}: result.h5 /separate channels = {C}")
            check(f'"output_channels": {C}' in rep and f'"channels": {C}' in rep, f"{name}: the report records the channels")
        # the parts made from the whole span in memory (--block-seconds 0): the same
        p0 = separate(inp, out + "-mem", extra + ["--block-seconds", 0])
        d = max(float(np.abs(a - b).max()) for a, b in zip(p, p0))
        pk = max(float(np.abs(a).max()) for a in p0)
        check(len(p0) == len(p) and d <= 1e-6 * pk, f"{name} {recon}: blocks equal the in-memory parts ({d / pk:.1e} of the peak)")
        # blocks of 7 frames (do not divide a rank's span)
        p7 = separate(inp, out + "-b7", extra + ["--block-seconds", 7 * hop / sr])
        d = max(float(np.abs(a - b).max()) for a, b in zip(p7, p0))
        check(len(p7) == len(p) and d <= 1e-6 * pk, f"{name} {recon}: blocks of 7 frames equal the in-memory parts ({d / pk:.1e})")
        same_at_one_rank(inp, out, p, extra, f"{name} {recon}")

# ---- --mono: the old behaviour, equal to a run on the file down-mixed here ----
p_mono = separate(f_st, tmp("sep-mono"), ["--mono"])
p_dm = separate(f_dm, tmp("sep-dm"))
d = max(float(np.abs(a - b).max()) for a, b in zip(p_mono, p_dm))
check(all(q.shape == (n, 1) for q in p_mono) and d <= 1e-6, f"--mono: mono parts equal the down-mixed run ({d:.1e})")
# --channel K: that channel only, written as one channel
p_ch = separate(f_six, tmp("sep-ch4"), ["--channel", 4])
x4 = six[:, 4]
err = float(np.abs(sum(p_ch)[:, 0] - x4).max())
check(all(q.shape == (n, 1) for q in p_ch) and err <= 1e-5 * float(np.abs(x4).max()), f"--channel 4: mono parts of channel 4 ({err:.1e})")
# griffinlim: parts are mono (documented)
p_gl = separate(f_st, tmp("sep-gl"), ["--reconstruct", "griffinlim", "--gl-iter", 4])
check(all(q.shape == (n, 1) for q in p_gl), "griffinlim: mono parts")

# ---- learn over files of different channel counts: each reduced by the rule ----
LEARN = ["--name", "mix", "-k", 3, "--max-iter", 20, "--seed", 1] + STFT
run(["learn", f_mono, f_st, f_six, "-o", tmp("d-audio.h5"), "--force"] + LEARN)
run(["stft", f_six, "-o", tmp("v-six.h5"), "--force"] + STFT)
run(["learn", f_mono, tmp("v-default.h5"), tmp("v-six.h5"), "-o", tmp("d-spec.h5"), "--force"] + LEARN)
with h5py.File(tmp("d-audio.h5")) as f, h5py.File(tmp("d-spec.h5")) as g:
    Wa, Ws = f["/dict/W"][()], g["/dict/W"][()]
    ra = f["/dict/W"].attrs["channel_rule"]
    ca = int(f["/dict/W"].attrs["channels"])
check(np.abs(Wa - Ws).max() <= 1e-4 * Ws.max(), "learn 1+2+6 channels = learn on their stored rule spectrograms")
check((ra.decode() if isinstance(ra, bytes) else ra) == "mag-mean" and ca == 6, "learn: the dictionary records mag-mean, 6 channels")
# a stored spectrogram made under another rule is refused by learn --mono
expect_fail(["learn", f_mono, tmp("v-default.h5"), "-o", tmp("d-bad.h5"), "--mono"] + LEARN, "learn --mono over a mag-mean spectrogram",
            [tmp("v-default.h5"), "channel_rule"], None, [tmp("d-bad.h5")])

# ---- a dictionary learned under --mono, on a default run: refused, naming the file ----
d_mono = tmp("d-mono.h5")
run(["learn", f_st, "-o", d_mono, "--force", "--mono"] + LEARN)
out = tmp("sep-refused")
expect_fail(["separate", f_st, "--source", f"mix={d_mono}", "-o", out] + STFT, "--mono dictionary on a default run",
            [d_mono, "channel_rule"], None, [out])
run(["separate", f_st, "--source", f"mix={d_mono}", "-o", tmp("sep-mono-dict"), "--force", "--no-plot", "--mono",
     "--max-iter", 5] + STFT)
check(os.path.exists(tmp("sep-mono-dict/mix.wav")), "the --mono dictionary on a --mono run")

# ---- bad channel options: one error line, non-zero exit, no output ----
out = tmp("sep-bad")
expect_fail(["separate", f_st, "-o", out, "--channel", 2] + NMF + STFT, "--channel out of range", [f_st, "channel 2"], None, [out])
expect_fail(["separate", f_st, "-o", out, "--mono", "--channel", 0] + NMF + STFT, "--mono with --channel", ["--mono", "--channel"], 2, [out])
expect_fail(["separate", f_st, "-o", out, "--channel-rule", "max"] + NMF + STFT, "bad --channel-rule", ["--channel-rule"], 2, [out])
expect_fail(["stft", f_st, "-o", tmp("bad.h5"), "--channel", 7] + STFT, "stft --channel out of range", [f_st, "channel 7"], None,
            [tmp("bad.h5")])
expect_fail(["learn", f_st, "-o", tmp("bad.h5"), "--mono", "--channel", 1] + LEARN, "learn --mono with --channel",
            ["--mono", "--channel"], 2, [tmp("bad.h5")])
# ---- the WAV writer: any channel count, interleaved, at SN_NP ranks ----
TOOL = sys.argv[1] if len(sys.argv) > 1 else None
if TOOL:
    import subprocess
    for N, C, extra in [(10007, 2, []), (10007, 6, ["--chunk", 1000]), (5003, 3, ["--rf64", "--pieces", 2]), (1, 8, [])]:
        out = tmp("w_%d_%d%s.wav" % (N, C, "_rf64" if "--rf64" in extra else ""))
        p = subprocess.run(MPIRUN + [TOOL, "wav", str(N), "22050", out, "--channels", str(C)] + [str(a) for a in extra],
                           capture_output=True, text=True, timeout=120)
        ok = p.returncode == 0 and os.path.exists(out)
        if ok:
            y, r = sf.read(out, dtype="float32", always_2d=True)
            i = np.arange(N * C, dtype=np.int64)
            want = (((i * 7919) % 65536 - 32768) / 32768.0).astype(np.float32).reshape(N, C)
            info = sf.info(out)
            ok = (r == 22050 and y.shape == (N, C) and np.array_equal(y, want)
                  and os.path.getsize(out) == (116 if C > 2 else 94) + 4 * N * C
                  and info.format == ("RF64" if "--rf64" in extra else "WAVEX" if C > 2 else "WAV"))
        check(ok, "sn_wav %d frames x %d channels %s: soundfile reads back the interleaved samples" % (N, C, " ".join(map(str, extra))))
finish()
