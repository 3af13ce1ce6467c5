"""Bad input to nnls / mel-invert at SN_NP ranks: a clear one-line error and a
nonzero exit, never a hang (each run has a 60 s timeout) and no output file."""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from nnls_common import NP, TMP, run  # noqa: E402

fails = []


def expect_error(name, args, needle, code=None):
    out = os.path.join(TMP, name + "_out.h5")
    p = run(list(args) + ["-o", out], expect_ok=False, timeout=60)
    lines = [l for l in p.stderr.splitlines() if l.startswith("specnmf: error: ")]
    ok = p.returncode != 0 and len(lines) == 1 and needle in lines[0] and not os.path.exists(out)
    if code is not None:
        ok = ok and p.returncode == code
    print(("ok   " if ok else "FAIL ") + "%s: exit %d, %s" % (name, p.returncode, lines))
    if not ok:
        sys.stderr.write(p.stderr)
        fails.append(name)


rng = np.random.default_rng(0)
good = os.path.join(TMP, "good.h5")
with h5py.File(good, "w") as f:
    f["/W"] = rng.random((20, 4)).astype(np.float32)
    f["/B"] = rng.random((20, 9)).astype(np.float32)
    f["/B_short"] = rng.random((19, 9)).astype(np.float32)
    W = rng.random((20, 4)).astype(np.float32)
    W[3, 2] = -0.5
    f["/W_neg"] = W
    W = rng.random((20, 4)).astype(np.float32)
    W[7, 1] = np.nan
    f["/W_nan"] = W
    B = rng.random((20, 9)).astype(np.float32)
    B[5, 8] = np.inf
    f["/B_inf"] = B
    f["/V3"] = np.zeros((2, 3, 4), np.float32)

expect_error("heights", ["nnls", "--basis", good + ":/W", good + ":/B_short"], "has 19 rows but the basis", 3)
expect_error("negative_basis", ["nnls", "--basis", good + ":/W_neg", good + ":/B"], "is negative", 3)
expect_error("nan_basis", ["nnls", "--basis", good + ":/W_nan", good + ":/B"], "is not finite", 3)
expect_error("inf_data", ["nnls", "--basis", good + ":/W", good + ":/B_inf"], "is not finite", 3)
expect_error("missing_dataset", ["nnls", "--basis", good + ":/nothing", good + ":/B"], "nothing")
expect_error("missing_file", ["nnls", "--basis", os.path.join(TMP, "absent.h5"), good + ":/B"], "absent.h5")
expect_error("3d_data", ["nnls", "--basis", good + ":/W", good + ":/V3"], "V3")
expect_error("no_basis", ["nnls", good + ":/B"], "--basis", 2)
expect_error("bad_l2", ["nnls", "--basis", good + ":/W", good + ":/B", "--l2", "-1"], "--l2", 2)
pw = os.path.join(TMP, "power0.h5")
with h5py.File(pw, "w") as f:
    d = f.create_dataset("/stft/magnitude", data=rng.random((1025, 5)).astype(np.float32))
    for key, v in dict(sample_rate=22050.0, n_fft=2048, hop_length=512, win_length=2048, window="hann",
                       center=1, power=0).items():
        d.attrs[key] = v
expect_error("power_0", ["mel", pw], "has power 0", 3)
expect_error("mel_invert_not_mel", ["mel-invert", good + ":/B"], "no attribute")
# an injected failure in the solve on the last rank: every rank stops, one message
os.environ["SPECNMF_FAULT"] = "nnls:%d" % (NP - 1)
expect_error("fault_nnls", ["nnls", "--basis", good + ":/W", good + ":/B"], "injected fault on rank %d" % (NP - 1), 9)
os.environ["SPECNMF_FAULT"] = ""
print("test_nnls_errors: %s" % ("%d checks failed" % len(fails) if fails else "all checks passed"))
sys.exit(1 if fails else 0)
