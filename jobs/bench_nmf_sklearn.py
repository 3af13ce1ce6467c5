"""sklearn 1.2 peer for the NMF benchmark: NMF on the same float32 V (read from
the HDF5 input, fit on V as X, as specnmf does), init='custom' from a fixed
random W, H so only the iterations are timed. Prints one line per solver:
'sklearn SOLVER BETA s/iteration peak_MiB'. Threads: set OPENBLAS_NUM_THREADS."""
import resource
import sys
import time
import warnings

import h5py
import numpy as np
from sklearn.decomposition import NMF

warnings.filterwarnings("ignore")
path, k, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
V = h5py.File(path, "r")["/stft/magnitude"][...]
rng = np.random.default_rng(0)
avg = np.sqrt(V.mean() / k)
W0 = (avg * np.abs(rng.standard_normal((V.shape[0], k)))).astype(np.float32)
H0 = (avg * np.abs(rng.standard_normal((k, V.shape[1])))).astype(np.float32)
for solver, beta in [(s, b) for s, b in [a.split(":") for a in sys.argv[4:]]]:
    m = NMF(n_components=k, init="custom", solver=solver, beta_loss=beta, max_iter=iters, tol=0)
    t, c = time.perf_counter(), time.process_time()
    m.fit_transform(V, W=W0.copy(), H=H0.copy())
    el, cpu = time.perf_counter() - t, time.process_time() - c
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"sklearn {solver} {beta} {el / m.n_iter_:.4f} {peak:.0f} {cpu / m.n_iter_:.4f}", flush=True)
