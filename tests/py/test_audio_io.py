#!/usr/bin/python3
"""Audio input and the parallel WAV writer at SN_NP ranks, checked against
soundfile/numpy/scipy (independent of specnmf's C code):
  - mono mix = numpy mean of the channels (librosa to_mono), --channel, --normalize
    (x / max|x|), all read by ranks in blocks and written back with sn_wav;
  - resampling 44100 -> 22050 and 48000 -> 22050 (soxr HQ) vs
    scipy.signal.resample_poly on band-limited tones: same grid (no shift),
    same length ceil(n * out / in), max error <= 2e-3 of the peak; and the
    ranks' resampled spans vs one whole-file run within 5e-6 of the peak;
  - spans over the file ends are zero outside; HDF5 input written by h5py;
  - the WAV writer: exact float32 round trip through libsndfile (soundfile)
    for several sizes, RIFF and forced RF64, chunked collective writes, header
    size, no temporary files left, and clean agreed failures (exists, bad span,
    bad folder, abort, bad rate).
The commands run in a few MPI jobs (the tool's batch mode) to keep launches few.
Usage: test_audio_io.py TOOL   (env: SN_MPIRUN, SN_TMP)"""
import glob
import os
import re
import shlex
import subprocess
import sys

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

TOOL = sys.argv[1]
MPIRUN = shlex.split(os.environ.get("SN_MPIRUN", ""))
TMP = os.environ.get("SN_TMP", "/tmp/sn_test_audio_io")
os.makedirs(TMP, exist_ok=True)
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def t(name):
    return os.path.join(TMP, name)


class Batch:
    """Commands for one MPI job of the tool; results[i] = (code, error text)."""

    def __init__(self, name):
        self.name, self.cmds = name, []

    def add(self, *args):
        self.cmds.append(" ".join(str(a) for a in args))
        return len(self.cmds) - 1

    def run(self):
        path = t(self.name + ".cmds")
        with open(path, "w") as f:
            f.write("\n".join(self.cmds) + "\n")
        p = subprocess.run(MPIRUN + [TOOL, "batch", path], capture_output=True, text=True, timeout=250)
        res = {int(m.group(1)): int(m.group(2)) for m in re.finditer(r"^result (\d+) (\d+)$", p.stdout, re.M)}
        errs = {}
        for m in re.finditer(r"^\[(\d+)\] (specnmf: error: .*)$", p.stderr, re.M):
            errs.setdefault(int(m.group(1)), []).append(m.group(2))
        if len(res) != len(self.cmds):
            print(p.stdout, p.stderr)
        check(len(res) == len(self.cmds), "%s: every command ran (%d of %d)" % (self.name, len(res), len(self.cmds)))
        self.results = {i: (res.get(i, -1), errs.get(i, [])) for i in range(len(self.cmds))}
        return self

    def ok(self, i):
        return self.results[i][0] == 0

    def failed_with(self, i, text):
        """failed, with exactly one error line (from one rank) containing text"""
        code, lines = self.results[i]
        return code != 0 and len(lines) == 1 and text in lines[0], (lines[0] if lines else "no message")


def pattern(n, start=0):
    """samples [start, n) of the tool's test signal"""
    i = np.arange(start, n, dtype=np.int64)
    return (((i * 7919) % 65536 - 32768) / 32768.0).astype(np.float32)


rng = np.random.default_rng(7)

# ---- inputs ------------------------------------------------------------------
n = 44100 * 2 + 123
tt = np.arange(n) / 44100.0
st = np.stack([0.4 * np.sin(2 * np.pi * 440 * tt) + 0.05 * rng.standard_normal(n),
               0.3 * np.sin(2 * np.pi * 660 * tt + 1)], axis=1)
sf.write(t("st16.wav"), st, 44100, subtype="PCM_16")
ref = sf.read(t("st16.wav"), dtype="float32")[0]  # what libsndfile decodes
mean = ref.mean(axis=1)
tri = rng.uniform(-0.8, 0.8, size=(30011, 3)).astype(np.float32)
sf.write(t("tri.wav"), tri, 16000, subtype="FLOAT")
tones = {}
for rin in (44100, 48000):
    nin = int(rin * 1.5) + 17
    x = np.zeros(nin)
    tin = np.arange(nin) / rin
    for f, a in [(220.0, 0.3), (1234.5, 0.2), (5000.0, 0.15), (8000.0, 0.1)]:
        x += a * np.sin(2 * np.pi * f * tin + f)
    tones[rin] = x.astype(np.float32)
    sf.write(t("tones%d.wav" % rin), tones[rin], rin, subtype="FLOAT")

import h5py  # noqa: E402

h5x = rng.uniform(-1, 1, size=20011)  # float64 on file
with h5py.File(t("in.h5"), "w") as f:
    f.create_dataset("audio", data=h5x, chunks=(4096,))
    f["audio"].attrs["sample_rate"] = 16000.0

WAVS = [(0, []), (1, []), (2, []), (100003, []), (100003, ["--pieces", 3]), (54321, ["--rf64"]),
        (7, ["--rf64", "--pieces", 2]), (10007, ["--chunk", 1000]), (10007, ["--chunk", 333, "--pieces", 2])]


def wav_name(N, extra):
    return t("w_%d_%s.wav" % (N, "_".join(str(a) for a in extra).replace("-", "")))


# ---- job 1: reading (mix, channel, normalize, resample) and writing ----------
b = Batch("job1")
i_mean = b.add("read", t("st16.wav"), t("mean.wav"))
i_tri = b.add("read", t("tri.wav"), t("tri_mean.wav"))
i_ch = [b.add("read", t("st16.wav"), t("ch%d.wav" % c), "--channel", c) for c in range(2)]
i_norm = b.add("read", t("st16.wav"), t("norm.wav"), "--normalize")
i_badch = b.add("read", t("st16.wav"), t("bad.wav"), "--channel", 2)
i_rs = {rin: b.add("read", t("tones%d.wav" % rin), t("rs%d.wav" % rin), "--rate", 22050) for rin in tones}
# the same, read whole by one rank in one call (= one soxr run over the file)
i_rsw = {rin: b.add("span", t("tones%d.wav" % rin), 0, int(np.ceil(len(tones[rin]) * 22050 / rin)),
                    t("rsw%d.f32" % rin), "--rate", 22050) for rin in tones}
i_h5 = b.add("read", t("in.h5"), t("h5.wav"))
i_h5rs = b.add("read", t("in.h5"), t("h5rs.wav"), "--rate", 8000)
SPANS = [(-50, 120), (len(mean) - 30, 100), (len(mean) + 5, 10)]
i_span = [b.add("span", t("st16.wav"), s0, cnt, t("span%d.f32" % k)) for k, (s0, cnt) in enumerate(SPANS)]
i_wav = [b.add("wav", N, 22050, wav_name(N, extra), *extra) for N, extra in WAVS]
b.run()

y, sr = sf.read(t("mean.wav"), dtype="float32")
check(b.ok(i_mean) and sr == 44100 and y.shape == mean.shape and np.max(np.abs(y - mean)) <= 1e-7,
      "stereo pcm16 -> mean of channels (numpy), max err %.2g" % (np.max(np.abs(y - mean)) if y.shape == mean.shape else -1))
y, _ = sf.read(t("tri_mean.wav"), dtype="float32")
check(b.ok(i_tri) and y.shape == (30011,) and np.max(np.abs(y - tri.mean(axis=1))) <= 1e-7,
      "3-channel float -> mean (numpy)")
for c in range(2):
    y, _ = sf.read(t("ch%d.wav" % c), dtype="float32")
    check(b.ok(i_ch[c]) and np.array_equal(y, ref[:, c]), "--channel %d equals soundfile's channel" % c)
y, _ = sf.read(t("norm.wav"), dtype="float32")
want = mean / np.max(np.abs(mean))
check(b.ok(i_norm) and np.max(np.abs(y - want)) <= 1e-6 and abs(np.max(np.abs(y)) - 1) <= 1e-6,
      "--normalize = x / max|x| (librosa.util.normalize), max err %.2g" % np.max(np.abs(y - want)))
ok, msg = b.failed_with(i_badch, "channel 2 out of range")
check(ok and not os.path.exists(t("bad.wav")), "--channel 2 of a stereo file: one clear error (%s)" % msg)

for rin, (up, down) in [(44100, (1, 2)), (48000, (147, 320))]:
    x = tones[rin]
    y, sr = sf.read(t("rs%d.wav" % rin), dtype="float64")
    nout = int(np.ceil(len(x) * 22050 / rin))
    r = resample_poly(x.astype(np.float64), up, down)
    m = min(len(r), len(y))
    err = np.max(np.abs(y[200:m - 200] - r[200:m - 200])) / np.max(np.abs(r))
    # the grid: the best lag of the cross-correlation is 0
    c = [np.dot(y[300:m - 300], r[300 + k:m - 300 + k]) for k in (-1, 0, 1)]
    check(b.ok(i_rs[rin]) and sr == 22050 and len(y) == nout and err <= 2e-3 and int(np.argmax(c)) == 1,
          "%d -> 22050 Hz: length %d == ceil %d, max |soxr - resample_poly| %.2g of peak, lag 0"
          % (rin, len(y), nout, err))
    whole = np.fromfile(t("rsw%d.f32" % rin), dtype=np.float32)
    d = np.max(np.abs(y - whole)) / np.max(np.abs(whole)) if len(whole) == len(y) else np.inf
    check(b.ok(i_rsw[rin]) and d <= 5e-6,
          "%d -> 22050 Hz: the ranks' spans vs one whole-file run: max diff %.2g of peak (tol 5e-6)" % (rin, d))

y, sr = sf.read(t("h5.wav"), dtype="float32")
check(b.ok(i_h5) and sr == 16000 and np.array_equal(y, h5x.astype(np.float32)),
      "HDF5 input (h5py float64 /audio, sample_rate attribute) read by ranks = the data as float32")
y, sr = sf.read(t("h5rs.wav"), dtype="float32")
check(b.ok(i_h5rs) and sr == 8000 and len(y) == int(np.ceil(20011 / 2)), "HDF5 input resampled 16000 -> 8000 Hz: length %d" % len(y))

for k, (s0, cnt) in enumerate(SPANS):
    z = np.fromfile(t("span%d.f32" % k), dtype=np.float32)
    want = np.zeros(cnt, dtype=np.float32)
    lo, hi = max(s0, 0), min(s0 + cnt, len(mean))
    if hi > lo:
        want[lo - s0:hi - s0] = mean[lo:hi]
    check(b.ok(i_span[k]) and len(z) == cnt and np.max(np.abs(z - want)) <= 1e-7,
          "span [%d, %d) with zeros outside [0, %d)" % (s0, s0 + cnt, len(mean)))

for k, (N, extra) in enumerate(WAVS):
    out = wav_name(N, extra)
    ok = b.ok(i_wav[k]) and os.path.exists(out)
    if ok:
        info = sf.info(out)
        y, sr = sf.read(out, dtype="float32")
        ok = (sr == 22050 and info.channels == 1 and info.subtype == "FLOAT" and len(y) == N
              and np.array_equal(y, pattern(N)) and os.path.getsize(out) == 94 + 4 * N
              and info.format == ("RF64" if "--rf64" in extra else "WAV"))
        with open(out, "rb") as f:
            head = f.read(16)
        ok = ok and head[:4] == (b"RF64" if "--rf64" in extra else b"RIFF") and head[12:16] == (
            b"ds64" if "--rf64" in extra else b"JUNK")
    check(ok, "sn_wav %d samples %s: soundfile reads back the exact float32 samples" % (N, " ".join(map(str, extra))))

leftover = glob.glob(os.path.join(TMP, "*.tmp-*"))
check(not leftover, "no temporary files left (%s)" % leftover)

# ---- a WAV past 4 GiB switches to RF64 by itself (a sparse file: each rank
# writes only the last 1000 samples of its block) -------------------------------
BIG = (1 << 30) + 12345  # 4 GiB + 49 KiB of float32 data
big = t("big.wav")
b = Batch("job_big")
i_big = b.add("wav", BIG, 22050, big, "--sparse", 1000)
b.run()
ok = b.ok(i_big) and os.path.exists(big)
if ok:
    info = sf.info(big)
    np_ = int(os.environ.get("SN_NP", "1"))
    # block ends of sn_block_range: the first BIG % np ranks own one more
    q, rem = divmod(BIG, np_)
    ends, e0 = [], 0
    for r in range(np_):
        e0 += q + (1 if r < rem else 0)
        ends.append(e0)
    tails_ok = True
    with sf.SoundFile(big) as f:
        for e1 in ends:
            f.seek(e1 - 1000)
            tails_ok &= np.array_equal(f.read(1000, dtype="float32"), pattern(e1, e1 - 1000))
        f.seek(ends[0] - 1500)
        tails_ok &= np.array_equal(f.read(500, dtype="float32"), np.zeros(500, np.float32))
    with open(big, "rb") as fh:
        head = fh.read(16)
    ok = (info.format == "RF64" and info.frames == BIG and head[:4] == b"RF64" and head[12:16] == b"ds64"
          and os.path.getsize(big) == 94 + 4 * BIG and tails_ok)
    used = os.stat(big).st_blocks * 512
    print("big.wav: %d bytes, %d on disk" % (os.path.getsize(big), used))
check(ok, "%d samples (> 4 GiB): RF64 with ds64 on its own, libsndfile reads frames and the written tails" % BIG)
if os.path.exists(big):
    os.remove(big)

# ---- job 2: writer failures (every rank must fail together, nothing left) ----
exists = wav_name(100003, [])
b = Batch("job2")
i_exists = b.add("wav", 10, 22050, exists)
i_bad = b.add("wav", 1000, 22050, t("badspan.wav"), "--bad-span")
i_nodir = b.add("wav", 1000, 22050, t("nodir/x.wav"))
i_abort = b.add("wav", 1000, 22050, t("aborted.wav"), "--abort")
i_rate0 = b.add("wav", 1000, 0, t("rate0.wav"))
b.run()
ok, msg = b.failed_with(i_exists, "exists")
check(ok and len(sf.read(exists)[0]) == 100003, "existing output without --force: one error, file untouched (%s)" % msg)
ok, msg = b.failed_with(i_bad, "outside")
check(ok and not os.path.exists(t("badspan.wav")) and not glob.glob(t("badspan.wav.tmp-*")),
      "a rank writing outside the file: agreed failure, nothing left (%s)" % msg)
ok, msg = b.failed_with(i_nodir, "cannot create")
check(ok, "output in a missing folder (%s)" % msg)
check(b.ok(i_abort) and not os.path.exists(t("aborted.wav")) and not glob.glob(t("aborted.wav.tmp-*")),
      "close without commit removes the temporary file")
ok, msg = b.failed_with(i_rate0, "bad sample rate")
check(ok, "WAV output at rate 0 (%s)" % msg)

b = Batch("job3")
i_force = b.add("wav", 10, 22050, exists, "--force")
b.run()
check(b.ok(i_force) and len(sf.read(exists)[0]) == 10, "existing output with --force is replaced")

if failures:
    print("FAILED:", *failures, sep="\n  ")
    sys.exit(1)
print("all audio io checks passed at", os.environ.get("SN_NP", "1"), "ranks")
