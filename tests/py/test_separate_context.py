#!/usr/bin/python3
"""specnmf separate --source with dictionaries learned with --context C, at
SN_NP ranks.

The model's column for a frame is its 2C + 1 frames stacked (a frame beyond
the input's ends taken as its first or last); the masks use each dictionary's
centre block. Checks:
- H: with every column fixed and V in memory (--block-seconds 0 --tol 0),
  /nmf/H equals numpy's KL multiplicative updates of H on the V stacked in
  numpy from `specnmf stft`'s spectrogram of the mixture, from scikit-learn's
  constant start per frame (sqrt(mean(v_t) / k)): 1e-4 of the largest entry;
  /nmf/W is the centre block of the dictionaries (exact), and result.h5
  records the context on /separate (not on /nmf/W or /stft/magnitude, which
  hold plain frames: that /nmf/W serves again as a plain dictionary);
- the parts from that H: numpy's soft masks (power 2, the --source default)
  of the centre blocks on specnmf's complex STFT, inverted by specnmf istft's
  rule, are not re-derived here; instead the parts add up to the mixture (1e-5
  of the peak) and each part equals the in-memory run's in every other path:
  - streamed in uneven blocks (--block-seconds 0.25: each block's columns
    read frames of the neighbouring blocks and ranks), 1e-5 of the peak;
  - --adapt 5 in memory, and --adapt 5 with V in a scratch file read in
    chunks of 32 frames (SPECNMF_READ_CHUNK), equal to each other (1e-5);
- SN_NP ranks equal 1 rank (1e-5 of the peak), for the streamed run;
- the scratch path with overview.png drawn (each piece's own frames pooled)
  gives the same parts (1e-6);
- --free 2 (two learned columns beside the dictionaries): the parts and
  rest.wav add up to the mixture (1e-5), SN_NP ranks equal 1 rank (1e-4);
- a stereo mixture: streamed equals in memory, 2 channels kept, the parts
  add up to the mixture per channel (1e-5 of the peak);
- refusals, one error line and no OUTDIR: dictionaries learned with other
  contexts (naming the file), a context dictionary given to --fix-W."""
import os
import shutil

import h5py
import numpy as np
import soundfile as sf

from sn_testlib import NP, check, expect_fail, finish, run, tmp

sr = 22050
C = 2
L = 2 * C + 1
rng = np.random.default_rng(5)


def tone(f0, n, rate):
    t = np.arange(n) / sr
    return sum(0.2 / (h + 1) * np.sin(2 * np.pi * f0 * (h + 1) * t) for h in range(5)) * np.exp(-rate * (t % 0.5))


n_train = int(3.0 * sr)
train = {"high": tone(440, n_train, 4) + tone(660, n_train, 6), "low": tone(110, n_train, 2) + tone(82, n_train, 3)}
dicts = {}
for name, x in train.items():
    wav = tmp(f"ctrain_{name}.wav")
    sf.write(wav, (x + 0.002 * rng.standard_normal(len(x))).astype(np.float32), sr, subtype="FLOAT")
    dicts[name] = tmp(f"c{name}.h5")
    run(["learn", wav, "--name", name, "--context", str(C), "-k", "3", "--max-iter", "60", "-o", dicts[name],
         "--force", "-q"], np_=1)
n_mix = int(2.3 * sr)
mix = (tone(494, n_mix, 5) + tone(98, n_mix, 2) + 0.002 * rng.standard_normal(n_mix)).astype(np.float32)
inp = tmp("cmix.wav")
sf.write(inp, mix, sr, subtype="FLOAT")
peak = float(np.abs(mix).max())
src = ["--source", f"high={dicts['high']}", "--source", f"low={dicts['low']}"]


def separate(tag, args, np_=None, env=None):
    out = tmp(f"csep_{tag}")
    plot = "--plot" in args  # this test's own flag: draw overview.png
    args = [a for a in args if a != "--plot"]
    cmd = ["separate", inp] + src + ["-o", out, "--force", "-q", "--max-iter", "40"] + ([] if plot else ["--no-plot"]) + args
    if env:
        os.environ.update(env)
    try:
        run(cmd, np_=np_, timeout=200)
    finally:
        for k in env or {}:
            del os.environ[k]
    return out, [sf.read(os.path.join(out, f"{n}.wav"), dtype="float64")[0] for n in ("high", "low")]


def dev(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b)) / peak


# the reference: numpy on the stacked V of specnmf stft's spectrogram
spec = tmp("cmix_spec.h5")
run(["stft", inp, "-o", spec, "--force", "-q"], np_=1)
S = h5py.File(spec)["/stft/magnitude"][()].astype(np.float64)
F, N = S.shape
idx = np.clip(np.arange(N)[None, :] + np.arange(-C, C + 1)[:, None], 0, N - 1)
V = np.concatenate([S[:, idx[j]] for j in range(L)], 0)
W = np.hstack([h5py.File(dicts[n])["/dict/W"][()].astype(np.float64) for n in ("high", "low")])
k = W.shape[1]
check(W.shape == (F * L, 6), f"dictionaries of F (2C + 1) rows: {W.shape}")
H = np.tile(np.sqrt(V.mean(0) / k), (k, 1))
EPS = np.finfo(np.float32).eps
for it in range(40):
    H = H * (W.T @ (V / np.maximum(W @ H, EPS))) / np.maximum(W.sum(0)[:, None], EPS)

mem, p_mem = separate("mem", ["--block-seconds", "0", "--tol", "0"])
with h5py.File(os.path.join(mem, "result.h5")) as r:
    H_c = r["/nmf/H"][()].astype(np.float64)
    W_c = r["/nmf/W"][()].astype(np.float64)
    ctx_attr = r["/separate"].attrs.get("context")
    plain_attrs = [r[d].attrs.get("context") for d in ("/nmf/W", "/stft/magnitude") if d in r]
rel_h = float(np.abs(H_c - H).max() / np.abs(H).max())
check(rel_h < 1e-4, f"H equals numpy's MU on the stacked V (rel {rel_h:.1e} < 1e-4)")
check(np.array_equal(W_c, W[C * F:(C + 1) * F]), "/nmf/W is the dictionaries' centre block")
check(ctx_attr == C and plain_attrs == [None, None],
      f"result.h5 records context {ctx_attr} on /separate, none on /nmf/W and /stft/magnitude (plain frames): "
      f"{plain_attrs}")
# that centre block is a plain dictionary: separate takes it back as one (context 0)
again = tmp("csep_again")
run(["separate", inp, "--source", f"centre={mem}/result.h5", "-o", again, "--force", "-q", "--max-iter", "5",
     "--no-plot"], timeout=200)
with h5py.File(os.path.join(again, "result.h5")) as r:
    check(r["/nmf/W"].shape == (F, 6) and "context" not in r["/separate"].attrs,
          f"a context run's /nmf/W used as a dictionary: plain frames, {r['/nmf/W'].shape}")
check(dev([p_mem[0] + p_mem[1]], [mix.astype(np.float64)]) < 1e-5, "in memory: the parts add up to the mixture")

stream, p_st = separate("stream", ["--block-seconds", "0.25"])
check(dev(p_st, p_mem) < 1e-5, f"streamed in blocks equals in memory ({dev(p_st, p_mem):.1e} of the peak)")
check(dev([p_st[0] + p_st[1]], [mix.astype(np.float64)]) < 1e-5, "streamed: the parts add up to the mixture")
_, p_st1 = separate("stream1", ["--block-seconds", "0.25"], np_=1)
check(dev(p_st, p_st1) < 1e-5, f"{NP} ranks equal 1 rank ({dev(p_st, p_st1):.1e} of the peak)")

_, p_ad = separate("adapt_mem", ["--block-seconds", "0", "--tol", "0", "--adapt", "5"])
_, p_as = separate("adapt_scratch", ["--block-seconds", "0.25", "--adapt", "5"], env={"SPECNMF_READ_CHUNK": "32"})
check(dev(p_as, p_ad) < 1e-5, f"--adapt: V in a scratch file equals V in memory ({dev(p_as, p_ad):.1e} of the peak)")
check(dev([p_as[0] + p_as[1]], [mix.astype(np.float64)]) < 1e-5, "--adapt: the parts add up to the mixture")
check(dev(p_ad, p_mem) > 1e-4, "--adapt moved the parts off the held-fixed ones")

# overview.png from the scratch path (each piece's own frames pooled for the picture): the same parts
_, p_asp = separate("adapt_scratch_plot", ["--block-seconds", "0.25", "--adapt", "5", "--plot"],
                    env={"SPECNMF_READ_CHUNK": "32"})
check(os.path.exists(os.path.join(tmp("csep_adapt_scratch_plot"), "overview.png")), "--adapt from scratch: overview.png")
check(dev(p_asp, p_as) < 1e-6, f"--adapt from scratch with the picture: the same parts ({dev(p_asp, p_as):.1e})")


# --free 2: two learned columns (plain frames of the stacked model) beside the context dictionaries
def free_run(tag, np_=None):
    out, parts = separate(tag, ["--free", "2", "--tol", "0"], np_=np_)
    rest = sf.read(os.path.join(out, "rest.wav"), dtype="float64")[0]
    return parts + [rest]


p_fr = free_run("free")
check(dev([p_fr[0] + p_fr[1] + p_fr[2]], [mix.astype(np.float64)]) < 1e-5, "--free 2: the parts and rest.wav add up to the mixture")
p_fr1 = free_run("free1", np_=1)
check(dev(p_fr, p_fr1) < 1e-4, f"--free 2: {NP} ranks equal 1 rank ({dev(p_fr, p_fr1):.1e} of the peak)")

# a stereo mixture: the model's frames reduced over the channels first, every channel masked
st_in = tmp("cmix_st.wav")
mix_st = np.stack([mix, 0.5 * np.roll(mix, 300)], 1)
sf.write(st_in, mix_st, sr, subtype="FLOAT")
inp_mono, inp = inp, st_in
_, s_mem = separate("st_mem", ["--block-seconds", "0", "--tol", "0"])
_, s_str = separate("st_stream", ["--block-seconds", "0.25"])
inp = inp_mono
check(s_str[0].ndim == 2 and s_str[0].shape[1] == 2, f"stereo: the parts keep 2 channels ({s_str[0].shape})")
check(dev(s_str, s_mem) < 1e-5, f"stereo: streamed equals in memory ({dev(s_str, s_mem):.1e} of the peak)")
check(dev([s_str[0] + s_str[1]], [mix_st.astype(np.float64)]) < 1e-5, "stereo: the parts add up to the mixture per channel")

# refusals
plain = tmp("cplain.h5")
run(["learn", tmp("ctrain_low.wav"), "--name", "low", "-k", "3", "--context", "0", "--max-iter", "5", "-o", plain, "--force",
     "-q"], np_=1)
bad = tmp("csep_bad")
shutil.rmtree(bad, ignore_errors=True)  # a failed earlier run's
expect_fail(["separate", inp, "--source", f"high={dicts['high']}", "--source", f"low={plain}", "-o", bad, "-q"],
            "dictionaries of other contexts", ["cplain.h5", "context"], gone=[bad])
expect_fail(["separate", inp, "-k", "3", "--fix-W", dicts["high"] + ":/dict/W", "-o", bad, "-q"],
            "a context dictionary to --fix-W", ["chigh.h5", "1025"], gone=[bad])
finish()
