#!/usr/bin/python3
"""Streamed fixed-dictionary separation (separate --source ... --block-seconds) at SN_NP ranks.

Tiny generated data (8 kHz, n_fft 256, hop 64) and three random 4-column
dictionaries (KL):
- block sizes that do not divide any rank's span (5, 7, 38 frames), blocks
  shorter than a rank's span, --reconstruct phase: every source within 1e-5 of
  the peak of one block holding the whole file; equal (1e-5) to the in-memory
  path (--block-seconds 0 --tol 0: the same --max-iter updates); and within
  1e-4 of a numpy oracle of the whole pipeline (STFT, sklearn's KL MU for H
  from sqrt(mean(v_t)/k) per frame, soft masks, librosa's ISTFT);
- --fix-W of every column (with --group) streams too, equal to --source;
- recordings of 2, 4 and 6 frames: at 3 ranks a rank holds no frame, or one;
  same oracle;
- kill and resume by block (--checkpoint-every 1, a stereo input): SIGKILL of the whole job at
  random points after its first checkpoint, resumed (--resume) until done: WAVs bit-identical to an
  uninterrupted run; SIGUSR1 to mpirun: exit 10, one error line, no final
  output, the resume ends bit-identical;
- bad inputs, one error line each, non-zero exit and no output: a block shorter
  than n_fft; a resume after a dictionary file changed (fingerprint); a resume
  without a checkpoint; --block-seconds with Griffin-Lim parts;
- learned columns (--free 2): the NMF holds V and the mono parts are made in
  blocks (one, 7 and 38 frames; mask and phase), each within 1e-6 of the peak
  of the parts made from the whole span in memory (--block-seconds 0);
- stereo and 6-channel inputs (mag-mean and rms; mask and phase), streamed
  (--source) and made in blocks (--free 2) of 7, 38 frames and one block: the
  parts keep the channels, equal the in-memory path within 1e-6 of the peak and
  add up to the mixture per channel (1e-5); 2 and 6 frames of stereo; the
  kill-and-resume runs above are on a stereo input, and a --mono resume of its
  checkpoint is refused (fingerprint)."""
import os
import random
import shutil
import signal
import subprocess
import time

import h5py
import numpy as np
import soundfile as sf

from separate_common import istft
from sn_testlib import MPIRUN, NP, SPECNMF, check, error_lines, expect_fail, finish, kill_job, run, stft, tmp

SR, NFFT, HOP, K = 8000, 256, 64, 4
F = NFFT // 2 + 1
EPS = np.finfo(np.float32).eps
names = ["a", "b", "c"]
rng = np.random.default_rng(12)
dicts = {}
Ws = {}
for i, n in enumerate(names):
    W = rng.uniform(0.05, 1.0, (F, K))
    W[:, :] *= np.exp(-((np.arange(F)[:, None] - 20 * (i + 1)) / 25.0) ** 2) + 0.05  # each source its own band
    Ws[n] = W.astype(np.float32)
    dicts[n] = tmp(f"{n}.h5")
    with h5py.File(dicts[n], "w") as f:
        f["/dict/W"] = Ws[n]
# --mask-power 1: the oracle's soft mask (with --source the default is 2)
srcs = sum((["--source", f"{n}={dicts[n]}"] for n in names), []) + ["--mask-power", "1"]
stft_opts = ["--n-fft", NFFT, "--hop", HOP, "--beta", "kl"]


def make_audio(path, n):
    t = np.arange(n) / SR
    y = (0.5 * np.sin(2 * np.pi * 300 * t) + 0.3 * np.sin(2 * np.pi * 1100 * t + 1)
         + 0.2 * rng.standard_normal(n) * (1 + np.sin(2 * np.pi * 3 * t)))
    y = y.astype(np.float32)
    sf.write(path, y, SR, subtype="FLOAT")
    return y


def make_multi(path, n, C):
    """C channels of make_audio's kind, each its own noise and gain."""
    x = np.stack([make_audio(tmp("mc-one.wav"), n) for _ in range(C)], axis=1) * np.linspace(1.0, 0.4, C)[None, :]
    x = x.astype(np.float32)
    sf.write(path, x, SR, subtype="FLOAT")
    return x.astype(np.float64)


def separate(inp, out, block, extra=(), check_=True):
    return run(["separate", inp, "-o", out, "--force", "-q", "--block-seconds", block] + srcs + stft_opts
               + [str(a) for a in extra], check=check_)


def read(out):
    return np.array([sf.read(os.path.join(out, n + ".wav"), dtype="float64")[0] for n in names])


def oracle(y, n_iter, recon="mask", power=1.0):
    X = stft(y, n_fft=NFFT, hop=HOP)
    V = np.abs(X)
    W = np.hstack([Ws[n] for n in names]).astype(np.float64)
    R = W.shape[1]
    H = np.tile(np.sqrt(V.mean(axis=0) / R), (R, 1))
    den = W.sum(axis=0)[:, None]
    for _ in range(n_iter):  # sklearn 1.2 _multiplicative_update_h, beta = 1
        WH = W @ H
        WH[WH < EPS] = EPS
        H *= (W.T @ (V / WH)) / den
    # the soft mask of power p: sum over a source's components of (W_k h_k)^p over the same sum over all
    WH = sum(np.outer(W[:, k], H[k]) ** power for k in range(R))
    outs = []
    for s in range(3):
        WsH = W[:, 4 * s:4 * s + 4] @ H[4 * s:4 * s + 4]
        if recon == "mask":
            WsH = sum(np.outer(W[:, k], H[k]) ** power for k in range(4 * s, 4 * s + 4))
            M = np.where(WH > np.finfo(np.float32).tiny, WsH / np.maximum(WH, 1e-300), 4.0 / R)
            Y = M * X
        else:
            ph = np.where(np.abs(X) > 0, X / np.maximum(np.abs(X), 1e-300), 1.0)
            Y = WsH * ph
        outs.append(istft(Y, n_fft=NFFT, hop=HOP, length=len(y)))
    return np.array(outs)


def rel(a, b, peak):
    return float(np.abs(a - b).max() / peak) if a.shape == b.shape else float("inf")


# ---- block sizes: 5, 7 and 38 frames against one block of the whole file ----
mid = tmp("mid.wav")
y = make_audio(mid, 2 * SR + 37)  # 252 frames
peak = float(np.abs(y).max())
separate(mid, tmp("ref"), 100, ["--max-iter", 30])
ref = read(tmp("ref"))
for bs, fr in ((0.04, 5), (0.056, 7), (0.3, 38)):
    out = tmp(f"b{fr}")
    separate(mid, out, bs, ["--max-iter", 30])
    with h5py.File(os.path.join(out, "result.h5")) as f:
        blk = int(f["/separate"].attrs["stream_block_frames"])
        noV = "/stft/magnitude" not in f and "/nmf/H" not in f and f["/nmf/W"].shape == (F, 12)
    check(blk == fr, f"--block-seconds {bs}: {blk} frames per block ({fr})")
    check(noV, f"--block-seconds {bs}: result.h5 holds W, no V, no H")
    d = rel(read(out), ref, peak)
    check(d < 1e-5, f"blocks of {fr} frames equal one block ({d:.1e} of the peak < 1e-5)")
d = rel(ref, oracle(y, 30), peak)
check(d < 1e-4, f"one block equals the numpy oracle ({d:.1e} of the peak < 1e-4)")
d = rel(ref.sum(axis=0), y.astype(np.float64), peak)
check(d < 1e-5, f"the sources add up to the mixture ({d:.1e} of the peak)")
# --mask-power 2 (the default with --source) and 1.5, streamed and in memory, against the oracle
for pw in (2, 1.5):
    for bs in (0.056, 0):
        out = tmp(f"pw{pw}-{bs}")
        separate(mid, out, bs, ["--max-iter", 30, "--mask-power", pw] + (["--tol", 0] if bs == 0 else []))
        d = rel(read(out), oracle(y, 30, power=pw), peak)
        check(d < 1e-4, f"--mask-power {pw}, {'in memory' if bs == 0 else 'blocks of 7 frames'}: equal to the "
                        f"numpy oracle ({d:.1e} of the peak < 1e-4)")
mem = tmp("inmem")
separate(mid, mem, 0, ["--max-iter", 30, "--tol", 0])
d = rel(read(mem), ref, peak)
check(d < 1e-5, f"equal to the in-memory path with --tol 0 ({d:.1e} of the peak < 1e-5)")
separate(mid, tmp("ph7"), 0.056, ["--max-iter", 30, "--reconstruct", "phase"])
separate(mid, tmp("ph1"), 100, ["--max-iter", 30, "--reconstruct", "phase"])
pref = read(tmp("ph1"))
d = rel(read(tmp("ph7")), pref, peak)
check(d < 1e-5, f"--reconstruct phase: blocks of 7 frames equal one block ({d:.1e})")
d = rel(pref, oracle(y, 30, "phase"), np.abs(pref).max())
check(d < 1e-4, f"--reconstruct phase: equal to the numpy oracle ({d:.1e} < 1e-4)")

# ---- learned columns (--free): the NMF holds V, the parts are made in blocks ----
free_opts = ["--free", 2, "--max-iter", 20, "--tol", 0, "--init", "random", "--seed", 3]
separate(mid, tmp("fr0"), 0, free_opts)  # the parts from the whole span in memory
fr_names = names + ["rest"]
fr_ref = np.array([sf.read(os.path.join(tmp("fr0"), n + ".wav"), dtype="float64")[0] for n in fr_names])
for bs, fr in ((30, "one block"), (0.056, "blocks of 7 frames"), (0.3, "blocks of 38 frames")):
    out = tmp(f"fr{fr.split()[-2]}")
    separate(mid, out, bs, free_opts)
    got = np.array([sf.read(os.path.join(out, n + ".wav"), dtype="float64")[0] for n in fr_names])
    d = rel(got, fr_ref, peak)
    check(d < 1e-6, f"--free 2, parts in {fr}: equal to the parts made in memory ({d:.1e} of the peak < 1e-6)")
with h5py.File(os.path.join(tmp("fr7"), "result.h5")) as f:
    check("/stft/magnitude" in f and f["/nmf/H"].shape[0] == 14 and "stream_block_frames" not in f["/separate"].attrs,
          "--free 2: result.h5 holds V, W and H (the batch path)")
d = rel(fr_ref.sum(axis=0), y.astype(np.float64), peak)
check(d < 1e-5, f"--free 2: the four parts add up to the mixture ({d:.1e} of the peak)")
separate(mid, tmp("frp0"), 0, free_opts + ["--reconstruct", "phase"])
separate(mid, tmp("frp7"), 0.056, free_opts + ["--reconstruct", "phase"])
a_, b_ = (np.array([sf.read(os.path.join(tmp(o), n + ".wav"), dtype="float64")[0] for n in fr_names])
          for o in ("frp0", "frp7"))
d = rel(b_, a_, np.abs(a_).max())
check(d < 1e-6, f"--free 2 --reconstruct phase: blocks of 7 frames equal the parts made in memory ({d:.1e})")

# --fix-W of all k columns streams too (with --group)
glued = tmp("glued.h5")
with h5py.File(glued, "w") as g:
    dset = g.create_dataset("/nmf/W", data=np.hstack([Ws[n] for n in names]))
    for key, v in (("sample_rate", float(SR)), ("n_fft", NFFT), ("hop_length", HOP), ("window", "hann")):
        dset.attrs[key] = v
out = tmp("fixw")
run(["separate", mid, "-o", out, "--force", "-q", "--block-seconds", 0.056, "--fix-W", glued, "-k", 12,
     "--group", "0+1+2+3,4+5+6+7,8+9+10+11", "--max-iter", 30] + stft_opts)
fw = np.array([sf.read(os.path.join(out, f"source-{s:02d}.wav"), dtype="float64")[0] for s in range(3)])
with h5py.File(os.path.join(out, "result.h5")) as f:
    streamed = "stream_block_frames" in f["/separate"].attrs
d = rel(fw, ref, peak)
check(streamed and d < 1e-5, f"--fix-W of all 12 columns streams, equal to --source ({d:.1e} of the peak)")

# ---- 2, 4 and 6 frames: ranks with no frame or one ----
for n_samp in (100, 200, 333):
    p = tmp(f"tiny{n_samp}.wav")
    yt = make_audio(p, n_samp)
    out = tmp(f"tiny{n_samp}")
    separate(p, out, 0.04, ["--max-iter", 20])
    nfr = 1 + n_samp // HOP
    d = rel(read(out), oracle(yt, 20), float(np.abs(yt).max()))
    check(d < 1e-4, f"{nfr} frames at {NP} ranks: equal to the numpy oracle ({d:.1e} < 1e-4)")

# ---- multichannel: the parts keep every channel, streamed block by block ----
def attrs(out):
    with h5py.File(os.path.join(out, "result.h5")) as f:
        a = dict(f["/separate"].attrs)
    rep_ = a.get("report", b"")
    return a, rep_.decode() if isinstance(rep_, bytes) else rep_


mc = {2: tmp("stereo.wav"), 6: tmp("six.wav")}
mcx = {2: make_multi(mc[2], 2 * SR + 37, 2), 6: make_multi(mc[6], SR + 11, 6)}  # 252 and 126 frames
for C, inp in mc.items():
    x = mcx[C]
    pk = float(np.abs(x).max())
    for recon, rule in (("mask", "mag-mean"), ("phase", "rms")) if C == 2 else (("mask", "rms"), ("phase", "mag-mean")):
        extra = ["--max-iter", 30, "--reconstruct", recon, "--channel-rule", rule]
        what = f"{C} channels, --source, {recon}, {rule}"
        separate(inp, tmp(f"mc{C}{recon}-mem"), 0, extra + ["--tol", 0])
        mem = read(tmp(f"mc{C}{recon}-mem"))
        for bs, fr in ((0.056, "7"), (0.3, "38"), (100, "one")):
            out = tmp(f"mc{C}{recon}-{fr}")
            separate(inp, out, bs, extra)
            got = read(out)
            a, _ = attrs(out)
            check(got.shape == (3, len(x), C) and int(a.get("channels", 0)) == C and "stream_block_frames" in a,
                  f"{what}, blocks of {fr}: streamed, 3 parts of {C} channels ({got.shape})")
            d = rel(got, mem, pk)
            check(d < 1e-6, f"{what}, blocks of {fr}: equal to the in-memory path ({d:.1e} of the peak < 1e-6)")
            if recon == "mask":
                d = rel(got.sum(axis=0), x, pk)
                check(d < 1e-5, f"{what}, blocks of {fr}: the parts add up to the mixture per channel ({d:.1e})")
    # learned columns: the NMF holds V, every channel's parts are made in blocks
    free_opts = ["--free", 2, "--max-iter", 20, "--tol", 0, "--init", "random", "--seed", 3]
    for recon, runs in (("mask", ((0.056, "7"), (0.3, "38"), (30, "one"))), ("phase", ((0.056, "7"),))):
        what = f"{C} channels, --free 2, {recon}"
        o0 = tmp(f"mcf{C}{recon}-mem")
        separate(inp, o0, 0, free_opts + ["--reconstruct", recon])
        mem = np.array([sf.read(os.path.join(o0, n + ".wav"), dtype="float64")[0] for n in fr_names])
        a, rp = attrs(o0)
        check("parts_block_frames" not in rp, f"{what}, --block-seconds 0: the parts made in memory")
        for bs, fr in runs:
            out = tmp(f"mcf{C}{recon}-{fr}")
            separate(inp, out, bs, free_opts + ["--reconstruct", recon])
            got = np.array([sf.read(os.path.join(out, n + ".wav"), dtype="float64")[0] for n in fr_names])
            a, rp = attrs(out)
            check(got.shape == (4, len(x), C) and int(a["channels"]) == C and '"parts_block_frames"' in rp,
                  f"{what}, blocks of {fr}: the parts made in blocks, {C} channels ({got.shape})")
            d = rel(got, mem, np.abs(mem).max())
            check(d < 1e-6, f"{what}, blocks of {fr}: equal to the parts made in memory ({d:.1e} of the peak < 1e-6)")
            if recon == "mask":
                d = rel(got.sum(axis=0), x, pk)
                check(d < 1e-5, f"{what}, blocks of {fr}: the parts add up to the mixture per channel ({d:.1e})")
# 2 and 6 frames of stereo: at 3 ranks a rank holds no frame
for n_samp in (100, 333):
    p = tmp(f"tinyst{n_samp}.wav")
    x = make_multi(p, n_samp, 2)
    separate(p, tmp(f"tinyst{n_samp}-mem"), 0, ["--max-iter", 20, "--tol", 0])
    separate(p, tmp(f"tinyst{n_samp}"), 0.04, ["--max-iter", 20])
    got, mem = read(tmp(f"tinyst{n_samp}")), read(tmp(f"tinyst{n_samp}-mem"))
    d = rel(got, mem, float(np.abs(x).max()))
    check(got.shape == (3, n_samp, 2) and d < 1e-6,
          f"stereo, {1 + n_samp // HOP} frames at {NP} ranks: streamed equals in memory ({d:.1e} < 1e-6)")

# ---- kill and resume by block (a stereo input) ----
long_ = tmp("long.wav")
make_multi(long_, 10 * SR, 2)  # 1251 frames, 97 blocks of 13 (a checkpoint each)
kargs = ["--max-iter", 60, "--checkpoint-every", 1]
t_ref = time.time()
separate(long_, tmp("kref"), 0.1, kargs)
t_ref = time.time() - t_ref  # kill points scale with it (a fast machine ends a fixed window's run)
kref = {n: open(os.path.join(tmp("kref"), n + ".wav"), "rb").read() for n in names}


def launch(out, extra=()):
    cmd = MPIRUN + [SPECNMF, "separate", long_, "-o", out, "-q", "--block-seconds", "0.1"] + srcs \
        + [str(a) for a in stft_opts + kargs + list(extra)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def wait_ckpt(p, ck, limit=60):
    t0 = time.time()
    while not os.path.exists(ck) and p.poll() is None and time.time() - t0 < limit:
        time.sleep(0.01)
    return os.path.exists(ck)


def same_as_ref(out):
    return all(os.path.exists(os.path.join(out, n + ".wav"))
               and open(os.path.join(out, n + ".wav"), "rb").read() == kref[n] for n in names)


R = random.Random(int(os.environ.get("SN_SEED", "7")))
out = tmp("kill")
ck = os.path.join(out, "nmf.ckpt.h5")
kills, resume, scale = 0, [], 0.4
for attempt in range(6):
    p = launch(out, resume)
    if not wait_ckpt(p, ck) and p.poll() is None:
        p.kill()
    delay = R.uniform(0.02, scale) * t_ref
    time.sleep(delay)
    if p.poll() is None:
        check(kill_job(p), f"SIGKILL after {delay:.2f} s: no rank survives")
    p.wait(timeout=60)
    done = all(os.path.exists(os.path.join(out, n + ".wav")) for n in names)
    if done and kills == 0:
        # ended before (or as) its kill landed: its files must be whole; start again, killing sooner
        check(same_as_ref(out), f"a run that ended before its kill at +{delay:.2f} s: WAVs equal the reference")
        shutil.rmtree(out)
        resume, scale = [], scale / 2
        continue
    if done:
        break
    kills += 1
    resume = ["--resume"]
if not all(os.path.exists(os.path.join(out, n + ".wav")) for n in names):
    run(["separate", long_, "-o", out, "-q", "--block-seconds", "0.1", "--resume"] + srcs + stft_opts + kargs,
        timeout=120)
check(kills >= 1, f"the job was killed mid-stream ({kills} times)")
check(same_as_ref(out), "killed and resumed: every WAV bit-identical to the uninterrupted run")
check(not os.path.exists(ck) and not [f for f in os.listdir(out) if f.endswith(".stream")],
      "killed and resumed: no checkpoint or partial output left")

out = tmp("usr1")
ck = os.path.join(out, "nmf.ckpt.h5")
p = launch(out)
got = wait_ckpt(p, ck)
time.sleep(0.1)
if p.poll() is None:
    p.send_signal(signal.SIGUSR1)
_, err = p.communicate(timeout=60)
lines = error_lines(err)
check(got and p.returncode == 10, f"SIGUSR1: exit code {p.returncode} (10)")
check(len(lines) == 1 and "interrupted" in lines[0], f"SIGUSR1: one error line: {lines}")
check(os.path.exists(ck) and not any(os.path.exists(os.path.join(out, n + ".wav")) for n in names),
      "SIGUSR1: a checkpoint, no final output")
# another channel rule (mono parts): the fingerprint refuses the resume
expect_fail(["separate", long_, "-o", out, "-q", "--block-seconds", "0.1", "--resume", "--mono"] + srcs + stft_opts
            + kargs, "resume of a stereo stream with --mono", ["checkpoint"],
            gone=[os.path.join(out, n + ".wav") for n in names] + [os.path.join(out, "result.h5")])
check(os.path.exists(ck), "the refused --mono resume keeps the checkpoint")
# a changed dictionary: the resume is refused, nothing is written
saved = open(dicts["b"], "rb").read()
with h5py.File(dicts["b"], "a") as f:
    f["/dict/W"][0, 0] = f["/dict/W"][0, 0] * 1.5
expect_fail(["separate", long_, "-o", out, "-q", "--block-seconds", "0.1", "--resume"] + srcs + stft_opts + kargs,
            "resume after the dictionary changed", ["checkpoint", "dictionary"],
            gone=[os.path.join(out, n + ".wav") for n in names] + [os.path.join(out, "result.h5")])
check(os.path.exists(ck), "the refused resume keeps the checkpoint")
open(dicts["b"], "wb").write(saved)
run(["separate", long_, "-o", out, "-q", "--block-seconds", "0.1", "--resume"] + srcs + stft_opts + kargs)
check(same_as_ref(out), "SIGUSR1 and resumed: every WAV bit-identical to the uninterrupted run")

# ---- bad inputs ----
expect_fail(["separate", mid, "-o", tmp("bad1"), "--block-seconds", "0.01"] + srcs + stft_opts,
            "a block shorter than n_fft", ["--block-seconds", "n_fft"], code=2, gone=[tmp("bad1")])
expect_fail(["separate", mid, "-o", tmp("bad2"), "--block-seconds", "1", "--free", "2", "--reconstruct", "griffinlim"]
            + srcs + stft_opts, "--block-seconds with --free and Griffin-Lim parts", ["--block-seconds", "griffinlim"],
            code=2, gone=[tmp("bad2")])
expect_fail(["separate", mid, "-o", tmp("bad3"), "--block-seconds", "1", "--resume"] + srcs + stft_opts,
            "a resume without a checkpoint", ["no checkpoint"], gone=[os.path.join(tmp("bad3"), "a.wav")])
# a stereo input streams by default too (every column fixed), keeping its
# channels; --mono streams mono parts
st_in = mc[2]
run(["separate", st_in, "-o", tmp("st"), "--force", "-q"] + srcs + stft_opts)
check(sf.info(os.path.join(tmp("st"), "a.wav")).channels == 2, "stereo input, --source: the parts keep 2 channels")
check("stream_block_frames" in attrs(tmp("st"))[0], "stereo input, --source: streamed by default")
run(["separate", st_in, "-o", tmp("stm"), "--force", "-q", "--mono"] + srcs + stft_opts)
with h5py.File(os.path.join(tmp("stm"), "result.h5")) as f:
    check("stream_block_frames" in f["/separate"].attrs, "stereo input with --mono: streamed")
check(sf.info(os.path.join(tmp("stm"), "a.wav")).channels == 1, "stereo input with --mono: mono parts")

finish()
