"""Helpers of the multi-host tests: test hosts (hosts.sh), launch lines for
several hosts and for one, and bit-for-bit comparison of output folders.

The launch across hosts runs mpirun on host mh0 and starts one orted per other
host through agent.sh (instead of ssh); all MPI traffic is TCP on the hosts'
veth subnet. ctest's environment sets OMPI_MCA_btl=self,vader for the
one-node tests: the multi-host launches override it in the environment and on
the command line."""
import os
import shlex
import signal
import subprocess
import sys
import time

import hashlib

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
HOSTS_SH = os.path.join(HERE, "hosts.sh")
AGENT = os.path.join(HERE, "agent.sh")
SPECNMF = os.environ["SPECNMF"]
TMP = os.environ["SN_TMP"]
MPIRUN = shlex.split(os.environ["SN_MPIRUN"])[0]
SUBNET = os.environ.get("SN_MH_SUBNET", "10.213.0")
# hosts.sh's name prefix (the same default: a hash of the test's folder)
PREFIX = os.environ.get("SN_MH_PREFIX") or "snmh" + hashlib.md5(TMP.encode()).hexdigest()[:6]
os.environ["SN_MH_PREFIX"] = PREFIX
T0 = time.time()
FAILS = []


def log(msg):
    print(f"[multihost {time.time() - T0:6.1f}s] {msg}", flush=True)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILS.append(what)
    return cond


def finish():
    print(f"{len(FAILS)} failed checks" if FAILS else "all checks passed", flush=True)
    sys.exit(1 if FAILS else 0)


def t(*names):
    return os.path.join(TMP, *names)


class Hosts:
    """N test hosts, torn down on exit (also on SIGTERM/SIGINT, and by hosts.sh's
    watchdog if this process is SIGKILLed). Failing to create them fails the test:
    as root this must work."""

    def __init__(self, n):
        self.n = n
        self.names = [f"mh{i}" for i in range(n)]
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, self._on_signal)
        t0 = time.time()
        p = subprocess.run(["bash", HOSTS_SH, "up", str(n), str(os.getpid())], capture_output=True, text=True)
        if p.returncode != 0:
            print(p.stdout + p.stderr, flush=True)
            self.down()
            print(f"FAIL cannot start {n} test hosts (network namespaces); see above", flush=True)
            sys.exit(1)
        log(f"{n} test hosts up in {time.time() - t0:.1f} s: " +
            ", ".join(f"mh{i}={SUBNET}.{i + 1}" for i in range(n)))

    def _on_signal(self, signum, frame):
        log(f"signal {signum}: tearing the hosts down")
        self.down()
        sys.exit(128 + signum)

    def down(self):
        subprocess.run(["bash", HOSTS_SH, "down"], capture_output=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.down()
        log("test hosts removed")

    def exec_cmd(self, i, cmd):
        return ["bash", HOSTS_SH, "exec", str(i)] + cmd

    def link(self, i, up):
        """Plug host i's cable in or pull it out (its port on the switch).
        Plugging in also forgets the neighbours every host marked unreachable
        while the cable was out: a FAILED entry makes connect() fail at once
        with EHOSTUNREACH until it ages out (a resume right after the plug
        failed so on CI: "unable to complete a TCP connection")."""
        subprocess.run(["ip", "-n", f"{PREFIX}-sw", "link", "set", f"p{i}", "up" if up else "down"], check=True)
        if up:
            for name in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n"):
                ns = name.split(" ")[0]
                if ns.startswith(f"{PREFIX}-h"):
                    subprocess.run(["ip", "-n", ns, "neigh", "flush", "all"], check=False)
            time.sleep(1.0)

    def pids(self, i):
        p = subprocess.run(["bash", HOSTS_SH, "pids", str(i)], capture_output=True, text=True)
        return [int(x) for x in p.stdout.split()]


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def mh_env():
    """The environment of a multi-host launch: TCP only, on the veth subnet."""
    env = dict(os.environ)
    env.update({
        "OMPI_MCA_btl": "tcp,self",
        "OMPI_MCA_btl_tcp_if_include": f"{SUBNET}.0/24",
        "OMPI_MCA_oob_tcp_if_include": f"{SUBNET}.0/24",
        "OMPI_MCA_plm_rsh_agent": AGENT,
    })
    return env


def mh_mpirun(hosts, per_host, btl="tcp,self", extra=()):
    """mpirun on mh0 over hosts mh0..mh{hosts-1} with per_host ranks each.
    mpi_yield_when_idle: each test host believes it has the machine's cores to
    itself, so its ranks would spin in MPI waits and starve the other hosts'
    ranks on the 2 shared cores (allreduce latency 12 ms instead of 0.1 ms)."""
    host_list = ",".join(f"mh{i}:{per_host}" for i in range(hosts))
    return ["bash", HOSTS_SH, "exec", "0", MPIRUN, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
            "--mca", "plm_rsh_agent", AGENT,
            "--mca", "btl", btl, "--mca", "pml", "ob1", "--mca", "mtl", "^ofi",
            "--mca", "btl_tcp_if_include", f"{SUBNET}.0/24", "--mca", "oob_tcp_if_include", f"{SUBNET}.0/24",
            "--mca", "mpi_yield_when_idle", "1",
            "-x", "OPENBLAS_NUM_THREADS", "--host", host_list, "-n", str(hosts * per_host), *extra]


def one_mpirun(np_):
    """The usual one-node launch of the tests (shared memory), at np_ ranks."""
    m = shlex.split(os.environ["SN_MPIRUN"])
    i = len(m) - 1 - m[::-1].index("-n")
    return m[:i] + ["-n", str(np_)]


def run(launch, args, cwd=None, env=None, timeout=110):
    t0 = time.time()
    try:
        p = subprocess.run(launch + [SPECNMF] + [str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, f"HANG: no exit within {timeout} s", time.time() - t0
    return p.returncode, p.stdout + p.stderr, time.time() - t0


def _h5_items(path):
    """{name: (kind, value)} for every dataset and attribute of an HDF5 file."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = ("dataset", obj[()])
            for k, v in obj.attrs.items():
                out[f"{name}@{k}"] = ("attr", v)
        visit("/", f)
        f.visititems(visit)
    return out


def _same_value(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind in "fc":
            # bit for bit: compare the bytes (NaN, -0 included)
            return a.tobytes() == b.tobytes()
        return np.array_equal(a, b)
    return a == b


def compare_dirs(a, b, names=None):
    """Differences between the files of folders a and b (empty list: identical).
    HDF5 files are compared dataset by dataset and attribute by attribute, bit for
    bit (their bytes carry modification times); other files byte for byte."""
    diffs = []
    fa = sorted(names if names is not None else os.listdir(a))
    fb = sorted(names if names is not None else os.listdir(b))
    if fa != fb:
        return [f"file lists differ: {fa} vs {fb}"]
    for name in fa:
        pa, pb = os.path.join(a, name), os.path.join(b, name)
        if not (os.path.exists(pa) and os.path.exists(pb)):
            diffs.append(f"{name}: missing")
        elif os.path.isdir(pa):
            diffs += [f"{name}/{d}" for d in compare_dirs(pa, pb)]
        elif name.endswith(".h5"):
            ia, ib = _h5_items(pa), _h5_items(pb)
            if sorted(ia) != sorted(ib):
                diffs.append(f"{name}: objects differ: {sorted(set(ia) ^ set(ib))}")
                continue
            for k in sorted(ia):
                if not _same_value(ia[k][1], ib[k][1]):
                    va, vb = np.asarray(ia[k][1]), np.asarray(ib[k][1])
                    extra = ""
                    if va.dtype.kind == "f" and va.shape == vb.shape and va.size:
                        extra = f" (max abs diff {float(np.max(np.abs(va - vb))):.3e})"
                    diffs.append(f"{name}:{k} differs{extra}")
        else:
            with open(pa, "rb") as x, open(pb, "rb") as y:
                if x.read() != y.read():
                    diffs.append(f"{name}: bytes differ")
    return diffs
